import pytest

from matching import db as storage
from matching.errors import PortalError

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def test_fresh_database_is_at_latest_schema(db):
    assert storage.schema_version(db) == storage.SCHEMA_VERSION


@pytest.mark.backends("sqlite", reason="SQLite's connection settings")
def test_sqlite_connection_is_wal_with_foreign_keys(db):
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_older_schema_upgrades_in_place_without_losing_rows(new_database):
    path = new_database("old.db")
    old = storage.connect(path, migrate_schema=False)
    storage.migrate(old, target=1)
    assert storage.schema_version(old) == 1
    with storage.transaction(old):
        dept = storage.insert(old, "departments", {"acronym": "DFO", "name_en": "Fisheries and Oceans Canada",
                                                   "name_fr": "Pêches et Océans Canada"})
        storage.insert(old, "users", {"email": "a@dfo.gc.ca", "name": "A", "role": "department_rep",
                                      "department_id": dept, "password_hash": "x", "created_at": "2026-01-01"})
    old.close()

    upgraded = storage.connect(path)
    assert storage.schema_version(upgraded) == storage.SCHEMA_VERSION
    user = upgraded.execute("SELECT email, failed_attempts, locked_until FROM users").fetchall()
    assert user == [("a@dfo.gc.ca", 0, None)]
    assert upgraded.execute("SELECT name_fr FROM departments").fetchone()[0] == "Pêches et Océans Canada"
    assert storage.data_version(upgraded) == 1


def test_migrating_twice_applies_nothing(db):
    assert storage.migrate(db) == []


def test_newer_schema_is_refused(new_database):
    path = new_database("new.db")
    database = storage.connect(path)
    database.execute("INSERT INTO schema_migrations VALUES (999, 'future', '2030-01-01')")
    database.close()
    with pytest.raises(PortalError) as info:
        storage.connect(path)
    assert info.value.key == "db.newer_schema"


def test_foreign_keys_are_enforced(db):
    with pytest.raises(storage.driver(db).IntegrityError):
        with storage.transaction(db):
            storage.insert(db, "members", {"team_id": 12345, "name": "Nobody", "email": "n@x.ca"})


def test_failed_transaction_writes_nothing(db):
    with pytest.raises(RuntimeError):
        with storage.transaction(db):
            storage.insert(db, "departments", {"acronym": "X", "name_en": "X", "name_fr": "X"})
            raise RuntimeError("boom")
    assert db.execute("SELECT COUNT(*) FROM departments").fetchone()[0] == 0


def test_connecting_to_an_up_to_date_database_takes_no_write_lock(new_database):
    import time
    path = new_database("busy.db")
    storage.connect(path).close()
    writer = storage.connect(path)
    with storage.transaction(writer):  # another session is in the middle of a write
        start = time.monotonic()
        storage.connect(path).close()
        assert time.monotonic() - start < 2  # did not wait for the writer's lock


def test_migration_11_puts_existing_terms_in_the_default_programme_and_keeps_them_there(new_database):
    """Issue 17.1: every existing term belongs to Sheridan's Bachelor of Interaction Design; a
    term stored without a programme gets it; no term loses its programme; departments are federal."""
    path = new_database("before-programmes.db")
    old = storage.connect(path, migrate_schema=False)
    storage.migrate(old, target=10)
    with storage.transaction(old):
        term = storage.insert(old, "terms", {"name": "Fall 2026", "state": "closed", "created_at": "2026-01-01"})
        dept = storage.insert(old, "departments", {"acronym": "DFO", "name_en": "Fisheries and Oceans Canada",
                                                   "name_fr": "Pêches et Océans Canada"})
        storage.insert(old, "challenges", {"term_id": term, "department_id": dept, "title": "T",
                                           "created_at": "2026-01-01", "updated_at": "2026-01-01"})
    old.close()

    upgraded = storage.connect(path)
    programme = upgraded.execute("SELECT id, code, institution_fr, name_en FROM programmes").fetchall()
    assert [tuple(p)[1:] for p in programme] == [("sheridan-bid", "Collège Sheridan", "Bachelor of Interaction Design")]
    default_id = programme[0][0]
    assert upgraded.execute("SELECT programme_id FROM terms WHERE id = ?", [term]).fetchone()[0] == default_id
    assert upgraded.execute("SELECT kind FROM departments").fetchone()[0] == "federal"
    assert upgraded.execute("SELECT offered_from FROM challenges").fetchone()[0] is None
    with storage.transaction(upgraded):
        second = storage.insert(upgraded, "programmes", {
            "code": "uvic-mpa", "institution_en": "University of Victoria", "institution_fr": "Université de Victoria",
            "name_en": "Master of Public Administration", "name_fr": "Maîtrise en administration publique",
            "created_at": "2026-12-01"})
        unnamed = storage.insert(upgraded, "terms", {"name": "Winter 2027", "created_at": "2026-12-01"})
        named = storage.insert(upgraded, "terms", {"name": "Spring 2027", "programme_id": second,
                                                  "created_at": "2026-12-01"})
    assert upgraded.execute("SELECT programme_id FROM terms WHERE id = ?", [unnamed]).fetchone()[0] == default_id
    assert upgraded.execute("SELECT programme_id FROM terms WHERE id = ?", [named]).fetchone()[0] == second
    with pytest.raises(storage.driver(upgraded).DatabaseError, match="programme_id"):
        with storage.transaction(upgraded):
            upgraded.execute("UPDATE terms SET programme_id = NULL WHERE id = ?", [named])
    with pytest.raises(storage.driver(upgraded).IntegrityError):
        with storage.transaction(upgraded):
            upgraded.execute("UPDATE terms SET programme_id = 999 WHERE id = ?", [named])
    assert upgraded.execute("SELECT programme_id FROM terms WHERE id = ?", [named]).fetchone()[0] == second
    upgraded.close()
