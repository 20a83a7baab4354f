"""Storage: one SQLite file, schema from numbered migrations, one transaction per state change.

The database path comes from ``PORTAL_DB`` (default ``data/portal.db``). Every SQLite connection
runs in WAL mode with foreign keys on and a busy timeout. A ``postgresql://`` URI there selects
PostgreSQL instead (:mod:`matching.pg`, docs/POSTGRES.md): the same services, SQL and migrations. Writes go through :func:`transaction`, the
one place that opens transactions: it takes the write lock up front (``BEGIN IMMEDIATE``) and
retries a bounded number of times, so a user never sees "database is locked".

Writes inside a transaction use :func:`insert` / :func:`update` here rather than
sqlite-utils' table methods, because those commit on their own and would split a state change
from its audit event.
"""
from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar
from urllib.parse import urlsplit, urlunsplit

import sqlite_utils

from . import DATA_DIR
from .errors import Busy

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000
#: Waits for the write lock (each up to the busy timeout / ``lock_timeout``) before Busy.
LOCK_RETRIES = 8
#: Runs of a whole service call that failed on a PostgreSQL deadlock or conflict (:func:`retrying`).
CALL_ATTEMPTS = 4

#: Tables whose rows feed the ranker (text, approval, term) -> the columns whose update matters
#: (None: any). A trigger on each bumps the data version in the same transaction as the write,
#: so no writer has to remember to. (A team's preference list version is not ranked text.)
RANKED_TABLES = {"challenges": None, "members": None,
                 "teams": "name, program, year, skills, interests, past_work, language, term_id, version"}

