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

import json
import multiprocessing
import sqlite3
import threading
import time
from contextlib import contextmanager

import pytest

from matching import accounts, audit, challenges, pairings, teams, terms
from matching import db as storage
from matching.errors import AuthenticationFailed, Busy, PortalError, StaleRecord
from matching.i18n import t
from tests.conftest import ACCESSIBILITY, PASSWORD

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


# --- Several app servers: every read-check-write holds across processes ------------------------
#
# Each "server" is a process of its own (forked: the modules are loaded, so all start within
# milliseconds) with its own connection to the one database; a barrier releases them together.
# The writes they race on are slowed down on purpose (SLOW_WRITES: each sleeps 0.1 s in the
# database, as on a loaded server), so that without the write lock two of them would both read
# the old version before either commits: these tests fail if the lock is taken away (checked by
# hand on PostgreSQL, see docs/POSTGRES.md).

#: (table, event) that sleep SLOW_SECONDS in the database in the racing processes.
SLOW_WRITES = [("challenges", "UPDATE"), ("teams", "UPDATE"), ("terms", "UPDATE"), ("users", "UPDATE"),
               ("pairings", "INSERT"), ("outbox", "UPDATE")]
SLOW_SECONDS = 0.1
N_SERVERS = 4


@pytest.fixture
def slow_writes(db):
    """On PostgreSQL, triggers that sleep in sessions that ask for it (``portal_test.slow``);
    dropped afterwards so the test database keeps its schema. (SQLite: each process makes its
    own TEMP triggers, see :func:`_slow_down`.)"""
    if storage.dialect(db) != "postgresql":
        yield
        return
    db.execute("CREATE FUNCTION portal_test_slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               "IF current_setting('portal_test.slow', true) = 'on' THEN "
               f"PERFORM pg_sleep({SLOW_SECONDS}); END IF; "
               "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$")
    for table, event in SLOW_WRITES:
        db.execute(f"CREATE TRIGGER portal_test_slow_{table} BEFORE {event} ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION portal_test_slow()")
    yield
    for table, _ in SLOW_WRITES:
        db.execute(f"DROP TRIGGER portal_test_slow_{table} ON {table}")
    db.execute("DROP FUNCTION portal_test_slow()")


def _slow_down(database) -> None:
    """Make this connection's racing writes slow (see SLOW_WRITES)."""
    if storage.dialect(database) == "postgresql":
        database.conn.execute("SET portal_test.slow = 'on'")
        return
    database.conn.create_function("portal_test_sleep", 1, time.sleep)
    for table, event in SLOW_WRITES:
        database.execute(f"CREATE TEMP TRIGGER portal_test_slow_{table} BEFORE {event} ON main.{table} "
                         f"BEGIN SELECT portal_test_sleep({SLOW_SECONDS}); END")


def _server(target, work, index, barrier, results) -> None:
    """One app server: its own connection; ``work(database, index)``'s outcome as text."""
    database = storage.connect(target, migrate_schema=False)
    _slow_down(database)
    try:
        barrier.wait(timeout=60)
        try:
            outcome = work(database, index)
        except StaleRecord:
            outcome = "stale"
        except AuthenticationFailed:
            outcome = "refused"
        except PortalError as err:
            outcome = err.key
        except Exception as err:  # noqa: BLE001 - reported to the test, which fails on it
            outcome = f"error {type(err).__name__}: {err}"
        results.put((index, outcome))
    finally:
        database.close()


def servers(target: str, work, n: int = N_SERVERS) -> list[str]:
    """Run ``work(database, i)`` in ``n`` processes at once; their outcomes by ``i``."""
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(n), context.Queue()
    processes = [context.Process(target=_server, args=(target, work, i, barrier, results)) for i in range(n)]
    for process in processes:
        process.start()
    outcomes = dict(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0] * n
    return [outcomes[i] for i in range(n)]


def the_one_winner(outcomes: list[str]) -> int:
    """Exactly one process saved; every other one was told its version was stale."""
    assert sorted(outcomes) == ["ok"] + ["stale"] * (len(outcomes) - 1), outcomes
    return outcomes.index("ok")


def events_since(db, before: int, action: str) -> list[dict]:
    return [e for e in audit.events(db, action=action) if e["id"] > before]


