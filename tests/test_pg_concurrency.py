"""Concurrency with several app servers on one database (issue 15.3), on PostgreSQL and SQLite.

Every portal write transaction takes one write lock (``BEGIN IMMEDIATE`` on SQLite, one
transaction-level advisory lock on PostgreSQL: docs/POSTGRES.md), so every read-check-write of
the domain sees the latest commit and nobody commits meanwhile. These tests prove it with real
processes, each with its own connection (as separate app servers), and prove that what the
database may still answer in the middle of a transaction (a deadlock, a lock wait past
``lock_timeout``) is retried a bounded number of times and then said as one clear sentence.

Nothing is mocked: the lock waits, deadlocks and conflicts are provoked for real.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager

import pytest

from matching import accounts, teams
from matching import db as storage
from matching.errors import Busy, PortalError
from matching.i18n import t

pytestmark = pytest.mark.backends("sqlite", "postgresql")


# --- Helpers ---------------------------------------------------------------------------------

@contextmanager
def write_lock_held(target: str):
    """Another server's writer, holding the portal's write lock until the block ends (a raw
    connection: ``BEGIN IMMEDIATE`` on SQLite, the advisory lock on PostgreSQL)."""
    if storage.is_postgres_uri(target):
        import psycopg

        from matching.pg import WRITE_LOCK_KEY
        conn = psycopg.connect(target, autocommit=True)
        conn.execute("BEGIN")
        conn.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
    else:
        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def short_lock_wait(db, ms: int = 100) -> None:
    """Make ``db`` give up a lock wait after ``ms`` (instead of 10 s) so that a test is quick."""
    if storage.dialect(db) == "postgresql":
        db.conn.execute(f"SET lock_timeout = {int(ms)}")
    else:
        db.conn.execute(f"PRAGMA busy_timeout = {int(ms)}")


def stored_language(db, user_id: int) -> str:
    return storage.one(db, "SELECT language FROM users WHERE id = ?", [user_id])["language"]


# --- The busy path: bounded retries, then one clear sentence -----------------------------------

def test_a_write_lock_held_past_every_retry_refuses_clearly_and_changes_nothing(db, db_target, world, monkeypatch):
    monkeypatch.setattr(storage, "LOCK_RETRIES", 2)
    short_lock_wait(db)
    user = accounts.get_user(db, world["student_a"].id)
    with write_lock_held(db_target):
        started = time.monotonic()
        with pytest.raises(Busy) as refused:
            accounts.set_language(db, user, "fr")
        waited = time.monotonic() - started
    assert waited >= 3 * 0.1  # three waits of the lock timeout: the first try and two retries
    assert not refused.value.retryable  # the lock was waited for through every retry already
    assert isinstance(refused.value, PortalError) and refused.value.key == "error.busy"
    assert "try again" in t("error.busy", "en") and "réessayer" in t("error.busy", "fr")
    assert stored_language(db, user.id) == "en"
    # The connection is usable right after, and the same call works once the lock is free.
    assert accounts.set_language(db, user, "fr").language == "fr"
    assert stored_language(db, user.id) == "fr"


def test_a_write_lock_freed_during_the_retries_lets_the_call_through(db, db_target, world, monkeypatch):
    short_lock_wait(db, 200)
    user = accounts.get_user(db, world["student_a"].id)
    with write_lock_held(db_target) as holder:
        releaser = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
        releaser.start()
        try:
            assert accounts.set_language(db, user, "fr").language == "fr"
        finally:
            releaser.join()
        holder.execute("BEGIN")  # so that the block's ROLLBACK has a transaction to end
    assert stored_language(db, user.id) == "fr"


@pytest.mark.backends("postgresql")
def test_a_row_lock_wait_past_lock_timeout_is_rerun_then_refused_as_busy(db, db_target, world):
    """Another session (not a portal writer: no write lock) holds a team's row: the portal's
    save waits past ``lock_timeout`` *inside* its transaction (LockNotAvailable), the whole call
    is rerun ``CALL_ATTEMPTS`` times with back-off, then refused with the busy sentence."""
    import psycopg
    short_lock_wait(db)
    student = accounts.get_user(db, world["student_a"].id)
    team = teams.get_team(db, student, world["team_a"])
    data = {"name": team.name, "program": "Changed", "skills": team.skills, "interests": team.interests,
            "past_work": team.past_work, "language": team.language, "members": []}
    calls = []

    def save():
        calls.append(time.monotonic())
        return teams.save_team(db, student, team.id, data, expected_version=team.version)

    with psycopg.connect(db_target) as other:  # a transaction until the block ends
        other.execute("SELECT 1 FROM teams WHERE id = %s FOR UPDATE", [team.id])
        with pytest.raises(Busy) as refused:
            storage.retrying(db, save)
        other.rollback()
    assert len(calls) == storage.CALL_ATTEMPTS
    assert refused.value.retryable
    assert isinstance(refused.value.__cause__, psycopg.errors.LockNotAvailable)
    assert not db.in_transaction
    assert teams.get_team(db, student, team.id).program == team.program  # nothing saved
    assert storage.retrying(db, save).program == "Changed"  # and it works once the row is free


@pytest.mark.backends("postgresql")
def test_a_real_deadlock_is_rolled_back_and_the_whole_call_rerun(db, db_target, world):
    """A deadlock between the portal's transaction and another session: PostgreSQL cancels the
    portal's (its deadlock check runs first), the call is rerun and succeeds; the other session's
    write stands too. Nothing reaches the caller. (Users' rows: a write to a ranked table would
    also queue on the data-version row, and the two would wait in line instead of in a cycle.)"""
    import psycopg
    db.conn.execute("SET deadlock_timeout = '100ms'")  # the portal's side detects the cycle first
    a, b = world["student_a"].id, world["student_b"].id
    other = psycopg.connect(db_target)
    other.execute("SET deadlock_timeout = '10s'")
    other.execute("UPDATE users SET name = 'other' WHERE id = %s", [a])  # holds user A's row
    b_locked = threading.Event()
    causes, errors = [], []

    def work():
        try:
            with storage.transaction(db):
                db.execute("UPDATE users SET language = 'fr' WHERE id = ?", [b])
                b_locked.set()
                db.execute("UPDATE users SET language = 'fr' WHERE id = ?", [a])  # waits for the other
        except Busy as err:
            causes.append(err.__cause__)
            raise
        causes.append(None)

    def other_side():
        try:
            b_locked.wait(10)
            time.sleep(0.05)  # the portal is waiting for A by now
            other.execute("UPDATE users SET name = 'other' WHERE id = %s", [b])  # the cycle
            other.commit()
        except Exception as err:  # noqa: BLE001 - reported by the test
            errors.append(err)
            other.rollback()

    thread = threading.Thread(target=other_side)
    thread.start()
    storage.retrying(db, work)
    thread.join(10)
    other.close()
    assert errors == []
    assert [type(cause) for cause in causes] == [psycopg.errors.DeadlockDetected, type(None)]  # then the rerun
    rows = db.execute("SELECT name, language FROM users WHERE id IN (?, ?) ORDER BY id", [a, b]).fetchall()
    assert rows == [("other", "fr"), ("other", "fr")]


def busy_page():
    """A form whose save meets a write lock held through every retry (another server's writer)."""
    import streamlit as st

    import ui
    from matching import accounts
    from matching import db as storage
    if st.button("Save", key="save"):
        database = storage.connect()
        st.session_state["_db"] = database
        if storage.dialect(database) == "postgresql":
            database.conn.execute("SET lock_timeout = 100")
        else:
            database.conn.execute("PRAGMA busy_timeout = 100")
        user = accounts.get_user(database, st.session_state["user_id"])
        try:
            ui.act(lambda: accounts.set_language(database, user, "fr"), page="busy", success=lambda _: ("x", {}))
        finally:
            database.close()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_person_reads_the_busy_sentence_in_their_language_not_a_traceback(db, db_target, world, monkeypatch, lang):
    from streamlit.testing.v1 import AppTest
    monkeypatch.setattr(storage, "LOCK_RETRIES", 1)
    at = AppTest.from_function(busy_page, default_timeout=30)
    at.session_state["lang"] = lang
    at.session_state["user_id"] = world["student_a"].id
    at.run()
    with write_lock_held(db_target):
        at.button(key="save").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("error.busy", lang)]
    assert stored_language(db, world["student_a"].id) == "en"


