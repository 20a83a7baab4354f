"""Keeping the data safe: online backup, checked restore, purging a closed term, the audit log.

* :func:`backup` copies the live database with SQLite's online backup API: one consistent
  snapshot, taken while the app keeps running (WAL readers never block writers). The copy is
  written next to its destination and renamed into place, so a half-written backup never exists.
* :func:`restore` refuses anything that is not a healthy portal database or comes from a newer
  schema. A backup is not trusted: its schema must equal, object by object (tables, columns,
  indexes, triggers, views), a fresh database migrated to the same version, before anything of
  it is run (:func:`check_schema`), its foreign keys must hold and its audit log must be closed.
  It then stages the file, migrates an older schema (and compares again with a fresh database of
  this schema), keeps a copy of the current database and replaces every page of the live
  database in one backup-API step (atomic for every other connection).
* :func:`purge_term` anonymises a closed term's personal data and keeps its figures.
* :func:`audit_log` lets facilitators read the audit log (its spreadsheet export is the
  ``audit`` kind of :mod:`matching.importexport`, formulas neutralised).

The audit log is append-only (migration 4 installs triggers that refuse DELETE and any UPDATE).
The one exception is :func:`purge_term`: personal data must be erasable from the log too, so
inside its own transaction it opens the ``audit_purge_open`` flag that lets it rewrite the
``actor_email``, ``reason`` and ``detail`` text of the term's own events (chosen by the ids of
the term's people and records, never by searching the whole log for text). Who (actor id), what
(action), when and which record (target) are never rewritable, and no event is ever deleted.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import sqlite_utils

from . import audit
from . import db as storage
from .lifecycle import TERM_STATES_READ_ONLY
from .permissions import SOME_PROGRAMME, authorize
from .errors import IllegalTransition, NotFound, PortalError
from .models import User

SQLITE_HEADER = b"SQLite format 3\x00"
#: Tables every portal database has had since schema 1; a file without them is not ours.
CORE_TABLES = ("schema_migrations", "terms", "departments", "teams", "members", "users", "challenges",
               "preferences", "pairings", "audit_events")
PURGED = "[purged]"


# --- Backup --------------------------------------------------------------------------------

def backup(db: sqlite_utils.Database, actor: User, path: str | os.PathLike, *,
           overwrite: bool = False) -> dict[str, Any]:
    """Write a consistent copy of the live database to ``path``; return what was written."""
    authorize(actor, "db.backup")
    target = Path(path)
    if target.exists() and not overwrite:
        raise PortalError("db.backup_exists", f"{target} exists", path=str(target))
    if storage.dialect(db) == "postgresql":
        from . import pg_backup
        pg_backup.dump(db, target)  # pg_dump --format=custom (matching/pg_backup.py)
        detail = {"path": str(target), "format": "pg_dump custom"}
    else:
        _copy_database(db.conn, target)
        detail = {"path": str(target)}
    with storage.transaction(db):
        audit.record(db, actor, "db.backup", target_type="database", detail=detail)
    return {"path": str(target), "bytes": target.stat().st_size, "schema_version": storage.schema_version(db)}


def _copy_database(source: sqlite3.Connection, target: Path) -> None:
    """Copy ``source`` into a self-contained file at ``target`` (rollback journal, no -wal),
    readable by its owner only (backups, before-restore copies, staged restores)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    _create_private(partial)  # a copy holds every hash and all personal data
    copy = sqlite3.connect(partial, isolation_level=None)
    try:
        source.backup(copy)  # all pages in one step: one read snapshot of the source
        copy.execute("PRAGMA journal_mode = DELETE")
    finally:
        copy.close()
    with open(partial, "rb") as f:
        os.fsync(f.fileno())
    os.replace(partial, target)


