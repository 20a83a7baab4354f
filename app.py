"""Challenge Portal router: database, language, sign-in, and the pages the signed-in role may open.

Only the signed-in role's pages are given to ``st.navigation``, so another role's page has no
URL at all in this session.
"""
from __future__ import annotations

import logging
import secrets
import sys
import time
from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import ui  # noqa: E402
from matching import accounts, demo  # noqa: E402
from matching import db as storage  # noqa: E402
from matching.errors import AuthenticationFailed  # noqa: E402
from matching.i18n import t  # noqa: E402

try:  # st.rerun, st.stop and st.switch_page raise these: they are not errors
    from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException as _ControlFlow
except ImportError:  # pragma: no cover - older Streamlit
    from streamlit.runtime.scriptrunner import RerunException, StopException
    _ControlFlow = (RerunException, StopException)

log = logging.getLogger("portal")


def open_database():
    database = storage.connect()
    demo.ensure_ready(database)
    return database


def sign_out(reason: str = "") -> None:
    user = ui.user()
    if user is not None:
        accounts.sign_out(ui.db(), user, reason=reason)
    for key in ("_user", "user_id", "last_seen"):
        st.session_state.pop(key, None)
    if sso_configured() and st.user.get("is_logged_in", False):
        st.logout()


def restore_session() -> None:
    """Load the signed-in user for this run; end the session after the idle limit."""
    user_id = st.session_state.get("user_id")
    st.session_state.pop("_user", None)
    if user_id is None:
        return
    now = time.time()
    last_seen = st.session_state.get("last_seen", now)
    if accounts.session_expired(last_seen, now):
        st.session_state["_user"] = accounts.get_user(ui.db(), user_id)
        sign_out(reason="idle")
        st.session_state["session_expired"] = True
        return
    st.session_state["last_seen"] = now
    user = accounts.get_user(ui.db(), user_id)
    st.session_state["_user"] = user
    st.session_state.setdefault("lang", user.language)


def language_toggle() -> None:
    """EN/FR switch on every page; the current page and typed input stay; saved on the user."""
    options = {"en": "English", "fr": "Français"}
    choice = st.sidebar.segmented_control(
        t("app.language", ui.lang()), list(options), format_func=options.get,
        default=ui.lang(), key="language_choice", selection_mode="single")
    if choice and choice != ui.lang():
        st.session_state["lang"] = choice
        if ui.user() is not None:
            st.session_state["_user"] = accounts.set_language(ui.db(), ui.user(), choice)
        st.rerun()


def sign_in_page() -> None:
    lang = ui.lang()
    st.title(t("signin.title", lang))
    st.write(t("signin.intro", lang))
    if st.session_state.pop("session_expired", False):
        st.info(t("signin.expired", lang), icon=":material/timer_off:")
    with st.form("sign_in"):
        email = st.text_input(t("signin.email", lang), key="signin_email", autocomplete="email")
        password = st.text_input(t("signin.password", lang), type="password", key="signin_password")
        submitted = st.form_submit_button(t("signin.submit", lang), type="primary")
    if submitted:
        try:
            user = accounts.authenticate(ui.db(), email, password)
        except AuthenticationFailed as err:
            st.error(t(err.key, lang, minutes=accounts.lock_minutes()), icon=":material/error:")
        else:
            st.session_state.update(user_id=user.id, last_seen=time.time(), lang=user.language)
            st.rerun()
    if sso_configured():
        single_sign_on()
    if demo.demo_mode():
        demo_accounts()


def sso_configured() -> bool:
    """Single sign-on is offered only when .streamlit/secrets.toml has an [auth] section."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return False


def single_sign_on() -> None:
    """OIDC through st.login; the verified e-mail must belong to a portal account."""
    lang = ui.lang()
    st.divider()
    if st.user.get("is_logged_in", False):
        try:
            user = accounts.sign_in_verified_email(ui.db(), st.user.get("email"))
        except AuthenticationFailed as err:
            st.error(t(err.key, lang), icon=":material/error:")
            st.button(t("signin.sso_other", lang), on_click=st.logout, key="sso_logout")
            return
        st.session_state.update(user_id=user.id, last_seen=time.time(), lang=user.language)
        st.rerun()
    st.button(t("signin.sso", lang), on_click=st.login, icon=":material/key:", key="sso_login")


def demo_accounts() -> None:
    lang = ui.lang()
    listed = accounts.first_account_per_role(ui.db())  # demo-loaded accounts only
    if not listed:
        return  # a real database: no demo box, no demo password
    with st.expander(t("signin.demo_title", lang), expanded=True):
        st.write(t("signin.demo_intro", lang, password=demo.DEMO_PASSWORD))
        for role, email in listed.items():
            st.text(f"{t('role.' + role, lang)}: {email}")


def navigation_for(user) -> list:
    pages = [st.Page(str(HERE / path), title=t(title, ui.lang()), icon=icon, default=(i == 0))
             for i, (path, title, icon) in enumerate(ui.PAGES[user.role]) if (HERE / path).exists()]
    path, title, icon = ui.ACCOUNT_PAGE
    pages.append(st.Page(str(HERE / path), title=t(title, ui.lang()), icon=icon))
    return pages


def unexpected_error(err: Exception) -> None:
    """One sentence with an error id on the page; the traceback, with that id, in the server log.

    Nothing of the exception (its text may name a file, a path, a query) reaches the page.
    """
    error_id = secrets.token_hex(4).upper()
    user = st.session_state.get("_user")
    log.exception("Unexpected error %s (user id %s)", error_id, getattr(user, "id", None), exc_info=err)
    st.error(t("error.unexpected", st.session_state.get("lang", "en"), id=error_id), icon=":material/error:")


def main() -> None:
    st.set_page_config(page_title="Challenge Portal", page_icon=":material/handshake:", layout="wide")
    database = open_database()
    st.session_state["_db"] = database
    try:
        restore_session()
        st.session_state.setdefault("lang", "en")
        language_toggle()
        user = ui.user()
        if user is None:
            page = st.navigation([st.Page(sign_in_page, title=t("signin.title", ui.lang()),
                                          icon=":material/login:")], position="hidden")
        else:
            with st.sidebar:
                st.caption(t("app.signed_in_as", ui.lang(), name=ui.plain(user.name),
                             role=t("role." + user.role, ui.lang())))
                if st.button(t("app.sign_out", ui.lang()), icon=":material/logout:", key="sign_out"):
                    sign_out()
                    st.rerun()
            page = st.navigation(navigation_for(user))
        page.run()
    except _ControlFlow:
        raise
    except Exception as err:  # noqa: BLE001 - the error boundary of every page
        unexpected_error(err)
    finally:
        database.close()


main()
