"""Terms: create one, and move it planning -> intake -> matching -> active -> closed."""
import streamlit as st

import ui
from matching import i18n, terms
from matching.models import TERM_STATES

user = ui.user()
db = ui.db()
PAGE = "term"  # session-state prefix of this page


def what_each_state_allows() -> None:
    with st.expander(ui.t("fac.terms.states_title"), icon=":material/info:"):
        for state in TERM_STATES:
            st.markdown(f"**{ui.t('term_state.' + state)}** — {ui.t('fac.terms.allows.' + state)}")


def create_form() -> None:
    errors = ui.kept_errors("term_errors")
    with st.container(border=True):
        st.subheader(ui.t("fac.terms.create"), anchor=False)
        name = st.text_input(ui.t("fac.terms.name"), key="term_name", help=ui.t("fac.terms.name_help"))
        ui.field_error(errors, "name")
        left, right = st.columns(2)
        starts = left.date_input(ui.t("fac.terms.starts_on"), value=None, key="term_starts", format="YYYY-MM-DD")
        ends = right.date_input(ui.t("fac.terms.ends_on"), value=None, key="term_ends", format="YYYY-MM-DD")
        ui.field_error(errors, "starts_on")
        ui.field_error(errors, "ends_on")
        submitted = st.button(ui.t("fac.terms.create_button"), type="primary", key="term_create")
    if submitted:
        ui.act(lambda: terms.create_term(db, user, {"name": name, "starts_on": starts, "ends_on": ends}), page=PAGE,
               errors_key="term_errors", success=lambda term: ("fac.terms.created", {"name": term.name}),
               forget=["term_name"])


def term_card(term) -> None:
    with st.container(border=True):
        st.subheader(ui.plain(term.name), anchor=False)
        st.badge(ui.t("term_state." + term.state), icon=":material/flag:", color="blue")
        if term.starts_on or term.ends_on:
            st.caption(ui.t("fac.terms.dates", starts=i18n.format_day(term.starts_on, ui.lang()) or "—",
                            ends=i18n.format_day(term.ends_on, ui.lang()) or "—"))
        st.write(ui.t("fac.terms.allows." + term.state))
        following = terms.NEXT_STATE.get(term.state)
        if following is None:
            st.caption(ui.t("fac.terms.final"))
            return
        st.caption(ui.t("fac.terms.next_allows", state=ui.t("term_state." + following),
                        allows=ui.t("fac.terms.allows." + following)))
        confirm = st.checkbox(ui.t("fac.terms.confirm", state=ui.t("term_state." + following)),
                              key=f"term_confirm_{term.id}")
        reason = st.text_input(ui.t("fac.terms.reason"), key=f"term_reason_{term.id}")
        if st.button(ui.t("fac.terms.advance", state=ui.t("term_state." + following)),
                     key=f"term_advance_{term.id}", disabled=not confirm, icon=":material/arrow_forward:"):
            ui.act(lambda: terms.advance_term(db, user, term.id, reason=reason), page=PAGE, success=moved,
                   forget=[f"term_confirm_{term.id}"])


def moved(term) -> ui.Message:
    # The state's name is a message too, so it follows a language switch with the sentence.
    return "fac.terms.moved", {"name": term.name, "state": ("term_state." + term.state, {})}


def main() -> None:
    st.title(ui.t("fac.terms.title"))
    ui.show_notice(PAGE)
    st.write(ui.t("fac.terms.intro"))
    what_each_state_allows()
    all_terms = terms.list_terms(db)
    if not all_terms:
        st.info(ui.t("fac.terms.none"), icon=":material/calendar_month:")
    for item in all_terms:
        term_card(item)
    create_form()


main()
