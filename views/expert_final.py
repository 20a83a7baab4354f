"""Final assessments: the expert's last word on each team they advised, on the feedback rubric,
given while the term is active and for a month after it closes; the team's final summary beside it."""
import streamlit as st

import ui
from matching import i18n, outcomes
from matching.errors import PortalError
from matching.models import RUBRIC

user = ui.user()
db = ui.db()
PAGE = "expert_final"


def key(pairing: dict, name: str) -> str:
    return f"{PAGE}_{pairing['pairing_id']}_{name}"


def level(criterion: str, score: int) -> str:
    return f"{score} — {ui.t(f'feedback.level.{criterion}.{score}')}"


def summary_block(pairing: dict) -> None:
    with st.expander(ui.t("library.summary"), icon=":material/summarize:", expanded=False):
        ui.team_summary(pairing["summary"], none_key="outcomes.summary.none_yet")


def assessment_form(pairing: dict) -> None:
    assessment = pairing["assessment"] or {}
    saved_scores = assessment.get("scores", {})
    errors_key = key(pairing, "errors")
    errors = ui.kept_errors(errors_key)
    st.session_state.setdefault(key(pairing, "comments"), assessment.get("comments", ""))
    with st.container(border=True):
        scores = {}
        for criterion in RUBRIC:
            saved = saved_scores.get(criterion)
            scores[criterion] = ui.choice(st.radio, ui.t("data.col." + criterion), [1, 2, 3, 4, 5],
                                          index=int(saved) - 1 if saved else None, key=key(pairing, criterion),
                                          labels={s: level(criterion, s) for s in range(1, 6)},
                                          help=ui.t(f"feedback.rubric.{criterion}"))
            ui.field_error(errors, f"scores.{criterion}")
        comments = st.text_area(ui.t("outcomes.assessment.comments"), key=key(pairing, "comments"),
                                help=ui.t("outcomes.assessment.comments_help"))
        ui.field_error(errors, "comments")
        save = st.button(ui.t("outcomes.assessment.save"), type="primary", key=key(pairing, "save"),
                         icon=":material/send:")
    if save:
        version = assessment.get("version", 0)
        ui.act(lambda: outcomes.save_assessment(db, user, pairing["pairing_id"], scores, comments,
                                                expected_version=version),
               page=PAGE, errors_key=errors_key,
               success=lambda _: ("outcomes.assessment.saved", {"team": pairing["team_name"]}))


def assessment_read_only(pairing: dict) -> None:
    assessment = pairing["assessment"]
    if assessment is None:
        st.caption(ui.t("outcomes.assessment.not_given"))
        return
    for criterion in RUBRIC:
        value = assessment["scores"].get(criterion)
        st.write(ui.t("feedback.score_line", criterion=ui.t("data.col." + criterion),
                      level=level(criterion, value) if value else "—"))
    st.markdown(f"**{ui.t('data.col.comments')}**")
    st.text(assessment["comments"])


def pairing_block(pairing: dict) -> None:
    with st.container(border=True):
        st.subheader(ui.plain(pairing["team_name"]), anchor=False)
        st.caption(ui.t("outcomes.page.challenge_line", title=ui.plain(pairing["challenge_title"]),
                        term=ui.plain(pairing["term_name"])))
        if pairing["final_open"] and pairing["final_closes_on"]:
            st.caption(ui.t("outcomes.page.open_until", date=i18n.format_day(pairing["final_closes_on"], ui.lang())))
        elif pairing["final_open"]:
            st.caption(ui.t("outcomes.page.open_while_active"))
        summary_block(pairing)
        if pairing["final_open"]:
            assessment_form(pairing)
        else:
            assessment_read_only(pairing)


def main() -> None:
    st.title(ui.t("outcomes.assessment.page_title"))
    ui.show_notice(PAGE)
    st.write(ui.t("outcomes.assessment.intro"))
    try:
        pairings = outcomes.for_expert(db, user)
    except PortalError as err:
        ui.show_error(err)
        st.stop()
    if not pairings:
        st.info(ui.t("outcomes.assessment.no_pairing"), icon=":material/hourglass_top:")
        st.stop()
    waiting = sum(1 for p in pairings if p["final_open"] and p["assessment"] is None)
    if waiting:
        st.info(ui.t("outcomes.assessment.waiting", count=waiting), icon=":material/arrow_forward:")
    for pairing in pairings:
        pairing_block(pairing)


main()
