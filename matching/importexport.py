"""Import challenges, teams and users from CSV or Excel; export every list to CSV or Excel.

Import is two steps over the same rules: :func:`preview` reads and checks every row and reports
each problem with its spreadsheet row number (the header is row 1); :func:`commit` checks again
and writes every row in one transaction, or nothing at all when any row is bad.

Files are read safely: the size is checked before parsing (:data:`MAX_UPLOAD_BYTES`); CSV text
is UTF-8 (with or without the BOM Excel adds) or, failing that, Windows-1252 (what Excel on
Windows writes for "CSV" with French accents); the delimiter may be a comma, a semicolon (French
Excel) or a tab. Column headers may be the field names or the headers this module exports, in
English or French, so an exported file can be edited and imported back.

Exports carry headers from the message catalogue in the user's language; a cell that starts
with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) is prefixed with an apostrophe so
a spreadsheet shows it as text instead of running it as a formula. Password hashes are never
exported.
"""
from __future__ import annotations

import csv
import io
import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable

import sqlite_utils

from . import audit, programmes
from . import db as storage
from .accounts import create_user, find_user, hash_password
from .errors import PortalError, ValidationFailed
from .i18n import t
from .models import (CONTROL_CHARS, RUBRIC, User, as_list, check_text, findable, validate_challenge,
                     validate_team, validate_user)
from .lifecycle import CHALLENGE_IMPORT_STATES, TERM_STATES_OPEN
from .organisations import kind_label
from .permissions import SOME_PROGRAMME, authorize, may_act_on
from .teams import find_team
from .terms import get_term, open_terms, resolve_term

MAX_UPLOAD_MB = 2  # .streamlit/config.toml's server.maxUploadSize is the same (a test checks it)
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
MAX_ROWS = 2_000
#: Longest cell an import reads (Excel's own limit): a longer one is a crafted file.
MAX_CELL_CHARS = 32_767
IMPORT_KINDS = ("challenges", "teams", "users")
EXPORT_KINDS = ("challenges", "teams", "matrix", "pairings", "feedback", "audit", "users", "outcomes")
#: Exports that only make sense for one term.
TERM_EXPORTS = ("matrix", "pairings", "feedback")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: An imported cell a spreadsheet would run as a formula ("-" only before a word or a call, so
#: a text starting with "- " stays acceptable). Our own exports write such text as "'=...".
FORMULA_CELL = re.compile(r"^\s*(?:[=+@]|-[^\s\d-])")
TRUE_WORDS = {"1", "true", "yes", "y", "oui", "o", "x", "vrai"}
#: What an exported cell may not hold: characters XML 1.0 (so an .xlsx) cannot carry, which
#: openpyxl refuses with IllegalCharacterError, and the C1 controls and DEL a terminal or a
#: spreadsheet may act on. An older database can still hold them: each becomes U+FFFD.
EXPORT_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

log = logging.getLogger(__name__)

#: Import columns per kind; the first ones listed as required must be present in the header.
IMPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "challenges": ("department", "title", "problem", "outcomes", "themes", "language", "capacity",
                   "sme_name", "sme_email", "unclassified", "status"),
    "teams": ("name", "program", "year", "skills", "interests", "past_work", "language", "members"),
    "users": ("email", "name", "role", "department", "team", "language"),
}
REQUIRED_COLUMNS = {"challenges": ("department", "title"), "teams": ("name",), "users": ("email", "name", "role")}


class ImportRejected(PortalError):
    """At least one row is bad: nothing was written; ``report`` lists every problem."""

    key = "data.rejected"

    def __init__(self, report: "ImportReport"):
        self.report = report
        super().__init__(self.key, f"{len(report.problems)} problem(s)", count=len(report.problems))


@dataclass
class ImportReport:
    kind: str
    records: list[dict] = field(default_factory=list)       # clean values, one per data row
    row_numbers: list[int] = field(default_factory=list)    # spreadsheet row of each record
    problems: list[dict] = field(default_factory=list)      # {"row", "field", "key", "params"}
    ignored_columns: list[str] = field(default_factory=list)
    written: int = 0
    passwords: list[dict] = field(default_factory=list)     # users: one-time passwords to hand out

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, row: int, field_name: str, key: str, **params) -> None:
        self.problems.append({"row": row, "field": field_name, "key": key, "params": params})

    def bad_rows(self) -> list[int]:
        return sorted({p["row"] for p in self.problems})


