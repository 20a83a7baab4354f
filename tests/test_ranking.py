"""Tests of matching.ranking: TextRanker, explanations, top-k, labels, high-level ranking."""
from __future__ import annotations

import inspect
import math
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, clone

from matching.ranking import (
    CHALLENGE_FIELD_WEIGHTS,
    LABEL_THRESHOLDS,
    TEAM_FIELD_WEIGHTS,
    Match,
    RankingError,
    TextRanker,
    challenge_text,
    label_for,
    rank_challenges_for_team,
    rank_teams_for_challenge,
    team_text,
)

ACCESSIBILITY = {
    "title": "Making benefit forms accessible",
    "problem": "People using screen readers cannot complete the online benefits application. "
               "We need an accessible, plain language service design for the forms.",
    "outcomes": "An accessibility audit and a prototype of the redesigned service.",
    "themes": ["accessibility", "service design"],
    "language": "en",
}
FISHERIES = {
    "title": "Tracking fishing vessel landings",
    "problem": "Fisheries officers reconcile catch reports from vessels on the Atlantic coast.",
    "outcomes": "A dashboard of landings by port and species.",
    "themes": ["fisheries", "oceans", "data"],
    "language": "en",
}
CLIMATE = {
    "title": "Climate adaptation for northern communities",
    "problem": "Permafrost thaw threatens roads and buildings in the North.",
    "outcomes": "Ways to share climate risk information with residents.",
    "themes": ["climate", "infrastructure"],
    "language": "en",
}
TEAM = {
    "name": "Team Ramp",
    "skills": ["user research", "prototyping", "accessibility testing"],
    "interests": ["accessibility", "service design"],
    "past_work": "We ran usability sessions with screen reader users and redesigned a library form.",
    "language": "en",
}
CHALLENGES = [FISHERIES, ACCESSIBILITY, CLIMATE]


# --- behaviour ---------------------------------------------------------------------------------

def test_accessibility_team_prefers_accessibility_challenge():
    matches = rank_challenges_for_team(TEAM, CHALLENGES)
    assert [m.index for m in matches][0] == 1
    scores = {m.index: m.score for m in matches}
    assert scores[1] > scores[0]
    assert all(isinstance(m, Match) for m in matches)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


def test_explain_returns_shared_terms_in_words():
    matches = rank_challenges_for_team(TEAM, CHALLENGES)
    reasons = matches[0].reasons
    assert 0 < len(reasons) <= 5
    words = " ".join(w for w, _ in reasons)
    assert "accessib" in words
    assert all(c > 0 for _, c in reasons)
    # words as written, not stems: every reason word occurs in one of the two texts
    text = (team_text(TEAM) + " " + challenge_text(ACCESSIBILITY)).lower()
    for w, _ in reasons:
        for part in w.split(" / "):
            for token in part.split():
                assert token in text, token


def test_rank_teams_for_challenge():
    other = {"name": "Deep Blue", "skills": ["data visualization", "python"],
             "interests": ["oceans", "fisheries"], "past_work": "Dashboards of fishing catch data."}
    matches = rank_teams_for_challenge(FISHERIES, [TEAM, other])
    assert matches[0].index == 1
    assert matches[0].label in {"strong", "good", "fair", "weak"}


def test_k_limits_results():
    assert len(rank_challenges_for_team(TEAM, CHALLENGES, k=2)) == 2
    assert len(rank_challenges_for_team(TEAM, CHALLENGES, k=10)) == 3
    assert rank_challenges_for_team(TEAM, CHALLENGES, k=0) == []


def test_prefitted_ranker_is_used_and_not_refitted():
    ranker = TextRanker().fit([challenge_text(c) for c in CHALLENGES])
    matrix = ranker.doc_matrix_
    a = rank_challenges_for_team(TEAM, CHALLENGES, ranker=ranker)
    assert ranker.doc_matrix_ is matrix
    b = rank_challenges_for_team(TEAM, CHALLENGES)
    assert [(m.index, round(m.score, 12)) for m in a] == [(m.index, round(m.score, 12)) for m in b]


def test_mismatched_ranker_raises():
    ranker = TextRanker().fit([challenge_text(c) for c in CHALLENGES[:2]])
    with pytest.raises(RankingError) as info:
        rank_challenges_for_team(TEAM, CHALLENGES, ranker=ranker)
    assert info.value.key == "ranking.ranker_mismatch"