def last_event_id(db) -> int:
    return db.execute("SELECT COALESCE(MAX(id), 0) FROM audit_events").fetchone()[0]


@pytest.mark.timeout(120)
def test_a_challenge_edited_on_several_servers_at_once_saves_once(db, db_target, world, slow_writes):
    rep = world["rep_esdc"]
    draft = challenges.save_draft(db, rep, ACCESSIBILITY)
    before = last_event_id(db)

    def edit(database, i):
        challenges.save_draft(database, rep, {**ACCESSIBILITY, "title": f"Title from server {i}"},
                              challenge_id=draft.id, expected_version=draft.version)
        return "ok"

    winner = the_one_winner(servers(db_target, edit))
    row = storage.one(db, "SELECT title, version FROM challenges WHERE id = ?", [draft.id])
    assert row == {"title": f"Title from server {winner}", "version": draft.version + 1}
    assert len(events_since(db, before, "challenge.save")) == 1


@pytest.mark.timeout(120)
def test_a_challenge_approved_on_several_servers_at_once_moves_once(db, db_target, world, slow_writes):
    rep, fac = world["rep_esdc"], world["facilitator"]
    draft = challenges.save_draft(db, rep, ACCESSIBILITY)
    submitted = challenges.submit(db, rep, draft.id)
    before = last_event_id(db)

    def approve_or_return(database, i):  # two facilitators approve, two send it back, same version
        if i % 2:
            challenges.return_for_changes(database, fac, draft.id, f"Comments from server {i}",
                                          expected_version=submitted.version)
        else:
            challenges.approve(database, fac, draft.id, confirm_unclassified=True,
                               expected_version=submitted.version)
        return "ok"

    winner = the_one_winner(servers(db_target, approve_or_return))
    row = storage.one(db, "SELECT status, version FROM challenges WHERE id = ?", [draft.id])
    assert row["version"] == submitted.version + 1
    assert row["status"] == ("returned" if winner % 2 else "approved")
    moves = [e for e in audit.events(db) if e["id"] > before and e["target_type"] == "challenge"]
    assert len(moves) == 1, moves


@pytest.mark.timeout(120)
def test_a_team_profile_saved_on_several_servers_at_once_saves_once(db, db_target, world, slow_writes):
    student = world["student_a"]
    team = teams.get_team(db, student, world["team_a"])
    before = last_event_id(db)

    def save(database, i):
        teams.save_team(database, student, team.id,
                        {"name": team.name, "program": f"Program {i}", "skills": team.skills,
                         "interests": team.interests, "past_work": team.past_work, "language": team.language,
                         "members": [{"name": "Ana Lopez", "email": "ana.lopez@sheridancollege.ca"}]},
                        expected_version=team.version)
        return "ok"

    winner = the_one_winner(servers(db_target, save))
    saved = teams.get_team(db, student, team.id)
    assert (saved.program, saved.version) == (f"Program {winner}", team.version + 1)
    assert len(events_since(db, before, "team.save")) == 1


@pytest.mark.timeout(120)
def test_preferences_saved_on_several_servers_at_once_are_one_list_not_a_mixture(db, db_target, world,
                                                                                 approved, slow_writes):
    student, team_id = world["student_a"], world["team_a"]
    version = storage.one(db, "SELECT preferences_version FROM teams WHERE id = ?", [team_id])["preferences_version"]
    first, second = approved["accessibility"], approved["fisheries"]
    before = last_event_id(db)

    def save(database, i):
        order = [first, second] if i % 2 else [second, first]
        teams.save_preferences(database, student, team_id,
                               [{"challenge_id": cid, "reason": f"server {i}"} for cid in order],
                               expected_version=version)
        return "ok"

    winner = the_one_winner(servers(db_target, save))
    rows = db.execute("SELECT challenge_id, rank, reason FROM preferences WHERE team_id = ? ORDER BY rank",
                      [team_id]).fetchall()
    order = [first, second] if winner % 2 else [second, first]
    assert [tuple(r) for r in rows] == [(order[0], 1, f"server {winner}"), (order[1], 2, f"server {winner}")]
    after = storage.one(db, "SELECT preferences_version FROM teams WHERE id = ?", [team_id])["preferences_version"]
    assert after == version + 1
    assert len(events_since(db, before, "preferences.save")) == 1


