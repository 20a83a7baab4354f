"""Speed and memory of the portal's TextRanker on generated challenges and team profiles.

Run from the repository root::

    python benchmarks/ranking_speed.py             # 1k x 1k, 10k x 10k, 100k teams x 10k challenges
    python benchmarks/ranking_speed.py --smoke     # 1k x 1k only (a few seconds, for CI)
    python benchmarks/ranking_speed.py --sizes 1000x1000,10000x10000

Each size runs in a fresh subprocess so that its peak memory (``ru_maxrss`` of that process,
which includes generating the texts) is its own. Texts come from a seeded generator: a Zipf
vocabulary of 20,000 made-up words mixed with real English stop words and punctuation;
challenges have 100-200 words, profiles 40-100 words, like the demo data.

Columns:
  fit            TextRanker().fit(challenge texts)
  transform      vectorising all profiles (text -> sparse rows)
  top-10         ranker.top_k(profile matrix, 10): chunked sparse product + argpartition
  raw floor      the same chunked sparse products, results discarded (no densify, no top-k)
  naive          per-pair loop (vectorise both texts, cosine) timed on a sample, extrapolated
  one profile    median time to rank one new profile against all challenges (transform +
                 product + top-10), no refit
  peak RSS       resource.getrusage(RUSAGE_SELF).ru_maxrss of the size's process
  top-k traced   tracemalloc peak during top_k only (numpy/scipy buffers)
"""
from __future__ import annotations

import argparse
import json
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

from matching.ranking import TextRanker  # noqa: E402
from matching.topk import TOP_K_BLOCK_ENTRIES  # noqa: E402
from matching.textprep import ENGLISH_STOP_WORDS  # noqa: E402

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


def naive_pair_seconds(ranker: TextRanker, teams: list[str], challenges: list[str], pairs: int,
                       rng: np.random.Generator) -> float:
    """Seconds per pair of the naive loop: vectorise both texts, cosine of the two rows."""
    ti = rng.integers(0, len(teams), size=pairs)
    ci = rng.integers(0, len(challenges), size=pairs)
    t0 = time.perf_counter()
    for a, b in zip(ti, ci):
        q = ranker.transform([teams[a]])
        d = ranker.transform([challenges[b]])
        float(q.multiply(d).sum())
    return (time.perf_counter() - t0) / pairs


def raw_floor_seconds(ranker: TextRanker, q, chunk: int) -> float:
    dt = ranker.doc_matrix_.T.tocsr()
    t0 = time.perf_counter()
    if q.shape[0] <= chunk:
        q @ dt
    for start in range(0, q.shape[0], chunk) if q.shape[0] > chunk else ():
        q[start:start + chunk] @ dt
    return time.perf_counter() - t0


