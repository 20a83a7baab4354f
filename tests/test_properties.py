"""Property tests: no typed or imported value makes a validator or the ranker fall over.

Inputs: arbitrary Unicode, emoji, right-to-left scripts, combining marks, 100 kB fields, empty
and blank strings, only stop words, only numbers, and values of the wrong type (numbers, lists,
dicts, None, NaN) where a form or an imported spreadsheet could put them. Every validator in
:mod:`matching.models` must answer ``{field: message key}`` with keys that exist in the message
catalogue; text preparation must return lists of strings; the ranker must return finite scores
in [0, 1] or refuse with its own translated error (empty profile, empty corpus).
"""
from __future__ import annotations

import inspect
import math
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import models, textprep
from matching.i18n import catalogue
from matching.ranking import (RankingError, TextRanker, challenge_text, label_for, rank_challenges_for_team,
                              rank_teams_for_challenge, team_text)

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

EXAMPLES = Counter()
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
RANKER_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

# --- Strategies ----------------------------------------------------------------------------

SPECIAL_TEXTS = [
    "", " ", "\n\t ", "\u200b\u200d\ufeff", "🚀🇨🇦👩🏽‍💻" * 20, "مرحبا بالعالم التصميم", "שלום עולם",
    "\u202eevil\u202c", "e\u0301\u0301\u0301", "the and of to in a is that for", "le la les de des du et un une",
    "123 456 7890 3.14 -2", "0", "１２３", "=HYPERLINK(\"http://x\")", "<script>alert(1)</script>",
    "[link](javascript:alert(1))", "Robert'); DROP TABLE users;--", "NULL", "None", "nan", "inf",
    "x" * 100_000, ("accessibilité service design " * 4000)[:100_000], "\x00\x01\x7f",
]
texts = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(categories=["L", "M", "N", "P", "S", "Zs"]), max_size=300),
    st.sampled_from(SPECIAL_TEXTS),
    st.builds(lambda chunk, n: (chunk * n)[:100_000], st.text(min_size=1, max_size=20), st.integers(1000, 10_000)),
)
scalars = st.one_of(texts, st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                    st.integers(-3, 12).map(str), st.dates().map(str))
values = st.one_of(scalars, st.lists(scalars, max_size=30), st.dictionaries(texts, scalars, max_size=5))


def forms(keys: tuple[str, ...], **overrides) -> st.SearchStrategy:
    """Dicts with any subset of ``keys`` holding any value (``overrides`` narrow some keys)."""
    return st.fixed_dictionaries({}, optional={k: overrides.get(k, values) for k in keys})


members = st.lists(st.one_of(forms(("name", "email", "program_year")), scalars), max_size=9)
CHALLENGE_KEYS = ("title", "problem", "outcomes", "themes", "language", "capacity", "sme_name", "sme_email",
                  "unclassified")
TEAM_KEYS = ("name", "program", "year", "skills", "interests", "past_work", "language", "members")

#: validator -> strategy of its positional/keyword arguments. A new validator without an entry
#: fails test_every_validator_has_a_property_test.
VALIDATOR_INPUTS = {
    "validate_challenge": st.tuples(forms(CHALLENGE_KEYS), st.booleans()).map(
        lambda a: ((a[0],), {"for_submit": a[1]})),
    "validate_team": forms(TEAM_KEYS, members=st.one_of(members, scalars)).map(lambda d: ((d,), {})),
    "validate_term": forms(("name", "state", "starts_on", "ends_on")).map(lambda d: ((d,), {})),
    "validate_user": forms(("email", "name", "role", "department_id", "team_id", "language")).map(lambda d: ((d,), {})),
    "validate_password": values.map(lambda v: ((v,), {})),
    "validate_preferences": st.tuples(
        st.lists(st.one_of(forms(("challenge_id", "reason")), scalars), max_size=8),
        st.sets(st.integers(0, 20), max_size=10)).map(lambda a: (a, {})),
    "validate_feedback": st.tuples(
        forms(("scores", "comments"), scores=st.one_of(values, st.dictionaries(
            st.sampled_from(models.RUBRIC + ("other",)), scalars))), st.booleans()).map(
        lambda a: ((a[0],), {"for_submit": a[1]})),
}


