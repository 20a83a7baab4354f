"""Terms: create one, and move it planning -> intake -> matching -> active -> closed."""
import streamlit as st

import ui
from matching import i18n, terms
from matching.errors import PortalError, ValidationFailed
from matching.models import TERM_STATES

user = ui.user()
db = ui.db()


def what_each_state_allows() -> None:
    with st.expander(ui.t("fac.terms.states_title"), icon=":material/info:"):
        for state in TERM_STATES:
            st.markdown(f"**{ui.t('term_state.' + state)}** — {ui.t('fac.terms.allows.' + state)}")


def create_form() -> None:
    errors = st.session_state.get("term_errors", {})
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
        try:
            term = terms.create_term(db, user, {"name": name, "starts_on": starts, "ends_on": ends})
        except ValidationFailed as err:
            st.session_state["term_errors"] = err.errors
            st.rerun()
        except PortalError as err:
            ui.show_error(err)
        else:
            st.session_state["term_errors"] = {}
            st.session_state["term_notice"] = ui.t("fac.terms.created", name=term.name)
            st.session_state.pop("term_name", None)
            st.rerun()


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
            try:
                moved = terms.advance_term(db, user, term.id, reason=reason)
            except PortalError as err:
                ui.show_error(err)
            else:
                st.session_state["term_notice"] = ui.t("fac.terms.moved", name=moved.name,
                                                       state=ui.t("term_state." + moved.state))
                st.session_state.pop(f"term_confirm_{term.id}", None)
                st.rerun()


st.title(ui.t("fac.terms.title"))
if notice := st.session_state.pop("term_notice", None):
    st.success(notice, icon=":material/check_circle:")
st.write(ui.t("fac.terms.intro"))
what_each_state_allows()
all_terms = terms.list_terms(db)
if not all_terms:
    st.info(ui.t("fac.terms.none"), icon=":material/calendar_month:")
for item in all_terms:
    term_card(item)
create_form()
