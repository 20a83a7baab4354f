"""Page rerun speed with AppTest on a large database (2,000 teams x 500 challenges by default).

Measures the student "Challenges for us" page and the facilitator match matrix: the first load
(which fits the rankers) and the median of later reruns (which must reuse the fitted rankers
and the team's ranked list, cached on the data version). Target: median rerun <= 150 ms after
the first load.

Runs are interleaved: run 1 of every page, then run 2 of every page, and so on; each run starts
with empty caches (so its first load fits again) and reruns the page ``--reruns`` times. The
table gives the median over runs of each run's median rerun, with the range over runs, and the
share of all reruns over the target. A full run writes the table between the page-speed markers
of benchmarks/README.md, with the machine, the date, the commit and the load average at the
start and at the end.

Each page is measured twice per run, interleaved: with AppTest as it is, which compiles
``app.py`` and the page's script again on every rerun (a fresh ``ScriptCache`` per run), and
with the scripts compiled once and kept, as ``streamlit run`` does (the server's ``Runtime``
keeps one ``ScriptCache`` for all reruns of all sessions). The second is what a user waits for;
the first adds AppTest's own compilation (about 30-40 ms on this machine).

    python benchmarks/page_speed.py            # 2,000 teams x 500 challenges, 3 runs x 15 reruns
    python benchmarks/page_speed.py --smoke    # 200 x 50, 2 runs x 3 reruns, prints only
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.readme_tables import write_between_markers  # noqa: E402

from matching import db as storage  # noqa: E402
from matching import matches  # noqa: E402
from matching.accounts import hash_password  # noqa: E402
from matching.demo import read_csv  # noqa: E402
from matching.models import as_list  # noqa: E402

TARGET_MS = 150.0
PAGES = {"student": "views/student_matches.py", "facilitator": "views/fac_matrix.py"}
NAMES = {"student": 'student "Challenges for us"', "facilitator": "facilitator match matrix"}
README = ROOT / "benchmarks" / "README.md"
START, END = "<!-- page-speed:start -->", "<!-- page-speed:end -->"


def build_database(path: Path, n_teams: int, n_challenges: int, seed: int = 0) -> dict[str, int]:
    """A database of recombined demo teams and challenges; returns the two users' ids."""
    rng = random.Random(seed)
    teams, challenges = read_csv("teams.csv"), read_csv("challenges.csv")
    departments = read_csv("departments.csv")
    db = storage.connect(path)
    now = storage.now_iso()
    password = hash_password("benchmark-password")
    with storage.transaction(db):
        dept_ids = {d["acronym"]: storage.insert(db, "departments", d) for d in departments}
        term = storage.insert(db, "terms", {"name": "Benchmark", "state": "intake", "created_at": now})
        team_ids = []
        for i in range(n_teams):
            base, other = rng.choice(teams), rng.choice(teams)
            skills = as_list(base["skills"]) + rng.sample(as_list(other["skills"]), 2)
            team_ids.append(storage.insert(db, "teams", {
                "term_id": term, "name": f"{base['name']} {i}", "program": base["program"],
                "skills": skills, "interests": as_list(other["interests"]),
                "past_work": base["past_work"], "language": base["language"], "updated_at": now}))
        for i in range(n_challenges):
            base, other = rng.choice(challenges), rng.choice(challenges)
            storage.insert(db, "challenges", {
                "term_id": term, "department_id": dept_ids[base["dept_acronym"]],
                "title": f"{base['title']} ({i})", "problem": base["problem"] + " " + other["outcomes"],
                "outcomes": base["outcomes"], "themes": as_list(base["themes"]) + as_list(other["themes"])[:1],
                "language": base["language"], "capacity": int(base["capacity"]), "sme_name": base["sme_name"],
                "sme_email": base["sme_email"], "unclassified": True, "status": "approved",
                "created_at": now, "updated_at": now})
        users = {}
        for role, email, team in (("student", "student@bench.ca", team_ids[0]), ("facilitator", "fac@bench.ca", None)):
            users[role] = storage.insert(db, "users", {
                "email": email, "name": role.title(), "role": role, "team_id": team,
                "password_hash": password, "language": "en", "created_at": now})
    db.close()
    return users


def time_page(user_id: int, page: str, reruns: int, compile_once: bool = False) -> tuple[float, list[float]]:
    """One run: empty caches, first load of ``page``, then ``reruns`` timed reruns (seconds).

    ``compile_once``: the scripts' bytecode is kept across reruns, as the server keeps it
    (AppTest otherwise makes a new ScriptCache, so compiles app.py and the page, every rerun)."""
    import streamlit.testing.v1.app_test as app_test
    import streamlit.testing.v1.local_script_runner as local_runner
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import AppTest

    shared = ScriptCache()
    saved = app_test.ScriptCache, local_runner.ScriptCache
    if compile_once:
        app_test.ScriptCache = local_runner.ScriptCache = lambda: shared
    try:
        matches.clear_cache()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at.session_state["user_id"] = user_id
        at.session_state["lang"] = "en"
        at.run()
        start = time.perf_counter()
        at.switch_page(page).run()
        first = time.perf_counter() - start
        if at.exception:
            raise RuntimeError(f"{page}: {at.exception}")
        times = []
        for _ in range(reruns):
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
        if at.exception:
            raise RuntimeError(f"{page}: {at.exception}")
    finally:
        app_test.ScriptCache, local_runner.ScriptCache = saved
    return first, times