@pytest.fixture
def planning(db, world, approved):
    """The term in matching with a proposal: team A on fisheries, team B on accessibility."""
    fac = world["facilitator"]
    teams.save_preferences(db, world["student_a"], world["team_a"], [{"challenge_id": approved["fisheries"]}])
    terms.advance_term(db, fac, world["term"])
    pairings.run_assignment(db, fac, world["term"])
    return {**world, **approved, "fac": fac}


def proposal(db, term_id: int) -> list[tuple[int, int]]:
    return [tuple(r) for r in db.execute("SELECT team_id, challenge_id FROM pairings WHERE term_id = ? "
                                         "AND state = 'proposed' ORDER BY team_id, challenge_id", [term_id])]


@pytest.mark.timeout(120)
def test_a_plan_changed_on_several_servers_at_once_changes_once(db, db_target, planning, slow_writes):
    w = planning
    version = pairings.plan_version(db, w["term"])
    before = last_event_id(db)

    def move(database, i):  # each server moves one team onto the other challenge, same plan version
        team, challenge = (w["team_a"], w["accessibility"]) if i % 2 else (w["team_b"], w["fisheries"])
        pairings.pair(database, w["fac"], w["term"], team, challenge, f"server {i}", confirm_over_capacity=True,
                      expected_plan_version=version)
        return "ok"

    winner = the_one_winner(servers(db_target, move))
    assert pairings.plan_version(db, w["term"]) == version + 1
    expected = ([(w["team_a"], w["accessibility"]), (w["team_b"], w["accessibility"])] if winner % 2 else
                [(w["team_a"], w["fisheries"]), (w["team_b"], w["fisheries"])])
    assert proposal(db, w["term"]) == sorted(expected)
    assert len(events_since(db, before, "pairing.pair")) == 1


@pytest.mark.timeout(120)
def test_a_term_moved_on_several_servers_at_once_moves_one_step(db, db_target, world, slow_writes):
    fac, term_id = world["facilitator"], world["term"]
    term = terms.get_term(db, term_id)
    before = last_event_id(db)

    def advance(database, i):
        terms.advance_term(database, fac, term_id, expected_version=term.version)
        return "ok"

    the_one_winner(servers(db_target, advance))
    moved = terms.get_term(db, term_id)
    assert (moved.state, moved.version) == ("matching", term.version + 1)
    assert len(events_since(db, before, "term.advance")) == 1


@pytest.mark.timeout(180)
def test_wrong_passwords_spread_over_servers_lock_the_account_exactly_at_the_threshold(db, db_target, world,
                                                                                        slow_writes, monkeypatch):
    monkeypatch.setenv("PORTAL_MAX_FAILED_SIGNINS", "5")  # read by each attempt, in each process
    email, attempts_each = world["student_a"].email, 3

    def guess(database, i):
        outcomes = []
        for k in range(attempts_each):
            try:
                accounts.authenticate(database, email, f"wrong guess {i}.{k}")
                outcomes.append("signed in")
            except AuthenticationFailed:
                outcomes.append("refused")
        return ",".join(outcomes)

    outcomes = servers(db_target, guess)
    assert outcomes == [",".join(["refused"] * attempts_each)] * N_SERVERS
    user_id = world["student_a"].id
    failed = [json.loads(e["detail"])["reason"] for e in audit.events(db, action="auth.sign_in_failed")
              if e["target_id"] == str(user_id)]
    assert sorted(failed) == sorted(["password"] * 5 + ["locked"] * (N_SERVERS * attempts_each - 5))
    assert len(audit.events(db, action="auth.locked")) == 1
    assert storage.one(db, "SELECT locked_until FROM users WHERE id = ?", [user_id])["locked_until"]
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(db, email, PASSWORD)  # locked: the right password is refused too


@pytest.mark.timeout(180)
def test_two_optimiser_runs_at_once_one_wins_the_other_is_told(db, db_target, planning, slow_writes):
    w = planning
    version = pairings.plan_version(db, w["term"])
    runs = db.execute("SELECT COUNT(*) FROM assignment_runs").fetchone()[0]

    def run(database, i):
        pairings.run_assignment(database, w["fac"], w["term"], expected_plan_version=version)
        return "ok"

    the_one_winner(servers(db_target, run, n=2))
    assert pairings.plan_version(db, w["term"]) == version + 1
    assert db.execute("SELECT COUNT(*) FROM assignment_runs").fetchone()[0] == runs + 1
    assert proposal(db, w["term"]) == sorted([(w["team_a"], w["fisheries"]), (w["team_b"], w["accessibility"])])


