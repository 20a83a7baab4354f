"""Text normalisation shared by challenges and team profiles (English and French).

The pipeline applied by :class:`Analyzer` to one text is:

1. Unicode NFC + lower-case; the text is cut into *segments* at sentence and list punctuation
   (``. ! ? ; : , •`` and line breaks) so that n-grams never span two list items or sentences.
2. Tokenisation into runs of Unicode letters/digits; elisions are split (``l'accessibilité`` ->
   ``l`` + ``accessibilité``).
3. Language of each segment: the declared language (``"en"``/``"fr"``) or, for ``None`` /
   ``"bilingual"``, a cheap stop-word count (:func:`detect_language`) with the whole text's
   language as fallback for short segments.
4. Accent folding (NFKD, combining marks dropped) for comparisons; stop words of the segment's
   language, one-letter tokens and pure numbers are dropped.
5. Bilingual glossary (``data/glossary_en_fr.csv``): known French terms and phrases are replaced
   by the English term, so ``conception de services`` and ``service design`` yield the same
   features.
6. Light stemming (Snowball, English or French by segment language), then accent folding.
7. Features: the stems plus (optionally) the n-grams of stems whose words follow each other in
   the text with nothing removed between them (no stop word, number, one-letter word, nor
   punctuation other than a hyphen or apostrophe inside a word): "blind or low-vision testers"
   gives "low vision" and "vision tester" but not "blind low". Each feature can be returned with
   its *surface form*, the part of the text it came from, to explain matches in the words
   people wrote.

Every step is total: any ``str`` (emoji, right-to-left scripts, 100 kB, empty, only stop words,
only numbers) gives a (possibly empty) list of features and never raises.
"""
from __future__ import annotations

import csv
import functools
import itertools
import re
import threading
import unicodedata
from collections import Counter
from operator import itemgetter
from pathlib import Path
from typing import Iterable, Mapping, NamedTuple, Sequence

import numpy as np
import scipy.sparse as sp
import snowballstemmer

__all__ = [
    "ENGLISH_STOP_WORDS",
    "FRENCH_STOP_WORDS",
    "GLOSSARY_PATH",
    "Analyzer",
    "detect_language",
    "fold",
    "load_glossary",
    "normalize",
    "stem",
    "tokenize",
]

GLOSSARY_PATH = Path(__file__).resolve().parent.parent / "data" / "glossary_en_fr.csv"

# scikit-learn's English list, minus words that are content words in this domain
# ("fire" for wildfires, "bill" for legislation, "system", "interest"), plus contraction stubs.
try:  # pragma: no cover - scikit-learn is a hard dependency of ranking.py anyway
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as _SK_EN
except Exception:  # pragma: no cover
    _SK_EN = frozenset()

ENGLISH_STOP_WORDS: frozenset[str] = frozenset(
    (set(_SK_EN) - {"bill", "fire", "system", "interest", "computer"})
    | {
        "don", "doesn", "didn", "isn", "aren", "wasn", "weren", "won", "wouldn", "shouldn",
        "couldn", "hasn", "haven", "hadn", "ll", "ve", "re", "s", "t", "d", "m", "also",
        "within", "among", "upon", "via", "etc",
    }
)

_FRENCH = """
a à ai aie aient aies ait alors as au aucun aucune aupres auquel aura aurai auraient aurais
aurait auras aurez auriez aurions aurons auront aussi autant autre autres aux auxquelles
auxquels avaient avais avait avant avec avez aviez avions avoir avons ayant ayez ayons c ça
car ce ceci cela celà celle celles celui cependant certain certaine certaines certains ces cet
cette ceux chacun chacune chaque chez ci comme comment d dans de dedans dehors depuis des
desquelles desquels dessous dessus deux devrait doit doivent donc dont du duquel durant dès
déjà e elle elles en encore entre es est et étaient étais était étant etc été étiez
étions être eu eue eues eûmes eurent eus eusse eussent eusses eussiez eussions eut eût eûtes
eux fait faites fois font furent fus fusse fussent fusses fussiez fussions fut fût fûtes hors
ici il ils j je jusqu jusque l la là laquelle le lequel les lesquelles lesquels leur leurs
lors lorsque lui m ma mais me même mêmes mes moi moins mon n ne ni nos notre nôtre nôtres nous
on ont ou où par parce parmi pas peu peut peuvent plupart pour pourquoi pourrait puis puisque
qu quand que quel quelle quelles quels qui quoi s sa sans se selon sera serai seraient serais
serait seras serez seriez serions serons seront ses si sien sienne siennes siens soi soient
sois soit sommes son sont sous soyez soyons suis sur t ta tandis te tel telle telles tels tes
toi ton tous tout toute toutes très tu un une unes uns vers via voici voilà vos votre vôtre
vôtres vous y afin ainsi après cas cet celle-ci dont été faire fais faisons lesquels chacun
beaucoup trop tant tellement davantage plusieurs quelque quelques quiconque autrui
ceux-ci ceux-là celles-ci celles-là etre avoir aupres jusqua lorsqu puisqu quoique
""".split()
FRENCH_STOP_WORDS: frozenset[str] = frozenset(_FRENCH)

