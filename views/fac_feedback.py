"""Feedback rounds: define them for a term, see reminders and every entry's state."""
import datetime as dt

import pandas as pd
import streamlit as st

import ui
from matching import feedback, i18n, lifecycle

user = ui.user()
db = ui.db()
STATUS_ICONS = {"open": "○", "overdue": "⚠", "submitted": "✓", "answered": "✓✓"}
PAGE = "rounds"  # session-state prefix of this page


def status_word(status: str) -> str:
    """Icon and word, so the state never depends on colour."""
    return f"{STATUS_ICONS[status]} {ui.t('dash.feedback_status.' + status)}"


def create_form(term) -> None:
    errors = ui.kept_errors("rounds_errors")
    with st.container(border=True):
        st.subheader(ui.t("rounds.create"), anchor=False)
        name = st.text_input(ui.t("rounds.name"), key="rounds_name", help=ui.t("rounds.name_help"))
        ui.field_error(errors, "name")
        due = st.date_input(ui.t("rounds.due_on"), value=None, key="rounds_due", format="YYYY-MM-DD",
                            min_value=dt.date(2000, 1, 1))
        ui.field_error(errors, "due_on")
        submitted = st.button(ui.t("rounds.create_button"), type="primary", key="rounds_create")
    if submitted:
        ui.act(lambda: feedback.create_round(db, user, term.id, name, due), page=PAGE, errors_key="rounds_errors",
               success=lambda created: ("rounds.created", {"name": created["name"]}), forget=["rounds_name"])


def entry_table(entries: list[dict]) -> None:
    rows = [{ui.t("data.col.team"): e["team_name"], ui.t("data.col.challenge"): e["challenge_title"],
             ui.t("data.col.expert"): e["expert_name"] or ui.t("rounds.no_account", email=e["sme_email"]),
             ui.t("data.col.round"): e["round_name"],
             ui.t("data.col.due_on"): i18n.format_day(e["due_on"], ui.lang()),
             ui.t("data.col.status"): status_word(e["status"])} for e in entries]
    st.dataframe(pd.DataFrame(rows), width="stretch", hide_index=True)


def reminders(term) -> None:
    due = feedback.reminders(db, user, term.id)
    st.header(ui.t("rounds.reminders"), anchor=False)
    left, right = st.columns(2)
    left.metric(ui.t("rounds.due_soon", days=feedback.DUE_SOON_DAYS), len(due["due_soon"]))
    right.metric(ui.t("rounds.overdue"), len(due["overdue"]))
    if due["overdue"]:
        st.warning(ui.t("rounds.overdue_help", count=len(due["overdue"])), icon=":material/schedule:")
        entry_table(due["overdue"])
    if due["due_soon"]:
        st.subheader(ui.t("rounds.due_soon", days=feedback.DUE_SOON_DAYS), anchor=False)
        entry_table(due["due_soon"])
    if not due["overdue"] and not due["due_soon"]:
        st.caption(ui.t("rounds.nothing_due"))


def round_list(term) -> None:
    st.header(ui.t("rounds.list"), anchor=False)
    rounds = feedback.rounds(db, user, term.id)
    if not rounds:
        st.info(ui.t("rounds.none"), icon=":material/event_upcoming:")
        return
    for r in rounds:
        counts = r["counts"]
        given = counts["submitted"] + counts["answered"]
        title = ui.t("rounds.round_title", name=r["name"], date=i18n.format_day(r["due_on"], ui.lang()),
                     given=given, total=r["total"])
        with st.expander(ui.plain(title)):
            st.caption(" · ".join(f"{status_word(s)}: {n}" for s, n in counts.items()))
            entries = feedback.entries_for_round(db, user, r["id"])
            if entries:
                entry_table(entries)
            else:
                st.caption(ui.t("rounds.no_entries"))


def main() -> None:
    st.title(ui.t("rounds.title"))
    term = ui.pick_term("rounds_term", lifecycle.TERM_STATES_OPEN)
    ui.show_notice(PAGE)
    st.write(ui.t("rounds.intro"))
    if lifecycle.term_is_read_only(term.state):
        st.caption(ui.t("term.closed_read_only", term=ui.plain(term.name)))
    elif not lifecycle.term_gives_feedback(term.state):
        st.caption(ui.t("rounds.not_active"))
    reminders(term)
    round_list(term)
    if term.state in lifecycle.TERM_STATES_SCHEDULING_ROUNDS:
        create_form(term)


main()
