"""My teams: the pairings an expert advises, the team profiles, and feedback per round.

An expert may advise pairings in several terms (a running one, the next one, past ones). Each
pairing says its term, and feedback is written while *that entry's* term is active: a pairing
of the next term does not lock the current one, and a closed term's feedback stays readable.

The page opens on a summary per team (rounds submitted, open, overdue; replies waiting); each
round is an expander that is open only when it needs the expert (feedback to give, a reply or
a message to answer), so the page is short when little waits.
"""
import pandas as pd
import streamlit as st

import ui
from matching import feedback, i18n, lifecycle, pairings, teams
from views import feedback_thread
from matching.errors import PortalError
from matching.models import RUBRIC

user = ui.user()
db = ui.db()
STATUS_ICONS = {"open": ":material/edit_note:", "overdue": ":material/schedule:",
                "submitted": ":material/send:", "answered": ":material/forum:"}
STATUS_COLOURS = {"open": "blue", "overdue": "red", "submitted": "green", "answered": "violet"}
PAGE = "expert"  # session-state prefix of this page


def status_badge(status: str) -> None:
    st.badge(ui.t("dash.feedback_status." + status), icon=STATUS_ICONS[status], color=STATUS_COLOURS[status])


def level(criterion: str, score: int) -> str:
    return f"{score} — {ui.t(f'feedback.level.{criterion}.{score}')}"


def team_profile(team_id: int) -> None:
    team = teams.get_team(db, user, team_id)
    with st.expander(ui.t("expert.profile", team=ui.plain(team.name)), icon=":material/badge:"):
        st.caption(ui.t("expert.program", program=ui.plain(team.program or "—"), year=team.year or "—"))
        if team.skills:
            st.write(ui.t("expert.skills", items=ui.plain(", ".join(team.skills))))
        if team.interests:
            st.write(ui.t("expert.interests", items=ui.plain(", ".join(team.interests))))
        if team.past_work:
            st.text(team.past_work)
        st.markdown(f"**{ui.t('data.col.members')}**")
        for member in team.members:
            st.text(f"{member.name} · {member.email}" if member.email else member.name)


def scores_read_only(entry: dict) -> None:
    for criterion in RUBRIC:
        value = entry["scores"].get(criterion)
        st.write(ui.t("feedback.score_line", criterion=ui.t("data.col." + criterion),
                          level=level(criterion, value) if value else "—"))
    st.markdown(f"**{ui.t('data.col.comments')}**")
    st.text(entry["comments"])


def feedback_form(entry: dict, can_write: bool) -> None:
    errors = ui.kept_errors(errors_key(entry))
    with st.container(border=True):
        scores = {}
        for criterion in RUBRIC:
            saved = entry["scores"].get(criterion)
            scores[criterion] = ui.choice(st.radio, ui.t("data.col." + criterion), [1, 2, 3, 4, 5],
                                            index=int(saved) - 1 if saved else None,
                                            key=f"expert_{entry['id']}_{criterion}",
                                            labels={s: level(criterion, s) for s in range(1, 6)},
                                            disabled=not can_write,
                                            help=ui.t(f"feedback.rubric.{criterion}"))
            ui.field_error(errors, f"scores.{criterion}")
        comments = st.text_area(ui.t("expert.comments"), value=entry["comments"], key=f"expert_{entry['id']}_comments",
                                help=ui.t("expert.comments_help"), disabled=not can_write)
        ui.field_error(errors, "comments")
        left, right = st.columns(2)
        save = left.button(ui.t("expert.save_draft"), disabled=not can_write, icon=":material/save:",
                           key=f"expert_{entry['id']}_save")
        send = right.button(ui.t("expert.submit"), type="primary", disabled=not can_write,
                            key=f"expert_{entry['id']}_submit", icon=":material/send:")
    if save or send:
        write(entry, "submit" if send else "save", scores, comments)


def errors_key(entry: dict) -> str:
    return f"expert_errors_{entry['id']}"


def write(entry: dict, move: str, scores: dict, comments: str) -> None:
    service = feedback.submit if move == "submit" else feedback.save_draft
    ui.act(lambda: service(db, user, entry["id"], scores, comments), page=PAGE, errors_key=errors_key(entry),
           success=lambda _: feedback_thread.keep_open(PAGE, entry, (
               "expert.submitted" if move == "submit" else "expert.saved",
               {"round": entry["round_name"], "team": entry["team_name"]})))


