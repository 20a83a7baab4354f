"""Similarity ranking of challenges and team profiles (TF-IDF cosine over weighted fields).

The portal uses the defaults of :class:`TextRanker`; they were chosen on general principles
(sublinear term frequency, English and French stop words, accent folding, light stemming, a
bilingual glossary, word pairs) and measured on external data, see ``benchmarks/README.md``.

Typical use::

    ranker = TextRanker().fit([challenge_text(c) for c in challenges])   # cache this
    matches = rank_challenges_for_team(team, challenges, ranker=ranker, k=10)
    for m in matches:
        print(m.index, m.score, m.label, m.reasons)

This module never imports Streamlit.
"""
from __future__ import annotations

import bisect
import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer

from matching.textprep import Analyzer, _nfc, fold
from matching.topk import top_k_product

try:  # the routine sklearn.preprocessing.normalize(norm="l2") applies to CSR rows
    from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2 as _inplace_l2
except ImportError:  # pragma: no cover - then TextRanker.transform uses TfidfTransformer.transform
    _inplace_l2 = None

__all__ = [
    "CHALLENGE_FIELD_WEIGHTS",
    "TEAM_FIELD_WEIGHTS",
    "LABEL_THRESHOLDS",
    "MIN_REASON_SHARE",
    "Match",
    "RankingError",
    "Reason",
    "TextRanker",
    "challenge_text",
    "label_for",
    "rank_challenges_for_team",
    "rank_teams_for_challenge",
    "team_text",
]

# ---------------------------------------------------------------------------------------------
# Field weights: how many times each field is repeated in the text given to the ranker. With
# sublinear tf (1 + log tf) a field repeated twice weighs about 1.7x a field given once. Titles
# and the short keyword lists (themes, skills, interests) say what the text is about more densely
# than free text, so they count more.
CHALLENGE_FIELD_WEIGHTS: dict[str, int] = {"title": 2, "themes": 2, "problem": 1, "outcomes": 1}
# A team's name is not part of its text: a name says nothing about what the team can do, and
# "Open Door Collective" would otherwise match every challenge that says "open" or "door".
TEAM_FIELD_WEIGHTS: dict[str, int] = {"skills": 2, "interests": 2, "past_work": 1}

# Fields in the order a reason prefers them when a term occurs in several: the short keyword
# lists first (a shared skill or theme is the clearest reason), free text last.
TEAM_REASON_FIELDS: tuple[str, ...] = ("skills", "interests", "past_work")
CHALLENGE_REASON_FIELDS: tuple[str, ...] = ("themes", "title", "problem", "outcomes")

# A term is shown as a reason for a match only when it carries at least this share of the
# match's score (its contribution q_i * d_i, after single words are credited to the shared
# phrase containing them, divided by the cosine). Below it are words that happen to occur on
# both sides ("design", "testing", "process", "information", "use", "time") but do not explain
# why the match ranks where it does. On the bundled demo data (each team's top 10 challenges,
# at most 5 reasons each) a tenth of the score leaves 2 to 4 reasons for 85% of the matches,
# one for 6% and never none (5 for 54% without a cut). The contributions of the reasons shown
# do not add up to the score; TextRanker.explain, with no cut by default, still gives all terms.
MIN_REASON_SHARE = 0.10

# Label thresholds on the cosine score (lower bounds, checked in order). Checked on the bundled
# demo data (41 challenges x 44 teams, EN/FR): each team's best challenge is "strong" (28 of 44)
# or "good" (15), 1 "fair"; over all pairs about 2% strong, 6% good, 21% fair, 72% weak (teams
# for a challenge: 4%, 11%, 26%, 58%). (Before team names left the team's text and word pairs
# stopped spanning stop words, scores were a little lower: 20 strong, 22 good, 2 fair.) Cosine scores shrink as texts get longer and more varied,
# so re-check these if profiles or challenges change much.
LABEL_THRESHOLDS: tuple[tuple[str, float], ...] = (
    ("strong", 0.25),
    ("good", 0.15),
    ("fair", 0.08),
)
LABEL_WEAK = "weak"



try:  # the portal's base error, so pages that catch PortalError also catch ranking errors
    from matching.errors import PortalError as _PortalBase
except Exception:  # pragma: no cover - keeps this module usable on its own
    _PortalBase = Exception


