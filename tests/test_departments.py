"""Issue 14.9: a department has its official French acronym (EDSC, MPO, ARC...), shown on the
French pages, in French exports and CLI output, found by search and accepted by imports."""
import csv

import pytest
from click.testing import CliRunner

from matching import accounts, departments, importexport, matches
from matching import db as storage
from matching.challenges import approved_challenges
from matching.cli import main
from tests.conftest import ROOT

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

OFFICIAL = {"ESDC": "EDSC", "DFO": "MPO", "CRA": "ARC", "HC": "SC", "PHAC": "ASPC", "TBS": "SCT",
            "CFIA": "ACIA", "PSPC": "SPAC", "ISC": "SAC", "SSC": "SPC", "NRCan": "RNCan", "AAFC": "AAC",
            "VAC": "ACC"}


def csv_rows():
    with open(ROOT / "data" / "departments.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_the_demo_data_has_the_official_french_acronyms():
    by_acronym = {row["acronym"]: row["acronym_fr"] for row in csv_rows()}
    assert all(by_acronym[en] == fr for en, fr in OFFICIAL.items())


def test_an_existing_database_gets_the_same_french_acronyms_as_the_demo_data(tmp_path):
    """The migration fills the French acronyms of departments already in a database."""
    old = storage.connect(tmp_path / "old.db", migrate_schema=False)
    before = min(v for v, _, sql in storage.MIGRATIONS if "acronym_fr" in sql) - 1
    storage.migrate(old, target=before)
    with storage.transaction(old):
        for row in csv_rows():
            storage.insert(old, "departments", {"acronym": row["acronym"], "name_en": row["name_en"],
                                                "name_fr": row["name_fr"]})
        storage.insert(old, "departments", {"acronym": "XYZ", "name_en": "Some Agency", "name_fr": "Une agence"})
    old.close()
    upgraded = storage.connect(tmp_path / "old.db")
    # Migration 10 knows the federal departments' French acronyms; others keep their one acronym.
    assert departments.acronyms(upgraded, "fr") == {
        **{r["acronym"]: r["acronym_fr"] if r["kind"] == "federal" else r["acronym"] for r in csv_rows()},
        "XYZ": "XYZ"}
    upgraded.close()


def test_acronyms_follow_the_language(demo_db):
    assert departments.acronym(demo_db, "DFO", "fr") == "MPO"
    assert departments.acronym(demo_db, "DFO", "en") == "DFO"
    assert departments.acronym(demo_db, "TC", "fr") == "TC"  # the same in both languages
    assert departments.acronym(demo_db, "NOPE", "fr") == "NOPE"
    assert departments.acronyms(demo_db, "en") == {}


def test_either_acronym_finds_the_department(demo_db):
    dfo = demo_db.execute("SELECT id FROM departments WHERE acronym = 'DFO'").fetchone()[0]
    assert departments.find_by_acronym(demo_db, "mpo") == dfo == departments.find_by_acronym(demo_db, " DFO ")
    assert departments.find_by_acronym(demo_db, "nope") is None


def test_search_finds_a_department_by_its_french_acronym(demo_db):
    items = approved_challenges(demo_db, None) + [c for t in demo_db.execute("SELECT id FROM terms")
                                                  for c in approved_challenges(demo_db, t[0])]
    items = list({c["id"]: c for c in items}.values())
    dfo = {c["id"] for c in items if c["acronym"] == "DFO"}
    assert dfo
    # typed words match inside words ("mpo" is in "temporaire"), so more may come: DFO's all do
    assert dfo <= {c["id"] for c in matches.filter_ranked(items, query="MPO")}
    assert dfo - {c["id"] for c in items if "mpo" in matches._search_text({**c, "acronym_fr": ""})}
    assert {c["id"] for c in matches.filter_ranked(items, query="DFO")} == dfo


def test_french_exports_and_cli_use_the_french_acronyms(demo_db_path, demo_db):
    fac = accounts.find_user(demo_db, "facilitator@demo.gc.ca")
    headers, rows = importexport.export_table(demo_db, fac, "challenges", "fr")
    shown = {r[3] for r in rows}  # id, term, academic program, department
    assert shown >= {"MPO", "EDSC"} and not shown & {"DFO", "ESDC"}
    assert {r[3] for r in importexport.export_table(demo_db, fac, "challenges", "en")[1]} >= {"DFO", "ESDC"}
    result = CliRunner().invoke(main, ["rank", "--team", "Open Door Collective", "-k", "3", "--language", "fr"])
    assert result.exit_code == 0, result.output
    assert "[EDSC]" in result.output and "[ESDC]" not in result.output
    english = CliRunner().invoke(main, ["rank", "--team", "Open Door Collective", "-k", "3"])
    assert "[ESDC]" in english.output
