"""PostgreSQL backend: the one module that speaks psycopg, and every dialect difference with SQLite.

:func:`matching.db.connect` returns a :class:`PostgresDatabase` for a ``postgresql://`` URI. It
exposes the part of the ``sqlite_utils.Database`` API that the domain uses (``execute``,
``query``, ``table_names``, ``db[table].columns_dict``, ``close``), so services take the same
object whatever the backend. The domain's SQL is written once, in SQLite's dialect with ``?``
parameters; :func:`translate` turns it into PostgreSQL's (``$n`` parameters bound on the server:
values never enter the SQL text). Migrations are translated by :func:`migration_statements`,
which also holds the PostgreSQL form of what cannot be translated mechanically (triggers, the
team-name key, migration 6's data fix), generated from the same data as the SQLite form.

See docs/POSTGRES.md for the design.
"""
from __future__ import annotations

import atexit
import logging
import os
import re
import threading
import time
from functools import lru_cache
from typing import Any, Callable, Iterator

import psycopg
from psycopg import pq
from psycopg.adapt import AdaptersMap, Dumper, Loader
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

log = logging.getLogger("portal")

#: Every portal write transaction takes this transaction-level advisory lock first: writers run
#: one at a time, across every app server, as ``BEGIN IMMEDIATE`` makes them on SQLite. A
#: constant ("portal" in ASCII), never a value from a user. Advisory locks are per database.
WRITE_LOCK_KEY = 0x706F7274616C

#: Errors that a rerun of the failed transaction may cure, raised by PostgreSQL in the middle of
#: one: another transaction won a serialization conflict, PostgreSQL broke a deadlock by
#: cancelling this one, or a lock wait ran past ``lock_timeout``. :func:`matching.db.transaction`
#: rolls back and turns them into :class:`matching.errors.Busy` (``retryable``), which
#: :func:`matching.db.retrying` reruns a bounded number of times.
TRANSIENT_ERRORS = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected,
                    psycopg.errors.LockNotAvailable)

#: Appended to the ``SELECT`` of a claim (:func:`matching.db.claim_transaction`): lock the rows
#: chosen, and pass over rows another claimer holds instead of waiting for it, so two workers
#: on two servers (``portal notify send``) claim disjoint rows.
SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"

#: The collation that ``COLLATE NOCASE`` names on PostgreSQL: ICU, case-insensitive,
#: accent-sensitive (level 2), nondeterministic so that equality and unique indexes use it.
NOCASE_COLLATION = ("CREATE COLLATION IF NOT EXISTS nocase "
                    "(provider = icu, locale = 'und-u-ks-level2', deterministic = false)")


# --- Values: loose typing like SQLite's affinity -------------------------------------------------

class _Untyped(Dumper):
    """Send a number as an untyped literal (oid 0), as if quoted in the SQL: PostgreSQL takes its
    type from the context (``text_column = ?`` with an int works, as it does on SQLite)."""
    oid = 0

    def dump(self, obj: Any) -> bytes:
        return str(obj).encode()


class _UntypedBool(Dumper):
    """``True``/``False`` as ``1``/``0``, SQLite's booleans (the schema stores them as integers)."""
    oid = 0

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


class _FloatLoader(Loader):
    """``numeric`` results (``AVG``, ``SUM`` of big integers) as ``float``, as SQLite returns them."""

    def load(self, data) -> float:
        return float(bytes(data))


ADAPTERS = AdaptersMap(psycopg.adapters)
ADAPTERS.register_dumper(int, _Untyped)
ADAPTERS.register_dumper(float, _Untyped)
ADAPTERS.register_dumper(bool, _UntypedBool)
ADAPTERS.register_loader("numeric", _FloatLoader)


# --- SQL: SQLite's dialect as the domain writes it -> PostgreSQL's -------------------------------

_TOKENS = re.compile(r"""
    (?P<datenow>\bdate\s*\(\s*'now'\s*\))
  | (?P<string>'(?:[^']|'')*')
  | (?P<ident>"(?:[^"]|"")*")
  | (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<bracket>\[(?P<name>[A-Za-z_][A-Za-z0-9_]*)\])
  | (?P<isnot>\bIS\s+NOT\s+\?)
  | (?P<is>\bIS\s+\?)
  | (?P<param>\?)
""", re.IGNORECASE | re.DOTALL | re.VERBOSE)

#: SQLite's ``date('now')``: today's date in UTC as ``YYYY-MM-DD`` text, the stored format.
_TODAY_UTC = "to_char(timezone('UTC', now()), 'YYYY-MM-DD')"


@lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """The domain's SQLite SQL as PostgreSQL SQL: ``?`` -> ``$n``, ``[x]`` -> ``"x"``,
    ``IS [NOT] ?`` -> ``IS [NOT] DISTINCT FROM $n``, ``date('now')`` -> today (UTC).

    String literals, quoted identifiers and comments are copied untouched. Only the statement's
    text changes; values are always bound separately.
    """
    count = 0

    def replace(match: re.Match) -> str:
        nonlocal count
        kind = match.lastgroup if match.lastgroup != "name" else "bracket"
        if kind in ("string", "ident", "comment"):
            return match.group(0)
        if kind == "datenow":
            return _TODAY_UTC
        if kind == "bracket":
            return '"' + match.group("name") + '"'
        count += 1
        if kind == "isnot":
            return f"IS DISTINCT FROM ${count}"
        if kind == "is":
            return f"IS NOT DISTINCT FROM ${count}"
        return f"${count}"

    return _TOKENS.sub(replace, sql)


# --- The connection object ---------------------------------------------------------------------

def _values(params: list | tuple | None) -> list | None:
    """The values to bind. PostgreSQL's text cannot hold a NUL character (psycopg would raise a
    ``DataError``, a traceback for whoever typed it): every input refuses control characters
    (``matching.models.check_text``) and lookups skip them (``models.findable``); should one get
    this far all the same, it is that refusal's one sentence, never a traceback."""
    if not params:
        return None
    values = list(params)
    for value in values:
        if isinstance(value, str) and "\x00" in value:
            from .errors import PortalError
            raise PortalError("validation.control_chars", "a NUL character: PostgreSQL's text cannot hold one")
    return values


class _Table:
    def __init__(self, db: "PostgresDatabase", name: str):
        self.db, self.name = db, name

    @property
    def columns_dict(self) -> dict[str, type]:
        """Column name -> Python type, like sqlite-utils' ``Table.columns_dict``."""
        rows = self.db.conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
            [self.name]).fetchall()
        kinds = {"integer": int, "bigint": int, "smallint": int, "double precision": float,
                 "real": float, "numeric": float}
        return {name: kinds.get(kind, str) for name, kind in rows}