# --- Reading files ---------------------------------------------------------------------------

def read_upload(data: bytes, filename: str) -> list[dict[str, str]]:
    """Rows of a CSV or Excel file as ``{header: text}`` (size checked before parsing).

    Whatever is wrong with the file, the caller gets one :class:`ValidationFailed` on ``file``
    (too large, UTF-16, a cell too long, or unreadable), never a parser's exception.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed({"file": "data.too_large"}, limit=MAX_UPLOAD_BYTES // (1024 * 1024))
    name = (filename or "").lower()
    if name.endswith((".csv", ".txt")):
        reader = _read_csv
    elif name.endswith((".xlsx", ".xlsm")):
        reader = _read_xlsx
    else:
        raise ValidationFailed({"file": "data.bad_type"})
    try:
        table = reader(data)
    except PortalError:
        raise
    except Exception:  # noqa: BLE001 - an untrusted file may break a parser in any way at all
        log.info("unreadable upload %r", filename, exc_info=True)
        raise ValidationFailed({"file": "data.unreadable"}) from None
    if any(len(cell) > MAX_CELL_CHARS for row in table for cell in row):
        raise ValidationFailed({"file": "data.cell_too_long"}, limit=MAX_CELL_CHARS)
    if not table or not any(h.strip() for h in table[0]):
        raise ValidationFailed({"file": "data.empty"})
    if len(table) - 1 > MAX_ROWS:
        raise ValidationFailed({"file": "data.too_many_rows"}, limit=MAX_ROWS)
    header = [h.strip() for h in table[0]]
    rows = []
    for values in table[1:]:
        values = list(values) + [""] * (len(header) - len(values))
        rows.append({h: _unescape(v) for h, v in zip(header, values) if h})
    return rows


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM or not), else Windows-1252: what spreadsheets actually write.

    UTF-16 ("Unicode text" in Excel) is named as such; other binary data is unreadable.
    """
    if _is_utf16(data):
        raise ValidationFailed({"file": "data.utf16"})
    if b"\x00" in data:
        raise ValueError("a NUL byte: not a text file")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _is_utf16(data: bytes) -> bool:
    """A byte-order mark of UTF-16, or (without one) a NUL in every other byte of the start."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    sample = data[:4096]
    pairs = len(sample) // 2
    return pairs >= 2 and max(sample[0::2].count(0), sample[1::2].count(0)) >= pairs * 0.4


def _read_csv(data: bytes) -> list[list[str]]:
    text = decode_text(data)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), dialect) if any(c.strip() for c in row)]
    except csv.Error as err:
        if "field larger than field limit" in str(err):   # csv's own limit (131,072) is above ours
            raise ValidationFailed({"file": "data.cell_too_long"}, limit=MAX_CELL_CHARS) from None
        raise
    return rows


#: An .xlsx is a zip: 400 kB can unpack to gigabytes of rows (a "zip bomb"). Refused above this
#: before parsing; 2,000 real rows unpack to far less.
MAX_UNPACKED_BYTES = 20 * 1024 * 1024


#: XML declarations a spreadsheet never needs and that entity attacks ("billion laughs",
#: external entities reading server files or URLs) rely on; in UTF-8 and in UTF-16.
_XML_DECLARATIONS = tuple(word.encode(encoding) for word in ("<!DOCTYPE", "<!ENTITY")
                          for encoding in ("utf-8", "utf-16-le", "utf-16-be"))


def _read_xlsx(data: bytes) -> list[list[str]]:
    """The first worksheet's rows as text. A formula cell reads as its formula (``=5+5``), so
    the row checks refuse it like formula text, instead of an empty cell and a silent default.

    Every XML part is refused if it declares a DTD or an entity, before any parser sees it;
    openpyxl parses through defusedxml as well (a dependency), which refuses them again.
    """
    from zipfile import ZipFile

    import openpyxl
    with ZipFile(io.BytesIO(data)) as archive:
        items = archive.infolist()
        if sum(item.file_size for item in items) > MAX_UNPACKED_BYTES:
            raise ValidationFailed({"file": "data.too_large"}, limit=MAX_UPLOAD_BYTES // (1024 * 1024))
        for item in items:
            part = archive.read(item)       # bounded by the sizes above; a lying size fails its CRC
            if any(word in part for word in _XML_DECLARATIONS):
                raise ValueError(f"{item.filename}: a DTD or an entity declaration")
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        if not workbook.worksheets:
            raise ValueError("no worksheet")
        rows = []
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            row = [_cell_text(v) for v in values]
            if any(c.strip() for c in row):
                rows.append(row)
                if len(rows) > MAX_ROWS + 1:  # the header and one row too many: enough to refuse
                    break
    finally:
        workbook.close()
    return rows


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "text") and hasattr(value, "ref"):    # an array formula: still a formula
        text = str(value.text or "")
        return text if text.startswith("=") else "=" + text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _unescape(value: str) -> str:
    """Undo :func:`neutralise` on a re-imported export ("'=x" back to "=x")."""
    value = (value or "").strip()
    if value.startswith("'") and value[1:2] in FORMULA_STARTS:
        return value[1:]
    return value


def _normal(header: str) -> str:
    text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().casefold()
    return "".join(ch if ch.isalnum() else "_" for ch in text).strip("_")


#: Headers older exports wrote (before organisations of every kind: "Department", « Ministère »).
_HEADER_ALIASES = {"department": ("Department", "Ministère", "organisation")}


def _header_map(kind: str, headers: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Map file headers to field names (field name, or the exported header in EN or FR)."""
    known = {}
    for field_name in IMPORT_COLUMNS[kind]:
        known[_normal(field_name)] = field_name
        for lang in ("en", "fr"):
            known[_normal(t(f"data.col.{field_name}", lang))] = field_name
        for alias in _HEADER_ALIASES.get(field_name, ()):
            known[_normal(alias)] = field_name
    mapping, ignored = {}, []
    for header in headers:
        target = known.get(_normal(header))
        if target and target not in mapping.values():
            mapping[header] = target
        else:
            ignored.append(header)
    return mapping, ignored