@pytest.mark.parametrize("docs", [[], [""], ["", "   "], ["the of and", "le la les"], ["123 456"], [None]])
def test_fit_empty_corpus_raises_keyed_error(docs):
    with pytest.raises(RankingError) as info:
        TextRanker().fit(docs)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.key == "ranking.empty_corpus"
    assert "nothing to rank" in str(err).lower()


def test_empty_challenge_list_raises():
    with pytest.raises(RankingError) as info:
        rank_challenges_for_team(TEAM, [])
    assert info.value.key == "ranking.empty_corpus"
    with pytest.raises(RankingError) as info:
        rank_teams_for_challenge(ACCESSIBILITY, [])
    assert info.value.key == "ranking.empty_corpus"


@pytest.mark.parametrize("team", [{}, {"name": None, "skills": None}, {"skills": [], "interests": [""],
                                                                       "past_work": "the and"}])
def test_empty_profile_raises(team):
    with pytest.raises(RankingError) as info:
        rank_challenges_for_team(team, CHALLENGES)
    assert info.value.key == "ranking.empty_profile"
    with pytest.raises(RankingError) as info:
        rank_teams_for_challenge(team, [TEAM])
    assert info.value.key == "ranking.empty_profile"


def test_empty_query_scores_zero_and_never_nan():
    r = TextRanker().fit([challenge_text(c) for c in CHALLENGES])
    s = r.score(["", "the", "🙂", "zzzz unseen words"])
    assert s.shape == (4, 3)
    assert np.all(s == 0) and not np.isnan(s).any()
    assert r.explain("", 0) == []


def test_score_is_cosine_in_unit_interval():
    r = TextRanker().fit([challenge_text(c) for c in CHALLENGES])
    s = r.score([challenge_text(c) for c in CHALLENGES])
    assert np.allclose(np.diag(s), 1.0)
    assert s.min() >= 0 and s.max() <= 1 + 1e-12


# --- weighted texts and labels ----------------------------------------------------------------

def test_weighted_texts_repeat_fields_and_tolerate_missing():
    text = challenge_text(ACCESSIBILITY)
    assert text.count("Making benefit forms accessible") == CHALLENGE_FIELD_WEIGHTS["title"]
    assert text.count("service design") >= CHALLENGE_FIELD_WEIGHTS["themes"]
    assert challenge_text({}) == "" and team_text({}) == ""
    assert team_text({"skills": "python; figma", "interests": None}).count("figma") == TEAM_FIELD_WEIGHTS["skills"]
    assert challenge_text({"title": None, "themes": [None, "climate"]}).count("climate") == 2


def test_title_counts_more_than_problem():
    a = {"title": "wildfire smoke", "problem": "housing costs"}
    r = TextRanker().fit([challenge_text(a), "unrelated text about fisheries", "other text on taxes"])
    assert r.score(["wildfire smoke"])[0, 0] > r.score(["housing costs"])[0, 0]


@pytest.mark.parametrize("score, label", [(0.9, "strong"), (LABEL_THRESHOLDS[0][1], "strong"),
                                          (LABEL_THRESHOLDS[1][1], "good"), (LABEL_THRESHOLDS[2][1], "fair"),
                                          (LABEL_THRESHOLDS[2][1] - 1e-9, "weak"), (0.0, "weak"),
                                          (float("nan"), "weak"), (-1, "weak")])
def test_label_for(score, label):
    assert label_for(score) == label


def test_label_thresholds_are_decreasing():
    values = [v for _, v in LABEL_THRESHOLDS]
    assert values == sorted(values, reverse=True) and all(0 < v < 1 for v in values)


# --- explanation truthfulness -------------------------------------------------------------------

CORPUS = [challenge_text(c) for c in CHALLENGES] + [
    "Youth employment programs and summer jobs for students",
    "Plain language letters about taxes and benefits for seniors",
    "Données ouvertes sur la santé des océans et les pêches côtières",
]
QUERIES = [team_text(TEAM), "accessible benefits forms for seniors in plain language",
           "ocean fisheries data dashboards", "logement abordable pour les jeunes et les aînés"]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("doc", range(len(CORPUS)))
