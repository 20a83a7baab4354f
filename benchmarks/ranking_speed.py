"""Speed and memory of the portal's TextRanker on generated challenges and team profiles.

Run from the repository root::

    python benchmarks/ranking_speed.py             # 1k x 1k, 10k x 10k, 100k teams x 10k challenges
    python benchmarks/ranking_speed.py --smoke     # 300 x 300 only (a few seconds, for CI)
    python benchmarks/ranking_speed.py --sizes 1000x1000,10000x10000

Each size runs in a fresh subprocess so that its peak memory (``ru_maxrss`` of that process,
which includes generating the texts) is its own. Texts come from a seeded generator: a Zipf
vocabulary of 20,000 made-up words mixed with real English stop words and punctuation;
challenges have 100-200 words, profiles 40-100 words, like the demo data.

Every timed step is repeated (``--repeat``, at least 3) and the runs of competing steps are
interleaved (a, b, c, a, b, c, ...) so that load from other processes hits them alike; each is
reported as its median with the range (min-max) of its runs.

Measured:
  fit            TextRanker().fit(challenge texts), once
  transform      TextRanker.transform(all profiles), beside scikit-learn's default
                 TfidfVectorizer (fitted on the same challenges) .transform(the same profiles)
  top-10         TextRanker.top_k(profile matrix, 10): exact, ties by index (matching/topk.py)
  floor          SciPy's sparse product of the same matrices, in the blocks the old dense kernel
                 used (4 Mi scores per block), results discarded: no selection at all
  sparse_dot_topn  sp_matmul_topn(Q, D^T, top_n=10, sort=True), sequential: the library alone,
                 without the exact tie order (rows whose order differs from top_k are counted)
  NearestNeighbors scikit-learn NearestNeighbors(algorithm="brute", metric="cosine") fitted on
                 the ranker's document vectors, kneighbors(profile vectors, 10)
  naive loops    extrapolated from a sample: (a) per pair, vectorise both texts and take the
                 cosine; (b) per pair over PRECOMPUTED vectors (rows sliced beforehand);
                 (c) one query at a time: sparse product of one profile vector with all
                 challenges, then top-10 by argpartition
  one profile    median time to rank one new profile text against all challenges (transform +
                 product + top-10), no refit
  peak RSS       resource.getrusage(RUSAGE_SELF).ru_maxrss of the size's process, taken after
                 the portal's own steps and before the comparisons (NearestNeighbors alone
                 allocates dense blocks of up to 1 GiB)
  top-k traced   tracemalloc peak during one top_k call (numpy/scipy buffers)

The full run writes its tables between ``<!-- ranking-speed:start -->`` and
``<!-- ranking-speed:end -->`` of ``benchmarks/README.md`` (``--no-write`` to only print).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.readme_tables import write_between_markers  # noqa: E402

from matching.ranking import TextRanker  # noqa: E402
from matching.topk import TOP_K_BLOCK_ENTRIES  # noqa: E402
from matching.textprep import ENGLISH_STOP_WORDS  # noqa: E402

README = ROOT / "benchmarks" / "README.md"
START, END = "<!-- ranking-speed:start -->", "<!-- ranking-speed:end -->"

VOCAB_SIZE = 20_000
ZIPF_EXPONENT = 1.07
STOP_WORD_SHARE = 0.40
K = 10
GIB = 1 << 30

_SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]


def make_vocabulary(rng: np.random.Generator, size: int = VOCAB_SIZE) -> np.ndarray:
    words: set[str] = set()
    while len(words) < size:
        n = int(rng.integers(2, 5))
        words.add("".join(rng.choice(_SYLLABLES, size=n)))
    return np.array(sorted(words))


class TextGenerator:
    """Seeded generator of challenge-like and profile-like texts."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.vocab = make_vocabulary(self.rng)
        ranks = np.arange(1, len(self.vocab) + 1, dtype=float)
        p = ranks ** -ZIPF_EXPONENT
        self.cdf = np.cumsum(p / p.sum())
        self.stops = np.array(sorted(ENGLISH_STOP_WORDS))

    def texts(self, n: int, low: int, high: int, batch: int = 2_000) -> list[str]:
        out: list[str] = []
        for start in range(0, n, batch):  # in batches: generating must not dominate peak memory
            out.extend(self._batch(min(batch, n - start), low, high))
        return out

    def _batch(self, n: int, low: int, high: int) -> list[str]:
        rng = self.rng
        lengths = rng.integers(low, high + 1, size=n)
        total = int(lengths.sum())
        content = self.vocab[np.minimum(np.searchsorted(self.cdf, rng.random(total)), len(self.vocab) - 1)]
        stops = self.stops[rng.integers(0, len(self.stops), size=total)]
        words = np.where(rng.random(total) < STOP_WORD_SHARE, stops, content).tolist()
        punct = rng.random(total)
        for i in np.flatnonzero(punct < 0.12):
            words[i] += "." if punct[i] < 0.07 else ","
        out, start = [], 0
        for length in lengths:
            out.append(" ".join(words[start:start + length]))
            start += length
        return out

    def challenges(self, n: int) -> list[str]:
        return self.texts(n, 100, 200)

    def profiles(self, n: int) -> list[str]:
        return self.texts(n, 40, 100)


