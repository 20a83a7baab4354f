"""Shared fixtures: a fresh database per test, a small world with every role, AppTest helpers."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from matching import accounts, challenges, demo, matches  # noqa: E402
from matching import db as storage  # noqa: E402

import pg_cluster  # noqa: E402  (tests/pg_cluster.py: the throw-away PostgreSQL cluster)

PASSWORD = "correct-horse-battery"


# --- Backends (issue 15): a module or test marked ``backends("sqlite", "postgresql")`` runs on both -

#: A test that asks for one of these runs on every backend its module's ``backends`` mark names.
DATABASE_FIXTURES = {"db", "db_target", "demo_db_path", "demo_db", "new_database"}


def pytest_addoption(parser):
    parser.addoption("--backends", default="", metavar="NAMES",
                     help="comma-separated storage backends (sqlite,postgresql) to run every test on, "
                          "not only those marked backends(...): to try a test file on PostgreSQL")


def pytest_generate_tests(metafunc):
    if "backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("backends")
    chosen = [name for name in metafunc.config.getoption("backends").split(",") if name]
    if chosen:
        names = [name for name in chosen if marker is None or name in marker.args]
    elif marker is not None and DATABASE_FIXTURES & set(metafunc.fixturenames):
        names = list(marker.args)  # a test of a marked module that touches no database runs once
    else:
        return
    reason = "not for these backends"
    sqlite_only = metafunc.definition.get_closest_marker("sqlite_only")
    if sqlite_only is not None:  # SQLite by nature (its files, pragmas, trace hooks): never on PostgreSQL
        names = [name for name in names if name == "sqlite"]
        reason = "SQLite only: " + (sqlite_only.args[0] if sqlite_only.args else sqlite_only.kwargs.get("reason", ""))
    metafunc.parametrize("backend", [pytest.param(name, marks=[getattr(pytest.mark, name)]) for name in names]
                         or [pytest.param("sqlite", marks=pytest.mark.skip(reason=reason))],
                         indirect=True)


def pytest_collection_modifyitems(config, items):
    """A parametrize case marked ``sqlite_only(reason)`` (``pytest.param(..., marks=...)``, which
    ``pytest_generate_tests`` cannot see) is SQLite by nature too: its PostgreSQL case is skipped
    with that reason, never silently dropped."""
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        callspec = getattr(item, "callspec", None)
        if marker is None or callspec is None or callspec.params.get("backend") != "postgresql":
            continue
        reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
        item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


def pytest_sessionfinish(session):
    pg_cluster.stop()


@pytest.fixture
def backend(request) -> str:
    """``"sqlite"`` (every test not marked ``backends``) or ``"postgresql"``."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def new_database(backend, tmp_path):
    """A factory of empty, unmigrated databases of the test's backend: a file path or a URI."""
    made = []

    def make(name: str = "other.db") -> str:
        if backend == "postgresql":
            cluster = pg_cluster.cluster()
            made.append(cluster.create(template="template0"))
            return cluster.uri(made[-1])
        return str(tmp_path / name)

    yield make
    for name in made:
        pg_cluster.cluster().drop(name)


@pytest.fixture(autouse=True)
def _isolated(request, backend, tmp_path, monkeypatch):
    """Every test gets its own database and an empty ranker cache; on PostgreSQL the session's
    test database reset to the freshly migrated state (tests/pg_cluster.py)."""
    if backend == "postgresql":
        cluster = pg_cluster.cluster()
        monkeypatch.setenv("PORTAL_DB", cluster.uri(cluster.reset()))
    else:
        monkeypatch.setenv("PORTAL_DB", str(tmp_path / "portal.db"))
    matches.clear_cache()
    yield
    matches.clear_cache()


@pytest.fixture
def db_target(_isolated) -> str:
    """What ``--db`` / ``PORTAL_DB`` names for this test's database: a file path or a URI."""
    import os
    return os.environ["PORTAL_DB"]


@pytest.fixture
def db(_isolated):
    """The test's database (SQLite file, or PostgreSQL with ``backends``), connected and migrated."""
    import os
    database = storage.connect(os.environ["PORTAL_DB"])
    yield database
    database.close()


def _user(db, role, email, **links):
    return accounts.create_user(db, accounts.SYSTEM, {"email": email, "name": email.split("@")[0].title(),
                                                      "role": role, **links}, PASSWORD)


