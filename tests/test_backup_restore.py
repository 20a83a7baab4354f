"""``portal backup`` / ``portal restore``: a restored backup equals the original table by table,
and anything that is not a healthy portal database of this or an older schema is refused
without touching the live database. On both backends (issue 15.4): an SQLite file copy, or
pg_dump's custom format checked and restored as matching/pg_backup.py describes."""
from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from matching import accounts, challenges, maintenance, teams
from matching import db as storage
from matching.cli import main
from matching.errors import PermissionDenied, PortalError
from tests.conftest import ACCESSIBILITY

pytestmark = pytest.mark.backends("sqlite", "postgresql")

SYSTEM = accounts.SYSTEM


def postgres(db) -> bool:
    return storage.dialect(db) == "postgresql"


def pg_restore_into(db, path, uri: str) -> None:
    """``pg_restore`` of the archive at ``path`` into the (empty) database ``uri``, as an operator would."""
    from matching import pg_backup
    target = storage.connect(uri, migrate_schema=False)
    try:
        command, env = pg_backup.tool_command(target, "pg_restore", "--no-owner", "--no-privileges",
                                              "--exit-on-error", str(path))
        subprocess.run(command, env=env, check=True, capture_output=True)
    finally:
        target.close()


def backup_contents(db, path, new_database) -> dict:
    """:func:`table_dump` of what a backup file holds (on PostgreSQL: restored into a new database)."""
    if not postgres(db):
        return table_dump(path)
    uri = new_database()
    pg_restore_into(db, path, uri)
    return table_dump(uri)


def altered_pg_backup(db, new_database, path, *statements) -> Path:
    """A real backup of the live PostgreSQL database, then altered as an attacker would: restored
    into a database of their own, changed with plain SQL (as a superuser), dumped again."""
    import psycopg

    from matching import pg_backup
    maintenance.backup(db, SYSTEM, path, overwrite=True)
    uri = new_database()
    pg_restore_into(db, path, uri)
    with psycopg.connect(uri, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)
    own = storage.connect(uri, migrate_schema=False)
    try:
        command, env = pg_backup.tool_command(own, "pg_dump", "--format=custom", f"--file={path}")
        subprocess.run(command, env=env, check=True, capture_output=True)
    finally:
        own.close()
    return Path(path)


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


def test_restored_backup_equals_the_original_table_by_table(db, world, approved, tmp_path, new_database):
    _busy_world(db, world, approved)
    before = table_dump(db)
    assert all(len(rows) > 1 for name, rows in before.items() if name in ("challenges", "preferences", "members",
                                                                          "users", "audit_events"))
    result = maintenance.backup(db, SYSTEM, tmp_path / "backup.db")
    assert result["bytes"] > 0 and result["schema_version"] == storage.SCHEMA_VERSION
    assert backup_contents(db, tmp_path / "backup.db", new_database) == before
    if postgres(db):
        assert (tmp_path / "backup.db").read_bytes().startswith(b"PGDMP")  # pg_dump's custom format
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
    if postgres(db):  # the audit log's TRUNCATE guard was off inside the restore's transaction only
        assert '"audit_log_replaced": true' in after["audit_events"][-1][8]
        with pytest.raises(storage.driver(db).DatabaseError, match="append-only"):
            db.execute("TRUNCATE audit_events")
    # Ids continue after the restored rows (identity sequences as the backup had them).
    later = challenges.save_draft(db, world["rep_esdc"], {"title": "After the restore"}).id
    assert later == max(row[0] for row in before["challenges"][1:]) + 1


def _without_data_version(dump: dict) -> dict:
    return {**dump, "meta": [row for row in dump["meta"] if not (isinstance(row, tuple) and row[0] == "data_version")]}


