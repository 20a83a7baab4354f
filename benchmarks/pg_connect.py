"""What opening the database costs a script run (issue 15.3/4): PostgreSQL without and with the
pool, and SQLite for reference.

Each sample is what ``app.py`` does at the start and end of every rerun: ``open_database()``
(connect, schema check, demo check) and ``close()``. The kinds are interleaved (A, B, C, A, B,
C, ...) so that the load of this shared machine falls on all of them alike; the median and the
range (min-max) are printed in milliseconds.

    python benchmarks/pg_connect.py                 # a throw-away cluster (tests/pg_cluster.py)
    python benchmarks/pg_connect.py --db postgresql://portal@/portal?host=/run/postgresql
    python benchmarks/pg_connect.py --smoke         # 5 rounds
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from matching import db as storage  # noqa: E402
from matching import demo  # noqa: E402


def one_run(target: str, pooled: bool) -> float:
    """Milliseconds for app.py's open and close of one script run."""
    started = time.perf_counter()
    database = storage.connect(target, pooled=pooled)
    demo.ensure_ready(database)
    database.close()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a postgresql:// URI (default: a throw-away cluster)")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    os.environ["PORTAL_DEMO"] = "1"  # the default: every run asks whether the database is empty
    rounds = 5 if args.smoke else args.rounds
    cluster = None
    if args.db:
        uri = args.db
    else:
        import pg_cluster
        cluster = pg_cluster.cluster()
        uri = cluster.uri(cluster.reset())
    folder = tempfile.TemporaryDirectory()
    sqlite_path = str(Path(folder.name) / "portal.db")
    kinds = {"PostgreSQL, a new connection per run (before)": (uri, False),
             "PostgreSQL, pooled (after)": (uri, True),
             "SQLite, a new connection per run (unchanged)": (sqlite_path, False)}
    for target in (uri, sqlite_path):  # one account: a portal in use, not one to seed with demo data
        database = storage.connect(target)
        if database.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 0:
            with storage.transaction(database):
                storage.insert(database, "users", {"email": "fac@pco.gc.ca", "name": "Fac", "role": "facilitator",
                                                   "password_hash": "unused", "created_at": storage.now_iso()})
        database.close()
    for target, pooled in kinds.values():  # fill the pool, warm the caches
        for _ in range(3):
            one_run(target, pooled)
    samples: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(rounds):
        for name, (target, pooled) in kinds.items():
            samples[name].append(one_run(target, pooled))
    load = os.getloadavg()[0]
    print(f"{rounds} interleaved rounds, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} cores, load {load:.1f} (1 min)")
    print(f"{'':50} {'median ms':>10} {'min':>8} {'max':>8}")
    for name, values in samples.items():
        print(f"{name:50} {statistics.median(values):10.2f} {min(values):8.2f} {max(values):8.2f}")
    from matching import pg
    pg.close_pools()
    folder.cleanup()
    if cluster is not None:
        pg_cluster.stop()


if __name__ == "__main__":
    main()