# --- Checking rows ---------------------------------------------------------------------------

def import_term(db: sqlite_utils.Database, kind: str, term_id: int | None = None):
    """The term an import writes into: the one chosen, else the single term that can take it.

    Challenges go to a term taking challenges (none while no term exists); teams to an open
    term; users only use it to find their team by name. Refuses to guess between two terms.
    """
    from .challenges import challenge_term
    if kind == "challenges":
        chosen = challenge_term(db, term_id)
        return get_term(db, chosen) if chosen is not None else None
    if term_id not in (None, ""):
        return get_term(db, int(term_id))
    if kind == "teams":
        return resolve_term(db, states=TERM_STATES_OPEN, move="import")
    return None


def preview(db: sqlite_utils.Database, actor: User, kind: str, rows: list[dict[str, str]], *,
            term_id: int | None = None) -> ImportReport:
    """Check every row (nothing is written): clean records and every problem by row number."""
    authorize(actor, "data.import", programme_id=SOME_PROGRAMME)
    if kind not in IMPORT_KINDS:
        raise ValidationFailed({"kind": "validation.choice"})
    term = import_term(db, kind, term_id)
    if term is not None:  # a facilitator limited to some programmes imports into their terms only
        authorize(actor, "data.import", programme_id=term.programme_id)
    report = ImportReport(kind)
    headers = list(rows[0]) if rows else []
    mapping, report.ignored_columns = _header_map(kind, headers)
    missing = [c for c in REQUIRED_COLUMNS[kind] if c not in mapping.values()]
    for column in missing:
        report.add(1, column, "data.missing_column", column=t(f"data.col.{column}"))
    if not rows:
        report.add(1, "file", "data.empty")
    if missing or not rows:
        return report
    check = {"challenges": _check_challenge, "teams": _check_team, "users": _check_user}[kind]
    context: dict[str, Any] = {"seen": set(), "term": term}
    for number, raw in enumerate(rows, start=2):
        values = {mapping[h]: v for h, v in raw.items() if h in mapping}
        record, errors = check(db, values, context)
        for field_name, value in values.items():  # over "unknown department" and the like
            if check_text(value, multiline=True):
                errors[field_name] = CONTROL_CHARS
        for field_name, value in values.items():
            if isinstance(value, str) and FORMULA_CELL.match(value):
                errors[field_name] = "data.formula_cell"
        for field_name, key in sorted(errors.items()):
            report.add(number, field_name, key)
        report.records.append(record)
        report.row_numbers.append(number)
    return report


def _department_id(db, acronym: str) -> int | None:
    from .departments import find_by_acronym
    return find_by_acronym(db, acronym)  # English or French acronym (DFO or MPO)


