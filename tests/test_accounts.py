from datetime import datetime, timedelta, timezone

import pytest

from matching import accounts, audit
from matching.errors import AuthenticationFailed, ValidationFailed
from tests.conftest import PASSWORD

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends


def test_password_hash_is_salted_scrypt():
    first, second = accounts.hash_password("same password"), accounts.hash_password("same password")
    assert first.startswith("scrypt$") and first != second
    assert accounts.verify_password("same password", first)
    assert not accounts.verify_password("other", first)
    assert not accounts.verify_password("x", "garbage")


def test_authenticate_and_audit(db, world):
    user = accounts.authenticate(db, "REP@esdc.gc.ca ", PASSWORD)
    assert user.id == world["rep_esdc"].id
    assert audit.events(db, action="auth.sign_in")[0]["actor_id"] == user.id


@pytest.mark.parametrize("email", ["rep@esdc.gc.ca", "nobody@nowhere.ca"])
def test_failure_message_never_reveals_whether_email_exists(db, world, email):
    with pytest.raises(AuthenticationFailed) as info:
        accounts.authenticate(db, email, "wrong password")
    assert info.value.key == "auth.failed"
    assert audit.events(db, action="auth.sign_in_failed")


def test_lockout_after_five_failures_then_unlock(db, world, monkeypatch):
    now = datetime(2027, 1, 15, 12, 0, tzinfo=timezone.utc)
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            accounts.authenticate(db, "rep@esdc.gc.ca", "wrong", now=now)
    with pytest.raises(AuthenticationFailed):  # right password, but locked
        accounts.authenticate(db, "rep@esdc.gc.ca", PASSWORD, now=now + timedelta(minutes=14))
    assert audit.events(db, action="auth.locked")
    assert accounts.authenticate(db, "rep@esdc.gc.ca", PASSWORD, now=now + timedelta(minutes=16))


def test_lockout_limits_are_configurable(db, world, monkeypatch):
    monkeypatch.setenv("PORTAL_MAX_FAILED_SIGNINS", "2")
    monkeypatch.setenv("PORTAL_LOCK_MINUTES", "1")
    now = datetime(2027, 1, 15, 12, 0, tzinfo=timezone.utc)
    for _ in range(2):
        with pytest.raises(AuthenticationFailed):
            accounts.authenticate(db, "rep@esdc.gc.ca", "wrong", now=now)
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(db, "rep@esdc.gc.ca", PASSWORD, now=now + timedelta(seconds=30))
    assert accounts.authenticate(db, "rep@esdc.gc.ca", PASSWORD, now=now + timedelta(minutes=2))


def test_session_expiry(monkeypatch):
    assert not accounts.session_expired(0, 29 * 60)
    assert accounts.session_expired(0, 31 * 60)
    monkeypatch.setenv("PORTAL_SESSION_MINUTES", "5")
    assert accounts.session_expired(0, 6 * 60)


def test_change_password(db, world):
    user = world["student_a"]
    with pytest.raises(ValidationFailed) as info:
        accounts.change_password(db, user, "wrong", "a-new-long-password")
    assert info.value.errors == {"current": "auth.wrong_password"}
    with pytest.raises(ValidationFailed):
        accounts.change_password(db, user, PASSWORD, "short")
    accounts.change_password(db, user, PASSWORD, "a-new-long-password")
    assert accounts.authenticate(db, user.email, "a-new-long-password").id == user.id


def test_duplicate_email_refused(db, world):
    with pytest.raises(ValidationFailed) as info:
        accounts.create_user(db, accounts.SYSTEM, {"email": "Rep@ESDC.gc.ca", "name": "X", "role": "facilitator"},
                             "long-enough-password")
    assert info.value.errors == {"email": "validation.email_taken"}


def test_password_hash_never_in_audit(db, world):
    accounts.authenticate(db, "rep@esdc.gc.ca", PASSWORD)
    text = repr(audit.events(db))
    assert PASSWORD not in text and "scrypt$" not in text
