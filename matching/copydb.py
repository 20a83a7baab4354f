"""``portal copy-db SOURCE TARGET``: move a portal from one database to another (issue 15.4).

Made for an SQLite portal moving to PostgreSQL (``portal copy-db data/portal.db postgresql://...``);
the same code copies PostgreSQL to SQLite (or between two databases of one backend), because it
only reads and writes rows through the connection objects of :mod:`matching.db`.

* **Refusals, before any write**: a source that does not exist or is not a portal database; a
  source whose schema version is not this portal's (migrate it first: ``portal --db SOURCE
  init-db``); a source whose audit log was left open by an interrupted purge; a target of a newer
  schema; a target that holds anything a freshly migrated database does not (its row count per
  table is compared with a fresh database migrated to the same version: any portal that was used
  has audit events, so it is refused); a target whose tables or columns differ from the source's.
  An empty target, migrated or not, is migrated first.
* **Every row**: the tables and columns come from the schema (the catalog), never from a list in
  this file, so tables added by later migrations are copied too. Generated columns are computed
  by the target, not copied. Rows keep their ids; on PostgreSQL the identity sequences are then
  moved past them, so the next insert continues after the largest id. ``schema_migrations`` (every
  version with its date) and ``meta`` (the data version) are the source's.
* **The audit log stays append-only**: rows are only *inserted* into the target, which the
  append-only triggers allow; nothing is disabled. (The target's tables are emptied of what the
  migrations wrote, e.g. the default programme, with ``DELETE``; a target with an audit event is
  refused before that, so the audit trigger never has to be bypassed.)
* **Verified, all or nothing**: one read snapshot of the source; one write transaction on the
  target (the portal's write lock). Inside it, per table, the row count and a SHA-256 of the rows
  in a canonical text form (:func:`canonical_row`: each row as a JSON array of its non-generated
  columns in the source's column order, the rows sorted, joined by newlines) are computed on both
  sides the same way; any difference rolls everything back. The copy is audited in the target
  (``db.copy``) in the same transaction, after the checksums.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable

from . import audit
from . import db as storage
from .errors import PortalError
from .models import User
from .permissions import authorize


# --- The schema, read from the database --------------------------------------------------------------

def tables(db) -> list[str]:
    """The portal's tables (SQLite's own ``sqlite_*`` tables left out)."""
    return sorted(t for t in db.table_names() if not t.startswith("sqlite_"))


def copied_columns(db, table: str) -> list[str]:
    """Columns copied row by row: all but generated ones (computed by each database)."""
    if storage.dialect(db) == "postgresql":
        from .pg_backup import copyable_columns
        return copyable_columns(db, table)
    return [row[1] for row in db.execute(f"PRAGMA table_xinfo([{table}])").fetchall() if row[6] == 0]


def _parents(db, table: str) -> set[str]:
    if storage.dialect(db) == "postgresql":
        rows = db.execute("SELECT DISTINCT p.relname FROM pg_constraint c JOIN pg_class ch ON ch.oid = c.conrelid "
                          "JOIN pg_class p ON p.oid = c.confrelid JOIN pg_namespace n ON n.oid = ch.relnamespace "
                          "WHERE c.contype = 'f' AND n.nspname = current_schema() AND ch.relname = ?", [table])
        return {r[0] for r in rows}
    return {row[2] for row in db.execute(f"PRAGMA foreign_key_list([{table}])").fetchall()}


def table_order(db) -> list[str]:
    """Every table after the tables its foreign keys point to (a self-reference is fine: rows
    are written in id order)."""
    edges = {t: _parents(db, t) - {t} for t in tables(db)}
    order: list[str] = []
    while edges:
        ready = sorted(t for t, parents in edges.items() if not (parents & set(edges)))
        if not ready:
            raise PortalError("db.copy_cycle", "foreign keys form a cycle", tables=", ".join(sorted(edges)))
        order += ready
        for t in ready:
            del edges[t]
    return order


# --- Canonical rows and checksums ---------------------------------------------------------------------

def canonical_value(value: Any) -> Any:
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, bool):
        return int(value)
    return value


def canonical_row(row: Iterable[Any]) -> str:
    """One row as text, the same whichever backend it was read from: a JSON array (integers as
    integers, floats by their shortest exact repr, text as text, NULL as null)."""
    return json.dumps([canonical_value(v) for v in row], ensure_ascii=False, separators=(",", ":"))


def table_checksum(db, table: str, columns: list[str]) -> tuple[int, str]:
    """``(rows, sha256)`` of ``table``: the canonical rows sorted, joined by newlines."""
    names = ", ".join(f"[{c}]" for c in columns)
    lines = sorted(canonical_row(row) for row in db.execute(f"SELECT {names} FROM [{table}]").fetchall())
    return len(lines), hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _order_by(db, table: str, columns: list[str]) -> str:
    key = "id" if "id" in columns else ", ".join(f"[{c}]" for c in columns[:2])
    return f" ORDER BY {key}"


# --- Opening both sides --------------------------------------------------------------------------------

def _open_source(source: str):
    if not storage.is_postgres_uri(source) and not Path(source).is_file():
        raise PortalError("db.copy_no_source", f"{source} does not exist", source=str(source))
    database = storage.connect(source, migrate_schema=False)
    version = storage.schema_version(database)
    if version == 0:
        database.close()
        raise PortalError("db.copy_not_portal", f"{source} is not a portal database",
                          source=storage.display_target(source))
    if version != storage.SCHEMA_VERSION:
        database.close()
        raise PortalError("db.copy_migrate_first", f"{source} has schema {version}", found=version,
                          supported=storage.SCHEMA_VERSION, source=storage.display_target(source))
    return database


def _fresh_counts(target, version: int) -> dict[str, int]:
    """Rows per table of a fresh database of the target's backend migrated to ``version``."""
    import tempfile
    if storage.dialect(target) == "postgresql":
        from . import pg
        from .pg_backup import scratch_database
        with scratch_database(target, "fresh") as (conninfo, _):
            fresh = pg.connect(conninfo, lock_timeout_ms=storage.BUSY_TIMEOUT_MS)
            try:
                storage.migrate(fresh, target=version)
                return {t: fresh.execute(f"SELECT COUNT(*) FROM [{t}]").fetchone()[0] for t in tables(fresh)}
            finally:
                fresh.close()
    with tempfile.TemporaryDirectory(prefix="portal-fresh-") as folder:
        fresh = storage.connect(Path(folder) / "fresh.db", migrate_schema=False)
        try:
            storage.migrate(fresh, target=version)
            return {t: fresh.execute(f"SELECT COUNT(*) FROM [{t}]").fetchone()[0] for t in tables(fresh)}
        finally:
            fresh.close()