def _check_challenge(db, values: dict, context: dict) -> tuple[dict, dict]:
    status = (values.get("status") or "submitted").strip().lower()
    record = {
        "department_id": _department_id(db, values.get("department", "")),
        "title": values.get("title", "").strip(), "problem": values.get("problem", "").strip(),
        "outcomes": values.get("outcomes", "").strip(), "themes": as_list(values.get("themes", "")),
        "language": (values.get("language") or "en").strip().lower(),
        "capacity": values.get("capacity") or 1, "sme_name": values.get("sme_name", "").strip(),
        "sme_email": values.get("sme_email", "").strip().lower(),
        "unclassified": (values.get("unclassified") or "").strip().casefold() in TRUE_WORDS,
        "status": status}
    errors = validate_challenge(record, for_submit=status != "draft")
    if status not in CHALLENGE_IMPORT_STATES:
        errors["status"] = "validation.choice"
    if record["department_id"] is None:
        errors["department"] = "data.unknown_department"
    key = (record["department_id"], record["title"].casefold())
    if record["title"] and "title" not in errors and (key in context["seen"] or storage.one(
            db, "SELECT id FROM challenges WHERE department_id = ? AND title = ? COLLATE NOCASE",
            [record["department_id"], record["title"]])):
        errors.setdefault("title", "validation.duplicate")
    context["seen"].add(key)
    if "capacity" not in errors:
        record["capacity"] = int(float(record["capacity"]))
    return record, errors