def _validators():
    return {name: fn for name, fn in inspect.getmembers(models, inspect.isfunction)
            if name.startswith("validate_") and fn.__module__ == models.__name__}


def test_every_validator_has_a_property_test():
    assert set(_validators()) == set(VALIDATOR_INPUTS)


@pytest.mark.parametrize("name", sorted(VALIDATOR_INPUTS))
def test_validators_never_raise_and_answer_known_message_keys(name):
    validator = _validators()[name]
    known = set(catalogue()["en"])

    @SETTINGS
    @given(VALIDATOR_INPUTS[name])
    def check(arguments):
        args, kwargs = arguments
        EXAMPLES[name] += 1
        errors = validator(*args, **kwargs)
        assert isinstance(errors, dict)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in errors.items())
        assert set(errors.values()) <= known, set(errors.values()) - known

    check()
    assert EXAMPLES[name] >= 100


@SETTINGS
@given(values)
def test_list_and_email_helpers_are_total(value):
    EXAMPLES["as_list / is_email"] += 1
    items = models.as_list(value)
    assert isinstance(items, list) and all(isinstance(i, str) and i == i.strip() and i for i in items)
    assert isinstance(models.is_email(value), bool)


# --- Text preparation ----------------------------------------------------------------------

ANALYZER = textprep.Analyzer()


@SETTINGS
@given(texts, st.sampled_from(["en", "fr", "bilingual", None]))
def test_text_preparation_is_total(text, language):
    EXAMPLES["textprep"] += 1
    assert isinstance(textprep.normalize(text), str)
    tokens = textprep.tokenize(text)
    assert all(isinstance(t, str) and t for t in tokens)
    assert textprep.detect_language(text) in ("en", "fr")
    for token in tokens[:50]:
        assert isinstance(textprep.stem(token, "fr" if language == "fr" else "en"), str)
        assert isinstance(textprep.fold(token), str)
    features = ANALYZER(text)
    assert isinstance(features, list) and all(isinstance(f, str) and f for f in features)


@SETTINGS
@given(st.one_of(texts, st.none(), st.integers(), st.floats()))
def test_only_stop_words_or_numbers_give_no_features(filler):
    EXAMPLES["textprep (stop words, numbers)"] += 1
    assert ANALYZER("the and of to in is that") == []
    assert ANALYZER("le la les de des du et une") == []
    assert ANALYZER("123 4.5 2027 -7 1,000") == []
    assert isinstance(ANALYZER(filler), list)


# --- Ranking -------------------------------------------------------------------------------

challenge_records = forms(("title", "problem", "outcomes", "themes", "language"),
                          themes=st.one_of(st.lists(texts, max_size=5), texts, st.none()))
team_records = forms(("name", "skills", "interests", "past_work", "language"),
                     skills=st.one_of(st.lists(texts, max_size=5), texts, st.none()),
                     interests=st.one_of(st.lists(texts, max_size=5), texts, st.none()))
REAL_CHALLENGE = {"title": "Accessible Employment Insurance application", "themes": ["accessibility", "service design"],
                  "problem": "Screen reader users abandon the online form.", "outcomes": "An audit and prototypes."}
REAL_TEAM = {"name": "Access Crew", "skills": ["accessibility testing", "user research"], "interests": ["services"],
             "past_work": "Audited a transit website for screen reader users."}


def _assert_sane(matches, n_items):
    assert len(matches) == n_items
    for m in matches:
        assert math.isfinite(m.score) and -1e-9 <= m.score <= 1 + 1e-9, m.score
        assert m.label in ("strong", "good", "fair", "weak")
        assert all(isinstance(term, str) and math.isfinite(weight) for term, weight in m.reasons)


def _refusal_is_translated(err: RankingError):
    assert err.key in catalogue()["en"] and err.key in catalogue()["fr"]


