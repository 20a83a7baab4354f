"""Imports find teams the way the rest of the portal does: by the name's key (capitals, accents and
spacing ignored), in the right term, never by guessing between two terms."""
import pytest

from matching import importexport, terms
from matching import db as storage
from matching.importexport import ImportRejected, commit, preview, read_upload

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends


def _rows(text: str, name: str = "rows.csv"):
    return read_upload(text.encode(), name)


def _problems(report):
    return {(p["row"], p["field"], p["key"]) for p in report.problems}


@pytest.fixture
def fall(db, world):
    """A second open term (Fall 2027, intake) whose cohort has its own "Access Crew"."""
    fac = world["facilitator"]
    fall = terms.create_term(db, fac, {"name": "Fall 2027", "starts_on": "2027-09-07", "ends_on": "2027-12-17"}).id
    terms.advance_term(db, fac, fall)
    importexport.commit(db, fac, "teams", _rows("name,skills\nAccess Crew,research\nÉquipe Aurore,design\n"),
                        term_id=fall)
    return fall


def test_teams_preview_refuses_a_name_taken_in_other_capitals_or_accents(db, world, fall):
    report = preview(db, world["facilitator"], "teams", _rows("name\nequipe  AURORE\n"), term_id=fall)
    assert _problems(report) == {(2, "name", "validation.duplicate")}
    # The same name is free in the other term.
    assert preview(db, world["facilitator"], "teams", _rows("name\nequipe aurore\n"),
                   term_id=world["term"]).problems == []


def test_teams_preview_refuses_two_rows_that_are_one_name(db, world):
    rows = _rows("name\nCafé Collectif\nCAFE collectif\n")
    report = preview(db, world["facilitator"], "teams", rows, term_id=world["term"])
    assert _problems(report) == {(3, "name", "validation.duplicate")}
    with pytest.raises(ImportRejected):
        commit(db, world["facilitator"], "teams", rows, term_id=world["term"])


def test_users_import_finds_the_team_of_the_chosen_term(db, world, fall):
    header = "email,name,role,team\n"
    fac = world["facilitator"]
    for term_id in (world["term"], fall):
        rows = _rows(header + f"s{term_id}@sheridancollege.ca,S {term_id},student,access crew\n")
        commit(db, fac, "users", rows, term_id=term_id)
        team = db.execute("SELECT t.term_id FROM users u JOIN teams t ON t.id = u.team_id WHERE u.email = ?",
                          [f"s{term_id}@sheridancollege.ca"]).fetchone()[0]
        assert team == term_id
    # Accents and capitals do not matter ...
    report = preview(db, fac, "users", _rows(header + "x@sheridancollege.ca,X,student,EQUIPE aurore\n"))
    assert report.problems == []


def test_users_import_refuses_to_guess_between_two_terms(db, world, fall):
    rows = _rows("email,name,role,team\nnew@sheridancollege.ca,New,student,Access Crew\n")
    report = preview(db, world["facilitator"], "users", rows)
    assert _problems(report) == {(2, "team", "data.ambiguous_team")}
    text = importexport.problem_text(report.problems[0], "fr")
    assert "session" in text.lower()
    with pytest.raises(ImportRejected):
        commit(db, world["facilitator"], "users", rows)
    assert db.execute("SELECT COUNT(*) FROM users WHERE email = 'new@sheridancollege.ca'").fetchone()[0] == 0


def test_users_import_never_attaches_a_student_to_a_closed_terms_team(db, world):
    with storage.transaction(db):
        db.execute("UPDATE terms SET state = 'closed' WHERE id = ?", [world["term"]])
    rows = _rows("email,name,role,team\nlate@sheridancollege.ca,Late,student,Access Crew\n")
    report = preview(db, world["facilitator"], "users", rows)
    assert _problems(report) == {(2, "team", "data.unknown_team")}