def interleaved(steps: dict, repeat: int) -> dict:
    """Run each step once per round, rounds ``repeat`` times; name -> list of seconds."""
    times = {name: [] for name in steps}
    for _ in range(repeat):
        for name, fn in steps.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def scipy_floor(q, dt, chunk: int) -> None:
    for start in range(0, q.shape[0], chunk):
        q[start:start + chunk] @ dt


def naive_revectorise_s(ranker, teams, challenges, pairs, rng) -> float:
    """(a) seconds per pair: vectorise both texts, cosine of the two rows."""
    ti, ci = rng.integers(0, len(teams), pairs), rng.integers(0, len(challenges), pairs)
    t0 = time.perf_counter()
    for a, b in zip(ti, ci):
        float(ranker.transform([teams[a]]).multiply(ranker.transform([challenges[b]])).sum())
    return (time.perf_counter() - t0) / pairs


def naive_precomputed_s(q, d, pairs, rng) -> float:
    """(b) seconds per pair: cosine of two precomputed sparse rows (rows sliced beforehand)."""
    ti, ci = rng.integers(0, q.shape[0], pairs), rng.integers(0, d.shape[0], pairs)
    qs, ds = [q[int(i)] for i in ti], [d[int(j)] for j in ci]
    t0 = time.perf_counter()
    for a, b in zip(qs, ds):
        float(a.multiply(b).sum())
    return (time.perf_counter() - t0) / pairs


def naive_one_query_s(q, dt, queries, k, rng) -> float:
    """(c) seconds per query: one sparse row times all documents, then top-k."""
    rows = [q[int(i)] for i in rng.integers(0, q.shape[0], queries)]
    t0 = time.perf_counter()
    for row in rows:
        s = (row @ dt).toarray().ravel()
        top = np.argpartition(-s, k - 1)[:k] if k < s.size else np.arange(s.size)
        top[np.argsort(-s[top], kind="stable")]
    return (time.perf_counter() - t0) / queries