@RANKER_SETTINGS
@given(team_records, st.lists(challenge_records, max_size=6))
def test_ranking_challenges_for_any_team_never_crashes_nor_gives_nan(team, challenges):
    EXAMPLES["rank_challenges_for_team"] += 1
    corpus = challenges + [REAL_CHALLENGE]
    try:
        _assert_sane(rank_challenges_for_team(team, corpus), len(corpus))
    except RankingError as err:  # a profile without a single word: a translated refusal
        _refusal_is_translated(err)
        assert err.key == "ranking.empty_profile"
        assert not ANALYZER(team_text(team))


@RANKER_SETTINGS
@given(challenge_records, st.lists(team_records, max_size=6))
def test_ranking_teams_for_any_challenge_never_crashes_nor_gives_nan(challenge, teams):
    EXAMPLES["rank_teams_for_challenge"] += 1
    corpus = teams + [REAL_TEAM]
    try:
        _assert_sane(rank_teams_for_challenge(challenge, corpus), len(corpus))
    except RankingError as err:
        _refusal_is_translated(err)
        assert err.key == "ranking.empty_profile"
        assert not ANALYZER(challenge_text(challenge))


@RANKER_SETTINGS
@given(st.lists(texts, min_size=1, max_size=6), st.lists(texts, min_size=1, max_size=4))
def test_ranker_scores_are_finite_for_any_corpus(documents, queries):
    EXAMPLES["TextRanker.score"] += 1
    try:
        ranker = TextRanker().fit(documents)
    except RankingError as err:  # not one word in the whole corpus
        _refusal_is_translated(err)
        assert err.key == "ranking.empty_corpus"
        return
    scores = ranker.score(queries)
    assert scores.shape == (len(queries), len(documents))
    assert not (scores != scores).any() and (scores >= -1e-9).all() and (scores <= 1 + 1e-9).all()
    assert label_for(float("nan")) == "weak"


# --- Bad files (matching.importexport) -----------------------------------------------------

try:
    from matching import importexport
except ImportError:  # pragma: no cover - the import module is optional in this build
    importexport = None
needs_import = pytest.mark.skipif(importexport is None, reason="matching.importexport is not in this build")


