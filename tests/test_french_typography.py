"""Issue 14.9: the French pages follow French typography and grammar.

* a space before ":" ";" "!" "?" and inside « » — a no-break one (U+00A0 before ":", U+202F
  narrow before the others), so the sign never starts a line;
* no "1 <plural>" ("1 répondues"): count messages have plural forms (:mod:`matching.i18n`);
* departments by their French acronyms (MPO, not DFO);
* no "yyyy" date placeholder;
* the upload limit shown by the widget is the one the portal applies.

The rules are checked on the catalogue (every French message, including keys added later) and
on what every page of every role renders in French, on the demo data before and during a term
with feedback given and answered. User text (challenge and team text, names) is left out: it is
written by people, in either language; the portal escapes its punctuation (``ui.plain``) or
shows it as plain text, which is how it is told apart here.
"""
from __future__ import annotations

import csv
import json
import math
import re
import tomllib
from datetime import date, timedelta

import pyarrow as pa
import pytest

import ui
from matching import accounts, feedback, i18n, importexport, pairings
from matching import db as storage
from matching.models import RUBRIC
from tests.conftest import ROOT
from tests.test_app_smoke import DEMO_EMAILS, signed_in
from tests.test_views_facilitator import demo_term, facilitator, go_live

# Page tests run on SQLite in the suite: every domain call they make runs on both backends in the
# domain test files, and their PostgreSQL cases (all passing at 4ece603) cost CI about 5 minutes.
# `pytest THIS_FILE --backends=sqlite,postgresql` runs them on both (docs/POSTGRES.md).

NBSP, NNBSP = "\u00a0", "\u202f"
SPACES = NBSP + NNBSP
JOINER = "\u2060"

# --- The rules ------------------------------------------------------------------------------

#: Streamlit's Markdown directives: ":material/icon:", ":green-badge[", ":blue[" and ":smile:".
_DIRECTIVES = re.compile(r":material/[a-z0-9_]+:|:[a-z]+(?:-badge|-background)?\[|:[a-z_]+:")
_ESCAPED = re.compile(r"\\[!-/:-@\[-`{-~]")  # what ui.plain escaped: someone's text
_URL = re.compile(r"\b(?:https?|mailto):\S+")
_TIME = re.compile(r"\d:\d")


def _english_only_acronyms() -> set[str]:
    with open(ROOT / "data" / "departments.csv", newline="", encoding="utf-8") as fh:
        return {row["acronym"] for row in csv.DictReader(fh) if row["acronym"] != row.get("acronym_fr", row["acronym"])}


ENGLISH_ACRONYMS = _english_only_acronyms() or {"ESDC", "DFO", "CRA"}
_ACRONYMS = "|".join(sorted(ENGLISH_ACRONYMS))
_ACRONYM = re.compile(r"(?<![\w@.-])(" + _ACRONYMS + r")(?![\w@-])")
#: Where the portal puts an acronym: "[DFO] title", "title (DFO)", "DFO — name", a cell "DFO".
#: (Someone's text may name a department in English: "SSC's vocabulary" is theirs to write.)
_PORTAL_ACRONYM = re.compile(r"\[(" + _ACRONYMS + r")\]|\((" + _ACRONYMS + r")\)|^(" + _ACRONYMS + r")(?: —|$)")


def _plural_words() -> set[str]:
    """French plural nouns and participles that follow a count in the catalogue ("3 défis"),
    and words the issue saw after a "1"."""
    words = {"répondues", "données", "défis", "équipes", "jumelages", "lignes", "problèmes", "rétroactions",
             "révisions", "ébauches", "champs", "éléments", "membres", "jours", "choix"} - {"choix"}
    for text in list(i18n.catalogue()["fr"].values()) + [f["other"] for f in i18n.plural_forms()["fr"].values()]:
        for word in re.findall(r"\{\w+\}[ \u00a0\u202f](\w+)", text):
            if len(word) > 3 and word.endswith(("s", "x")) and not word.endswith(("ss", "ois", "ais")):
                words.add(word)
    return words


