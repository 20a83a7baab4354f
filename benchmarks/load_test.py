"""Load test (issue 15.7): N concurrent browser sessions doing the student journey against one and
two app servers on PostgreSQL, and one app server on SQLite.

Each session is a Playwright context in one headless Chromium (Debian's, /usr/bin/chromium) and a
different demo student (so a different team). The journey, clicked as soon as the previous page
has settled (no think time):

    open the portal -> sign in -> ROUNDS x [open "Challenges for us" -> filter (search a word)
    -> add the first challenge not yet chosen to the preferences -> open "Preferences"]

A *page time* is from the action (the click, the Enter, the navigation) to the moment the app's
script state is ``notRunning`` again and stays so for ``SETTLE`` seconds; it is read in the page
from a MutationObserver on ``data-test-script-state`` (no polling error), so a page that runs its
script twice (a sign-in runs again once the cookie is set) counts until the last run ends. The
settle wait itself is not counted. *Pages per second* is all page times of a measurement divided
by its wall time (first action to last settled page).

With two servers the sessions are split between them (even sessions on A, odd on B), as a sticky
proxy would; no proxy is in the way (docs/DEPLOY.md tests nginx separately). The PostgreSQL server
is a throw-away cluster (tests/pg_cluster.py) on this machine, over a Unix socket.

Measurements are interleaved: run 1 of every (configuration, N), then run 2, ... (configuration
order rotated per run); before each measurement the sessions' teams get their preferences emptied
(untimed). The table gives the median over runs and the range. CPU used by the app servers (and
PostgreSQL) and by the browser is read from /proc, to show what share of the machine each took:
the load generator runs on the same two cores as the servers, so the server figures are lower
bounds of what the servers alone could do.

    python benchmarks/load_test.py                # 1, 2, 4, 8, 12, 16 sessions x 3 configurations x 3 runs
    python benchmarks/load_test.py --smoke        # 1 session, SQLite only, 1 run, prints only
    python benchmarks/load_test.py --sessions 1 4 --runs 2 --no-write
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.readme_tables import write_between_markers  # noqa: E402

README = ROOT / "benchmarks" / "README.md"
START, END = "<!-- load-test:start -->", "<!-- load-test:end -->"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
                 "--disable-backgrounding-occluded-windows"]
PASSWORD = "demo-portal-2027"
#: A page has settled when the script state stayed notRunning this long (not counted in its time).
SETTLE = 0.3
ACTION_TIMEOUT_MS = 120_000
#: Search words, one per round: each leaves several challenges of the demo data to choose from.
WORDS = ["service", "data", "health", "young", "climate"]
CONFIGURATIONS = {"pg1": ("PostgreSQL", 1), "pg2": ("PostgreSQL", 2), "sqlite1": ("SQLite", 1)}

#: Installed before any page script: records every change of the app's script and connection state
#: with the page's own clock (performance.now()).
OBSERVER_JS = """
window.__portalRuns = [];
new MutationObserver((changes) => {
  for (const change of changes) {
    const el = change.target;
    if (el.getAttribute && el.getAttribute('data-testid') === 'stApp') {
      window.__portalRuns.push([performance.now(), el.getAttribute('data-test-script-state'),
                                el.getAttribute('data-test-connection-state')]);
    }
  }
}).observe(document, {subtree: true, attributes: true,
                      attributeFilter: ['data-test-script-state', 'data-test-connection-state']});