def _xlsx(rows: list[list], *, drop_dimension: bool = False, repeat_last: int = 1) -> bytes:
    """An .xlsx; ``repeat_last`` copies the last row's XML that many times inside the zip."""
    import io
    import re
    import zipfile

    import openpyxl
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    source, out = zipfile.ZipFile(io.BytesIO(buffer.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                if drop_dimension:  # without it, a reader cannot know the size in advance
                    data = re.sub(rb"<dimension[^>]*/>", b"", data)
                last = re.findall(rb"<row [^>]*>.*?</row>", data)[-1]
                data = data.replace(last, re.sub(rb' r="\d+"', b"", last) * repeat_last)
            target.writestr(item, data)
    return out.getvalue()


@needs_import
@SETTINGS
@given(st.binary(max_size=4096), st.sampled_from(["x.csv", "x.xlsx", "x.txt", "x.xlsm", "x.pdf", ""]))
def test_any_bytes_uploaded_give_rows_or_a_clear_refusal(data, filename):
    EXAMPLES["read_upload (arbitrary bytes)"] += 1
    from matching.errors import ValidationFailed
    try:
        rows = importexport.read_upload(data, filename)
    except ValidationFailed as err:
        assert set(err.errors) == {"file"} and err.errors["file"] in catalogue()["en"]
        return
    assert all(isinstance(r, dict) and all(isinstance(v, str) for v in r.values()) for r in rows)


@needs_import
def test_a_zip_bomb_spreadsheet_is_refused_before_it_is_unpacked():
    import time
    from matching.errors import ValidationFailed
    bomb = _xlsx([["name"], ["Bomb team"]], drop_dimension=True, repeat_last=3_000_000)  # ~150 MB of rows
    assert len(bomb) < importexport.MAX_UPLOAD_BYTES  # small enough to pass the upload limit
    started = time.perf_counter()
    with pytest.raises(ValidationFailed) as info:
        importexport.read_upload(bomb, "teams.xlsx")
    assert info.value.errors == {"file": "data.too_large"}
    assert time.perf_counter() - started < 5


@needs_import
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_ten_thousand_rows_are_refused_whole(kind):
    from matching.errors import ValidationFailed
    if kind == "csv":
        data = ("name\n" + "".join(f"Team {i}\n" for i in range(10_000))).encode()
    else:
        data = _xlsx([["name"], ["Team"]], drop_dimension=True, repeat_last=10_000)
    with pytest.raises(ValidationFailed) as info:
        importexport.read_upload(data, f"teams.{kind}")
    assert info.value.errors == {"file": "data.too_many_rows"}


@needs_import
@pytest.mark.parametrize("name,data", [
    ("png.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200),
    ("zip-without-sheet.xlsx", None),
    ("binary.csv", bytes(range(256)) * 8),
    ("empty.csv", b""),
    ("only-blank-lines.csv", b"\n\n , \n"),
])
def test_files_that_are_not_spreadsheets_are_refused_clearly(name, data):
    import io
    import zipfile
    from matching.errors import ValidationFailed
    if data is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr("readme.txt", "not a workbook")
        data = buffer.getvalue()
    try:
        rows = importexport.read_upload(data, name)
    except ValidationFailed as err:
        assert err.errors["file"] in ("data.unreadable", "data.empty", "data.bad_type")
        return
    assert name == "binary.csv" and isinstance(rows, list)  # decodes as cp1252 text: the row checks decide


@needs_import
@pytest.mark.parametrize("content,problem", [
    ("program,year\nDesign,2\n", "data.missing_column"),                 # wrong columns
    ("name,year\n,2\nTeam B,3\n", "validation.required"),                 # a required value missing
    ("name\nSame Team\nsame team\n", None),                                # duplicate keys
    ("name,year\nTeam C,banana\n", "validation.year"),
    ('name,past_work\nTeam D,"=HYPERLINK(""http://x"",""y"")"\n', "data.formula_cell"),  # formula cell
])
def test_bad_imports_are_reported_and_write_nothing(db, world, content, problem):
    from matching.errors import PortalError
    from tests.test_backup_restore import table_dump
    rows = importexport.read_upload(content.encode(), "teams.csv")
    report = importexport.preview(db, world["facilitator"], "teams", rows)
    assert report.problems and all(p["key"] in catalogue()["en"] for p in report.problems)
    if problem:
        assert problem in {p["key"] for p in report.problems}
    before = table_dump(db)
    with pytest.raises(PortalError):
        importexport.commit(db, world["facilitator"], "teams", rows)
    assert table_dump(db) == before


@needs_import
def test_formula_cells_are_refused_and_stored_text_is_exported_neutralised(db, world):
    import csv
    import io
    from matching import teams
    from matching.errors import PortalError
    from tests.test_backup_restore import table_dump
    attack = "=cmd|' /C calc'!A0"
    rows = importexport.read_upload(f'name,past_work\n"{attack}",ok\nFine,"@SUM(1+1)"\n'.encode(), "teams.csv")
    report = importexport.preview(db, world["facilitator"], "teams", rows)
    assert [(p["row"], p["field"], p["key"]) for p in report.problems] == [
        (2, "name", "data.formula_cell"), (3, "past_work", "data.formula_cell")]
    before = table_dump(db)
    with pytest.raises(PortalError):
        importexport.commit(db, world["facilitator"], "teams", rows)
    assert table_dump(db) == before
    # Text typed in the portal that looks like a formula is exported as inert text.
    teams.save_team(db, world["facilitator"], world["team_a"], {"name": "Access Crew", "past_work": "@SUM(1+1)",
                                                                   "members": []})
    exported = importexport.export_bytes(db, world["facilitator"], "teams", "csv").decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(exported)) for cell in row]
    assert "'@SUM(1+1)" in cells
    assert not [c for c in cells if c.startswith(("=", "+", "@"))]


def test_zz_report_example_counts(capsys):
    """Prints how many inputs each property saw (the figures in docs/RELIABILITY.md)."""
    if not EXAMPLES:
        pytest.skip("run together with the property tests above")
    with capsys.disabled():
        print("\nproperty examples: " + ", ".join(f"{k} {v}" for k, v in sorted(EXAMPLES.items())))
