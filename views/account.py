"""Account: change password (language is the sidebar switch, saved on the user)."""
import streamlit as st

import ui
from matching import accounts

PAGE = "password"


def password_form(user) -> None:
    st.subheader(ui.t("account.change_password"))
    errors = ui.kept_errors("password_errors")
    with st.form("change_password"):
        current = st.text_input(ui.t("account.current_password"), type="password", key="pw_current")
        ui.field_error(errors, "current")
        new = st.text_input(ui.t("account.new_password"), type="password", key="pw_new",
                            help=ui.t("account.password_rules"))
        ui.field_error(errors, "new")
        submitted = st.form_submit_button(ui.t("account.save_password"), type="primary")
    # Confirmed under the form, where the person is looking.
    ui.show_notice(PAGE, icon=":material/check:")
    if submitted:
        ui.act(lambda: accounts.change_password(ui.db(), user, current, new), page=PAGE,
               errors_key="password_errors", success=lambda _: ("account.password_changed", {}))


def main() -> None:
    user = ui.user()
    st.title(ui.t("account.title"))
    st.text(f"{user.name} · {user.email} · {ui.t('role.' + user.role)}")
    password_form(user)


main()