@pytest.fixture
def world(db):
    """Two departments, one term in intake, two teams, and a user of every role in each org."""
    now = storage.now_iso()
    with storage.transaction(db):
        esdc = storage.insert(db, "departments", {"acronym": "ESDC", "name_en": "Employment and Social Development Canada",
                                                  "name_fr": "Emploi et Développement social Canada"})
        dfo = storage.insert(db, "departments", {"acronym": "DFO", "name_en": "Fisheries and Oceans Canada",
                                                 "name_fr": "Pêches et Océans Canada"})
        term = storage.insert(db, "terms", {"name": "Winter 2027", "state": "intake", "created_at": now})
        team_a = storage.insert(db, "teams", {"term_id": term, "name": "Access Crew", "program": "Interaction Design",
                                              "skills": ["accessibility testing", "service design", "user research"],
                                              "interests": ["accessibility", "digital inclusion"],
                                              "past_work": "Audited a transit website for screen reader users.",
                                              "updated_at": now})
        team_b = storage.insert(db, "teams", {"term_id": term, "name": "Blue Water", "program": "Interaction Design",
                                              "skills": ["data visualization", "mapping"], "interests": ["oceans"],
                                              "past_work": "", "updated_at": now})
        for team, name in ((team_a, "Ana Lopez"), (team_b, "Ben Chu")):
            storage.insert(db, "members", {"team_id": team, "name": name,
                                           "email": name.lower().replace(" ", ".") + "@sheridancollege.ca"})
    w = {"esdc": esdc, "dfo": dfo, "term": term, "team_a": team_a, "team_b": team_b}
    w["rep_esdc"] = _user(db, "department_rep", "rep@esdc.gc.ca", department_id=esdc)
    w["rep_dfo"] = _user(db, "department_rep", "rep@dfo.gc.ca", department_id=dfo)
    w["student_a"] = _user(db, "student", "ana.lopez@sheridancollege.ca", team_id=team_a)
    w["student_b"] = _user(db, "student", "ben.chu@sheridancollege.ca", team_id=team_b)
    w["facilitator"] = _user(db, "facilitator", "fac@pco.gc.ca")
    w["expert"] = _user(db, "expert", "sme@esdc.gc.ca", department_id=esdc)
    return w


ACCESSIBILITY = {
    "title": "Make EI applications work with screen readers",
    "problem": "Employment Insurance applicants who use screen readers and other assistive technology "
               "abandon the online application. We want to understand where the service fails them.",
    "outcomes": "An accessibility audit, a service design blueprint and tested prototypes.",
    "themes": ["accessibility", "service design", "user research"],
    "language": "en", "capacity": 2, "sme_name": "Sam Expert", "sme_email": "sme@esdc.gc.ca",
    "unclassified": True,
}
FISHERIES = {
    "title": "Small craft harbour catch reporting",
    "problem": "Commercial fish harvesters report landings at small craft harbours on paper logbooks. "
               "DFO wants a faster way to collect catch data for stock assessment of the fisheries.",
    "outcomes": "A prototype logbook for harvesters and a data flow for stock assessment.",
    "themes": ["fisheries", "oceans", "data"], "language": "en", "capacity": 1,
    "sme_name": "Fay Fisher", "sme_email": "fay.fisher@dfo-mpo.gc.ca", "unclassified": True,
}


@pytest.fixture
def approved(db, world):
    """The accessibility (ESDC) and fisheries (DFO) challenges, approved."""
    ids = {}
    for key, data, rep in (("accessibility", ACCESSIBILITY, world["rep_esdc"]), ("fisheries", FISHERIES, world["rep_dfo"])):
        draft = challenges.save_draft(db, rep, data)
        challenges.submit(db, rep, draft.id)
        challenges.approve(db, world["facilitator"], draft.id, confirm_unclassified=True)
        ids[key] = draft.id
    return ids


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """A database with the demo data loaded once per test session (scrypt is slow on purpose)."""
    path = tmp_path_factory.mktemp("demo") / "template.db"
    database = storage.connect(path)
    demo.load_demo(database)
    database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()
    return path


@pytest.fixture
def demo_db_path(backend, request, tmp_path, monkeypatch):
    """A private copy of the demo database, also set as PORTAL_DB for the app (on PostgreSQL its
    URI: the test database made a copy of the demo data)."""
    if backend == "postgresql":
        cluster = pg_cluster.cluster()
        uri = cluster.uri(cluster.demo())
        monkeypatch.setenv("PORTAL_DB", uri)
        return uri
    demo_template = request.getfixturevalue("demo_template")
    path = tmp_path / "portal.db"
    shutil.copy(demo_template, path)
    monkeypatch.setenv("PORTAL_DB", str(path))
    return path


@pytest.fixture
def demo_db(demo_db_path):
    database = storage.connect(demo_db_path)
    yield database
    database.close()


def term_around_today(db, term_id, *, before_days=60, after_days=90):
    """Give a term dates around today, so page tests can put due dates (and overdue entries)
    relative to the real date: a round is due within its term's dates (issue 14.4), and the demo
    term's own dates (January to April 2027) may lie in the future."""
    from datetime import date, timedelta
    with storage.transaction(db):
        db.execute("UPDATE terms SET starts_on = ?, ends_on = ? WHERE id = ?",
                   [(date.today() - timedelta(days=before_days)).isoformat(),
                    (date.today() + timedelta(days=after_days)).isoformat(), term_id])