def parse_members(text: str) -> list[dict]:
    """``"Ana Lopez <ana@x.ca>; Ben Chu <ben@x.ca>"`` -> ``[{"name", "email"}]``."""
    members = []
    for part in (text or "").replace("\n", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        if "<" in part and part.endswith(">"):
            name, email = part[:-1].split("<", 1)
        else:
            name, email = part, ""
        members.append({"name": name.strip(), "email": email.strip().lower()})
    return members


def _check_team(db, values: dict, context: dict) -> tuple[dict, dict]:
    record = {"name": values.get("name", "").strip(), "program": values.get("program", "").strip(),
              "year": values.get("year", "").strip() or None, "skills": as_list(values.get("skills", "")),
              "interests": as_list(values.get("interests", "")), "past_work": values.get("past_work", "").strip(),
              "language": (values.get("language") or "en").strip().lower(),
              "members": parse_members(values.get("members", ""))}
    errors = validate_team(record)
    errors = {("members" if k.startswith("members.") else k): v for k, v in errors.items()}
    term = context["term"]
    name_key = _team_name_key(db, record["name"])
    if record["name"] and (name_key in context["seen"] or (term and find_team(db, record["name"], term.id))):
        errors.setdefault("name", "validation.duplicate")
    context["seen"].add(name_key)
    if term is None:
        errors["name"] = "data.no_term"
    return record, errors


def _team_name_key(db, name: str) -> str:
    """A team name's key as the database computes it (capitals, accents and spacing folded)."""
    if not findable(name):
        return name  # refused anyway: never sent to the database
    return db.execute(storage.team_name_key_query(), [name.strip()]).fetchone()[0]


def _team_for_user(db, name: str, term) -> tuple[int | None, str | None]:
    """The team an imported account joins: by name in the chosen term, else in the one open term
    that has a team of that name. Never a closed term's team, never a guess between two terms."""
    if term is not None:
        team = find_team(db, name, term.id)
        return (team.id, None) if team else (None, "data.unknown_team")
    found = [team for team in (find_team(db, name, open_term.id) for open_term in open_terms(db)) if team]
    if len(found) > 1:
        return None, "data.ambiguous_team"
    return (found[0].id, None) if found else (None, "data.unknown_team")


def _check_user(db, values: dict, context: dict) -> tuple[dict, dict]:
    record = {"email": values.get("email", "").strip().lower(), "name": values.get("name", "").strip(),
              "role": values.get("role", "").strip().lower(), "language": (values.get("language") or "en").strip().lower(),
              "department_id": None, "team_id": None}
    errors = {}
    if values.get("department", "").strip():
        record["department_id"] = _department_id(db, values["department"])
        if record["department_id"] is None:
            errors["department"] = "data.unknown_department"
    if values.get("team", "").strip():
        record["team_id"], problem = _team_for_user(db, values["team"], context["term"])
        if problem:
            errors["team"] = problem
    for key, value in validate_user(record).items():
        errors.setdefault({"department_id": "department", "team_id": "team"}.get(key, key), value)
    if "email" not in errors and (record["email"] in context["seen"] or find_user(db, record["email"])):
        errors["email"] = "validation.email_taken"
    context["seen"].add(record["email"])
    return record, errors


# --- Writing ---------------------------------------------------------------------------------

def commit(db: sqlite_utils.Database, actor: User, kind: str, rows: list[dict[str, str]], *,
           term_id: int | None = None) -> ImportReport:
    """Check again and write every row in one transaction; :class:`ImportRejected` writes nothing.

    Each row goes through the same service as the form that makes such a record (validation,
    defaults, term) with one audit event per record, plus one for the import.
    """
    from .challenges import create_challenge
    from .teams import create_team
    report = preview(db, actor, kind, rows, term_id=term_id)
    if not report.ok:
        raise ImportRejected(report)
    hashes, passwords = {}, {}
    if kind == "users":
        # scrypt is slow on purpose: hash before taking the write lock.
        passwords = {r["email"]: secrets.token_urlsafe(12) for r in report.records}
        hashes = {email: hash_password(pw) for email, pw in passwords.items()}
    with storage.transaction(db):
        report = preview(db, actor, kind, rows, term_id=term_id)        # again, under the write lock
        if not report.ok:
            raise ImportRejected(report)
        term = import_term(db, kind, term_id)
        ids = []
        for record in report.records:
            if kind == "challenges":
                ids.append(create_challenge(db, actor, record, department_id=record["department_id"],
                                            term_id=term.id if term else None, status=record["status"],
                                            action="challenge.import", permission="data.import").id)
            elif kind == "teams":
                ids.append(create_team(db, actor, term.id, record, action="team.import").id)
            else:
                ids.append(create_user(db, actor, record, password_hash=hashes[record["email"]],
                                       action="user.import").id)
                report.passwords.append({"email": record["email"], "password": passwords[record["email"]]})
        report.written = len(ids)
        if kind == "users":
            from .feedback import ensure_entries
            for open_term in open_terms(db):
                ensure_entries(db, open_term.id)      # an SME's new account picks up its waiting entries
        audit.record(db, actor, "data.import", target_type=kind,
                     detail={"rows": len(ids), "ids": ids, "term_id": term.id if term else None})
    return report


# --- Exporting -------------------------------------------------------------------------------

def neutralise(value: Any) -> Any:
    """A spreadsheet-safe cell: text that a spreadsheet would run as a formula gets an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def printable(value: Any) -> Any:
    """Text with every character a spreadsheet file cannot hold replaced by U+FFFD."""
    if isinstance(value, str):
        return EXPORT_ILLEGAL.sub("\ufffd", value)
    return value


def _export_cell(value: Any) -> Any:
    return neutralise(printable(value))


def export_table(db: sqlite_utils.Database, actor: User, kind: str, lang: str = "en",
                 term_id: int | None = None) -> tuple[list[str], list[list[Any]]]:
    """Headers in ``lang`` and rows of one list.

    Challenges, teams, the matrix, pairings and feedback are a term's (``term_id``; challenges
    and teams of every term, with a term column, when it is None). Users and the audit log are
    the portal's, whatever the term.
    """
    authorize(actor, "data.export", programme_id=programmes.of_term(db, term_id) if term_id else SOME_PROGRAMME)
    if kind not in EXPORT_KINDS:
        raise ValidationFailed({"kind": "validation.choice"})
    if term_id is None and kind in TERM_EXPORTS:
        raise ValidationFailed({"term_id": "validation.required"})
    if kind == "matrix":
        return _matrix(db, actor, lang, term_id)
    fields, rows = {"challenges": _challenges, "teams": _teams, "pairings": _pairings,
                    "feedback": _feedback, "audit": _audit, "users": _users,
                    "outcomes": _outcomes}[kind](db, actor, lang, term_id)
    return [t(f"data.col.{f}", lang) for f in fields], rows


def _challenges(db, actor, lang, term_id):
    fields = ("id", "term", "programme", "department", "org_kind", "title", "problem", "outcomes", "themes", "language",
              "capacity", "sme_name", "sme_email", "unclassified", "status", "comments", "submitted_at")
    rows = []
    sql, params = _in_term("c", term_id)
    acronym = _acronym_in(db, lang)
    codes = {p.id: p.code for p in programmes.list_programmes(db)}
    for r in db.query("SELECT c.*, d.acronym, d.kind, tm.name AS term_name, tm.programme_id FROM challenges c "
                      "JOIN departments d ON d.id = c.department_id LEFT JOIN terms tm ON tm.id = c.term_id "
                      f"WHERE {sql} ORDER BY c.id", params):
        if not may_act_on(actor, r["programme_id"]):
            continue  # every term's challenges: those of the facilitator's own programmes
        rows.append([r["id"], r["term_name"] or "", codes.get(r["programme_id"], ""), acronym(r["acronym"]),
                     kind_label(r["kind"], lang), r["title"], r["problem"], r["outcomes"], "; ".join(as_list(r["themes"])),
                     r["language"], r["capacity"], r["sme_name"], r["sme_email"],
                     t("data.yes" if r["unclassified"] else "data.no", lang), r["status"], r["comments"],
                     r["submitted_at"] or ""])
    return fields, rows


def _teams(db, actor, lang, term_id):
    fields = ("id", "term", "programme", "name", "program", "year", "skills", "interests", "past_work", "language",
              "members")
    members: dict[int, list[str]] = {}
    for m in db.query("SELECT team_id, name, email FROM members ORDER BY id"):
        members.setdefault(m["team_id"], []).append(f"{m['name']} <{m['email']}>")
    sql, params = _in_term("t", term_id)
    codes = {p.id: p.code for p in programmes.list_programmes(db)}
    rows = [[r["id"], r["term_name"] or "", codes.get(r["programme_id"], ""), r["name"], r["program"], r["year"] or "", "; ".join(as_list(r["skills"])),
             "; ".join(as_list(r["interests"])), r["past_work"], r["language"], "; ".join(members.get(r["id"], []))]
            for r in db.query("SELECT t.*, tm.name AS term_name, tm.programme_id FROM teams t "
                              f"LEFT JOIN terms tm ON tm.id = t.term_id WHERE {sql} ORDER BY t.name", params)
            if may_act_on(actor, r["programme_id"])]
    return fields, rows


def _acronym_in(db, lang: str):
    """English acronym -> the department's acronym in ``lang`` (imports take either)."""
    from .departments import acronyms
    names = acronyms(db, lang)
    return lambda english: names.get(english, english) if english else english


