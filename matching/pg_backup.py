"""Backup and restore of a PostgreSQL portal database (issue 15.4), with the refusals of the SQLite ones.

:func:`matching.maintenance.backup` and :func:`~matching.maintenance.restore` call this module when
the live database is PostgreSQL. The tools are PostgreSQL's own, ``pg_dump`` and ``pg_restore`` of
the server's major version (Debian's ``/usr/lib/postgresql/<major>/bin``, else the ones on
``PATH`` when they are as new as the server), in their custom format (``-Fc``). The password never
appears on a command line: the tools get the connection string without it and ``PGPASSWORD`` in
their environment only.

**Backup**: ``pg_dump -Fc`` (one consistent snapshot, taken while the app keeps running) into a
private (0600) partial file renamed into place.

**Restore** trusts nothing in the file. In order, before the live database is touched:

1. the file must be a custom-format archive (its ``PGDMP`` signature; a plain-SQL file or an
   SQLite backup is refused by name) that ``pg_restore --list`` reads;
2. the whole script ``pg_restore`` would run is read *without connecting anywhere* and compared,
   entry by entry (table, column, constraint, index, trigger, function, collation, sequence...),
   with the script of a fresh database migrated to the backup's schema version by this portal's
   migrations (:func:`reference_entries`): any entry the reference lacks, any it has that the file
   lacks, any defined differently is refused (the same ``db.restore_unexpected`` /
   ``db.restore_missing`` / ``db.restore_altered`` as on SQLite). Rows are only data: each row
   must have exactly its table's number of fields, and every ``COPY`` statement must equal the
   reference's, so no SQL can hide in the data section. A truncated file fails ``pg_restore``'s
   full read (``db.pg_dump_damaged``); a newer schema, a dump of another database, the purge's
   flag left open are refused as on SQLite;
3. the file is restored into a scratch database (``CREATE DATABASE``, dropped afterwards): foreign
   keys that do not hold fail there (``db.restore_foreign_keys``); an older schema is migrated and
   compared again with a fresh database of this schema;
4. the live database's content is saved aside (``pg_dump``, ``<db>.before-restore-<time>.dump``
   next to the backup unless told), then replaced **in one transaction** (the portal's write lock;
   ``TRUNCATE`` of every table, rows copied from the scratch database with ``COPY``, identity
   sequences set as the backup had them, the data version moved past every number the live
   database had, the ``db.restore`` audit event): other connections see the old content or the
   restored one, never a mixture. Nothing of the live database changes on any refusal.

The table list always comes from the schema (the catalog and the dump), never from a list here:
migrations added later are covered.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from . import db as storage
from .errors import PortalError

#: The first bytes of a pg_dump custom-format archive.
CUSTOM_SIGNATURE = b"PGDMP"
SQLITE_HEADER = b"SQLite format 3\x00"
#: Where Debian installs each major version's client programs.
DEBIAN_BIN = "/usr/lib/postgresql/{major}/bin"
#: Seconds a pg_dump / pg_restore may take before it is stopped (a backup of a large database
#: takes seconds; an hour means something is wrong).
TOOL_TIMEOUT = 3600


# --- The tools -------------------------------------------------------------------------------------

def server_major(db) -> int:
    return int(db.execute("SHOW server_version_num").fetchone()[0]) // 10000


def tool(db, name: str) -> str:
    """The path of ``pg_dump`` / ``pg_restore`` / ``psql`` for the server's major version, or a
    clear refusal naming the tool and the package that provides it."""
    major = server_major(db)
    candidate = Path(DEBIAN_BIN.format(major=major)) / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which(name)
    if found:
        try:
            out = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        version = re.search(r"(\d+)(?:\.\d+)?", out)
        if version and int(version.group(1)) >= major:
            return found
    raise PortalError("db.pg_tool_missing", f"{name} for PostgreSQL {major} not found", tool=name, major=major)


def _connection(conninfo: str, dbname: str | None = None) -> tuple[str, dict[str, str]]:
    """A connection string without the password, and the environment that carries it."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
    params = conninfo_to_dict(conninfo)
    password = params.pop("password", None)
    if dbname is not None:
        params["dbname"] = dbname
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items()}), env