def test_explanation_sums_to_score(query, doc):
    r = TextRanker().fit(CORPUS)
    score = r.score([query])[0, doc]
    contributions = r.explain(query, doc, n_terms=10_000)
    assert abs(sum(c for _, c in contributions) - score) <= 1e-9
    top5 = r.explain(query, doc, n_terms=5)
    assert top5 == contributions[:5]
    values = [c for _, c in contributions]
    assert values == sorted(values, reverse=True)
    if len(values) > 5:
        assert min(c for _, c in top5) >= max(values[5:])


def test_explain_bad_index():
    r = TextRanker().fit(CORPUS)
    with pytest.raises(IndexError):
        r.explain("x", len(CORPUS))


def test_explain_shows_both_languages_for_glossary_matches():
    r = TextRanker().fit(["Accessibilité des formulaires pour les aînés"])
    words = [w for w, _ in r.explain("accessibility for seniors", 0, n_terms=10)]
    assert any("/" in w and "aînés" in w for w in words), words


# --- scikit-learn conventions --------------------------------------------------------------------

def test_keyword_only_init():
    with pytest.raises(TypeError):
        TextRanker(True)  # noqa
    params = inspect.signature(TextRanker.__init__).parameters
    assert all(p.kind is p.KEYWORD_ONLY for name, p in params.items() if name != "self")


def test_init_stores_params_unchanged_and_clone_works():
    r = TextRanker(ngram_range=(1, 3), min_df=2, sublinear_tf=False, language="fr")
    assert r.ngram_range == (1, 3) and r.min_df == 2 and r.sublinear_tf is False and r.language == "fr"
    assert isinstance(r, BaseEstimator)
    c = clone(r)
    assert c.get_params() == r.get_params() and c is not r
    assert not hasattr(c, "doc_matrix_")


def test_fit_returns_self_and_learned_attributes_end_with_underscore():
    r = TextRanker()
    before = set(vars(r))
    assert r.fit(CORPUS) is r
    learned = set(vars(r)) - before
    public = {a for a in learned if not a.startswith("_")}
    assert public and all(a.endswith("_") for a in public)
    assert {"vectorizer_", "doc_matrix_", "vocabulary_", "feature_names_"} <= public
    norms = np.sqrt(np.asarray(r.doc_matrix_.multiply(r.doc_matrix_).sum(axis=1)).ravel())
    assert np.allclose(norms, 1.0)


def test_pickle_roundtrip():
    r = TextRanker().fit(CORPUS)
    r2 = pickle.loads(pickle.dumps(r))
    assert np.array_equal(r.score(QUERIES), r2.score(QUERIES))


def test_not_fitted():
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        TextRanker().score(["x"])


# --- top-k ---------------------------------------------------------------------------------------

def _random_corpus(rng, n, vocab=40, length=(0, 12)):
    words = [f"w{chr(97 + i % 26)}{chr(97 + i // 26)}x" for i in range(vocab)]
    return [" ".join(rng.choice(words, size=rng.integers(*length))) for _ in range(n)]


def _reference_top_k(scores, k):
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(scores, order, axis=1)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 3, 10, 50])
def test_top_k_matches_full_sort(seed, k):
    rng = np.random.default_rng(seed)
    docs = _random_corpus(rng, 40)
    docs[0] = docs[1] = "wax wbx wcx"  # exact ties
    docs[2] = docs[3] = docs[4]
    ranker = TextRanker().fit(docs)
    queries = _random_corpus(rng, 25) + ["", "wax wbx wcx"]
    full = ranker.score(queries)
    idx, val = ranker.top_k(queries, k)
    ref_idx, ref_val = _reference_top_k(full, min(k, len(docs)))
    assert idx.shape == val.shape == (len(queries), min(k, len(docs)))
    assert np.array_equal(idx, ref_idx)
    assert np.allclose(val, ref_val, rtol=0, atol=1e-12)
    for chunk in (1, 2, 7, 1000):
        cidx, cval = ranker.top_k(queries, k, chunk_size=chunk)
        assert np.array_equal(cidx, idx) and np.array_equal(cval, val)