#: Numbered migrations. Never edit one that has shipped: add the next number.
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "initial schema", """
CREATE TABLE terms (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL DEFAULT 'planning',
    starts_on TEXT,
    ends_on TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE departments (
    id INTEGER PRIMARY KEY,
    acronym TEXT NOT NULL UNIQUE,
    name_en TEXT NOT NULL,
    name_fr TEXT NOT NULL
);
CREATE TABLE teams (
    id INTEGER PRIMARY KEY,
    term_id INTEGER REFERENCES terms(id),
    name TEXT NOT NULL,
    program TEXT NOT NULL DEFAULT '',
    year INTEGER,
    skills TEXT NOT NULL DEFAULT '[]',
    interests TEXT NOT NULL DEFAULT '[]',
    past_work TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT 'en',
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL,
    UNIQUE (term_id, name)
);
CREATE TABLE members (
    id INTEGER PRIMARY KEY,
    team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    program_year TEXT NOT NULL DEFAULT ''
);
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    department_id INTEGER REFERENCES departments(id),
    team_id INTEGER REFERENCES teams(id),
    password_hash TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT 'en',
    created_at TEXT NOT NULL
);
CREATE TABLE challenges (
    id INTEGER PRIMARY KEY,
    term_id INTEGER REFERENCES terms(id),
    department_id INTEGER NOT NULL REFERENCES departments(id),
    title TEXT NOT NULL DEFAULT '',
    problem TEXT NOT NULL DEFAULT '',
    outcomes TEXT NOT NULL DEFAULT '',
    themes TEXT NOT NULL DEFAULT '[]',
    language TEXT NOT NULL DEFAULT 'en',
    capacity INTEGER NOT NULL DEFAULT 1,
    sme_name TEXT NOT NULL DEFAULT '',
    sme_email TEXT NOT NULL DEFAULT '',
    unclassified INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'draft',
    comments TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    submitted_at TEXT
);
CREATE INDEX challenges_status ON challenges(status);
CREATE INDEX challenges_department ON challenges(department_id);
CREATE TABLE preferences (
    team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    challenge_id INTEGER NOT NULL REFERENCES challenges(id),
    rank INTEGER NOT NULL CHECK (rank BETWEEN 1 AND 5),
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (team_id, challenge_id),
    UNIQUE (team_id, rank)
);
CREATE TABLE pairings (
    id INTEGER PRIMARY KEY,
    term_id INTEGER NOT NULL REFERENCES terms(id),
    team_id INTEGER NOT NULL REFERENCES teams(id),
    challenge_id INTEGER NOT NULL REFERENCES challenges(id),
    state TEXT NOT NULL DEFAULT 'proposed',
    score REAL,
    preference_rank INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX pairings_term ON pairings(term_id, state);
CREATE TABLE pairing_rules (
    id INTEGER PRIMARY KEY,
    term_id INTEGER NOT NULL REFERENCES terms(id),
    team_id INTEGER NOT NULL REFERENCES teams(id),
    challenge_id INTEGER NOT NULL REFERENCES challenges(id),
    kind TEXT NOT NULL CHECK (kind IN ('lock', 'ban')),
    reason TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    UNIQUE (term_id, team_id, challenge_id)
);
CREATE TABLE feedback_rounds (
    id INTEGER PRIMARY KEY,
    term_id INTEGER NOT NULL REFERENCES terms(id),
    name TEXT NOT NULL,
    due_on TEXT NOT NULL,
    UNIQUE (term_id, name)
);
CREATE TABLE feedback_entries (
    id INTEGER PRIMARY KEY,
    round_id INTEGER NOT NULL REFERENCES feedback_rounds(id),
    pairing_id INTEGER NOT NULL REFERENCES pairings(id),
    expert_id INTEGER REFERENCES users(id),
    state TEXT NOT NULL DEFAULT 'open',
    scores TEXT NOT NULL DEFAULT '{}',
    comments TEXT NOT NULL DEFAULT '',
    reply TEXT NOT NULL DEFAULT '',
    submitted_at TEXT,
    replied_at TEXT,
    UNIQUE (round_id, pairing_id, expert_id)
);
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor_id INTEGER,
    actor_email TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    target_type TEXT NOT NULL DEFAULT '',
    target_id TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_at ON audit_events(at);
"""),
    (2, "sign-in protection and data version", """
ALTER TABLE users ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until TEXT;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta (key, value) VALUES ('data_version', '1');
"""),
    (3, "assignment runs, publications and pairing reasons", """
ALTER TABLE pairings ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE pairings ADD COLUMN source TEXT NOT NULL DEFAULT 'optimiser';
CREATE INDEX pairings_team ON pairings(team_id, state);
CREATE TABLE assignment_runs (
    id INTEGER PRIMARY KEY,
    term_id INTEGER NOT NULL REFERENCES terms(id),
    run_by INTEGER,
    run_at TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '{}',
    unmatched TEXT NOT NULL DEFAULT '{}',
    warnings TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE publications (
    id INTEGER PRIMARY KEY,
    term_id INTEGER NOT NULL REFERENCES terms(id),
    published_by INTEGER,
    published_at TEXT NOT NULL,
    pairs TEXT NOT NULL DEFAULT '[]',
    changes TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX feedback_entries_pairing ON feedback_entries(pairing_id);
"""),
    (4, "append-only audit log", """
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_events_fixed_columns BEFORE UPDATE OF id, at, actor_id, action, target_type, target_id
ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_events_no_rewrite BEFORE UPDATE OF actor_email, reason, detail ON audit_events
WHEN NOT EXISTS (SELECT 1 FROM meta WHERE key = 'audit_purge_open')
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
"""),
    (5, "term lifecycle: versions, challenge revisions, data version kept by triggers", """
ALTER TABLE terms ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE terms ADD COLUMN plan_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE teams ADD COLUMN preferences_version INTEGER NOT NULL DEFAULT 1;
CREATE INDEX teams_term ON teams(term_id);
CREATE INDEX challenges_term ON challenges(term_id, status);
CREATE TABLE challenge_revisions (
    id INTEGER PRIMARY KEY,
    challenge_id INTEGER NOT NULL REFERENCES challenges(id),
    state TEXT NOT NULL DEFAULT 'pending',
    changes TEXT NOT NULL DEFAULT '{}',
    base_version INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    comments TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1,
    proposed_by INTEGER REFERENCES users(id),
    proposed_at TEXT NOT NULL,
    decided_by INTEGER REFERENCES users(id),
    decided_at TEXT
);
CREATE INDEX challenge_revisions_challenge ON challenge_revisions(challenge_id, state);
""" + "".join(f"""
CREATE TRIGGER {table}_{event.lower()}_bumps_data_version
AFTER {event}{f" OF {columns}" if event == "UPDATE" and columns else ""} ON {table}
BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'data_version';
END;""" for table, columns in RANKED_TABLES.items() for event in ("INSERT", "UPDATE", "DELETE"))),
]