"""
#: The end of the last script run begun after t0, once the state stayed notRunning for ``settle`` ms.
SETTLED_JS = """
([t0, settle]) => {
  let ran = false, end = null;
  for (const [t, state] of (window.__portalRuns || [])) {
    if (t < t0) { ran = state === 'running'; continue; }  // an action during a run joins that run
    if (state === 'running') { ran = true; end = null; }
    else if (ran && state === 'notRunning') end = t;
  }
  if (end === null || performance.now() - end < settle) return false;
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning'
      || app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  return end;
}
"""
#: First load: the app connected, its first run over, and the sign-in form drawn.
LOADED_JS = """
(settle) => {
  const app = document.querySelector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
                                     + '[data-test-script-state="notRunning"]');
  const form = document.querySelector('[data-testid="stForm"]');
  if (!app || !form) { window.__portalLoaded = null; return false; }
  if (window.__portalLoaded == null) window.__portalLoaded = performance.now();
  return performance.now() - window.__portalLoaded >= settle ? window.__portalLoaded : false;
}
"""


# --- machine and processes ------------------------------------------------------------------

def machine() -> str:
    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            kib = int(next(line.split()[1] for line in fh if line.startswith("MemTotal")))
        ram = f"{kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        ram = "RAM unknown"
    return f"{len(os.sched_getaffinity(0))} CPUs ({cpu}), {ram}"


def version() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "matching", "views", "app.py", "ui.py"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        return rev + (" with uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"


_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, own CPU seconds, CPU seconds of its reaped children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK, (int(fields[13]) + int(fields[14])) / _TICK


def tree_cpu(roots: set[int], exclude: set[int] = frozenset()) -> float:
    """CPU seconds used so far by ``roots`` and their descendants (not those under ``exclude``),
    the children they already reaped included."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            found = _stat(int(entry.name))
            if found:
                stats[int(entry.name)] = found
    inside, frontier = set(), set(roots) & stats.keys()
    while frontier:
        inside |= frontier
        frontier = {pid for pid, (parent, _, _) in stats.items() if parent in frontier} - inside - set(exclude)
    return sum(stats[pid][1] + stats[pid][2] for pid in inside)


class LoadWatch:
    """The 1-minute load average, sampled every 2 seconds while the benchmark runs."""

    def __init__(self):
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# --- databases and servers --------------------------------------------------------------------

def load_demo(target: str) -> str:
    """The demo data into ``target``; what it holds, in words."""
    from matching import db as storage
    from matching import demo
    database = storage.connect(target)
    try:
        demo.load_demo(database)
        teams = database.execute("SELECT COUNT(*) FROM teams").fetchone()[0]
        approved = database.execute("SELECT COUNT(*) FROM challenges WHERE status = 'approved'").fetchone()[0]
        return f"{teams} teams, {approved} approved challenges"
    finally:
        database.close()