def _version() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "matching", "views", "app.py", "ui.py"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        return rev + (" with uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"


def _loadavg() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{len(os.sched_getaffinity(0))} CPUs ({cpu})"




def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small database, few reruns, prints only")
    parser.add_argument("--teams", type=int, default=2000)
    parser.add_argument("--challenges", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs per page")
    parser.add_argument("--reruns", type=int, default=15, help="timed reruns per run")
    parser.add_argument("--no-write", action="store_true", help="print only, do not rewrite the README")
    args = parser.parse_args(argv)
    if args.smoke:
        args.teams, args.challenges, args.runs, args.reruns = 200, 50, 2, 3
    load_start = _loadavg()
    variants = {"apptest": False, "compiled": True}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        os.environ["PORTAL_DB"] = str(path)
        os.environ["PORTAL_DEMO"] = "0"
        start = time.perf_counter()
        users = build_database(path, args.teams, args.challenges)
        print(f"database: {args.teams} teams x {args.challenges} challenges built in "
              f"{time.perf_counter() - start:.1f} s", flush=True)
        pages = {role: page for role, page in PAGES.items() if (ROOT / page).exists()}
        cells = [(role, v) for role in pages for v in variants]
        firsts: dict[tuple, list[float]] = {c: [] for c in cells}
        medians: dict[tuple, list[float]] = {c: [] for c in cells}
        every: dict[tuple, list[float]] = {c: [] for c in cells}
        for run in range(args.runs):
            for role, variant in cells:  # interleaved: each run visits every page and variant in turn
                first, times = time_page(users[role], pages[role], args.reruns, variants[variant])
                firsts[role, variant].append(first * 1000)
                medians[role, variant].append(statistics.median(times) * 1000)
                every[role, variant] += [t * 1000 for t in times]
                print(f"run {run + 1} {pages[role]} ({variant}): first {first * 1000:.0f} ms, median "
                      f"rerun {medians[role, variant][-1]:.0f} ms", flush=True)
    import streamlit
    lines = [f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} at {_version()}: {args.teams:,} teams x "
             f"{args.challenges:,} challenges, {_machine()}, Python {platform.python_version()}, "
             f"Streamlit {streamlit.__version__}; load average (1, 5, 15 min) {load_start} at the "
             f"start and {_loadavg()} at the end (the machine is shared: with a load above its "
             f"{os.cpu_count()} cores the times are inflated). {args.runs} runs per page, pages and "
             f"variants interleaved, each run from empty caches then {args.reruns} reruns; median "
             f"over runs (range over runs). \"AppTest as is\" compiles app.py and the page again on "
             f"every rerun; \"compiled once\" keeps the bytecode as `streamlit run` does.", "",
             f"| page | first load (ms) | median rerun, AppTest as is (ms) | median rerun, compiled "
             f"once (ms) | reruns over {TARGET_MS:.0f} ms (as is / compiled once) | median rerun <= "
             f"{TARGET_MS:.0f} ms (as is / compiled once) |", "|---|---|---|---|---|---|"]
    ok = True
    for role, page in PAGES.items():
        if role not in pages:
            lines.append(f"| {page} | (page missing) | | | | |")
            continue
        f = firsts[role, "apptest"] + firsts[role, "compiled"]
        cells_text, over, verdicts = [], [], []
        for variant in variants:
            m = medians[role, variant]
            median = statistics.median(m)
            cells_text.append(f"{median:.0f} ({min(m):.0f}-{max(m):.0f})")
            over.append(f"{sum(t > TARGET_MS for t in every[role, variant])}/{len(every[role, variant])}")
            verdicts.append("met" if median <= TARGET_MS else "NOT met")
            if role == "student":
                ok &= median <= TARGET_MS
        lines.append(f"| {NAMES[role]} | {statistics.median(f):,.0f} ({min(f):,.0f}-{max(f):,.0f}) | "
                     f"{cells_text[0]} | {cells_text[1]} | {' / '.join(over)} | {' / '.join(verdicts)} |")
    text = "\n".join(lines)
    print("\n" + text)
    if not (args.smoke or args.no_write):
        write_between_markers(README, text, START, END)
        print(f"\nwritten between the page-speed markers of {README}")
    return 0 if ok or args.smoke else 1


if __name__ == "__main__":
    raise SystemExit(main())
