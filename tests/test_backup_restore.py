"""``portal backup`` / ``portal restore``: a restored backup equals the original table by table,
and anything that is not a healthy portal database of this or an older schema is refused
without touching the live database."""
from __future__ import annotations

import multiprocessing
import sqlite3
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from matching import accounts, challenges, maintenance, teams
from matching import db as storage
from matching.cli import main
from matching.errors import PermissionDenied, PortalError
from tests.conftest import ACCESSIBILITY

SYSTEM = accounts.SYSTEM


def table_dump(source) -> dict[str, list[tuple]]:
    """Every table's schema and rows in a stable order: ``{table: [sql, rows...]}``."""
    if storage.is_postgres_uri(source) or storage.dialect(source) == "postgresql":
        return _postgres_table_dump(source)
    conn = source.conn if hasattr(source, "conn") else sqlite3.connect(source)
    try:
        dump = {}
        for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                                      "AND name NOT LIKE 'sqlite_%' ORDER BY name"):
            n_columns = len(conn.execute(f"SELECT * FROM [{name}] LIMIT 0").description)
            order = ", ".join(str(i) for i in range(1, n_columns + 1))
            dump[name] = [sql, *conn.execute(f"SELECT * FROM [{name}] ORDER BY {order}").fetchall()]
        dump["(triggers and indexes)"] = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('trigger', 'index') ORDER BY name").fetchall()
        return dump
    finally:
        if not hasattr(source, "conn"):
            conn.close()


def _postgres_table_dump(source) -> dict[str, list[tuple]]:
    """:func:`table_dump` on PostgreSQL: columns as the catalog describes them, then the rows."""
    database = storage.connect(source, migrate_schema=False) if isinstance(source, str) else source
    try:
        dump = {}
        for name in database.table_names():
            columns = database.execute(
                "SELECT column_name, data_type, column_default, is_nullable, generation_expression "
                "FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? "
                "ORDER BY ordinal_position", [name]).fetchall()
            order = ", ".join(str(i) for i in range(1, len(columns) + 1))
            dump[name] = [repr(columns), *database.execute(f'SELECT * FROM "{name}" ORDER BY {order}').fetchall()]
        dump["(triggers and indexes)"] = database.execute(
            "SELECT tgname, NULL FROM pg_trigger WHERE NOT tgisinternal UNION ALL "
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1").fetchall()
        return dump
    finally:
        if database is not source:
            database.close()


def without_last_audit_events(dump: dict, n: int) -> dict:
    trimmed = dict(dump)
    trimmed["audit_events"] = dump["audit_events"][:len(dump["audit_events"]) - n]
    return trimmed


def _busy_world(db, world, approved):
    """Every table holds rows: challenges in several states, preferences, members, audit."""
    draft = challenges.save_draft(db, world["rep_esdc"], {**ACCESSIBILITY, "title": "Draft — brouillon 🚀"})
    challenges.save_draft(db, world["rep_esdc"], {"title": "Second edit"}, challenge_id=draft.id)
    teams.save_preferences(db, world["student_a"], world["team_a"],
                           [{"challenge_id": approved["accessibility"], "reason": "we audit sites"},
                            {"challenge_id": approved["fisheries"]}])
    return draft.id


def test_restored_backup_equals_the_original_table_by_table(db, world, approved, tmp_path):
    _busy_world(db, world, approved)
    before = table_dump(db)
    assert all(len(rows) > 1 for name, rows in before.items() if name in ("challenges", "preferences", "members",
                                                                          "users", "audit_events"))
    result = maintenance.backup(db, SYSTEM, tmp_path / "backup.db")
    assert result["bytes"] > 0 and result["schema_version"] == storage.SCHEMA_VERSION
    assert table_dump(tmp_path / "backup.db") == before
    # Work continues after the backup, then the backup is restored.
    challenges.save_draft(db, world["rep_dfo"], {"title": "Written after the backup"})
    teams.save_preferences(db, world["student_a"], world["team_a"], [])
    version_before_restore = storage.data_version(db)
    maintenance.restore(db, SYSTEM, tmp_path / "backup.db")
    after = table_dump(db)
    assert after["audit_events"][-1][4] == "db.restore"  # (id, at, actor_id, actor_email, action, ...)
    # The data version moves past every number the replaced data had, so no ranker cache of the
    # replaced data is ever hit again; everything else is the backup's, exactly.
    assert storage.data_version(db) > version_before_restore
    assert without_last_audit_events(_without_data_version(after), 1) == _without_data_version(before)


def _without_data_version(dump: dict) -> dict:
    return {**dump, "meta": [row for row in dump["meta"] if not (isinstance(row, tuple) and row[0] == "data_version")]}


def test_restore_is_seen_by_connections_already_open(db, world, approved, tmp_path):
    other = storage.connect(tmp_path / "portal.db")  # the app's connection, open throughout
    maintenance.backup(db, SYSTEM, tmp_path / "backup.db")
    cid = challenges.save_draft(db, world["rep_esdc"], {"title": "Only after the backup"}).id
    assert other.execute("SELECT COUNT(*) FROM challenges WHERE id = ?", [cid]).fetchone()[0] == 1
    maintenance.restore(db, SYSTEM, tmp_path / "backup.db")
    assert other.execute("SELECT COUNT(*) FROM challenges WHERE id = ?", [cid]).fetchone()[0] == 0
    assert other.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    other.close()


def test_restore_keeps_the_replaced_database_aside(db, world, approved, tmp_path):
    maintenance.backup(db, SYSTEM, tmp_path / "backup.db")
    challenges.save_draft(db, world["rep_esdc"], {"title": "Kept aside"})
    current = table_dump(db)
    result = maintenance.restore(db, SYSTEM, tmp_path / "backup.db", previous_copy=tmp_path / "previous.db")
    assert result["previous"] == str(tmp_path / "previous.db")
    assert table_dump(tmp_path / "previous.db") == current


def test_backup_is_self_contained_and_never_overwrites_by_accident(db, world, tmp_path):
    target = tmp_path / "nested" / "folder" / "backup.db"
    maintenance.backup(db, SYSTEM, target)
    assert not Path(str(target) + "-wal").exists()
    assert sqlite3.connect(target).execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    with pytest.raises(PortalError) as info:
        maintenance.backup(db, SYSTEM, target)
    assert info.value.key == "db.backup_exists"
    maintenance.backup(db, SYSTEM, target, overwrite=True)
    assert [p.name for p in target.parent.iterdir()] == ["backup.db"]  # no partial file left


@pytest.fixture
def plain_main(monkeypatch):
    """New processes must not re-run ``__main__``: after an AppTest it is app.py (it seeds data)."""
    import sys
    import types
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))