def start_servers(target: str, count: int, folder: Path, tag: str) -> list[tuple[subprocess.Popen, str]]:
    from tests.browser.conftest import free_port, wait_healthy
    env = {**os.environ, "PORTAL_DB": target, "PORTAL_DEMO": "1", "PYTHONPATH": str(ROOT),
           "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    servers, ports = [], set()
    for i in range(count):
        port = free_port()
        while port in ports:
            port = free_port()
        ports.add(port)
        log = folder / f"server_{tag}_{i}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "matching.cli", "serve", "--port", str(port)],
                                       cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        servers.append((process, f"http://127.0.0.1:{port}", log))
    for process, url, log in servers:
        wait_healthy(url, process, log)
    return [(process, url) for process, url, _ in servers]


def students(target: str, count: int) -> list[dict]:
    """``count`` demo students of different teams: email, user and team."""
    from matching import accounts
    from matching import db as storage
    database = storage.connect(target)
    try:
        rows = list(database.query("SELECT email FROM users WHERE role = 'student' AND team_id IS NOT NULL "
                                   "ORDER BY id"))
        chosen, teams_seen = [], set()
        for row in rows:
            user = accounts.find_user(database, row["email"])
            if user.team_id not in teams_seen:
                teams_seen.add(user.team_id)
                chosen.append({"email": user.email, "user": user, "team_id": user.team_id})
        if len(chosen) < count:
            raise SystemExit(f"the demo data has {len(chosen)} teams with a student; {count} sessions asked")
        return chosen[:count]
    finally:
        database.close()


def empty_preferences(target: str, people: list[dict]) -> None:
    from matching import db as storage
    from matching import teams
    database = storage.connect(target)
    try:
        for person in people:
            teams.save_preferences(database, person["user"], person["team_id"], [])
    finally:
        database.close()


def preferences_count(target: str, people: list[dict]) -> int:
    from matching import db as storage
    from matching import teams
    database = storage.connect(target)
    try:
        return sum(len(teams.get_preferences(database, p["user"], p["team_id"])) for p in people)
    finally:
        database.close()


# --- one browser session ----------------------------------------------------------------------

@dataclass
class Session:
    times: list[tuple[str, float]] = field(default_factory=list)  # (action, seconds)
    cpu: list[tuple[str, float]] = field(default_factory=list)    # (action, server CPU seconds), one session alone
    errors: list[str] = field(default_factory=list)
    first: float | None = None  # wall clock of the first action
    t0: float = 0.0             # page clock at the start of the last timed action
    last: float | None = None   # wall clock when the last page settled


async def timed(page, session: Session, kind: str, action, done=None, probe=None) -> None:
    """Do ``action``; its page time ends with the last script run it caused, once ``done`` (a
    locator that must be there: what the page is for) is visible and the app has settled."""
    t0 = await page.evaluate("performance.now()")
    cpu0 = probe() if probe else None
    try:
        await action()
        end = None
        for _ in range(2):  # a run can follow after the app looked settled (the sign-in's cookie answer)
            handle = await page.wait_for_function(SETTLED_JS, arg=[t0, SETTLE * 1000], timeout=ACTION_TIMEOUT_MS,
                                                  polling=25)
            end = await handle.json_value()
            if done is None or await done.count():
                break
            await done.first.wait_for(timeout=ACTION_TIMEOUT_MS)
        else:
            if not await done.count():
                raise RuntimeError("the page did not show what it is for")
    except Exception as err:
        events = await page.evaluate("(t0) => (window.__portalRuns || []).filter(e => e[0] >= t0 - 1000)"
                                     ".slice(-6).map(e => [Math.round(e[0] - t0), e[1], e[2]])", t0)
        raise RuntimeError(f"{kind}: {type(err).__name__}: {str(err).splitlines()[0][:120]}; "
                           f"script states since the action (ms, state, connection): {events}") from err
    session.times.append((kind, (end - t0) / 1000))
    session.t0 = t0
    if probe:
        session.cpu.append((kind, probe() - cpu0))
    session.last = time.monotonic() - SETTLE


async def nav(page, text: str) -> None:
    nav = page.get_by_test_id("stSidebarNav")
    await nav.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text(text, exact=True)).click()


async def journey(browser, url: str, email: str, rounds: int, probe=None) -> Session:
    """One person's journey in a fresh context; ``probe`` (one session alone) reads the servers'
    CPU seconds around each page."""
    session = Session()
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-CA")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    await context.add_init_script(OBSERVER_JS)
    page = await context.new_page()
    main = page.get_by_test_id("stMain")
    heading = lambda name: main.get_by_role("heading", name=name, level=1)  # noqa: E731
    try:
        session.first = time.monotonic()
        cpu0 = probe() if probe else None
        await page.goto(url)
        handle = await page.wait_for_function(LOADED_JS, arg=SETTLE * 1000, timeout=ACTION_TIMEOUT_MS, polling=25)
        session.times.append(("open", await handle.json_value() / 1000))  # since navigation start
        if probe:
            session.cpu.append(("open", probe() - cpu0))
        await page.get_by_label("E-mail", exact=True).fill(email)
        await page.get_by_label("Password", exact=True).fill(PASSWORD)
        signed_in = page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out")
        await timed(page, session, "sign in", page.get_by_role("button", name="Sign in").click, signed_in, probe)
        deadline = time.monotonic() + 30  # the cookie route answered (a run follows it): part of signing in
        while not any(c["name"] == "portal_session" for c in await context.cookies()):
            if time.monotonic() > deadline:
                raise RuntimeError("sign in: the session cookie did not arrive")
            await asyncio.sleep(0.05)
        await asyncio.sleep(SETTLE)
        handle = await page.wait_for_function(SETTLED_JS, arg=[session.t0, SETTLE * 1000], timeout=ACTION_TIMEOUT_MS,
                                              polling=25)
        session.times[-1] = ("sign in", (await handle.json_value() - session.t0) / 1000)
        session.last = time.monotonic() - SETTLE
        count = main.get_by_text(re.compile(r"^\d+ of \d+ challenges$"))
        for r in range(rounds):
            await timed(page, session, "challenges", lambda: nav(page, "Challenges for us"), count, probe)
            search = main.get_by_label("Search", exact=True)

            async def filter_(word=WORDS[r % len(WORDS)]):
                await search.fill(word)
                await search.press("Enter")
            await timed(page, session, "filter", filter_, count, probe)
            added = main.get_by_text(re.compile(r"^Added to your preferences as choice \d+\.$"))
            await timed(page, session, "add", main.get_by_role("button", name="Add to preferences").first.click,
                        added, probe)
            await timed(page, session, "preferences", lambda: nav(page, "Preferences"), heading("Preferences"),
                        probe)
    except Exception as err:  # noqa: BLE001 - a failed session is reported, the others go on
        session.errors.append(f"{email}: {type(err).__name__}: {str(err).splitlines()[0][:200]}")
    finally:
        await context.close()
    return session


