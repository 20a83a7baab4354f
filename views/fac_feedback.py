"""Feedback rounds: define them for a term, rename or move or delete them, see reminders and
every entry's state (with how many messages each entry's thread holds)."""
import datetime as dt

import pandas as pd
import streamlit as st

import ui
from matching import feedback, i18n, lifecycle, notifications
from matching.errors import PortalError, StaleRecord

user = ui.user()
db = ui.db()
STATUS_ICONS = {"open": "○", "overdue": "⚠", "submitted": "✓", "answered": "✓✓"}
PAGE = "rounds"  # session-state prefix of this page


def status_word(status: str) -> str:
    """Icon and word, so the state never depends on colour."""
    return f"{STATUS_ICONS[status]} {ui.t('dash.feedback_status.' + status)}"


def on_screen(key: str, current: int) -> int:
    """The version the person saw when they clicked (the one drawn on the previous run); the
    current one is remembered for the next click."""
    seen = st.session_state.get(key, current)
    st.session_state[key] = current
    return seen


def day(value) -> str:
    return i18n.format_day(value, ui.lang())


def allowed_dates(term) -> str | None:
    """Which due dates the term allows, in words (None: the term sets no dates)."""
    first, last = feedback.due_date_bounds(term)
    if first and last:
        return ui.t("rounds.allowed_between", starts=day(first), ends=day(last))
    if first:
        return ui.t("rounds.allowed_from", starts=day(first))
    if last:
        return ui.t("rounds.allowed_until", ends=day(last))
    return None


def due_error(errors: dict, term) -> None:
    """The due date's problem under its field, naming the dates the term allows."""
    key = errors.get("due_on")
    if key:
        first, last = feedback.due_date_bounds(term)
        st.error(ui.t(key, starts=day(first), ends=day(last)), icon=":material/error:")


def due_input(label_key: str, key: str, term, value=None):
    return ui.date_field(ui.t(label_key), key=key, value=value, help=allowed_dates(term))


def create_form(term) -> None:
    errors = ui.kept_errors("rounds_errors")
    with st.container(border=True):
        st.subheader(ui.t("rounds.create"), anchor=False)
        name = st.text_input(ui.t("rounds.name"), key="rounds_name", help=ui.t("rounds.name_help"))
        ui.field_error(errors, "name")
        due = due_input("rounds.due_on", "rounds_due", term)
        if allowed_dates(term):
            st.caption(allowed_dates(term))
        due_error(errors, term)
        submitted = st.button(ui.t("rounds.create_button"), type="primary", key="rounds_create")
    if submitted:
        ui.act(lambda: feedback.create_round(db, user, term.id, name, due), page=PAGE, errors_key="rounds_errors",
               success=lambda created: ("rounds.created", {"name": created["name"]}),
               forget=["rounds_name", "rounds_due"])


def entry_table(entries: list[dict]) -> None:
    rows = [{ui.t("data.col.team"): e["team_name"], ui.t("data.col.challenge"): e["challenge_title"],
             ui.t("data.col.expert"): e["expert_name"] or ui.t("rounds.no_account", email=e["sme_email"]),
             ui.t("data.col.round"): e["round_name"],
             ui.t("data.col.due_on"): day(e["due_on"]),
             ui.t("data.col.status"): status_word(e["status"]),
             ui.t("rounds.col_messages"): e["message_count"]} for e in entries]
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


def threads(term) -> None:
    counts = feedback.thread_counts(db, user, term.id)
    if counts["messages"]:
        st.caption(ui.t("rounds.thread_counts", **counts))


def edit_form(term, r: dict, seen: int) -> None:
    """Rename the round or move its due date; the version drawn on screen (``seen``) goes with it."""
    rid = r["id"]
    errors_key = f"round_{rid}_errors"
    errors = ui.kept_errors(errors_key)
    st.markdown(f"**{ui.t('rounds.edit')}**")
    name = st.text_input(ui.t("rounds.name"), value=r["name"], key=f"round_{rid}_name")
    ui.field_error(errors, "name")
    due = due_input("rounds.due_on", f"round_{rid}_due", term, value=dt.date.fromisoformat(r["due_on"]))
    due_error(errors, term)
    if st.button(ui.t("rounds.save"), key=f"round_{rid}_save", icon=":material/save:"):
        ui.act(lambda: feedback.update_round(db, user, rid, name, due, expected_version=seen), page=PAGE,
               errors_key=errors_key, on_error=refused,
               success=lambda saved: ("rounds.saved", {"name": saved["name"], "date": day(saved["due_on"])}),
               forget=[f"round_{rid}_name", f"round_{rid}_due"])


