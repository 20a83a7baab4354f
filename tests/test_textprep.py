"""Tests of matching.textprep: normalisation, languages, stop words, stemming, glossary."""
from __future__ import annotations

import csv

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import textprep
from matching.textprep import (
    ENGLISH_STOP_WORDS,
    FRENCH_STOP_WORDS,
    GLOSSARY_PATH,
    Analyzer,
    detect_language,
    fold,
    load_glossary,
    stem,
    tokenize,
)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Accessibilité", "accessibilite"),
        ("ÉCONOMIE", "economie"),
        ("Pêches et Océans", "peches et oceans"),
        ("naïve façade", "naive facade"),
        ("ﬁn", "fin"),  # NFKD ligature
        ("", ""),
    ],
)
def test_fold(raw, expected):
    assert fold(raw) == expected


def test_tokenize_splits_elisions_and_punctuation():
    assert tokenize("L'accessibilité, c'est-à-dire: 2030!") == ["l", "accessibilité", "c", "est", "à", "dire", "2030"]
    assert tokenize(None) == []
    assert tokenize(12) == ["12"]


@pytest.mark.parametrize(
    "text, lang",
    [
        ("We want to make the forms easier for the people who use them", "en"),
        ("Nous voulons rendre les formulaires plus simples pour les personnes qui les utilisent", "fr"),
        ("Les aînés et les données", "fr"),
        ("recherche utilisateur; prototypage; accessibilité", "fr"),  # glossary words + accents
        ("user research; prototyping; accessibility", "en"),
        ("", "en"),
    ],
)
def test_detect_language(text, lang):
    assert detect_language(text) == lang


def test_stop_word_lists():
    assert {"the", "and", "of"} <= ENGLISH_STOP_WORDS
    assert {"le", "la", "les", "des", "et", "pour", "avec", "être", "avoir", "dans"} <= FRENCH_STOP_WORDS
    assert len(FRENCH_STOP_WORDS) >= 150
    # domain words kept although scikit-learn lists them
    assert "fire" not in ENGLISH_STOP_WORDS and "system" not in ENGLISH_STOP_WORDS


@pytest.mark.parametrize(
    "a, b, lang",
    [("services", "service", "en"), ("prototyping", "prototype", "en"),
     ("utilisateurs", "utilisateur", "fr"), ("climatiques", "climatique", "fr")],
)
def test_stemming_merges_inflections(a, b, lang):
    assert stem(a, lang) == stem(b, lang)


def test_stop_words_removed_by_language():
    a = Analyzer()
    assert a("the and of with") == []
    assert a("le la les des et pour") == []
    # "car" is a French stop word but an English content word
    assert "car" in a("The electric car charging network for the north")


def test_numbers_and_short_tokens_dropped():
    a = Analyzer()
    assert a("1 22 333 2030") == []
    assert "3d" in a("3D printing")


