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
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

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

    def _segment_units(self, text: str, toks: list[tuple[str, int, int]], lang: str) -> list[tuple]:
        """Units of one segment, before n-grams: ``(feature, start, end, span, run)``.

        ``toks`` are the segment's ``(lower-case token, start, end)`` with offsets into
        ``text``. ``start:end`` is what the unit was written as: the word, or for words that
        come from the glossary the whole French phrase (``span`` is then the phrase's first
        token position, else -1). Units with the same ``run`` follow each other in the text
        with nothing removed between them (no stop word, number, one-letter word or
        punctuation other than a hyphen or apostrophe inside a word): n-grams are made only
        within a run, so "blind or low vision" gives "low vision" but never "blind low".
        """
        stops = _STOP_FOLDED[lang] if self.stop_words else frozenset()
        glossary = self._glossary()
        tokens = [t for t, _, _ in toks]
        folded = [fold(t) for t in tokens]
        # joined[i]: token i follows token i-1 with only a space or a word-internal joiner
        joined = [False] + [_JOINER_RE.fullmatch(text, toks[i - 1][2], toks[i][1]) is not None
                            for i in range(1, len(toks))]
        units: list[tuple] = []
        replaced: dict[int, tuple[int, tuple]] = {}
        if glossary:
            # Content positions (ignoring stop words of either language) for phrase matching.
            content = [i for i, f in enumerate(folded)
                       if f not in _STOP_ALL and len(f) >= MIN_TOKEN_LENGTH and not f.isdigit()]
            keys = [_light_plural(folded[i]) for i in content]
            starts = _glossary_starts(self.glossary_path)
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
        run = 0
        kept_prev = False  # was the previous token kept (so a run may go on)?
        i = 0
        while i < len(tokens):
            if not (kept_prev and joined[i]):
                run += 1
            if i in replaced:
                end, (_en_phrase, en_tokens, _distinctive) = replaced[i]
                # every word of a glossary phrase shows as the phrase as written
                for et in en_tokens:
                    units.append((self._feature(et, "en"), toks[i][1], toks[end][2], i, run))
                kept_prev = True
                i = end + 1
                continue
            f = folded[i]
            kept_prev = len(f) >= MIN_TOKEN_LENGTH and not f.isdigit() and f not in stops
            if kept_prev:
                units.append((self._feature(tokens[i], lang), toks[i][1], toks[i][2], -1, run))
            i += 1
        return units

    @staticmethod
    def _one_phrase(folded: list[str], joined: list[bool], first: int, last: int) -> bool:
        """Whether tokens ``first..last`` can be one glossary phrase: only spaces or joiners
        between them, and only stop words or elisions ("d'", "l'") skipped inside."""
        for p in range(first + 1, last + 1):
            if not joined[p]:
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

    def _analyze(self, text: object, surfaces: bool) -> list:
        raw = _nfc(text)
        if not raw:
            return []
        seg_toks: list[list[tuple[str, int, int]]] = []
        pos = 0
        for cut in _iter_segment_bounds(raw):
            toks = [(m.group().lower(), m.start(), m.end()) for m in _TOKEN_RE.finditer(raw, pos, cut[0])]
            if toks:
                seg_toks.append(toks)
            pos = cut[1]
        if not seg_toks:
            return []
        declared = self.language if self.language in ("en", "fr") else None
        if declared is None:
            en, fr = _language_counts([t for toks in seg_toks for t, _, _ in toks])
            doc_lang = "fr" if fr > en else "en"
            if en == 0 or fr == 0:
                # no evidence of the other language anywhere: every segment would be detected
                # as doc_lang, so skip the per-segment detection
                declared = doc_lang
        lo, hi = self.ngram_range
        lo, hi = max(1, int(lo)), max(1, int(hi))
        out: list = []
        for toks in seg_toks:
            lang = declared or detect_language([t for t, _, _ in toks], default=doc_lang)
            units = self._segment_units(raw, toks, lang)
            for n in range(lo, hi + 1):
                if n == 1:
                    if surfaces:
                        out.extend((u[0], raw[u[1]:u[2]], u[1]) for u in units)
                    else:
                        out.extend(u[0] for u in units)
                    continue
                for k in range(len(units) - n + 1):
                    window = units[k:k + n]
                    if window[0][4] != window[-1][4]:  # not one run: something removed between
                        continue
                    feats = " ".join(u[0] for u in window)
                    if surfaces:
                        start, end = window[0][1], window[-1][2]
                        out.append((feats, raw[start:end], start))
                    else:
                        out.append(feats)
        return out

    def __call__(self, text: object) -> list[str]:
        """Return the list of features of ``text`` (see class docstring)."""
        try:
            return self._analyze(text, False)
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
