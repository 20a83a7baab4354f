"""The analyser's core as it was before it was made fast (issue 16.5, code of 23a7240), kept for
the tests only: :class:`ReferenceAnalyzer` is :class:`matching.textprep.Analyzer` with the old,
straightforward per-token ``_analyze`` and ``_segment_units`` (one pass over each segment's
tokens, regex matches and per-token lookups). ``tests/test_textprep_equivalence.py`` checks that
the fast analyser gives exactly its output. It shares the leaf helpers (``fold``, the stemmers,
the glossary tables, the regular expressions) with the module: only the driving code is frozen.
"""
from __future__ import annotations

from matching.textprep import (
    _FRENCH_LETTERS,  # noqa: F401  (kept importable: the old code's language marks)
    _JOINER_RE,
    _STOP_ALL,
    _STOP_FOLDED,
    _TOKEN_RE,
    MIN_TOKEN_LENGTH,
    Analyzer,
    _glossary_starts,
    _iter_segment_bounds,
    _language_counts,
    _light_plural,
    _nfc,
    _stem_cached,
    _stem_unfolded,
    detect_language,
    fold,
    load_glossary,
)


class ReferenceAnalyzer(Analyzer):
    """Same parameters and public methods as :class:`Analyzer`; the old per-token core."""

    def _glossary(self):
        if not self.use_glossary:
            return {}
        return load_glossary(self.glossary_path)

    def _feature(self, token: str, lang: str) -> str:
        if self.stem:
            return _stem_cached(token, lang) if self.fold_accents else _stem_unfolded(token, lang)
        return fold(token) if self.fold_accents else token

    def _segment_units(self, text, toks, lang):
        stops = _STOP_FOLDED[lang] if self.stop_words else frozenset()
        glossary = self._glossary()
        tokens = [t for t, _, _ in toks]
        folded = [fold(t) for t in tokens]
        joined = [False] + [_JOINER_RE.fullmatch(text, toks[i - 1][2], toks[i][1]) is not None
                            for i in range(1, len(toks))]
        units = []
        replaced = {}
        if glossary:
            content = [i for i, f in enumerate(folded)
                       if f not in _STOP_ALL and len(f) >= MIN_TOKEN_LENGTH and not f.isdigit()]
            keys = [_light_plural(folded[i]) for i in content]
            starts = _glossary_starts(self.glossary_path)
            j = 0
            while j < len(content):
                longest = starts.get(keys[j])
                if longest is None:
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
        kept_prev = False
        i = 0
        while i < len(tokens):
            if not (kept_prev and joined[i]):
                run += 1
            if i in replaced:
                end, (_en_phrase, en_tokens, _distinctive) = replaced[i]
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
    def _one_phrase(folded, joined, first, last):
        for p in range(first + 1, last + 1):
            if not joined[p]:
                return False
            f = folded[p]
            if p < last and f not in _STOP_ALL and len(f) >= MIN_TOKEN_LENGTH:
                return False
        return True

    def _analyze(self, text, surfaces):
        raw = _nfc(text)
        if not raw:
            return []
        seg_toks = []
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
                declared = doc_lang
        lo, hi = self.ngram_range
        lo, hi = max(1, int(lo)), max(1, int(hi))
        out = []
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
                    if window[0][4] != window[-1][4]:
                        continue
                    feats = " ".join(u[0] for u in window)
                    if surfaces:
                        start, end = window[0][1], window[-1][2]
                        out.append((feats, raw[start:end], start))
                    else:
                        out.append(feats)
        return out
