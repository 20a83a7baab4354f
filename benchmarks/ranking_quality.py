"""Ranking quality of the portal's TextRanker on external data (reviewer-paper expertise).

Run from the repository root::

    python benchmarks/ranking_quality.py            # 10 splits, comparison + ablation tables
    python benchmarks/ranking_quality.py --smoke    # split 1 only, defaults and baselines

The data and scorer live outside the repository in ``../shared/eval`` (see its README.md); they
are read in place, never copied. Predictions of the portal's defaults are written as CSV to
``benchmarks/out/reviewer_paper_defaults/`` and scored from the files, as the scorer's
``--predictions`` option does. Lower loss is better; about 0.5 is random.

Uncertainty: the ten splits share the same 58 researchers, so the figures are resampled over
researchers. Each researcher's loss (wrongly ordered weight and total weight of their rated
pairs, per split) is computed with the scorer's rule (:func:`reviewer_losses`; summed, it gives
the scorer's loss exactly, which is asserted). A bootstrap draws 58 researchers with replacement
(1,000 draws, seed 0): every loss is given with its 95 % percentile interval, and every
comparison (each ablation and each cumulative step against its reference, the defaults against
the tuned TF-IDF baseline) as a PAIRED difference (the same draws for both rankers) with its
interval; "not resolved" where that interval contains 0.

The full run writes its tables between ``<!-- ranking-quality:start -->`` and
``<!-- ranking-quality:end -->`` of ``benchmarks/README.md`` (``--no-write`` to only print);
``--smoke`` only prints.
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from itertools import combinations
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# PORTAL_EVAL names another place (e.g. from a git worktree, whose ../shared is not the project's)
EVAL = Path(os.environ.get("PORTAL_EVAL") or Path(__file__).resolve().parents[2] / "shared" / "eval")
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT))
from benchmarks.readme_tables import write_between_markers  # noqa: E402

from matching.ranking import TextRanker  # noqa: E402

PUBLISHED = [  # from ../shared/eval/README.md (paper, Table 3)
    ("TPMS (published)", 0.281),
    ("ELMo (published)", 0.345),
    ("ACL paper-matching model (published)", 0.296),
    ("Specter (published)", 0.269),
    ("Specter + MFR (published)", 0.238),
]
TARGET = 0.25
BOOTSTRAP_DRAWS = 1_000
BOOTSTRAP_SEED = 0
README = ROOT / "benchmarks" / "README.md"
START, END = "<!-- ranking-quality:start -->", "<!-- ranking-quality:end -->"


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


def reviewer_losses(preds, splits, refs):
    """(lost, worst): arrays of shape (n_splits, n_reviewers), reviewers in ``refs`` order.

    The scorer's rule per researcher: over each pair of papers they rated, a wrong predicted
    order costs the rating difference, a tie half of it; ``worst`` is the total difference.
    The scorer's split loss is ``lost[k].sum() / worst[k].sum()`` (ratings are whole numbers,
    so every sum is exact in floating point)."""
    rids = list(refs)
    lost = np.zeros((len(splits), len(rids)))
    worst = np.zeros((len(splits), len(rids)))
    for a, k in enumerate(splits):
        for b, rid in enumerate(rids):
            rated, mine = refs[rid], preds[k].get(rid, {})
            for p1, p2 in combinations(rated, 2):
                true = rated[p1] - rated[p2]
                guess = mine.get(p1, 0.0) - mine.get(p2, 0.0)
                worst[a, b] += abs(true)
                if guess * true == 0:
                    lost[a, b] += abs(true) / 2
                elif guess * true < 0:
                    lost[a, b] += abs(true)
    return lost, worst


def loss_from(lost, worst):
    """The scorer's loss (mean over splits of each split's ratio) from per-reviewer sums."""
    return float(np.mean([lost[a].sum() / worst[a].sum() for a in range(lost.shape[0])]))


def bootstrap_weights(n_reviewers, draws=BOOTSTRAP_DRAWS, seed=BOOTSTRAP_SEED):
    """(draws, n_reviewers) multiplicities of researchers drawn with replacement."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n_reviewers, size=(draws, n_reviewers))
    return np.stack([np.bincount(row, minlength=n_reviewers) for row in picks]).astype(float)


def bootstrap_losses(lost, worst, weights):
    """The loss of each bootstrap draw: per split, weighted lost / weighted worst; mean."""
    return ((weights @ lost.T) / (weights @ worst.T)).mean(axis=1)


class Measured:
    """A ranker's loss, its per-reviewer sums and its bootstrap draws."""

    def __init__(self, lost, worst, weights):
        self.lost, self.worst = lost, worst
        self.loss = loss_from(lost, worst)
        self.draws = bootstrap_losses(lost, worst, weights)

    def interval(self):
        return tuple(np.percentile(self.draws, [2.5, 97.5]))

    def minus(self, other):
        """Paired bootstrap: (difference, (low, high)) of self - other over the same draws."""
        d = self.draws - other.draws
        return self.loss - other.loss, tuple(np.percentile(d, [2.5, 97.5]))


def fmt_ci(lo, hi, digits=3):
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def fmt_delta(diff, lo, hi):
    verdict = "**not resolved**" if lo <= 0 <= hi else "resolved"
    return f"{diff:+.4f} | {fmt_ci(lo, hi, 4)} | {verdict}"