async def measure(browser, urls: list[str], people: list[dict], rounds: int, probe=None) -> list[Session]:
    """Every person's journey at once (even ones on the first server, odd ones on the second)."""
    if len(people) != 1:
        probe = None  # CPU per page only means something for a session alone
    return await asyncio.gather(*(journey(browser, urls[i % len(urls)], person["email"], rounds, probe)
                                  for i, person in enumerate(people)))


# --- the benchmark ----------------------------------------------------------------------------

@dataclass
class Result:
    pages_per_second: float
    p50: float
    p95: float
    server_cpu_per_page: float   # ms of CPU used by the app servers and PostgreSQL per page
    server_cores: float          # the app servers' CPU seconds per wall second
    database_cores: float        # PostgreSQL's
    client_cores: float          # the browser's (and Playwright's)
    errors: int
    pages: int
    kind_times: dict = field(default_factory=dict)  # action -> page times (ms)
    kind_cpu: dict = field(default_factory=dict)    # action -> server CPU (ms), one session alone


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="1 session, SQLite only, 1 run, 1 round; prints only")
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 2, 4, 8, 12, 16])
    parser.add_argument("--configurations", nargs="+", choices=list(CONFIGURATIONS), default=list(CONFIGURATIONS))
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs of every measurement")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the journey per session (at most 5)")
    parser.add_argument("--no-write", action="store_true", help="print only, do not rewrite the README")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sessions, args.configurations, args.runs, args.rounds = [1], ["sqlite1"], 1, 1
    if not CHROMIUM.exists():
        print(f"skip: {CHROMIUM} is missing (apt-get install chromium)")
        return 0
    os.environ.setdefault("PORTAL_DEMO", "1")
    started_at = time.strftime("%Y-%m-%d %H:%M %Z")
    load_start = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="portal-load-") as folder, LoadWatch() as watch:
        return asyncio.run(_benchmark(args, Path(folder), watch, started_at, load_start))