@pytest.mark.timeout(180)
def test_two_optimiser_runs_at_once_without_a_version_are_serialised_never_mixed(db, db_target, planning,
                                                                                  slow_writes):
    """Two runs that do not name the plan version they saw (the CLI) both store, one after the
    other: the proposal is one run's, never both runs' pairs side by side."""
    w = planning
    version = pairings.plan_version(db, w["term"])
    runs = db.execute("SELECT COUNT(*) FROM assignment_runs").fetchone()[0]

    def run(database, i):
        pairings.run_assignment(database, w["fac"], w["term"])
        return "ok"

    assert servers(db_target, run, n=2) == ["ok", "ok"]
    assert pairings.plan_version(db, w["term"]) == version + 2
    assert db.execute("SELECT COUNT(*) FROM assignment_runs").fetchone()[0] == runs + 2
    assert proposal(db, w["term"]) == sorted([(w["team_a"], w["fisheries"]), (w["team_b"], w["accessibility"])])


# --- The outbox: two senders at once never send a message twice --------------------------------

def test_the_claim_clause_is_the_dialects(db):
    """The one place the dialect difference lives: SKIP LOCKED on PostgreSQL, where the claim
    also runs without the portal's write lock (a page writer holding it does not stop a claim)."""
    with storage.claim_transaction(db) as clause:
        assert clause == ("" if storage.dialect(db) == "sqlite" else " FOR UPDATE SKIP LOCKED")
        rows = list(db.query("SELECT id FROM outbox ORDER BY id LIMIT ?" + clause, [5]))
    assert rows == []


@pytest.mark.backends("postgresql")
def test_a_claim_passes_over_rows_another_sender_holds_and_ignores_the_write_lock(db, db_target):
    import psycopg

    from matching import mail, notifications
    rendered = {"subject": "Hello", "text": "Hello", "html": "<p>Hello</p>"}
    with storage.transaction(db):
        ids = [notifications.queue_email(db, recipient=f"p{i}@pco.gc.ca", language="en", rendered=rendered)
               for i in range(4)]
    with write_lock_held(db_target), psycopg.connect(db_target) as other:
        other.execute("SELECT id FROM outbox WHERE id = ANY(%s) FOR UPDATE", [ids[:2]])  # another sender's claim
        claimed = mail.claim(db)
        other.rollback()
    assert [row["id"] for row in claimed] == ids[2:]


def _queue(db, n: int) -> None:
    from matching import notifications
    with storage.transaction(db):
        for i in range(n):
            notifications.queue_email(db, recipient=f"person{i}@pco.gc.ca", language="en",
                                      rendered={"subject": f"Message {i}", "text": f"Body {i}",
                                                "html": f"<p>Body {i}</p>"})


