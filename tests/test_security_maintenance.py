"""Issue 12, maintenance: what an attacker would try against restore, the term purge, the files
and the network binding, each refused (see /docs/RELIABILITY.md, threat model).

* A crafted backup (extra trigger, dropped audit triggers, a view over password hashes, missing
  columns, broken foreign keys) is refused with one bilingual sentence and the live database is
  not touched.
* Member names chosen by a student never steer the purge of a closed term into unrelated audit
  events, and every audit ``detail`` stays valid JSON.
* The database, backups and before-restore copies are private to their owner (0600), and the
  web app listens on 127.0.0.1 unless told otherwise.
"""
from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from matching import accounts, audit, challenges, maintenance, teams
from matching import db as storage
from matching.cli import main
from matching.errors import PortalError
from matching.i18n import t
from tests.conftest import FISHERIES, PASSWORD
from tests.test_backup_restore import altered_pg_backup, old_backup, postgres, table_dump

pytestmark = pytest.mark.backends("sqlite", "postgresql")

SYSTEM = accounts.SYSTEM


# --- 1. Restore trusts the file ------------------------------------------------------------

def _hostile_backup(db, tmp_path, *statements, name="hostile.db", foreign_keys=True, new_database=None):
    """A real backup of the live database, then altered with plain sqlite3 (on PostgreSQL: plain
    SQL as a superuser, dumped again with pg_dump) as an attacker would."""
    path = tmp_path / name
    if postgres(db):
        if not foreign_keys:  # superuser only: no trigger, no foreign-key check
            statements = ("SET session_replication_role = replica", *statements)
        return altered_pg_backup(db, new_database, path, *statements)
    maintenance.backup(db, SYSTEM, path)
    conn = sqlite3.connect(path, isolation_level=None)
    if not foreign_keys:
        conn.execute("PRAGMA foreign_keys = OFF")
    for statement in statements:
        conn.execute(statement)
    conn.close()
    return path


def _refused(db, tmp_path, path, key, *names):
    """``restore`` raises ``key``, names every one of ``names``, and changes nothing in the live database."""
    before = table_dump(db)
    with pytest.raises(PortalError) as info:
        maintenance.restore(db, SYSTEM, path)
    err = info.value
    assert err.key == key, (err.key, err.params)
    assert table_dump(db) == before
    assert not list(tmp_path.glob("*.before-restore-*"))
    for lang in ("en", "fr"):
        sentence = t(err.key, lang, **err.params)
        assert sentence != err.key and str(path) in sentence, sentence
        for name in names:
            assert name in sentence, (lang, name, sentence)
    assert t(err.key, "en", **err.params) != t(err.key, "fr", **err.params)
    return err


PROMOTE = ("CREATE TRIGGER audit_events_promote AFTER INSERT ON audit_events BEGIN "
           "UPDATE users SET role = 'facilitator' WHERE email = 'ana.lopez@sheridancollege.ca'; END")
PG_PROMOTE = ("CREATE FUNCTION promote() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
              "UPDATE users SET role = 'facilitator' WHERE email = 'ana.lopez@sheridancollege.ca'; RETURN NULL; END $$",
              "CREATE TRIGGER audit_events_promote AFTER INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION promote()")


def _promoting_backup(db, tmp_path, new_database):
    return _hostile_backup(db, tmp_path, *(PG_PROMOTE if postgres(db) else (PROMOTE,)), new_database=new_database)


def test_restore_refuses_a_backup_with_a_trigger_that_promotes_a_student(db, world, tmp_path, new_database):
    path = _promoting_backup(db, tmp_path, new_database)
    _refused(db, tmp_path, path, "db.restore_unexpected", "audit_events_promote")
    assert accounts.get_user(db, world["student_a"].id).role == "student"