PLURAL_WORDS = _plural_words()
_ONE_PLURAL = re.compile(r"(?<![\d.,\u00a0\u202f])\b1[ \u00a0\u202f](\w+)")


def punctuation_problems(text: str) -> list[str]:
    """French high punctuation without its no-break space (portal text only: pass text with
    escaped user text already removed)."""
    text = _URL.sub(" ", _DIRECTIVES.sub(" ", text.replace(JOINER, "")))
    problems = []
    for m in re.finditer(r"[;!?]", text):
        before = text[m.start() - 1] if m.start() else ""
        if before not in SPACES and before not in ";!?" and before != "":
            problems.append(f"no narrow no-break space before {m.group()!r}: …{text[max(0, m.start() - 30):m.end() + 10]}…")
    for m in re.finditer(r":(?=\s|$)", text):
        before = text[m.start() - 1] if m.start() else ""
        if before and before not in SPACES:
            problems.append(f"no no-break space before ':': …{text[max(0, m.start() - 30):m.end() + 10]}…")
    for m in re.finditer(r"«(.)", text):
        if m.group(1) not in SPACES:
            problems.append(f"no no-break space after «: …{text[m.start():m.end() + 20]}…")
    for m in re.finditer(r"(.)»", text):
        if m.group(1) not in SPACES:
            problems.append(f"no no-break space before »: …{text[max(0, m.start() - 20):m.end()]}…")
    return problems


def grammar_problems(text: str, *, anywhere: bool = True) -> list[str]:
    """A plural after "1", an English department acronym (``anywhere``, or only where the portal
    puts one), a "yyyy" placeholder."""
    problems = [f"1 followed by a plural: …{text[max(0, m.start() - 20):m.end() + 10]}…"
                for m in _ONE_PLURAL.finditer(text) if m.group(1) in PLURAL_WORDS]
    problems += [f"English acronym {m.group(0)}: …{text[max(0, m.start() - 20):m.end() + 20]}…"
                 for m in (_ACRONYM if anywhere else _PORTAL_ACRONYM).finditer(text)]
    if re.search(r"(?i)yyyy", text):
        problems.append(f"English date placeholder: {text[:80]}")
    return problems


def test_the_rules_catch_what_the_issue_saw():
    assert punctuation_problems("Équipe la moins bien servie: Open Door")
    assert punctuation_problems("Test passé : En cours")  # an ordinary space may start a line with ":"
    assert punctuation_problems("Vraiment?") and punctuation_problems("« Approuvé »")
    assert not punctuation_problems(f"Équipe la moins bien servie{NBSP}: x{NNBSP}; «{NNBSP}y{NNBSP}» ok{NNBSP}?")
    assert not punctuation_problems(":green-badge[:material/check: Approuvé] 10:30 https://canada.ca/fr")
    assert grammar_problems("1 répondues") and grammar_problems("[DFO] Pêches") and grammar_problems("aaaa yyyy")
    assert grammar_problems("DFO — Pêches", anywhere=False) and grammar_problems("Titre (CRA)", anywhere=False)
    assert not grammar_problems("uses SSC's words", anywhere=False) and grammar_problems("uses SSC's words")
    assert not grammar_problems("1 répondue, 2 défis sur 11 défis, [MPO] Pêches, fay@dfo-mpo.gc.ca")


# --- The catalogue --------------------------------------------------------------------------

def french_messages():
    forms = i18n.plural_forms()["fr"]
    for key, text in i18n.catalogue()["fr"].items():
        for form, value in (forms.get(key) or {"": text}).items():
            yield f"{key}.{form}" if form else key, value