def _check_target_empty(target, shown: str) -> None:
    version = storage.schema_version(target)
    present = tables(target)
    if version > storage.SCHEMA_VERSION:
        raise PortalError("db.newer_schema", f"{shown} has schema {version}", found=version,
                          supported=storage.SCHEMA_VERSION)
    if not present:
        return
    expected = _fresh_counts(target, version) if version else {}
    holding = [t for t in present if t not in expected
               or target.execute(f"SELECT COUNT(*) FROM [{t}]").fetchone()[0] != expected[t]]
    if holding:
        raise PortalError("db.copy_target_not_empty", f"{shown} holds data in {holding}", target=shown,
                          tables=", ".join(holding))


def _open_target(target_name: str, shown: str):
    existing = storage.connect(target_name, migrate_schema=False)  # an SQLite file is created (0600)
    try:
        _check_target_empty(existing, shown)
    except BaseException:
        existing.close()
        raise
    return existing


# --- The copy --------------------------------------------------------------------------------------------

def copy_database(actor: User, source: str | os.PathLike, target: str | os.PathLike) -> dict[str, Any]:
    """Copy every row of the portal at ``source`` into the empty database ``target``; verified
    per table by row count and checksum. Returns ``{"tables": [{"table", "rows", "checksum"}],
    "rows", "schema_version", "source", "target"}``."""
    authorize(actor, "db.copy")
    source, target = str(source), str(target)
    shown_source, shown_target = storage.display_target(source), storage.display_target(target)
    if _same(source, target):
        raise PortalError("db.copy_same", "source and target are the same", target=shown_target)
    src = _open_source(source)
    try:
        dst = _open_target(target, shown_target)
        try:
            return _copy(actor, src, dst, shown_source, shown_target)
        finally:
            dst.close()
    finally:
        src.close()


def _same(source: str, target: str) -> bool:
    if storage.is_postgres_uri(source) or storage.is_postgres_uri(target):
        return source == target
    return Path(source).resolve() == Path(target).resolve()