def test_restore_refuses_a_backup_without_the_append_only_audit_triggers(db, world, tmp_path, new_database):
    on = " ON audit_events" if postgres(db) else ""
    path = _hostile_backup(db, tmp_path, "DROP TRIGGER audit_events_no_delete" + on,
                           "DROP TRIGGER audit_events_no_rewrite" + on, new_database=new_database)
    _refused(db, tmp_path, path, "db.restore_missing", "audit_events_no_delete", "audit_events_no_rewrite")
    with pytest.raises(storage.driver(db).DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit_events")


def test_restore_refuses_a_backup_with_a_view_over_password_hashes(db, world, tmp_path, new_database):
    path = _hostile_backup(db, tmp_path, "CREATE VIEW user_directory AS SELECT email, role, password_hash FROM users",
                           new_database=new_database)
    _refused(db, tmp_path, path, "db.restore_unexpected", "user_directory")
    assert not db.execute("SELECT 1 FROM information_schema.views WHERE table_name = 'user_directory'"
                          if postgres(db) else "SELECT 1 FROM sqlite_master WHERE name = 'user_directory'").fetchall()


def test_restore_refuses_a_backup_claiming_the_current_schema_with_columns_missing(db, world, tmp_path, new_database):
    path = _hostile_backup(db, tmp_path, "ALTER TABLE users DROP COLUMN locked_until", new_database=new_database)
    _refused(db, tmp_path, path, "db.restore_missing", "users.locked_until")


@pytest.mark.backends("postgresql")
def test_restore_refuses_a_backup_with_a_function_rewritten(db, world, tmp_path, new_database):
    """Same names everywhere, but the append-only guard's body lets every delete through."""
    path = _hostile_backup(db, tmp_path, "CREATE OR REPLACE FUNCTION audit_events_refuse() RETURNS trigger "
                           "LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$", new_database=new_database)
    _refused(db, tmp_path, path, "db.restore_altered", "audit_events_refuse()")


@pytest.mark.backends("postgresql")
def test_restore_refuses_a_backup_with_an_extra_table_or_extension_object(db, world, tmp_path, new_database):
    path = _hostile_backup(db, tmp_path, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)",
                           "INSERT INTO notes VALUES (1, 'hello')", "CREATE SCHEMA side",
                           "CREATE TABLE side.users (id INTEGER)", new_database=new_database)
    _refused(db, tmp_path, path, "db.restore_unexpected", "TABLE notes", "SCHEMA side")


def test_restore_refuses_a_backup_whose_table_lost_a_constraint(db, world, tmp_path, new_database):
    """Same columns, no CHECK on the preference rank and no UNIQUE (team, rank): an altered table."""
    if postgres(db):  # the CHECK is part of the table's definition; the UNIQUE is a constraint of its own
        path = _hostile_backup(db, tmp_path, "ALTER TABLE preferences DROP CONSTRAINT preferences_rank_check",
                               new_database=new_database)
        _refused(db, tmp_path, path, "db.restore_altered", "preferences")
        path = _hostile_backup(db, tmp_path, "ALTER TABLE preferences DROP CONSTRAINT preferences_team_id_rank_key",
                               new_database=new_database)
        _refused(db, tmp_path, path, "db.restore_missing", "preferences_team_id_rank_key")
        return
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'preferences'").fetchone()[0]
    loose = (sql.replace("CHECK (rank BETWEEN 1 AND 5)", "").replace(",\n    UNIQUE (team_id, rank)", "")
             .replace("CREATE TABLE preferences", "CREATE TABLE preferences_loose"))
    assert loose != sql
    path = _hostile_backup(db, tmp_path, loose, "INSERT INTO preferences_loose SELECT * FROM preferences",
                           "DROP TABLE preferences", "ALTER TABLE preferences_loose RENAME TO preferences",
                           foreign_keys=False)
    _refused(db, tmp_path, path, "db.restore_altered", "preferences")


def test_restore_refuses_a_backup_with_foreign_key_violations(db, world, tmp_path, new_database):
    path = _hostile_backup(db, tmp_path, "INSERT INTO members (team_id, name, email) VALUES (999, 'Ghost', 'g@x.ca')",
                           "UPDATE users SET team_id = 998 WHERE email = 'ana.lopez@sheridancollege.ca'",
                           foreign_keys=False, new_database=new_database)
    _refused(db, tmp_path, path, "db.restore_foreign_keys", "members", "users")


def test_restore_refuses_a_backup_that_reopens_the_audit_log(db, world, tmp_path, new_database):
    """The purge's flag, left set in the file, would make every audit event rewritable after restore."""
    path = _hostile_backup(db, tmp_path, "INSERT INTO meta (key, value) VALUES ('audit_purge_open', '1')",
                           new_database=new_database)
    _refused(db, tmp_path, path, "db.restore_audit_open")


def test_restore_refuses_an_older_backup_with_an_extra_trigger_before_migrating_it(db, world, tmp_path, new_database):
    if postgres(db):
        hook = ("CREATE FUNCTION hook() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "INSERT INTO meta (key, value) VALUES ('audit_purge_open', '1'); RETURN NULL; END $$",
                "CREATE TRIGGER schema_migrations_hook AFTER INSERT ON schema_migrations "
                "FOR EACH ROW EXECUTE FUNCTION hook()")
    else:
        hook = ("CREATE TRIGGER schema_migrations_hook AFTER INSERT ON schema_migrations BEGIN "
                "INSERT INTO meta (key, value) VALUES ('audit_purge_open', '1'); END",)
    path = old_backup(db, tmp_path, new_database, *hook)
    _refused(db, tmp_path, path, "db.restore_unexpected", "schema_migrations_hook")


