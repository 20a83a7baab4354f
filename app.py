"""Challenge Portal router: database, language, sign-in, and the pages the signed-in role may open.

Only the signed-in role's pages are given to ``st.navigation``, so another role's page has no
URL at all in this session.

A reload or a bookmarked page address keeps a person signed in: signing in opens a server-side
session (:mod:`matching.sessions`) whose HttpOnly cookie the page fetches from the routes of
``session_routes.py``; the first run of a new browser tab restores the session from that cookie
before ``st.navigation`` resolves the address. This file is both the Streamlit script (run as
``__main__``) and, when imported by ``streamlit run app.py`` / ``portal serve``, the ``st.App``
that mounts those routes beside Streamlit's own. AppTest sends no cookies: there, as before,
a sign-in lasts as long as the AppTest session.
"""
from __future__ import annotations

import logging
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import ui  # noqa: E402
from views import password_reset  # noqa: E402
from matching import accounts, demo, notifications, sessions  # noqa: E402
from matching import db as storage  # noqa: E402
from matching.errors import AuthenticationFailed, Busy  # noqa: E402
from matching.i18n import label_value, t  # noqa: E402

try:  # st.rerun, st.stop and st.switch_page raise these: they are not errors
    from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException as _ControlFlow
except ImportError:  # pragma: no cover - older Streamlit
    from streamlit.runtime.scriptrunner import RerunException, StopException
    _ControlFlow = (RerunException, StopException)

log = logging.getLogger("portal")
ICON = HERE / "static" / "portal-icon.svg"
#: True in the first run of a browser tab only: the one run whose address the browser chose.
FIRST_RUN = False


def open_database():
    """This script run's connection: on PostgreSQL lent by the server's pool (given back by
    ``close()`` at the end of the run), on SQLite opened for the run. Never cached across runs."""
    database = storage.connect(pooled=True)
    try:
        demo.ensure_ready(database)
    except BaseException:
        database.close()
        raise
    return database


#: Pages where typed text is worth a warning before the browser leaves (reload, close, address).
GUARDED_PAGES = {"dept_challenge_form", "student_profile", "expert_teams", "student_feedback", "fac_review",
                 "fac_feedback", "account"}
SESSION_KEYS = ("_user", "user_id", "last_seen", "session_id", "handoff_code")

#: One small script in the page (no iframe): it posts a sign-in's one-time code or a sign-out to
#: the portal's own routes (so the answer can set or expire the HttpOnly cookie), and warns
#: before the browser leaves a form page with text typed since the last save (beforeunload).
BROWSER_JS = """
export default function (component) {
  const { data, setTriggerValue } = component;
  const w = window;
  if (!w.__portal) {
    w.__portal = { dirty: false, guard: false, saved: null, page: null, posted: {} };
    document.addEventListener("input", (event) => {
      const el = event.target;
      if (!w.__portal.guard || !event.isTrusted || !el || !el.matches) return;
      if (el.matches("textarea, input[type=text], input:not([type])") && el.closest('[data-testid="stMain"]')) {
        w.__portal.dirty = true;
      }
    }, true);
    window.addEventListener("beforeunload", (event) => {
      if (w.__portal.guard && w.__portal.dirty) { event.preventDefault(); event.returnValue = ""; }
    });
  }
  const state = w.__portal;
  if (state.page !== data.page || state.saved !== data.saved) state.dirty = false;
  state.page = data.page; state.saved = data.saved; state.guard = !!data.guard;
  const post = (path, body) => fetch(path, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });
  if (data.code && !state.posted[data.code]) {
    state.posted[data.code] = true;
    post("/_portal/session", { code: data.code })
      .then((answer) => setTriggerValue("cookie", answer.ok ? "set" : "refused"))
      .catch(() => setTriggerValue("cookie", "failed"));
  }
  if (data.end && !state.posted["end" + data.end]) {
    state.posted["end" + data.end] = true;
    post("/_portal/session/end", {}).catch(() => {});
  }
}
"""


@st.cache_resource
def _browser_component():
    return st.components.v2.component("portal_browser", js=BROWSER_JS)


def browser_side(page_name: str = "") -> None:
    """Mount the page script of :data:`BROWSER_JS` (once per run, in the sidebar)."""
    data = {"code": st.session_state.get("handoff_code"), "end": st.session_state.get("_ended", 0),
            "saved": st.session_state.get("_saved", 0), "page": page_name,
            "guard": page_name in GUARDED_PAGES}
    with st.sidebar:
        _browser_component()(data=data, key="portal_browser", on_cookie_change=_cookie_answered)


def _cookie_answered() -> None:
    """The page reported on the one-time code: whatever it was, it is not posted again."""
    st.session_state.pop("handoff_code", None)


