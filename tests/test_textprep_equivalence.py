"""The fast analyser (matching.textprep.Analyzer) gives exactly the output of the old per-token
one (tests/textprep_reference.py): same features in the same order, same surfaces and offsets,
on the demo data, the held-out bilingual set, hostile Unicode and generated mixtures of glossary
phrases, stop words and punctuation, for every analyser setting the portal or its benchmarks use.
"""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import textprep
from matching.ranking import challenge_text, team_text
from matching.textprep import ENGLISH_STOP_WORDS, FRENCH_STOP_WORDS, GLOSSARY_PATH, Analyzer
from tests.textprep_reference import ReferenceAnalyzer

ROOT = Path(__file__).resolve().parents[1]

SETTINGS = [
    {},
    {"ngram_range": (1, 2)},  # TextRanker's defaults
    {"ngram_range": (1, 3)},
    {"ngram_range": (2, 2)},
    {"ngram_range": (1, 2), "language": "en"},
    {"ngram_range": (1, 2), "language": "fr"},
    {"ngram_range": (1, 2), "language": "bilingual"},
    {"ngram_range": (1, 2), "stop_words": False},
    {"ngram_range": (1, 2), "stem": False},
    {"ngram_range": (1, 2), "fold_accents": False},
    {"ngram_range": (1, 2), "stem": False, "fold_accents": False},
    {"ngram_range": (1, 2), "use_glossary": False},
]
IDS = [",".join(f"{k}={v}" for k, v in s.items()) or "defaults" for s in SETTINGS]


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _texts() -> list[str]:
    texts: list[str] = []
    challenges, teams = _rows(ROOT / "data" / "challenges.csv"), _rows(ROOT / "data" / "teams.csv")
    for row in challenges:
        texts.append(challenge_text({**row, "themes": row["themes"].split(";")}))
    for row in teams:
        texts.append(team_text({**row, "skills": row["skills"].split(";"),
                                "interests": row["interests"].split(";")}))
    held = ROOT / "benchmarks" / "heldout_bilingual"
    for name in ("challenges.csv", "teams.csv"):
        for row in _rows(held / name):
            texts.extend(v for k, v in row.items() if k not in ("id", "lang") and v)
    for rows in (challenges, teams):
        for row in rows:
            texts.extend(v for v in row.values() if v)
    return texts + HOSTILE


HOSTILE = [
    "", " ", "\n\n", "the of and", "le la les de des", "12345 678 90", "😀🎉🚀" * 10,
    "مرحبا بالعالم — שלום עולם", "\u202eRTL override\u202c mot\u200fclé", "\x00\x01\x02 nul\x00byte",
    "\ud800 lone surrogate \udfff", "a" * 5_000, "word " * 2_000, "Ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ",
    "e\u0301\u0301\u0301 cafe\u0301 café", "İstanbul ǅemal ß STRASSE ﬁnance Σίσυφος",
    "[click](http://evil.example) ![x](javascript:alert(1)) <img src=x onerror=alert(1)>",
    "low-vision\u2010testers screen\u2011reader l’accessibilité d'abord main-d'œuvre",
    "conception de services; conception  de\tservices; conception-de-services; conception / services",
    "Les aînés, les données ouvertes et la recherche auprès des utilisateurs.",
    "user_research__prototyping snake_case_words tab\tseparated\rcarriage",
    "• bullet · middle dot | pipe (paren) [bracket] {brace} … ellipsis 。 ideographic",
    "ab12 3d 2030s x y z é è",
    "\u2060joined\u2060words\u00adsoft\u00adhyphen",
]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return _texts()


@pytest.mark.parametrize("params", SETTINGS, ids=IDS)
def test_features_and_surfaces_equal_the_reference(texts, params):
    fast, ref = Analyzer(**params), ReferenceAnalyzer(**params)
    for _ in range(2):  # the second pass runs on the warm token caches
        for text in texts:
            expected = ref(text)
            assert fast(text) == expected, text[:80]
            assert Counter(fast.bag_of_features(text)) == Counter(expected), text[:80]
            assert fast.analyze_with_offsets(text) == ref.analyze_with_offsets(text), text[:80]


def test_non_strings_and_none(texts):
    fast, ref = Analyzer(ngram_range=(1, 2)), ReferenceAnalyzer(ngram_range=(1, 2))
    for value in (None, 12, 3.5, float("nan"), b"bytes", ["a list", "of words"]):
        assert fast(value) == ref(value)


def test_settings_changed_after_construction(texts):
    """sklearn-style: parameters are attributes, read at each call, never frozen into a cache."""
    fast, ref = Analyzer(ngram_range=(1, 2)), ReferenceAnalyzer(ngram_range=(1, 2))
    sample = texts[:40]
    assert [fast(t) for t in sample] == [ref(t) for t in sample]
    for name, value in (("stop_words", False), ("stem", False), ("fold_accents", False),
                        ("use_glossary", False), ("language", "fr"), ("ngram_range", (1, 3))):
        setattr(fast, name, value)
        setattr(ref, name, value)
        assert [fast(t) for t in sample] == [ref(t) for t in sample], name