def _write_continuously(path: str, stop_after: int) -> None:
    database = storage.connect(path)
    rep = accounts.get_user(database, 1)
    for i in range(stop_after):
        challenges.save_draft(database, rep, {"title": f"busy {i}"})


def test_backup_while_another_process_writes_is_one_consistent_snapshot(db, world, tmp_path, plain_main):
    rep_id = world["rep_esdc"].id
    assert rep_id == 1  # the writer signs in as this account
    writer = multiprocessing.get_context("spawn").Process(
        target=_write_continuously, args=(str(tmp_path / "portal.db"), 400))
    writer.start()
    copies = []
    try:
        while writer.is_alive() and len(copies) < 5:
            copy = tmp_path / f"copy{len(copies)}.db"
            maintenance.backup(db, SYSTEM, copy)
            copies.append(copy)
    finally:
        writer.join(60)
    assert writer.exitcode == 0 and copies
    for copy in copies:
        conn = sqlite3.connect(copy)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # Each challenge row and its audit event were committed together: a snapshot has both or neither.
        n_rows = conn.execute("SELECT COUNT(*) FROM challenges").fetchone()[0]
        n_events = conn.execute("SELECT COUNT(*) FROM audit_events WHERE action = 'challenge.create'").fetchone()[0]
        assert n_rows == n_events
        conn.close()


def _refused(db, tmp_path, path, key):
    before = table_dump(db)
    with pytest.raises(PortalError) as info:
        maintenance.restore(db, SYSTEM, path)
    assert info.value.key == key
    assert table_dump(db) == before
    assert not list(tmp_path.glob("*.before-restore-*"))


