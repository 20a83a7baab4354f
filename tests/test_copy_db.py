"""``portal copy-db SOURCE TARGET`` (issue 15.4): an SQLite portal moved to PostgreSQL with every
row, audit event and version, verified per table, all or nothing; and back to SQLite.

Through the real ``portal`` command. The source is a copy of the demo database with a second,
overlapping term (its own team, student, preferences and audit trail). The rows are compared here
independently of the command's own checksums: read from both databases and compared value by value.
"""
from __future__ import annotations

import shutil
import sqlite3

import pytest
from click.testing import CliRunner

from matching import accounts, challenges, copydb, demo, teams
from matching import db as storage
from matching.cli import main
from matching.errors import PortalError
from tests.conftest import PASSWORD

pytestmark = pytest.mark.backends("postgresql")

SYSTEM = accounts.SYSTEM


@pytest.fixture
def source(tmp_path, demo_template):
    """The demo database (SQLite) with a second term overlapping the first: a team, a student who
    signed in and ranked challenges, all audited."""
    path = tmp_path / "portal.db"
    shutil.copy(demo_template, path)
    db = storage.connect(path)
    now = storage.now_iso()
    with storage.transaction(db):
        term = storage.insert(db, "terms", {"name": "Summer 2027", "state": "intake", "created_at": now,
                                            "starts_on": "2027-03-01", "ends_on": "2027-08-31"})
        team = storage.insert(db, "teams", {"term_id": term, "name": "Harbour Lab", "program": "Design",
                                            "skills": ["research"], "interests": ["oceans"], "updated_at": now,
                                            "past_work": "tab\there, new\nline, \\N and \\. as text"})
        approved = [r[0] for r in db.execute("SELECT id FROM challenges WHERE status = 'approved' ORDER BY id LIMIT 2")]
        db.execute("UPDATE challenges SET term_id = ? WHERE id = ?", [term, approved[0]])
    student = accounts.create_user(db, SYSTEM, {"email": "cleo.martin@sheridancollege.ca", "name": "Cléo Martin",
                                                "role": "student", "team_id": team}, PASSWORD)
    teams.save_team(db, student, team, {"name": "Harbour Lab", "members": [
        {"name": "Cléo Martin", "email": "cleo.martin@sheridancollege.ca"}, {"name": "Zoë « Z » O'Neil",
                                                                             "email": "zoe@sheridancollege.ca"}]})
    accounts.authenticate(db, "cleo.martin@sheridancollege.ca", PASSWORD)
    teams.save_preferences(db, student, team, [{"challenge_id": approved[0], "reason": "harbours\nand ports"}])
    db.close()
    return path


def rows_of(target) -> dict[str, list[tuple]]:
    """Every table's copied columns, rows sorted: read directly, not through copydb's checksums."""
    db = storage.connect(str(target), migrate_schema=False)
    try:
        out = {}
        for table in copydb.tables(db):
            columns = ", ".join(f"[{c}]" for c in sorted(copydb.copied_columns(db, table)))
            out[table] = sorted(db.execute(f"SELECT {columns} FROM [{table}]").fetchall(), key=repr)
        return out
    finally:
        db.close()


def without_copy_event(rows: dict) -> dict:
    # audit_events columns sorted: action, actor_email, actor_id, at, detail, id, reason, target_id, target_type
    return {**rows, "audit_events": [r for r in rows["audit_events"] if r[0] != "db.copy"]}


def copy(source, target) -> str:
    result = CliRunner().invoke(main, ["copy-db", str(source), str(target)])
    assert result.exit_code == 0, result.output
    return result.output


def test_an_sqlite_portal_moves_to_postgresql_whole(source, new_database):
    target = new_database()  # empty, not even migrated
    before = rows_of(source)
    output = copy(source, target)
    # The table of counts and checksums, one line per table of the schema, and the verdict.
    for table, rows in before.items():
        line = next(line for line in output.splitlines() if line.split()[:1] == [table])
        assert line.split()[1].replace(",", "") == str(len(rows)) and len(line.split()[2]) == 64
    assert "every count and checksum matches" in output
    after = rows_of(target)
    assert without_copy_event(after) == before  # every row of every table, the audit log included
    assert [r[0] for r in after["audit_events"]].count("db.copy") == 1
    db = storage.connect(target)
    try:
        # Versions: every migration with its original date, and the same data version.
        assert db.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == storage.SCHEMA_VERSION
        src = sqlite3.connect(source)
        assert storage.data_version(db) == int(src.execute("SELECT value FROM meta WHERE key = 'data_version'")
                                                .fetchone()[0])
        largest = src.execute("SELECT MAX(id) FROM challenges").fetchone()[0]
        src.close()
        # Sign-in works with the copied password hashes, both terms' people.
        assert accounts.authenticate(db, "cleo.martin@sheridancollege.ca", PASSWORD).name == "Cléo Martin"
        rep = accounts.authenticate(db, "rep@demo.gc.ca", demo.DEMO_PASSWORD)
        # New rows continue after the copied ids (identity sequences moved past them).
        winter = db.execute("SELECT id FROM terms WHERE name = 'Winter 2027'").fetchone()[0]   # the demo's intake
        assert challenges.save_draft(db, rep, {"title": "First on PostgreSQL"}, term_id=winter).id == largest + 1
        team = db.execute("SELECT name FROM teams WHERE term_id = ? ORDER BY id LIMIT 1", [winter]).fetchone()[0]
    finally:
        db.close()
    # Ranking works on the copy (the CLI's rank, through the ranker).
    ranked = CliRunner().invoke(main, ["--db", target, "rank", "--team", team, "-k", "3"])
    assert ranked.exit_code == 0 and " 1. [" in ranked.output, ranked.output