def code_version():
    """Commit of the code measured (and whether matching/ differs from it)."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "matching"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + (" with uncommitted changes in matching/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("PORTAL_BENCH_COMMIT", "unknown commit")




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
    ap.add_argument("--no-write", action="store_true", help="print only, do not rewrite the README")
    ap.add_argument("--readme", type=Path, default=README, help="file whose markers get the tables")
    ap.add_argument("--draws", type=int, default=BOOTSTRAP_DRAWS, help="bootstrap draws")
    args = ap.parse_args(argv)

    S = load_scorer()
    if S is None:
        print(f"Evaluation data not found at {EVAL}; nothing to measure (see benchmarks/README.md).")
        return 0
    splits = [1] if args.smoke else list(S.SPLITS)
    refs = S.references()
    weights = bootstrap_weights(len(refs), args.draws)
    cache: dict = {}
    note = "split 1 only (--smoke)" if args.smoke else f"mean over {len(splits)} splits"
    print(f"Reviewer-paper expertise loss ({note}); lower is better, ~0.5 is random", flush=True)

    def measure(preds):
        lost, worst = reviewer_losses(preds, splits, refs)
        m = Measured(lost, worst, weights)
        assert m.loss == mean_loss(S, preds, splits, refs), "per-reviewer losses must give the scorer's loss"
        return m

    # Our defaults: predictions written to CSV, then scored from the files.
    t0 = time.perf_counter()
    preds = predict(S, lambda docs: TextRanker().fit(docs), splits, cache)
    elapsed = time.perf_counter() - t0
    folder = OUT / "reviewer_paper_defaults"
    write_predictions(preds, folder)
    ours = measure(read_predictions(folder, splits))
    if not args.smoke:
        assert ours.loss == S.loss(S.read_predictions(folder))  # same as the scorer's CLI, exactly

    measured = [("**portal `TextRanker()` defaults**", ours, f"measured ({elapsed:.0f} s)")]
    baselines = {}
    for name, params in [("scikit-learn `TfidfVectorizer()` defaults", {}),
                         ('`TfidfVectorizer(stop_words="english", sublinear_tf=True)`',
                          dict(stop_words="english", sublinear_tf=True))]:
        p = predict(S, lambda docs, params=params: SklearnTfidf(**params).fit(docs), splits, cache)
        baselines[name] = measure(p)
        measured.append((name, baselines[name], "measured"))
    tuned = baselines['`TfidfVectorizer(stop_words="english", sublinear_tf=True)`']

    out = [f"Loss {note}, with the 95 % interval of a bootstrap over the {len(refs)} researchers "
           f"({args.draws:,} draws, seed {BOOTSTRAP_SEED}); code at {code_version()}, "
           f"{time.strftime('%Y-%m-%d')}. Lower is better, ~0.5 is random.", "",
           "| ranker | loss | 95 % interval | source |", "|---|---|---|---|"]
    for name, m, src in measured:
        out.append(f"| {name} | {m.loss:.4f} | {fmt_ci(*m.interval())} | {src} |")
    out += [f"| {n} | {v:.3f} | | published |" for n, v in PUBLISHED]
    out += ["", "Paired differences (same bootstrap draws for both; **not resolved** = the interval "
            "contains 0):", "", "| comparison | difference | 95 % interval | verdict |", "|---|---|---|---|"]
    for name, m, _ in measured[1:]:
        out.append(f"| defaults - {name} | {fmt_delta(*_flat(ours.minus(m)))} |")
    lo, hi = ours.interval()
    out += ["", f"Target loss <= {TARGET}: **{'met' if ours.loss <= TARGET else 'not met'}** "
            f"({ours.loss:.4f}; the interval [{lo:.3f}, {hi:.3f}] "
            f"{'lies below' if hi <= TARGET else 'straddles' if lo <= TARGET else 'lies above'} it)."]
    print("\n" + "\n".join(out), flush=True)
    print(f"\npredictions of the defaults: {folder.relative_to(ROOT)}/d_20_<k>.csv")

    if not (args.smoke or args.no_ablation):
        out += ["", "### Ablation (one change from the defaults at a time; + means the change hurts)", "",
                "| change from defaults | loss | 95 % interval | difference vs defaults | 95 % interval "
                "(paired) | verdict |", "|---|---|---|---|---|---|",
                f"| (none: defaults) | {ours.loss:.4f} | {fmt_ci(*ours.interval())} | | | |"]
        variants = [(n, (lambda docs, p=p: TextRanker(**p).fit(docs))) for n, p in ABLATION]
        variants.append(("BM25 tf + length normalisation (k1=1.2, b=0.75)", lambda docs: BM25Ranker().fit(docs)))
        variants.append(("BM25 tf + length normalisation (k1=1.2, b=0.3)", lambda docs: BM25Ranker(b=0.3).fit(docs)))
        for name, make in variants:
            m = measure(predict(S, make, splits, cache))
            out.append(f"| {name} | {m.loss:.4f} | {fmt_ci(*m.interval())} | {fmt_delta(*_flat(m.minus(ours)))} |")
            print(out[-1], flush=True)

        out += ["", "### Cumulative (switching the changes on one by one)", "",
                "| step | loss | 95 % interval | difference vs previous step | 95 % interval (paired) "
                "| verdict |", "|---|---|---|---|---|---|"]
        prev = None
        for name, params in CUMULATIVE:
            m = ours if not params else measure(
                predict(S, lambda docs, p=params: TextRanker(**p).fit(docs), splits, cache))
            delta = "| |" if prev is None else fmt_delta(*_flat(m.minus(prev)))
            out.append(f"| {name} | {m.loss:.4f} | {fmt_ci(*m.interval())} | {delta} |")
            print(out[-1], flush=True)
            prev = m

    if not (args.smoke or args.no_write):
        write_between_markers(args.readme, "\n".join(out), START, END)
        print(f"\nwritten between the ranking-quality markers of {args.readme}")
    return 0


def _flat(pair):
    diff, (lo, hi) = pair
    return diff, lo, hi


if __name__ == "__main__":
    sys.exit(main())
