"""Self-service password reset (issue 13 point 5): a single-use 30-minute token stored hashed, sent
by e-mail (a real SMTP server on 127.0.0.1), the same answer whether or not the address has an
account, the account's sessions ended, and the sign-in lockout still in force."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from matching import accounts, mail, password_reset, sessions
from matching import db as storage
from matching.errors import AuthenticationFailed, ValidationFailed
from matching.i18n import t
from tests.conftest import PASSWORD, ROOT
from tests.smtp_server import html_of, smtp_server, text_of
from tests.test_backup_restore import table_dump

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

NEW = "violet-harbour-lantern-42"


def token_from(message) -> str:
    link = re.search(r"http\S+\?reset=(\S+)", text_of(message)).group(0)
    return parse_qs(urlsplit(link).query)["reset"][0]


def mailed_token(db, email) -> str:
    with smtp_server() as (server, env):
        mail.send_pending(db, mail.settings(env))
        message, = server.to(email)
    return token_from(message)


def test_the_same_answer_whether_or_not_the_address_has_an_account(db, world):
    assert password_reset.request_reset(db, "ana.lopez@sheridancollege.ca") is None
    assert password_reset.request_reset(db, "nobody@sheridancollege.ca") is None
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM password_resets").fetchone()[0] == 1
    events = db.execute("SELECT actor_email, detail FROM audit_events WHERE action = 'auth.reset_requested' "
                        "ORDER BY id").fetchall()
    assert [e[0] for e in events] == ["ana.lopez@sheridancollege.ca", "nobody@sheridancollege.ca"]
    # The limit counts the address typed, known or not: it says nothing about accounts either.
    for address in ("ana.lopez@sheridancollege.ca", "nobody@sheridancollege.ca"):
        for _ in range(2):
            password_reset.request_reset(db, address)
        with pytest.raises(ValidationFailed) as info:
            password_reset.request_reset(db, address)
        assert info.value.errors == {"email": "notify.reset.too_many"}
    with pytest.raises(ValidationFailed):
        password_reset.request_reset(db, "not an address")


def test_the_link_arrives_in_the_persons_language_and_the_token_is_stored_hashed(db, world):
    student = world["student_a"]
    accounts.set_language(db, student, "fr")
    password_reset.request_reset(db, student.email.upper())
    queued = storage.one(db, "SELECT * FROM outbox")
    with smtp_server() as (server, env):
        mail.send_pending(db, mail.settings(env))
        message, = server.messages
    assert message["To"] == student.email and message["Subject"] == t("notify.reset.subject", "fr")
    token = token_from(message)
    assert len(token) >= 40 and token in html_of(message)
    assert storage.one(db, "SELECT token_hash FROM password_resets")["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    # Once sent, the database holds no copy of the token anywhere (only its hash).
    assert token not in repr(table_dump(db)) and queued["message_id"].startswith("<secret.")
    assert password_reset.token_is_valid(db, token)


def test_a_token_works_once_and_ends_every_session(db, world):
    student = world["student_a"]
    first, second = sessions.start(db, student), sessions.start(db, student)
    assert len(sessions.open_sessions(db, student.id)) == 2 and first and second
    password_reset.request_reset(db, student.email)
    token = mailed_token(db, student.email)
    with pytest.raises(ValidationFailed) as info:
        password_reset.reset_password(db, token, "password")          # a weak one: refused, token kept
    assert set(info.value.errors) == {"new"}
    password_reset.reset_password(db, token, NEW)
    assert sessions.open_sessions(db, student.id) == []
    assert accounts.authenticate(db, student.email, NEW).id == student.id
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(db, student.email, PASSWORD)
    with pytest.raises(ValidationFailed) as info:
        password_reset.reset_password(db, token, "another-fine-password-77")
    assert info.value.errors == {"token": "notify.reset.invalid"}
    assert db.execute("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.password_reset'").fetchone()[0] == 1


def test_a_token_expires_after_thirty_minutes_and_a_newer_one_spends_the_older(db, world):
    student = world["student_a"]
    now = datetime.now(timezone.utc)
    password_reset.request_reset(db, student.email, now=now)
    token = mailed_token(db, student.email)
    assert password_reset.token_is_valid(db, token, now=now + timedelta(minutes=29))
    assert not password_reset.token_is_valid(db, token, now=now + timedelta(minutes=30, seconds=1))
    with pytest.raises(ValidationFailed):
        password_reset.reset_password(db, token, NEW, now=now + timedelta(minutes=31))
    for bad in (None, "", "x" * 500, token[:-1]):
        assert not password_reset.token_is_valid(db, bad)
    password_reset.request_reset(db, student.email, now=now)
    newer = mailed_token(db, student.email)
    password_reset.reset_password(db, newer, NEW, now=now)
    assert not password_reset.token_is_valid(db, token, now=now)      # every token of the account spent


def test_the_lockout_still_applies_after_a_reset(db, world):
    student = world["student_a"]
    for _ in range(accounts.max_failed_attempts()):
        with pytest.raises(AuthenticationFailed):
            accounts.authenticate(db, student.email, "wrong password")
    password_reset.request_reset(db, student.email)
    password_reset.reset_password(db, mailed_token(db, student.email), NEW)
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(db, student.email, NEW)                  # still locked
    later = datetime.now(timezone.utc) + timedelta(minutes=accounts.lock_minutes() + 1)
    assert accounts.authenticate(db, student.email, NEW, now=later).id == student.id


# --- The sign-in page -------------------------------------------------------------------------

def sign_in_app():
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def test_forgot_password_says_the_same_for_any_address(demo_db):
    answers = []
    for address in ("student@demo.sheridancollege.ca", "nobody@demo.sheridancollege.ca"):
        at = sign_in_app().run()
        at.text_input(key="reset_email").input(address)
        next(b for b in at.button if b.label == "Send the link").click().run()
        assert not at.exception
        answers.append([s.value for s in at.success])
    assert answers[0] == answers[1] and answers[0][0].startswith("If an account uses this address")
    assert demo_db.execute("SELECT COUNT(*) FROM outbox WHERE message_id LIKE '<secret.%'").fetchone()[0] == 1


def test_the_link_opens_the_new_password_form_and_works_once(demo_db):
    email = "student@demo.sheridancollege.ca"
    password_reset.request_reset(demo_db, email)
    token = mailed_token(demo_db, email)
    at = sign_in_app()
    at.query_params["reset"] = token
    at.run()
    assert not at.exception and "Choose a new password" in [h.value for h in at.subheader]
    at.text_input(key="reset_new").input(NEW)
    next(b for b in at.button if b.label == "Save the new password").click().run()
    assert not at.exception
    assert [s.value for s in at.success][0].startswith("Your password is changed")
    again = sign_in_app()
    again.query_params["reset"] = token
    again.run()
    assert [e.value for e in again.error][0].startswith("This link is not valid any more")
    assert accounts.authenticate(demo_db, email, NEW).email == email