def test_the_copy_goes_back_to_sqlite(source, new_database, tmp_path):
    target = new_database()
    copy(source, target)
    back = tmp_path / "back" / "portal.db"
    output = copy(target, back)
    assert "every count and checksum matches" in output
    returned = rows_of(back)
    assert without_copy_event(returned) == rows_of(source)
    assert [r[0] for r in returned["audit_events"]].count("db.copy") == 2
    db = storage.connect(back)
    assert accounts.authenticate(db, "cleo.martin@sheridancollege.ca", PASSWORD)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit_events")
    db.close()


def test_a_migrated_empty_target_is_accepted_and_a_used_one_refused(source, new_database):
    target = new_database()
    assert CliRunner().invoke(main, ["--db", target, "init-db"]).exit_code == 0
    copy(source, target)
    before = rows_of(target)
    result = CliRunner().invoke(main, ["copy-db", str(source), target])
    assert result.exit_code == 1 and "is not empty" in result.output and "audit_events" in result.output
    assert rows_of(target) == before
    # A portal used a little (one account, so one audit event) is not empty either.
    other = new_database()
    db = storage.connect(other)
    accounts.create_user(db, SYSTEM, {"email": "fac@pco.gc.ca", "name": "Fac", "role": "facilitator"}, PASSWORD)
    db.close()
    with pytest.raises(PortalError) as info:
        copydb.copy_database(SYSTEM, source, other)
    assert info.value.key == "db.copy_target_not_empty"


def test_a_source_at_another_schema_is_refused_migrate_first(tmp_path, new_database):
    old = storage.connect(tmp_path / "old.db", migrate_schema=False)
    storage.migrate(old, target=2)
    old.close()
    target = new_database()
    result = CliRunner().invoke(main, ["copy-db", str(tmp_path / "old.db"), target])
    assert result.exit_code == 1 and "migrate it first" in result.output and "init-db" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(main, ["copy-db", str(tmp_path / "missing.db"), target])
    assert result.exit_code == 1 and "does not exist" in result.output
    assert not (tmp_path / "missing.db").exists()
    (tmp_path / "other.db").write_bytes(b"")
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE users (id INTEGER PRIMARY KEY)").connection.close()
    result = CliRunner().invoke(main, ["copy-db", str(tmp_path / "other.db"), target])
    assert result.exit_code == 1 and "not a Challenge Portal database" in result.output
    db = storage.connect(target, migrate_schema=False)
    assert db.table_names() == []  # nothing was created in the target
    db.close()


def test_the_copy_is_all_or_nothing(source, new_database):
    """A value PostgreSQL cannot hold (SQLite's loose typing kept text in an integer column): the
    copy fails with one sentence, rolled back; fixed, it runs."""
    conn = sqlite3.connect(source)
    conn.execute("UPDATE teams SET year = 'second' WHERE id = (SELECT MAX(id) FROM teams)")
    conn.commit()
    target = new_database()
    result = CliRunner().invoke(main, ["copy-db", str(source), target])
    assert result.exit_code == 1 and "rolled back" in result.output and "Traceback" not in result.output
    db = storage.connect(target, migrate_schema=False)
    assert db.table_names() == []  # not even the schema: the migration was part of the copy's transaction
    db.close()
    conn.execute("UPDATE teams SET year = 2 WHERE year = 'second'")
    conn.commit()
    conn.close()
    copy(source, target)


def test_a_source_with_the_audit_log_left_open_is_refused(source, new_database):
    conn = sqlite3.connect(source)
    conn.execute("INSERT INTO meta (key, value) VALUES ('audit_purge_open', '1')")
    conn.commit()
    conn.close()
    with pytest.raises(PortalError) as info:
        copydb.copy_database(SYSTEM, source, new_database())
    assert info.value.key == "db.copy_audit_open"


def test_only_the_operator_copies_and_the_same_database_is_refused(source, new_database):
    from matching.errors import PermissionDenied
    db = storage.connect(source)
    facilitator = db.execute("SELECT id FROM users WHERE role = 'facilitator' LIMIT 1").fetchone()[0]
    person = accounts.get_user(db, facilitator)
    db.close()
    with pytest.raises(PermissionDenied):
        copydb.copy_database(person, source, new_database())
    with pytest.raises(PortalError) as info:
        copydb.copy_database(SYSTEM, source, str(source))
    assert info.value.key == "db.copy_same"


def test_checksums_are_the_same_text_on_both_backends():
    """The canonical row: what SQLite and psycopg return for the same stored values."""
    row = (7, 2.5, "Zoë\t« x »\n", None, 0)
    assert copydb.canonical_row(row) == '[7,2.5,"Zoë\\t« x »\\n",null,0]'
    assert copydb.canonical_row((True,)) == copydb.canonical_row((1,))