def test_restore_refuses_files_that_are_not_databases(db, world, tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("id,title\n1,not a database\n")
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    archive = tmp_path / "backup.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("portal.db", "x" * 1000)
    for path in (text, empty, archive, tmp_path / "missing.db", tmp_path):
        _refused(db, tmp_path, path, "db.not_a_database")


def test_restore_refuses_an_sqlite_file_of_another_application(db, world, tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    conn.commit()
    conn.close()
    _refused(db, tmp_path, other, "db.not_portal")


def test_restore_refuses_a_newer_schema(db, world, tmp_path):
    maintenance.backup(db, SYSTEM, tmp_path / "newer.db")
    conn = sqlite3.connect(tmp_path / "newer.db")
    conn.execute("INSERT INTO schema_migrations VALUES (?, 'from the future', '2099-01-01')",
                 [storage.SCHEMA_VERSION + 1])
    conn.commit()
    conn.close()
    _refused(db, tmp_path, tmp_path / "newer.db", "db.newer_schema")


def test_restore_refuses_a_damaged_file(db, world, approved, tmp_path):
    maintenance.backup(db, SYSTEM, tmp_path / "damaged.db")
    data = bytearray((tmp_path / "damaged.db").read_bytes())
    page = 4096
    for offset in range(2 * page, len(data) - page, page):  # scribble over the table pages' headers
        data[offset:offset + 200] = b"\xff" * 200
    (tmp_path / "damaged.db").write_bytes(bytes(data))
    _refused(db, tmp_path, tmp_path / "damaged.db", "db.corrupt")


def test_restore_migrates_an_older_schema(db, world, tmp_path):
    old = storage.connect(tmp_path / "old.db", migrate_schema=False)
    storage.migrate(old, target=2)
    with storage.transaction(old):
        dept = storage.insert(old, "departments", {"acronym": "CRA", "name_en": "Canada Revenue Agency",
                                                   "name_fr": "Agence du revenu du Canada"})
    old.close()
    assert maintenance.inspect_backup(tmp_path / "old.db")["schema_version"] == 2
    result = maintenance.restore(db, SYSTEM, tmp_path / "old.db")
    assert result["migrated"] == [m[0] for m in storage.MIGRATIONS if m[0] > 2]
    assert storage.schema_version(db) == storage.SCHEMA_VERSION
    assert [r["acronym"] for r in db.query("SELECT acronym FROM departments")] == ["CRA"]
    assert dept == 1
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit_events")


@pytest.mark.parametrize("role", ["facilitator", "rep_esdc", "student_a", "expert"])
def test_only_the_operator_backs_up_and_restores(db, world, tmp_path, role):
    with pytest.raises(PermissionDenied):
        maintenance.backup(db, world[role], tmp_path / "b.db")
    maintenance.backup(db, SYSTEM, tmp_path / "b.db")
    with pytest.raises(PermissionDenied):
        maintenance.restore(db, world[role], tmp_path / "b.db")


def test_cli_backup_and_restore(db, world, approved, tmp_path):
    live = str(tmp_path / "portal.db")
    runner = CliRunner()
    result = runner.invoke(main, ["--db", live, "backup", str(tmp_path / "b.db")])
    assert result.exit_code == 0, result.output
    before = table_dump(tmp_path / "b.db")
    challenges.save_draft(db, world["rep_esdc"], {"title": "After"})
    result = runner.invoke(main, ["--db", live, "restore", str(tmp_path / "b.db")], input="n\n")
    assert result.exit_code != 0 and "Aborted" in result.output
    result = runner.invoke(main, ["--db", live, "restore", "--yes", str(tmp_path / "b.db")])
    assert result.exit_code == 0, result.output
    assert "Restored" in result.output
    assert without_last_audit_events(_without_data_version(table_dump(db)), 1) == _without_data_version(before)
    (tmp_path / "junk.db").write_text("junk")
    result = runner.invoke(main, ["--db", live, "restore", "--yes", str(tmp_path / "junk.db")])
    assert result.exit_code == 1 and "not an SQLite database" in result.output