# --- Migration 6: team names unique per term whatever the capitals and accents; demo accounts ----

#: What a team name's key folds, in this order, after ``lower(trim(...))`` (which lowers ASCII
#: only): accented Latin letters of both cases to their base letter, ligatures, decomposed accents
#: (combining marks) dropped, no-break spaces and runs of spaces to one space. In SQL, not Python,
#: so that every connection (the sqlite3 shell included) computes the same key and the database
#: itself enforces it. SQLite's parser takes about thirty nested calls, so the folds are applied
#: in stages, one generated column each (``name_fold_1`` .. ``name_fold_3``, then ``name_key``).
#: Frozen with migration 6: a change needs a new migration that rebuilds the columns and index.
_NAME_FOLDS = (
    [(c, "a") for c in "àáâãäåÀÁÂÃÄÅ"] + [(c, "c") for c in "çÇ"] + [(c, "e") for c in "èéêëÈÉÊË"]
    + [(c, "i") for c in "ìíîïÌÍÎÏ"] + [(c, "n") for c in "ñÑ"] + [(c, "o") for c in "òóôõöøÒÓÔÕÖØ"]
    + [(c, "u") for c in "ùúûüÙÚÛÜ"] + [(c, "y") for c in "ýÿÝŸ"] + [("œ", "oe"), ("Œ", "oe"), ("æ", "ae"), ("Æ", "ae")]
    + [(chr(mark), "") for mark in (0x300, 0x301, 0x302, 0x303, 0x308, 0x30A, 0x327)]
    + [("\u00a0", " "), ("\u202f", " ")] + [("  ", " ")] * 4)
_FOLD_STAGES = 4