def test_top_k_accepts_precomputed_matrix_and_single_string():
    ranker = TextRanker().fit(CORPUS)
    q = ranker.transform(QUERIES)
    a = ranker.top_k(q, 3)
    b = ranker.top_k(QUERIES, 3)
    assert np.array_equal(a[0], b[0])
    one = ranker.top_k(QUERIES[0], 2)
    assert one[0].shape == (1, 2)
    empty = ranker.top_k([], 5)
    assert empty[0].shape == (0, 5)


# --- bilingual -----------------------------------------------------------------------------------
# Each pair: a French challenge-like text and an English team-like text on the same topic,
# written separately (not translations of each other).
BILINGUAL_PAIRS = [
    ("Rendre les formulaires de prestations accessibles aux personnes qui utilisent un lecteur d'écran.",
     "We audit web accessibility and test forms with screen reader users."),
    ("Aider les aînés à demander leur pension de vieillesse en ligne sans se perdre.",
     "Our team designs simple online services for seniors applying for a pension."),
    ("Mieux comprendre comment les pêcheurs déclarent leurs prises dans les pêches côtières.",
     "Interested in fisheries, coastal communities and how fishers report their catch."),
    ("Visualiser les données sur la santé des océans pour le grand public.",
     "Data visualization of ocean health, interactive maps and charts."),
    ("Adapter les collectivités nordiques aux changements climatiques et au dégel du pergélisol.",
     "We care about climate change adaptation in northern and Arctic communities."),
    ("Co-concevoir avec les Premières Nations un service d'eau potable plus fiable.",
     "Co-design with First Nations communities; past project on drinking water advisories."),
    ("Simplifier la déclaration de revenus et les impôts pour les étudiants étrangers.",
     "Plain language guides to help international students file their taxes."),
    ("Améliorer l'accès des anciens combattants aux services de santé mentale.",
     "Mental health services for veterans and their families; user research with veterans."),
    ("Aider les agriculteurs à remplir les demandes de subventions agricoles.",
     "Service design for farmers applying for agriculture grants and funding."),
    ("Trouver un logement abordable pour les jeunes en situation d'itinérance.",
     "Youth homelessness and affordable housing; we interviewed shelter staff."),
    ("Accueillir les nouveaux arrivants et les réfugiés dans leurs premières semaines au Canada.",
     "Onboarding journeys for newcomers and refugees settling in Canada."),
    ("Rédiger les lettres de l'assurance-emploi en langage clair.",
     "We rewrite government letters in plain language; employment insurance notices."),
    ("Prévenir les feux de forêt grâce aux images satellite et aux alertes.",
     "Wildfire alerts, satellite imagery and emergency management apps."),
    ("Réduire les déchets de plastique dans les parcs nationaux.",
     "Sustainability, recycling and reducing plastics waste in national parks."),
    ("Mesurer la satisfaction des voyageurs au passage de la frontière et aux douanes.",
     "Traveller experience at the border: customs kiosks and wait times."),
    ("Protéger la vie privée et les données personnelles dans les services numériques.",
     "Privacy by design for digital services and personal data protection."),
    ("Lutter contre la désinformation en santé publique sur les réseaux sociaux.",
     "Misinformation, public health messaging and social media campaigns."),
    ("Offrir des services bilingues dans les deux langues officielles aux communautés francophones.",
     "Official languages: bilingual services for francophone minority communities."),
    ("Améliorer le transport en commun rural pour les personnes âgées sans voiture.",
     "Rural public transit for older adults who no longer drive."),
    ("Inspection des aliments : informer les consommateurs des rappels d'aliments.",
     "Food safety recalls: how consumers learn about food inspection results."),
    ("Recensement : encourager la participation des jeunes au questionnaire en ligne.",
     "Census participation of young people; online survey design."),
    ("Améliorer l'accès à Internet haute vitesse et la connectivité dans les régions éloignées.",
     "Broadband connectivity for remote regions and internet access gaps."),
    ("Aider les petites entreprises à exporter leurs produits à l'étranger.",
     "Small business exporters: trade services and export guidance."),
    ("Soutenir les femmes entrepreneures et l'égalité des genres en économie.",
     "Gender equality and women entrepreneurs in the economy."),
]


