"""Server-side sessions (issue 14.2) and the change-password form (14.6).

The cookie's way into the browser is tested through the real routes (Starlette's TestClient on
the ``session_routes`` app); what a person sees in a real browser is tests/browser/test_session_reload.py.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

import session_routes
from matching import accounts, demo, i18n, sessions
from matching import db as storage
from matching.errors import ValidationFailed
from tests.conftest import PASSWORD, ROOT

APP = str(ROOT / "app.py")
BOTH = pytest.mark.backends("sqlite", "postgresql")
T0 = datetime(2027, 1, 15, 9, 0, tzinfo=timezone.utc)
NEW_PASSWORD = "marble-tundra-lantern-9"


def opened(db, user, now=T0) -> tuple[int, str]:
    """A session as a browser gets it: started at sign-in, its code redeemed for the cookie."""
    started = sessions.start(db, user, now=now)
    cookie = sessions.redeem(db, started.handoff_code, now=now + timedelta(seconds=2))
    assert cookie
    return started.session_id, cookie


@BOTH
def test_only_the_hash_of_the_secret_and_of_the_code_is_stored(db, world):
    started = sessions.start(db, world["rep_esdc"], now=T0)
    row = storage.one(db, "SELECT * FROM sessions WHERE id = ?", [started.session_id])
    assert row["handoff_hash"] == hashlib.sha256(started.handoff_code.encode()).hexdigest()
    assert started.handoff_code not in str(row)
    cookie = sessions.redeem(db, started.handoff_code, now=T0)
    secret = sessions.unsign(cookie, sessions.signing_key(db))
    row = storage.one(db, "SELECT * FROM sessions WHERE id = ?", [started.session_id])
    assert row["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    dump = "\n".join(str(row) for table in db.table_names() for row in db.query(f"SELECT * FROM [{table}]"))
    assert secret not in dump and cookie not in dump and started.handoff_code not in dump
    assert row["handoff_hash"] is None  # the code is used up


@BOTH
def test_a_cookie_restores_its_user_and_refreshes_the_idle_clock(db, world, monkeypatch):
    monkeypatch.setenv("PORTAL_SESSION_MINUTES", "30")
    session_id, cookie = opened(db, world["student_a"])
    restored, why = sessions.restore(db, cookie, now=T0 + timedelta(minutes=29))
    assert why == "" and restored.user.id == world["student_a"].id and restored.session_id == session_id
    # 29 minutes later again: still open, because the last request moved the clock.
    restored, why = sessions.restore(db, cookie, now=T0 + timedelta(minutes=58))
    assert restored is not None, why


@BOTH
def test_idle_expiry_ends_the_session_for_good(db, world, monkeypatch):
    monkeypatch.setenv("PORTAL_SESSION_MINUTES", "30")
    session_id, cookie = opened(db, world["student_a"])
    assert sessions.restore(db, cookie, now=T0 + timedelta(minutes=30))[0] is not None  # exactly the limit
    restored, why = sessions.restore(db, cookie, now=T0 + timedelta(minutes=61))
    assert (restored, why) == (None, "idle")
    assert sessions.restore(db, cookie, now=T0 + timedelta(minutes=62)) == (None, "idle")  # ended, stays ended
    row = storage.one(db, "SELECT revoked_reason FROM sessions WHERE id = ?", [session_id])
    assert row["revoked_reason"] == "idle"
    assert storage.one(db, "SELECT * FROM audit_events WHERE action = 'auth.session_ended'")["reason"] == "idle"


@BOTH
def test_a_tampered_or_foreign_cookie_opens_nothing(db, world):
    _, cookie = opened(db, world["rep_esdc"])
    secret, signature = cookie.rsplit(".", 1)
    # A character inside the signature (the last one of unpadded base64 holds spare bits too).
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    assert sessions.restore(db, secret + "." + flipped) == (None, "tampered")
    assert sessions.restore(db, "x" + cookie) == (None, "tampered")
    assert sessions.restore(db, secret) == (None, "tampered")  # unsigned
    other_key = sessions.sign(secret, "another portal's key")
    assert sessions.restore(db, other_key) == (None, "tampered")
    # Correctly signed but never issued (someone who knows the key still needs a live secret).
    assert sessions.restore(db, sessions.sign("guessed", sessions.signing_key(db))) == (None, "unknown")
    assert sessions.restore(db, "") == (None, "")


@BOTH
def test_the_one_time_code_works_once_and_only_for_a_minute(db, world):
    started = sessions.start(db, world["rep_esdc"], now=T0)
    assert sessions.redeem(db, started.handoff_code, now=T0 + timedelta(seconds=61)) is None
    assert sessions.redeem(db, started.handoff_code, now=T0) is None  # burnt by the late try
    started = sessions.start(db, world["rep_esdc"], now=T0)
    assert sessions.redeem(db, started.handoff_code, now=T0)
    assert sessions.redeem(db, started.handoff_code, now=T0) is None
    assert sessions.redeem(db, "made-up", now=T0) is None


@BOTH
def test_sign_out_ends_the_session(db, world):
    user = world["rep_esdc"]
    session_id, cookie = opened(db, user)
    accounts.sign_out(db, user, session_id=session_id)
    assert sessions.restore(db, cookie, now=T0) == (None, "sign_out")
    assert sessions.check(db, session_id, now=T0) == (None, "sign_out")


@pytest.mark.backends("sqlite", reason="removes a user row by hand with foreign keys off, as an operator might")
def test_a_deleted_or_demoted_account_ends_its_sessions(db, world):
    expert = world["expert"]
    _, cookie = opened(db, expert)
    with storage.transaction(db):
        db.execute("UPDATE users SET role = 'student' WHERE id = ?", [expert.id])
    assert sessions.restore(db, cookie, now=T0) == (None, "role_changed")
    rep = world["rep_dfo"]
    session_id, cookie = opened(db, rep)
    db.execute("PRAGMA foreign_keys = OFF")  # as if the row were removed by hand, sessions left behind
    with storage.transaction(db):
        db.execute("DELETE FROM users WHERE id = ?", [rep.id])
    db.execute("PRAGMA foreign_keys = ON")
    assert sessions.restore(db, cookie, now=T0) == (None, "account_gone")


@BOTH
def test_revoke_sessions_keeps_only_the_one_named(db, world):
    user = world["facilitator"]
    here, _ = opened(db, user)
    _, elsewhere = opened(db, user)
    _, phone = opened(db, user)
    other_user, _ = opened(db, world["expert"])
    assert sessions.revoke_sessions(db, user.id, keep=here, reason="password_reset") == 2
    assert [s["id"] for s in sessions.open_sessions(db, user.id)] == [here]
    assert sessions.restore(db, elsewhere, now=T0)[1] == "password_reset"
    assert sessions.restore(db, phone, now=T0)[1] == "password_reset"
    assert sessions.check(db, other_user, now=T0)[0] is not None
    event = storage.one(db, "SELECT * FROM audit_events WHERE action = 'auth.sessions_revoked'")
    assert event["target_id"] == str(user.id) and '"count": 2' in event["detail"]
    assert sessions.revoke_sessions(db, user.id) == 1  # keep=None: every one


@BOTH
def test_changing_the_password_ends_every_other_session(db, world):
    user = world["student_b"]
    here, _ = opened(db, user)
    _, elsewhere = opened(db, user)
    ended = accounts.change_password(db, user, PASSWORD, NEW_PASSWORD, NEW_PASSWORD, session_id=here)
    assert ended == 1
    assert sessions.restore(db, elsewhere, now=T0)[0] is None
    assert sessions.check(db, here, now=T0)[0] is not None


@BOTH
def test_change_password_refuses_the_current_one_and_a_mismatched_confirmation(db, world):
    user = world["student_b"]
    with pytest.raises(ValidationFailed) as info:
        accounts.change_password(db, user, PASSWORD, PASSWORD, PASSWORD)
    assert info.value.errors == {"new": "validation.password_reused"}
    with pytest.raises(ValidationFailed) as info:  # the stored password, even with "current" mistyped
        accounts.change_password(db, user, "not-my-password", PASSWORD, PASSWORD)
    assert info.value.errors == {"current": "auth.wrong_password", "new": "validation.password_reused"}
    with pytest.raises(ValidationFailed) as info:
        accounts.change_password(db, user, PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x")
    assert info.value.errors == {"confirm": "validation.password_confirm_mismatch"}
    assert accounts.authenticate(db, user.email, PASSWORD).id == user.id  # unchanged


# --- the routes that set and expire the cookie ---------------------------------------------

@pytest.fixture
def client(db):
    with TestClient(Starlette(routes=session_routes.routes()), base_url="http://portal.test") as c:
        yield c


SAME_ORIGIN = {"Origin": "http://portal.test", "Sec-Fetch-Site": "same-origin"}


def test_the_route_sets_an_httponly_strict_cookie_for_a_valid_code_only(db, world, client):
    started = sessions.start(db, world["rep_esdc"])
    refused = client.post("/_portal/session", json={"code": started.handoff_code},
                          headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403 and "set-cookie" not in refused.headers
    assert client.post("/_portal/session", json={"code": started.handoff_code}).status_code == 403  # no Origin
    answer = client.post("/_portal/session", json={"code": started.handoff_code}, headers=SAME_ORIGIN)
    assert answer.status_code == 200
    header = [h for h in answer.headers.get_list("set-cookie") if h.startswith("portal_session=")][0]
    assert "HttpOnly" in header and "SameSite=strict" in header and "Path=/" in header
    assert "Max-Age" not in header and "expires" not in header.lower()
    value = header.split(";")[0].split("=", 1)[1].strip('"')
    assert sessions.restore(db, value)[0].user.id == world["rep_esdc"].id
    again = client.post("/_portal/session", json={"code": started.handoff_code}, headers=SAME_ORIGIN)
    assert again.status_code == 400 and "portal_session=" not in again.headers.get("set-cookie", "")
    assert client.post("/_portal/session", content=b"not json", headers=SAME_ORIGIN).status_code == 400


def test_the_end_route_ends_the_session_and_leaves_a_signed_out_marker(db, world, client):
    started = sessions.start(db, world["rep_esdc"])
    client.post("/_portal/session", json={"code": started.handoff_code}, headers=SAME_ORIGIN)
    cookie = client.cookies.get("portal_session")
    answer = client.post("/_portal/session/end", headers=SAME_ORIGIN)
    assert answer.status_code == 200
    headers = answer.headers.get_list("set-cookie")
    assert any(h.startswith("portal_session=") and "Max-Age=0" in h for h in headers)
    assert any(h.startswith("portal_signed_out=1") and "HttpOnly" in h for h in headers)
    assert sessions.restore(db, cookie.strip('"'))[0] is None


# --- pages (AppTest: no cookies, so a sign-in lasts as long as the AppTest session) ---------

def sign_in(at, email, lang="en"):
    at.session_state["lang"] = lang
    at.run()
    at.text_input(key="signin_email").input(email)
    at.text_input(key="signin_password").input(demo.DEMO_PASSWORD)
    at.button(key="FormSubmitter:sign_in-" + i18n.t("signin.submit", lang)).click().run()
    assert not at.exception, at.exception


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_sign_in_opens_a_server_session_and_sign_out_says_so(demo_db, lang):
    at = AppTest.from_file(APP, default_timeout=60)
    sign_in(at, "rep@demo.gc.ca", lang)
    session_id = at.session_state["session_id"]
    user = accounts.find_user(demo_db, "rep@demo.gc.ca")
    assert [s["id"] for s in sessions.open_sessions(demo_db, user.id)][-1] == session_id
    assert at.session_state["handoff_code"]  # waiting for the browser to fetch its cookie
    at.button(key="sign_out").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == i18n.t("signin.title", lang)
    assert i18n.t("session.signed_out", lang) in [i.value for i in at.info]
    assert session_id not in [s["id"] for s in sessions.open_sessions(demo_db, user.id)]


def test_a_session_ended_elsewhere_signs_this_tab_out(demo_db):
    at = AppTest.from_file(APP, default_timeout=60)
    sign_in(at, "rep@demo.gc.ca")
    user = accounts.find_user(demo_db, "rep@demo.gc.ca")
    sessions.revoke_sessions(demo_db, user.id, reason="password_changed")  # e.g. changed in another browser
    at.run()
    assert at.title[0].value == i18n.t("signin.title", "en")
    assert i18n.t("session.signed_out", "en") in [i.value for i in at.info]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_an_idle_server_session_ends_with_the_expiry_message(demo_db, lang, monkeypatch):
    monkeypatch.setenv("PORTAL_SESSION_MINUTES", "30")
    at = AppTest.from_file(APP, default_timeout=60)
    sign_in(at, "facilitator@demo.gc.ca", lang)
    session_id = at.session_state["session_id"]
    long_ago = (datetime.now(timezone.utc) - timedelta(minutes=31)).replace(microsecond=0).isoformat()
    with storage.transaction(demo_db):
        demo_db.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ?", [long_ago, session_id])
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == i18n.t("signin.title", lang)
    assert i18n.t("signin.expired", lang) in [i.value for i in at.info]
    row = storage.one(demo_db, "SELECT revoked_reason FROM sessions WHERE id = ?", [session_id])
    assert row["revoked_reason"] == "idle"


def account_page(demo_db, email, lang):
    at = AppTest.from_file(APP, default_timeout=60)
    sign_in(at, email, lang)
    at.switch_page("views/account.py").run()
    assert not at.exception, at.exception
    return at


def save(at, lang, current, new, confirm):
    at.text_input(key="pw_current").input(current)
    at.text_input(key="pw_new").input(new)
    at.text_input(key="pw_confirm").input(confirm)
    next(b for b in at.button if b.label == i18n.t("account.save_password", lang)).click().run()
    assert not at.exception, at.exception


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_change_password_page_confirmation_then_success_alone_with_fields_cleared(demo_db, lang):
    email = "expert@demo.gc.ca"
    other_here, other_cookie = opened(demo_db, accounts.find_user(demo_db, email), now=datetime.now(timezone.utc))
    at = account_page(demo_db, email, lang)
    save(at, lang, demo.DEMO_PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!")
    errors = [e.value for e in at.error]
    assert errors == [i18n.t("validation.password_confirm_mismatch", lang)]
    assert at.text_input(key="pw_new").value == NEW_PASSWORD  # nothing typed is lost on a refusal
    save(at, lang, demo.DEMO_PASSWORD, demo.DEMO_PASSWORD, demo.DEMO_PASSWORD)
    assert [e.value for e in at.error] == [i18n.t("validation.password_reused", lang)]
    save(at, lang, demo.DEMO_PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    assert [e.value for e in at.error] == []  # the old problem is gone with the success
    assert [s.value for s in at.success] == [i18n.t("account.password_changed", lang) + " "
                                             + i18n.t("account.other_sessions_ended", lang)]
    assert [at.text_input(key=k).value for k in ("pw_current", "pw_new", "pw_confirm")] == ["", "", ""]
    assert accounts.authenticate(demo_db, email, NEW_PASSWORD).email == email
    assert sessions.restore(demo_db, other_cookie)[0] is None  # the other browser is signed out
    assert sessions.check(demo_db, at.session_state["session_id"])[0] is not None  # this one is not
    del other_here