# Segment boundaries: sentence and list punctuation, bullets, line breaks.
_SEGMENT_RE = re.compile(r"[.!?;:,\n\r\t\u2022\u00b7|()\[\]{}\u2026\u3002]+")
# Runs of Unicode letters or digits (no underscore); apostrophes/hyphens split tokens.
_TOKEN_RE = re.compile(r"[^\W_]+")
# What may stand between two words of one phrase (word pair, glossary phrase): spaces, or a
# hyphen or apostrophe inside a compound or elision ("low-vision", "main-d'œuvre", "l'accès").
# Anything else (a slash, a dash between spaces, quotes, brackets, "&") ends the phrase.
_JOINER_RE = re.compile(r"[^\S\n\r]+|[-\u2010\u2011'\u2019]")
# One split gives the tokens (runs of _TOKEN_RE) and what stands between them (kept, captured).
_GAPS_RE = re.compile(r"([\W_]+)")
# What a gap between two tokens is (see _gap_kind).
_JOINED, _BREAK, _SEGMENT = 0, 1, 2

MIN_TOKEN_LENGTH = 2  # folded tokens shorter than this are dropped
_GLOSSARY_MAX_WORDS = 5  # longest glossary phrase (in content words) that is looked up

_STEMMERS = {
    "en": snowballstemmer.stemmer("english"),
    "fr": snowballstemmer.stemmer("french"),
}


def normalize(text: object) -> str:
    """Return ``text`` as NFC lower-case ``str`` (``None`` and non-strings are tolerated).

    Parameters
    ----------
    text : object
        Any value; ``None`` gives ``""``, other non-strings are converted with ``str``.

    Returns
    -------
    str
    """
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    # Lone surrogates cannot be normalised; replace them.
    try:
        return unicodedata.normalize("NFC", text).lower()
    except Exception:  # pragma: no cover - defensive
        return text.encode("utf-8", "replace").decode("utf-8").lower()