def test_restore_is_seen_by_connections_already_open(db, world, approved, tmp_path, db_target):
    other = storage.connect(db_target)  # the app's connection, open throughout
    maintenance.backup(db, SYSTEM, tmp_path / "backup.db")
    cid = challenges.save_draft(db, world["rep_esdc"], {"title": "Only after the backup"}).id
    assert other.execute("SELECT COUNT(*) FROM challenges WHERE id = ?", [cid]).fetchone()[0] == 1
    maintenance.restore(db, SYSTEM, tmp_path / "backup.db")
    assert other.execute("SELECT COUNT(*) FROM challenges WHERE id = ?", [cid]).fetchone()[0] == 0
    if not postgres(db):
        assert other.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    other.close()


def test_restore_keeps_the_replaced_database_aside(db, world, approved, tmp_path, new_database):
    maintenance.backup(db, SYSTEM, tmp_path / "backup.db")
    challenges.save_draft(db, world["rep_esdc"], {"title": "Kept aside"})
    current = table_dump(db)
    result = maintenance.restore(db, SYSTEM, tmp_path / "backup.db", previous_copy=tmp_path / "previous.db")
    assert result["previous"] == str(tmp_path / "previous.db")
    assert backup_contents(db, tmp_path / "previous.db", new_database) == current


def test_restore_keeps_the_replaced_database_next_to_the_backup_by_default(db, world, tmp_path):
    maintenance.backup(db, SYSTEM, tmp_path / "backup.db")
    result = maintenance.restore(db, SYSTEM, tmp_path / "backup.db")
    kept = Path(result["previous"])
    assert kept.exists() and ".before-restore-" in kept.name
    event = list(db.query("SELECT detail FROM audit_events WHERE action = 'db.restore'"))
    assert len(event) == 1 and str(kept) in event[0]["detail"]


def test_backup_is_self_contained_and_never_overwrites_by_accident(db, world, tmp_path):
    target = tmp_path / "nested" / "folder" / "backup.db"
    maintenance.backup(db, SYSTEM, target)
    assert not Path(str(target) + "-wal").exists()
    if not postgres(db):
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


def test_backup_while_another_process_writes_is_one_consistent_snapshot(db, world, tmp_path, plain_main, db_target,
                                                                        new_database):
    rep_id = world["rep_esdc"].id
    assert rep_id == 1  # the writer signs in as this account
    writer = multiprocessing.get_context("spawn").Process(target=_write_continuously, args=(str(db_target), 400))
    writer.start()
    copies = []
    try:
        while writer.is_alive() and len(copies) < (2 if postgres(db) else 5):
            copy = tmp_path / f"copy{len(copies)}.db"
            maintenance.backup(db, SYSTEM, copy)
            copies.append(copy)
    finally:
        writer.join(120)
    assert writer.exitcode == 0 and copies
    for copy in copies:
        if postgres(db):
            uri = new_database()
            pg_restore_into(db, copy, uri)
            conn = storage.connect(uri, migrate_schema=False)
        else:
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
    assert info.value.key == key, (info.value.key, info.value.params)
    assert table_dump(db) == before
    assert not list(tmp_path.glob("*.before-restore-*"))
    if postgres(db):  # no scratch database left behind
        assert not db.execute("SELECT datname FROM pg_database WHERE datname LIKE 'portal\\_%\\_%'").fetchall()
    return info.value


