"""Pseudo-relevance feedback (PRF) for the portal's TextRanker: does it help, is it fast, are the
reasons still true? (issue 16, point 8)

PRF, as a wrapper around a fitted :class:`matching.ranking.TextRanker`: score each query, take
its top 2 documents, query' = q + mean(the two documents' vectors), L2-normalise, rescore.

    python benchmarks/prf.py            # 10 splits, 10,000 synthetic challenges; writes README
    python benchmarks/prf.py --smoke    # split 1, 1,000 challenges, a few demo teams; prints only

Three measurements, and the decision they give:

1. Quality on ``../shared/eval`` reviewer-paper (see its README.md): the loss of the defaults and
   of PRF, each with its reviewer-bootstrap 95 % interval, and the PAIRED difference (PRF -
   defaults, same draws) with its interval; "not resolved" if it contains 0. The per-reviewer
   losses and the bootstrap are ranking_quality.py's own functions, imported.
2. Speed: one new profile scored against 10,000 synthetic challenges (ranking_speed.py's text
   generator), with and without PRF, median of interleaved runs.
3. Truthfulness of reasons on the demo data: a match's reasons are the terms of the query that
   add up to its score; with PRF the query holds words the team never wrote, so a reason (a term
   with at least MIN_REASON_SHARE of the score) may credit a word absent from the team's profile.

PRF is adopted only if it helps beyond noise AND every reason stays truthful AND one profile
against 10,000 challenges stays under 20 ms; otherwise the decision is "not adopted". A full
run writes the result between ``<!-- prf:start -->`` and ``<!-- prf:end -->`` of
``benchmarks/README.md`` (appended at the end if missing).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.readme_tables import write_between_markers  # noqa: E402
sys.path.insert(0, str(ROOT / "benchmarks"))

from matching.demo import read_csv  # noqa: E402
from matching.models import as_list  # noqa: E402
from matching.ranking import MIN_REASON_SHARE, TextRanker, challenge_text, team_text  # noqa: E402
from ranking_quality import (BOOTSTRAP_DRAWS, Measured, bootstrap_weights, code_version,  # noqa: E402
                             fmt_ci, fmt_delta, load_scorer, mean_loss, reviewer_losses)

README = ROOT / "benchmarks" / "README.md"
START, END = "<!-- prf:start -->", "<!-- prf:end -->"
FEEDBACK_DOCS = 2
TIME_LIMIT_MS = 20.0
N_SYNTHETIC = 10_000


class PRF:
    """Pseudo-relevance feedback around a fitted TextRanker (``score`` like the ranker's)."""

    def __init__(self, ranker: TextRanker, n_docs: int = FEEDBACK_DOCS):
        self.ranker, self.n_docs = ranker, n_docs

    def expanded(self, queries) -> sp.csr_matrix:
        """query' = q + mean of its top ``n_docs`` documents, L2-normalised."""
        r = self.ranker
        q = r.transform(queries)
        scores = np.asarray((q @ r._doc_matrix_t).toarray())
        n = min(self.n_docs, scores.shape[1])
        top = np.argpartition(-scores, n - 1, axis=1)[:, :n]
        rows = np.repeat(np.arange(q.shape[0]), n)
        pick = sp.csr_matrix((np.full(rows.size, 1.0 / n), (rows, top.ravel())),
                             shape=(q.shape[0], scores.shape[1]))
        return normalize((q + pick @ r.doc_matrix_).tocsr())

    def score(self, queries) -> np.ndarray:
        return np.asarray((self.expanded(queries) @ self.ranker._doc_matrix_t).toarray(), dtype=np.float64)


# --- 1. quality --------------------------------------------------------------------------------

def quality(S, splits, draws):
    """(defaults, PRF) as ranking_quality.Measured, from one fit per split; and the time taken."""
    refs = S.references()
    weights = bootstrap_weights(len(refs), draws)
    preds = {"defaults": {}, "prf": {}}
    t0 = time.perf_counter()
    for k in splits:
        s = S.split(k)
        pids = list(s["submissions"])
        ranker = TextRanker().fit([S.text(s["submissions"][p]) for p in pids])
        prf = PRF(ranker)
        for name, scorer in (("defaults", ranker), ("prf", prf)):
            out = {}
            for rid, profile in s["reviewers"].items():
                sims = np.asarray(scorer.score([S.text(p) for p in profile]), dtype=float)
                out[rid] = dict(zip(pids, sims.max(axis=0).tolist()))
            preds[name][k] = out
        print(f"split {k} done", flush=True)
    measured = {}
    for name, p in preds.items():
        lost, worst = reviewer_losses(p, splits, refs)
        measured[name] = Measured(lost, worst, weights)
        assert measured[name].loss == mean_loss(S, p, splits, refs)
    return measured["defaults"], measured["prf"], time.perf_counter() - t0, len(refs)


# --- 2. speed ----------------------------------------------------------------------------------

def speed(n_challenges: int, repeat: int):
    """Median ms (and all runs) of one new profile vs ``n_challenges``: plain, PRF (interleaved)."""
    from ranking_speed import TextGenerator
    gen = TextGenerator(seed=0)
    ranker = TextRanker().fit(gen.challenges(n_challenges))
    prf = PRF(ranker)
    profiles = gen.profiles(repeat + 1)
    ranker.score(profiles[-1:])
    prf.score(profiles[-1:])  # warm-up
    times = {"plain": [], "prf": []}
    for profile in profiles[:repeat]:  # a new profile each round, both variants in turn
        for name, scorer in (("plain", ranker), ("prf", prf)):
            t0 = time.perf_counter()
            row = scorer.score([profile])[0]
            np.argpartition(-row, 10)[:10]
            times[name].append((time.perf_counter() - t0) * 1000)
    return times


# --- 3. truthfulness of reasons ---------------------------------------------------------------

def truthfulness(n_teams: int | None, k: int = 10):
    """Over each demo team's top ``k`` challenges (plain and PRF): how many matches have a reason
    (a term with >= MIN_REASON_SHARE of the score) that the team never wrote, and the mean share
    of the score from such terms."""
    challenges = read_csv("challenges.csv")
    for c in challenges:
        c["themes"] = as_list(c["themes"])
    teams = read_csv("teams.csv")[:n_teams]
    for t in teams:
        for key in ("skills", "interests"):
            t[key] = as_list(t[key])
    ranker = TextRanker().fit([challenge_text(c) for c in challenges])
    prf = PRF(ranker)
    dt = ranker.doc_matrix_.tocsr()
    out = {}
    for name in ("plain", "prf"):
        matches = untrue = 0
        shares = []
        for team in teams:
            q0 = ranker.transform([team_text(team)])
            q = q0 if name == "plain" else prf.expanded([team_text(team)])
            written = set(q0.indices.tolist())
            row = np.asarray((q @ ranker._doc_matrix_t).toarray())[0]
            for j in np.argsort(-row, kind="stable")[:k]:
                if row[j] <= 0:
                    continue
                contrib = q.multiply(dt[j]).tocsr()
                total = contrib.sum()
                foreign = [c for i, c in zip(contrib.indices, contrib.data) if i not in written]
                shares.append(sum(foreign) / total)
                matches += 1
                untrue += any(c >= MIN_REASON_SHARE * total for c in foreign)
        out[name] = {"matches": matches, "untrue": untrue, "share": float(np.mean(shares)) if shares else 0.0,
                     "teams": len(teams)}
    return out




def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="split 1, 1,000 challenges, 5 teams; prints only")
    ap.add_argument("--repeat", type=int, default=21, help="interleaved timing rounds")
    ap.add_argument("--draws", type=int, default=BOOTSTRAP_DRAWS)
    ap.add_argument("--no-write", action="store_true", help="print only, do not rewrite the README")
    args = ap.parse_args(argv)
    n_synthetic, repeat, n_teams = (1_000, 5, 5) if args.smoke else (N_SYNTHETIC, args.repeat, None)

    lines = [f"PRF: query' = q + mean of its top {FEEDBACK_DOCS} documents, L2-normalised, rescored "
             f"(wrapper around `TextRanker`, in `benchmarks/prf.py`); code at {code_version()}, "
             f"{time.strftime('%Y-%m-%d')}.", ""]
    S = load_scorer()
    helps = None
    if S is None:
        lines.append("Quality: evaluation data not found (skipped).")
    else:
        splits = [1] if args.smoke else list(S.SPLITS)
        base, prf, seconds, n_ref = quality(S, splits, args.draws)
        diff, (lo, hi) = prf.minus(base)
        helps = hi < 0
        note = "split 1 only (--smoke)" if args.smoke else f"mean over {len(splits)} splits"
        lines += [f"Quality, reviewer-paper loss ({note}; lower is better), 95 % interval of a bootstrap "
                  f"over the {n_ref} researchers ({args.draws:,} draws); both from the same fit per split "
                  f"({seconds:.0f} s for both):", "",
                  "| ranker | loss | 95 % interval |", "|---|---|---|",
                  f"| `TextRanker()` defaults | {base.loss:.4f} | {fmt_ci(*base.interval())} |",
                  f"| defaults + PRF (top {FEEDBACK_DOCS}) | {prf.loss:.4f} | {fmt_ci(*prf.interval())} |", "",
                  "| comparison | difference | 95 % interval (paired) | verdict |", "|---|---|---|---|",
                  f"| PRF - defaults | {fmt_delta(diff, lo, hi)} |", ""]
    times = speed(n_synthetic, repeat)
    plain_ms, prf_ms = statistics.median(times["plain"]), statistics.median(times["prf"])
    fast = prf_ms < TIME_LIMIT_MS
    lines += [f"Speed: one new profile scored against {n_synthetic:,} synthetic challenges (top 10 picked), "
              f"median of {repeat} interleaved rounds (range):", "",
              "| variant | ms per profile |", "|---|---|",
              f"| defaults | {plain_ms:.1f} ({min(times['plain']):.1f}-{max(times['plain']):.1f}) |",
              f"| defaults + PRF | {prf_ms:.1f} ({min(times['prf']):.1f}-{max(times['prf']):.1f}) |", ""]
    truth = truthfulness(n_teams)
    truthful = truth["prf"]["untrue"] == 0
    lines += [f"Reasons on the demo data ({truth['prf']['teams']} teams x their top 10 challenges): a reason "
              f"is a term with >= {MIN_REASON_SHARE:.0%} of the score; untrue = it credits a term the team "
              "never wrote (absent from its own profile vector).", "",
              "| variant | matches | with an untrue reason | mean share of score from unwritten terms |",
              "|---|---|---|---|"]
    for name, label in (("plain", "defaults"), ("prf", "defaults + PRF")):
        t = truth[name]
        lines.append(f"| {label} | {t['matches']} | {t['untrue']} | {t['share']:.1%} |")
    why = []
    why.append("the loss gain is beyond noise" if helps else
               "no quality figure" if helps is None else "the loss difference is not resolved (its interval contains 0)"
               if lo <= 0 <= hi else "PRF is worse beyond noise")
    why.append("reasons stay truthful" if truthful else
               f"reasons are not truthful ({truth['prf']['untrue']} of {truth['prf']['matches']} matches credit words the team never wrote)")
    why.append(f"one profile vs {n_synthetic:,} takes {prf_ms:.1f} ms (limit {TIME_LIMIT_MS:.0f} ms)")
    adopt = bool(helps) and truthful and fast
    lines += ["", f"**Decision: {'adopted' if adopt else 'not adopted'}** — " + "; ".join(why) + "."]
    text = "\n".join(lines)
    print("\n" + text)
    if not (args.smoke or args.no_write):
        write_between_markers(README, text, START, END)
        print(f"\nwritten between the prf markers of {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