def bilingual_share():
    challenges = [fr for fr, _ in BILINGUAL_PAIRS]
    teams = [en for _, en in BILINGUAL_PAIRS]
    ranker = TextRanker().fit(challenges)
    idx, _ = ranker.top_k(teams, 1)
    return float(np.mean(idx[:, 0] == np.arange(len(teams))))


def test_bilingual_pairs_rank_first():
    assert len(BILINGUAL_PAIRS) >= 20
    share = bilingual_share()
    print(f"bilingual FR challenge / EN team: matching pair ranked first for {share:.0%}")
    assert share >= 0.8


def test_glossary_is_what_makes_bilingual_matching_work():
    challenges = [fr for fr, _ in BILINGUAL_PAIRS]
    teams = [en for _, en in BILINGUAL_PAIRS]
    ranker = TextRanker(use_glossary=False).fit(challenges)
    idx, _ = ranker.top_k(teams, 1)
    assert np.mean(idx[:, 0] == np.arange(len(teams))) < bilingual_share()


# --- robustness ----------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    docs=st.lists(st.text(max_size=120), min_size=1, max_size=6),
    queries=st.lists(st.one_of(
        st.text(max_size=120),
        st.sampled_from(["", "123 456", "the of and", "le la les", "😀🎉", "مرحبا שלום", "accessibility"]),
    ), min_size=1, max_size=4),
)
def test_ranker_never_crashes_or_nans(docs, queries):
    docs = docs + ["accessibility service design"]  # guarantee a non-empty vocabulary
    r = TextRanker().fit(docs)
    s = r.score(queries)
    assert s.shape == (len(queries), len(docs))
    assert not np.isnan(s).any() and s.min() >= 0 and s.max() <= 1 + 1e-9
    idx, val = r.top_k(queries, 3)
    assert not np.isnan(val).any()
    for q in queries:
        expl = r.explain(q, len(docs) - 1, n_terms=100)
        assert all(isinstance(w, str) and not math.isnan(c) for w, c in expl)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=0, max_size=5))
def test_fit_on_arbitrary_text_either_fits_or_raises_keyed_error(docs):
    try:
        r = TextRanker().fit(docs)
    except RankingError as err:
        assert err.key == "ranking.empty_corpus"
    else:
        assert not np.isnan(r.score(docs or [""])).any()


@pytest.mark.parametrize("seed", range(8))
def test_top_k_block_selection_is_exact_on_large_blocks(seed):
    # exercises the sampled-bound path (many columns) and its fallbacks: ties, zero rows
    from matching.topk import _top_k_dense

    rng = np.random.default_rng(seed)
    n_rows, n_cols, k = int(rng.integers(1, 30)), int(rng.choice([1500, 5000, 12000])), int(rng.integers(1, 25))
    block = np.round(rng.random((n_rows, n_cols)), int(rng.integers(1, 4)))
    block[rng.random(block.shape) < rng.random()] = 0.0
    block[0] = 0.0
    if n_rows > 1:
        block[1] = 0.0
        block[1, rng.integers(0, n_cols, 3)] = 0.7
    idx, val = _top_k_dense(block, k)
    ref = np.argsort(-block, axis=1, kind="stable")[:, :k]
    assert np.array_equal(idx, ref)
    assert np.array_equal(val, np.take_along_axis(block, ref, axis=1))


# --- transform: same matrix as the vectoriser's own transform ----------------------------------

def _assert_same_csr(a, b):
    a, b = a.tocsr(), b.tocsr()
    a.sort_indices()
    b.sort_indices()
    assert a.shape == b.shape
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert np.array_equal(a.data, b.data)  # bit for bit


@pytest.mark.parametrize("params", [{}, {"ngram_range": (1, 1), "sublinear_tf": False},
                                    {"min_df": 2, "max_df": 0.9, "smooth_idf": False}])
def test_transform_identical_to_vectorizer_on_demo_texts(params):
    from matching.demo import read_csv

    challenges = [challenge_text(c) for c in read_csv("challenges.csv")]
    teams = [team_text(t) for t in read_csv("teams.csv")]
    ranker = TextRanker(**params).fit(challenges)
    texts = teams + challenges + teams[:5] + ["", "the of and", "😀"]  # repeats and empties too
    _assert_same_csr(ranker.transform(texts), ranker.vectorizer_.transform(texts))