def test_every_french_message_follows_french_typography():
    problems = [f"{key}: {p}" for key, text in french_messages()
                for p in punctuation_problems(re.sub(r"\{\w+\}", "x", text)) + grammar_problems(text)]
    assert not problems, "\n".join(problems)


def test_no_message_spells_a_plural_with_parentheses():
    for lang in ("en", "fr"):
        bad = [k for k, v in i18n.catalogue()[lang].items() if re.search(r"\w\((?:s|e|x|es|ies)\)", v)]
        assert not bad, (lang, bad)


def test_plural_messages_have_one_and_other_in_both_languages_with_the_same_placeholders():
    forms = i18n.plural_forms()
    assert set(forms["en"]) == set(forms["fr"]) and len(forms["fr"]) >= 30
    for key in forms["en"]:
        for lang in ("en", "fr"):
            assert {"one", "other"} <= set(forms[lang][key]), (lang, key)
            placeholders = {frozenset(re.findall(r"{(\w+)}", text)) for text in forms[lang][key].values()}
            assert all(p <= set(re.findall(r"{(\w+)}", forms["en"][key]["other"])) for p in placeholders), (lang, key)


@pytest.mark.parametrize("lang, count, expected", [
    ("fr", 0, "0 ébauche à terminer et à soumettre."), ("fr", 1, "1 ébauche à terminer et à soumettre."),
    ("fr", 2, "2 ébauches à terminer et à soumettre."), ("en", 0, "0 drafts to finish and submit."),
    ("en", 1, "1 draft to finish and submit."), ("en", 1000000, "1000000 drafts to finish and submit.")])
def test_counts_follow_each_languages_plural_rules(lang, count, expected):
    assert i18n.t("home.step.finish_drafts", lang, count=count) == expected


def test_label_value_puts_a_no_break_space_before_the_colon_in_french():
    assert i18n.label_value("Équipe la moins bien servie", "Open Door", "fr") == f"Équipe la moins bien servie{NBSP}: Open Door"
    assert i18n.label_value("Worst-off team", "Open Door", "en") == "Worst-off team: Open Door"


# --- The upload limit -----------------------------------------------------------------------

def test_the_server_upload_limit_is_the_smallest_that_takes_what_the_portal_accepts():
    with open(ROOT / ".streamlit" / "config.toml", "rb") as fh:
        limit_mb = tomllib.load(fh)["server"]["maxUploadSize"]
    # Streamlit counts megabytes of 1024 * 1024 bytes, in whole numbers, at least 1
    assert limit_mb == max(1, math.ceil(importexport.MAX_UPLOAD_BYTES / (1024 * 1024)))
    assert f"at most {limit_mb} MB" in i18n.t("data.page.file", "en", limit=importexport.MAX_UPLOAD_MB)
    assert f"{limit_mb}\u00a0Mo au plus" in i18n.t("data.page.file", "fr", limit=importexport.MAX_UPLOAD_MB)


# --- Every page in French -------------------------------------------------------------------

#: Proto fields that carry words written by the portal (a label, a help text, a caption...).
OURS = {"body", "label", "help", "placeholder", "text", "caption", "content"}
#: Fields that carry values (typed text, options, user data): checked for acronyms and dates only.
VALUES = {"options", "value", "default", "raw_value"}
PLAIN_TEXT = {"Text", "Code"}  # how the portal shows someone's text as is


def _strings(message, fields):
    """Every string of the given fields in a protobuf message, recursively."""
    for descriptor, value in message.ListFields():
        items = value if not isinstance(value, (str, bytes)) and hasattr(value, "__len__") else [value]
        for item in items:
            if hasattr(item, "ListFields"):
                yield from _strings(item, fields)
            elif descriptor.name in fields and isinstance(item, str):
                yield item


