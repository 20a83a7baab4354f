"""A throw-away PostgreSQL cluster for the tests (issue 15), started once per test session.

Only when a PostgreSQL test runs: ``initdb`` into a temporary folder (as an unprivileged user when
run as root: ``postgres``, else ``nobody``), the server listening on a Unix socket in that folder
only (``listen_addresses=''``), durability off (``fsync=off``: the data is thrown away). One
template database is migrated once and copied once into the test database. Each test starts from
that database reset to the template's rows (every table emptied with triggers off, the template's
few rows put back, sequences restarted: ~40 ms, where ``CREATE DATABASE ... TEMPLATE`` takes
~1 s on this shared 2-core machine). A test that changed the schema (a catalog fingerprint
differs) gets a fresh copy of the template instead. Connections a test left open are ended.

When the server cannot start, the PostgreSQL cases are skipped with the reason, except under
``CI=true`` where that is a failure (.ci/run installs Debian's postgresql package).
"""
from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

TEMPLATE = "portal_template"
TEST_DATABASE = "portal_test"
DEMO = "portal_demo"
SUPERUSER = "portal"
FOLDER_PREFIX = "portal-pg-"
PORT = 5432  # only names the socket file inside our own folder: no TCP port is opened


def _binaries() -> Path | None:
    """The folder of the newest PostgreSQL server programs (14 or later) on this machine."""
    found = shutil.which("pg_ctl")
    candidates = [Path(found).resolve().parent] if found else []
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                      key=lambda p: int(re.sub(r"\D", "", p.split("/")[-2]) or 0), reverse=True)
    candidates += [Path(p) for p in versions]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _unprivileged_user() -> str | None:
    """Who runs the server: PostgreSQL refuses to run as root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


def _as(user: str | None) -> dict:
    """``subprocess`` arguments running a program as ``user`` with its own group and no others
    (not root's group), or unchanged when not run as root."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


class Cluster:
    """One running server in a temporary folder, and the databases made in it."""

    def __init__(self):
        self.folder: Path | None = None
        self.bin: Path | None = None
        self.user: str | None = None
        self.admin = None
        self.test = None  # connection to TEST_DATABASE that resets it
        self._names = itertools.count(1)
        self._rows: dict[str, tuple[str, list[tuple]]] = {}
        self._fingerprint = None
        self._demo_loaded = False

    def uri(self, dbname: str) -> str:
        return f"postgresql://{SUPERUSER}@/{dbname}?host={self.folder}&port={PORT}"

    def _run(self, *args: str) -> None:
        result = subprocess.run([str(self.bin / args[0]), *args[1:]], **_as(self.user), cwd=self.folder,
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")

    def start(self) -> None:
        import psycopg
        self.bin = _binaries()
        if self.bin is None:
            raise RuntimeError("no PostgreSQL server programs (initdb, pg_ctl) found: "
                               "install Debian's postgresql package")
        self.user = _unprivileged_user()
        _stop_orphans(self.bin, self.user)
        self.folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
        (self.folder / "owner.pid").write_text(str(os.getpid()))
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        atexit.register(self.stop)
        self._run("initdb", "-D", str(self.folder / "data"), "-U", SUPERUSER, "--auth=trust",
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        options = (f"-k {self.folder} -p {PORT} -c listen_addresses='' -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")
        self.admin = psycopg.connect(self.uri("postgres"), autocommit=True)
        self.admin.execute(f"CREATE DATABASE {TEMPLATE}")
        from matching import db as storage
        storage.connect(self.uri(TEMPLATE)).close()  # migrated once
        self._copy_test_database()
        self._fingerprint = self._schema_fingerprint()
        self._rows = self.snapshot()
        self._plan = self._reset_plan()

    def _copy_test_database(self, template: str = TEMPLATE) -> None:
        import psycopg
        if self.test is not None:
            self.test.close()
        self.drop(TEST_DATABASE)
        self.admin.execute(f"CREATE DATABASE {TEST_DATABASE} TEMPLATE {template}")
        self.test = psycopg.connect(self.uri(TEST_DATABASE), autocommit=True)

    def demo(self) -> str:
        """The test database as a copy of the demo data (loaded once per session: scrypt is slow
        on purpose); a ``CREATE DATABASE ... TEMPLATE`` per test, ~1 s here."""
        if not self._demo_loaded:
            from matching import db as storage
            from matching import demo
            self.admin.execute(f"CREATE DATABASE {DEMO} TEMPLATE {TEMPLATE}")
            database = storage.connect(self.uri(DEMO))
            demo.load_demo(database)
            database.close()
            self._demo_loaded = True
        self._copy_test_database(DEMO)
        return TEST_DATABASE

    def _tables(self) -> list[str]:
        return [name for (name,) in self.test.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]

    def _schema_fingerprint(self) -> tuple:
        return self.test.execute(
            "SELECT (SELECT string_agg(c.relname || '.' || a.attname || ':' || a.atttypid::text, ',' "
            "                          ORDER BY c.relname, a.attnum) "
            "        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "        WHERE n.nspname = 'public'), "
            "       (SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE NOT tgisinternal), "
            "       (SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc p "
            "        JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public')").fetchone()

    def snapshot(self) -> dict[str, tuple[str, list[tuple]]]:
        """Every table's rows in the test database now, without its generated columns (the
        database computes those again): what ``reset(to=...)`` puts back. A world built once per
        module is restored per test far cheaper than by a database copy."""
        content = {}
        for table in self._tables():
            columns = ", ".join(f'"{name}"' for (name,) in self.test.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position", [table]))
            content[table] = (columns, self.test.execute(f'SELECT {columns} FROM "{table}"').fetchall())
        return content

    def reset(self, to: dict[str, tuple[str, list[tuple]]] | None = None) -> str:
        """The test database as the migrated template left it (or as ``to``, a :meth:`snapshot`
        of the same schema, holds it); its name."""
        self.test.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        if self._schema_fingerprint() != self._fingerprint:
            self._copy_test_database()
            if to is None:
                return TEST_DATABASE
        content = self._rows if to is None else to
        tables, sequences, serials = self._plan
        with self.test.transaction():
            # One round trip: no triggers, no FK checks; every table emptied; every id sequence
            # restarted, then moved past the rows put back (migration 11 seeds the default
            # programme; a snapshot holds a whole world).
            self.test.execute("; ".join(["SET LOCAL session_replication_role = replica",
                                         *(f'DELETE FROM "{table}"' for table in tables),
                                         *(f'ALTER SEQUENCE "{sequence}" RESTART' for sequence in sequences)]))
            for table in tables:
                columns, rows = content.get(table, ("", []))
                if rows:
                    marks = ", ".join(["%s"] * len(rows[0]))
                    with self.test.cursor() as cursor:
                        cursor.executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', rows)
            moved = [f"SELECT setval('{serials[table]}', (SELECT MAX(id) FROM \"{table}\"))"
                     for table, (_, rows) in content.items() if rows and serials.get(table)]
            if moved:
                self.test.execute("; ".join(moved))
        return TEST_DATABASE

    def _reset_plan(self) -> tuple[list[str], list[str], dict[str, str]]:
        """What a reset touches, read once (the schema is the template's): the tables, the
        sequences, and each ``id`` column's sequence by table."""
        sequences = [name for (name,) in self.test.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1")]
        serials = {table: serial for table, serial in self.test.execute(
            "SELECT table_name, pg_get_serial_sequence(format('%I', table_name), 'id') "
            "FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'id'") if serial}
        return self._tables(), sequences, serials

    def create(self, template: str = TEMPLATE) -> str:
        """A new database copied from ``template`` (the migrated one, or ``template0``: empty)."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        self.admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        return name

    def drop(self, name: str) -> None:
        self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        if self.folder is None:
            return
        for connection in (self.test, self.admin):
            if connection is not None:
                connection.close()
        self.test = self.admin = None
        if (self.folder / "data" / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
            except (RuntimeError, subprocess.SubprocessError):
                pass
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None


def _stop_orphans(binaries: Path, user: str | None) -> None:
    """Stop the clusters of test sessions that were killed before they could (no ``atexit`` on
    SIGKILL/SIGTERM): a folder whose owner process is gone. Live sessions' clusters are left."""
    for owner in Path(tempfile.gettempdir()).glob(FOLDER_PREFIX + "*/owner.pid"):
        try:
            os.kill(int(owner.read_text()), 0)
            continue  # its test session still runs
        except ProcessLookupError:
            pass
        except (ValueError, PermissionError, OSError):
            continue
        data = owner.parent / "data"
        if (data / "postmaster.pid").exists():
            subprocess.run([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           **_as(user), cwd=owner.parent, capture_output=True, timeout=60)
        shutil.rmtree(owner.parent, ignore_errors=True)


_CLUSTER: Cluster | None = None
_FAILURE: str | None = None


def cluster() -> Cluster:
    """The session's cluster, started on first use; skips (fails under CI) when it cannot start."""
    global _CLUSTER, _FAILURE
    if _CLUSTER is None and _FAILURE is None:
        candidate = Cluster()
        try:
            candidate.start()
        except Exception as err:  # noqa: BLE001 - any reason it cannot start is reported whole
            candidate.stop()
            _FAILURE = f"PostgreSQL could not be started for the tests: {err}"
        else:
            _CLUSTER = candidate
    if _FAILURE is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(_FAILURE)
        pytest.skip(_FAILURE)
    return _CLUSTER


def stop() -> None:
    global _CLUSTER
    if _CLUSTER is not None:
        _CLUSTER.stop()
        _CLUSTER = None