async def _benchmark(args, folder: Path, watch: LoadWatch, started_at: str, load_start: str) -> int:
    from playwright.async_api import async_playwright

    targets, servers, skipped, postgres_pids = {}, {}, [], set()
    cluster = None
    try:
        if "sqlite1" in args.configurations:
            targets["SQLite"] = str(folder / "portal.db")
        if {"pg1", "pg2"} & set(args.configurations):
            from tests.pg_cluster import Cluster
            cluster = Cluster()
            try:
                cluster.start()
                name = cluster.create()
                targets["PostgreSQL"] = cluster.uri(name)
                postgres_pids.add(int((cluster.folder / "data" / "postmaster.pid").read_text().split()[0]))
            except Exception as err:  # noqa: BLE001 - reported, the SQLite part still runs
                skipped.append(f"PostgreSQL could not be started ({err}): its configurations are left out")
                cluster.stop()
                cluster = None
        configurations = [c for c in args.configurations if CONFIGURATIONS[c][0] in targets]
        for backend, target in targets.items():
            start = time.perf_counter()
            args.data = load_demo(target)
            count = max(CONFIGURATIONS[c][1] for c in configurations if CONFIGURATIONS[c][0] == backend)
            servers[backend] = start_servers(target, count, folder, backend)
            print(f"{backend}: demo data loaded and {count} server(s) started in {time.perf_counter() - start:.1f} s",
                  flush=True)
        people = {backend: students(target, max(args.sessions)) for backend, target in targets.items()}
        results: dict[tuple[str, int], list[Result]] = {}
        server_pids = {pid for group in servers.values() for pid in (p.pid for p, _ in group)}
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for backend in servers:  # warm-up (untimed): first runs fit the rankers, import everything
                for _, url in servers[backend]:
                    await measure(browser, [url], people[backend][:1], 1)
            for run in range(args.runs):
                order = configurations[run % len(configurations):] + configurations[:run % len(configurations)]
                for n in args.sessions:
                    for configuration in order:
                        backend, count = CONFIGURATIONS[configuration]
                        urls = [url for _, url in servers[backend][:count]]
                        chosen = people[backend][:n]
                        empty_preferences(targets[backend], chosen)
                        roots = {p.pid for p, _ in servers[backend][:count]}
                        database_roots = postgres_pids if backend == "PostgreSQL" else set()
                        server_before, database_before = tree_cpu(roots), tree_cpu(database_roots)
                        client_before = tree_cpu({os.getpid()}, exclude=server_pids)
                        wall_start = time.monotonic()
                        sessions = await measure(browser, urls, chosen, args.rounds,
                                                 lambda: tree_cpu(roots) + tree_cpu(database_roots))
                        # from the first action to the last settled page
                        wall = max(s.last or wall_start for s in sessions) - min(s.first or wall_start for s in sessions)
                        server_cpu = tree_cpu(roots) - server_before
                        database_cpu = tree_cpu(database_roots) - database_before
                        client_cpu = tree_cpu({os.getpid()}, exclude=server_pids) - client_before
                        times = [t for s in sessions for _, t in s.times]
                        errors = [e for s in sessions for e in s.errors]
                        saved = preferences_count(targets[backend], chosen)
                        if saved != n * args.rounds:
                            errors.append(f"{saved} preferences saved, {n * args.rounds} added")
                        wall = max(wall, 1e-3)
                        result = Result(len(times) / wall, percentile(times, 0.5) * 1000, percentile(times, 0.95) * 1000,
                                        (server_cpu + database_cpu) / max(len(times), 1) * 1000, server_cpu / wall,
                                        database_cpu / wall, client_cpu / wall, len(errors), len(times))
                        for s in sessions:
                            for kind, t in s.times:
                                result.kind_times.setdefault(kind, []).append(t * 1000)
                            for kind, c in s.cpu:
                                result.kind_cpu.setdefault(kind, []).append(c * 1000)
                        results.setdefault((configuration, n), []).append(result)
                        print(f"run {run + 1} {configuration} N={n}: {result.pages} pages in {wall:.1f} s, "
                              f"{result.pages_per_second:.2f} pages/s, p50 {result.p50:.0f} ms, p95 {result.p95:.0f} ms, "
                              f"server CPU {result.server_cpu_per_page:.0f} ms/page (app {result.server_cores:.2f} cores, "
                              f"PostgreSQL {result.database_cores:.2f}), "
                              f"browser {result.client_cores:.2f} cores, load {os.getloadavg()[0]:.1f}"
                              + (f", ERRORS: {errors[:3]}" if errors else ""), flush=True)
            await browser.close()
    finally:
        for group in servers.values():
            for process, _ in group:
                if process.poll() is None:
                    process.terminate()
                    try:
                        process.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        process.kill()
        if cluster is not None:
            cluster.stop()
    text = report(args, results, configurations, skipped, watch, started_at, load_start)
    print("\n" + text)
    if not (args.smoke or args.no_write):
        write_between_markers(README, text, START, END)
        print(f"\nwritten between the load-test markers of {README}")
    return 0 if all(r.errors == 0 for rs in results.values() for r in rs) else 1


def _cell(values: list[float], digits: int = 0) -> str:
    if not values:
        return ""
    middle = statistics.median(values)
    if len(values) == 1:
        return f"{middle:,.{digits}f}"
    return f"{middle:,.{digits}f} ({min(values):,.{digits}f}-{max(values):,.{digits}f})"