def run_one(n_teams: int, n_challenges: int, repeat: int, seed: int = 0, smoke: bool = False) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.neighbors import NearestNeighbors
    from sparse_dot_topn import sp_matmul_topn

    gen = TextGenerator(seed)
    challenges = gen.challenges(n_challenges)
    teams = gen.profiles(n_teams)
    res: dict = {"teams": n_teams, "challenges": n_challenges, "repeat": repeat}

    t0 = time.perf_counter()
    ranker = TextRanker().fit(challenges)
    res["fit_s"] = time.perf_counter() - t0
    res["features"] = int(ranker.doc_matrix_.shape[1])
    k = min(K, n_challenges)
    q = ranker.transform(teams)
    tracemalloc.start()  # one top-k run, traced, for its memory
    idx, val = ranker.top_k(q, k)
    res["topk_traced_peak_mib"] = tracemalloc.get_traced_memory()[1] / (1 << 20)
    tracemalloc.stop()
    assert idx.shape == (n_teams, k) and not np.isnan(val).any()
    new_profiles = TextGenerator(seed + 99).profiles(51 if smoke else 201)
    times = []
    for text in new_profiles:
        t0 = time.perf_counter()
        ranker.top_k([text], k)
        times.append(time.perf_counter() - t0)
    res["one_profile_ms"] = float(np.median(times[1:]) * 1e3)
    # peak RSS of the portal's own steps (texts, fit, transform, top-k), taken before the
    # comparisons: NearestNeighbors alone allocates dense blocks of up to 1 GiB
    res["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB

    sk = TfidfVectorizer().fit(challenges)
    # transform, ours and scikit-learn's default, interleaved
    tf = interleaved({"transform": lambda: ranker.transform(teams),
                      "sklearn_transform": lambda: sk.transform(teams)}, repeat)
    res.update(tf)
    res["query_nnz"] = int(q.nnz)
    dt = ranker._doc_matrix_t
    chunk = max(1, TOP_K_BLOCK_ENTRIES // n_challenges)

    nn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric="cosine").fit(ranker.doc_matrix_)
    ranker.top_k(q[: min(200, n_teams)], k)  # warm-up (allocator, caches)
    sp_matmul_topn(q[: min(200, n_teams)], dt, top_n=k, sort=True)
    steps = {
        "floor": lambda: scipy_floor(q, dt, chunk),
        "topk": lambda: ranker.top_k(q, k),
        "sdt": lambda: sp_matmul_topn(q, dt, top_n=k, sort=True),
        "nn": lambda: nn.kneighbors(q, k),
    }
    res.update(interleaved(steps, repeat))

    # how often the library alone gives another order than the exact one (ties, zero rows)
    c = sp_matmul_topn(q, dt, top_n=k, sort=True)
    differ = 0
    for r in range(n_teams):
        a, b = c.indptr[r], c.indptr[r + 1]
        got = c.indices[a:b]
        differ += not (b - a == k and np.array_equal(got, idx[r]))
    res["sdt_rows_differ"] = differ

    rng = np.random.default_rng(seed + 1)
    pairs = 60 if smoke else 300
    res["naive_a_s"] = naive_revectorise_s(ranker, teams, challenges, pairs, rng) * n_teams * n_challenges
    res["naive_b_s"] = naive_precomputed_s(q, ranker.doc_matrix_, 10 * pairs, rng) * n_teams * n_challenges
    res["naive_c_s"] = naive_one_query_s(q, dt, min(n_teams, 200), k, rng) * n_teams

    return res


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import scipy
    import sklearn
    import sparse_dot_topn

    return (f"{len(os.sched_getaffinity(0))} CPUs ({cpu}), Python {platform.python_version()}, "
            f"numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
            f"sparse_dot_topn {sparse_dot_topn.__version__}")


def code_version() -> str:
    """The commit measured, and whether matching/ or benchmarks/ had uncommitted changes."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "matching", "benchmarks/ranking_speed.py"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        return rev + (" with uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"


def fmt_size(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 and n >= 1000 else str(n)


def med(ts) -> float:
    return float(np.median(ts))


def span(ts) -> str:
    """median (min-max), in ms below one second"""
    unit, scale = ("ms", 1e3) if med(ts) < 1 else ("s", 1.0)
    return f"{med(ts) * scale:.2f} {unit} ({min(ts) * scale:.2f}–{max(ts) * scale:.2f})"


def report(results: list[dict], loads: tuple[str, str]) -> tuple[str, bool]:
    reps = sorted({r["repeat"] for r in results})
    lines = [f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} at {code_version()} on {machine()}; load average (1, 5, 15 min) "
             f"{loads[0]} at the start and {loads[1]} at the end (the machine is shared: times are "
             f"noisy). Each cell: median (min–max) of {'/'.join(map(str, reps))} interleaved runs.", "",
             "All-pairs top-10, on the same TF-IDF vectors (transform not included):", "",
             "| teams x challenges | TextRanker.top_k (exact) | SciPy product floor | top-k / floor "
             "| sparse_dot_topn alone | top-k / sparse_dot_topn | sklearn NearestNeighbors (brute, "
             "cosine) | rows where sparse_dot_topn's order differs |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        size = f"{fmt_size(r['teams'])} x {fmt_size(r['challenges'])}"
        lines.append(
            f"| {size} | {span(r['topk'])} | {span(r['floor'])} | {med(r['topk']) / med(r['floor']):.2f}x "
            f"| {span(r['sdt'])} | {med(r['topk']) / med(r['sdt']):.2f}x | {span(r['nn'])} "
            f"| {r['sdt_rows_differ']:,} of {r['teams']:,} |")
    lines += ["", "Text preparation and the rest:", "",
              "| teams x challenges | fit | transform profiles | sklearn TfidfVectorizer().transform "
              "| transform / sklearn | one profile (median) | peak RSS | top-k traced peak |",
              "|---|---|---|---|---|---|---|---|"]
    for r in results:
        size = f"{fmt_size(r['teams'])} x {fmt_size(r['challenges'])}"
        per = 1e3 / r["teams"]
        lines.append(
            f"| {size} | {r['fit_s']:.2f} s | {span(r['transform'])} = {med(r['transform']) * per:.3f} ms/profile "
            f"| {span(r['sklearn_transform'])} = {med(r['sklearn_transform']) * per:.3f} ms/profile "
            f"| {med(r['transform']) / med(r['sklearn_transform']):.1f}x | {r['one_profile_ms']:.2f} ms "
            f"| {r['peak_rss_mib']:,.0f} MiB | {r['topk_traced_peak_mib']:,.0f} MiB |")
    lines += ["", "Naive loops (extrapolated from a sample) against the exact all-pairs top-10:", "",
              "| teams x challenges | (a) per pair, re-vectorise both texts | speed-up: (a) / (transform "
              "+ top-10) | (b) per pair, precomputed vectors | speed-up: (b) / top-10 | (c) one query at a "
              "time, sparse product + top-10 | speed-up: (c) / top-10 |", "|---|---|---|---|---|---|---|"]
    for r in results:
        size = f"{fmt_size(r['teams'])} x {fmt_size(r['challenges'])}"
        t = med(r["topk"])
        lines.append(
            f"| {size} | {r['naive_a_s']:,.0f} s | {r['naive_a_s'] / (med(r['transform']) + t):,.0f}x "
            f"| {r['naive_b_s']:,.0f} s | {r['naive_b_s'] / t:,.0f}x | {r['naive_c_s']:,.1f} s "
            f"| {r['naive_c_s'] / t:,.1f}x |")
    lines += ["", "Targets:", ""]
    ok = True
    for r in results:
        size = f"{fmt_size(r['teams'])} x {fmt_size(r['challenges'])}"
        ratio = med(r["topk"]) / med(r["floor"])
        tf_ratio = med(r["transform"]) / med(r["sklearn_transform"])
        speedup = r["naive_a_s"] / (med(r["transform"]) + med(r["topk"]))
        checks = [(f"top-10 within 2x of the SciPy product floor ({ratio:.2f}x)", ratio <= 2.0),
                  (f">= 1000x faster than the re-vectorising loop (a) ({speedup:,.0f}x)", speedup >= 1000),
                  (f"transform within 2x of scikit-learn's ({tf_ratio:.1f}x)", tf_ratio <= 2.0)]
        if r["challenges"] >= 10_000:
            checks.append((f"one profile vs {fmt_size(r['challenges'])} challenges <= 20 ms "
                           f"({r['one_profile_ms']:.2f} ms)", r["one_profile_ms"] <= 20))
        if r["teams"] >= 100_000:
            checks.append((f"peak memory < 2 GiB ({r['peak_rss_mib']:,.0f} MiB RSS)",
                           r["peak_rss_mib"] * (1 << 20) < 2 * GIB))
        for text, passed in checks:
            ok &= passed
            lines.append(f"- {size}: {text}: **{'met' if passed else 'not met'}**")
    return "\n".join(lines), ok




def loadavg() -> str:
    try:
        return ", ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "unknown"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="300 x 300 only; prints, writes nothing")
    ap.add_argument("--sizes", default="1000x1000,10000x10000,100000x10000",
                    help="comma-separated TEAMSxCHALLENGES")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved runs per step (at least 3)")
    ap.add_argument("--no-write", action="store_true", help="print only, do not rewrite the README")
    ap.add_argument("--readme", type=Path, default=README, help="file whose markers get the tables")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one size, print JSON
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    repeat = max(3, args.repeat)

    if args.one:
        nt, nc = (int(x) for x in args.one.split("x"))
        print(json.dumps(run_one(nt, nc, repeat, args.seed, smoke=args.smoke)))
        return 0

    sizes = ["300x300"] if args.smoke else [s.strip() for s in args.sizes.split(",") if s.strip()]
    results = []
    load_start = loadavg()
    for size in sizes:
        print(f"running {size} ...", flush=True)
        cmd = [sys.executable, __file__, "--one", size, "--seed", str(args.seed), "--repeat", str(repeat)]
        proc = subprocess.run(cmd + (["--smoke"] if args.smoke else []), capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            print(proc.stderr)
            return proc.returncode
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    table, _ = report(results, (load_start, loadavg()))
    print("\n" + table)
    if not (args.smoke or args.no_write):
        write_between_markers(args.readme, table, START, END)
        print(f"\nwritten between the ranking-speed markers of {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
