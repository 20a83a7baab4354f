"""Ranking quality of the portal's TextRanker on external data (reviewer-paper expertise).

Run from the repository root::

    python benchmarks/ranking_quality.py            # 10 splits, comparison + ablation tables
    python benchmarks/ranking_quality.py --smoke    # split 1 only, defaults and baselines

The data and scorer live outside the repository in ``../shared/eval`` (see its README.md); they
are read in place, never copied. Predictions of the portal's defaults are written as CSV to
``benchmarks/out/reviewer_paper_defaults/`` and scored from the files, as the scorer's
``--predictions`` option does. Lower loss is better; about 0.5 is random.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT))

from matching.ranking import TextRanker  # noqa: E402

PUBLISHED = [  # from ../shared/eval/README.md (paper, Table 3)
    ("TPMS (published)", 0.281),
    ("ELMo (published)", 0.345),
    ("ACL paper-matching model (published)", 0.296),
    ("Specter (published)", 0.269),
    ("Specter + MFR (published)", 0.238),
]
TARGET = 0.25


class SklearnTfidf:
    """Plain scikit-learn TfidfVectorizer cosine, for reference."""

    def __init__(self, **params):
        self.params = params

    def fit(self, docs):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.v = TfidfVectorizer(**self.params).fit(docs)
        self.d = self.v.transform(docs).T.tocsr()
        return self

    def score(self, queries):
        return (self.v.transform(queries) @ self.d).toarray()


class BM25Ranker(TextRanker):
    """Ablation only: the default ranker with BM25 term-frequency saturation and document
    length normalisation (k1, b) instead of 1 + log(tf), before the cosine."""

    def __init__(self, *, k1=1.2, b=0.75, **params):
        super().__init__(**params)
        self.k1 = k1
        self.b = b

    def fit(self, documents, y=None):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.v_ = TfidfVectorizer(analyzer=self._make_analyzer(), norm=None, sublinear_tf=False,
                                  smooth_idf=self.smooth_idf)
        tf = self.v_.fit_transform(list(documents)).multiply(1 / self.v_.idf_).tocsr()
        self.avgdl_ = float(tf.sum(axis=1).mean()) or 1.0
        self.d_ = self._weight(tf).T.tocsr()
        return self

    def _weight(self, tf):
        from sklearn.preprocessing import normalize

        tf = tf.tocsr().astype(float)
        dl = np.asarray(tf.sum(axis=1)).ravel()
        rows = np.repeat(np.arange(tf.shape[0]), np.diff(tf.indptr))
        tf.data = tf.data * (self.k1 + 1) / (tf.data + self.k1 * (1 - self.b + self.b * dl[rows] / self.avgdl_))
        return normalize(tf.multiply(self.v_.idf_).tocsr())

    def score(self, queries):
        tf = self.v_.transform(list(queries)).multiply(1 / self.v_.idf_).tocsr()
        return (self._weight(tf) @ self.d_).toarray()


def load_scorer():
    if not (EVAL / "score_reviewer_paper.py").exists():
        return None
    sys.path.insert(0, str(EVAL))
    import score_reviewer_paper as S  # noqa: E402

    return S


def predict(S, make, splits, cache):
    """{k: {reviewer: {paper: score}}} with the scorer's protocol (max over profile papers)."""
    out = {}
    for k in splits:
        s = cache.setdefault(k, S.split(k))
        pids = list(s["submissions"])
        ranker = make([S.text(s["submissions"][p]) for p in pids])
        preds = {}
        for rid, profile in s["reviewers"].items():
            sims = np.asarray(ranker.score([S.text(p) for p in profile]), dtype=float)
            preds[rid] = dict(zip(pids, sims.max(axis=0).tolist()))
        out[k] = preds
    return out


def mean_loss(S, preds, splits, refs):
    return float(np.mean([S.split_loss(preds[k], refs) for k in splits]))