def sign_out(reason: str = "") -> None:
    user = ui.user()
    if user is not None:
        accounts.sign_out(ui.db(), user, reason=reason, session_id=st.session_state.get("session_id"))
    for key in SESSION_KEYS:
        st.session_state.pop(key, None)
    st.session_state["_ended"] = st.session_state.get("_ended", 0) + 1  # the page expires the cookie
    if not reason:
        st.session_state["signed_out"] = True
    if sso_configured() and st.user.get("is_logged_in", False):
        st.logout()


def begin_session(user) -> None:
    """After a sign-in: the server-side session, its one-time code for the cookie, the language."""
    started = sessions.start(ui.db(), user)
    st.session_state.update(user_id=user.id, session_id=started.session_id, handoff_code=started.handoff_code,
                            last_seen=time.time(), lang=user.language)
    st.session_state.pop("signed_out", None)


def cookie(name: str) -> str | None:
    try:
        return st.context.cookies.get(name)
    except Exception:  # noqa: BLE001 - no browser request (AppTest, bare mode): no cookies
        return None


def restore_from_cookie() -> None:
    """First run of a browser tab: the session its cookie names, if still open (a reload, a
    bookmarked address, a new tab); else remember why, for the sign-in page's message."""
    global FIRST_RUN
    if st.session_state.get("_cookie_read"):
        return
    st.session_state["_cookie_read"] = True
    FIRST_RUN = True
    restored, why = sessions.restore(ui.db(), cookie(sessions.COOKIE_NAME))
    if restored is not None:
        st.session_state.update(user_id=restored.user.id, session_id=restored.session_id,
                                last_seen=time.time(), lang=restored.user.language)
    elif why == "idle":
        st.session_state["session_expired"] = True
    elif why in ("sign_out", "password_changed") or cookie("portal_signed_out"):
        st.session_state["signed_out"] = True


def restore_session() -> None:
    """Load the signed-in user for this run; end the session after the idle limit or once it was
    ended elsewhere (sign-out in another tab, a password change, the account changed)."""
    st.session_state.pop("_user", None)
    if st.session_state.get("user_id") is None:
        restore_from_cookie()
    user_id = st.session_state.get("user_id")
    if user_id is None:
        return
    session_id = st.session_state.get("session_id")
    if session_id is not None:
        user, why = sessions.check(ui.db(), session_id)
        if user is None:
            for key in SESSION_KEYS:
                st.session_state.pop(key, None)
            st.session_state["session_expired" if why == "idle" else "signed_out"] = True
            return
    else:  # signed in without a server-side session (AppTest sets user_id): idle clock in memory
        now = time.time()
        if accounts.session_expired(st.session_state.get("last_seen", now), now):
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
    choice = ui.choice(
        st.sidebar.segmented_control, t("app.language", ui.lang()), options, labels=options,
        default=ui.lang(), key="language_choice", selection_mode="single")
    if choice and choice != ui.lang():
        st.session_state["lang"] = choice
        if ui.user() is not None:
            st.session_state["_user"] = accounts.set_language(ui.db(), ui.user(), choice)
        st.rerun()


def sign_in_page() -> None:
    lang = ui.lang()
    st.title(t("signin.title", lang))
    if st.query_params.get("reset"):  # the e-mailed password-reset link (views/password_reset.py)
        password_reset.new_password_form(st.query_params["reset"])
        return
    st.write(t("signin.intro", lang))
    if st.session_state.pop("session_expired", False):
        st.info(t("signin.expired", lang), icon=":material/timer_off:")
    elif st.session_state.get("signed_out"):
        st.info(t("session.signed_out", lang), icon=":material/logout:")
    with st.form("sign_in"):
        email = st.text_input(t("signin.email", lang), key="signin_email", autocomplete="email")
        password = st.text_input(t("signin.password", lang), type="password", key="signin_password")
        submitted = st.form_submit_button(t("signin.submit", lang), type="primary")
    if submitted:
        try:
            user = storage.retrying(ui.db(), lambda: accounts.authenticate(ui.db(), email, password))
        except AuthenticationFailed as err:
            st.error(t(err.key, lang, minutes=accounts.lock_minutes()), icon=":material/error:")
        else:
            begin_session(user)
            st.rerun()
    password_reset.forgot_password()
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
    """OIDC through st.login; the verified e-mail must belong to a portal account, or to a domain
    of PORTAL_PUBLIC_SERVANT_DOMAINS (a read-only public-servant account is created)."""
    lang = ui.lang()
    st.divider()
    if st.user.get("is_logged_in", False):
        try:
            user = accounts.sign_in_verified_email(ui.db(), st.user.get("email"), name=st.user.get("name"),
                                                   verified=st.user.get("email_verified"), language=lang)
        except AuthenticationFailed as err:
            st.error(t(err.key, lang), icon=":material/error:")
            st.button(t("signin.sso_other", lang), on_click=st.logout, key="sso_logout")
            return
        begin_session(user)
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
            st.text(label_value(t("role." + role, lang), email, lang))


