"""Account: change password (language is the sidebar switch, saved on the user)."""
import streamlit as st

import ui
from matching import accounts, notifications
from matching.permissions import can

PAGE = "password"
FIELDS = ("pw_current", "pw_new", "pw_confirm")


def changed(ended: int):
    """Only the success: the other sessions the change ended are said too."""
    said = [("account.password_changed", {})]
    return said + [("account.other_sessions_ended", {})] if ended else said


def password_form(user) -> None:
    st.subheader(ui.t("account.change_password"))
    errors = ui.kept_errors("password_errors")
    with st.form("change_password"):
        current = st.text_input(ui.t("account.current_password"), type="password", key="pw_current",
                                autocomplete="current-password")
        ui.field_error(errors, "current")
        new = st.text_input(ui.t("account.new_password"), type="password", key="pw_new",
                            help=ui.t("account.password_rules"), autocomplete="new-password")
        ui.field_error(errors, "new")
        confirm = st.text_input(ui.t("account.confirm_password"), type="password", key="pw_confirm",
                                autocomplete="new-password")
        ui.field_error(errors, "confirm")
        submitted = st.form_submit_button(ui.t("account.save_password"), type="primary")
    # Confirmed under the form, where the person is looking.
    ui.show_notice(PAGE, icon=":material/check:")
    if submitted:
        ui.act(lambda: accounts.change_password(ui.db(), user, current, new, confirm,
                                                session_id=st.session_state.get("session_id")),
               page=PAGE, errors_key="password_errors", forget=FIELDS, success=changed)


# --- Notifications by e-mail (issue 13): its own section, apart from the password ----------

DELIVERY_PAGE = "delivery"


def delivery_form(user) -> None:
    """How notifications reach the person by e-mail; the e-mails' unsubscribe link leads here."""
    st.subheader(ui.t("notify.delivery.section"), anchor="notifications")
    current = notifications.delivery(ui.db(), user)
    choices = list(notifications.DELIVERY_CHOICES)
    with st.form("delivery"):
        # The words are taken now, in this run's language: a format_func that asked for the language
        # later (AppTest formats options outside the run) would answer in another one.
        words = {c: ui.t("notify.delivery." + c) for c in choices}
        choice = ui.choice(st.radio, ui.t("notify.delivery.label"), choices, index=choices.index(current),
                           key="delivery_choice", labels=words, help=ui.t("notify.delivery.help"))
        saved = st.form_submit_button(ui.t("notify.delivery.save"))
    ui.show_notice(DELIVERY_PAGE, icon=":material/check:")
    if saved:
        ui.act(lambda: notifications.set_delivery(ui.db(), user, choice), page=DELIVERY_PAGE,
               success=lambda _: ("notify.delivery.saved", {}), on_error=ui.in_place("delivery"))


def main() -> None:
    user = ui.user()
    st.title(ui.t("account.title"))
    st.text(f"{user.name} · {user.email} · {ui.rep_t('role.' + user.role)}")
    password_form(user)
    if can(user, "notification.read", user_id=user.id):  # a public servant gets no notifications
        delivery_form(user)


main()
