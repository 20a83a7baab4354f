"""Import (preview, row report, all or nothing, encodings, size limit) and export (headers, formulas)."""
import csv
import io

import openpyxl
import pytest

from matching import audit, importexport, pairings, terms
from matching.errors import PermissionDenied, ValidationFailed
from matching.importexport import ImportRejected, commit, preview, read_upload

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

CHALLENGE_HEADER = "department,title,problem,outcomes,themes,capacity,sme_name,sme_email,unclassified\n"
GOOD_CHALLENGE = ('ESDC,Benefits finder for caregivers,"Caregivers miss federal benefits because the information '
                  'is spread across many pages and programs.",A tested benefits finder prototype,caregivers;benefits,'
                  '1,Sam Expert,sme@esdc.gc.ca,yes\n')


def _count(db, table):
    return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_bad_rows_write_nothing_and_each_is_reported(db, world):
    data = (CHALLENGE_HEADER + GOOD_CHALLENGE
            + "XYZ,Unknown department,too short,,,,,,\n"
            + 'DFO,Capacity too big,"' + "x" * 50 + '",Outcomes,oceans,99,Fay,fay@dfo-mpo.gc.ca,no\n').encode()
    rows = read_upload(data, "challenges.csv")
    report = preview(db, world["facilitator"], "challenges", rows)
    assert report.bad_rows() == [3, 4]
    by_row = {(p["row"], p["field"]): p["key"] for p in report.problems}
    assert by_row[(3, "department")] == "data.unknown_department"
    assert by_row[(3, "problem")] == "validation.too_short"
    assert by_row[(4, "capacity")] == "validation.capacity"
    assert by_row[(4, "unclassified")] == "validation.unclassified"
    before = _count(db, "challenges")
    with pytest.raises(ImportRejected) as info:
        commit(db, world["facilitator"], "challenges", rows)
    assert info.value.report.bad_rows() == [3, 4]
    assert _count(db, "challenges") == before
    text = importexport.problem_text(report.problems[0], "fr")
    assert text.startswith("Ligne 3, Organisation")


def test_good_file_is_written_in_one_go_and_audited(db, world):
    rows = read_upload((CHALLENGE_HEADER + GOOD_CHALLENGE).encode(), "challenges.csv")
    report = commit(db, world["facilitator"], "challenges", rows)
    assert report.written == 1
    row = db.execute("SELECT status, capacity, themes FROM challenges WHERE title = 'Benefits finder for caregivers'").fetchone()
    assert row == ("submitted", 1, '["caregivers", "benefits"]')
    assert audit.events(db, action="data.import")[0]["target_type"] == "challenges"
    # Importing the same file again is refused row by row: the title is already used.
    with pytest.raises(ImportRejected) as info:
        commit(db, world["facilitator"], "challenges", rows)
    assert info.value.report.problems[0]["key"] == "validation.duplicate"


def test_only_facilitators_import_and_export(db, world):
    rows = read_upload((CHALLENGE_HEADER + GOOD_CHALLENGE).encode(), "c.csv")
    for role in ("rep_esdc", "student_a", "expert"):
        with pytest.raises(PermissionDenied):
            preview(db, world[role], "challenges", rows)
        with pytest.raises(PermissionDenied):
            importexport.export_table(db, world[role], "challenges")


FRENCH_TEAM = "name;program;skills;members\nLes Défricheurs Deux;Design d’interaction;recherche;Zoé Bélanger <zoe.belanger@sheridancollege.ca>\n"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp1252"])
def test_utf8_with_bom_and_windows_1252_read_the_accents(db, world, encoding):
    text = FRENCH_TEAM.replace("’", "'") if encoding == "cp1252" else FRENCH_TEAM
    rows = read_upload(text.encode(encoding), "teams.csv")
    assert list(rows[0]) == ["name", "program", "skills", "members"]     # no BOM glued to the header
    report = commit(db, world["facilitator"], "teams", rows)
    assert report.written == 1
    row = db.execute("SELECT t.name, m.name FROM teams t JOIN members m ON m.team_id = t.id "
                     "WHERE t.name = 'Les Défricheurs Deux'").fetchone()
    assert row == ("Les Défricheurs Deux", "Zoé Bélanger")