class PostgresDatabase:
    """A PostgreSQL connection with the sqlite-utils methods the domain uses.

    Its own server connection, or (``pool``) one lent by the URI's pool for one script run:
    :meth:`close` then gives it back clean, and this object refuses any later use.
    """

    dialect = "postgresql"

    def __init__(self, uri: str, *, lock_timeout_ms: int, pool: "ConnectionPool | None" = None):
        self.uri = uri
        self._pool = pool
        self._column_cache: dict[str, frozenset[str]] = {}
        if pool is None:
            self.conn = psycopg.connect(uri, autocommit=True, context=ADAPTERS)
            self.conn.execute(f"SET lock_timeout = {int(lock_timeout_ms)}")
        else:
            try:
                self.conn = pool.getconn()
            except PoolTimeout as err:  # every connection lent for POOL_TIMEOUT_SECONDS
                from .errors import Busy
                raise Busy() from err

    # sqlite-utils' API ------------------------------------------------------------------------
    def execute(self, sql: str, params: list | tuple | None = None) -> psycopg.Cursor:
        cursor = psycopg.RawCursor(self.conn)
        self._run(cursor, sql, params)
        return cursor

    def query(self, sql: str, params: list | tuple | None = None) -> Iterator[dict]:
        cursor = psycopg.RawCursor(self.conn, row_factory=dict_row)
        self._run(cursor, sql, params)
        yield from cursor

    def _run(self, cursor: psycopg.RawCursor, sql: str, params) -> None:
        """Run one statement. A statement on its own (autocommit, outside ``transaction()``)
        that meets a transient error (:data:`TRANSIENT_ERRORS`: a read waiting past
        ``lock_timeout`` behind a restore's table lock, a deadlock) has been rolled back by the
        server: it is :class:`~matching.errors.Busy`, retryable, like one inside a transaction."""
        try:
            cursor.execute(translate(sql), _values(params))
        except TRANSIENT_ERRORS as err:
            if self.in_transaction:
                raise  # transaction() rolls back and says Busy
            from .errors import Busy
            raise Busy(retryable=True) from err

    def table_names(self) -> list[str]:
        return [name for (name,) in self.conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_type = 'BASE TABLE' ORDER BY table_name")]

    def __getitem__(self, table: str) -> _Table:
        return _Table(self, table)

    def close(self) -> None:
        """Close the connection, or give a lent one back to its pool in the state the domain
        expects of a new one: no transaction open (a run that ended inside one is rolled back,
        and logged: that is a bug), autocommit. The pool's :func:`_reset` then clears the
        session's settings. This object cannot be used afterwards (the connection may already
        be lent to another script run)."""
        conn, self.conn = self.conn, _RETURNED
        if conn is _RETURNED:
            return
        if self._pool is None:
            conn.close()
            return
        if not conn.closed and conn.info.transaction_status != pq.TransactionStatus.IDLE:
            log.warning("a pooled connection came back inside a transaction: rolled back")
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                conn.close()  # the pool discards a closed connection
        if not conn.closed and not conn.autocommit:
            conn.autocommit = True
        self._pool.putconn(conn)

    # What matching.db needs beyond it ---------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return self.conn.info.transaction_status != pq.TransactionStatus.IDLE

    def begin_write(self, retries: int, back_off: Callable[[int], float], *, write_lock: bool = True) -> None:
        """``BEGIN`` and the portal's write lock; a wait past ``lock_timeout`` is retried.
        Without ``write_lock``: ``BEGIN`` only (a claim transaction, :data:`SKIP_LOCKED`)."""
        if not write_lock:
            self.conn.execute("BEGIN")
            return
        for attempt in range(retries + 1):
            self.conn.execute("BEGIN")
            try:
                self.conn.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
                return
            except psycopg.errors.LockNotAvailable:
                self.conn.execute("ROLLBACK")
                if attempt == retries:
                    raise
                time.sleep(back_off(attempt))

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.conn.execute("ROLLBACK")

    def insert_returning_id(self, table: str, record: dict[str, Any]) -> int | None:
        """``INSERT`` one row; its ``id`` when the table has one (SQLite's ``lastrowid``)."""
        columns = list(record)
        has_id = "id" in self._columns(table)
        names = ", ".join(f'"{c}"' for c in columns)
        values = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        sql = f'INSERT INTO "{table}" ({names}) VALUES ({values})' + (" RETURNING id" if has_id else "")
        cursor = psycopg.RawCursor(self.conn)
        cursor.execute(sql, _values([record[c] for c in columns]))
        if not has_id:
            return None
        row_id = cursor.fetchone()[0]
        if "id" in record:
            # An explicit id (a copy, an import): move the identity past it, as SQLite's rowid
            # moves past the largest id, so the next row without one does not collide.
            self.conn.execute(f'SELECT setval(pg_get_serial_sequence(%s, \'id\'), '
                              f'(SELECT MAX(id) FROM "{table}"))', [table])
        return row_id

    def key(self) -> str:
        """Which database this is, for cache keys (SQLite: the file's path)."""
        info = self.conn.info
        return f"postgresql://{info.host}:{info.port}/{info.dbname}"

    def _columns(self, table: str) -> frozenset[str]:
        if table not in self._column_cache:
            self._column_cache[table] = frozenset(self[table].columns_dict)
        return self._column_cache[table]


def connect(uri: str, *, lock_timeout_ms: int, pooled: bool = False) -> PostgresDatabase:
    """A connection of its own, or (``pooled``) one lent by the URI's pool until ``close()``."""
    if pooled:
        return PostgresDatabase(uri, lock_timeout_ms=lock_timeout_ms, pool=pool_for(uri, lock_timeout_ms))
    return PostgresDatabase(uri, lock_timeout_ms=lock_timeout_ms)


class _Returned:
    """Stands for the connection of a :class:`PostgresDatabase` after ``close()``: any use fails
    loudly instead of reaching a server connection lent to someone else meanwhile."""

    closed = True

    def __getattr__(self, name):
        raise psycopg.InterfaceError("this portal connection was closed (given back to its pool)")


_RETURNED = _Returned()


# --- The connection pool (app servers: one connection per script run, kept between runs) --------

#: Most connections one app server process opens to one database (``PORTAL_DB_POOL_MAX``):
#: one per script run in progress at the same moment. PostgreSQL's default ``max_connections``
#: is 100: servers x this must stay below it.
POOL_MAX = int(os.environ.get("PORTAL_DB_POOL_MAX") or 10)
#: How long a script run waits for a connection when all are lent; then Busy.
POOL_TIMEOUT_SECONDS = 10.0

_pools: dict[str, ConnectionPool] = {}
_pools_lock = threading.Lock()


def pool_for(uri: str, lock_timeout_ms: int) -> ConnectionPool:
    """The pool of ``uri`` (one per URI and process, made on first use): connections in
    autocommit with the portal's adapters and ``lock_timeout``, checked when lent (one that the
    server closed meanwhile is replaced, unseen) and reset when given back."""
    with _pools_lock:
        pool = _pools.get(uri)
        if pool is None:
            def configure(conn: psycopg.Connection) -> None:
                conn.execute(f"SET lock_timeout = {int(lock_timeout_ms)}")

            def reset(conn: psycopg.Connection) -> None:
                _reset(conn, lock_timeout_ms)

            pool = ConnectionPool(uri, kwargs={"autocommit": True, "context": ADAPTERS}, min_size=1,
                                  max_size=max(1, POOL_MAX), open=True, configure=configure, reset=reset,
                                  check=ConnectionPool.check_connection, timeout=POOL_TIMEOUT_SECONDS,
                                  name="portal")
            _pools[uri] = pool
        return pool


def _reset(conn: psycopg.Connection, lock_timeout_ms: int) -> None:
    """A connection given back: the session as a new one's (settings, session-level advisory
    locks), autocommit; it arrives here outside any transaction (``close()`` saw to it)."""
    conn.autocommit = True
    conn.execute("RESET ALL")
    conn.execute("SELECT pg_advisory_unlock_all()")
    conn.execute(f"SET lock_timeout = {int(lock_timeout_ms)}")


def close_pools() -> None:
    """Close every pool of this process (a test that drops its database; process exit)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


atexit.register(close_pools)


# --- Migrations -------------------------------------------------------------------------------

_DDL_TYPES = [
    (re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\b", re.I), "INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
    (re.compile(r"\bGENERATED\s+ALWAYS\s+AS\s*(\(.*\))\s*VIRTUAL\b", re.I | re.S), r"GENERATED ALWAYS AS \1 STORED"),
]
#: SQLite-only constructs a migration cannot use without a PostgreSQL form in this module.
_UNTRANSLATABLE = re.compile(r"\b(CREATE\s+TRIGGER|(strftime|julianday|datetime|date|time|json_\w+|"
                             r"group_concat|ifnull|instr|printf)\s*\(|INSERT\s+OR|PRAGMA|AUTOINCREMENT|"
                             r"WITHOUT\s+ROWID)", re.I)


class UntranslatableMigration(Exception):
    """A migration uses SQLite-only SQL and has no PostgreSQL form in :mod:`matching.pg` yet."""


def translate_ddl(version: int, statement: str) -> str:
    """One statement of a migration in SQLite's dialect, as PostgreSQL DDL/DML."""
    found = _UNTRANSLATABLE.search(" ".join(_LITERALS.split(statement)[::2]))  # outside literals
    if found:
        raise UntranslatableMigration(
            f"migration {version} uses {found.group(0)!r}, which has no PostgreSQL translation: "
            "give it a PostgreSQL form in matching/pg.py (_OVERRIDES)")
    return _outside_literals(translate(statement), _ddl_types)


def _ddl_types(sql: str) -> str:
    for pattern, replacement in _DDL_TYPES:
        sql = pattern.sub(replacement, sql)
    return sql


_LITERALS = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/)""", re.DOTALL)


def _outside_literals(sql: str, change: Callable[[str], str]) -> str:
    """``change`` applied to the SQL between string literals, quoted identifiers and comments."""
    parts = _LITERALS.split(sql)  # odd items are the literals (the pattern's one group)
    return "".join(part if i % 2 else change(part) for i, part in enumerate(parts))


def _audit_append_only(version: int, statements: list[str]) -> list[str]:
    """Migration 4: the audit log's append-only triggers in PL/pgSQL (same names and rules)."""
    raise_it = "RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'integrity_constraint_violation';"
    return [
        f"CREATE FUNCTION audit_events_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {raise_it} END $$",
        "CREATE FUNCTION audit_events_refuse_unless_purging() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF NOT EXISTS (SELECT 1 FROM meta WHERE key = 'audit_purge_open') THEN {raise_it} END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_refuse()",
        "CREATE TRIGGER audit_events_fixed_columns BEFORE UPDATE OF id, at, actor_id, action, target_type, "
        "target_id ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_refuse()",
        "CREATE TRIGGER audit_events_no_rewrite BEFORE UPDATE OF actor_email, reason, detail ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_unless_purging()",
    ]