class RankingError(_PortalBase, ValueError):
    """Input the ranker cannot work with (empty corpus, empty profile, mismatched ranker).

    A :class:`ValueError` (and a ``matching.errors.PortalError``) with a message ``key``.

    Parameters
    ----------
    key : str
        Message key for translation, e.g. ``"ranking.empty_corpus"``.
    message : str
        English message.
    """

    def __init__(self, key: str, message: str) -> None:
        if _PortalBase is Exception:
            Exception.__init__(self, message)
            self.params = {}
        else:
            _PortalBase.__init__(self, key, message)
        self.key = key
        self.message = message

    def __str__(self) -> str:
        return self.message


def _empty_corpus() -> RankingError:
    return RankingError(
        "ranking.empty_corpus",
        "There is nothing to rank: the list is empty or none of its texts contain words.",
    )


def _empty_profile() -> RankingError:
    return RankingError(
        "ranking.empty_profile",
        "The profile has no words to match on: add skills, interests or a description.",
    )


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from pandas
        return ""
    return str(value)


class TextRanker(BaseEstimator):
    """TF-IDF cosine ranker for short bilingual (EN/FR) texts, in scikit-learn style.

    Parameters
    ----------
    sublinear_tf : bool, default=True
        Use ``1 + log(tf)`` instead of raw term counts.
    ngram_range : tuple of int, default=(1, 2)
        Range of n-grams of consecutive stems (within a sentence or list item).
    min_df : int or float, default=1
        Ignore terms in fewer documents than this (count or proportion).
    max_df : int or float, default=1.0
        Ignore terms in more documents than this (count or proportion).
    stop_words : bool, default=True
        Remove English and French stop words (by detected language).
    fold_accents : bool, default=True
        Strip accents (``é`` -> ``e``).
    stem : bool, default=True
        Light Snowball stemming, English or French by detected language.
    use_glossary : bool, default=True
        Map French domain terms to their English equivalent (``data/glossary_en_fr.csv``).
    language : {None, "en", "fr", "bilingual"}, default=None
        Declared language of all texts; ``None``/``"bilingual"`` detect it per sentence.
    smooth_idf : bool, default=True
        Add one to document frequencies, as scikit-learn does.

    Attributes
    ----------
    vectorizer_ : sklearn.feature_extraction.text.TfidfVectorizer
        The fitted vectoriser (its analyser is a :class:`matching.textprep.Analyzer`).
    doc_matrix_ : scipy.sparse.csr_matrix of shape (n_documents, n_features)
        TF-IDF rows of the fitted documents, L2-normalised (empty documents are zero rows).
    vocabulary_ : dict of str to int
        Feature (stem or stem n-gram) to column.
    feature_names_ : ndarray of str
        Column to feature.
    documents_ : list of str
        The fitted texts (used by :meth:`explain` to show words rather than stems).
    n_documents_ : int
        Number of fitted documents.

    Examples
    --------
    >>> r = TextRanker().fit(["Accessible forms for seniors", "Fisheries data on the coast"])
    >>> r.top_k(["accessibility of online forms"], k=1)[0].tolist()
    [[0]]
    """

    def __init__(
        self,
        *,
        sublinear_tf: bool = True,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int | float = 1,
        max_df: int | float = 1.0,
        stop_words: bool = True,
        fold_accents: bool = True,
        stem: bool = True,
        use_glossary: bool = True,
        language: str | None = None,
        smooth_idf: bool = True,
    ) -> None:
        self.sublinear_tf = sublinear_tf
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.stop_words = stop_words
        self.fold_accents = fold_accents
        self.stem = stem
        self.use_glossary = use_glossary
        self.language = language
        self.smooth_idf = smooth_idf

    # -- fitting ---------------------------------------------------------------------------
    def _make_analyzer(self) -> Analyzer:
        return Analyzer(
            language=self.language,
            stop_words=self.stop_words,
            fold_accents=self.fold_accents,
            stem=self.stem,
            use_glossary=self.use_glossary,
            ngram_range=tuple(self.ngram_range),
        )

    def fit(self, documents: Iterable[Any], y: Any = None) -> "TextRanker":
        """Learn the vocabulary and IDF of ``documents`` and store their normalised vectors.

        Parameters
        ----------
        documents : iterable of str
            The texts to rank (e.g. :func:`challenge_text` of each challenge). ``None`` and
            non-strings are treated as text.
        y : ignored

        Returns
        -------
        self : TextRanker

        Raises
        ------
        RankingError
            ``key == "ranking.empty_corpus"`` when there are no documents or none has a word
            left after normalisation.
        """
        if isinstance(documents, str):
            documents = [documents]
        docs = [_as_text(d) for d in documents]
        if not docs:
            raise _empty_corpus()
        vectorizer = TfidfVectorizer(
            analyzer=self._make_analyzer(),
            sublinear_tf=self.sublinear_tf,
            min_df=self.min_df,
            max_df=self.max_df,
            smooth_idf=self.smooth_idf,
            norm="l2",
            dtype=np.float64,
        )
        try:
            matrix = vectorizer.fit_transform(docs)
        except ValueError as exc:  # "empty vocabulary", "no terms remain" ...
            raise _empty_corpus() from exc
        self.vectorizer_ = vectorizer
        self.doc_matrix_ = sp.csr_matrix(matrix, dtype=np.float64)
        self.doc_matrix_.sort_indices()
        self._doc_matrix_t = self.doc_matrix_.T.tocsr()
        self.vocabulary_ = vectorizer.vocabulary_
        self.feature_names_ = vectorizer.get_feature_names_out()
        self.documents_ = docs
        self.n_documents_ = len(docs)
        self._surface_cache = {}
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "doc_matrix_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("This TextRanker is not fitted yet; call fit(documents) first.")

    def __setstate__(self, state):  # keep old pickles usable
        super().__setstate__(state)
        if "doc_matrix_" in state and "_doc_matrix_t" not in state:
            self._doc_matrix_t = self.doc_matrix_.T.tocsr()

    # -- scoring ---------------------------------------------------------------------------
    def transform(self, queries: Iterable[Any] | Any) -> sp.csr_matrix:
        """Vectorise queries in the fitted space (L2-normalised rows).

        Parameters
        ----------
        queries : str, iterable of str, or sparse matrix
            A single string is one query. A sparse matrix is returned as CSR unchanged (it must
            come from :meth:`transform` of this ranker).

        Returns
        -------
        scipy.sparse.csr_matrix of shape (n_queries, n_features)
        """
        self._check_fitted()
        if sp.issparse(queries):
            q = sp.csr_matrix(queries, dtype=np.float64)
            if q.shape[1] != self.doc_matrix_.shape[1]:
                raise ValueError(
                    f"query matrix has {q.shape[1]} features, ranker has {self.doc_matrix_.shape[1]}"
                )
            return q
        if isinstance(queries, str):
            queries = [queries]
        texts = [_as_text(q) for q in queries]
        if not texts:
            return sp.csr_matrix((0, self.doc_matrix_.shape[1]), dtype=np.float64)
        q = sp.csr_matrix(self._vectorize(texts), dtype=np.float64)
        q.sort_indices()
        return q

    def _vectorize(self, texts: list[str]) -> sp.csr_matrix:
        """``self.vectorizer_.transform(texts)``, the same matrix bit for bit, with less overhead.

        The counts come from :meth:`matching.textprep.Analyzer.count_matrix` (each distinct
        text analysed once, features numbered rather than spelled out, columns found with NumPy
        for all texts at once) and get the vectoriser's own TF-IDF step (the steps of
        ``TfidfTransformer.transform`` on its fitted ``idf_``, then scikit-learn's in-place L2
        row normalisation), as ``TfidfVectorizer.transform`` does after its own counting.
        Falls back to ``vectorizer_.transform`` if that step is not there.
        """
        v = self.vectorizer_
        tfidf = getattr(v, "_tfidf", None)
        if (tfidf is None or getattr(v, "binary", False)
                or not callable(getattr(v.analyzer, "count_matrix", None))):
            return v.transform(texts)
        counts_matrix = v.analyzer.count_matrix(texts, v.vocabulary_, dtype=v.dtype)
        if (_inplace_l2 is None or tfidf.norm != "l2" or v.dtype != np.float64
                or not hasattr(tfidf, "idf_")):
            return tfidf.transform(counts_matrix, copy=False)
        # TfidfTransformer.transform's own steps, without its input validation (about 1 ms a
        # call, most of the cost of ranking one profile): same operations, same order
        x = counts_matrix
        if tfidf.sublinear_tf:
            np.log(x.data, x.data)
            x.data += 1.0
        x.data *= tfidf.idf_[x.indices]
        _inplace_l2(x)
        return x

    def score(self, queries: Iterable[Any] | Any) -> np.ndarray:
        """Cosine similarity of each query with each fitted document.

        Parameters
        ----------
        queries : str, iterable of str, or sparse matrix from :meth:`transform`

        Returns
        -------
        ndarray of shape (n_queries, n_documents)
            Values in [0, 1]; an empty query (or one sharing no term) gives a row of zeros.
            Never NaN.
        """
        q = self.transform(queries)
        return np.asarray((q @ self._doc_matrix_t).toarray(), dtype=np.float64)

    def top_k(
        self,
        queries: Iterable[Any] | Any,
        k: int = 10,
        *,
        chunk_size: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best documents for each query, without building all scores at once.

        :func:`matching.topk.top_k_product`: ``sparse_dot_topn.sp_matmul_topn`` keeps a few
        more than ``k`` entries per query row of the sparse product (blocks of ``chunk_size``
        rows), which are then sorted exactly. Ties are broken by the lower document index, so
        the result equals a stable descending sort of :meth:`score`.

        Parameters
        ----------
        queries : str, iterable of str, or sparse matrix from :meth:`transform`
        k : int, default=10
            Number of documents per query; capped at the number of documents.
        chunk_size : int, optional
            Queries per block.

        Returns
        -------
        indices : ndarray of int64, shape (n_queries, min(k, n_documents))
        scores : ndarray of float64, same shape
            Sorted by descending score, then ascending index.
        """
        return top_k_product(self.transform(queries), self._doc_matrix_t, k, chunk_size=chunk_size,
                             nonnegative=True)  # TF-IDF weights are never negative

    # -- explanation -----------------------------------------------------------------------
    def explain(self, query: Any, document_index: int, n_terms: int = 5, *,
                min_share: float = 0.0) -> list[tuple[str, float]]:
        """Terms that contributed most to the score of ``query`` against one document.

        The contribution of a term is ``q_i * d_i`` (normalised TF-IDF weights of the query and
        the document); the contributions of all shared terms add up to the score.

        Parameters
        ----------
        query : str
        document_index : int
            Row of the fitted documents.
        n_terms : int, default=5
            How many terms to return (all shared terms if larger).
        min_share : float, default=0.0
            Leave out terms contributing less than this share of the score (the ranked matches
            use :data:`MIN_REASON_SHARE`); with 0 every shared term is returned, so the
            contributions add up to the score.

        Returns
        -------
        list of (str, float)
            ``(words, contribution)`` by decreasing contribution (ties: alphabetical). The words
            are as written in the texts (not stems); when a term matched only through the
            bilingual glossary both forms are shown, e.g. ``"accessibility / accessibilité"``.
        """
        self._check_fitted()
        n_docs = self.doc_matrix_.shape[0]
        if not -n_docs <= int(document_index) < n_docs:
            raise IndexError(f"document_index {document_index} out of range for {n_docs} documents")
        qv = self.transform([query])
        terms = self._shared_terms(qv, int(document_index) % n_docs, n_terms, min_share)
        if not terms:
            return []
        analyzer = self.vectorizer_.analyzer
        q_surf = _surface_counts(analyzer, query)
        d_surf = self._document_surfaces(int(document_index) % n_docs)
        return [(_label_feature(name, q_surf, d_surf, analyzer), c) for name, c in terms]

    def _shared_terms(self, qv, document_index: int, n_terms: int, min_share: float = 0.0
                      ) -> list[tuple[str, float]]:
        """(feature, contribution) of the terms the query (row 0 of ``qv``) shares with one
        document, best first (ties: alphabetical), words credited to the phrases containing them
        (:func:`_fold_words_into_phrases`), those below ``min_share`` of the score left out."""
        dv = self.doc_matrix_[document_index]
        common, qi, di = np.intersect1d(qv.indices, dv.indices, assume_unique=True, return_indices=True)
        if common.size == 0 or n_terms <= 0:
            return []
        contrib = qv.data[qi] * dv.data[di]
        floor = float(min_share) * float(contrib.sum()) if min_share > 0 else 0.0
        names = self.feature_names_[common]
        contrib = _fold_words_into_phrases(names, contrib)
        order = [j for j in sorted(range(common.size), key=lambda j: (-contrib[j], names[j]))
                 if contrib[j] > 0 and contrib[j] >= floor][: int(n_terms)]
        return [(str(names[j]), float(contrib[j])) for j in order]

    def _document_surfaces(self, document_index: int) -> dict[str, tuple[str, int]]:
        cache = self.__dict__.setdefault("_surface_cache", {})
        d_surf = cache.get(document_index)
        if d_surf is None:
            d_surf = _surface_counts(self.vectorizer_.analyzer, self.documents_[document_index])
            if len(cache) >= _SURFACE_CACHE_SIZE:
                cache.clear()
            cache[document_index] = d_surf
        return d_surf


def _fold_words_into_phrases(names: np.ndarray, contrib: np.ndarray) -> np.ndarray:
    """Credit a shared word to the best shared phrase containing it ("digital" and "inclusion"
    to "digital inclusion"), so a reason is listed once; the contributions still sum to the score."""
    contrib = contrib.astype(float).copy()
    phrases = [j for j, name in enumerate(names) if " " in name]
    if not phrases:
        return contrib
    best_phrase: dict[str, int] = {}
    for j in sorted(phrases, key=lambda j: -contrib[j]):
        for word in names[j].split(" "):
            best_phrase.setdefault(word, j)
    for j, name in enumerate(names):
        if " " not in name and name in best_phrase:
            contrib[best_phrase[name]] += contrib[j]
            contrib[j] = 0.0
    return contrib


_SURFACE_CACHE_SIZE = 1024  # documents whose surface forms are kept for explanations


def _surface_counts(analyzer: Analyzer, text: Any) -> dict[str, tuple[str, int]]:
    """feature -> (most frequent surface form in ``text``, its count)."""
    counts: dict[str, Counter] = {}
    for feat, surf in analyzer.analyze_with_surface(text):
        counts.setdefault(feat, Counter())[surf] += 1
    return {f: c.most_common(1)[0] for f, c in counts.items()}


@functools.lru_cache(maxsize=32)
def _plain_analyzer(n: int, params: tuple) -> Analyzer:
    language, stop_words, fold_accents, stem = params
    return Analyzer(language=language, stop_words=stop_words, fold_accents=fold_accents, stem=stem,
                    use_glossary=False, ngram_range=(n, n))


def _label_feature(feature: str, q_surf: dict[str, tuple[str, int]], d_surf: dict[str, tuple[str, int]],
                   analyzer: Analyzer) -> str:
    """Words to show for a shared feature: as written on either side; both sides when they are
    different words matched through the glossary (e.g. "seniors / aînés")."""
    q, d = q_surf.get(feature), d_surf.get(feature)
    if not q and not d:
        return feature
    if not q or not d:
        return (q or d)[0]
    (q_top, q_n), (d_top, d_n) = q, d
    best = q_top if q_n >= d_n else d_top
    if fold(q_top) == fold(d_top):
        return best
    plain = _plain_analyzer(feature.count(" ") + 1, (analyzer.language, analyzer.stop_words,
                                                    analyzer.fold_accents, analyzer.stem))
    if feature in plain(q_top) and feature in plain(d_top):
        return best  # same word family in the same language ("accessible" ~ "accessibility")
    return f"{q_top} / {d_top}"  # matched through the glossary: show both languages


# ---------------------------------------------------------------------------------------------
# Weighted texts


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        parts = value.replace("\n", ";").split(";")
        return [p.strip() for p in parts if p.strip()]
    if isinstance(value, float) and value != value:
        return []
    try:
        return [_as_text(v).strip() for v in value if _as_text(v).strip()]
    except TypeError:
        return [_as_text(value)]


def _get(record: Mapping[str, Any] | None, key: str) -> Any:
    if record is None:
        return None
    try:
        return record.get(key)
    except AttributeError:
        return getattr(record, key, None)


def _weighted_fields(parts: Sequence[tuple[str, list[str], int]]) -> tuple[str, list[str]]:
    """The ranked text of ``(field, items, weight)`` parts, and the field of each of its lines."""
    lines: list[str] = []
    fields: list[str] = []
    for name, items, weight in parts:
        for _ in range(max(0, int(weight))):
            for item in items:
                if item:
                    lines.append(item)
                    fields.extend([name] * (item.count("\n") + 1))
    # One item per line: n-grams never join two fields or two list items.
    return "\n".join(lines), fields


def _weighted(parts: Sequence[tuple[str, list[str], int]]) -> str:
    return _weighted_fields(parts)[0]


def _challenge_parts(challenge: Mapping[str, Any]) -> list[tuple[str, list[str], int]]:
    w = CHALLENGE_FIELD_WEIGHTS
    return [
        ("title", [_as_text(_get(challenge, "title")).strip()], w["title"]),
        ("themes", _as_list(_get(challenge, "themes")), w["themes"]),
        ("problem", [_as_text(_get(challenge, "problem")).strip()], w["problem"]),
        ("outcomes", [_as_text(_get(challenge, "outcomes")).strip()], w["outcomes"]),
    ]


def _team_parts(team: Mapping[str, Any]) -> list[tuple[str, list[str], int]]:
    w = TEAM_FIELD_WEIGHTS
    return [
        ("skills", _as_list(_get(team, "skills")), w["skills"]),
        ("interests", _as_list(_get(team, "interests")), w["interests"]),
        ("past_work", [_as_text(_get(team, "past_work")).strip()], w["past_work"]),
    ]


def challenge_text(challenge: Mapping[str, Any]) -> str:
    """Text of a challenge for ranking, fields repeated by :data:`CHALLENGE_FIELD_WEIGHTS`.

    Parameters
    ----------
    challenge : Mapping
        Keys ``title``, ``problem``, ``outcomes``, ``themes`` (list of str, or a ``;``-separated
        string), ``language``; missing keys and ``None`` count as empty.

    Returns
    -------
    str
    """
    return _weighted(_challenge_parts(challenge))


def team_text(team: Mapping[str, Any]) -> str:
    """Text of a team profile for ranking, fields repeated by :data:`TEAM_FIELD_WEIGHTS`.

    Parameters
    ----------
    team : Mapping
        Keys ``skills`` and ``interests`` (lists of str, or ``;``-separated strings),
        ``past_work``, ``language``; missing keys and ``None`` count as empty. The team's
        ``name`` is not used: a name is not expertise.

    Returns
    -------
    str
    """
    return _weighted(_team_parts(team))


def label_for(score: float) -> str:
    """Plain label of a similarity score.

    Parameters
    ----------
    score : float
        Cosine similarity in [0, 1].

    Returns
    -------
    str
        ``"strong"``, ``"good"``, ``"fair"`` or ``"weak"`` by :data:`LABEL_THRESHOLDS`
        (NaN and negative scores are ``"weak"``).
    """
    try:
        s = float(score)
    except (TypeError, ValueError):
        return LABEL_WEAK
    if s != s:
        return LABEL_WEAK
    for label, lower in LABEL_THRESHOLDS:
        if s >= lower:
            return label
    return LABEL_WEAK


# ---------------------------------------------------------------------------------------------
# High-level ranking


@dataclass(frozen=True)
class Reason:
    """One reason for a match: a term both sides share, in the words each side wrote.

    Attributes
    ----------
    term : str
        The words shown for it in :attr:`Match.reasons` (lower case; both forms, "seniors /
        aînés", when the sides wrote different words matched through the glossary).
    contribution : float
        Its part of the score.
    share : float
        ``contribution / score``; at least :data:`MIN_REASON_SHARE`.
    team_words, challenge_words : str
        The term as written in the team's profile and in the challenge: a verbatim part of
        ``team_field`` / ``challenge_field`` (case and hyphens kept), e.g. ``"plain language"``
        and ``"langage clair"``.
    team_field : str
        ``"skills"``, ``"interests"`` or ``"past_work"``.
    challenge_field : str
        ``"themes"``, ``"title"``, ``"problem"`` or ``"outcomes"``.
    viewer : str
        The side the list was ranked for, whose words are "yours": ``"team"`` (challenges
        ranked for a team) or ``"challenge"`` (teams ranked for a challenge).
    """

    term: str
    contribution: float
    share: float
    team_words: str
    team_field: str
    challenge_words: str
    challenge_field: str
    viewer: str

    @property
    def your_words(self) -> str:
        return self.team_words if self.viewer == "team" else self.challenge_words

    @property
    def your_field(self) -> str:
        return self.team_field if self.viewer == "team" else self.challenge_field

    @property
    def their_words(self) -> str:
        return self.challenge_words if self.viewer == "team" else self.team_words

    @property
    def their_field(self) -> str:
        return self.challenge_field if self.viewer == "team" else self.team_field


@dataclass(frozen=True)
class Match:
    """One ranked item.

    Attributes
    ----------
    index : int
        Position of the item in the sequence that was ranked.
    score : float
        Cosine similarity in [0, 1].
    label : str
        :func:`label_for` of the score.
    reasons : list of (str, float)
        The terms that contributed most (at most five, each at least :data:`MIN_REASON_SHARE`
        of the score), with their contributions; the words are :attr:`Reason.term`.
    reason_pairs : list of Reason
        The same terms with the words and field of each side.
    """

    index: int
    score: float
    label: str
    reasons: list[tuple[str, float]] = field(default_factory=list)
    reason_pairs: list[Reason] = field(default_factory=list)


_SIDES = {  # side -> (its parts, the fields a reason prefers, in order)
    "team": (_team_parts, TEAM_REASON_FIELDS),
    "challenge": (_challenge_parts, CHALLENGE_REASON_FIELDS),
}


def _field_surfaces(analyzer: Analyzer, record: Mapping[str, Any], side: str
                    ) -> dict[str, tuple[str, str, int]]:
    """feature -> (words as written, field, count) for one team or challenge.

    Of the fields a feature occurs in, the first in the side's preferred order is kept, and in
    it the most frequent way of writing it (case-insensitively; shown as first written).
    """
    parts, order = _SIDES[side]
    text, line_fields = _weighted_fields(parts(record))
    rank = {name: n for n, name in enumerate(order)}
    raw = _nfc(text)
    newlines = [n for n, ch in enumerate(raw) if ch == "\n"]
    found: dict[str, tuple[int, Counter, dict[str, str]]] = {}
    for feat, surface, start in analyzer.analyze_with_offsets(text):
        line = bisect.bisect_left(newlines, start)
        name = line_fields[line] if line < len(line_fields) else order[-1]
        r = rank.get(name, len(order))
        best = found.get(feat)
        if best is None or r < best[0]:
            best = found[feat] = (r, Counter(), {})
        if r == best[0]:
            key = surface.casefold()
            best[1][key] += 1
            best[2].setdefault(key, surface)
    out = {}
    for feat, (r, counts, written) in found.items():
        key, n = counts.most_common(1)[0]
        out[feat] = (written[key], order[r] if r < len(order) else order[-1], n)
    return out


_REASON_CACHE_SIZE = 2048  # teams or challenges whose words are kept for reasons


def _cached_surfaces(ranker: TextRanker, record: Mapping[str, Any], side: str, text: str):
    cache = ranker.__dict__.setdefault("_field_surface_cache", {})
    key = (side, text)
    value = cache.get(key)
    if value is None:
        value = _field_surfaces(ranker.vectorizer_.analyzer, record, side)
        if len(cache) >= _REASON_CACHE_SIZE:
            cache.clear()
        cache[key] = value
    return value


def _reasons(ranker: TextRanker, qv, score: float, document_index: int, query_side: str,
             q_surf: dict, doc: Mapping[str, Any], doc_text: str, n_reasons: int
             ) -> tuple[list[tuple[str, float]], list[Reason]]:
    """The match's reasons (term, contribution) and the same as :class:`Reason`."""
    terms = ranker._shared_terms(qv, document_index, n_reasons, MIN_REASON_SHARE)
    if not terms:
        return [], []
    doc_side = "challenge" if query_side == "team" else "team"
    d_surf = _cached_surfaces(ranker, doc, doc_side, doc_text)
    analyzer = ranker.vectorizer_.analyzer
    reasons, pairs = [], []
    for name, contribution in terms:
        q = q_surf.get(name, (name, "", 0))
        d = d_surf.get(name, (name, "", 0))
        label = _label_feature(name, {name: (q[0].lower(), q[2])}, {name: (d[0].lower(), d[2])}, analyzer)
        team, challenge = (q, d) if query_side == "team" else (d, q)
        reasons.append((label, contribution))
        pairs.append(Reason(term=label, contribution=contribution, share=contribution / score,
                            team_words=team[0], team_field=team[1], challenge_words=challenge[0],
                            challenge_field=challenge[1], viewer=query_side))
    return reasons, pairs


def _rank(query: Mapping[str, Any], query_side: str, docs: Sequence[Mapping[str, Any]],
          ranker: TextRanker | None, k: int | None, n_reasons: int) -> list[Match]:
    doc_side = "challenge" if query_side == "team" else "team"
    query_text = _weighted(_SIDES[query_side][0](query))
    doc_texts = [_weighted(_SIDES[doc_side][0](d)) for d in docs]
    if not doc_texts:
        raise _empty_corpus()
    if ranker is None:
        ranker = TextRanker().fit(doc_texts)
    elif not hasattr(ranker, "doc_matrix_"):
        ranker.fit(doc_texts)
    elif ranker.doc_matrix_.shape[0] != len(doc_texts):
        raise RankingError(
            "ranking.ranker_mismatch",
            f"The ranker was fitted on {ranker.doc_matrix_.shape[0]} texts but "
            f"{len(doc_texts)} were given; refit it.",
        )
    if not ranker.vectorizer_.analyzer(query_text):
        raise _empty_profile()
    n = len(doc_texts) if k is None else max(0, min(int(k), len(doc_texts)))
    qv = ranker.transform([query_text])
    idx, val = ranker.top_k(qv, n)
    q_surf = _field_surfaces(ranker.vectorizer_.analyzer, query, query_side)
    matches = []
    for i, s in zip(idx[0], val[0]):
        i, s = int(i), float(s)
        reasons, pairs = (_reasons(ranker, qv, s, i, query_side, q_surf, docs[i], doc_texts[i], n_reasons)
                          if s > 0 else ([], []))
        matches.append(Match(index=i, score=s, label=label_for(s), reasons=reasons, reason_pairs=pairs))
    return matches


def rank_challenges_for_team(
    team: Mapping[str, Any],
    challenges: Sequence[Mapping[str, Any]],
    *,
    ranker: TextRanker | None = None,
    k: int | None = None,
) -> list[Match]:
    """Rank challenges for one team, best first.

    Parameters
    ----------
    team : Mapping
        See :func:`team_text`.
    challenges : sequence of Mapping
        See :func:`challenge_text`.
    ranker : TextRanker, optional
        Already fitted on ``[challenge_text(c) for c in challenges]`` (in that order) to avoid
        refitting; an unfitted ranker is fitted; ``None`` fits a default one.
    k : int, optional
        Number of matches to return (all by default).

    Returns
    -------
    list of Match
        ``index`` is the position in ``challenges``; sorted by score, ties by index.

    Raises
    ------
    RankingError
        ``"ranking.empty_corpus"`` (no challenge with words), ``"ranking.empty_profile"`` (no
        word in the team profile), ``"ranking.ranker_mismatch"`` (``ranker`` fitted on another
        number of challenges).
    """
    return _rank(team, "team", challenges, ranker, k, n_reasons=5)


def rank_teams_for_challenge(
    challenge: Mapping[str, Any],
    teams: Sequence[Mapping[str, Any]],
    *,
    ranker: TextRanker | None = None,
    k: int | None = None,
) -> list[Match]:
    """Rank teams for one challenge, best first.

    Parameters
    ----------
    challenge : Mapping
        See :func:`challenge_text`.
    teams : sequence of Mapping
        See :func:`team_text`.
    ranker : TextRanker, optional
        Already fitted on ``[team_text(t) for t in teams]`` (in that order).
    k : int, optional
        Number of matches to return (all by default).

    Returns
    -------
    list of Match
        ``index`` is the position in ``teams``.

    Raises
    ------
    RankingError
        ``"ranking.empty_corpus"`` (no team with words), ``"ranking.empty_profile"`` (no word
        in the challenge), ``"ranking.ranker_mismatch"``.
    """
    return _rank(challenge, "challenge", teams, ranker, k, n_reasons=5)