def _nfc(text: object) -> str:
    """:func:`normalize` without the lower-casing (offsets of tokens and surfaces refer to it)."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    try:
        return unicodedata.normalize("NFC", text)
    except Exception:  # pragma: no cover - defensive
        return text.encode("utf-8", "replace").decode("utf-8")


def _iter_segment_bounds(text: str):
    """``(start, end)`` of each run of segment punctuation in ``text``, then ``(len, len)``."""
    for m in _SEGMENT_RE.finditer(text):
        yield m.start(), m.end()
    yield len(text), len(text)


@functools.lru_cache(maxsize=8192)
def _gap_kind(gap: str) -> int:
    """What the text between two tokens does: ``_SEGMENT`` when it holds sentence or list
    punctuation (a new segment starts), ``_JOINED`` when it is only spaces or one hyphen or
    apostrophe inside a word (the two words may form a phrase), else ``_BREAK``."""
    if _SEGMENT_RE.search(gap):
        return _SEGMENT
    if _JOINER_RE.fullmatch(gap):
        return _JOINED
    return _BREAK


@functools.lru_cache(maxsize=262_144)
def fold(token: str) -> str:
    """Lower-case and strip accents (Unicode NFKD, combining marks removed).

    Parameters
    ----------
    token : str

    Returns
    -------
    str
        E.g. ``"Accessibilité"`` -> ``"accessibilite"``, ``"ﬁ"`` -> ``"fi"``.
    """
    decomposed = unicodedata.normalize("NFKD", token.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_STOP_FOLDED = {
    "en": frozenset(fold(w) for w in ENGLISH_STOP_WORDS),
    "fr": frozenset(fold(w) for w in FRENCH_STOP_WORDS),
}
_STOP_ALL = _STOP_FOLDED["en"] | _STOP_FOLDED["fr"]
# Words that identify a language (stop words of one language that are not words of the other).
_EN_ONLY = _STOP_FOLDED["en"] - _STOP_FOLDED["fr"] - {"de", "un", "con", "co", "ie", "eg"}
_FR_ONLY = _STOP_FOLDED["fr"] - _STOP_FOLDED["en"] - {"a", "as", "on", "car", "son", "plus", "via"}


def tokenize(text: object) -> list[str]:
    """Split a text into lower-case word tokens (accents kept).

    Parameters
    ----------
    text : object
        Any value, see :func:`normalize`.

    Returns
    -------
    list of str
    """
    return _TOKEN_RE.findall(normalize(text))


def _language_counts(tokens: Sequence[str]) -> tuple[int, int]:
    """(English evidence, French evidence) in ``tokens``."""
    en_marks, fr_marks = _glossary_marks()
    en = fr = 0
    for tok in tokens:
        f = fold(tok)
        if f in _EN_ONLY or f in en_marks:
            en += 1
        elif f in _FR_ONLY or f in fr_marks or (f != tok and _FRENCH_LETTERS.search(tok)):
            fr += 1
    return en, fr


def detect_language(text_or_tokens: str | Sequence[str], default: str = "en") -> str:
    """Guess ``"en"`` or ``"fr"`` by counting language-specific stop words.

    Parameters
    ----------
    text_or_tokens : str or sequence of str
        A text, or tokens from :func:`tokenize`.
    default : {"en", "fr"}
        Returned when neither language has more stop words (e.g. a list of skills).

    Returns
    -------
    str
        ``"en"`` or ``"fr"``.
    """
    tokens = tokenize(text_or_tokens) if isinstance(text_or_tokens, str) else text_or_tokens
    en, fr = _language_counts(tokens)
    if en > fr:
        return "en"
    if fr > en:
        return "fr"
    return default if default in ("en", "fr") else "en"


_FRENCH_LETTERS = re.compile("[àâæçéèêëîïôœùûüÿ]")


@functools.lru_cache(maxsize=1)
def _glossary_marks() -> tuple[frozenset[str], frozenset[str]]:
    """Words of the glossary that belong to only one language (extra language evidence)."""
    en_words: set[str] = set()
    fr_words: set[str] = set()
    try:
        with open(GLOSSARY_PATH, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                en_words.update(fold(t) for t in tokenize(row.get("en") or ""))
                fr_words.update(fold(t) for t in tokenize(row.get("fr") or ""))
    except (OSError, csv.Error, UnicodeDecodeError):
        return frozenset(), frozenset()
    en_only = {w for w in en_words - fr_words if len(w) > 2} - _STOP_ALL
    fr_only = {w for w in fr_words - en_words if len(w) > 2} - _STOP_ALL
    return frozenset(en_only), frozenset(fr_only)


@functools.lru_cache(maxsize=262_144)
def _stem_cached(token: str, language: str) -> str:
    stemmer = _STEMMERS.get(language, _STEMMERS["en"])
    try:
        out = stemmer.stemWord(token)
    except Exception:  # pragma: no cover - snowball is total, but be defensive
        out = token
    return fold(out) or fold(token)


@functools.lru_cache(maxsize=65_536)
def _stem_unfolded(token: str, language: str) -> str:
    try:
        return _STEMMERS.get(language, _STEMMERS["en"]).stemWord(token) or token
    except Exception:  # pragma: no cover
        return token


def stem(token: str, language: str = "en") -> str:
    """Snowball-stem one lower-case token, then fold accents.

    Parameters
    ----------
    token : str
    language : {"en", "fr"}

    Returns
    -------
    str
    """
    return _stem_cached(token, language if language in _STEMMERS else "en")


@functools.lru_cache(maxsize=262_144)
def _light_plural(folded: str) -> str:
    """Crude singular used only to match glossary entries ("services" ~ "service")."""
    if len(folded) > 4 and folded.endswith("ies"):
        return folded[:-3] + "y"
    if len(folded) > 4 and folded.endswith("eaux"):
        return folded[:-1]
    if len(folded) > 3 and folded[-1] in "sx" and not folded.endswith("ss"):
        return folded[:-1]
    return folded


def _glossary_key(phrase: str) -> tuple[str, ...]:
    toks = [fold(t) for t in tokenize(phrase)]
    return tuple(_light_plural(t) for t in toks if t not in _STOP_ALL and len(t) >= MIN_TOKEN_LENGTH)


@functools.lru_cache(maxsize=8)
def load_glossary(path: str | None = None) -> dict[tuple[str, ...], tuple[str, tuple[str, ...], bool]]:
    """Load the EN/FR glossary as a lookup from French key to English replacement.

    Parameters
    ----------
    path : str, optional
        CSV with columns ``en,fr``; defaults to :data:`GLOSSARY_PATH`. A missing or unreadable
        file gives an empty glossary (the analyser then works monolingually).

    Returns
    -------
    dict
        ``{french_key: (english_phrase, english_tokens, distinctive)}`` where ``french_key`` is
        the tuple of folded, de-pluralised content tokens of the French phrase and
        ``distinctive`` is True when the French phrase cannot be an English word (several words
        or accented letters); only distinctive entries are applied inside English segments.
    """
    p = Path(path) if path else GLOSSARY_PATH
    table: dict[tuple[str, ...], tuple[str, tuple[str, ...], bool]] = {}
    try:
        with open(p, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                en = (row.get("en") or "").strip()
                fr = (row.get("fr") or "").strip()
                if not en or not fr:
                    continue
                key = _glossary_key(fr)
                en_tokens = tuple(t for t in tokenize(en) if fold(t) not in _STOP_FOLDED["en"])
                if key and en_tokens and key not in table:
                    distinctive = len(key) > 1 or fold(fr) != fr.lower()
                    table[key] = (en, en_tokens, distinctive)
    except (OSError, csv.Error, UnicodeDecodeError):
        return {}
    return table


@functools.lru_cache(maxsize=8)
def _glossary_starts(path: str | None = None) -> dict[str, int]:
    """First word of each glossary key -> length of the longest key starting with it."""
    starts: dict[str, int] = {}
    for key in load_glossary(path):
        n = min(len(key), _GLOSSARY_MAX_WORDS)
        starts[key[0]] = max(starts.get(key[0], 0), n)
    return starts


#: Distinct tokens remembered per analyser setting before its tables start afresh.
TOKEN_CACHE_SIZE = 1 << 18


class _TokenTables:
    """What the analyser needs to know about each distinct token, worked out once.

    One instance per analyser setting (stop words, accent folding, stemming, glossary file),
    shared by every :class:`Analyzer` with that setting and by all its calls: texts repeat the
    same few thousand words, so almost every token of a text is one dictionary hit, which gives
    its record ``[evidence, English feature, French feature, folded, glossary key, English
    feature id, French feature id]``: language evidence 1 (English), 2 (French) or 0 (see
    :func:`_language_counts`); the feature the token gives in a segment of that language (""
    when it is dropped there; None until first needed); the folded lower-case token; its
    glossary key (None when it is not a content word); the feature's number in
    ``feature_ids`` (0 for "", None until first needed), used by :meth:`Analyzer.count_matrix`.
    """

    __slots__ = ("marks", "starts", "records", "glossary_starts", "english", "french",
                 "feature_ids", "lock")

    def __init__(self, marks, starts) -> None:
        self.marks = marks    # _glossary_marks() the language evidence was computed with
        self.starts = starts  # _glossary_starts(path) ``glossary_starts`` was computed with
        self.records: dict[str, list] = {}
        #: tokens that may begin a glossary phrase (their glossary key starts one)
        self.glossary_starts: set[str] = set()
        #: tokens that are evidence of English, of French (evidence 1, 2)
        self.english: set[str] = set()
        self.french: set[str] = set()
        #: feature -> its number, given in order of first use ("" is 0)
        self.feature_ids: dict[str, int] = {"": 0}
        self.lock = threading.Lock()  # numbers are given under it (pages run in threads)

    def records_of(self, tokens: list[str]) -> list[list]:
        """The record of each token, made for the tokens seen for the first time."""
        records = self.records
        recs = list(map(records.get, tokens))
        if None in recs:
            en_marks, fr_marks = self.marks
            starts = self.starts or {}
            for i, tok in enumerate(tokens):
                if recs[i] is not None:
                    continue
                rec = records.get(tok)  # the same new token earlier in this text
                if rec is None:
                    low = tok.lower()
                    f = fold(low)
                    if f in _EN_ONLY or f in en_marks:
                        e = 1
                    elif f in _FR_ONLY or f in fr_marks or (f != low and _FRENCH_LETTERS.search(low)):
                        e = 2
                    else:
                        e = 0
                    content = f not in _STOP_ALL and len(f) >= MIN_TOKEN_LENGTH and not f.isdigit()
                    key = _light_plural(f) if content else None
                    if key is not None and key in starts:
                        self.glossary_starts.add(tok)
                    if e:
                        (self.english if e == 1 else self.french).add(tok)
                    rec = records[tok] = [e, None, None, f, key, None, None]
                recs[i] = rec
        return recs

    def features_of(self, tokens: list[str], recs: list[list], lang: str,
                    analyzer: "Analyzer") -> list[str]:
        """The feature of each token in a segment of ``lang`` ("" for a dropped token)."""
        slot = _FEATURE_SLOT[lang]
        feats = list(map(itemgetter(slot), recs))
        if None in feats:
            stops = _STOP_FOLDED[lang] if analyzer.stop_words else frozenset()
            for i, rec in enumerate(recs):
                if feats[i] is None:
                    f = rec[3]
                    kept = len(f) >= MIN_TOKEN_LENGTH and not f.isdigit() and f not in stops
                    feats[i] = rec[slot] = analyzer._feature(tokens[i].lower(), lang) if kept else ""
        return feats

    def ids_of(self, tokens: list[str], recs: list[list], lang: str, analyzer: "Analyzer") -> list[int]:
        """The number (in ``feature_ids``) of each token's feature in ``lang`` (0: dropped)."""
        slot = _FEATURE_SLOT[lang] + 4
        ids = list(map(itemgetter(slot), recs))
        if None in ids:
            feats = self.features_of(tokens, recs, lang, analyzer)
            for i, rec in enumerate(recs):
                if ids[i] is None:
                    ids[i] = rec[slot] = self.number(feats[i])
        return ids

    def number(self, feature: str) -> int:
        """The number of ``feature`` in ``feature_ids``, given now if it has none yet."""
        n = self.feature_ids.get(feature)
        if n is None:
            with self.lock:
                n = self.feature_ids.setdefault(feature, len(self.feature_ids))
        return n