def nav_title(user, path: str, title: str) -> str:
    """A page's title in the navigation; the inbox's says how many notifications are unread."""
    if (path, title) == ui.INBOX_PAGE[:2]:
        unread = notifications.unread_count(ui.db(), user)
        if unread:
            return t("nav.inbox_unread", ui.lang(), count=unread)
    return t(title, ui.lang())


def navigation_for(user) -> dict:
    """The role's pages, each with its address name (the file's stem; the first is the default,
    at the root address)."""
    listed = [entry for entry in ui.PAGES[user.role] if (HERE / entry[0]).exists()] + [ui.ACCOUNT_PAGE]
    return {st.Page(str(HERE / path), title=nav_title(user, path, title), icon=icon,
                    default=(i == 0)): Path(path).stem
            for i, (path, title, icon) in enumerate(listed)}


def page_names() -> set[str]:
    """The address of every portal page, all roles (a file ``views/x.py`` is at ``/x``)."""
    return {Path(path).stem for pages in ui.PAGES.values() for path, _, _ in pages} | {Path(ui.ACCOUNT_PAGE[0]).stem}


def requested_page() -> str:
    """The portal page the browser's address names (a reload or a bookmark), or ''."""
    try:
        url = st.context.url or ""
    except Exception:  # noqa: BLE001 - AppTest and bare mode have no browser address
        url = ""
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return name if name in page_names() else ""


def sign_in_navigation():
    """Only the sign-in page. Opened at a page's address (a bookmark, a reload after the session
    ended), the sign-in page answers at that address too, so Streamlit has no "Page not found" to
    say, and the page is remembered to be opened after signing in if the role has it."""
    title, icon = t("signin.title", ui.lang()), ":material/login:"
    pages = [st.Page(sign_in_page, title=title, icon=icon, default=True)]
    # Only the address a tab was opened at (later runs keep the page they were on, such as the
    # page someone signed out from, which is not one they asked for). The alias stays until the
    # person signs in: the sign-in form's own rerun must resolve to the same page, or Streamlit
    # would take it for a page change and drop the click.
    if FIRST_RUN and requested_page():
        st.session_state["wanted_page"] = requested_page()
    wanted = st.session_state.get("wanted_page")
    if wanted:
        pages.append(st.Page(sign_in_page, title=title, icon=icon, url_path=wanted))
    return st.navigation(pages, position="hidden")


def open_wanted_page(pages: dict, current) -> None:
    """After signing in at a page's address: that page, when this role has it."""
    wanted = st.session_state.pop("wanted_page", None)
    for page, name in pages.items():
        if wanted and name == wanted and page is not current:
            st.switch_page(page)


def unexpected_error(err: Exception) -> None:
    """One sentence with an error id on the page; the traceback, with that id, in the server log.

    Nothing of the exception (its text may name a file, a path, a query) reaches the page.
    """
    error_id = secrets.token_hex(4).upper()
    user = st.session_state.get("_user")
    log.exception("Unexpected error %s (user id %s)", error_id, getattr(user, "id", None), exc_info=err)
    st.error(t("error.unexpected", st.session_state.get("lang", "en"), id=error_id), icon=":material/error:")


def main() -> None:
    # The tab icon is a file of the portal (sent inline), never a font server's (issue 14.12).
    st.set_page_config(page_title="Challenge Portal", page_icon=str(ICON), layout="wide")
    try:
        database = open_database()
    except Busy as err:  # every pooled connection lent, or the schema check behind a lock
        ui.show_error(err)
        return
    st.session_state["_db"] = database
    try:
        restore_session()
        st.session_state.setdefault("lang", "en")
        language_toggle()
        user = ui.user()
        if user is None:
            page = sign_in_navigation()
            browser_side()
        else:
            with st.sidebar:
                st.caption(t("app.signed_in_as", ui.lang(), name=ui.plain(user.name),
                             role=ui.rep_t("role." + user.role)))
                if st.button(t("app.sign_out", ui.lang()), icon=":material/logout:", key="sign_out"):
                    sign_out()
                    st.rerun()
            pages = navigation_for(user)
            page = st.navigation(list(pages))
            open_wanted_page(pages, page)
            browser_side(pages.get(page, ""))
        page.run()
    except _ControlFlow:
        raise
    except Busy as err:  # the database stayed busy outside a form's call (ui.act says it there)
        ui.show_error(err)
    except Exception as err:  # noqa: BLE001 - the error boundary of every page
        unexpected_error(err)
    finally:
        database.close()


if __name__ == "__main__":  # Streamlit runs this file as the page script (and so does AppTest)
    main()
else:  # imported by `streamlit run app.py` / `portal serve`: the server, with the cookie routes
    import session_routes  # noqa: E402

    app = st.App(__file__, routes=session_routes.routes())