def tool_command(db, name: str, *args: str, dbname: str | None = None) -> tuple[list[str], dict[str, str]]:
    """``[tool, --dbname=<conninfo without password>, *args]`` and its environment."""
    conninfo, env = _connection(db.uri, dbname)
    return [tool(db, name), f"--dbname={conninfo}", *args], env


def _run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT)


def _first_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()] or lines
    return (errors[0] if errors else "no message")[:300]


# --- Backup ------------------------------------------------------------------------------------------

def dump(db, target: Path) -> None:
    """``pg_dump -Fc`` of the live database into ``target``: private, whole or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    _create_private(partial)
    try:
        command, env = tool_command(db, "pg_dump", "--format=custom", f"--file={partial}")
        result = _run(command, env)
        if result.returncode != 0:
            raise PortalError("db.pg_tool_failed", result.stderr, tool="pg_dump", detail=_first_error(result.stderr))
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _create_private(path: Path) -> None:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


# --- Reading an archive without running it ---------------------------------------------------------

_HEADER = re.compile(r"^-- (?:Data for )?Name: (?P<name>.*); Type: (?P<type>[A-Z][A-Z ]*); "
                     r"Schema: (?P<schema>[^;]*); Owner: [^;]*$")
_RESTRICT = re.compile(r"^\\(?:un)?restrict [A-Za-z0-9]+$")  # pg_restore's script guard (CVE-2025-8714)
_COPY = re.compile(r'^COPY (?P<table>[\w."]+) \((?P<columns>[^)]*)\) FROM stdin;$')
_SETVAL = re.compile(r"^(SELECT pg_catalog\.setval\('[^']*', )\d+, (?:true|false)(\);)$")
#: Rows kept while reading (the rest are only counted): the schema version, the purge's flag.
_KEPT_ROWS = ("schema_migrations", "meta")


class Archive:
    """What ``pg_restore`` would run for one archive, as entries ``{(TYPE, name): lines}``, and
    per table its number of rows."""

    def __init__(self):
        self.entries: dict[tuple[str, str], list[str]] = {}
        self.duplicates: list[tuple[str, str]] = []
        self.rows: dict[str, int] = {}
        self.kept: dict[str, list[list[str]]] = {}
        self.bad_rows: list[str] = []


def read_archive(db, path: Path) -> Archive:
    """Parse the script ``pg_restore -f -`` prints for ``path`` (nothing is connected to)."""
    command = [tool(db, "pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(path)]
    archive = Archive()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors)
        try:
            _parse(_lines(process.stdout), archive)
        finally:
            process.stdout.close()
            code = process.wait(timeout=TOOL_TIMEOUT)
        errors.seek(0)
        stderr = errors.read().decode("utf-8", "replace")
    if code != 0:
        raise PortalError("db.pg_dump_damaged", stderr, path=str(path), detail=_first_error(stderr))
    return archive


def _lines(stream) -> Iterator[str]:
    for raw in stream:
        yield raw.decode("utf-8", "surrogateescape").rstrip("\n")


def _parse(lines: Iterable[str], archive: Archive) -> None:
    key: tuple[str, str] = ("PREAMBLE", "")
    body: list[str] = archive.entries.setdefault(key, [])
    copying: tuple[str, int] | None = None  # (table, number of fields) inside a COPY block
    for line in lines:
        if copying is not None:
            table, fields = copying
            if line == "\\.":
                copying = None
                continue
            archive.rows[table] += 1
            values = line.split("\t")
            if len(values) != fields:
                archive.bad_rows.append(table)
            elif table in _KEPT_ROWS:
                archive.kept.setdefault(table, []).append(values)
            continue
        header = _HEADER.match(line)
        if header:
            schema = header.group("schema")
            name = header.group("name") if schema in ("public", "-") else f"{schema}.{header.group('name')}"
            key = (header.group("type"), name)
            if key in archive.entries:
                archive.duplicates.append(key)
            body = archive.entries.setdefault(key, [])
            continue
        if line in ("", "--") or _RESTRICT.match(line) or line.startswith(("-- Dumped from", "-- Dumped by",
                                                                             "-- PostgreSQL database dump")):
            continue
        copy = _COPY.match(line)
        if copy:
            table = copy.group("table").split(".")[-1].strip('"')
            archive.rows.setdefault(table, 0)
            copying = (table, len(copy.group("columns").split(",")))
        body.append(_SETVAL.sub(r"\1N, B\2", line))  # a sequence's position is data
    if copying is not None:
        archive.bad_rows.append(copying[0])  # a COPY block never ended: cut short


def _tables(archive: Archive) -> set[str]:
    return {name for kind, name in archive.entries if kind == "TABLE"}


def schema_version_of(archive: Archive) -> int:
    versions = [int(row[0]) for row in archive.kept.get("schema_migrations", []) if row[0].isdigit()]
    return max(versions, default=0)


# --- The reference: a fresh database migrated by this portal ----------------------------------------

_REFERENCES: dict[tuple, Archive] = {}


def _migrations_key(version: int) -> tuple:
    text = repr([m for m in storage.MIGRATIONS if m[0] <= version])
    return version, hashlib.sha256(text.encode()).hexdigest()


def reference_entries(db, version: int) -> Archive:
    """The archive of a fresh database migrated to ``version`` (made once per process and schema)."""
    key = (*_migrations_key(version), tool(db, "pg_dump"), server_major(db))
    if key not in _REFERENCES:
        with scratch_database(db, "ref") as (conninfo, name):
            from . import pg
            fresh = pg.connect(conninfo, lock_timeout_ms=storage.BUSY_TIMEOUT_MS)
            try:
                if version:
                    storage.migrate(fresh, target=version)
            finally:
                fresh.close()
            with tempfile.TemporaryDirectory(prefix="portal-ref-") as folder:
                path = Path(folder) / "reference.dump"
                command, env = tool_command(db, "pg_dump", "--format=custom", f"--file={path}", dbname=name)
                result = _run(command, env)
                if result.returncode != 0:
                    raise PortalError("db.pg_tool_failed", result.stderr, tool="pg_dump",
                                      detail=_first_error(result.stderr))
                _REFERENCES[key] = read_archive(db, path)
    return _REFERENCES[key]


class scratch_database:
    """``with scratch_database(db, "restore") as (conninfo, name)``: a new empty database on the
    live server (same encoding and collation), dropped on leaving (its connections ended)."""

    def __init__(self, db, purpose: str):
        self.db = db
        self.name = f"portal_{purpose}_{os.getpid()}_{secrets.token_hex(4)}"

    def __enter__(self) -> tuple[str, str]:
        from psycopg import sql
        encoding, collate, ctype = self.db.conn.execute(
            "SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database "
            "WHERE datname = current_database()").fetchone()
        import psycopg
        try:
            self.db.conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING {} LC_COLLATE {} "
                                         "LC_CTYPE {}").format(sql.Identifier(self.name), sql.Literal(encoding),
                                                               sql.Literal(collate), sql.Literal(ctype)))
        except psycopg.errors.InsufficientPrivilege:
            raise PortalError("db.pg_needs_createdb", "CREATE DATABASE refused") from None
        from psycopg.conninfo import conninfo_to_dict, make_conninfo
        params = conninfo_to_dict(self.db.uri)
        params["dbname"] = self.name
        return make_conninfo(**{k: str(v) for k, v in params.items()}), self.name

    def __exit__(self, *exc) -> None:
        from psycopg import sql
        self.db.conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))


# --- Inspecting a would-be backup --------------------------------------------------------------------

def inspect(db, path: str | os.PathLike) -> tuple[dict[str, Any], Archive]:
    """Check a would-be backup of the PostgreSQL database ``db`` without touching that database:
    ``{"schema_version", "tables": {table: rows}}`` or a refusal (see the module's docstring)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError:
        head = b""
    if head.startswith(SQLITE_HEADER):
        raise PortalError("db.pg_sqlite_backup", f"{path} is an SQLite database", path=str(path))
    if not head.startswith(CUSTOM_SIGNATURE):
        raise PortalError("db.pg_not_a_dump", f"{path} is not a pg_dump custom-format archive", path=str(path))
    listing = _run([tool(db, "pg_restore"), "--list", str(path)])
    if listing.returncode != 0:
        raise PortalError("db.pg_dump_damaged", listing.stderr, path=str(path), detail=_first_error(listing.stderr))
    archive = read_archive(db, path)
    from .maintenance import CORE_TABLES
    missing = [t for t in CORE_TABLES if t not in _tables(archive)]
    if missing:
        raise PortalError("db.pg_not_portal", f"{path} lacks {missing}", path=str(path), missing=", ".join(missing))
    version = schema_version_of(archive)
    if version > storage.SCHEMA_VERSION:
        raise PortalError("db.newer_schema", f"{path} has schema {version}", found=version,
                          supported=storage.SCHEMA_VERSION)
    compare(archive, reference_entries(db, version), path, version)
    if any(row and row[0] == "audit_purge_open" for row in archive.kept.get("meta", [])):
        raise PortalError("db.restore_audit_open", f"{path}: audit_purge_open is set", path=str(path))
    return {"schema_version": version, "tables": dict(sorted(archive.rows.items()))}, archive


def compare(found: Archive, expected: Archive, path, version: int) -> None:
    """Refuse ``found`` unless it is, entry by entry, ``expected`` (rows aside)."""
    differences: dict[str, list[str]] = {"db.restore_unexpected": [], "db.restore_missing": [],
                                         "db.restore_altered": []}
    for key in found.duplicates:
        differences["db.restore_unexpected"].append(_named(key) + " (twice)")
    for key, lines in found.entries.items():
        if key not in expected.entries:
            differences["db.restore_unexpected"].append(_named(key))
        elif lines != expected.entries[key]:
            if key[0] == "TABLE":
                _column_differences(key[1], lines, expected.entries[key], differences)
            else:
                differences["db.restore_altered"].append(_named(key))
    differences["db.restore_missing"] += [_named(key) for key in expected.entries if key not in found.entries]
    for error, objects in differences.items():
        if objects:
            named = ", ".join(sorted(set(objects)))
            raise PortalError(error, f"{path}: {error.split('_', 1)[1]} {named}", path=str(path),
                              version=version, objects=named)
    if found.bad_rows:
        tables = ", ".join(sorted(set(found.bad_rows)))
        raise PortalError("db.pg_dump_damaged", f"{path}: malformed rows in {tables}", path=str(path),
                          detail=f"malformed rows in {tables}")


def _named(key: tuple[str, str]) -> str:
    kind, name = key
    if kind in ("TABLE DATA", "SEQUENCE SET"):
        kind = "DATA"
    elif kind in ("CONSTRAINT", "FK CONSTRAINT", "TRIGGER"):
        name = name.split(" ", 1)[-1]  # "table name" -> the object's own name
    return f"{kind} {name}"


_COLUMN = re.compile(r"^\s+(?P<name>\w+|\"[^\"]+\") (?P<definition>.*?),?$")


def _column_differences(table: str, found: list[str], expected: list[str], differences) -> None:
    def columns(lines):
        return {m.group("name"): m.group("definition") for line in lines if (m := _COLUMN.match(line))
                and not line.strip().startswith("CONSTRAINT ")}

    have, want = columns(found), columns(expected)
    named = [(f"COLUMN {table}.{c}", "db.restore_unexpected") for c in have if c not in want]
    named += [(f"COLUMN {table}.{c}", "db.restore_missing") for c in want if c not in have]
    named += [(f"COLUMN {table}.{c}", "db.restore_altered") for c in have if c in want and have[c] != want[c]]
    for name, error in named:
        differences[error].append(name)
    if not named:
        differences["db.restore_altered"].append(f"TABLE {table}")


# --- Restore -----------------------------------------------------------------------------------------

def restore(db, path: Path, previous: Path, audit_event) -> dict[str, Any]:
    """Check ``path``, restore it into a scratch database, check that, keep the live content at
    ``previous``, then replace the live content in one transaction, in which
    ``audit_event(schema_version, migrated)`` records the restore.

    The file is first copied into a private temporary folder and only that copy is read, checked
    and restored: a file changed between the check and the restore is never restored."""
    import psycopg
    with tempfile.TemporaryDirectory(prefix="portal-restore-") as folder:
        private = Path(folder) / "backup.dump"
        try:
            shutil.copyfile(path, private)
        except OSError:
            private = path  # missing or unreadable: inspect() refuses it by name
        try:
            return _restore(db, private, path, previous, audit_event)
        except psycopg.Error as err:  # e.g. the live tables stayed locked past lock_timeout
            raise PortalError("db.pg_restore_failed", str(err), path=str(path),
                              detail=_first_error(str(err))) from None


def _restore(db, path: Path, shown: Path, previous: Path, audit_event) -> dict[str, Any]:
    try:
        found, _ = inspect(db, path)
    except PortalError as err:
        if "path" in err.params:  # name the file the operator gave, not the private copy
            err.params["path"] = str(shown)
        raise
    with scratch_database(db, "restore") as (conninfo, name):
        command, env = tool_command(db, "pg_restore", "--no-owner", "--no-privileges", str(path), dbname=name)
        result = _run(command, env)
        if result.returncode != 0:
            broken = sorted(set(re.findall(r'insert or update on table "(\w+)" violates foreign key', result.stderr)))
            if broken:
                raise PortalError("db.restore_foreign_keys", result.stderr, path=str(shown), tables=", ".join(broken))
            raise PortalError("db.pg_dump_damaged", result.stderr, path=str(shown), detail=_first_error(result.stderr))
        from . import pg
        staged = pg.connect(conninfo, lock_timeout_ms=storage.BUSY_TIMEOUT_MS)
        try:
            applied = storage.migrate(staged)  # an older backup is brought up to this schema ...
            if applied:  # ... and must then be what a fresh database of this schema is
                with tempfile.TemporaryDirectory(prefix="portal-restore-") as folder:
                    migrated = Path(folder) / "migrated.dump"
                    command, env = tool_command(db, "pg_dump", "--format=custom", f"--file={migrated}", dbname=name)
                    result = _run(command, env)
                    if result.returncode != 0:
                        raise PortalError("db.pg_tool_failed", result.stderr, tool="pg_dump",
                                          detail=_first_error(result.stderr))
                    compare(read_archive(db, migrated), reference_entries(db, storage.SCHEMA_VERSION), shown,
                            storage.SCHEMA_VERSION)
            storage.migrate(db)  # as every connection does: the live database at this portal's schema
            from .copydb import table_order
            tables = table_order(staged)
            if sorted(tables) != sorted(table_order(db)):
                raise PortalError("db.restore_altered", "live tables differ", path=str(shown),
                                  version=storage.SCHEMA_VERSION, objects="TABLE list")
            dump(db, previous)
            version_before = storage.data_version(db)
            with storage.transaction(db):
                _replace_content(db, staged, tables)
                storage.set_data_version_above(db, version_before)
                audit_event(found["schema_version"], applied)
        finally:
            staged.close()
    return {"schema_version": found["schema_version"], "migrated": applied, "tables": found["tables"]}


def copyable_columns(db, table: str) -> list[str]:
    """The columns rows are copied through (generated columns are computed, not copied)."""
    return [name for (name,) in db.execute(
        "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relname = ? "
        "AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum", [table])]


def _replace_content(db, staged, tables: list[str]) -> None:
    """Inside the live transaction: every table emptied, then filled from ``staged``.

    The audit log's TRUNCATE guard (migration 13) is disabled for this one statement and enabled
    again before anything else happens, inside the same transaction: ``ALTER TABLE`` holds the
    table's ACCESS EXCLUSIVE lock until the commit, so no other connection ever runs while it is
    off. The restore's audit event records it (``detail.audit_log_replaced``)."""
    from psycopg import sql
    guarded = db.execute("SELECT 1 FROM pg_trigger WHERE tgname = ? AND NOT tgisinternal",
                         [storage.AUDIT_TRUNCATE_GUARD]).fetchone() is not None
    guard = sql.Identifier(storage.AUDIT_TRUNCATE_GUARD)
    if guarded:
        db.conn.execute(sql.SQL("ALTER TABLE audit_events DISABLE TRIGGER {}").format(guard))
    db.conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY").format(
        sql.SQL(", ").join(sql.Identifier(t) for t in tables)))
    if guarded:
        db.conn.execute(sql.SQL("ALTER TABLE audit_events ENABLE TRIGGER {}").format(guard))
    for table in tables:
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in copyable_columns(db, table))
        with staged.conn.cursor().copy(sql.SQL("COPY {} ({}) TO STDOUT").format(sql.Identifier(table), columns)) \
                as source, db.conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(table), columns)) as target:
            for block in source:
                target.write(block)
    for sequence, last_value, is_called in staged.execute(
            "SELECT sequencename, last_value, last_value IS NOT NULL FROM pg_sequences "
            "WHERE schemaname = current_schema()").fetchall():
        if last_value is not None:
            db.conn.execute("SELECT setval(%s::regclass, %s, %s)", [sql.Identifier(sequence).as_string(db.conn),
                                                                  last_value, is_called])