def test_restore_compares_with_whatever_the_migrations_say(db, world, tmp_path, monkeypatch):
    """A backup made before a new migration is migrated, then compared with a fresh database."""
    path = tmp_path / "genuine.db"
    maintenance.backup(db, SYSTEM, path)
    extra = (storage.SCHEMA_VERSION + 1, "test: one more table",
             "CREATE TABLE test_notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL DEFAULT '');")
    monkeypatch.setattr(storage, "MIGRATIONS", [*storage.MIGRATIONS, extra])
    monkeypatch.setattr(storage, "SCHEMA_VERSION", extra[0])
    result = maintenance.restore(db, SYSTEM, path)
    assert result["migrated"] == [extra[0]] and "test_notes" in db.table_names()


def test_a_genuine_backup_still_restores(db, world, approved, tmp_path):
    path = tmp_path / "genuine.db"
    maintenance.backup(db, SYSTEM, path)
    assert maintenance.restore(db, SYSTEM, path)["schema_version"] == storage.SCHEMA_VERSION


def test_cli_restore_refuses_a_hostile_backup_before_asking(db, world, tmp_path, db_target, new_database):
    path = _promoting_backup(db, tmp_path, new_database)
    result = CliRunner().invoke(main, ["--db", str(db_target), "restore", str(path)])
    assert result.exit_code == 1, result.output
    assert "audit_events_promote" in result.output and "Replace the current database" not in result.output


# --- 2. Purge steered by member names ------------------------------------------------------

HOSTILE_MEMBERS = [
    {"name": "system", "email": "system@sheridancollege.ca"},          # the CLI operator's actor e-mail
    {"name": "rep@dfo.gc.ca", "email": "rep@dfo.gc.ca"},               # another department's rep
    {"name": '", "to": "', "email": "quote@sheridancollege.ca"},       # JSON punctuation
    {"name": "Term", "email": "t@sheridancollege.ca"},                 # a word inside keys ("term_id")
    {"name": "Al", "email": "al@sheridancollege.ca"},                  # two letters
    {"name": "Ana Lopez", "email": "ana.lopez@sheridancollege.ca"},
]


def _second_term(db):
    """Another term, still open, with its own team, student and audit trail."""
    now = storage.now_iso()
    with storage.transaction(db):
        term = storage.insert(db, "terms", {"name": "Fall 2027", "state": "intake", "created_at": now})
        team = storage.insert(db, "teams", {"term_id": term, "name": "Harbour Lab", "updated_at": now})
    student = accounts.create_user(db, SYSTEM, {"email": "cleo.martin@sheridancollege.ca", "name": "Cleo Martin",
                                                "role": "student", "team_id": team}, PASSWORD)
    teams.save_team(db, student, team, {"name": "Harbour Lab", "members": [
        {"name": "Cleo Martin", "email": "cleo.martin@sheridancollege.ca"},
        {"name": "Alia Term", "email": "alia@sheridancollege.ca"}]})
    accounts.authenticate(db, "cleo.martin@sheridancollege.ca", PASSWORD)
    return term


def _related(db, event, student_ids, team_ids, term_id) -> bool:
    return (event["actor_id"] in student_ids
            or (event["target_type"] == "user" and event["target_id"] in {str(i) for i in student_ids})
            or (event["target_type"] == "team" and event["target_id"] in {str(i) for i in team_ids})
            or (event["target_type"] == "term" and event["target_id"] == str(term_id)))