def _in_term(alias: str, term_id: int | None) -> tuple[str, list]:
    """A record of the term (challenges of no term count for every term); every record if None."""
    if term_id is None:
        return "1 = 1", []
    return f"({alias}.term_id = ? OR {alias}.term_id IS NULL)", [term_id]


def _matrix(db, actor, lang, term_id):
    from .matches import match_matrix
    teams, challenges, scores = match_matrix(db, actor, term_id)
    acronym = _acronym_in(db, lang)
    headers = [t("data.col.team", lang)] + [f"[{acronym(c['acronym'])}] {c['title']}" for c in challenges]
    rows = [[team["name"]] + [round(float(scores[i, j]), 4) for j in range(len(challenges))]
            for i, team in enumerate(teams)]
    return headers, rows


def _pairings(db, actor, lang, term_id):
    fields = ("team", "challenge", "department", "state", "preference_rank", "score", "reason")
    acronym = _acronym_in(db, lang)
    rows = [[r["team_name"], r["title"], acronym(r["acronym"]), t(f"dash.pairing_state.{r['state']}", lang),
             r["preference_rank"] or "", round(r["score"] or 0.0, 4), t(r["reason"], lang) if r["reason"] else ""]
            for r in db.query(
                "SELECT t.name AS team_name, c.title, d.acronym, p.state, p.preference_rank, p.score, p.reason "
                "FROM pairings p JOIN teams t ON t.id = p.team_id JOIN challenges c ON c.id = p.challenge_id "
                "JOIN departments d ON d.id = c.department_id WHERE p.term_id = ? "
                "ORDER BY p.state, t.name", [term_id])]
    return fields, rows


def _feedback(db, actor, lang, term_id):
    from .feedback import entries_for_term
    fields = ("round", "due_on", "team", "challenge", "expert", "status", *RUBRIC, "comments", "reply",
              "submitted_at")
    entries = entries_for_term(db, actor, term_id)
    rows = [[e["round_name"], e["due_on"], e["team_name"], e["challenge_title"], e["expert_name"] or e["sme_email"],
             t(f"dash.feedback_status.{e['status']}", lang), *[e["scores"].get(c, "") for c in RUBRIC],
             e["comments"], e["reply"], e["submitted_at"] or ""] for e in entries]
    return fields, rows