def test_transform_identical_to_vectorizer_on_generated_texts():
    from benchmarks.ranking_speed import TextGenerator

    gen = TextGenerator(3)
    ranker = TextRanker().fit(gen.challenges(300))
    texts = gen.profiles(400)
    _assert_same_csr(ranker.transform(texts), ranker.vectorizer_.transform(texts))


def _bilingual_and_hostile_texts():
    import csv
    from pathlib import Path

    from tests.test_textprep_equivalence import HOSTILE

    held = Path(__file__).resolve().parents[1] / "benchmarks" / "heldout_bilingual"
    texts = []
    for name in ("challenges.csv", "teams.csv"):
        with open(held / name, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                texts.append(" ".join(v for k, v in row.items() if k not in ("id", "lang")))
    return texts, HOSTILE


@pytest.mark.parametrize("params", [
    {}, {"ngram_range": (1, 1)}, {"ngram_range": (1, 3)}, {"ngram_range": (2, 2)},
    {"language": "en"}, {"language": "fr"}, {"stop_words": False}, {"use_glossary": False},
    {"stem": False, "fold_accents": False}, {"max_df": 0.3}, {"min_df": 2},
])
def test_transform_identical_to_vectorizer_on_bilingual_and_hostile_texts(params):
    """The numbered counting (Analyzer.count_matrix) and its fallback for glossary phrases,
    mixed languages and other n-gram ranges give the vectoriser's own matrix."""
    from matching.demo import read_csv

    held, hostile = _bilingual_and_hostile_texts()
    challenges = [challenge_text(c) for c in read_csv("challenges.csv")] + held[:40]
    ranker = TextRanker(**params).fit(challenges + hostile)
    texts = held + hostile + [team_text(t) for t in read_csv("teams.csv")] + held[:3] + hostile
    for _ in range(2):  # cold, then warm token tables and vocabulary index
        _assert_same_csr(ranker.transform(texts), ranker.vectorizer_.transform(texts))
    _assert_same_csr(ranker.transform(texts[:1]), ranker.vectorizer_.transform(texts[:1]))


def test_transform_after_the_token_tables_start_afresh():
    """Token tables dropped between fit and transform (a glossary reloaded, the size bound
    reached): the vocabulary index is rebuilt for the new tables."""
    from matching import textprep

    held, hostile = _bilingual_and_hostile_texts()
    ranker = TextRanker().fit(held)
    expected = ranker.vectorizer_.transform(held + hostile)
    _assert_same_csr(ranker.transform(held + hostile), expected)
    textprep._TABLES.clear()
    _assert_same_csr(ranker.transform(held + hostile), expected)
    old = textprep.TOKEN_CACHE_SIZE
    try:
        textprep.TOKEN_CACHE_SIZE = 10  # every call starts afresh
        _assert_same_csr(ranker.transform(held + hostile), expected)
        _assert_same_csr(ranker.transform(held[::-1]), ranker.vectorizer_.transform(held[::-1]))
    finally:
        textprep.TOKEN_CACHE_SIZE = old


def test_transform_from_many_threads_at_once():
    """Pages rank in threads: feature numbers given concurrently stay distinct."""
    from concurrent.futures import ThreadPoolExecutor

    from benchmarks.ranking_speed import TextGenerator
    from matching import textprep

    gen = TextGenerator(11)
    ranker = TextRanker().fit(gen.challenges(200))
    batches = [TextGenerator(100 + i).profiles(150) for i in range(8)]
    expected = [ranker.vectorizer_.transform(b) for b in batches]
    textprep._TABLES.clear()  # every thread meets new tokens at the same time
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(ranker.transform, batches))
    for g, e in zip(got, expected):
        _assert_same_csr(g, e)


def test_pickled_ranker_transforms_alike():
    import pickle

    held, hostile = _bilingual_and_hostile_texts()
    ranker = TextRanker().fit(held)
    ranker.transform(held)  # builds the vocabulary index, which is not pickled
    copy = pickle.loads(pickle.dumps(ranker))
    assert "_vocabulary_cache" not in copy.vectorizer_.analyzer.__dict__
    _assert_same_csr(copy.transform(held + hostile), ranker.transform(held + hostile))