def test_member_names_never_steer_the_purge_into_unrelated_events(db, world, approved):
    # The student names their team's members to match text all over the audit log.
    teams.save_team(db, world["student_a"], world["team_a"], {"name": "Access Crew", "members": HOSTILE_MEMBERS})
    accounts.authenticate(db, "ana.lopez@sheridancollege.ca", PASSWORD)
    # Unrelated events: the demo load, another department's challenge, another term's people.
    with storage.transaction(db):
        audit.record(db, SYSTEM, "demo.load", detail={"term": 1, "teams": 3, "system": "ready"})
    dfo = challenges.save_draft(db, world["rep_dfo"], {**FISHERIES, "title": "Term reports for system operators"})
    challenges.submit(db, world["rep_dfo"], dfo.id)
    other_term = _second_term(db)
    with storage.transaction(db):
        db.execute("UPDATE terms SET state = 'closed' WHERE id = ?", [world["term"]])
    student_ids = [world["student_a"].id, world["student_b"].id]
    team_ids = [world["team_a"], world["team_b"]]
    before = {e["id"]: e for e in db.query("SELECT * FROM audit_events")}
    unrelated = {i: e for i, e in before.items() if not _related(db, e, student_ids, team_ids, world["term"])}
    assert any(e["actor_email"] == "system" for e in unrelated.values())
    assert any(e["actor_email"] == "rep@dfo.gc.ca" for e in unrelated.values())
    assert any(e["action"] == "team.save" and e["target_id"] != str(world["team_a"]) for e in unrelated.values())

    maintenance.purge_term(db, world["facilitator"], world["term"])

    after = {e["id"]: e for e in db.query("SELECT * FROM audit_events")}
    for event in after.values():
        json.loads(event["detail"])  # every detail is still valid JSON
    changed = [i for i, e in unrelated.items() if after[i] != e]
    assert not changed, [(before[i], after[i]) for i in changed]
    # ... and the term's own people are gone from the log.
    related_text = repr([after[i] for i in before if i not in unrelated]).lower()
    for person in ("ana.lopez@sheridancollege.ca", "ben.chu@sheridancollege.ca"):
        assert person not in related_text
    assert other_term and accounts.authenticate(db, "cleo.martin@sheridancollege.ca", PASSWORD)


def test_purge_keeps_every_audit_detail_valid_json_and_words_whole(db, world, approved):
    """A short or punctuation-only member name never cuts into other words or JSON syntax."""
    teams.save_team(db, world["student_a"], world["team_a"], {"name": "Access Crew", "members": [
        {"name": "Al", "email": "al@sheridancollege.ca"}, {"name": '": "', "email": "x@sheridancollege.ca"},
        {"name": '", "', "email": "y@sheridancollege.ca"}]})
    with storage.transaction(db):
        audit.record(db, world["facilitator"], "term.advance", target_type="term", target_id=world["term"],
                     reason="final approval", detail={"from": "active", "to": "closed", "note": "all fine"})
        db.execute("UPDATE terms SET state = 'closed' WHERE id = ?", [world["term"]])
    maintenance.purge_term(db, world["facilitator"], world["term"])
    for (detail,) in db.execute("SELECT detail FROM audit_events"):
        json.loads(detail)
    advance = storage.one(db, "SELECT * FROM audit_events WHERE action = 'term.advance'")
    assert advance["reason"] == "final approval"
    assert json.loads(advance["detail"]) == {"from": "active", "to": "closed", "note": "all fine"}


# --- 3. Files and network ------------------------------------------------------------------

@pytest.fixture
def usual_umask():
    old = os.umask(0o022)  # what most servers run with: new files world-readable
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.sqlite_only("the database file and its -wal/-shm files (PostgreSQL keeps its files in its own data folder)")
def test_database_and_its_wal_files_are_private(tmp_path, usual_umask):
    path = tmp_path / "fresh" / "portal.db"
    database = storage.connect(path)
    with storage.transaction(database):
        database.execute("UPDATE meta SET value = value WHERE key = 'data_version'")
    files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    assert len(files) == 3
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
    database.close()


def test_backups_and_before_restore_copies_are_private(db, tmp_path, usual_umask):
    maintenance.backup(db, SYSTEM, tmp_path / "backups" / "b.db")
    assert _mode(tmp_path / "backups" / "b.db") == 0o600
    result = maintenance.restore(db, SYSTEM, tmp_path / "backups" / "b.db", previous_copy=tmp_path / "previous.db")
    assert _mode(result["previous"]) == 0o600


def test_serve_listens_on_localhost_unless_told_otherwise(monkeypatch):
    calls = []
    # serve execs the server (tests/test_serve.py runs it for real); here the command is only recorded.
    monkeypatch.setattr("os.execv", lambda path, command: calls.append(command))
    runner = CliRunner()
    assert runner.invoke(main, ["serve"]).exit_code == 0
    assert runner.invoke(main, ["serve", "--address", "0.0.0.0"]).exit_code == 0
    default, everywhere = calls
    assert default[default.index("--server.address") + 1] == "127.0.0.1"
    assert everywhere[everywhere.index("--server.address") + 1] == "0.0.0.0"
    assert "127.0.0.1" in runner.invoke(main, ["serve", "--help"]).output