def test_restore_refuses_files_that_are_not_databases(db, world, tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("id,title\n1,not a database\n")
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    archive = tmp_path / "backup.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("portal.db", "x" * 1000)
    refusal = "db.pg_not_a_dump" if postgres(db) else "db.not_a_database"
    for path in (text, empty, archive, tmp_path / "missing.db", tmp_path):
        _refused(db, tmp_path, path, refusal)


def test_restore_refuses_an_sqlite_file_of_another_application(db, world, tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    conn.commit()
    conn.close()
    _refused(db, tmp_path, other, "db.pg_sqlite_backup" if postgres(db) else "db.not_portal")


def test_restore_refuses_a_backup_of_the_other_backend(db, world, tmp_path, demo_template):
    """An SQLite portal file restored into PostgreSQL, or a pg_dump archive into SQLite: each is
    refused by its first bytes, and the sentence names copy-db, the way between the two."""
    from matching.i18n import t
    other = tmp_path / "other-backend.db"
    if postgres(db):
        shutil.copy(demo_template, other)
    else:
        other.write_bytes(b"PGDMP\x01\x0e\x00\x04\x08\x01\x01" + b"\x00" * 200)
    err = _refused(db, tmp_path, other, "db.pg_sqlite_backup" if postgres(db) else "db.sqlite_pg_backup")
    assert "copy-db" in t(err.key, "en", **err.params) and "copy-db" in t(err.key, "fr", **err.params)


@pytest.mark.backends("postgresql")
def test_restore_refuses_a_plain_sql_dump_renamed(db, world, tmp_path):
    """``pg_dump`` without ``--format=custom`` writes SQL text: never run, refused by its first bytes."""
    from matching import pg_backup
    command, env = pg_backup.tool_command(db, "pg_dump", f"--file={tmp_path / 'plain.dump'}")
    subprocess.run(command, env=env, check=True, capture_output=True)
    assert b"CREATE TABLE" in (tmp_path / "plain.dump").read_bytes()
    _refused(db, tmp_path, tmp_path / "plain.dump", "db.pg_not_a_dump")


@pytest.mark.backends("postgresql")
def test_restore_refuses_a_dump_of_another_database(db, world, tmp_path, new_database):
    import psycopg

    from matching import pg_backup
    uri = new_database()
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
        conn.execute("INSERT INTO users VALUES (1, 'x@example.com')")
    other = storage.connect(uri, migrate_schema=False)
    command, env = pg_backup.tool_command(other, "pg_dump", "--format=custom", f"--file={tmp_path / 'other.dump'}")
    subprocess.run(command, env=env, check=True, capture_output=True)
    other.close()
    err = _refused(db, tmp_path, tmp_path / "other.dump", "db.pg_not_portal")
    assert "schema_migrations" in err.params["missing"]


def test_restore_refuses_a_newer_schema(db, world, tmp_path, new_database):
    future = ("INSERT INTO schema_migrations VALUES ({}, 'from the future', '2099-01-01')"
              .format(storage.SCHEMA_VERSION + 1))
    if postgres(db):
        altered_pg_backup(db, new_database, tmp_path / "newer.db", future)
    else:
        maintenance.backup(db, SYSTEM, tmp_path / "newer.db")
        conn = sqlite3.connect(tmp_path / "newer.db")
        conn.execute(future)
        conn.commit()
        conn.close()
    _refused(db, tmp_path, tmp_path / "newer.db", "db.newer_schema")


@pytest.mark.backends("postgresql")
def test_restore_refuses_a_truncated_or_scribbled_dump(db, world, approved, tmp_path):
    maintenance.backup(db, SYSTEM, tmp_path / "whole.dump")
    data = (tmp_path / "whole.dump").read_bytes()
    for name, damaged in (("truncated.dump", data[:len(data) * 2 // 3]), ("half.dump", data[:len(data) // 2]),
                          ("scribbled.dump", data[:4000] + b"\xff" * 2000 + data[6000:])):
        (tmp_path / name).write_bytes(damaged)
        err = _refused(db, tmp_path, tmp_path / name, "db.pg_dump_damaged")
        assert err.params["detail"]


@pytest.mark.sqlite_only("SQLite's page format and integrity check; PostgreSQL's damaged archives: "
                        "test_restore_refuses_a_truncated_or_scribbled_dump")
def test_restore_refuses_a_damaged_file(db, world, approved, tmp_path):
    maintenance.backup(db, SYSTEM, tmp_path / "damaged.db")
    data = bytearray((tmp_path / "damaged.db").read_bytes())
    page = 4096
    for offset in range(2 * page, len(data) - page, page):  # scribble over the table pages' headers
        data[offset:offset + 200] = b"\xff" * 200
    (tmp_path / "damaged.db").write_bytes(bytes(data))
    _refused(db, tmp_path, tmp_path / "damaged.db", "db.corrupt")


def old_backup(db, tmp_path, new_database, *statements, version: int = 2) -> Path:
    """A backup made by an older portal (schema ``version``), with ``statements`` run in it."""
    if postgres(db):
        from matching import pg_backup
        uri = new_database()
        old = storage.connect(uri, migrate_schema=False)
        storage.migrate(old, target=version)
        for statement in statements:
            old.execute(statement)
        command, env = pg_backup.tool_command(old, "pg_dump", "--format=custom", f"--file={tmp_path / 'old.db'}")
        subprocess.run(command, env=env, check=True, capture_output=True)
    else:
        old = storage.connect(tmp_path / "old.db", migrate_schema=False)
        storage.migrate(old, target=version)
        for statement in statements:
            old.execute(statement)
    old.close()
    return tmp_path / "old.db"


def test_restore_migrates_an_older_schema(db, world, tmp_path, new_database):
    path = old_backup(db, tmp_path, new_database, "INSERT INTO departments (acronym, name_en, name_fr) "
                      "VALUES ('CRA', 'Canada Revenue Agency', 'Agence du revenu du Canada')")
    assert maintenance.inspect_backup(path, db)["schema_version"] == 2
    result = maintenance.restore(db, SYSTEM, path)
    assert result["migrated"] == [m[0] for m in storage.MIGRATIONS if m[0] > 2]
    assert storage.schema_version(db) == storage.SCHEMA_VERSION
    assert [r["acronym"] for r in db.query("SELECT acronym FROM departments")] == ["CRA"]
    assert [r["id"] for r in db.query("SELECT id FROM departments")] == [1]
    with pytest.raises(storage.driver(db).DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit_events")


@pytest.mark.parametrize("role", ["facilitator", "rep_esdc", "student_a", "expert"])
def test_only_the_operator_backs_up_and_restores(db, world, tmp_path, role):
    with pytest.raises(PermissionDenied):
        maintenance.backup(db, world[role], tmp_path / "b.db")
    maintenance.backup(db, SYSTEM, tmp_path / "b.db")
    with pytest.raises(PermissionDenied):
        maintenance.restore(db, world[role], tmp_path / "b.db")


def test_cli_backup_and_restore(db, world, approved, tmp_path, db_target, new_database):
    live = str(db_target)
    runner = CliRunner()
    result = runner.invoke(main, ["--db", live, "backup", str(tmp_path / "b.db")])
    assert result.exit_code == 0, result.output
    before = backup_contents(db, tmp_path / "b.db", new_database)
    challenges.save_draft(db, world["rep_esdc"], {"title": "After"})
    result = runner.invoke(main, ["--db", live, "restore", str(tmp_path / "b.db")], input="n\n")
    assert result.exit_code != 0 and "Aborted" in result.output
    result = runner.invoke(main, ["--db", live, "restore", "--yes", str(tmp_path / "b.db")])
    assert result.exit_code == 0, result.output
    assert "Restored" in result.output
    assert without_last_audit_events(_without_data_version(table_dump(db)), 1) == _without_data_version(before)
    (tmp_path / "junk.db").write_text("junk")
    result = runner.invoke(main, ["--db", live, "restore", "--yes", str(tmp_path / "junk.db")])
    assert result.exit_code == 1 and ("not a pg_dump custom-format archive" if postgres(db)
                                      else "not an SQLite database") in result.output


@pytest.mark.backends("postgresql")
def test_a_missing_tool_is_named_in_one_sentence(db, world, tmp_path, monkeypatch):
    from matching import pg_backup
    from matching.i18n import t
    monkeypatch.setattr(pg_backup, "DEBIAN_BIN", str(tmp_path / "nowhere" / "{major}"))
    monkeypatch.setenv("PATH", str(tmp_path))
    major = pg_backup.server_major(db)
    (tmp_path / "b.dump").write_bytes(b"PGDMP")  # looks like an archive: the restore needs its tool
    for call, tool in ((lambda: maintenance.backup(db, SYSTEM, tmp_path / "new.dump"), "pg_dump"),
                       (lambda: maintenance.restore(db, SYSTEM, tmp_path / "b.dump"), "pg_restore")):
        with pytest.raises(PortalError) as info:
            call()
        assert info.value.key == "db.pg_tool_missing" and info.value.params["tool"] == tool
        for lang in ("en", "fr"):
            sentence = t(info.value.key, lang, **info.value.params)
            assert tool in sentence and f"postgresql-client-{major}" in sentence and "\n" not in sentence
    result = CliRunner().invoke(main, ["--db", db.uri, "backup", str(tmp_path / "c.dump")])
    assert result.exit_code == 1 and "pg_dump for PostgreSQL" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "c.dump").exists()


@pytest.mark.backends("postgresql")
def test_the_password_never_reaches_a_command_line(db, world, tmp_path):
    from matching import pg, pg_backup
    secret = "s3cret-Word"  # the test cluster trusts local connections: the password is ignored, not refused
    with_password = pg.connect(db.uri + "&password=" + secret, lock_timeout_ms=1000)
    try:
        command, env = pg_backup.tool_command(with_password, "pg_dump", "--format=custom")
        assert not any(secret in part for part in command) and env["PGPASSWORD"] == secret
        result = maintenance.backup(with_password, SYSTEM, tmp_path / "b.dump")
        assert result["bytes"] > 0
        detail = with_password.execute("SELECT detail FROM audit_events WHERE action = 'db.backup'").fetchone()[0]
        assert secret not in detail
    finally:
        with_password.close()


def test_a_reader_during_the_restore_sees_the_old_or_the_restored_data_never_a_mixture(db, world, approved,
                                                                                     tmp_path, db_target):
    """Another app server's reads while the live database is replaced: each read (challenges and
    their audit events together) is the old state or the restored one, never empty, never a mixture."""
    import threading
    maintenance.backup(db, SYSTEM, tmp_path / "backup.db")
    for i in range(5):
        challenges.save_draft(db, world["rep_esdc"], {"title": f"After the backup {i}"})
    query = ("SELECT (SELECT COUNT(*) FROM challenges), "
             "(SELECT COUNT(*) FROM audit_events WHERE action = 'challenge.create')")
    old = tuple(db.execute(query).fetchone())
    seen, stop = set(), threading.Event()

    def read() -> None:
        reader = storage.connect(db_target)
        try:
            while not stop.is_set():
                seen.add(tuple(reader.execute(query).fetchone()))
        finally:
            reader.close()

    thread = threading.Thread(target=read)
    thread.start()
    try:
        maintenance.restore(db, SYSTEM, tmp_path / "backup.db")
    finally:
        stop.set()
        thread.join(60)
    new = tuple(db.execute(query).fetchone())
    assert new == (old[0] - 5, old[1] - 5)
    assert old in seen and seen <= {old, new}, seen


@pytest.mark.backends("postgresql")
def test_a_database_user_without_createdb_is_told_what_restore_needs(db, world, tmp_path, new_database):
    """The restore checks the backup in a scratch database: a user who may not create one gets
    one sentence saying so, and nothing of the live database changes."""
    import psycopg

    from matching import pg
    from matching.i18n import t
    maintenance.backup(db, SYSTEM, tmp_path / "backup.db")
    name = db.conn.info.dbname
    with psycopg.connect(new_database(), autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS portal_limited")
        admin.execute("CREATE ROLE portal_limited LOGIN NOCREATEDB")
    limited = pg.connect(db.uri.replace("portal@", "portal_limited@"), lock_timeout_ms=1000)
    try:
        assert limited.conn.info.user == "portal_limited" and limited.conn.info.dbname == name
        before = table_dump(db)
        with pytest.raises(PortalError) as info:
            maintenance.restore(limited, SYSTEM, tmp_path / "backup.db")
        assert info.value.key == "db.pg_needs_createdb"
        assert "CREATEDB" in t(info.value.key, "en") and "CREATEDB" in t(info.value.key, "fr")
        assert table_dump(db) == before
    finally:
        limited.close()
        with psycopg.connect(new_database(), autocommit=True) as admin:
            admin.execute("DROP ROLE portal_limited")