def _data_version_triggers(version: int, statements: list[str]) -> list[str]:
    """Migration 5: its tables and columns translated; the data-version triggers generated from
    ``RANKED_TABLES`` as the SQLite ones are, in PL/pgSQL."""
    from .db import RANKED_TABLES
    out = [translate_ddl(version, s) for s in statements if not re.match(r"\s*CREATE\s+TRIGGER", s, re.I)]
    out.append("CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'data_version'; "
               "RETURN NULL; END $$")
    for table, columns in RANKED_TABLES.items():
        for event in ("INSERT", "UPDATE", "DELETE"):
            of = f" OF {columns}" if event == "UPDATE" and columns else ""
            out.append(f"CREATE TRIGGER {table}_{event.lower()}_bumps_data_version AFTER {event}{of} ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION bump_data_version()")
    return out


def _team_name_key(version: int, statements: list[str]) -> list[str]:
    """Migration 6: the team-name key columns (PostgreSQL cannot build a generated column on
    another, so each stage nests the ones before it), the audit of renamed duplicates in
    PostgreSQL's functions, and the demo mark without ``LIKE`` on a nondeterministic collation."""
    from .db import _FOLD_STAGES, _name_fold_stage
    names = [f"name_fold_{i}" for i in range(1, _FOLD_STAGES)] + ["name_key"]
    out, expression = [], "name"
    for i, name in enumerate(names):
        expression = _name_fold_stage(i, expression)
        out.append(f"ALTER TABLE teams ADD COLUMN {name} TEXT GENERATED ALWAYS AS ({expression}) STORED")
    for statement in statements:
        if re.match(r"\s*ALTER\s+TABLE\s+teams\s+ADD\s+COLUMN\s+name_", statement, re.I):
            continue
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS"):
            statement = (statement
                         .replace("strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')",
                                  "to_char(timezone('UTC', now()), 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"')")
                         .replace("json_object(", "json_build_object(")
                         .replace("'term_id', t.term_id)", "'term_id', t.term_id)::text"))
            out.append(translate(statement))
            continue
        if "LIKE '%@demo.%'" in statement:
            out.append(translate(statement.replace("email LIKE", 'email COLLATE "C" LIKE')))
            continue
        out.append(translate_ddl(version, statement))
    return out


def _programmes(version: int, statements: list[str]) -> list[str]:
    """Migration 11: the default programme's time in PostgreSQL's functions, ``terms.programme_id``
    a real NOT NULL, and the two triggers of the SQLite form (same names and rules) in PL/pgSQL."""
    out = []
    for statement in statements:
        if re.match(r"(\s*--[^\n]*\n)*\s*CREATE\s+TRIGGER", statement, re.I):  # comments first
            continue
        if statement.lstrip().upper().startswith("INSERT INTO PROGRAMMES"):
            out.append(translate(statement.replace(
                "strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')",
                "to_char(timezone('UTC', now()), 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"')")))
            continue
        out.append(translate_ddl(version, statement))
        if statement.lstrip().upper().startswith("UPDATE TERMS SET PROGRAMME_ID"):
            out.append("ALTER TABLE terms ALTER COLUMN programme_id SET NOT NULL")
    out += [
        "CREATE FUNCTION terms_fill_programme() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.programme_id IS NULL THEN NEW.programme_id := (SELECT MIN(id) FROM programmes); END IF; "
        "RETURN NEW; END $$",
        "CREATE FUNCTION terms_refuse_no_programme() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.programme_id IS NULL THEN RAISE EXCEPTION 'NOT NULL constraint failed: terms.programme_id' "
        "USING ERRCODE = 'not_null_violation'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER terms_default_programme BEFORE INSERT ON terms "
        "FOR EACH ROW EXECUTE FUNCTION terms_fill_programme()",
        "CREATE TRIGGER terms_programme_required BEFORE UPDATE OF programme_id ON terms "
        "FOR EACH ROW EXECUTE FUNCTION terms_refuse_no_programme()",
    ]
    return out


def _audit_no_truncate(version: int, statements: list[str]) -> list[str]:
    """Migration 13: ``TRUNCATE audit_events`` refused (it fires no row trigger, so the
    append-only triggers of migration 4 did not stop it); SQLite has no TRUNCATE."""
    from .db import AUDIT_TRUNCATE_GUARD
    return [f"CREATE TRIGGER {AUDIT_TRUNCATE_GUARD} BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse()"]


#: Migrations whose SQLite form cannot be translated statement by statement: their PostgreSQL
#: form, made from the SQLite statements and the same Python data.
_OVERRIDES: dict[int, Callable[[int, list[str]], list[str]]] = {
    4: _audit_append_only,
    5: _data_version_triggers,
    6: _team_name_key,
    11: _programmes,
    13: _audit_no_truncate,
}


def migration_statements(version: int, statements: list[str]) -> list[str]:
    """The PostgreSQL statements of migration ``version`` (its SQLite statements given)."""
    if version in _OVERRIDES:
        return _OVERRIDES[version](version, statements)
    return [translate_ddl(version, s) for s in statements]


def bootstrap_statements() -> list[str]:
    """What PostgreSQL needs before migration 1: the ``nocase`` collation."""
    return [NOCASE_COLLATION]