def delete_form(r: dict, seen: int) -> None:
    """Delete a round nobody has given feedback for; otherwise say why it stays."""
    rid = r["id"]
    st.markdown(f"**{ui.t('rounds.delete')}**")
    if not r["deletable"]:
        st.caption(ui.message("feedback.round_has_feedback", {"name": r["name"], "count": r["given"]}))
        return
    if r["drafts"]:
        st.warning(ui.t("rounds.delete_drafts", count=r["drafts"]), icon=":material/warning:")
    confirm = st.checkbox(ui.t("rounds.delete_confirm", count=r["total"]), key=f"round_{rid}_delete_confirm")
    if st.button(ui.t("rounds.delete_button"), key=f"round_{rid}_delete", disabled=not confirm,
                 icon=":material/delete:"):
        ui.act(lambda: feedback.delete_round(db, user, rid, expected_version=seen), page=PAGE, on_error=refused,
               success=lambda gone: ("rounds.deleted", {"name": gone["name"]}),
               forget=[f"round_{rid}_delete_confirm", f"round_{rid}_seen"])


def refused(err: PortalError) -> None:
    """One sentence under the button; what was typed stays in the fields."""
    if isinstance(err, StaleRecord):
        st.warning(ui.t("rounds.stale", name=ui.plain(err.current.get("name", "")),
                        date=day(err.current.get("due_on"))), icon=":material/sync_problem:")
    else:
        ui.show_error(err)


def round_list(term) -> None:
    st.header(ui.t("rounds.list"), anchor=False)
    rounds = feedback.rounds(db, user, term.id)
    if not rounds:
        st.info(ui.t("rounds.none"), icon=":material/event_upcoming:")
        return
    writable = not lifecycle.term_is_read_only(term.state)
    for r in rounds:
        counts = r["counts"]
        given = counts["submitted"] + counts["answered"]
        title = ui.t("rounds.round_title", name=r["name"], date=day(r["due_on"]), given=given, total=r["total"])
        with st.expander(ui.plain(title)):
            st.caption(" · ".join(ui.label_value(status_word(s), n) for s, n in counts.items()))
            entries = feedback.entries_for_round(db, user, r["id"])
            if entries:
                entry_table(entries)
            else:
                st.caption(ui.t("rounds.no_entries"))
            if writable:
                seen = on_screen(f"round_{r['id']}_seen", r["version"])
                with st.container(border=True):
                    edit_form(term, r, seen)
                with st.container(border=True):
                    delete_form(r, seen)


# --- "Remind the experts with open entries" (issue 13): audited, once a day per round --------

def remind_error(err) -> None:
    """The refusal in one sentence; "too soon" says when the last reminder went, in the user's words."""
    if err.key == "notify.remind.too_soon":
        st.error(ui.t(err.key, at=i18n.format_date(err.params.get("at"), ui.lang(), fmt="short")),
                 icon=":material/schedule:")
    else:
        ui.in_place("remind")(err)


def remind_section(term) -> None:
    if not lifecycle.term_gives_feedback(term.state):
        return
    with st.container(border=True, key="rounds_remind"):
        st.subheader(ui.t("notify.remind.section"), anchor=False)
        st.caption(ui.t("notify.remind.help"))
        rounds = feedback.rounds(db, user, term.id)
        if not rounds:
            st.caption(ui.t("notify.remind.no_rounds"))
            return
        by_id = {r["id"]: r for r in rounds}
        labels = {i: f"{r['name']} · {i18n.format_day(r['due_on'], ui.lang())}" for i, r in by_id.items()}
        chosen = ui.choice(st.selectbox, ui.t("notify.remind.round"), list(by_id), key="rounds_remind_round",
                           labels=labels)
        last = notifications.last_reminder(db, chosen)
        st.caption(ui.t("notify.remind.last", at=i18n.format_date(last, ui.lang(), fmt="short")) if last
                   else ui.t("notify.remind.none_yet"))
        clicked = st.button(ui.t("notify.remind.button"), key="rounds_remind_button", icon=":material/notifications:")
    if clicked:
        ui.act(lambda: notifications.remind_round(db, user, chosen), page=PAGE, on_error=remind_error,
               success=lambda r: [("notify.remind.done", {"experts": r["experts"], "entries": r["entries"]})]
               + ([("notify.remind.without_account", {"count": r["without_account"]})] if r["without_account"] else []))


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
    remind_section(term)
    threads(term)
    round_list(term)
    if term.state in lifecycle.TERM_STATES_SCHEDULING_ROUNDS:
        create_form(term)


main()