def _outcomes(db, actor, lang, term_id):
    """One row per completed pairing (every term, or one): its term, organisation, challenge, the
    team's name only when the team chose to show it, the rubric averages and the latest outcome."""
    from .organisations import kind_label
    from .outcomes import completed_outcomes
    from .programmes import labels
    fields = ("term", "programme", "organisation", "organisation_type", "organisation_name", "challenge", "team",
              *RUBRIC, "rubric_overall", "rubrics_counted", "latest_outcome")
    acronym = _acronym_in(db, lang)
    programme = labels(db, lang)
    rows = []
    for r in completed_outcomes(db, actor, term_id=term_id):
        averages = r["averages"]
        rows.append([r["term_name"], programme.get(r["programme_id"], ""), acronym(r["acronym"]),
                     kind_label(r["organisation_kind"], lang), r["department_fr" if lang == "fr" else "department_en"],
                     r["challenge_title"], r["team"] if r["team"] is not None else t("outcome.anonymised", lang),
                     *["" if averages[c] is None else averages[c] for c in RUBRIC],
                     "" if averages["overall"] is None else averages["overall"], averages["count"],
                     t(f"outcome.status.{r['latest_outcome']}", lang) if r["latest_outcome"] else
                     t("outcome.no_report", lang)])
    return fields, rows


def _audit(db, actor, lang, term_id):
    authorize(actor, "audit.view")
    fields = ("at", "actor", "action", "target_type", "target_id", "reason", "detail")
    rows = [[r["at"], r["actor_email"], r["action"], r["target_type"], r["target_id"], r["reason"], r["detail"]]
            for r in audit.events(db)]
    return fields, rows


def _users(db, actor, lang, term_id):
    authorize(actor, "user.list")
    # Columns are listed one by one so the password hash can never slip into an export.
    fields = ("email", "name", "role", "department", "team", "language", "created_at")
    acronym = _acronym_in(db, lang)
    rows = [[r["email"], r["name"], r["role"], acronym(r["acronym"]) or "", r["team_name"] or "", r["language"], r["created_at"]]
            for r in db.query("SELECT u.email, u.name, u.role, d.acronym, t.name AS team_name, u.language, "
                              "u.created_at FROM users u LEFT JOIN departments d ON d.id = u.department_id "
                              "LEFT JOIN teams t ON t.id = u.team_id ORDER BY u.id")]
    return fields, rows


def to_csv(headers: list[str], rows: list[list[Any]]) -> bytes:
    """UTF-8 with a BOM, so Excel opens the French accents correctly."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([_export_cell(h) for h in headers])
    for row in rows:
        writer.writerow([_export_cell("" if v is None else v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(headers: list[str], rows: list[list[Any]], *, sheet: str = "Export") -> bytes:
    import openpyxl
    from openpyxl.styles import Font
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = sheet[:31]
    ws.append([_export_cell(h) for h in headers])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([_export_cell(v) for v in row])
    for row in ws.iter_rows(min_row=1):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"   # never a formula, even if a value slipped through
    ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_bytes(db: sqlite_utils.Database, actor: User, kind: str, fmt: str, lang: str = "en",
                 term_id: int | None = None) -> bytes:
    """One list as CSV or Excel bytes (``fmt`` is ``csv`` or ``xlsx``)."""
    headers, rows = export_table(db, actor, kind, lang, term_id)
    if fmt == "xlsx":
        return to_xlsx(headers, rows, sheet=t(f"data.kind.{kind}", lang))
    if fmt == "csv":
        return to_csv(headers, rows)
    raise ValidationFailed({"format": "validation.choice"})


def problem_text(problem: dict, lang: str = "en") -> str:
    """One problem of a report as a sentence: row, column and message."""
    column = t(f"data.col.{problem['field']}", lang) if problem["field"] in _ALL_COLUMNS else problem["field"]
    return t("data.row_problem", lang, row=problem["row"], column=column,
             message=t(problem["key"], lang, **problem.get("params", {})))


_ALL_COLUMNS = {c for cols in IMPORT_COLUMNS.values() for c in cols} | {"file"}
