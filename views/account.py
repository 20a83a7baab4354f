"""Account: change password (language is the sidebar switch, saved on the user)."""
import streamlit as st

import ui
from matching import accounts
from matching.errors import ValidationFailed

user = ui.user()
st.title(ui.t("account.title"))
st.text(f"{user.name} · {user.email} · {ui.t('role.' + user.role)}")

st.subheader(ui.t("account.change_password"))
errors = st.session_state.get("password_errors", {})
with st.form("change_password"):
    current = st.text_input(ui.t("account.current_password"), type="password", key="pw_current")
    ui.field_error(errors, "current")
    new = st.text_input(ui.t("account.new_password"), type="password", key="pw_new",
                        help=ui.t("account.password_help"))
    ui.field_error(errors, "new")
    submitted = st.form_submit_button(ui.t("account.save_password"), type="primary")
if submitted:
    try:
        accounts.change_password(ui.db(), user, current, new)
    except ValidationFailed as err:
        st.session_state["password_errors"] = err.errors
        st.rerun()
    else:
        st.session_state["password_errors"] = {}
        st.success(ui.t("account.password_changed"), icon=":material/check:")