def test_another_glossary_file(tmp_path, texts):
    """A glossary swapped under a warm analyser (as benchmarks/crosslang.py does) is used at once."""
    small = tmp_path / "glossary.csv"
    small.write_text("en,fr\nservice design,conception de services\nseniors,aînés\n", encoding="utf-8")
    sample = [t for t in texts if "ervice" in t or "aîné" in t][:30] + HOSTILE
    fast, ref = Analyzer(ngram_range=(1, 2)), ReferenceAnalyzer(ngram_range=(1, 2))
    assert [fast(t) for t in sample] == [ref(t) for t in sample]
    fast.glossary_path = ref.glossary_path = str(small)
    assert [fast(t) for t in sample] == [ref(t) for t in sample]
    old = textprep.GLOSSARY_PATH
    caches = (textprep.load_glossary, textprep._glossary_starts, textprep._glossary_marks)
    try:
        textprep.GLOSSARY_PATH = small
        for fn in caches:
            fn.cache_clear()
        fast.glossary_path = ref.glossary_path = None
        assert [fast(t) for t in sample] == [ref(t) for t in sample]
    finally:
        textprep.GLOSSARY_PATH = old
        for fn in caches:
            fn.cache_clear()
    assert [fast(t) for t in sample] == [ref(t) for t in sample]


def _glossary_words() -> list[str]:
    words = set()
    for row in _rows(GLOSSARY_PATH):
        for side in ("en", "fr"):
            words.update(row[side].split())
    return sorted(words)


WORDS = _glossary_words() + sorted(ENGLISH_STOP_WORDS)[:60] + sorted(FRENCH_STOP_WORDS)[:60] + [
    "1", "22", "2030", "x", "é", "Services", "AÎNÉS", "Données", "l", "d", "qu", "3d", "co-design"]
SEPARATORS = [" ", " ", " ", ", ", "-", "'", "’", " - ", "/", "\n", ". ", "  ", "\t", "_", "…",
              " l'", " d’", " & ", '"', "\u00a0", "\u2010"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=40),
       st.sampled_from(SETTINGS))
def test_generated_phrases_equal_the_reference(pieces, params):
    text = "".join(w + s for w, s in pieces)
    expected = ReferenceAnalyzer(**params)(text)
    assert Analyzer(**params)(text) == expected
    assert Counter(Analyzer(**params).bag_of_features(text)) == Counter(expected)
    assert (Analyzer(**params).analyze_with_offsets(text)
            == ReferenceAnalyzer(**params).analyze_with_offsets(text))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200), st.sampled_from(SETTINGS))
def test_any_unicode_text_equals_the_reference(text, params):
    assert Analyzer(**params)(text) == ReferenceAnalyzer(**params)(text)
    assert (Analyzer(**params).analyze_with_offsets(text)
            == ReferenceAnalyzer(**params).analyze_with_offsets(text))


def _assert_counts_equal(a, b):
    a, b = a.tocsr(), b.tocsr()
    a.sort_indices()
    b.sort_indices()
    assert a.shape == b.shape
    assert (a.indptr == b.indptr).all() and (a.indices == b.indices).all() and (a.data == b.data).all()


@pytest.mark.parametrize("params", SETTINGS, ids=IDS)
def test_count_matrix_equals_counting_the_reference_features(texts, params):
    """Analyzer.count_matrix (feature numbers, NumPy) counts what the old analyser's features
    count, on a vocabulary fitted on half the texts (the rest meet unknown words)."""
    from sklearn.feature_extraction.text import CountVectorizer

    vocabulary = CountVectorizer(analyzer=ReferenceAnalyzer(**params)).fit(texts[::2]).vocabulary_
    expected = CountVectorizer(analyzer=ReferenceAnalyzer(**params), vocabulary=vocabulary).transform(texts)
    fast = Analyzer(**params)
    for _ in range(2):
        _assert_counts_equal(fast.count_matrix(texts, vocabulary), expected)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=25),
                min_size=1, max_size=6),
       st.sampled_from(SETTINGS))
def test_count_matrix_on_generated_phrases(docs, params):
    from sklearn.feature_extraction.text import CountVectorizer

    texts = ["".join(w + s for w, s in pieces) for pieces in docs]
    ref = ReferenceAnalyzer(**params)
    vocabulary = {f: i for i, f in enumerate(sorted({f for t in texts[1:] for f in ref(t)}))}
    vocabulary = vocabulary or {"service": 0}
    expected = CountVectorizer(analyzer=ref, vocabulary=vocabulary).transform(texts)
    _assert_counts_equal(Analyzer(**params).count_matrix(texts, vocabulary), expected)