def report(args, results, configurations, skipped, watch: LoadWatch, started_at: str, load_start: str) -> str:
    import streamlit
    samples = watch.samples or [os.getloadavg()[0]]
    lines = [
        f"Measured {started_at} at {version()} on {machine()}, Python {platform.python_version()}, "
        f"Streamlit {streamlit.__version__}, Chromium {CHROMIUM} headless; load generator and servers on "
        f"the same machine. Load average at the start {load_start}; 1-minute load average during the run "
        f"{min(samples):.1f}-{max(samples):.1f} (median {statistics.median(samples):.1f}), sampled every 2 s. "
        f"The machine is shared with other sessions' work: with a load above its "
        f"{len(os.sched_getaffinity(0))} cores, page times are upper bounds and pages per second lower "
        f"bounds of what the portal does on an idle machine.",
        "",
        f"Journey per session: open, sign in, then {args.rounds} x (Challenges for us, filter by a word, add a "
        f"preference, Preferences) = {2 + 4 * args.rounds} pages, clicked as soon as the previous one settled "
        f"(no think time). {args.runs} interleaved run(s) per cell; median over runs (range). Demo data "
        f"({getattr(args, 'data', '?')}). Server CPU per page: app server processes and PostgreSQL together; "
        f"cores used: CPU seconds per second of the measurement (the machine has {len(os.sched_getaffinity(0))}); "
        f"browser: Chromium and Playwright.",
        "",
        "| backend, app servers | sessions | pages/s | p50 page time (ms) | p95 page time (ms) | server CPU per page (ms) | app server cores used | PostgreSQL cores used | browser cores used | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for configuration in configurations:
        backend, count = CONFIGURATIONS[configuration]
        for n in args.sessions:
            rs = results.get((configuration, n), [])
            if not rs:
                continue
            lines.append(
                f"| {backend}, {count} | {n} | {_cell([r.pages_per_second for r in rs], 2)} | {_cell([r.p50 for r in rs])} | "
                f"{_cell([r.p95 for r in rs])} | {_cell([r.server_cpu_per_page for r in rs])} | "
                f"{_cell([r.server_cores for r in rs], 2)} | "
                f"{_cell([r.database_cores for r in rs], 2) if backend == 'PostgreSQL' else '-'} | "
                f"{_cell([r.client_cores for r in rs], 2)} | "
                f"{sum(r.errors for r in rs)} |")
    lines += actions_table(args, results, configurations)
    lines += [""] + [f"*{s}*" for s in skipped]
    lines += ["", saturation(args, results, configurations, statistics.median(samples))]
    return "\n".join(line for line in lines).rstrip() + "\n"


def actions_table(args, results, configurations) -> list[str]:
    """Median page time of each action with the fewest and the most sessions, and its server CPU
    with one session alone (all runs pooled)."""
    kinds = ["open", "sign in", "challenges", "filter", "add", "preferences"]
    low, high = min(args.sessions), max(args.sessions)
    heads = [f"{CONFIGURATIONS[c][0]}, {CONFIGURATIONS[c][1]}: {n} session{'s' if n > 1 else ''}"
             for c in configurations for n in sorted({low, high})]
    lines = ["", "Median page time (ms) of each action; server CPU (ms) per action measured with one session alone "
             "(app server and PostgreSQL, all runs pooled):", "",
             "| action | " + " | ".join(heads) + " | server CPU, one session |",
             "|---|" + "---|" * (len(heads) + 1)]
    for kind in kinds:
        cells = []
        for configuration in configurations:
            for n in sorted({low, high}):
                pooled = [t for r in results.get((configuration, n), []) for t in r.kind_times.get(kind, [])]
                cells.append(f"{statistics.median(pooled):,.0f}" if pooled else "")
        cpu = [c for configuration in configurations for r in results.get((configuration, 1), [])
               for c in r.kind_cpu.get(kind, [])]
        lines.append(f"| {kind} | " + " | ".join(cells) + f" | {statistics.median(cpu):,.0f} |" if cpu else
                     f"| {kind} | " + " | ".join(cells) + " | |")
    return lines


def saturation(args, results, configurations, load: float) -> str:
    """Where one server stops gaining throughput, from the medians, why, and what it means per server."""
    def med(configuration, n, attribute):
        rs = results.get((configuration, n), [])
        return statistics.median(getattr(r, attribute) for r in rs) if rs else None

    def peak(configuration):
        rates = {n: med(configuration, n, "pages_per_second") for n in args.sessions}
        rates = {n: r for n, r in rates.items() if r is not None}
        return (max(rates, key=rates.get), rates) if rates else (None, {})

    best_n, rates = peak("pg1")
    if best_n is None or len(rates) < 2:
        return "*Too few measurements to say where one server saturates.*"
    cores = len(os.sched_getaffinity(0))
    knee = next(n for n in rates if rates[n] >= 0.9 * rates[best_n])
    last = max(rates)
    app, database = med("pg1", best_n, "server_cores"), med("pg1", best_n, "database_cores")
    browser = med("pg1", best_n, "client_cores")
    got = app + database + browser
    most_app = max(r.server_cores for c in configurations for rs in [results.get((c, n), []) for n in rates]
                   for r in rs)
    text = [f"**Where one server saturates** (written by the script from the medians above). One app server "
            f"on PostgreSQL reaches 90% of its highest throughput ({rates[best_n]:.2f} pages/s, at {best_n} "
            f"sessions) from {knee} concurrent session{'s' if knee > 1 else ''} on; past that, more sessions only "
            f"wait longer (p95 {med('pg1', knee, 'p95'):,.0f} ms at {knee}, {med('pg1', last, 'p95'):,.0f} ms at "
            f"{last}). At the peak this benchmark's processes got {got:.2f} cores in all: the app server "
            f"{app:.2f}, PostgreSQL {database:.2f}, the browsers {browser:.2f} ({browser / got:.0%})."]
    if app < 0.8:
        text.append(f"So what saturated was the machine, not the app server: the app servers never used more "
                    f"than {most_app:.2f} cores together in any measurement, while the browsers (which a real deployment "
                    f"does not run) took most of the CPU this benchmark got"
                    + (f", and other work kept the machine's load average at {load:.0f} on {cores} cores."
                       if load > cores else "."))
    else:
        text.append("The app server process used most of a core: it was the bottleneck.")
    best_two, two = peak("pg2")
    if best_two is not None:
        text.append(f"Two app servers peak at {two[best_two]:.2f} pages/s ({best_two} sessions), "
                    f"{two[best_two] / rates[best_n]:.2f} times one server on the same shared cores"
                    + (": with the machine the limit, a second server cannot add throughput here." if app < 0.8
                       else "."))
    best_lite, lite = peak("sqlite1")
    if best_lite is not None:
        text.append(f"One server on SQLite peaks at {lite[best_lite]:.2f} pages/s ({best_lite} sessions).")
    alone = [c for configuration in configurations for r in results.get((configuration, 1), [])
             for kinds in [r.kind_cpu] for values in kinds.values() for c in values]
    per_page = statistics.mean(alone) if alone else med("pg1", best_n, "server_cpu_per_page")
    per_core = 1000 / per_page if per_page else 0.0
    text.append(f"**What it implies per server:** a page of this journey costs the server side (app server "
                f"and database) about {per_page:.0f} ms of CPU (mean over the actions of one session alone, "
                f"sign-in's deliberately slow password hash included), so one core does at most about "
                f"{per_core:.1f} pages/s of it. A person who clicks every 10 seconds asks for 0.1 pages/s: one core "
                f"carries about {per_core * 10:.0f} people clicking at once before pages queue. A Streamlit server "
                f"runs every session's script in threads of one Python process (one interpreter lock), so it "
                f"cannot use much more than one core: run one `portal serve` per core and add servers (and "
                f"machines) behind the sticky proxy for more people (docs/DEPLOY.md); they share one database, "
                f"which used {database:.2f} cores here. These are figures from a loaded machine: CPU times under "
                f"contention are inflated too, so the capacity is a lower bound.")
    return " ".join(text)


if __name__ == "__main__":
    raise SystemExit(main())
