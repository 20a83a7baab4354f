"""Final summary: what our team learned, made and recommends, with links, once our term's work ends;
the expert's final assessment beside it. Written while the term is active and for a month after it
closes (``lifecycle.final_work_open``); read-only after that."""
import streamlit as st

import ui
from matching import i18n, outcomes
from matching.errors import PortalError
from matching.models import RUBRIC

user = ui.user()
db = ui.db()
PAGE = "student_summary"


def key(pairing: dict, name: str) -> str:
    return f"{PAGE}_{pairing['pairing_id']}_{name}"


def window_line(pairing: dict) -> None:
    if pairing["final_open"] and pairing["final_closes_on"]:
        st.caption(ui.t("outcomes.page.open_until", date=i18n.format_day(pairing["final_closes_on"], ui.lang())))
    elif pairing["final_open"]:
        st.caption(ui.t("outcomes.page.open_while_active"))
    else:
        st.caption(ui.message("outcome.final_closed", {"term": pairing["term_name"], "closed_on": i18n.format_day(
            pairing["final_closes_on"] or "", ui.lang())}))


def summary_read_only(summary: dict) -> None:
    for field in outcomes.SUMMARY_FIELDS:
        st.markdown(f"**{ui.t('outcomes.summary.' + field)}**")
        st.text(summary[field])
    if summary["links"]:
        st.markdown(f"**{ui.t('outcomes.summary.links')}**")
        st.text("\n".join(summary["links"]))
    st.caption(ui.t("outcomes.summary.names_shown" if summary["show_names"] else "outcomes.summary.anonymised"))


def summary_form(pairing: dict) -> None:
    summary = pairing["summary"] or {}
    errors_key = key(pairing, "errors")
    errors = ui.kept_errors(errors_key)
    for field in outcomes.SUMMARY_FIELDS:   # the saved text, the first time the form is drawn
        st.session_state.setdefault(key(pairing, field), summary.get(field, ""))
    st.session_state.setdefault(key(pairing, "links"), "\n".join(summary.get("links", [])))
    st.session_state.setdefault(key(pairing, "show_names"), bool(summary.get("show_names")))
    with st.container(border=True):
        values = {}
        for field in outcomes.SUMMARY_FIELDS:
            values[field] = st.text_area(ui.t("outcomes.summary." + field), key=key(pairing, field),
                                         help=ui.t(f"outcomes.summary.{field}_help"),
                                         max_chars=outcomes.SUMMARY_TEXT_MAX)
            ui.field_error(errors, field)
        values["links"] = st.text_area(ui.t("outcomes.summary.links"), key=key(pairing, "links"),
                                       help=ui.t("outcomes.summary.links_help"))
        ui.field_error(errors, "links")
        values["show_names"] = st.checkbox(ui.t("outcomes.summary.show_names"), key=key(pairing, "show_names"),
                                           help=ui.t("outcomes.summary.show_names_help"))
        save = st.button(ui.t("outcomes.summary.save"), type="primary", key=key(pairing, "save"),
                         icon=":material/send:")
    if save:
        version = summary.get("version", 0)
        ui.act(lambda: outcomes.save_summary(db, user, pairing["pairing_id"], values, expected_version=version),
               page=PAGE, errors_key=errors_key,
               success=lambda _: ("outcomes.summary.saved", {"title": pairing["challenge_title"]}))


def assessment_block(pairing: dict) -> None:
    assessment = pairing["assessment"]
    st.subheader(ui.t("outcomes.assessment.title"), anchor=False)
    if assessment is None:
        st.caption(ui.t("outcomes.assessment.none_yet"))
        return
    for criterion in RUBRIC:
        value = assessment["scores"].get(criterion)
        st.write(ui.t("feedback.score_line", criterion=ui.t("data.col." + criterion),
                      level=f"{value} — {ui.t(f'feedback.level.{criterion}.{value}')}" if value else "—"))
    st.markdown(f"**{ui.t('data.col.comments')}**")
    st.text(assessment["comments"])


def pairing_block(pairing: dict) -> None:
    with st.container(border=True):
        st.subheader(ui.plain(pairing["challenge_title"]), anchor=False)
        st.caption(ui.t("term.acts_on", name=ui.plain(pairing["term_name"]),
                        state=ui.t("term_state." + pairing["term_state"])))
        window_line(pairing)
        st.subheader(ui.t("outcomes.summary.title"), anchor=False)
        if pairing["final_open"]:
            summary_form(pairing)
        elif pairing["summary"]:
            summary_read_only(pairing["summary"])
        else:
            st.caption(ui.t("outcomes.summary.none"))
        assessment_block(pairing)


def main() -> None:
    st.title(ui.t("outcomes.summary.page_title"))
    ui.show_notice(PAGE)
    st.write(ui.t("outcomes.summary.intro"))
    try:
        pairings = outcomes.for_team(db, user, user.team_id)
    except PortalError as err:
        ui.show_error(err)
        st.stop()
    if not pairings:
        st.info(ui.t("outcomes.summary.no_pairing"), icon=":material/hourglass_top:")
        st.stop()
    for pairing in pairings:
        pairing_block(pairing)


main()