def _begin_read(db) -> None:
    if storage.dialect(db) == "postgresql":
        db.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    else:
        db.conn.execute("BEGIN")  # deferred: one read snapshot from the first read on (WAL)


def _end_read(db) -> None:
    if storage.dialect(db) == "postgresql":
        db.rollback()
    elif db.conn.in_transaction:
        db.conn.execute("ROLLBACK")


def _check_same_schema(src, dst, order: list[str], columns: dict[str, list[str]], shown_target: str) -> None:
    if sorted(order) != tables(dst):
        found, wanted = set(tables(dst)), set(order)
        raise PortalError("db.copy_schema_differs", "tables differ", target=shown_target,
                          objects=", ".join(sorted(found ^ wanted)))
    differing = [t for t in order if sorted(columns[t]) != sorted(copied_columns(dst, t))]
    if differing:
        raise PortalError("db.copy_schema_differs", "columns differ", target=shown_target,
                          objects=", ".join(differing))


def _copy(actor, src, dst, shown_source: str, shown_target: str) -> dict[str, Any]:
    order = table_order(src)
    columns = {t: copied_columns(src, t) for t in order}
    _begin_read(src)
    try:
        if src.execute("SELECT 1 FROM meta WHERE key = 'audit_purge_open'").fetchone():
            raise PortalError("db.copy_audit_open", "audit_purge_open is set", source=shown_source)
        expected = {t: table_checksum(src, t, columns[t]) for t in order}
        # meta last: the data-version triggers fire while other tables fill; the source's own
        # counter then replaces whatever they counted.
        writes = [t for t in order if t != "meta"] + (["meta"] if "meta" in order else [])
        with storage.transaction(dst):  # the target's migration too: a refused copy leaves no schema behind
            storage.migrate(dst)
            _check_same_schema(src, dst, order, columns, shown_target)
            for table in reversed(writes):
                dst.execute(f"DELETE FROM [{table}]")  # what the migrations wrote (the target was empty)
            for table in writes:
                rows = src.execute(f"SELECT {', '.join(f'[{c}]' for c in columns[table])} FROM [{table}]"
                                   + _order_by(src, table, columns[table]))
                _write_rows(dst, table, columns[table], rows)
            _move_identities(dst, order)
            found = {t: table_checksum(dst, t, columns[t]) for t in order}
            wrong = [t for t in order if found[t] != expected[t]]
            if wrong:
                raise PortalError("db.copy_mismatch", f"checksums differ in {wrong}", tables=", ".join(wrong))
            total = sum(rows for rows, _ in expected.values())
            audit.record(dst, actor, "db.copy", target_type="database",
                         detail={"from": shown_source, "tables": len(order), "rows": total,
                                 "schema_version": storage.SCHEMA_VERSION})
    except (storage.driver(src).Error, storage.driver(dst).Error) as err:
        raise PortalError("db.copy_failed", str(err), detail=_first_line(err)) from None
    finally:
        _end_read(src)
    return {"tables": [{"table": t, "rows": expected[t][0], "checksum": expected[t][1]} for t in sorted(order)],
            "rows": total, "schema_version": storage.SCHEMA_VERSION, "source": shown_source,
            "target": shown_target}


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:300]


def _write_rows(dst, table: str, columns: list[str], rows) -> None:
    if storage.dialect(dst) == "postgresql":
        from psycopg import sql
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns))
        with dst.conn.cursor().copy(statement) as copy:
            for row in rows:
                copy.write_row(tuple(row))
        return
    marks = ", ".join("?" for _ in columns)
    dst.conn.executemany(f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in columns)}) VALUES ({marks})",
                         (tuple(row) for row in rows))


def _move_identities(dst, order: list[str]) -> None:
    """PostgreSQL: each identity sequence just past its table's largest id (SQLite's rowid does
    that by itself)."""
    if storage.dialect(dst) != "postgresql":
        return
    from psycopg import sql
    for table, column in dst.execute(
            "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
            "AND a.attidentity <> '' AND NOT a.attisdropped").fetchall():
        if table not in order:
            continue
        largest = dst.conn.execute(sql.SQL("SELECT MAX({}) FROM {}").format(
            sql.Identifier(column), sql.Identifier(table))).fetchone()[0]
        dst.conn.execute("SELECT setval(pg_get_serial_sequence(%s, %s), %s, %s)",
                         [sql.Identifier(table).as_string(dst.conn), column, largest or 1, largest is not None])
