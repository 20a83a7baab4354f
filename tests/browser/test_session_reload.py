"""A reload, a bookmarked address or a new tab keeps a person signed in, on the page they asked
for (issue 14.2); signing out says so, and survives a reload (14.12); a forged cookie opens
nothing; the cookie is HttpOnly and SameSite=Strict; a form page warns before typed text is
lost to a reload. In English and in French.

Uses the shared server (``streamlit run app.py``, as a person's browser would reach it) and demo
accounts no journey signs in with, so nothing here depends on run order.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import SIGN_OUT, main, sidebar, sign_in, sign_out, wait_idle

PAGE_NOT_FOUND = re.compile("Page not found", re.I)
SIGN_IN = {"en": "Sign in to the Challenge Portal", "fr": "Se connecter au Portail des défis"}
SIGNED_OUT = {"en": "You are signed out.", "fr": "Vous êtes déconnecté·e."}
MY_CHALLENGES = {"en": "My challenges", "fr": "Mes défis"}
REP = "rep.tbs@demo.gc.ca"
STUDENT = "student@demo.sheridancollege.ca"


def session_cookie(context) -> dict:
    cookies = {c["name"]: c for c in context.cookies()}
    assert "portal_session" in cookies, sorted(cookies)
    return cookies["portal_session"]


def wait_for_cookie(context, timeout: float = 10.0) -> dict:
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(c["name"] == "portal_session" for c in context.cookies()):
            return session_cookie(context)
        time.sleep(0.2)
    return session_cookie(context)


def signed_in_as(page, lang: str) -> None:
    expect(sidebar(page).get_by_role("button", name=SIGN_OUT[lang])).to_be_visible()
    expect(page.get_by_text(PAGE_NOT_FOUND)).to_have_count(0)


def open_nav(page, path: str) -> None:
    page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]').click()
    wait_idle(page)


def fresh_page(chromium, lang: str = "en"):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-CA")
    context.set_default_timeout(60_000)
    return context, context.new_page()


def test_reload_new_tab_sign_out_and_a_forged_cookie(portal, chromium):
    context, page = fresh_page(chromium)
    try:
        page.goto(portal)
        wait_idle(page)
        sign_in(page, REP, "en")
        cookie = wait_for_cookie(context)
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"
        assert cookie["path"] == "/"
        assert cookie["expires"] == -1  # a browser-session cookie; the server ends it when idle
        assert "portal_session" not in page.url and cookie["value"] not in page.url

        open_nav(page, "dept_challenges")
        assert page.url.endswith("/dept_challenges")
        expect(main(page).get_by_role("heading", name=MY_CHALLENGES["en"])).to_be_visible()

        page.reload()
        wait_idle(page)
        signed_in_as(page, "en")
        assert page.url.endswith("/dept_challenges")
        expect(main(page).get_by_role("heading", name=MY_CHALLENGES["en"])).to_be_visible()

        # The address in a new tab (a bookmark): signed in, on that page.
        second = context.new_page()
        second.goto(portal + "/account")
        wait_idle(second)
        signed_in_as(second, "en")
        expect(main(second).get_by_role("heading", name="Account", exact=True)).to_be_visible()
        # Another role's page has no address for this person: nothing of it is shown.
        second.goto(portal + "/fac_review")
        wait_idle(second)
        expect(main(second).get_by_role("heading", name=re.compile("Review", re.I))).to_have_count(0)
        second.close()

        sign_out(page, "en")
        expect(main(page).get_by_role("heading", name=SIGN_IN["en"])).to_be_visible()
        expect(main(page).get_by_text(SIGNED_OUT["en"])).to_be_visible()
        page.reload()
        wait_idle(page)
        expect(main(page).get_by_role("heading", name=SIGN_IN["en"])).to_be_visible()
        expect(main(page).get_by_text(SIGNED_OUT["en"])).to_be_visible()
        expect(sidebar(page).get_by_role("button", name=SIGN_OUT["en"])).to_have_count(0)

        # The old cookie, put back by hand, no longer opens anything (the session was ended).
        context.add_cookies([{**{k: cookie[k] for k in ("name", "value", "domain", "path")}}])
        page.goto(portal + "/dept_challenges")
        wait_idle(page)
        expect(main(page).get_by_role("heading", name=SIGN_IN["en"])).to_be_visible()
        expect(page.get_by_text(PAGE_NOT_FOUND)).to_have_count(0)
    finally:
        context.close()


def test_a_tampered_cookie_signs_nobody_in(portal, chromium):
    context, page = fresh_page(chromium)
    try:
        page.goto(portal)
        wait_idle(page)
        sign_in(page, REP, "en")
        cookie = wait_for_cookie(context)
        value = cookie["value"]
        at = len(value) - 10  # one character inside the signature (the last holds spare bits)
        forged = value[:at] + ("A" if value[at] != "A" else "B") + value[at + 1:]
        context.clear_cookies()
        context.add_cookies([{"name": "portal_session", "value": forged, "domain": cookie["domain"],
                              "path": "/"}])
        page.reload()
        wait_idle(page)
        expect(main(page).get_by_role("heading", name=SIGN_IN["en"])).to_be_visible()
        expect(sidebar(page).get_by_role("button", name=SIGN_OUT["en"])).to_have_count(0)
    finally:
        context.close()


def test_a_deep_link_signed_out_asks_to_sign_in_then_opens_that_page(portal, chromium):
    context, page = fresh_page(chromium)
    try:
        page.goto(portal + "/dept_challenges")
        wait_idle(page)
        expect(main(page).get_by_role("heading", name=SIGN_IN["en"])).to_be_visible()
        expect(page.get_by_text(PAGE_NOT_FOUND)).to_have_count(0)
        sign_in(page, REP, "en")
        expect(main(page).get_by_role("heading", name=MY_CHALLENGES["en"])).to_be_visible()
        assert page.url.endswith("/dept_challenges")
    finally:
        context.close()


def test_in_french_a_reload_keeps_the_page_and_sign_out_says_so(portal, chromium):
    context, page = fresh_page(chromium)
    try:
        page.goto(portal)
        wait_idle(page)
        sign_in(page, "rep.ssc@demo.gc.ca", "fr")
        wait_for_cookie(context)
        open_nav(page, "dept_challenges")
        expect(main(page).get_by_role("heading", name=MY_CHALLENGES["fr"])).to_be_visible()
        page.reload()
        wait_idle(page)
        signed_in_as(page, "fr")
        expect(main(page).get_by_role("heading", name=MY_CHALLENGES["fr"])).to_be_visible()
        sign_out(page, "fr")
        expect(main(page).get_by_text(SIGNED_OUT["fr"])).to_be_visible()
        page.reload()
        wait_idle(page)
        # A new browser tab starts in English until someone chooses; the message follows the choice.
        sidebar(page).get_by_role("radio", name="Français", exact=True).click()
        wait_idle(page)
        expect(main(page).get_by_role("heading", name=SIGN_IN["fr"])).to_be_visible()
        expect(main(page).get_by_text(SIGNED_OUT["fr"])).to_be_visible()
    finally:
        context.close()


def test_typed_text_on_the_challenge_form_warns_before_a_reload(portal, chromium):
    context, page = fresh_page(chromium)
    try:
        page.goto(portal)
        wait_idle(page)
        sign_in(page, REP, "en")
        wait_for_cookie(context)
        open_nav(page, "dept_challenge_form")
        dialogs = []

        def seen(dialog):
            dialogs.append(dialog.type)
            dialog.dismiss()  # stay on the page
        page.on("dialog", seen)
        page.reload()  # nothing typed: no warning
        wait_idle(page)
        assert dialogs == []
        field = main(page).get_by_role("textbox").first
        field.click()
        page.keyboard.type("Half-written problem statement")
        try:
            page.reload(timeout=3_000)
        except Exception:  # noqa: BLE001 - dismissed: the reload does not happen
            pass
        assert dialogs == ["beforeunload"]
        expect(main(page).get_by_role("textbox").first).to_have_value("Half-written problem statement")
    finally:
        context.close()