def _create_private(path: Path) -> None:
    """Create ``path`` empty, readable and writable by its owner only (0600) whatever the umask;
    SQLite gives its -journal file the same mode."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


# --- Restore -------------------------------------------------------------------------------

def inspect_backup(path: str | os.PathLike, db=None) -> dict[str, Any]:
    """Check a would-be backup without changing it: ``{"schema_version", "tables"}`` or raise.

    Refused: a missing file or one that is not SQLite (``db.not_a_database``), an SQLite file
    without the portal's tables (``db.not_portal``), a damaged one (``db.corrupt``), one from a
    newer portal (``db.newer_schema``). When ``db`` (the database it would be restored into) is
    PostgreSQL, the file must be a pg_dump custom-format archive of a portal database, checked by
    :func:`matching.pg_backup.inspect`.
    """
    if db is not None and storage.dialect(db) == "postgresql":
        from . import pg_backup
        return pg_backup.inspect(db, path)[0]
    path = Path(path)
    try:
        with open(path, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError:
        header = b""
    if header.startswith(b"PGDMP"):  # a PostgreSQL portal's backup: restored only into PostgreSQL
        raise PortalError("db.sqlite_pg_backup", f"{path} is a pg_dump archive", path=str(path))
    if header != SQLITE_HEADER:
        raise PortalError("db.not_a_database", f"{path} is not SQLite", path=str(path))
    conn = _read_only(path)
    try:
        return _inspect(conn, path)
    except sqlite3.DatabaseError as err:
        raise PortalError("db.corrupt", f"{path}: {err}", path=str(path)) from None
    finally:
        conn.close()


def _read_only(path: str | os.PathLike) -> sqlite3.Connection:
    """Open a database so that nothing can write to it (the backup being checked or restored)."""
    return sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)


def _inspect(conn: sqlite3.Connection, path: Path) -> dict[str, Any]:
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [t for t in CORE_TABLES if t not in tables]
    if missing:
        raise PortalError("db.not_portal", f"{path} lacks {missing}", path=str(path), missing=", ".join(missing))
    if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
        raise PortalError("db.corrupt", f"{path} is damaged", path=str(path))
    version = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] or 0
    if version > storage.SCHEMA_VERSION:
        raise PortalError("db.newer_schema", f"{path} has schema {version}", found=version,
                          supported=storage.SCHEMA_VERSION)
    # Nothing of the file is run (no row counted, no migration) before its schema is known to be ours.
    check_schema(conn, path, version)
    counts = {t: conn.execute(f"SELECT COUNT(*) FROM [{t}]").fetchone()[0] for t in sorted(tables)}
    return {"schema_version": version, "tables": counts}


# --- What a genuine portal database looks like ---------------------------------------------

def schema_of(conn: sqlite3.Connection) -> dict[tuple[str, str], dict[str, Any]]:
    """Every schema object of ``conn``: ``{(kind, name): description}``.

    Kinds: ``TABLE``, ``INDEX``, ``TRIGGER``, ``VIEW`` (sqlite_master), and ``COLUMN`` (``table.column``,
    from ``PRAGMA table_xinfo``: type, NOT NULL, default, primary key, hidden). A table's own
    description holds its SQL (CHECK, UNIQUE, REFERENCES...), its foreign keys and its index
    list, so a constraint added or removed changes it. SQLite's planner statistics
    (``sqlite_stat*``) are not schema and are left out.
    """
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                        "WHERE name NOT LIKE 'sqlite_stat%' ORDER BY type, name").fetchall()
    for kind, name, table, sql in rows:
        if kind == "index" and sql is None:
            continue  # UNIQUE / PRIMARY KEY autoindexes: part of their table's index list
        description: dict[str, Any] = {"on": table, "sql": " ".join((sql or "").split())}
        if kind == "table":
            description["foreign_keys"] = conn.execute(f"PRAGMA foreign_key_list([{name}])").fetchall()
            description["indexes"] = sorted(
                (row[2], row[3], tuple(conn.execute(f"PRAGMA index_xinfo([{row[1]}])").fetchall()))
                for row in conn.execute(f"PRAGMA index_list([{name}])").fetchall())
            for column in conn.execute(f"PRAGMA table_xinfo([{name}])").fetchall():
                objects[("COLUMN", f"{name}.{column[1]}")] = {"on": name, "definition": column[2:]}
        elif kind == "index":
            description["columns"] = conn.execute(f"PRAGMA index_xinfo([{name}])").fetchall()
        objects[(kind.upper(), name)] = description
    return objects


def reference_schema(version: int) -> dict[tuple[str, str], dict[str, Any]]:
    """The schema of a fresh database migrated to ``version`` by :data:`matching.db.MIGRATIONS`."""
    with tempfile.TemporaryDirectory(prefix="portal-schema-") as folder:
        fresh = storage.connect(Path(folder) / "reference.db", migrate_schema=False)
        try:
            if version:
                storage.migrate(fresh, target=version)
            return schema_of(fresh.conn)
        finally:
            fresh.close()


def check_schema(conn: sqlite3.Connection, path: str | os.PathLike, version: int) -> None:
    """Refuse ``conn`` unless it is, object by object, a genuine portal database of ``version``
    whose foreign keys all hold and whose audit log is closed to rewriting.

    Raises (first found): ``db.restore_unexpected`` (objects a genuine database does not have: an
    extra trigger, view, table, index or column), ``db.restore_missing`` (objects it lacks: the
    append-only triggers, a column), ``db.restore_altered`` (same name, another definition),
    ``db.restore_foreign_keys`` (rows pointing to nothing), ``db.restore_audit_open`` (the purge's
    flag left set, which would make the audit log rewritable).
    """
    found, expected = schema_of(conn), reference_schema(version)
    differences = {
        "db.restore_unexpected": [key for key in found if key not in expected],
        "db.restore_missing": [key for key in expected if key not in found],
        "db.restore_altered": [key for key in found if key in expected and found[key] != expected[key]],
    }
    if differences["db.restore_altered"]:
        # A changed column also changes its table's SQL: name the column, not both.
        columns = {found[key]["on"] for key in differences["db.restore_altered"] if key[0] == "COLUMN"}
        differences["db.restore_altered"] = [key for key in differences["db.restore_altered"]
                                             if not (key[0] == "TABLE" and key[1] in columns)]
    for key, objects in differences.items():
        if objects:
            named = ", ".join(f"{kind} {name}" for kind, name in sorted(objects))
            raise PortalError(key, f"{path}: {key.split('_', 1)[1]} {named}", path=str(path),
                              version=version, objects=named)
    broken = sorted({row[0] for row in conn.execute("PRAGMA foreign_key_check")})
    if broken:
        raise PortalError("db.restore_foreign_keys", f"{path}: foreign keys broken in {broken}",
                          path=str(path), tables=", ".join(broken))
    if "meta" in {name for kind, name in found if kind == "TABLE"} and \
            conn.execute("SELECT 1 FROM meta WHERE key = 'audit_purge_open'").fetchone():
        raise PortalError("db.restore_audit_open", f"{path}: audit_purge_open is set", path=str(path))


def restore(db: sqlite_utils.Database, actor: User, path: str | os.PathLike, *,
            previous_copy: str | os.PathLike | None = None) -> dict[str, Any]:
    """Replace the live database's content with the backup at ``path``.

    The current content is first saved to ``previous_copy`` (default: next to the live file,
    ``<name>.before-restore-<timestamp>``), so a restore can itself be undone.
    """
    authorize(actor, "db.restore")
    if storage.dialect(db) == "postgresql":
        return _restore_postgresql(db, actor, Path(path), previous_copy)
    found = inspect_backup(path)
    live = Path(_database_file(db))
    staged_path = live.with_name(f".{live.name}.{os.getpid()}.restore")
    stamp = storage.now_iso().replace(":", "").replace("-", "")[:15]
    previous = Path(previous_copy) if previous_copy else live.with_name(f"{live.name}.before-restore-{stamp}")
    version_before = storage.data_version(db)
    source = _read_only(path)
    try:
        _copy_database(source, staged_path)
    finally:
        source.close()
    try:
        staged = storage.connect(staged_path, migrate_schema=False)
        try:
            applied = storage.migrate(staged)  # an older backup is brought up to this schema
            if applied:  # ... and must then be what a fresh database of this schema is
                check_schema(staged.conn, path, storage.SCHEMA_VERSION)
            _copy_database(db.conn, previous)
            # One backup-API step writes every page under the destination's write lock: other
            # connections see either the old database or the restored one, never a mixture.
            staged.conn.backup(db.conn)
        finally:
            staged.close()
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(staged_path) + suffix).unlink(missing_ok=True)
    with storage.transaction(db):
        # The restored file's counter may repeat a number that ranker caches hold for the data
        # just replaced: move it past every number the live database had.
        storage.set_data_version_above(db, version_before)
        audit.record(db, actor, "db.restore", target_type="database",
                     detail={"from": str(path), "schema_version": found["schema_version"],
                             "migrated": applied, "previous": str(previous)})
    return {"path": str(path), "schema_version": storage.schema_version(db), "migrated": applied,
            "previous": str(previous)}


def _restore_postgresql(db, actor: User, path: Path, previous_copy) -> dict[str, Any]:
    """:func:`restore` on PostgreSQL (matching/pg_backup.py): the same refusals, the replaced
    content kept as a pg_dump archive (default: next to the backup), audited in the same transaction."""
    from . import pg_backup
    stamp = storage.now_iso().replace(":", "").replace("-", "")[:15]
    dbname = db.conn.info.dbname
    previous = Path(previous_copy) if previous_copy else \
        path.resolve().with_name(f"{dbname}.before-restore-{stamp}.dump")

    def record(version: int, applied: list[int]) -> None:
        audit.record(db, actor, "db.restore", target_type="database",
                     detail={"from": str(path), "schema_version": version, "migrated": applied,
                             "previous": str(previous), "format": "pg_dump custom",
                             # every table, the audit log too, replaced by the backup's: its
                             # TRUNCATE guard was off inside this transaction only
                             "audit_log_replaced": True})

    result = pg_backup.restore(db, path, previous, record)
    return {"path": str(path), "schema_version": storage.schema_version(db), "migrated": result["migrated"],
            "previous": str(previous)}


def _database_file(db: sqlite_utils.Database) -> str:
    return db.execute("PRAGMA database_list").fetchone()[2]


# --- Purge a closed term -------------------------------------------------------------------

def purge_term(db: sqlite_utils.Database, actor: User, term_id: int) -> dict[str, int]:
    """Anonymise a closed term's personal data; keep every count, score and rank.

    Erased: team members' names and e-mails; the term's student accounts (name, e-mail,
    password: they can no longer sign in); free text that may name people (preference reasons,
    feedback comments, replies and thread messages, pairing and rule reasons, review comments, the SME contact on
    the term's challenges, final assessment comments; final summaries and outcome notes keep their
    substance for the outcomes library but lose every name of the term's people and the team's
    opt-in to be named, see :func:`matching.library.purge_term_outcomes`); and, in the audit log, the text of the events *of that term* that
    names them (see :func:`_scrub_audit`). Kept: every row (so counts stay right), teams' public
    profiles, preference ranks, pairing scores, feedback scores, each audit event's actor id,
    action, time and target, and every other event byte for byte.
    """
    authorize(actor, "term.purge", programme_id=SOME_PROGRAMME)
    with storage.transaction(db):
        term = storage.one(db, "SELECT * FROM terms WHERE id = ?", [term_id])
        if term is None:
            raise NotFound("error.not_found", f"term {term_id}")
        authorize(actor, "term.purge", programme_id=term["programme_id"])
        if term["state"] not in TERM_STATES_READ_ONLY:
            raise IllegalTransition("term.not_closed", f"term {term_id} is {term['state']}",
                                    state=term["state"], move="purge")
        team_ids = [r[0] for r in db.execute("SELECT id FROM teams WHERE term_id = ?", [term_id])]
        people = _personal_strings(db, team_ids)
        records = _term_records(db, term_id, team_ids)
        counts = _anonymise_rows(db, term_id, team_ids)
        counts["audit_events"] = _scrub_audit(db, records, people)
        audit.record(db, actor, "term.purge", target_type="term", target_id=term_id, detail=counts)
    return counts


def _in(ids: list[int]) -> str:
    return ", ".join(str(int(i)) for i in ids) or "NULL"


#: Names and e-mails a previous purge wrote: not people, never matched again.
_ANONYMISED = re.compile(r"member \d+|former student \d+|purged-\d+@invalid\.invalid")


def _personal_strings(db, team_ids: list[int]) -> set[str]:
    """Names and e-mails of the term's members and student accounts (lower-cased).

    Only used on the term's own audit events, as whole words; a string without a letter or a
    digit (``": "``) names nobody and is left out."""
    rows = db.execute(f"SELECT name, email FROM members WHERE team_id IN ({_in(team_ids)}) UNION "
                      f"SELECT name, email FROM users WHERE role = 'student' AND team_id IN ({_in(team_ids)})")
    strings = {" ".join(value.split()).lower() for row in rows for value in row if value and value.strip()}
    return {s for s in strings if any(c.isalnum() for c in s) and not _ANONYMISED.fullmatch(s)}


def _term_records(db, term_id: int, team_ids: list[int]) -> dict[str, Any]:
    """The ids of the term's records, by audit ``target_type`` (as the log stores them: text),
    and its students (ids and account e-mails)."""
    teams = _in(team_ids)
    pairings = f"SELECT id FROM pairings WHERE term_id = {int(term_id)}"

    def ids(sql: str) -> set[str]:
        return {str(row[0]) for row in db.execute(sql)}

    students = db.execute(f"SELECT id, email FROM users WHERE role = 'student' AND team_id IN ({teams})").fetchall()
    return {
        "targets": {
            "term": {str(int(term_id))},
            "team": {str(int(i)) for i in team_ids},
            "user": {str(user_id) for user_id, _ in students},
            "member": ids(f"SELECT id FROM members WHERE team_id IN ({teams})"),
            "pairing": ids(pairings),
            "pairing_rule": ids(f"SELECT id FROM pairing_rules WHERE term_id = {int(term_id)}"),
            "feedback_round": ids(f"SELECT id FROM feedback_rounds WHERE term_id = {int(term_id)}"),
            "feedback_entry": ids(f"SELECT id FROM feedback_entries WHERE pairing_id IN ({pairings})"),
        },
        "student_ids": {user_id for user_id, _ in students},
        "student_emails": {email.strip().lower() for _, email in students if email},
    }


def _anonymise_rows(db, term_id: int, team_ids: list[int]) -> dict[str, Any]:
    teams = _in(team_ids)
    from .library import purge_term_outcomes  # before the names it looks for are erased below
    counts: dict[str, Any] = purge_term_outcomes(db, term_id, team_ids)
    members = db.execute(f"SELECT id FROM members WHERE team_id IN ({teams})").fetchall()
    for (member_id,) in members:
        storage.update(db, "members", member_id, {"name": f"Member {member_id}", "email": ""})
    counts["members"] = len(members)
    students = [r[0] for r in db.execute(f"SELECT id FROM users WHERE role = 'student' AND team_id IN ({teams})")]
    for user_id in students:
        storage.update(db, "users", user_id, {
            "name": f"Former student {user_id}", "email": f"purged-{user_id}@invalid.invalid",
            "password_hash": "purged", "failed_attempts": 0, "locked_until": None})
    counts["users"] = len(students)
    pairings = f"SELECT id FROM pairings WHERE term_id = {int(term_id)}"
    counts["preferences"] = db.execute(
        f"UPDATE preferences SET reason = '' WHERE team_id IN ({teams}) AND reason != ''").rowcount
    counts["feedback_entries"] = db.execute(
        f"UPDATE feedback_entries SET comments = '', reply = '' WHERE pairing_id IN ({pairings}) "
        "AND (comments != '' OR reply != '')").rowcount
    counts["feedback_messages"] = db.execute(
        f"UPDATE feedback_messages SET body = '' WHERE entry_id IN (SELECT id FROM feedback_entries "
        f"WHERE pairing_id IN ({pairings})) AND body != ''").rowcount
    counts["pairing_rules"] = db.execute(
        "UPDATE pairing_rules SET reason = ? WHERE term_id = ? AND reason != ?", [PURGED, term_id, PURGED]).rowcount
    if "reason" in db["pairings"].columns_dict:
        db.execute("UPDATE pairings SET reason = '' WHERE term_id = ?", [term_id])
    counts["challenges"] = db.execute(
        "UPDATE challenges SET comments = '', sme_name = '', sme_email = '' WHERE term_id = ? "
        "AND (comments != '' OR sme_name != '' OR sme_email != '')", [term_id]).rowcount
    from .notifications import purge_term_text
    counts.update(purge_term_text(db, term_id, students))
    return counts


def _scrub_audit(db, records: dict[str, Any], people: set[str]) -> int:
    """Erase the term's people from the term's own audit events; return how many events changed.

    An event is the term's when its actor is one of the term's students, when its target is one
    of the term's records (the term, its teams, students, members, pairings, rules, feedback
    rounds and entries), or when it is a failed sign-in typed with a student's exact e-mail.
    In those events only: the actor e-mail of a student becomes ``[purged]``; a reason that names
    one of the term's people (as a whole word, any case) becomes ``[purged]``; in ``detail``, each
    JSON string value that names one becomes ``[purged]`` (keys and structure kept, so the detail
    stays valid JSON). No other event is read for text, let alone rewritten: what a student
    chose as a member's name cannot reach another department's, term's or the operator's events.
    """
    targets, student_ids = records["targets"], records["student_ids"]
    names = _names_pattern(people)
    if not student_ids and names is None:
        return 0  # nobody to erase
    changed = 0
    db.execute("INSERT INTO meta (key, value) VALUES ('audit_purge_open', '1')")
    try:
        for event in list(db.query("SELECT id, actor_id, actor_email, action, target_type, target_id, reason, "
                                   "detail FROM audit_events")):
            anonymous_attempt = (event["actor_id"] is None and event["action"] == "auth.sign_in_failed"
                                 and (event["actor_email"] or "").strip().lower() in records["student_emails"])
            if not (event["actor_id"] in student_ids or anonymous_attempt
                    or event["target_id"] in targets.get(event["target_type"], ())):
                continue
            new = dict(event)
            if event["actor_id"] in student_ids or anonymous_attempt:
                new["actor_email"] = PURGED
            if names and event["reason"] and names.search(event["reason"]):
                new["reason"] = PURGED
            new["detail"] = _scrubbed_detail(event["detail"], names)
            if any(new[key] != event[key] for key in ("actor_email", "reason", "detail")):
                db.execute("UPDATE audit_events SET actor_email = ?, reason = ?, detail = ? WHERE id = ?",
                           [new["actor_email"], new["reason"], new["detail"], event["id"]])
                changed += 1
    finally:
        db.execute("DELETE FROM meta WHERE key = 'audit_purge_open'")
    return changed


def _names_pattern(people: set[str]) -> re.Pattern | None:
    """One case-insensitive pattern matching any of ``people`` as a whole word (never inside
    another word: "Al" does not match "final")."""
    if not people:
        return None
    alternatives = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in sorted(people, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _scrubbed_detail(detail: str, names: re.Pattern | None) -> str:
    """``detail`` with every JSON string value that names someone replaced by ``[purged]``;
    unchanged (the same text) when nothing does."""
    if names is None or not detail or not names.search(detail):
        return detail
    try:
        value = json.loads(detail)
    except ValueError:
        return json.dumps(PURGED)  # not JSON (never written by audit.record): erased whole

    def scrub(item: Any) -> Any:
        if isinstance(item, str):
            return PURGED if names.search(item) else item
        if isinstance(item, list):
            return [scrub(i) for i in item]
        if isinstance(item, dict):
            return {key: scrub(i) for key, i in item.items()}
        return item

    cleaned = scrub(value)
    return detail if cleaned == value else json.dumps(cleaned, ensure_ascii=False)


def find_term(db: sqlite_utils.Database, name_or_id: str) -> int:
    """A term's id from its id or its (case-insensitive) name."""
    from .terms import resolve_term
    return resolve_term(db, name_or_id).id


# --- Audit log -----------------------------------------------------------------------------

def audit_log(db: sqlite_utils.Database, actor: User, *, action: str | None = None,
              limit: int | None = None) -> list[dict]:
    """The audit log, newest first (facilitators)."""
    authorize(actor, "audit.view")
    return audit.events(db, action=action, limit=limit)
