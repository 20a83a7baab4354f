"""Password reset on the sign-in page (not a page of its own): "Forgot your password?" asks for
the address, and the e-mailed link (``/?reset=TOKEN``) asks for the new password.

Both answers of the request are the same sentence whether or not the address has an account."""
import streamlit as st

import ui
from matching import password_reset

PAGE = "reset"  # session-state prefix


def forgot_password() -> None:
    """The request: an address, one answer for every address."""
    errors = ui.kept_errors("reset_errors")
    with st.expander(ui.t("notify.reset.forgot"), icon=":material/lock_reset:", expanded=bool(errors)):
        st.caption(ui.t("notify.reset.intro"))
        with st.form("reset_request"):
            email = st.text_input(ui.t("notify.reset.email"), key="reset_email", autocomplete="email")
            ui.field_error(errors, "email")
            sent = st.form_submit_button(ui.t("notify.reset.send"))
        ui.show_notice(PAGE, icon=":material/mark_email_read:")
    if sent:
        ui.act(lambda: password_reset.request_reset(ui.db(), email), page=PAGE, errors_key="reset_errors",
               success=lambda _: ("notify.reset.sent", {}), forget=["reset_email"])


def new_password_form(token: str) -> None:
    """The link's form: the new password, once; then back to signing in."""
    st.subheader(ui.t("notify.reset.title"), anchor=False)
    if st.session_state.get("reset_done"):
        st.success(ui.t("notify.reset.done"), icon=":material/check:")
    elif not password_reset.token_is_valid(ui.db(), token):
        st.error(ui.t("notify.reset.invalid"), icon=":material/link_off:")
    else:
        errors = ui.kept_errors("reset_password_errors")
        with st.form("reset_password"):
            new = st.text_input(ui.t("notify.reset.new_password"), type="password", key="reset_new",
                                help=ui.t("account.password_rules"), autocomplete="new-password")
            ui.field_error(errors, "new")
            ui.field_error(errors, "token")
            saved = st.form_submit_button(ui.t("notify.reset.save"), type="primary")
        if saved:
            ok, _ = ui.attempt(lambda: password_reset.reset_password(ui.db(), token, new),
                               errors_key="reset_password_errors")
            if ok:
                st.session_state["reset_done"] = True
                st.session_state.pop("reset_new", None)
                st.rerun()
    if st.button(ui.t("notify.reset.back"), key="reset_back", icon=":material/login:"):
        st.session_state.pop("reset_done", None)
        st.query_params.pop("reset", None)
        st.rerun()
