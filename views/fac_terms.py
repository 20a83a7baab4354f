"""Terms: every term with its state; create one; move one forward past its guards.

Several terms live at once (the next intake while the current cohort works), so each term has
its own card. A move shows first what :func:`matching.terms.advance_check` says stands in the
way; it carries the term version that was on screen, so a term someone else moved meanwhile is
refused, not moved twice.
"""
import pandas as pd
import streamlit as st

import ui
from matching import i18n, lifecycle, programmes, terms
from matching.errors import PortalError, StaleRecord

user = ui.user()
db = ui.db()
PAGE = "term"  # session-state prefix of this page
#: A presentation table over every term state (so no state can be missed).
STATE_COLOURS = {"planning": "gray", "intake": "blue", "matching": "violet", "active": "green", "closed": "gray"}


def on_screen(key: str, current: int) -> int:
    """The version the person saw when they clicked (the one drawn on the previous run); the
    current one is remembered for the next click."""
    seen = st.session_state.get(key, current)
    st.session_state[key] = current
    return seen


def state_word(state: str) -> str:
    return ui.t("term_state." + state)


def what_each_state_allows() -> None:
    with st.expander(ui.t("fac.terms.states_title"), icon=":material/info:"):
        for state in lifecycle.TERM_STATES:
            st.markdown(f"**{state_word(state)}** — {ui.t('fac.terms.allows.' + state)}")


def overview(all_terms) -> None:
    """Every term and its state at a glance (names are user text: a table, not Markdown)."""
    rows = [{ui.t("data.col.term"): term.name, ui.t("data.col.programme"): programme_name(term.programme_id),
             ui.t("data.col.state"): state_word(term.state),
             ui.t("facp.terms.col_starts"): i18n.format_day(term.starts_on, ui.lang()) or "—",
             ui.t("facp.terms.col_ends"): i18n.format_day(term.ends_on, ui.lang()) or "—"} for term in all_terms]
    st.dataframe(pd.DataFrame(rows), width="stretch", hide_index=True)


def programme_name(programme_id) -> str:
    return next((p.label(ui.lang()) for p in programmes.list_programmes(db) if p.id == programme_id), "")


def create_form() -> None:
    errors = ui.kept_errors("term_errors")
    with st.container(border=True):
        st.subheader(ui.t("fac.terms.create"), anchor=False)
        mine = {p.id: p.label(ui.lang()) for p in programmes.visible_programmes(db, user)}
        programme_id = ui.choice(st.selectbox, ui.t("programme.label"), mine, labels=mine, key="term_programme",
                                 help=ui.t("programme.term_help"))
        ui.field_error(errors, "programme_id")
        name = st.text_input(ui.t("fac.terms.name"), key="term_name", help=ui.t("fac.terms.name_help"))
        ui.field_error(errors, "name")
        left, right = st.columns(2)
        starts = ui.date_field(ui.t("fac.terms.starts_on"), key="term_starts", container=left)
        ends = ui.date_field(ui.t("fac.terms.ends_on"), key="term_ends", container=right)
        ui.field_error(errors, "starts_on")
        ui.field_error(errors, "ends_on")
        submitted = st.button(ui.t("fac.terms.create_button"), type="primary", key="term_create")
    if submitted:
        ui.act(lambda: terms.create_term(db, user, {"name": name, "starts_on": starts, "ends_on": ends,
                                                    "programme_id": programme_id}), page=PAGE,
               errors_key="term_errors", success=lambda term: ("fac.terms.created", {"name": term.name}),
               forget=["term_name"])