def _name_fold_stage(i: int, operand: str) -> str:
    """Stage ``i`` (0-based) of a team name's key, applied to ``operand`` (the previous stage)."""
    size = -(-len(_NAME_FOLDS) // _FOLD_STAGES)
    expression = f"lower(trim({operand}))" if i == 0 else operand
    for source, target in _NAME_FOLDS[i * size:(i + 1) * size]:
        expression = f"replace({expression}, '{source}', '{target}')"
    return expression


def team_name_key_query() -> str:
    """``SELECT`` of the key of one team name (one ``?`` parameter), as the column computes it."""
    sql = "SELECT ? AS x"
    for i in range(_FOLD_STAGES):
        sql = f"SELECT {_name_fold_stage(i, 'x')} AS x FROM ({sql}) AS stage_{i}"
    return sql


def _team_name_key_columns() -> str:
    names = [f"name_fold_{i}" for i in range(1, _FOLD_STAGES)] + ["name_key"]
    return "".join(f"ALTER TABLE teams ADD COLUMN {name} TEXT GENERATED ALWAYS AS "
                   f"({_name_fold_stage(i, (['name'] + names)[i])}) VIRTUAL;\n" for i, name in enumerate(names))


MIGRATIONS.append((6, "team names unique per term ignoring case and accents; demo accounts marked",
                   _team_name_key_columns() + """
INSERT INTO audit_events (at, actor_email, action, target_type, target_id, detail)
SELECT strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), 'system', 'team.renamed_duplicate', 'team', t.id,
       json_object('from', t.name, 'to', t.name || ' (' || t.id || ')', 'term_id', t.term_id)
FROM teams t WHERE EXISTS (SELECT 1 FROM teams o WHERE o.term_id = t.term_id AND o.name_key = t.name_key
                           AND o.id < t.id);
UPDATE teams SET name = name || ' (' || id || ')'
WHERE EXISTS (SELECT 1 FROM teams o WHERE o.term_id = teams.term_id AND o.name_key = teams.name_key
              AND o.id < teams.id);
CREATE UNIQUE INDEX teams_term_name_key ON teams(term_id, name_key);
ALTER TABLE users ADD COLUMN demo INTEGER NOT NULL DEFAULT 0;
UPDATE users SET demo = 1
WHERE email LIKE '%@demo.%'
  AND created_at <= (SELECT MIN(at) FROM audit_events WHERE action = 'demo.load');
"""))

# --- Migration 7: notifications (in-app inbox), the e-mail outbox, password-reset tokens ------
MIGRATIONS.append((7, "notifications, e-mail outbox, delivery choice, password-reset tokens", """
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    recipient TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT 'en',
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_at TEXT,
    sent_at TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    page TEXT NOT NULL DEFAULT '',
    term_id INTEGER REFERENCES terms(id),
    dedupe_key TEXT,
    email TEXT NOT NULL DEFAULT 'none',
    outbox_id INTEGER REFERENCES outbox(id),
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX notifications_user ON notifications(user_id, read_at);
CREATE UNIQUE INDEX notifications_dedupe ON notifications(user_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX notifications_digest ON notifications(email, outbox_id);
ALTER TABLE users ADD COLUMN email_delivery TEXT NOT NULL DEFAULT 'immediately';
CREATE TABLE password_resets (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX password_resets_user ON password_resets(user_id);
"""))

# --- Migration 8: server-side sign-in sessions (issue 14.2) ----------------------------------
MIGRATIONS.append((8, "server-side sign-in sessions (a reload keeps a person signed in)", """
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    token_hash TEXT UNIQUE,
    handoff_hash TEXT UNIQUE,
    handoff_expires_at TEXT,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_reason TEXT
);
CREATE INDEX sessions_user ON sessions(user_id, revoked_at);
"""))

# --- Migration 9: feedback rounds versioned, the thread under each entry (issue 14.11) ------
MIGRATIONS.append((9, "feedback rounds versioned; a short thread per feedback entry and whose word it awaits", """
ALTER TABLE feedback_rounds ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE feedback_entries ADD COLUMN waiting_on TEXT;
CREATE TABLE feedback_messages (
    id INTEGER PRIMARY KEY,
    entry_id INTEGER NOT NULL REFERENCES feedback_entries(id),
    author_id INTEGER REFERENCES users(id),
    side TEXT NOT NULL CHECK (side IN ('expert', 'team')),
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX feedback_messages_entry ON feedback_messages(entry_id, id);
"""))

# --- Migration 10: departments' French acronyms (issue 14.9) ------------------------------
MIGRATIONS.append((10, "departments' French acronyms (EDSC, MPO, ARC...)", """
ALTER TABLE departments ADD COLUMN acronym_fr TEXT NOT NULL DEFAULT '';
-- The official French acronyms of the departments the portal knew (data/departments.csv has
-- the same; tests/test_departments.py checks they agree). Others keep their one acronym.
WITH official(acronym, acronym_fr) AS (VALUES
  ('ESDC', 'EDSC'),
  ('ECCC', 'ECCC'),
  ('DFO', 'MPO'),
  ('ISC', 'SAC'),
  ('IRCC', 'IRCC'),
  ('CRA', 'ARC'),
  ('HC', 'SC'),
  ('PHAC', 'ASPC'),
  ('SSC', 'SPC'),
  ('TBS', 'SCT'),
  ('NRCan', 'RNCan'),
  ('AAFC', 'AAC'),
  ('TC', 'TC'),
  ('VAC', 'ACC'),
  ('StatCan', 'StatCan'),
  ('PCH', 'PCH'),
  ('CFIA', 'ACIA'),
  ('PSPC', 'SPAC'))
UPDATE departments SET acronym_fr = (SELECT o.acronym_fr FROM official o WHERE o.acronym = departments.acronym)
WHERE acronym IN (SELECT acronym FROM official);
"""))

# --- Migration 11: programmes, organisation types, challenges offered to several programmes ---
#: The default programme, created by migration 11 (its first row): every existing term belongs to
#: it, and a term inserted without a programme gets it (the trigger ``terms_default_programme``).
DEFAULT_PROGRAMME_CODE = "sheridan-bid"

MIGRATIONS.append((11, "programmes (a term belongs to one), organisation types, challenges offered to several programmes", """
CREATE TABLE programmes (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    institution_en TEXT NOT NULL,
    institution_fr TEXT NOT NULL,
    name_en TEXT NOT NULL,
    name_fr TEXT NOT NULL,
    created_at TEXT NOT NULL
);
INSERT INTO programmes (code, institution_en, institution_fr, name_en, name_fr, created_at)
VALUES ('sheridan-bid', 'Sheridan College', 'Collège Sheridan', 'Bachelor of Interaction Design',
        'Baccalauréat en design d’interaction', strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'));
ALTER TABLE terms ADD COLUMN programme_id INTEGER REFERENCES programmes(id);
UPDATE terms SET programme_id = (SELECT MIN(id) FROM programmes);
CREATE INDEX terms_programme ON terms(programme_id, state);
-- SQLite cannot make an added column NOT NULL (nor give a REFERENCES column a default): these
-- two triggers keep it so. A term inserted without a programme gets the default (first) one;
-- no update may clear it. (PostgreSQL: a real NOT NULL, and the same two triggers.)
CREATE TRIGGER terms_default_programme AFTER INSERT ON terms WHEN NEW.programme_id IS NULL
BEGIN
    UPDATE terms SET programme_id = (SELECT MIN(id) FROM programmes) WHERE id = NEW.id;
END;
CREATE TRIGGER terms_programme_required BEFORE UPDATE OF programme_id ON terms WHEN NEW.programme_id IS NULL
BEGIN
    SELECT RAISE(ABORT, 'NOT NULL constraint failed: terms.programme_id');
END;
CREATE TABLE facilitator_programmes (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    programme_id INTEGER NOT NULL REFERENCES programmes(id),
    PRIMARY KEY (user_id, programme_id)
);
ALTER TABLE departments ADD COLUMN kind TEXT NOT NULL DEFAULT 'federal';
ALTER TABLE challenges ADD COLUMN offered_from INTEGER REFERENCES challenges(id);
CREATE INDEX challenges_offered_from ON challenges(offered_from);
"""))

# --- Migration 12: outcomes (issue 17): final summaries, final assessments, outcome reports ---
MIGRATIONS.append((12, "outcomes: final summaries, final assessments, outcome reports; when terms closed and challenges were approved", """
ALTER TABLE terms ADD COLUMN closed_on TEXT;
UPDATE terms SET closed_on = ends_on WHERE state = 'closed';
ALTER TABLE challenges ADD COLUMN approved_at TEXT;
UPDATE challenges SET approved_at = (SELECT MAX(a.at) FROM audit_events a WHERE a.action = 'challenge.approve'
                                      AND a.target_type = 'challenge' AND a.target_id = CAST(challenges.id AS TEXT))
WHERE status = 'approved';
CREATE TABLE final_summaries (
    id INTEGER PRIMARY KEY,
    pairing_id INTEGER NOT NULL UNIQUE REFERENCES pairings(id),
    learned TEXT NOT NULL DEFAULT '',
    made TEXT NOT NULL DEFAULT '',
    recommendations TEXT NOT NULL DEFAULT '',
    links TEXT NOT NULL DEFAULT '[]',
    show_names INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    submitted_by INTEGER REFERENCES users(id),
    submitted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE final_assessments (
    id INTEGER PRIMARY KEY,
    pairing_id INTEGER NOT NULL UNIQUE REFERENCES pairings(id),
    expert_id INTEGER REFERENCES users(id),
    scores TEXT NOT NULL DEFAULT '{}',
    comments TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1,
    submitted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE outcome_reports (
    id INTEGER PRIMARY KEY,
    pairing_id INTEGER NOT NULL REFERENCES pairings(id),
    checkpoint TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1,
    reported_by INTEGER REFERENCES users(id),
    reported_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (pairing_id, checkpoint)
);
"""))

# --- Migration 13: the audit log cannot be emptied by TRUNCATE either (issue 15.4) -----------
#: The trigger PostgreSQL adds (matching/pg.py); ``portal restore`` on PostgreSQL, which replaces
#: every table with the backup's, disables it inside its own transaction only (audited).
AUDIT_TRUNCATE_GUARD = "audit_events_no_truncate"
MIGRATIONS.append((13, "audit log: TRUNCATE refused too (PostgreSQL)", """
-- SQLite has no TRUNCATE: its DELETE without WHERE fires audit_events_no_delete (migration 4)
-- PostgreSQL: a statement-level BEFORE TRUNCATE trigger, from matching/pg.py
"""))

SCHEMA_VERSION = MIGRATIONS[-1][0]


def now_iso() -> str:
    """UTC now, ISO 8601 with seconds: the one timestamp format stored."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def default_path() -> Path:
    return Path(os.environ.get("PORTAL_DB") or DATA_DIR / "portal.db")


def is_postgres_uri(target: object) -> bool:
    """Whether a database setting names PostgreSQL (a libpq URI) rather than a SQLite file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def display_target(target: str | os.PathLike) -> str:
    """A database setting as it may be shown or logged: a URI's password replaced by ``***``."""
    if not is_postgres_uri(target):
        return str(target)
    parts = urlsplit(str(target))
    netloc = parts.netloc
    if "@" in netloc and ":" in netloc.rsplit("@", 1)[0]:
        netloc = netloc.rsplit("@", 1)[0].split(":", 1)[0] + ":***@" + netloc.rsplit("@", 1)[1]
    query = re.sub(r"(^|&)password=[^&]*", r"\1password=***", parts.query)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def dialect(db) -> str:
    """``"sqlite"`` or ``"postgresql"``: the backend of a connection from :func:`connect`."""
    return getattr(db, "dialect", "sqlite")


def driver(db):
    """The DB-API module behind ``db`` (``sqlite3`` or ``psycopg``): its ``IntegrityError``,
    ``DatabaseError``... are the exceptions that connection raises."""
    if dialect(db) == "postgresql":
        import psycopg
        return psycopg
    return sqlite3


def database_key(db) -> str:
    """Which database ``db`` is (SQLite: the file's path), for keys of caches shared by connections."""
    if dialect(db) == "postgresql":
        return db.key()
    row = db.execute("PRAGMA database_list").fetchone()
    return row[2] if row else ""


def connect(path: str | os.PathLike | None = None, *, migrate_schema: bool = True,
            pooled: bool = False) -> sqlite_utils.Database:
    """Open the portal database (creating it 0600 and migrating it), WAL, foreign keys, busy timeout.

    ``path`` (else ``PORTAL_DB``) may be a ``postgresql://`` URI: then a PostgreSQL connection
    with the same methods is returned (:class:`matching.pg.PostgresDatabase`). ``pooled`` (the
    app's script runs): on PostgreSQL the connection is lent by the URI's pool and ``close()``
    gives it back; its schema is checked once per pool. SQLite opens a connection either way
    (a file: opening one costs little, and a connection is never shared between runs)."""
    target = path if path is not None else os.environ.get("PORTAL_DB")
    if is_postgres_uri(target):
        from . import pg
        database = pg.connect(target, lock_timeout_ms=BUSY_TIMEOUT_MS, pooled=pooled)
        if migrate_schema and not (pooled and target in _MIGRATED_POOLS):
            try:
                migrate(database)
            except BaseException:
                database.close()
                raise
            if pooled:
                _MIGRATED_POOLS.add(target)
        return database
    path = Path(path) if path is not None else default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # The file holds every password hash and all personal data: create it 0600 whatever the
    # umask. SQLite gives the -wal, -shm and -journal files the main file's permissions, so they
    # are private too. An existing file keeps the mode its owner gave it.
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    else:
        os.fchmod(fd, 0o600)
        os.close(fd)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    db = sqlite_utils.Database(conn)
    if migrate_schema:
        migrate(db)
    return db


#: URIs whose pool's database was already migrated by this process (:func:`connect`).
_MIGRATED_POOLS: set[str] = set()


def schema_version(db: sqlite_utils.Database) -> int:
    if "schema_migrations" not in db.table_names():
        return 0
    row = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return row[0] or 0


def migrate(db: sqlite_utils.Database, *, target: int | None = None) -> list[int]:
    """Apply every migration above the recorded version (up to ``target``); return those applied."""
    target = SCHEMA_VERSION if target is None else target
    if schema_version(db) == target:
        # Every page run connects: an up-to-date database must not take the write lock.
        return []
    with transaction(db):
        db.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                   "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        current = schema_version(db)
        if current > SCHEMA_VERSION:
            from .errors import PortalError
            raise PortalError("db.newer_schema", f"database schema {current} is newer than this "
                              f"portal ({SCHEMA_VERSION})", found=current, supported=SCHEMA_VERSION)
        applied = []
        postgres = dialect(db) == "postgresql"
        if postgres and current < target:
            from . import pg
            for statement in pg.bootstrap_statements():
                db.execute(statement)
        for version, name, sql in MIGRATIONS:
            if current < version <= target:
                statements = list(_statements(sql))
                if postgres:
                    statements = pg.migration_statements(version, statements)
                for statement in statements:
                    db.execute(statement)
                db.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                           [version, name, now_iso()])
                applied.append(version)
    return applied