@pytest.mark.timeout(240)
def test_two_notify_send_at_once_on_two_servers_deliver_each_message_once(db, db_target, slow_writes, tmp_path):
    """Two ``portal notify send`` processes (as cron on two servers), each run in a loop until the
    outbox is empty, against a real SMTP server: every Message-ID arrives exactly once. On
    PostgreSQL the claims' row updates are slowed (PGOPTIONS), so the two claims overlap."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tests.smtp_server import smtp_server
    n = 24
    _queue(db, n)
    go = tmp_path / "go"
    with smtp_server() as (server, env):
        env = {**os.environ, **env, "PORTAL_DB": db_target, "PGOPTIONS": "-c portal_test.slow=on"}
        # Each sender says it is ready once its modules are loaded, then waits for "go": they
        # start together however slowly this machine imports.
        script = ("import pathlib, sys, time\nfrom click.testing import CliRunner\nfrom matching.cli import main\n"
                  "pathlib.Path(sys.argv[1]).touch()\n"
                  "while not pathlib.Path(sys.argv[2]).exists(): time.sleep(0.01)\n"
                  "for _ in range(8):\n"
                  "    out = CliRunner().invoke(main, ['notify', 'send', '--limit', '4'], catch_exceptions=False).output\n"
                  "    print(out.strip(), flush=True)\n"
                  "    if out.startswith('Sent 0,') and ' 0 message(s) still waiting' in out: break\n")
        ready = [tmp_path / f"ready-{i}" for i in range(2)]
        senders = [subprocess.Popen([sys.executable, "-c", script, str(ready[i]), str(go)], env=env, cwd=ROOT,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
        deadline = time.monotonic() + 120
        while not all(r.exists() for r in ready) and time.monotonic() < deadline:
            time.sleep(0.05)
        go.touch()
        outputs = [sender.communicate(timeout=200) for sender in senders]
        assert [sender.returncode for sender in senders] == [0, 0], outputs
        delivered = [str(m["Message-ID"]) for m in server.raw]
    sent = [sum(int(line.split()[1].rstrip(",")) for line in out.splitlines() if line.startswith("Sent "))
            for out, _ in outputs]
    assert sum(sent) == n and len(delivered) == n, (sent, outputs)
    assert len(set(delivered)) == n  # every Message-ID exactly once
    stored = {row[0] for row in db.execute("SELECT message_id FROM outbox WHERE status = 'sent'").fetchall()}
    assert stored == set(delivered)
    if storage.dialect(db) == "postgresql":
        assert all(sent), sent  # both senders delivered: they claimed side by side, not in turn


# --- Connections: one per script run, from a pool on PostgreSQL --------------------------------

def backend_pid(database) -> int:
    return database.execute("SELECT pg_backend_pid()").fetchone()[0]


@pytest.mark.backends("sqlite")
def test_sqlite_opens_a_connection_per_run_even_when_asked_for_a_pooled_one(db_target):
    first = storage.connect(db_target, pooled=True)
    second = storage.connect(db_target, pooled=True)
    try:
        assert first.conn is not second.conn
    finally:
        first.close()
        second.close()


@pytest.fixture
def one_connection_pool(db_target, monkeypatch):
    """A URI of the test database with a pool of its own holding one connection, so that the
    next run is sure to get the connection the last one gave back."""
    from matching import pg
    monkeypatch.setattr(pg, "POOL_MAX", 1)
    uri = db_target + ("&" if "?" in db_target else "?") + "application_name=one-connection-pool"
    yield uri
    with pg._pools_lock:
        pool = pg._pools.pop(uri, None)
    if pool is not None:
        pool.close()


@pytest.mark.backends("postgresql")
def test_a_pooled_connection_is_reused_by_the_next_run_and_refused_after_its_own(one_connection_pool):
    from matching import pg
    first = storage.connect(one_connection_pool, pooled=True)
    pid = backend_pid(first)
    first.close()
    with pytest.raises(storage.driver(first).InterfaceError):
        first.execute("SELECT 1")  # given back: this run cannot touch it any more
    first.close()  # twice is harmless
    made = pg.pool_for(one_connection_pool, storage.BUSY_TIMEOUT_MS).get_stats()["connections_num"]
    for _ in range(5):
        run = storage.connect(one_connection_pool, pooled=True)
        assert backend_pid(run) == pid  # the same server connection, no new connect
        run.close()
    assert pg.pool_for(one_connection_pool, storage.BUSY_TIMEOUT_MS).get_stats()["connections_num"] == made


@pytest.mark.backends("postgresql")
def test_a_pooled_connection_comes_back_clean(db, one_connection_pool):
    """A run that ended inside a transaction, with session settings changed: the next run gets
    its connection out of any transaction (the write rolled back), in autocommit, with the
    portal's lock_timeout and the server's defaults for the rest."""
    run = storage.connect(one_connection_pool, pooled=True)
    pid = backend_pid(run)
    run.execute("SET deadlock_timeout = '7s'")
    run.execute("SET statement_timeout = 1234")
    run.execute("SELECT pg_advisory_lock(42)")  # a session-level lock the run forgot
    run.execute("BEGIN")
    run.execute("INSERT INTO departments (acronym, name_en, name_fr) VALUES ('LEFT', 'Left', 'Left')")
    run.close()
    following = storage.connect(one_connection_pool, pooled=True)
    try:
        assert backend_pid(following) == pid
        assert not following.in_transaction and following.conn.autocommit
        settings = dict(following.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('deadlock_timeout', 'statement_timeout', 'lock_timeout')").fetchall())
        assert settings == {"deadlock_timeout": "1000", "statement_timeout": "0",
                            "lock_timeout": str(storage.BUSY_TIMEOUT_MS)}
        assert db.execute("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM departments WHERE acronym = 'LEFT'").fetchone()[0] == 0
        with storage.transaction(following):  # and it writes as a new one would
            storage.insert(following, "departments", {"acronym": "NEXT", "name_en": "N", "name_fr": "N"})
        assert db.execute("SELECT COUNT(*) FROM departments WHERE acronym = 'NEXT'").fetchone()[0] == 1
    finally:
        following.close()


@pytest.mark.backends("postgresql")
def test_runs_at_the_same_time_get_different_connections(db_target):
    runs = [storage.connect(db_target, pooled=True) for _ in range(3)]
    try:
        assert len({backend_pid(run) for run in runs}) == 3
    finally:
        for run in runs:
            run.close()


@pytest.mark.backends("postgresql")
def test_a_pooled_connection_the_server_closed_is_replaced_unseen(db, one_connection_pool):
    run = storage.connect(one_connection_pool, pooled=True)
    pid = backend_pid(run)
    run.close()
    db.execute("SELECT pg_terminate_backend(?)", [pid])  # a server restart, an idle timeout
    time.sleep(0.2)
    following = storage.connect(one_connection_pool, pooled=True)
    try:
        assert backend_pid(following) != pid
        assert following.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 0
    finally:
        following.close()


def test_the_app_gives_its_connection_back_at_the_end_of_every_run(demo_db_path, backend):
    """app.py, run as Streamlit runs it: the run's connection is closed (SQLite) or given back
    to the pool (PostgreSQL) when the run ends: the object the run used refuses any later use."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    at.run()
    database = at.session_state["_db"]
    with pytest.raises(storage.driver(database).ProgrammingError if backend == "sqlite"
                       else storage.driver(database).InterfaceError):
        database.execute("SELECT 1")


