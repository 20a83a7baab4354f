"""Sign-in answers take the same time and say the same thing whether or not the e-mail exists
(no account enumeration), and the lock and session rules hold at their edges."""
from __future__ import annotations

import statistics
import time
from datetime import datetime, timedelta, timezone

import pytest

from matching import accounts, audit
from matching.errors import AuthenticationFailed
from tests.conftest import PASSWORD

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

ATTEMPTS = 15


def _seconds(db, email, password, now=None) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        accounts.authenticate(db, email, password, now=now)
        key = "ok"
    except AuthenticationFailed as err:
        key = err.key
    return time.perf_counter() - started, key


def test_unknown_and_known_emails_take_the_same_time(db, world, monkeypatch):
    monkeypatch.setenv("PORTAL_MAX_FAILED_SIGNINS", "1000000")  # measure the answer, not the lock
    samples: dict[str, list[float]] = {"known e-mail, wrong password": [], "unknown e-mail": [],
                                       "known e-mail, right password": []}
    keys = set()
    _seconds(db, "warm@up.ca", "x")  # first call pays one-off costs
    for _ in range(ATTEMPTS):  # interleaved, so a busy moment of the machine hits every group
        for group, (email, password) in (("known e-mail, wrong password", ("rep@esdc.gc.ca", "wrong password")),
                                         ("unknown e-mail", ("nobody@esdc.gc.ca", "wrong password")),
                                         ("known e-mail, right password", ("rep@esdc.gc.ca", PASSWORD))):
            seconds, key = _seconds(db, email, password)
            samples[group].append(seconds)
            if group != "known e-mail, right password":
                keys.add(key)
    assert keys == {"auth.failed"}  # the same words either way
    medians = {group: statistics.median(values) for group, values in samples.items()}
    print("\nsign-in medians (ms): " + ", ".join(f"{g} {m * 1000:.1f}" for g, m in medians.items()))
    reference = medians["unknown e-mail"]
    for group, median in medians.items():
        assert 0.7 <= median / reference <= 1.4, (group, medians)


def test_a_locked_account_answers_like_a_wrong_password(db, world):
    now = datetime(2027, 1, 15, 12, 0, tzinfo=timezone.utc)
    for _ in range(accounts.max_failed_attempts()):
        _seconds(db, "rep@esdc.gc.ca", "wrong", now=now)
    later = now + timedelta(minutes=1)
    locked, unknown, keys = [], [], set()
    for _ in range(5):  # interleaved medians: one busy moment of the machine cannot decide it
        for times, email in ((locked, "rep@esdc.gc.ca"), (unknown, "nobody@esdc.gc.ca")):
            seconds, key = _seconds(db, email, PASSWORD, now=later)
            times.append(seconds)
            keys.add(key)
    assert keys == {"auth.failed"}
    assert 0.6 <= statistics.median(locked) / statistics.median(unknown) <= 1.6  # one scrypt each
    assert audit.events(db, action="auth.sign_in_failed")[1]["detail"] == '{"reason": "locked"}'


def test_failures_count_only_until_a_successful_sign_in(db, world):
    now = datetime(2027, 1, 15, 12, 0, tzinfo=timezone.utc)
    for _ in range(accounts.max_failed_attempts() - 1):
        _seconds(db, "rep@esdc.gc.ca", "wrong", now=now)
    assert _seconds(db, "rep@esdc.gc.ca", PASSWORD, now=now)[1] == "ok"
    for _ in range(accounts.max_failed_attempts() - 1):
        _seconds(db, "rep@esdc.gc.ca", "wrong", now=now)
    assert _seconds(db, "rep@esdc.gc.ca", PASSWORD, now=now)[1] == "ok"  # never five in a row


def test_the_lock_also_refuses_single_sign_on(db, world):
    if not hasattr(accounts, "sign_in_verified_email"):
        pytest.skip("no single sign-on in this build")
    now = datetime(2027, 1, 15, 12, 0, tzinfo=timezone.utc)
    for _ in range(accounts.max_failed_attempts()):
        _seconds(db, "rep@esdc.gc.ca", "wrong", now=now)
    with pytest.raises(AuthenticationFailed):
        accounts.sign_in_verified_email(db, "rep@esdc.gc.ca", now=now + timedelta(minutes=1))
    assert accounts.sign_in_verified_email(db, "rep@esdc.gc.ca", now=now + timedelta(minutes=20)).email == "rep@esdc.gc.ca"


def test_session_expiry_edges(monkeypatch):
    minutes = accounts.session_idle_minutes()
    assert not accounts.session_expired(1000.0, 1000.0 + minutes * 60)  # exactly the limit: still in
    assert accounts.session_expired(1000.0, 1000.0 + minutes * 60 + 1)
    monkeypatch.setenv("PORTAL_SESSION_MINUTES", "not a number")
    assert accounts.session_idle_minutes() == 30  # a typo in the setting falls back to the default
