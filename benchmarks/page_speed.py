"""Page rerun speed with AppTest on a large database (2,000 teams x 500 challenges by default).

Measures the student "Challenges for us" page and the facilitator match matrix: the first load
(which fits the rankers) and the median of later reruns (which must reuse the fitted rankers,
cached on the data version). Target: median rerun <= 150 ms after the first load.

    python benchmarks/page_speed.py            # 2,000 teams x 500 challenges
    python benchmarks/page_speed.py --smoke    # 200 x 50, a few reruns (CI smoke test)
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matching import db as storage  # noqa: E402
from matching.accounts import hash_password  # noqa: E402
from matching.demo import read_csv  # noqa: E402
from matching.models import as_list  # noqa: E402

TARGET_MS = 150.0
PAGES = {"student": "views/student_matches.py", "facilitator": "views/fac_matrix.py"}


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


def time_page(user_id: int, page: str, reruns: int) -> tuple[float, list[float]]:
    from streamlit.testing.v1 import AppTest
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
    return first, times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small database, few reruns")
    parser.add_argument("--teams", type=int, default=2000)
    parser.add_argument("--challenges", type=int, default=500)
    parser.add_argument("--reruns", type=int, default=15)
    args = parser.parse_args(argv)
    if args.smoke:
        args.teams, args.challenges, args.reruns = 200, 50, 3
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        os.environ["PORTAL_DB"] = str(path)
        os.environ["PORTAL_DEMO"] = "0"
        start = time.perf_counter()
        users = build_database(path, args.teams, args.challenges)
        print(f"database: {args.teams} teams x {args.challenges} challenges built in "
              f"{time.perf_counter() - start:.1f} s")
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}")
        print(f"| page | first load (ms) | median rerun (ms) | p90 rerun (ms) | target <= {TARGET_MS:.0f} ms |")
        print("|---|---|---|---|---|")
        ok = True
        for role, page in PAGES.items():
            if not (ROOT / page).exists():
                print(f"| {page} | (page missing) | | | |")
                continue
            first, times = time_page(users[role], page, args.reruns)
            median = statistics.median(times) * 1000
            p90 = sorted(times)[max(0, int(len(times) * 0.9) - 1)] * 1000
            met = median <= TARGET_MS
            ok &= met
            print(f"| {page} | {first * 1000:.0f} | {median:.0f} | {p90:.0f} | {'met' if met else 'NOT met'} |")
    return 0 if ok or args.smoke else 1


if __name__ == "__main__":
    raise SystemExit(main())