@pytest.mark.backends("postgresql")
def test_the_connect_benchmark_runs(db_target):
    """benchmarks/pg_connect.py --smoke (the figure in docs/POSTGRES.md) against this database."""
    import subprocess
    import sys

    from tests.conftest import ROOT
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "pg_connect.py"), "--smoke", "--db", db_target],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "PostgreSQL, pooled (after)" in result.stdout and "median ms" in result.stdout


@pytest.mark.backends("postgresql")
def test_a_read_behind_a_table_lock_past_lock_timeout_is_busy_not_an_error(db, db_target, world):
    """A restore or a migration on another server holds a table: a page's plain read (autocommit)
    waits ``lock_timeout``, then is rerun, then refused with the busy sentence."""
    import psycopg
    short_lock_wait(db)
    reads = []

    def read():
        reads.append(1)
        return accounts.get_user(db, world["student_a"].id)

    with psycopg.connect(db_target) as other:
        other.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(Busy) as refused:
            storage.retrying(db, read)
        other.rollback()
    assert len(reads) == storage.CALL_ATTEMPTS and refused.value.retryable
    assert isinstance(refused.value.__cause__, psycopg.errors.LockNotAvailable)
    assert read().email == world["student_a"].email  # the connection is fine afterwards


@pytest.mark.backends("postgresql")
def test_the_app_says_busy_when_every_pooled_connection_is_lent(demo_db_path, monkeypatch):
    """A server whose pool is exhausted (every connection lent for the pool's timeout): the page
    says the busy sentence instead of an error."""
    from streamlit.testing.v1 import AppTest

    from matching import pg
    from tests.conftest import ROOT
    uri = str(demo_db_path) + "&application_name=exhausted-pool"
    monkeypatch.setenv("PORTAL_DB", uri)
    monkeypatch.setattr(pg, "POOL_MAX", 1)
    held = storage.connect(uri, pooled=True)  # another script run holds the only connection
    pg.pool_for(uri, storage.BUSY_TIMEOUT_MS).timeout = 0.3  # (not while the first one connects)
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
        assert not at.exception
        assert [e.value for e in at.error] == [t("error.busy", "en")]
        held.close()
        assert not at.run().exception and not at.error  # the next rerun gets the connection
    finally:
        held.close()
        with pg._pools_lock:
            pool = pg._pools.pop(uri, None)
        pool.close()