def write_predictions(preds, folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    for k, per_reviewer in preds.items():
        with open(folder / f"d_20_{k}.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["reviewer_id", "paper_id", "score"])
            for rid, scores in per_reviewer.items():
                for pid, sc in scores.items():
                    w.writerow([rid, pid, repr(sc)])


def read_predictions(folder: Path, splits):
    out = {}
    for k in splits:
        preds = {}
        with open(folder / f"d_20_{k}.csv", newline="") as fh:
            for row in csv.DictReader(fh):
                preds.setdefault(row["reviewer_id"], {})[row["paper_id"]] = float(row["score"])
        out[k] = preds
    return out


ABLATION = [  # (what is changed from the defaults, TextRanker params)
    ("no sublinear tf (raw counts)", dict(sublinear_tf=False)),
    ("no stop words", dict(stop_words=False)),
    ("no accent folding", dict(fold_accents=False)),
    ("no stemming", dict(stem=False)),
    ("unigrams only (no word pairs)", dict(ngram_range=(1, 1))),
    ("no bilingual glossary", dict(use_glossary=False)),
    ("no idf smoothing", dict(smooth_idf=False)),
    ("min_df=2", dict(min_df=2)),
    ("max_df=0.5", dict(max_df=0.5)),
]
CUMULATIVE = [  # built up from everything off, in this order
    ("everything off (raw tf, unigrams)", dict(sublinear_tf=False, stop_words=False, fold_accents=False,
                                             stem=False, ngram_range=(1, 1), use_glossary=False)),
    ("+ sublinear tf", dict(stop_words=False, fold_accents=False, stem=False, ngram_range=(1, 1),
                            use_glossary=False)),
    ("+ EN/FR stop words", dict(fold_accents=False, stem=False, ngram_range=(1, 1), use_glossary=False)),
    ("+ accent folding", dict(stem=False, ngram_range=(1, 1), use_glossary=False)),
    ("+ stemming", dict(ngram_range=(1, 1), use_glossary=False)),
    ("+ glossary", dict(ngram_range=(1, 1))),
    ("+ word pairs = defaults", dict()),
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="split 1 only; defaults and baselines (CI)")
    ap.add_argument("--no-ablation", action="store_true", help="skip the ablation tables")
    args = ap.parse_args(argv)

    S = load_scorer()
    if S is None:
        print(f"Evaluation data not found at {EVAL}; nothing to measure (see benchmarks/README.md).")
        return 0
    splits = [1] if args.smoke else list(S.SPLITS)
    refs = S.references()
    cache: dict = {}
    note = "split 1 only (--smoke)" if args.smoke else f"mean over {len(splits)} splits"
    print(f"Reviewer-paper expertise loss ({note}); lower is better, ~0.5 is random\n")

    # Our defaults: predictions written to CSV, then scored from the files.
    t0 = time.perf_counter()
    preds = predict(S, lambda docs: TextRanker().fit(docs), splits, cache)
    elapsed = time.perf_counter() - t0
    folder = OUT / "reviewer_paper_defaults"
    write_predictions(preds, folder)
    ours = mean_loss(S, read_predictions(folder, splits), splits, refs)
    if not args.smoke:
        assert abs(ours - S.loss(S.read_predictions(folder))) < 1e-12  # same as the scorer's CLI

    rows = [("portal TextRanker() defaults", ours, f"measured ({elapsed:.0f} s)")]
    for name, params in [("scikit-learn TfidfVectorizer() defaults", {}),
                         ('TfidfVectorizer(stop_words="english", sublinear_tf=True)',
                          dict(stop_words="english", sublinear_tf=True))]:
        p = predict(S, lambda docs, params=params: SklearnTfidf(**params).fit(docs), splits, cache)
        rows.append((name, mean_loss(S, p, splits, refs), "measured"))
    rows += [(n, v, "published") for n, v in PUBLISHED]

    width = max(len(r[0]) for r in rows)
    print(f"| {'ranker'.ljust(width)} | loss  | source |")
    print(f"|{'-' * (width + 2)}|-------|--------|")
    for name, loss, src in rows:
        print(f"| {name.ljust(width)} | {loss:.3f} | {src} |")
    print(f"\npredictions of the defaults: {folder.relative_to(ROOT)}/d_20_<k>.csv")
    print(f"target loss <= {TARGET}: {'MET' if ours <= TARGET else 'NOT MET'} ({ours:.4f})")

    if args.smoke or args.no_ablation:
        return 0

    print("\nAblation: one change from the defaults at a time (delta > 0 means the change hurts)\n")
    print("| change from defaults | loss | delta vs defaults |")
    print("|---|---|---|")
    print(f"| (none: defaults) | {ours:.4f} | |")
    variants = [(n, (lambda docs, p=p: TextRanker(**p).fit(docs))) for n, p in ABLATION]
    variants.append(("BM25 tf + length normalisation (k1=1.2, b=0.75)", lambda docs: BM25Ranker().fit(docs)))
    variants.append(("BM25 tf + length normalisation (k1=1.2, b=0.3)", lambda docs: BM25Ranker(b=0.3).fit(docs)))
    for name, make in variants:
        loss = mean_loss(S, predict(S, make, splits, cache), splits, refs)
        print(f"| {name} | {loss:.4f} | {loss - ours:+.4f} |", flush=True)

    print("\nCumulative: switching the changes on one by one\n")
    print("| step | loss | delta vs previous step |")
    print("|---|---|---|")
    prev = None
    for name, params in CUMULATIVE:
        loss = mean_loss(S, predict(S, lambda docs, p=params: TextRanker(**p).fit(docs), splits, cache),
                         splits, refs)
        delta = "" if prev is None else f"{loss - prev:+.4f}"
        print(f"| {name} | {loss:.4f} | {delta} |", flush=True)
        prev = loss
    return 0


if __name__ == "__main__":
    sys.exit(main())