def test_glossary_file_has_enough_pairs():
    with open(GLOSSARY_PATH, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and set(rows[0]) == {"en", "fr"}
    assert len(rows) >= 150
    pairs = {(r["en"].lower(), r["fr"].lower()) for r in rows}
    for pair in [("accessibility", "accessibilité"), ("service design", "conception de services"),
                 ("climate", "climat"), ("indigenous", "autochtones"), ("data", "données"),
                 ("benefits", "prestations"), ("user research", "recherche utilisateur"),
                 ("plain language", "langage clair"), ("fisheries", "pêches"), ("oceans", "océans"),
                 ("health", "santé"), ("seniors", "aînés"), ("youth", "jeunes"),
                 ("housing", "logement"), ("taxes", "impôts"), ("veterans", "anciens combattants"),
                 ("farmers", "agriculteurs"), ("prototyping", "prototypage"),
                 ("data visualization", "visualisation de données")]:
        assert pair in pairs, pair
    assert len(load_glossary()) >= 150


@pytest.mark.parametrize(
    "fr, en",
    [
        ("conception de services", "service design"),
        ("Les données ouvertes", "open data"),
        ("accessibilité", "accessibility"),
        ("les aînés", "seniors"),
        ("anciens combattants", "veterans"),
        ("la visualisation des données", "data visualization"),
        ("recherche auprès des utilisateurs", "user research"),
        ("logement abordable", "affordable housing"),
        ("impôts", "taxes"),
        ("les pêches", "fisheries"),
    ],
)
def test_glossary_maps_french_to_shared_features(fr, en):
    a = Analyzer(ngram_range=(1, 2))
    assert set(a(en)) <= set(a(fr)), (a(fr), a(en))


def test_glossary_can_be_disabled():
    assert not set(Analyzer(use_glossary=False)("accessibilité")) & set(Analyzer()("accessibility"))


def test_glossary_not_applied_to_plain_english_words():
    # "formation" is French for training, but in an English sentence it stays itself
    assert "format" in Analyzer()("The formation of teams for the project")


def test_surface_forms_are_words_not_stems():
    a = Analyzer()
    forms = a.surface_forms(["Accessibility matters", "accessibility of services", "Services"])
    assert forms[stem("accessibility", "en")] == "accessibility"
    assert forms[stem("services", "en")] in {"services"}


def test_ngrams_stay_within_segments():
    feats = Analyzer(ngram_range=(1, 2))("user research\nprototyping")
    assert "user research" in feats
    assert not any(f.startswith("research ") for f in feats)


@pytest.mark.parametrize("text, absent, present", [
    ("blind or low vision", "blind low", "low vision"),
    ("francophonie en situation minoritaire", "francophon situat", "situat minoritair"),
    ("UX/UI design", "ux ui", "ui design"),
    ("user research - prototyping", "research prototyp", "user research"),
    ("WCAG 2.1 AA audits", "wcag aa", "aa audit"),
    ('the "Tell Us Once" service', "tell servic", None),
])
def test_word_pairs_never_span_a_removed_word_or_punctuation(text, absent, present):
    feats = Analyzer(ngram_range=(1, 2))(text)
    assert absent not in feats, feats
    if present:
        assert present in feats, feats


def test_hyphens_and_elisions_join_words():
    feats = Analyzer(ngram_range=(1, 2), use_glossary=False)("low-vision testers and screen-reader users")
    assert {"low vision", "vision tester", "screen reader", "reader user"} <= set(feats), feats


@pytest.mark.parametrize("text", [
    "Audited a site with blind and low-vision testers, then redesigned the sign-up flow.",
    "La Conception de services pour les aînés en situation de handicap",
    "Recherche auprès des utilisateurs; visualisation de données ouvertes",
])
def test_surfaces_are_verbatim_parts_of_the_text(text):
    for feat, surface in Analyzer(ngram_range=(1, 2)).analyze_with_surface(text, as_written=True):
        assert surface in text, (feat, surface)


def test_missing_glossary_file_is_tolerated(tmp_path):
    assert load_glossary(str(tmp_path / "nope.csv")) == {}
    a = Analyzer(use_glossary=True)
    a.glossary_path = str(tmp_path / "nope.csv")
    assert a("accessibilité") != []


EDGE_CASES = [
    "",
    " ",
    "the of and",
    "le la les de des",
    "12345 678 90",
    "😀🎉🚀" * 10,
    "مرحبا بالعالم — שלום עולם",
    "\u202eRTL override\u202c",
    "\x00\x01\x02",
    "\ud800 lone surrogate",
    "a" * 100_000,
    "word " * 20_000,
    "Ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ",
    "e\u0301\u0301\u0301",
]


@pytest.mark.parametrize("text", EDGE_CASES, ids=range(len(EDGE_CASES)))
@pytest.mark.parametrize("ngrams", [(1, 1), (1, 2)])
def test_edge_cases_never_crash(text, ngrams):
    feats = Analyzer(ngram_range=ngrams)(text)
    assert isinstance(feats, list) and all(isinstance(f, str) and f for f in feats)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300), st.sampled_from([None, "en", "fr", "bilingual"]))
def test_any_unicode_text(text, language):
    a = Analyzer(language=language, ngram_range=(1, 2))
    feats = a(text)
    assert all(isinstance(f, str) and f for f in feats)
    assert detect_language(text) in {"en", "fr"}
    for f, s in a.analyze_with_surface(text):
        assert isinstance(s, str)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(sorted(ENGLISH_STOP_WORDS)), max_size=30))
def test_only_english_stop_words_gives_nothing(words):
    assert Analyzer()(" ".join(words)) == []


# "car", "son" and "plus" are French stop words but also English words: alone they stay.
_FR_ONLY_STOPS = sorted(FRENCH_STOP_WORDS - {"car", "son", "plus", "as"})


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(_FR_ONLY_STOPS), max_size=30))
def test_only_french_stop_words_gives_nothing(words):
    assert Analyzer()(" ".join(words)) == []