def term_line(row: dict) -> str:
    return ui.t("term.acts_on", name=ui.plain(row["term_name"]), state=ui.t("term_state." + row["term_state"]))


def why_not_writable(entry: dict) -> str:
    if lifecycle.term_is_read_only(entry["term_state"]):
        return ui.message("term.closed_read_only", {"term": entry["term_name"]})
    return ui.message("expert.opens_when_active",
                      {"term": entry["term_name"], "state": ("term_state." + entry["term_state"], {})})




def entry_title(entry: dict) -> str:
    due = i18n.format_day(entry["due_on"], ui.lang())
    state = (ui.t("expert.reply_waiting") if entry["next"] == "answer_team"
             else ui.t("dash.feedback_status." + entry["status"]))
    return ui.t("expert.entry_title", round=ui.plain(entry["round_name"]), date=due, state=state)


def entry_block(entry: dict, now: set[int]) -> None:
    """One round of one team, unfolded when it needs the expert now (``feedback.needs_now``) or
    was just acted on."""
    can_write = lifecycle.term_gives_feedback(entry["term_state"])  # this entry's term, not another's
    with st.expander(entry_title(entry), expanded=entry["id"] in now or feedback_thread.kept_open(PAGE, entry),
                     icon=STATUS_ICONS[entry["status"]]):
        status_badge(entry["status"])
        if entry["status"] == "overdue" and can_write:
            st.caption(ui.t("expert.overdue_help"))
        if lifecycle.feedback_is_owed(entry["state"]):
            if not can_write:
                st.caption(why_not_writable(entry))
            feedback_form(entry, can_write)
            return
        scores_read_only(entry)
        if entry["state"] == "answered":
            st.markdown(f"**{ui.t('expert.reply')}**")
            st.text(entry["reply"])
        else:
            st.caption(ui.t("expert.waiting_reply"))
        feedback_thread.show(entry, side="expert", page=PAGE)


def summary(advised: list[dict], entries: list[dict], now: set[int]) -> None:
    """Every team in one table first (names are user text: a dataframe shows them as typed)."""
    rows = []
    for p in advised:
        counts = feedback.tally([e for e in entries if e["pairing_id"] == p["pairing_id"]])
        # The counts before the (long) challenge title, so a narrow screen still shows them.
        rows.append({ui.t("data.col.team"): p["team_name"], ui.t("data.col.term"): p["term_name"],
                     ui.t("expert.col.submitted"): counts["given"], ui.t("expert.col.open"): counts["to_give"],
                     ui.t("expert.col.overdue"): counts["late"],
                     ui.t("expert.col.replies"): counts["replies_waiting"],
                     ui.t("data.col.challenge"): p["challenge_title"]})
    st.subheader(ui.t("expert.summary"), anchor=False)
    st.dataframe(pd.DataFrame(rows), width="stretch", hide_index=True)
    if now:
        st.info(ui.t("expert.needs_you", count=len(now)), icon=":material/arrow_downward:")
    else:
        st.success(ui.t("expert.nothing_waits"), icon=":material/check:")


def reminders(due: dict) -> None:
    if due["overdue"]:
        st.warning(ui.t("expert.overdue_count", count=len(due["overdue"])), icon=":material/schedule:")
    if due["due_soon"]:
        st.info(ui.t("expert.due_soon_count", count=len(due["due_soon"]), days=feedback.DUE_SOON_DAYS),
                icon=":material/event:")


def main() -> None:
    st.title(ui.t("expert.title"))
    ui.show_notice(PAGE)
    try:
        advised = pairings.pairings_for_expert(db, user)
        entries = feedback.entries_for_expert(db, user)
        due = feedback.reminders(db, user)
    except PortalError as err:
        ui.show_error(err)
        st.stop()
    if not advised:
        st.info(ui.t("expert.none"), icon=":material/hourglass_top:")
        st.stop()
    reminders(due)
    st.write(ui.t("expert.intro", count=len(advised)))
    now = feedback.needs_now(entries, "expert")
    summary(advised, entries, now)
    for p in advised:  # newest term first
        st.header(ui.plain(p["team_name"]), anchor=False)
        st.caption(term_line(p))
        st.caption(ui.t("expert.challenge", title=ui.plain(p["challenge_title"]), acronym=ui.plain(ui.acronym(p["acronym"]))))
        team_profile(p["team_id"])
        mine = [e for e in entries if e["pairing_id"] == p["pairing_id"]]
        if not mine:
            st.caption(ui.t("expert.no_rounds"))
        for entry in mine:
            entry_block(entry, now)


main()