_FEATURE_SLOT = {"en": 1, "fr": 2}
_EVIDENCE = itemgetter(0)
# a word pair (feature ids a, b) as one number: a * _PAIR_BASE + b
_PAIR_BASE = 1 << 31


class _Prepared(NamedTuple):
    """A text split into tokens, with what :meth:`Analyzer._features` needs."""

    raw: str                # the NFC text
    parts: list[str]        # _GAPS_RE.split(raw)
    first: int              # parts[first:last:2] are the tokens
    last: int
    toks: list[str]
    kinds: list[int]        # kinds[i]: the gap after token i (_SEGMENT after the last one)
    recs: list[list]        # each token's record (_TokenTables)
    declared: str | None    # the one language of every segment, or None: detect per segment
    doc_lang: str           # the text's language (the default of a segment without evidence)
    evidence: list[int] | None
    glossary_here: bool     # a token may start a glossary phrase


_TABLES: dict[tuple, _TokenTables] = {}


class Analyzer:
    """Callable turning one text into a list of features (stems, n-grams).

    Parameters
    ----------
    language : {None, "en", "fr", "bilingual"}
        Declared language; ``None`` and ``"bilingual"`` detect it per segment.
    stop_words : bool
        Drop English/French stop words (by segment language).
    fold_accents : bool
        Strip accents from features. When False, features keep their accents.
    stem : bool
        Apply Snowball stemming.
    use_glossary : bool
        Replace French glossary terms by their English equivalent.
    ngram_range : tuple of int
        ``(min_n, max_n)`` of consecutive stems (within a segment) to emit as features.
    glossary_path : str, optional
        Alternative glossary file.
    """

    def __init__(
        self,
        *,
        language: str | None = None,
        stop_words: bool = True,
        fold_accents: bool = True,
        stem: bool = True,
        use_glossary: bool = True,
        ngram_range: tuple[int, int] = (1, 1),
        glossary_path: str | None = None,
    ) -> None:
        self.language = language
        self.stop_words = stop_words
        self.fold_accents = fold_accents
        self.stem = stem
        self.use_glossary = use_glossary
        self.ngram_range = tuple(ngram_range)
        self.glossary_path = glossary_path

    # -- internals -------------------------------------------------------------------------
    def _glossary(self):
        if not self.use_glossary:
            return {}
        return load_glossary(self.glossary_path)

    def _feature(self, token: str, lang: str) -> str:
        if self.stem:
            return _stem_cached(token, lang) if self.fold_accents else _stem_unfolded(token, lang)
        return fold(token) if self.fold_accents else token

    def _tables(self) -> _TokenTables:
        glossary_on = bool(self.use_glossary)
        key = (bool(self.stop_words), bool(self.fold_accents), bool(self.stem), glossary_on,
               self.glossary_path if glossary_on else None)
        marks = _glossary_marks()
        starts = _glossary_starts(self.glossary_path) if glossary_on else None
        tables = _TABLES.get(key)
        # a glossary reloaded (another file, caches cleared) or too many tokens: start afresh
        if (tables is None or tables.marks is not marks or tables.starts is not starts
                or len(tables.records) > TOKEN_CACHE_SIZE):
            tables = _TABLES[key] = _TokenTables(marks, starts)
        return tables

    def _glossary_units(self, seg: range, recs: list[list], kinds: list[int], feats: list[str],
                        offsets: tuple[list[int], list[int]], tables: _TokenTables,
                        lang: str) -> list[tuple] | None:
        """Units of a segment where a glossary phrase may start: ``(feature, start, end, run)``,
        or None when no glossary phrase applies (the segment is then like any other).

        Glossary phrases are matched on content words (stop words of either language skipped),
        longest first; a French phrase found is replaced by the English term's words, all shown
        as the phrase as written. Units with the same ``run`` follow each other in the text with
        nothing removed between them (see :meth:`_analyze`).
        """
        glossary = self._glossary()
        starts = tables.starts or {}
        a, b = seg.start, seg.stop
        info = [(rec[3], rec[4]) for rec in recs[a:b]]
        folded = [f for f, _ in info]

        def joined(p: int) -> bool:  # token p (of the segment) follows token p - 1 directly
            return p > 0 and kinds[a + p - 1] == _JOINED

        content = [i for i, (_, key) in enumerate(info) if key is not None]
        keys = [info[i][1] for i in content]
        replaced: dict[int, tuple[int, tuple]] = {}
        j = 0
        while j < len(content):
            longest = starts.get(keys[j])
            if longest is None:  # no glossary phrase starts with this word
                j += 1
                continue
            hit = None
            for n in range(min(longest, len(content) - j), 0, -1):
                entry = glossary.get(tuple(keys[j:j + n]))
                if (entry is not None and (lang == "fr" or entry[2])
                        and self._one_phrase(folded, joined, content[j], content[j + n - 1])):
                    hit = (n, entry)
                    break
            if hit is None:
                j += 1
                continue
            n, entry = hit
            replaced[content[j]] = (content[j + n - 1], entry)
            j += n
        if not replaced:
            return None
        starts_at, ends_at = offsets
        units: list[tuple] = []
        run = 0
        kept_prev = False  # was the previous token kept (so a run may go on)?
        i = 0
        while i < b - a:
            if not (kept_prev and joined(i)):
                run += 1
            if i in replaced:
                end, (_en_phrase, en_tokens, _distinctive) = replaced[i]
                # every word of a glossary phrase shows as the phrase as written
                for et in en_tokens:
                    units.append((self._feature(et, "en"), starts_at[a + i], ends_at[a + end], run))
                kept_prev = True
                i = end + 1
                continue
            feat = feats[a + i]
            kept_prev = bool(feat)
            if kept_prev:
                units.append((feat, starts_at[a + i], ends_at[a + i], run))
            i += 1
        return units

    @staticmethod
    def _one_phrase(folded: list[str], joined, first: int, last: int) -> bool:
        """Whether tokens ``first..last`` can be one glossary phrase: only spaces or joiners
        between them, and only stop words or elisions ("d'", "l'") skipped inside."""
        for p in range(first + 1, last + 1):
            if not joined(p):
                return False
            f = folded[p]
            if p < last and f not in _STOP_ALL and len(f) >= MIN_TOKEN_LENGTH:
                return False
        return True

    def analyze_with_surface(self, text: object, *, as_written: bool = False) -> list[tuple[str, str]]:
        """Return ``(feature, surface form)`` pairs for ``text``.

        The surface form is the word or phrase of ``text`` a feature came from, used to show
        explanations in words people wrote rather than stems: lower-case by default, or exactly
        as written (case, hyphens) with ``as_written=True``. It is always a verbatim part of
        the (NFC-normalised) text: a word pair is two words that follow each other in the text,
        and a feature from the glossary shows the French phrase it came from.
        """
        out = self.analyze_with_offsets(text)
        if as_written:
            return [(f, s) for f, s, _ in out]
        return [(f, s.lower()) for f, s, _ in out]

    def analyze_with_offsets(self, text: object) -> list[tuple[str, str, int]]:
        """``(feature, surface as written, start)``: :meth:`analyze_with_surface` plus where the
        surface starts in the NFC-normalised ``text`` (case kept, see :func:`normalize`)."""
        try:
            return self._analyze(text, True)
        except RecursionError:  # pragma: no cover - defensive
            return []

    def _analyze(self, text: object, surfaces: bool, ordered: bool = True) -> list:
        """Features of ``text`` (with surfaces and offsets when ``surfaces``; in any order when
        not ``ordered``)."""
        tables = self._tables()
        prep = self._prepare(text, tables)
        return [] if prep is None else self._features(prep, tables, surfaces, ordered)

    def _prepare(self, text: object, tables: _TokenTables) -> _Prepared | None:
        """Split ``text`` once into tokens and the gaps between them, find each distinct
        token's record (language evidence, features, glossary key) in ``tables`` and each
        distinct gap's kind (:func:`_gap_kind`), and the language of the text. None when the
        text has no token."""
        raw = _nfc(text)
        if not raw:
            return None
        parts = _GAPS_RE.split(raw)  # [token, gap, token, ..., gap, token]; "" at an end with a gap
        first = 0 if parts[0] else 2
        last = len(parts) if parts[-1] else len(parts) - 2  # parts[first:last] from token to token
        if first >= last:
            return None
        toks = parts[first:last:2]
        kinds = list(map(_gap_kind, parts[first + 1:last:2]))
        kinds.append(_SEGMENT)  # after the last token: so every segment ends at a _SEGMENT
        recs = tables.records_of(toks)
        declared = self.language if self.language in ("en", "fr") else None
        doc_lang = declared or "en"
        ev = None
        if declared is None:
            no_en, no_fr = tables.english.isdisjoint(toks), tables.french.isdisjoint(toks)
            if no_en or no_fr:
                # no evidence of the other language anywhere: every segment would be detected
                # as the text's language, so skip the per-segment detection
                declared = doc_lang = "fr" if no_en and not no_fr else "en"
            else:
                ev = list(map(_EVIDENCE, recs))
                doc_lang = "fr" if ev.count(2) > ev.count(1) else "en"
        glossary_here = (bool(self.use_glossary) and bool(self._glossary())
                         and not tables.glossary_starts.isdisjoint(toks))
        return _Prepared(raw, parts, first, last, toks, kinds, recs, declared, doc_lang, ev,
                         glossary_here)

    def _features(self, prep: _Prepared, tables: _TokenTables, surfaces: bool, ordered: bool) -> list:
        """Features of a prepared text.

        A segment ends at a gap holding sentence or list punctuation. A word pair (n-gram) is
        made of kept tokens that follow each other with only a joining gap between them:
        nothing removed (stop word, number, one-letter word) and no punctuation other than a
        hyphen or apostrophe inside a word. For each segment, its words come first, then its
        pairs, then longer n-grams (``ordered=False``: the same features in any order).
        """
        raw, parts, first, last, toks, kinds, recs, declared, doc_lang, ev, glossary_here = prep
        n_toks = len(toks)
        offsets = None
        if surfaces or glossary_here:
            ends = list(itertools.accumulate(map(len, parts)))
            starts = [0] + ends
            offsets = (starts[first:last:2], ends[first:last:2])  # start and end of each token
        lo, hi = self.ngram_range
        lo, hi = max(1, int(lo)), max(1, int(hi))
        if declared and not glossary_here and not surfaces and lo == 1 and hi <= 2:
            # the usual case, in a few list operations: one language, no glossary phrase
            feats = tables.features_of(toks, recs, declared, self)
            if hi == 1:
                return list(filter(None, feats))
            if not ordered:  # segments never join (their gap is not _JOINED): no need to cut
                out = list(filter(None, feats))
                out += [x + " " + y for x, y, k in zip(feats, feats[1:], kinds)
                        if x and y and k == _JOINED]
                return out
            pairs = [x + " " + y if x and y and k == _JOINED else ""
                     for x, y, k in zip(feats, feats[1:], kinds)]
            out = []
            a = 0
            while a < n_toks:
                b = kinds.index(_SEGMENT, a) + 1
                out += filter(None, feats[a:b])
                out += filter(None, pairs[a:b - 1])
                a = b
            return out
        feats_by_lang: dict[str, list[str]] = {}
        out = []
        a = 0
        while a < n_toks:
            b = kinds.index(_SEGMENT, a) + 1
            if declared:
                lang = declared
            else:
                seg_ev = ev[a:b]
                en, fr = seg_ev.count(1), seg_ev.count(2)
                lang = "en" if en > fr else "fr" if fr > en else doc_lang
            feats = feats_by_lang.get(lang)
            if feats is None:
                feats = feats_by_lang[lang] = tables.features_of(toks, recs, lang, self)
            units = None
            if glossary_here and not tables.glossary_starts.isdisjoint(toks[a:b]):
                units = self._glossary_units(range(a, b), recs, kinds, feats, offsets, tables, lang)
            if units is None:
                self._plain_segment(out, raw, a, b, toks, kinds, feats, offsets, lo, hi, surfaces)
            else:
                self._units_segment(out, raw, units, lo, hi, surfaces)
            a = b
        return out

    def count_matrix(self, texts: Sequence[str], vocabulary: Mapping[str, int],
                     dtype=np.float64) -> sp.csr_matrix:
        """How often each feature of ``vocabulary`` occurs in each text (sorted indices).

        The matrix scikit-learn's ``CountVectorizer(analyzer=self, vocabulary=vocabulary)
        .transform(texts)`` gives, made faster: each distinct text is analysed once; with
        ``ngram_range`` (1, 1) or (1, 2) no feature string is made: each token's feature number
        comes from its record (:meth:`_unit_ids`), a word pair is numbered from its two words,
        and numbers are turned into columns with NumPy for all texts at once. With other
        n-gram ranges the texts are analysed and counted as :meth:`__call__` would.
        """
        tables = self._tables()
        lo, hi = self.ngram_range
        lo, hi = max(1, int(lo)), max(1, int(hi))
        numbered = lo == 1 and hi <= 2
        first_row: dict[str, int] = {}
        row_of: list[int] = []
        ids: list[int] = []        # feature number of every token of the usual texts
        kinds: list[int] = []      # the gap after each of those tokens
        id_rows: list[int] = []    # the usual texts' rows, and their numbers of tokens
        id_lengths: list[int] = []
        features: list[str] = []   # the other texts' features (distinct), with counts
        counts: list[int] = []
        feature_rows: list[int] = []
        feature_lengths: list[int] = []
        for text in texts:
            row = first_row.get(text)
            if row is None:
                row = first_row[text] = len(first_row)
                prep = self._prepare(text, tables)
                if prep is None:
                    pass
                elif numbered:
                    unit_ids, unit_kinds = self._unit_ids(prep, tables)
                    ids += unit_ids
                    kinds += unit_kinds
                    id_rows.append(row)
                    id_lengths.append(len(unit_ids))
                else:
                    counted = Counter(self._features(prep, tables, False, False))
                    features.extend(counted)
                    counts.extend(counted.values())
                    feature_rows.append(row)
                    feature_lengths.append(len(counted))
            row_of.append(row)
        rows, cols, data = [], [], []
        if ids:
            by_id, pair_keys, pair_cols = self._vocabulary_index(tables, vocabulary)
            f = np.array(ids, dtype=np.int64)
            r = np.repeat(np.array(id_rows, dtype=np.int64), id_lengths)
            c = np.full(f.size, -1, dtype=np.int64)
            known = f < by_id.size  # numbers given after the index was made are not in it
            c[known] = by_id[f[known]]
            word = c >= 0
            rows.append(r[word])
            cols.append(c[word])
            if hi >= 2 and pair_keys.size:
                k = np.array(kinds, dtype=np.int8)
                pair = (k[:-1] == _JOINED) & (f[:-1] > 0) & (f[1:] > 0)
                keys = f[:-1][pair] * _PAIR_BASE + f[1:][pair]
                at = np.minimum(np.searchsorted(pair_keys, keys), pair_keys.size - 1)
                hit = pair_keys[at] == keys
                rows.append(r[:-1][pair][hit])
                cols.append(pair_cols[at[hit]])
            data.append(np.ones(sum(a.size for a in cols), dtype=dtype))
        if features:
            c = np.fromiter(map(vocabulary.get, features, itertools.repeat(-1, len(features))),
                            dtype=np.int64, count=len(features))
            known = c >= 0
            rows.append(np.repeat(np.array(feature_rows, dtype=np.int64), feature_lengths)[known])
            cols.append(c[known])
            data.append(np.asarray(counts, dtype=dtype)[known])
        shape = (len(first_row), len(vocabulary))
        if rows:
            matrix = sp.coo_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                                   shape=shape).tocsr()
        else:
            matrix = sp.csr_matrix(shape, dtype=dtype)
        matrix.sum_duplicates()
        matrix.sort_indices()
        if len(first_row) < len(row_of):  # repeated texts: their one row, repeated
            matrix = matrix[np.asarray(row_of, dtype=np.int64)]
        return matrix

    def _unit_ids(self, prep: _Prepared, tables: _TokenTables) -> tuple[list[int], list[int]]:
        """The feature number of each unit of a prepared text (0: a dropped token) and the kind
        of what follows it: ``_JOINED`` when the next unit continues its run (the two make a
        word pair when neither is 0), ``_SEGMENT`` at the end of a segment, else ``_BREAK``.
        A unit is a token, or one English word of a glossary phrase (see :meth:`_features`)."""
        raw, parts, first, last, toks, kinds, recs, declared, doc_lang, ev, glossary_here = prep
        if declared and not glossary_here:
            return tables.ids_of(toks, recs, declared, self), kinds
        offsets = None
        if glossary_here:
            ends = list(itertools.accumulate(map(len, parts)))
            offsets = ([0] + ends)[first:last:2], ends[first:last:2]
        ids_out: list[int] = []
        kinds_out: list[int] = []
        by_lang: dict[str, tuple[list[str], list[int]]] = {}
        a = 0
        while a < len(toks):
            b = kinds.index(_SEGMENT, a) + 1
            if declared:
                lang = declared
            else:
                seg_ev = ev[a:b]
                en, fr = seg_ev.count(1), seg_ev.count(2)
                lang = "en" if en > fr else "fr" if fr > en else doc_lang
            if lang not in by_lang:
                by_lang[lang] = (tables.features_of(toks, recs, lang, self),
                                 tables.ids_of(toks, recs, lang, self))
            feats, ids = by_lang[lang]
            units = None
            if glossary_here and not tables.glossary_starts.isdisjoint(toks[a:b]):
                units = self._glossary_units(range(a, b), recs, kinds, feats, offsets, tables, lang)
            if units is None:
                ids_out += ids[a:b]
                kinds_out += kinds[a:b]
            elif units:
                ids_out += [tables.number(u[0]) for u in units]
                kinds_out += [_JOINED if u[3] == v[3] else _BREAK for u, v in zip(units, units[1:])]
                kinds_out.append(_SEGMENT)
            a = b
        return ids_out, kinds_out

    def _vocabulary_index(self, tables: _TokenTables, vocabulary: Mapping[str, int]):
        """``vocabulary`` by feature number: column of each word's number (-1: none), and the
        sorted numbers of its word pairs with their columns. Made once per vocabulary and
        token tables (kept on the analyser, not pickled)."""
        cached = self.__dict__.get("_vocabulary_cache")
        if (cached is not None and cached[0] is tables and cached[1] is vocabulary
                and cached[2] == len(vocabulary)):
            return cached[3]
        word_ids, word_cols, pair_keys, pair_cols = [], [], [], []
        number = tables.number
        for feature, col in vocabulary.items():
            words = feature.split(" ")
            if len(words) == 1:
                word_ids.append(number(feature))
                word_cols.append(col)
            elif len(words) == 2:
                pair_keys.append(number(words[0]) * _PAIR_BASE + number(words[1]))
                pair_cols.append(col)
        by_id = np.full(len(tables.feature_ids), -1, dtype=np.int64)
        by_id[np.array(word_ids, dtype=np.int64)] = word_cols
        keys = np.array(pair_keys, dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        index = (by_id, keys[order], np.array(pair_cols, dtype=np.int64)[order])
        self._vocabulary_cache = (tables, vocabulary, len(vocabulary), index)
        return index

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_vocabulary_cache", None)
        return state

    @staticmethod
    def _plain_segment(out: list, raw: str, a: int, b: int, toks: list[str], kinds: list[int],
                       feats: list[str], offsets, lo: int, hi: int, surfaces: bool) -> None:
        """n-grams of a segment without glossary phrases: one unit per kept token."""
        seg = feats[a:b]
        for n in range(lo, hi + 1):
            if n == 1:
                if surfaces:
                    starts = offsets[0]
                    out.extend((seg[i], toks[a + i], starts[a + i]) for i in range(b - a) if seg[i])
                else:
                    out.extend(filter(None, seg))
            elif n == 2:
                gaps = kinds[a:b - 1]
                if surfaces:
                    starts, ends = offsets
                    out.extend((f"{x} {y}", raw[starts[a + i]:ends[a + i + 1]], starts[a + i])
                               for i, (x, y, k) in enumerate(zip(seg, seg[1:], gaps))
                               if x and y and k == _JOINED)
                else:
                    out.extend([f"{x} {y}" for x, y, k in zip(seg, seg[1:], gaps)
                                if x and y and k == _JOINED])
            else:
                for i in range(b - a - n + 1):
                    window = seg[i:i + n]
                    if all(window) and all(k == _JOINED for k in kinds[a + i:a + i + n - 1]):
                        if surfaces:
                            starts, ends = offsets
                            out.append((" ".join(window), raw[starts[a + i]:ends[a + i + n - 1]],
                                        starts[a + i]))
                        else:
                            out.append(" ".join(window))

    @staticmethod
    def _units_segment(out: list, raw: str, units: list[tuple], lo: int, hi: int,
                       surfaces: bool) -> None:
        """n-grams of a segment given as units ``(feature, start, end, run)``: n-grams only
        within a run."""
        for n in range(lo, hi + 1):
            if n == 1:
                if surfaces:
                    out.extend((u[0], raw[u[1]:u[2]], u[1]) for u in units)
                else:
                    out.extend(u[0] for u in units)
                continue
            for k in range(len(units) - n + 1):
                window = units[k:k + n]
                if window[0][3] != window[-1][3]:  # not one run: something removed between
                    continue
                feats = " ".join(u[0] for u in window)
                if surfaces:
                    start, end = window[0][1], window[-1][2]
                    out.append((feats, raw[start:end], start))
                else:
                    out.append(feats)

    def __call__(self, text: object) -> list[str]:
        """Return the list of features of ``text`` (see class docstring)."""
        try:
            return self._analyze(text, False)
        except RecursionError:  # pragma: no cover - defensive
            return []

    def bag_of_features(self, text: object) -> list[str]:
        """The features of ``text`` as :meth:`__call__` gives them, in no particular order
        (for counting: it skips putting each segment's words before its pairs)."""
        try:
            return self._analyze(text, False, ordered=False)
        except RecursionError:  # pragma: no cover - defensive
            return []

    def surface_forms(self, texts: Iterable[object]) -> dict[str, str]:
        """Map each feature to its most frequent surface form over ``texts``."""
        counts: dict[str, Counter] = {}
        for t in texts:
            for feat, surf in self.analyze_with_surface(t):
                counts.setdefault(feat, Counter())[surf] += 1
        return {f: c.most_common(1)[0][0] for f, c in counts.items()}

    def __repr__(self) -> str:
        return (f"Analyzer(language={self.language!r}, stop_words={self.stop_words}, "
                f"fold_accents={self.fold_accents}, stem={self.stem}, "
                f"use_glossary={self.use_glossary}, ngram_range={self.ngram_range})")