def term_card(term) -> None:
    with st.container(border=True):
        st.subheader(ui.plain(term.name), anchor=False)
        st.badge(state_word(term.state), icon=":material/flag:", color=STATE_COLOURS[term.state])
        if ui.programme_label(term.programme_id):
            st.caption(ui.plain(ui.programme_label(term.programme_id)))
        if term.starts_on or term.ends_on:
            st.caption(ui.t("fac.terms.dates", starts=i18n.format_day(term.starts_on, ui.lang()) or "—",
                            ends=i18n.format_day(term.ends_on, ui.lang()) or "—"))
        st.write(ui.t("fac.terms.allows." + term.state))
        if lifecycle.TERM_NEXT.get(term.state) is None:
            st.caption(ui.t("fac.terms.final"))
            return
        move_form(term)


def move_form(term) -> None:
    """The guards first, then the reason, the override (only when something blocks), the move."""
    check = terms.advance_check(db, term.id)
    following = check["to"]
    seen = on_screen(f"term_seen_{term.id}", term.version)
    errors = ui.kept_errors(f"term_errors_{term.id}")
    st.caption(ui.t("fac.terms.next_allows", state=state_word(following), allows=ui.t("fac.terms.allows." + following)))
    for blocker in check["blockers"]:
        st.warning(ui.message(blocker["key"], blocker["params"]), icon=":material/block:")
    for warning in check["warnings"]:
        st.warning(ui.message(*dated(warning)), icon=":material/event_busy:")
    if check["needs_reason"]:
        st.warning(ui.t("term.guard.open_feedback", count=check.get("open_feedback", 0)), icon=":material/rate_review:")
    override = False
    if check["blockers"]:
        override = st.checkbox(ui.t("term.guard.override"), key=f"term_override_{term.id}",
                               help=ui.t("term.guard.override_help"))
    reason_needed = check["needs_reason"] or bool(check["blockers"])
    reason = st.text_area(ui.t("facp.terms.reason"), key=f"term_reason_{term.id}", height=80,
                          help=ui.t("facp.terms.reason_needed" if reason_needed else "facp.terms.reason_help"))
    ui.field_error(errors, "reason")
    confirm = st.checkbox(ui.t("fac.terms.confirm", state=state_word(following)), key=f"term_confirm_{term.id}")
    if st.button(ui.t("fac.terms.advance", state=state_word(following)), key=f"term_advance_{term.id}",
                 disabled=not confirm, icon=":material/arrow_forward:"):
        ui.act(lambda: terms.advance_term(db, user, term.id, reason=reason, override=override,
                                          expected_version=seen),
               page=PAGE, errors_key=f"term_errors_{term.id}", on_error=refused,
               success=lambda moved_term: moved(term, moved_term, check["warnings"]),
               forget=[f"term_confirm_{term.id}", f"term_override_{term.id}", f"term_reason_{term.id}"])


def refused(err: PortalError) -> None:
    """One sentence, right under the button; the term did not move."""
    if isinstance(err, StaleRecord):
        st.warning(ui.t("facp.terms.stale"), icon=":material/sync_problem:")
    else:
        ui.show_error(err)


def dated(warning: dict) -> ui.Message:
    """A warning of ``advance_check`` as a message, its date in the reader's language."""
    params = dict(warning["params"])
    if params.get("starts"):
        params["starts"] = i18n.format_day(params["starts"], ui.lang())
    return warning["key"], params


def moved(before, after, warnings=()) -> list[ui.Message]:
    # The states are messages too, so they follow a language switch with the sentence. What the
    # move did not stop at (a term made active before its start date) is said with it.
    return [("facp.terms.moved", {"name": after.name, "from_state": ("term_state." + before.state, {}),
                                  "to_state": ("term_state." + after.state, {})}),
            *(dated(warning) for warning in warnings)]


def main() -> None:
    st.title(ui.t("fac.terms.title"))
    ui.show_notice(PAGE)
    st.write(ui.t("fac.terms.intro"))
    what_each_state_allows()
    all_terms = terms.list_terms(db, actor=user, programme_id=ui.pick_programme("terms_programme"))
    if not all_terms:
        st.info(ui.t("fac.terms.none"), icon=":material/calendar_month:")
    else:
        overview(all_terms)
    for item in all_terms:
        term_card(item)
    create_form()


main()
