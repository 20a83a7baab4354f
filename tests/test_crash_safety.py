"""A process killed (SIGKILL) in the middle of a long multi-row operation leaves the database
exactly as it was before the operation: every table, row for row.

The crash point is deterministic: the child process counts the writing statements its
connection runs (an sqlite3 trace callback) and kills itself with SIGKILL just before the N-th
one, or just before the ``COMMIT``. For each operation the parent first runs it to completion
on a copy to count its writes (and to prove that, uninterrupted, it does change the database),
then tries crash points spread from the first write to the commit.

On PostgreSQL (issue 15.5) the child wraps its connection's ``execute``, ``insert_returning_id``
and ``commit`` instead (psycopg has no trace hook) and the same demo-data operations are killed;
the server rolls the dead connection's transaction back, and its write lock is free again for
the next child.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import sqlite3
from pathlib import Path

import pytest

from matching import accounts, challenges, demo, pairings, teams, terms
from matching import db as storage
from tests.test_backup_restore import table_dump

SYSTEM = accounts.SYSTEM
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
#: The demo load hashes ~100 passwords before its transaction; the crash is about the
#: transaction, so the children hash with a cheap cost instead of waiting seconds each.
CHEAP_SCRYPT_N = 2 ** 4


# --- The operations, each given a prepared database ----------------------------------------

def _term_id(db) -> int:
    return db.execute("SELECT id FROM terms ORDER BY id DESC LIMIT 1").fetchone()[0]


def op_load_demo(db):
    demo.load_demo(db)


def op_run_assignment(db):
    pairings.run_assignment(db, SYSTEM, _term_id(db))


def op_publish(db):
    pairings.publish(db, SYSTEM, _term_id(db))


def op_save_team(db):
    team = db.execute("SELECT id FROM teams ORDER BY id LIMIT 1").fetchone()[0]
    teams.save_team(db, SYSTEM, team, {
        "name": "Renamed after a crash test", "skills": ["research"], "interests": ["services"],
        "members": [{"name": f"Person {i}", "email": f"person{i}@sheridancollege.ca"} for i in range(6)]})


def op_bulk_approve(db):
    submitted = [r[0] for r in db.execute("SELECT id FROM challenges WHERE status = 'submitted' ORDER BY id")]
    challenges.bulk_approve(db, SYSTEM, submitted, confirm_unclassified=True)


def op_purge_term(db):
    from matching import maintenance
    maintenance.purge_term(db, SYSTEM, _term_id(db))


def op_import(db):
    from matching import importexport
    rows = [{"name": f"Imported team {i}", "program": "Design", "year": "2", "skills": "research; mapping",
             "members": f"Person {i} <person{i}@sheridancollege.ca>"} for i in range(150)]
    importexport.commit(db, SYSTEM, "teams", rows, term_id=_term_id(db))   # the demo has two open terms


OPERATIONS = {name[3:]: fn for name, fn in globals().items() if name.startswith("op_")}


# --- Preparing the database each operation starts from -------------------------------------

def _advance_to(db, state: str) -> None:
    term = terms.default_term(db)
    while term.state != state:  # the operator moves it on without publishing: an audited override
        term = terms.advance_term(db, SYSTEM, term.id, override=True, reason="crash test set-up")


def prepare(name: str, path: Path, demo_template: Path) -> None:
    if name == "load_demo":  # a database already in use: one account, its audit events
        db = storage.connect(path)
        accounts.create_user(db, SYSTEM, {"email": "fac@pco.gc.ca", "name": "Fac", "role": "facilitator"},
                             "long-enough-password")
        db.close()
        return
    shutil.copy(demo_template, path)
    db = storage.connect(path)
    prepare_data(name, db)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def prepare_data(name: str, db) -> None:
    """Bring a copy of the demo data to where operation ``name`` starts (either backend)."""
    if name in ("run_assignment", "publish"):
        _advance_to(db, "matching")
        from matching import feedback
        feedback.create_round(db, SYSTEM, _term_id(db), "Midterm", "2027-03-01")
        if name == "publish":
            pairings.run_assignment(db, SYSTEM, _term_id(db))
    if name == "purge_term":
        prefs = [r[0] for r in db.execute("SELECT id FROM challenges WHERE status = 'approved' LIMIT 3")]
        team = db.execute("SELECT id FROM teams ORDER BY id LIMIT 1").fetchone()[0]
        with storage.transaction(db):  # a reason that names someone, for the purge to erase
            for rank, c in enumerate(prefs, start=1):
                storage.insert(db, "preferences", {"team_id": team, "challenge_id": c, "rank": rank,
                                                   "reason": "Ana knows this one"})
        _advance_to(db, "closed")


# --- Child process -------------------------------------------------------------------------

def _run_and_die(path: str, name: str, kill_at) -> None:
    """Run operation ``name``; SIGKILL ourselves before write number ``kill_at`` or the COMMIT."""
    accounts.SCRYPT_N = CHEAP_SCRYPT_N
    db = storage.connect(path)
    writes = 0

    def hook(statement: str) -> None:
        nonlocal writes
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if verb in WRITES:
            writes += 1
            if writes == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
        elif verb == "COMMIT" and kill_at == "COMMIT":
            os.kill(os.getpid(), signal.SIGKILL)

    db.conn.set_trace_callback(hook)
    OPERATIONS[name](db)
    os._exit(3)  # reaching here means no crash happened: the parent treats it as a failure


def _count_writes(path: Path, name: str) -> int:
    accounts.SCRYPT_N, saved = CHEAP_SCRYPT_N, accounts.SCRYPT_N
    try:
        return _count(path, name)
    finally:
        accounts.SCRYPT_N = saved


def _count(path: Path, name: str) -> int:
    db = storage.connect(path)
    counted = []
    db.conn.set_trace_callback(lambda s: counted.append(1) if s.strip() and s.split(None, 1)[0].upper() in WRITES else None)
    OPERATIONS[name](db)
    db.close()
    return len(counted)


def _crash_points(n_writes: int, how_many: int) -> list:
    spread = sorted({1, n_writes, *(1 + (n_writes - 1) * k // (how_many - 1) for k in range(how_many))})
    return [*spread, "COMMIT"]


#: operation -> number of crash points spread over its writes (plus one just before COMMIT)
PLAN = {"import": 4, "load_demo": 8, "publish": 4, "run_assignment": 3, "save_team": 3, "bulk_approve": 3, "purge_term": 4}


@pytest.fixture(scope="module")
def context():
    """A fork server started with a plain ``__main__`` (after an AppTest it would be app.py)."""
    import sys
    import types
    main, sys.modules["__main__"] = sys.modules["__main__"], types.ModuleType("__main__")
    try:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["matching.importexport", "matching.pairings", "matching.demo",
                                    "matching.maintenance", "tests.test_crash_safety"])
        from multiprocessing import forkserver
        forkserver.ensure_running()
    finally:
        sys.modules["__main__"] = main
    return ctx



@pytest.mark.sqlite_only("counts writes with sqlite3's trace callback and copies SQLite database files")
@pytest.mark.parametrize("name", sorted(PLAN))
def test_a_killed_operation_leaves_the_database_as_before(name, tmp_path, demo_template, context):
    base = tmp_path / "base.db"
    prepare(name, base, demo_template)
    before = table_dump(base)
    completed = tmp_path / "completed.db"
    shutil.copy(base, completed)
    n_writes = _count_writes(completed, name)
    assert n_writes >= 3 and table_dump(completed) != before  # uninterrupted, it does change things
    tried = []
    for kill_at in _crash_points(n_writes, PLAN[name]):
        victim = tmp_path / f"victim-{kill_at}.db"
        shutil.copy(base, victim)
        child = context.Process(target=_run_and_die, args=(str(victim), name, kill_at))
        child.start()
        child.join(120)
        assert child.exitcode == -signal.SIGKILL, f"{name} at {kill_at}: exit code {child.exitcode}"
        assert Path(str(victim) + "-wal").exists()  # the child really had begun writing
        conn = sqlite3.connect(victim)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        assert table_dump(victim) == before, f"{name} killed before write {kill_at} of {n_writes}"
        tried.append(kill_at)
    # After the crash, the same operation runs to completion on the surviving database.
    survivor = storage.connect(victim)
    OPERATIONS[name](survivor)
    survivor.close()
    after = table_dump(victim)
    assert after != before and [len(rows) for rows in after.values()] == [len(rows) for rows in table_dump(completed).values()]
    print(f"\ncrash: {name}: {n_writes} writes, killed at {tried}")


@pytest.mark.sqlite_only("SQLite's max_page_count stands for a full disk; PostgreSQL has no per-database limit to set")
def test_a_full_disk_is_reported_as_such_and_nothing_is_half_written(db, world):
    """SQLite rolls back by itself when the disk is full; the error people see must say so."""
    before = table_dump(db)
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages + 3}")  # room for a few pages only
    big = {"name": "Access Crew", "past_work": "x" * 4000,
           "members": [{"name": f"Person {i}", "email": f"p{i}@sheridancollege.ca"} for i in range(6)]}
    with pytest.raises(sqlite3.OperationalError, match="full"):
        for _ in range(50):
            challenges.save_draft(db, world["rep_esdc"], {"title": "t", "problem": "y" * 4900, "outcomes": "z" * 4900})
            teams.save_team(db, world["student_a"], world["team_a"], big)
    db.execute("PRAGMA max_page_count = 1073741823")
    assert not db.conn.in_transaction
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # Whatever was written was whole: each saved challenge has exactly its one audit event.
    assert db.execute("SELECT COUNT(*) FROM challenges").fetchone()[0] == \
        db.execute("SELECT COUNT(*) FROM audit_events WHERE action = 'challenge.create'").fetchone()[0]
    assert before["departments"] == table_dump(db)["departments"]


# --- PostgreSQL: the same crash, the server rolls back the dead connection's transaction --------

def _pg_run_and_die(uri: str, name: str, kill_at, report: str) -> None:
    """Run operation ``name`` on PostgreSQL; SIGKILL ourselves before write number ``kill_at`` or
    the COMMIT, after writing to ``report`` how many writes had run (the connection's own
    ``execute``, ``insert_returning_id`` and ``commit`` are wrapped: psycopg has no trace hook)."""
    accounts.SCRYPT_N = CHEAP_SCRYPT_N
    db = storage.connect(uri)
    writes = 0

    def die() -> None:
        Path(report).write_text(str(writes))
        os.kill(os.getpid(), signal.SIGKILL)

    def counted(method, verb_of):
        def wrapper(*args, **kwargs):
            nonlocal writes
            if verb_of(*args) in WRITES:
                writes += 1
                if writes == kill_at:
                    die()
            return method(*args, **kwargs)
        return wrapper

    def commit() -> None:
        if kill_at == "COMMIT":
            die()
        original_commit()

    original_commit = db.commit
    db.execute = counted(db.execute, lambda sql, *rest: sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "")
    db.insert_returning_id = counted(db.insert_returning_id, lambda *rest: "INSERT")
    db.commit = commit
    OPERATIONS[name](db)
    os._exit(3)


#: operation -> crash points on PostgreSQL (the demo-data operations; fewer points: each child
#: connects to the server)
PG_PLAN = {"import": 3, "publish": 3, "purge_term": 3, "bulk_approve": 2, "run_assignment": 2, "save_team": 2}


@pytest.mark.backends("postgresql")
@pytest.mark.parametrize("name", sorted(PG_PLAN))
def test_a_killed_writer_leaves_postgresql_as_before(name, demo_db_path, tmp_path, context):
    uri = str(demo_db_path)
    db = storage.connect(uri)
    prepare_data(name, db)
    db.close()
    before = table_dump(uri)
    report = tmp_path / "writes"
    tried = []

    def crash(kill_at) -> int:
        child = context.Process(target=_pg_run_and_die, args=(uri, name, kill_at, str(report)))
        child.start()
        child.join(120)
        assert child.exitcode == -signal.SIGKILL, f"{name} at {kill_at}: exit code {child.exitcode}"
        assert table_dump(uri) == before, f"{name} killed before write {kill_at}"
        tried.append(kill_at)
        return int(report.read_text())

    n_writes = crash("COMMIT")  # every write done, killed before COMMIT: counts the writes too
    assert n_writes >= 3
    for kill_at in _crash_points(n_writes, PG_PLAN[name])[:-1]:
        assert crash(kill_at) == kill_at  # the child was at that very write
    # After the crashes, the same operation runs to completion and does change the database.
    accounts.SCRYPT_N, saved = CHEAP_SCRYPT_N, accounts.SCRYPT_N
    try:
        survivor = storage.connect(uri)
        OPERATIONS[name](survivor)
        survivor.close()
    finally:
        accounts.SCRYPT_N = saved
    assert table_dump(uri) != before
    print(f"\ncrash on PostgreSQL: {name}: {n_writes} writes, killed at {tried}")