def _nodes(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def _frame_strings(data: bytes):
    table = pa.ipc.open_stream(data).read_all()
    header = [str(name) for name in table.column_names if not str(name).startswith("__")]
    cells = [str(v) for column in table.columns for v in column.to_pylist() if v is not None]
    return header, cells


def rendered(at) -> tuple[list[str], list[str]]:
    """(portal words, everything else shown) of the page as rendered."""
    ours, values = [], []
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        if proto is None or not hasattr(proto, "ListFields"):
            continue
        kind = type(node).__name__
        if kind == "DateInput" and not list(proto.value) and not list(proto.default):
            values.append(f"yyyy/mm/dd (empty date input {proto.label!r})")
        if kind == "FileUploader":
            ours.append(f"{proto.max_upload_size_mb}MB per file")
        if kind in PLAIN_TEXT:
            values += list(_strings(proto, {"body", "code_text"}))
            continue
        ours += list(_strings(proto, OURS))
        values += list(_strings(proto, VALUES))
        data = getattr(proto, "data", None)
        if isinstance(data, bytes) and data:
            header, cells = _frame_strings(data)
            ours += header
            values += cells
        spec = getattr(proto, "spec", None)
        if isinstance(spec, str) and spec.startswith("{"):
            ours += [v for k, v in _json_items(json.loads(spec)) if k == "title" and isinstance(v, str)]
            for dataset in getattr(proto, "datasets", []):
                values += _frame_strings(dataset.data.data)[1]
    return ours, values


def _json_items(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from _json_items(v)
    elif isinstance(value, list):
        for v in value:
            yield from _json_items(v)


def page_problems(at, page) -> list[str]:
    ours, values = rendered(at)
    problems = []
    for text in ours:
        portal_words = _ESCAPED.sub(" ", text)
        problems += [f"{page}: {p}" for p in punctuation_problems(portal_words)
                     + grammar_problems(portal_words, anywhere=False)]
        if re.search(r"\b200\s?MB\b", text):
            problems.append(f"{page}: the uploader says {text!r}, the portal takes {importexport.MAX_UPLOAD_BYTES} bytes")
    for text in values:
        problems += [f"{page}: {p}" for p in grammar_problems(text, anywhere=False) if not p.startswith("1 followed")]
    return problems


def all_pages_in_french(demo_db) -> list[str]:
    problems = []
    for role in sorted(DEMO_EMAILS):
        at = signed_in(demo_db, role, "fr").run()
        assert not at.exception, at.exception
        for page in ui.page_files(role):
            at.switch_page(page).run()
            assert not at.exception, (page, at.exception)
            problems += [f"{role} {p}" for p in page_problems(at, page)]
    return sorted(set(problems))


def test_every_page_of_every_role_in_french_before_the_term(demo_db):
    problems = all_pages_in_french(demo_db)
    assert not problems, "\n".join(problems)


def test_every_page_of_every_role_in_french_during_the_term(demo_db):
    """Pairings published, a round with one entry given and answered (the dashboard once read
    "1 répondues"), the other entries open."""
    term_id = go_live(demo_db, due_in_days=3)
    entries = demo_db.execute("SELECT e.id, e.expert_id, p.team_id FROM feedback_entries e JOIN pairings p "
                              "ON p.id = e.pairing_id WHERE e.expert_id IS NOT NULL AND p.term_id = ? "  # not the
                              "ORDER BY e.id", [term_id]).fetchall()                         # demo's earlier terms
    entry_id, expert_id, team_id = entries[0]
    scores = {c: 4 for c in RUBRIC}
    feedback.submit(demo_db, accounts.get_user(demo_db, expert_id), entry_id, scores, "Bon travail.")
    student = storage.one(demo_db, "SELECT id FROM users WHERE team_id = ? AND role = 'student'", [team_id])
    if student:
        feedback.reply(demo_db, accounts.get_user(demo_db, student["id"]), entry_id, "Merci.")
    assert pairings.plan(demo_db, facilitator(demo_db), term_id).rows
    problems = all_pages_in_french(demo_db)
    assert not problems, "\n".join(problems)
