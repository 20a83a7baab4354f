"""Speed (and quality) benchmark of the assignment optimiser.

Usage::

    python benchmarks/assignment_speed.py            # full run, rewrites the tables in
                                                    # benchmarks/ASSIGNMENT.md
    python benchmarks/assignment_speed.py --smoke    # small sizes only, a few seconds, prints
    python benchmarks/assignment_speed.py --smoke --output /tmp/x.md   # ... and writes there

The full run times :func:`matching.assignment.assign` at 1,000 teams x 1,000 challenges of
capacity 3 (target: <= 2 s) and at 5,000 teams x 1,000 challenges of capacity 3, on two kinds of
instance: "realistic" (:func:`benchmarks.instances.random_instance`: topic-based similarity,
every team ranks 5 challenges) and "uniform" (uniform random similarity, no preferences: the
solver's hardest case here, since only similarity separates solutions). Each time is the median
of ``--repeat`` runs after one warm-up run, and excludes building the instance. It also compares
assign with the first-come greedy baseline on 40 seeded 42-team instances.

The tables are printed and written between the markers ``<!-- assignment-benchmark:start -->``
and ``<!-- assignment-benchmark:end -->`` of the output file (the rest of the file is kept).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import scipy  # noqa: E402

from benchmarks.instances import greedy_baseline, random_instance  # noqa: E402
from matching.assignment import assign  # noqa: E402

START = "<!-- assignment-benchmark:start -->"
END = "<!-- assignment-benchmark:end -->"
TARGET_1K = 2.0


def machine() -> dict[str, str]:
    """nproc, CPU model and library versions of this machine."""
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        nproc = os.cpu_count() or 0
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:  # pragma: no cover
        pass
    return {"nproc": str(nproc), "cpu": model, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__}


def make(kind: str, n: int, m: int, cap: int, seed: int = 1) -> dict:
    if kind == "realistic":
        return random_instance(seed, n, m, cap_range=(cap, cap))
    rng = np.random.default_rng(seed)
    return {"team_ids": [f"T{i:05d}" for i in range(n)], "challenge_ids": list(range(m)),
            "similarity": rng.random((n, m)), "capacities": [cap] * m, "preferences": {}}


def time_it(fn, repeat: int) -> float:
    fn()  # warm-up (page faults, imports)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def speed_rows(sizes, repeat: int) -> list[list[str]]:
    rows = []
    for n, m, cap in sizes:
        for kind in ("realistic", "uniform"):
            inst = make(kind, n, m, cap)
            t_assign = time_it(lambda: assign(**inst), repeat)
            t_greedy = time_it(lambda: greedy_baseline(**inst), 1)
            res = assign(**inst)
            slots = m * cap
            target = f"<= {TARGET_1K:g} s: {'yes' if t_assign <= TARGET_1K else 'NO'}" \
                if (n, m, cap) == (1000, 1000, 3) else ""
            rows.append([f"{n:,}", f"{m:,}", str(cap), f"{n:,} x {slots:,}", kind,
                         f"{t_assign:.2f}", f"{t_greedy:.2f}", f"{res.summary.n_matched:,}",
                         f"1e-{len(str(res.similarity_resolution)) - 1}", target])
            print("  ".join(rows[-1]), file=sys.stderr, flush=True)
    return rows


def quality_rows(seeds: int) -> list[list[str]]:
    figs = ["first_choice_share", "top3_share", "any_choice_share", "mean_similarity"]
    acc = {"assign": {f: [] for f in figs + ["worst_rank"]},
           "greedy": {f: [] for f in figs + ["worst_rank"]}}
    not_worse = dict.fromkeys(figs + ["worst_rank"], 0)
    for seed in range(seeds):
        inst = random_instance(seed)
        a, g = assign(**inst), greedy_baseline(**inst)
        for name, r in (("assign", a), ("greedy", g)):
            for f in figs:
                acc[name][f].append(getattr(r.summary, f))
            acc[name]["worst_rank"].append(r.summary.worst_rank or 6)
        for f, v in a.summary.compare(g.summary).items():
            if f in not_worse:
                not_worse[f] += v >= 0
    rows = []
    for f in figs + ["worst_rank"]:
        fa, fg = np.mean(acc["assign"][f]), np.mean(acc["greedy"][f])
        rows.append([f, f"{fa:.3f}", f"{fg:.3f}", f"{not_worse[f]}/{seeds}"])
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="small sizes only (a few seconds)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per size (median)")
    ap.add_argument("--output", type=Path, default=None,
                    help="markdown file to update (default: benchmarks/ASSIGNMENT.md for a "
                         "full run, nothing for --smoke)")
    args = ap.parse_args(argv)
    if args.smoke:
        sizes, seeds, repeat = [(200, 200, 3), (500, 200, 3)], 5, 1
    else:
        sizes, seeds, repeat = [(1000, 1000, 3), (5000, 1000, 3)], 40, args.repeat
    output = args.output or (None if args.smoke else ROOT / "benchmarks" / "ASSIGNMENT.md")

    info = machine()
    speed = speed_rows(sizes, repeat)
    quality = quality_rows(seeds)
    text = "\n".join([
        START,
        f"Machine: {info['nproc']} CPU(s) available (nproc), {info['cpu']}; Python "
        f"{info['python']}, numpy {info['numpy']}, scipy {info['scipy']}. "
        f"Run: `python benchmarks/assignment_speed.py{' --smoke' if args.smoke else ''}` "
        f"(median of {repeat} run(s) after a warm-up; instance building excluded).",
        "",
        table(["teams", "challenges", "capacity", "cost matrix", "instance", "assign (s)",
               "greedy (s)", "matched", "similarity resolution", "target"], speed),
        "",
        f"Quality on {seeds} seeded realistic instances (42 teams, 34 challenges of capacity "
        "1-3, 5 ranked choices each; `random_instance(seed)`), assign vs the first-come greedy "
        "baseline in input order. Means; worst_rank counts unranked/unmatched as 6; last "
        "column: instances where assign is at least as good on that figure.",
        "",
        table(["figure", "assign (mean)", "greedy (mean)", "assign >= greedy"], quality),
        END,
    ])
    print(text)
    if output is not None:
        old = output.read_text(encoding="utf-8") if output.exists() else ""
        if START in old and END in old:
            new = old[: old.index(START)] + text + old[old.index(END) + len(END):]
        else:
            new = (old.rstrip() + "\n\n" if old else "## Assignment benchmark\n\n") + text + "\n"
        output.write_text(new, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