def _statements(sql: str) -> Iterator[str]:
    # executescript() would commit the open transaction, so run statements one by one.
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One write transaction; nested use joins the outer one.

    ``BEGIN IMMEDIATE`` takes the write lock before any work, so the only place a lock can be
    refused is here, and it is retried with back-off beyond the busy timeout.
    """
    if dialect(db) == "postgresql":
        yield from _postgres_transaction(db)
        return
    conn = db.conn
    if conn.in_transaction:
        yield db
        return
    for attempt in range(LOCK_RETRIES + 1):
        try:
            conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) and "busy" not in str(err):
                raise
            if attempt == LOCK_RETRIES:
                raise Busy() from err  # every wait already took the busy timeout: not retryable
            time.sleep(back_off(attempt))
    try:
        yield db
    except BaseException:
        # SQLite has already rolled back by itself after some errors (a full disk, an I/O
        # error); a second ROLLBACK would raise and hide the error that matters.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")
        _committed(db)


def _committed(db) -> None:
    """Count a commit on this connection (:func:`retrying` never reruns a call past one)."""
    db.commits = getattr(db, "commits", 0) + 1


@contextmanager
def claim_transaction(db) -> Iterator[str]:
    """A transaction in which a worker claims rows of a queue (the outbox), and the clause its
    ``SELECT`` ends with (the one place this dialect difference lives).

    SQLite: the usual write transaction (``BEGIN IMMEDIATE``: claimers take turns) and ``""``.
    PostgreSQL: a transaction *without* the portal's write lock and ``" FOR UPDATE SKIP
    LOCKED"``: each claimer locks the rows it selects and passes over rows another one holds,
    so two workers on two servers claim disjoint rows, without waiting for each other or for
    page writers. Only rows locked that way may be written in it.
    """
    if dialect(db) == "postgresql":
        from .pg import SKIP_LOCKED
        yield from _postgres_transaction(db, write_lock=False, value=SKIP_LOCKED)
        return
    with transaction(db):
        yield ""


def _postgres_transaction(db, *, write_lock: bool = True, value=None) -> Iterator:
    """PostgreSQL's :func:`transaction`: ``BEGIN`` and the portal's write lock (one writer at a
    time, as ``BEGIN IMMEDIATE`` on SQLite), waits retried with the same back-off. A deadlock,
    a serialization failure or a lock wait past ``lock_timeout`` in the middle rolls back and
    raises :class:`~matching.errors.Busy` (retryable: :func:`retrying` reruns the whole call).
    Yields ``value`` (default: ``db``)."""
    from .pg import TRANSIENT_ERRORS
    value = db if value is None else value
    if db.in_transaction:
        yield value
        return
    try:
        db.begin_write(LOCK_RETRIES, back_off, write_lock=write_lock)
    except TRANSIENT_ERRORS as err:
        raise Busy() from err  # the write lock was waited for through every retry
    try:
        yield value
    except TRANSIENT_ERRORS as err:
        db.rollback()
        raise Busy(retryable=True) from err
    except BaseException:
        db.rollback()
        raise
    else:
        try:
            db.commit()
        except TRANSIENT_ERRORS as err:  # a conflict found at commit time (deferred checks)
            db.rollback()
            raise Busy(retryable=True) from err
        _committed(db)


def back_off(attempt: int) -> float:
    """Seconds to wait before retry ``attempt`` + 1 (0, 1, ...): doubling from 50 ms, with
    jitter so that app servers that failed together do not retry together."""
    return 0.05 * (2 ** attempt) * random.uniform(0.5, 1.5)


def retrying(db, call: Callable[[], T], *, attempts: int = CALL_ATTEMPTS) -> T:
    """``call()``, rerun (with :func:`back_off`) while it fails with a retryable
    :class:`~matching.errors.Busy`, at most ``attempts`` times in all; then the ``Busy`` goes
    up: one clear "the portal is busy" sentence for the person, never a traceback.

    A call is rerun only when the failed transaction was its first to write: a call that had
    already committed a transaction is not repeated (its first part would be done twice).
    Pages call services through ``ui.attempt``, which goes through here."""
    for attempt in range(attempts):
        before = getattr(db, "commits", 0)
        try:
            return call()
        except Busy as err:
            if not err.retryable or getattr(db, "commits", 0) != before or attempt + 1 == attempts:
                raise
            time.sleep(back_off(attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def insert(db: sqlite_utils.Database, table: str, record: dict[str, Any]) -> int:
    """Insert one row with a parameterised statement; return its rowid."""
    if dialect(db) == "postgresql":
        return db.insert_returning_id(table, {c: _encode(v) for c, v in record.items()})
    columns = list(record)
    sql = (f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in columns)}) "
           f"VALUES ({', '.join('?' for _ in columns)})")
    return db.execute(sql, [_encode(record[c]) for c in columns]).lastrowid


def update(db: sqlite_utils.Database, table: str, row_id: int, changes: dict[str, Any]) -> None:
    """Update one row by id with a parameterised statement."""
    if not changes:
        return
    assignments = ", ".join(f"[{c}] = ?" for c in changes)
    db.execute(f"UPDATE [{table}] SET {assignments} WHERE id = ?",
               [_encode(v) for v in changes.values()] + [row_id])


def _encode(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return int(value)
    return value


def one(db: sqlite_utils.Database, sql: str, params: list | tuple = ()) -> dict | None:
    """First row of a parameterised query as a dict, or None."""
    rows = list(db.query(sql, params))
    return rows[0] if rows else None


def data_version(db: sqlite_utils.Database) -> int:
    """A number that every write to ranked data bumps (triggers of migration 5, in the writer's
    own transaction); caches of fitted rankers key on it."""
    row = db.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
    return int(row[0]) if row else 0


def set_data_version_above(db: sqlite_utils.Database, floor: int) -> None:
    """Move the data version past ``floor``: after a restore the file's own counter may repeat a
    number that caches already hold for the data that was replaced."""
    larger = "GREATEST" if dialect(db) == "postgresql" else "MAX"  # SQLite's scalar MAX(a, b)
    db.execute(f"UPDATE meta SET value = {larger}(CAST(value AS INTEGER), ?) + 1 WHERE key = 'data_version'",
               [int(floor)])