def test_a_call_that_already_committed_is_not_rerun(db, world):
    """A rerun would do the committed part twice: a Busy after a commit goes up at once."""
    calls = []

    def two_steps():
        calls.append(1)
        with storage.transaction(db):
            db.execute("UPDATE teams SET program = program || '+' WHERE id = ?", [world["team_a"]])
        raise Busy(retryable=True)  # as a second transaction's deadlock would

    with pytest.raises(Busy):
        storage.retrying(db, two_steps)
    assert len(calls) == 1


def test_a_cli_command_on_a_busy_database_ends_with_the_sentence(db_target, world, monkeypatch):
    from click.testing import CliRunner

    from matching.cli import main as cli
    monkeypatch.setattr(storage, "LOCK_RETRIES", 1)
    monkeypatch.setattr(storage, "BUSY_TIMEOUT_MS", 100)
    with write_lock_held(db_target):
        result = CliRunner().invoke(cli, ["--db", db_target, "create-user", "--email", "new@pco.gc.ca",
                                          "--name", "New", "--role", "facilitator", "--password", "Tundra-Kettle-Orbit-93"])
    assert result.exit_code == 1, result.output
    assert t("error.busy", "en") in result.output
    assert not isinstance(result.exception, Busy)  # a clean click error, no traceback