def test_excel_upload_with_french_headers(db, world):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Courriel", "Nom", "Rôle", "Ministère", "Équipe"])
    sheet.append(["new.sme@dfo-mpo.gc.ca", "Élise Noël", "expert", "DFO", None])
    sheet.append(["student.two@sheridancollege.ca", "Student Two", "student", None, "Access Crew"])
    sheet.append(["rep@esdc.gc.ca", "Taken", "department_rep", "ESDC", None])
    sheet.append(["x@y.ca", "No team", "student", None, "Nowhere"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = read_upload(buffer.getvalue(), "users.xlsx")
    report = preview(db, world["facilitator"], "users", rows)
    assert {(p["row"], p["field"], p["key"]) for p in report.problems} == {
        (4, "email", "validation.email_taken"), (5, "team", "data.unknown_team")}
    with pytest.raises(ImportRejected):
        commit(db, world["facilitator"], "users", rows)
    assert _count(db, "users") == 6
    del rows[2:]
    report = commit(db, world["facilitator"], "users", rows)
    assert report.written == 2 and len(report.passwords) == 2
    from matching import accounts
    assert accounts.authenticate(db, "new.sme@dfo-mpo.gc.ca", report.passwords[0]["password"]).name == "Élise Noël"


def test_size_limit_is_checked_before_parsing_and_bad_files_are_refused(db, world, monkeypatch):
    with pytest.raises(ValidationFailed) as info:
        read_upload(b"x" * (importexport.MAX_UPLOAD_BYTES + 1), "big.csv")
    assert info.value.errors == {"file": "data.too_large"}
    with pytest.raises(ValidationFailed) as info:
        read_upload(b"name\nA\n", "teams.pdf")
    assert info.value.errors == {"file": "data.bad_type"}
    with pytest.raises(ValidationFailed) as info:
        read_upload(b"not a zip at all", "teams.xlsx")
    assert info.value.errors == {"file": "data.unreadable"}
    report = preview(db, world["facilitator"], "teams", read_upload(b"program\nDesign\n", "t.csv"))
    assert report.problems[0]["key"] == "data.missing_column"


@pytest.mark.parametrize("value, expected", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1", "'+1"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("plain", "plain"), (-5, -5), (0.25, 0.25)])
def test_formula_neutralisation(value, expected):
    assert importexport.neutralise(value) == expected


def test_exports_neutralise_formulas_and_reimport_them_as_text(db, world):
    db.execute("UPDATE teams SET past_work = '=cmd|'' /C calc''!A0' WHERE id = ?", [world["team_a"]])
    headers, rows = importexport.export_table(db, world["facilitator"], "teams", "en")
    data = importexport.to_csv(headers, rows)
    assert "'=cmd" in data.decode("utf-8-sig")
    sheet = openpyxl.load_workbook(io.BytesIO(importexport.to_xlsx(headers, rows))).active
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and "cmd" in c.value]
    assert cells and all(c.data_type == "s" and c.value.startswith("'=") for c in cells)
    back = read_upload(data, "teams.csv")
    assert back[0]["Past work"].startswith("=cmd")


@pytest.mark.parametrize("kind", importexport.EXPORT_KINDS)
def test_every_list_exports_with_french_headers_and_no_password_hash(db, world, approved, kind):
    fac = world["facilitator"]
    pairings.run_assignment(db, fac, world["term"])
    terms.advance_term(db, fac, world["term"])
    pairings.publish(db, fac, world["term"])
    headers, rows = importexport.export_table(db, fac, kind, "fr", term_id=world["term"])
    expected_first = {"challenges": "ID", "teams": "ID", "matrix": "Équipe", "pairings": "Équipe",
                      "feedback": "Cycle", "audit": "Quand", "users": "Courriel", "outcomes": "Session"}[kind]
    assert headers[0] == expected_first
    for fmt in ("csv", "xlsx"):
        data = importexport.export_bytes(db, fac, kind, fmt, "fr", term_id=world["term"])
        assert b"scrypt$" not in data
    csv_text = importexport.export_bytes(db, fac, kind, "csv", "fr", term_id=world["term"]).decode("utf-8-sig")
    assert next(csv.reader(io.StringIO(csv_text)))[0] == expected_first
    if kind in ("challenges", "teams", "pairings", "users", "audit", "matrix"):
        assert rows
    if kind == "pairings":
        assert {r[3] for r in rows} == {"Publié"}