def run_one(n_teams: int, n_challenges: int, seed: int = 0) -> dict:
    gen = TextGenerator(seed)
    challenges = gen.challenges(n_challenges)
    teams = gen.profiles(n_teams)
    res: dict = {"teams": n_teams, "challenges": n_challenges}

    t0 = time.perf_counter()
    ranker = TextRanker().fit(challenges)
    res["fit_s"] = time.perf_counter() - t0
    res["features"] = int(ranker.doc_matrix_.shape[1])

    t0 = time.perf_counter()
    q = ranker.transform(teams)
    res["transform_s"] = time.perf_counter() - t0
    res["query_nnz"] = int(q.nnz)

    chunk = max(1, TOP_K_BLOCK_ENTRIES // n_challenges)
    res["chunk_rows"] = chunk
    # warm-up on a small slice (allocator, caches); then floor and top-k runs alternate so that
    # load from other processes hits both alike; the best run of each is kept
    ranker.top_k(q[: min(200, n_teams)], K)
    repeats = 5 if n_teams * n_challenges <= 10**6 else (2 if n_teams <= 10_000 else 1)
    floor = topk = float("inf")
    for _ in range(repeats):
        floor = min(floor, raw_floor_seconds(ranker, q, chunk))
        t0 = time.perf_counter()
        ranker.top_k(q, K)
        topk = min(topk, time.perf_counter() - t0)
    tracemalloc.start()  # one more top-k run, traced, for its memory
    t0 = time.perf_counter()
    idx, val = ranker.top_k(q, K)
    topk = min(topk, time.perf_counter() - t0)
    res["topk_traced_peak_mib"] = tracemalloc.get_traced_memory()[1] / (1 << 20)
    tracemalloc.stop()
    res["floor_s"], res["topk_s"] = floor, topk
    assert idx.shape == (n_teams, min(K, n_challenges)) and not np.isnan(val).any()

    # naive per-pair loop, on a sample of pairs
    sample = 300
    per_pair = naive_pair_seconds(ranker, teams, challenges, sample, np.random.default_rng(seed + 1))
    res["naive_pair_us"] = per_pair * 1e6
    res["naive_s"] = per_pair * n_teams * n_challenges

    # one new profile against all challenges, no refit
    new_profiles = TextGenerator(seed + 99).profiles(201)
    times = []
    for text in new_profiles:
        t0 = time.perf_counter()
        ranker.top_k([text], K)
        times.append(time.perf_counter() - t0)
    res["one_profile_ms"] = float(np.median(times[1:]) * 1e3)

    res["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
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
    import os

    return (f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
            f"numpy {np.__version__}, {time.strftime('%Y-%m-%d')}")


def fmt_size(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def report(results: list[dict]) -> bool:
    print(f"\nMachine: {machine()}\n")
    print("| teams x challenges | fit | transform profiles | all-pairs top-10 | raw floor | top-10 / floor "
          "| naive loop (extrap.) | speed-up vs naive | one profile (median) | peak RSS | top-k traced peak |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    ok = True
    for r in results:
        ratio = r["topk_s"] / r["floor_s"] if r["floor_s"] > 0 else float("inf")
        speedup = r["naive_s"] / (r["transform_s"] + r["topk_s"])
        print(f"| {fmt_size(r['teams'])} x {fmt_size(r['challenges'])} | {r['fit_s']:.2f} s | {r['transform_s']:.2f} s "
              f"| {r['topk_s']:.2f} s | {r['floor_s']:.2f} s | {ratio:.2f}x | {r['naive_s']:,.0f} s "
              f"| {speedup:,.0f}x | {r['one_profile_ms']:.2f} ms | {r['peak_rss_mib']:,.0f} MiB "
              f"| {r['topk_traced_peak_mib']:,.0f} MiB |")
    print("\nspeed-up vs naive = naive per-pair loop / (transform profiles + all-pairs top-10)")
    print("\nTargets:")
    for r in results:
        size = f"{fmt_size(r['teams'])} x {fmt_size(r['challenges'])}"
        ratio = r["topk_s"] / r["floor_s"] if r["floor_s"] > 0 else float("inf")
        speedup = r["naive_s"] / (r["transform_s"] + r["topk_s"])
        checks = [(f"top-10 within 2x of raw floor ({ratio:.2f}x)", ratio <= 2.0),
                  (f">= 1000x faster than naive loop ({speedup:,.0f}x)", speedup >= 1000)]
        if r["challenges"] >= 10_000:
            checks.append((f"one profile vs {fmt_size(r['challenges'])} challenges <= 20 ms "
                           f"({r['one_profile_ms']:.2f} ms)", r["one_profile_ms"] <= 20))
        if r["teams"] >= 100_000:
            checks.append((f"peak memory < 2 GiB ({r['peak_rss_mib']:,.0f} MiB RSS)",
                           r["peak_rss_mib"] * (1 << 20) < 2 * GIB))
        for text, passed in checks:
            ok &= passed
            print(f"  [{'MET' if passed else 'NOT MET'}] {size}: {text}")
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="1k x 1k only")
    ap.add_argument("--sizes", default="1000x1000,10000x10000,100000x10000",
                    help="comma-separated TEAMSxCHALLENGES")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one size, print JSON
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    if args.one:
        nt, nc = (int(x) for x in args.one.split("x"))
        print(json.dumps(run_one(nt, nc, args.seed)))
        return 0

    sizes = ["1000x1000"] if args.smoke else [s.strip() for s in args.sizes.split(",") if s.strip()]
    results = []
    for size in sizes:
        print(f"running {size} ...", flush=True)
        proc = subprocess.run([sys.executable, __file__, "--one", size, "--seed", str(args.seed)],
                              capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            print(proc.stderr)
            return proc.returncode
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
