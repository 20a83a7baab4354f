"""Two app servers on one PostgreSQL database (issue 15.6): what several servers must not break.

A throw-away PostgreSQL database (tests/pg_cluster.py) is migrated and loaded with the demo data by
the CLI (`portal init-db`, `portal load-demo`), and two `portal serve` processes listen on two free
ports with ``PORTAL_DB`` set to its URI: two Streamlit servers, each with its own in-process ranker
cache and its own browser sessions, as two machines behind a proxy would be. Real browser sessions
(Debian's chromium) work on each server while writer processes call the services directly.

Proved here:

* nothing is lost: every write each writer process reported as saved is in the database (drafts,
  team profile saves with their versions, one audit event each), and the preferences added in
  the browser on server A and on server B are all there, in the order they were added;
* a stale edit is refused across servers: a profile saved on server A, then the same profile saved
  on server B from the page opened before, is refused on B with the clear message and nothing is
  overwritten;
* a challenge approved through server A appears ranked for a team on server B on B's next rerun
  (B's ranker cache was filled before, and the data version invalidates it);
* the sign-in lockout holds across servers: wrong passwords split over A and B lock the account,
  and then even the right password is refused on both;
* a sign-in made on server A is honoured by server B (same session cookie, the session is in the
  database), so a reload that a proxy sends to the other server keeps the person signed in.

Under ``CI=true`` a PostgreSQL that cannot start is a failure, not a skip (tests/pg_cluster.py).
"""
from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import multiprocessing
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

import pg_cluster

from .conftest import (DEMO_PASSWORD, FAILURES, ROOT, RUN_TIMEOUT_MS, block_with, capture, free_port, goto,
                       main, sidebar, sign_in, stop, wait_healthy, wait_idle)

#: Writer processes calling the services directly, and the writes each makes of each kind.
WRITERS = 3
WRITES = 12
#: Each writer acts as one department representative and one student (of a team nobody else edits).
WRITER_REPS = ["rep@demo.gc.ca", "rep.dfo@demo.gc.ca", "rep.isc@demo.gc.ca"]
WRITER_STUDENTS = ["vy.tran@sheridancollege.ca", "noemie.morin@sheridancollege.ca",
                   "mateus.silva@sheridancollege.ca"]
#: Students whose team has no preference in the demo data: one per server.
PREFERRING = {"A": "hana.choi@sheridancollege.ca", "B": "liban.mohamed@sheridancollege.ca"}
#: The same student on both servers (two tabs that landed on two servers).
PROFILE_STUDENT = "minh.tran@sheridancollege.ca"
#: A student who ranks challenges on server B while a facilitator approves one on server A.
RANKING_STUDENT = "sarah.robertson@sheridancollege.ca"
FACILITATOR = "nadia.ferreira@sheridancollege.ca"
SUBMITTED = "Making drone rules clear for first-time pilots"   # TC, submitted in the demo data
#: An account whose sign-in attempts are split over the two servers.
LOCKED_STUDENT = "mateo.torres@sheridancollege.ca"
COUNT = re.compile(r"^(\d+) of (\d+) challenges$")


def _cli(uri: str, *args: str) -> str:
    env = {**os.environ, "PORTAL_DB": uri, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "matching.cli", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"portal {' '.join(args)}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def database(chromium_path) -> str:
    """An empty PostgreSQL database, migrated and loaded with the demo data by the CLI; its URI."""
    cluster = pg_cluster.cluster()
    name = cluster.create(template="template0")
    uri = cluster.uri(name)
    try:
        _cli(uri, "init-db")
        _cli(uri, "load-demo")
        yield uri
    finally:
        cluster.drop(name)


@contextlib.contextmanager
def app_servers(database: str, folder: Path, names: str = "AB", **settings: str):
    """`portal serve` processes on free ports against ``database``: {name: (process, log, url)};
    stopped (by their own PID) when the block ends."""
    env = {**os.environ, "PORTAL_DB": database, "PORTAL_DEMO": "1", "PYTHONPATH": str(ROOT),
           "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none", **settings}
    started: dict[str, tuple[subprocess.Popen, Path, str]] = {}
    try:
        for name in names:
            port = free_port()
            while any(url.endswith(f":{port}") for _, _, url in started.values()):
                port = free_port()
            log = folder / f"server_{name}.log"
            with open(log, "wb") as out:
                process = subprocess.Popen([sys.executable, "-m", "matching.cli", "serve", "--port", str(port)],
                                           cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
            started[name] = (process, log, f"http://127.0.0.1:{port}")
        for process, log, url in started.values():
            wait_healthy(url, process, log)
        yield started
    finally:
        for process, _, _ in started.values():
            stop(process)


def no_errors_logged(started: dict) -> None:
    for name, (process, log, _) in started.items():
        assert "Traceback" not in log.read_text(), f"server {name} logged an error:\n{log.read_text()[-3000:]}"


@pytest.fixture(scope="module")
def servers(database, tmp_path_factory) -> dict[str, str]:
    """Two `portal serve` processes on two free ports against the one database: {"A": url, "B": url}."""
    with app_servers(database, tmp_path_factory.mktemp("two_servers")) as started:
        yield {name: url for name, (_, _, url) in started.items()}
        for name, (process, log, _) in started.items():
            assert process.poll() is None, f"server {name} stopped during the tests:\n{log.read_text()[-3000:]}"
        no_errors_logged(started)


@contextlib.contextmanager
def browser_session(chromium, url: str, name: str, **options):
    """A fresh browser context (own cookies, own Streamlit session) on ``url``; the page as it was
    is saved under tests/output/failures/ when the block fails."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-CA", **options)
    context.set_default_timeout(RUN_TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(url)
        page.get_by_role("heading", name="Sign in to the Challenge Portal").wait_for(timeout=RUN_TIMEOUT_MS * 2)
        wait_idle(page)
        yield page
    except BaseException:
        folder = FAILURES / f"two_servers_{name}"
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            capture(page, folder / "page.png")
        raise
    finally:
        context.close()


def connect(uri: str):
    from matching import db as storage
    return storage.connect(uri)


# --- writer processes (services called directly, as a third "server" would) ------------------

def _writer(uri: str, index: int, writes: int, log: str, start_at: float) -> None:
    """Alternate a new draft (as a department representative) and a team profile save (as a
    student, over the version just read); log every save the service reported, one JSON line each."""
    from matching import accounts, challenges, teams
    from matching import db as storage
    database = storage.connect(uri)
    rep = accounts.find_user(database, WRITER_REPS[index])
    student = accounts.find_user(database, WRITER_STUDENTS[index])
    while time.time() < start_at:  # start together, while the browsers work
        time.sleep(0.01)
    with open(log, "w", encoding="utf-8") as out:
        for i in range(writes):
            title = f"Two-server writer {index} draft {i}"
            draft = challenges.save_draft(database, rep, {"title": title, "problem": f"Written by writer {index}."})
            out.write(json.dumps({"kind": "draft", "id": draft.id, "title": title}) + "\n")
            team = teams.get_team(database, student, student.team_id)
            data = dataclasses.asdict(team)
            data["past_work"] = f"Two-server writer {index} profile save {i}: field studies and prototypes."
            saved = teams.save_team(database, student, team.id, data, expected_version=team.version)
            out.write(json.dumps({"kind": "team", "id": team.id, "version": saved.version,
                                  "past_work": data["past_work"]}) + "\n")
            out.flush()
    database.close()


def start_writers(uri: str, folder: Path) -> list[tuple[multiprocessing.Process, Path]]:
    spawn = multiprocessing.get_context("spawn")
    start_at = time.time() + 3
    writers = []
    for index in range(WRITERS):
        log = folder / f"writer_{index}.jsonl"
        process = spawn.Process(target=_writer, args=(uri, index, WRITES, str(log), start_at))
        process.start()
        writers.append((process, log))
    return writers


# --- browser steps -----------------------------------------------------------------------

def ranked_card(page, rank: int):
    return block_with(main(page), page.get_by_text(re.compile(rf"^{rank}\. ")))


def add_preference(page, rank: int) -> str:
    """Add the challenge ranked ``rank`` to the preferences (as choice ``rank``); its title."""
    card = ranked_card(page, rank)
    title = re.sub(rf"^{rank}\. ", "", card.get_by_text(re.compile(rf"^{rank}\. ")).inner_text())
    card.get_by_role("button", name="Add to preferences").click()
    wait_idle(page)
    expect(main(page).get_by_text(f"Added to your preferences as choice {rank}.")).to_be_visible()
    return title


def counts(page) -> tuple[int, int]:
    """(shown, total) of the "N of M challenges" line."""
    line = main(page).get_by_text(COUNT)
    expect(line).to_be_visible()
    shown, total = COUNT.match(line.inner_text().strip()).groups()
    return int(shown), int(total)


def search(page, words: str) -> None:
    field = main(page).get_by_label("Search", exact=True)
    field.fill(words)
    field.press("Enter")
    wait_idle(page)


def failed_sign_in(page, email: str, password: str) -> None:
    page.get_by_label(re.compile("^E-mail$")).fill(email)
    page.get_by_label(re.compile("^Password$")).fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_idle(page)
    expect(main(page).get_by_text(re.compile(r"^The e-mail or password is not correct, or the account is locked"))
           ).to_be_visible()
    expect(sidebar(page).get_by_role("button", name="Sign out")).to_have_count(0)


# --- the tests ---------------------------------------------------------------------------

def test_the_two_servers_are_two_processes_on_one_postgresql_database(servers, database):
    from matching import db as storage
    assert servers["A"] != servers["B"]
    db = connect(database)
    try:
        assert storage.dialect(db) == "postgresql"
    finally:
        db.close()


def test_writers_through_both_servers_and_the_services_lose_nothing(servers, chromium, database, tmp_path):
    """Writer processes save drafts and profiles while a student on each server adds preferences."""
    from matching import accounts, teams
    writers = start_writers(database, tmp_path)
    added: dict[str, list[str]] = {"A": [], "B": []}
    try:
        with browser_session(chromium, servers["A"], "writers_A") as page_a, \
                browser_session(chromium, servers["B"], "writers_B") as page_b:
            pages = {"A": page_a, "B": page_b}
            for name, page in pages.items():
                sign_in(page, PREFERRING[name])
                goto(page, "Challenges for us")
            for rank in (1, 2, 3):  # interleaved: A, B, A, B, ... while the writers write
                for name, page in pages.items():
                    added[name].append(add_preference(page, rank))
    finally:
        for process, _ in writers:
            process.join(timeout=240)
    for process, log in writers:
        assert process.exitcode == 0, f"writer {log.name} failed (exit code {process.exitcode})"

    db = connect(database)
    try:
        # Every preference added in the browser, on either server, is there in its order.
        for name, email in PREFERRING.items():
            student = accounts.find_user(db, email)
            titles = [p["title"] for p in teams.get_preferences(db, student, student.team_id)]
            assert titles == added[name], f"server {name}: {titles} != {added[name]}"
        # Every write a writer process was told was saved is there, with its audit event.
        for index, (_, log) in enumerate(writers):
            saves = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
            drafts = [s for s in saves if s["kind"] == "draft"]
            team_saves = [s for s in saves if s["kind"] == "team"]
            assert len(drafts) == len(team_saves) == WRITES
            for draft in drafts:
                row = db.execute("SELECT title, status FROM challenges WHERE id = ?", [draft["id"]]).fetchone()
                assert row is not None and tuple(row) == (draft["title"], "draft"), draft
                assert db.execute("SELECT COUNT(*) FROM audit_events WHERE target_type = 'challenge' AND "
                                  "target_id = ?", [str(draft["id"])]).fetchone()[0] >= 1, draft
            assert len({d["id"] for d in drafts}) == WRITES
            # Profile saves: versions handed out once each, in order; the last save is what is stored.
            versions = [s["version"] for s in team_saves]
            assert versions == list(range(versions[0], versions[0] + WRITES)), versions
            team = db.execute("SELECT version, past_work FROM teams WHERE id = ?", [team_saves[-1]["id"]]).fetchone()
            assert tuple(team) == (versions[-1], team_saves[-1]["past_work"])
            assert db.execute("SELECT COUNT(*) FROM audit_events WHERE action = 'team.save' AND target_type = 'team' "
                              "AND target_id = ?", [str(team_saves[-1]["id"])]).fetchone()[0] == WRITES
    finally:
        db.close()


def test_a_stale_edit_on_server_b_is_refused_and_overwrites_nothing(servers, chromium, database):
    """The same student has the profile open on both servers; A saves first; B's save, based on
    the version B opened, is refused with the clear message, and A's text stays."""
    ours_a = "Saved on server A: interviews with harvesters, service blueprints and a tested prototype."
    ours_b = "Saved on server B from a page opened before A's save: this must not overwrite it."
    with browser_session(chromium, servers["A"], "stale_A") as page_a, \
            browser_session(chromium, servers["B"], "stale_B") as page_b:
        for page in (page_a, page_b):
            sign_in(page, PROFILE_STUDENT)
            goto(page, "Team profile")
        for page, text in ((page_a, ours_a), (page_b, ours_b)):
            field = main(page).get_by_label("Past work", exact=True)
            field.fill(text)
            field.press("Tab")
            wait_idle(page)
            main(page).get_by_role("button", name="Save profile").click()
            wait_idle(page)
        expect(main(page_a).get_by_text("Profile saved.")).to_be_visible()
        expect(main(page_b).get_by_text("Someone else saved this record after you opened it. Your version and "
                                        "theirs are shown below; nothing was overwritten.").first).to_be_visible()
        expect(main(page_b).get_by_text("Profile saved.")).to_have_count(0)
        expect(main(page_b).get_by_text(ours_a).first).to_be_visible()  # theirs, shown for comparison
    db = connect(database)
    try:
        from matching import accounts
        team_id = accounts.find_user(db, PROFILE_STUDENT).team_id
        assert db.execute("SELECT past_work FROM teams WHERE id = ?", [team_id]).fetchone()[0] == ours_a
        assert db.execute("SELECT COUNT(*) FROM audit_events WHERE action = 'team.save' AND target_id = ?",
                          [str(team_id)]).fetchone()[0] == 1
    finally:
        db.close()


def test_a_challenge_approved_on_server_a_is_ranked_on_server_b_at_its_next_rerun(servers, chromium):
    with browser_session(chromium, servers["B"], "ranked_B") as student, \
            browser_session(chromium, servers["A"], "ranked_A") as facilitator:
        sign_in(student, RANKING_STUDENT)
        goto(student, "Challenges for us")
        shown, total = counts(student)  # server B has ranked the approved challenges (its cache is warm)
        assert shown == total > 0
        search(student, "drone rules")
        expect(main(student).get_by_text("No challenge matches these filters.", exact=False)).to_be_visible()

        sign_in(facilitator, FACILITATOR)
        goto(facilitator, "Review queue")
        form = block_with(main(facilitator), facilitator.get_by_role("heading", name=SUBMITTED, exact=True))
        form.get_by_text("I confirm this challenge is unclassified.", exact=True).click()
        wait_idle(facilitator)
        form.get_by_role("button", name="Approve", exact=True).click()
        wait_idle(facilitator)
        expect(main(facilitator).get_by_text(f"Approved: {SUBMITTED}")).to_be_visible()

        search(student, "drone")  # the student's next action on server B reruns its page
        expect(main(student).get_by_text(f". {SUBMITTED}", exact=False)).to_be_visible()
        assert counts(student) == (1, total + 1)
        card = block_with(main(student), student.get_by_text(re.compile(rf"^\d+\. {re.escape(SUBMITTED)}$")))
        expect(card.get_by_text(re.compile(rf"^rank \d+ of {total + 1} · "))).to_be_visible()
        expect(card.get_by_role("button", name="Add to preferences")).to_be_visible()


def test_the_sign_in_lockout_holds_across_servers(servers, chromium, database):
    from matching import accounts
    limit = accounts.max_failed_attempts()
    assert limit >= 3
    db = connect(database)
    with browser_session(chromium, servers["A"], "lockout_A") as page_a, \
            browser_session(chromium, servers["B"], "lockout_B") as page_b:
        pages = [page_a, page_b]
        for attempt in range(limit - 1):  # A, B, A, B, ...: one short of the limit
            failed_sign_in(pages[attempt % 2], LOCKED_STUDENT, f"wrong password {attempt}")
        row = db.execute("SELECT failed_attempts, locked_until FROM users WHERE email = ?", [LOCKED_STUDENT]).fetchone()
        assert tuple(row) == (limit - 1, None), "each server counted the other's failures"
        failed_sign_in(pages[(limit - 1) % 2], LOCKED_STUDENT, "wrong password, the last one")
        assert db.execute("SELECT locked_until FROM users WHERE email = ?", [LOCKED_STUDENT]).fetchone()[0]
        # Locked: the right password is refused on both servers, with the same message.
        for page in pages:
            failed_sign_in(page, LOCKED_STUDENT, DEMO_PASSWORD)
    user_id = db.execute("SELECT id FROM users WHERE email = ?", [LOCKED_STUDENT]).fetchone()[0]
    assert db.execute("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.locked' AND target_id = ?",
                      [str(user_id)]).fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.sign_in' AND target_id = ?",
                      [str(user_id)]).fetchone()[0] == 0
    db.close()


def test_a_sign_in_on_server_a_is_honoured_by_server_b(servers, chromium):
    """One browser context (one cookie jar, one host): signed in on A, then B opens signed in."""
    with browser_session(chromium, servers["A"], "cookie_A") as page:
        sign_in(page, PREFERRING["A"])
        deadline = time.monotonic() + 20
        while not any(c["name"] == "portal_session" for c in page.context.cookies()):
            assert time.monotonic() < deadline, "the session cookie never arrived"
            time.sleep(0.2)
        page.goto(servers["B"])
        wait_idle(page)
        expect(sidebar(page).get_by_role("button", name="Sign out")).to_be_visible()
        expect(main(page).get_by_role("heading", name="Sign in to the Challenge Portal")).to_have_count(0)


# --- behind nginx (docs/DEPLOY.md) --------------------------------------------------------

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
NGINX_SITE = ROOT / "docs" / "deploy" / "nginx-portal.conf"
PROXIED_STUDENT = "yulia.kovalenko@sheridancollege.ca"


def local_site(text: str, upstreams: list[str], https_port: int, http_port: int, cert: Path, key: Path) -> str:
    """docs/deploy/nginx-portal.conf as it stands, with local addresses, ports and certificate;
    each line swapped must be there exactly once (the test follows the document)."""
    for pattern, value in ((r"server 10\.0\.0\.11:8501 ", f"server {upstreams[0]} "),
                           (r"server 10\.0\.0\.12:8501 ", f"server {upstreams[1]} "),
                           (r"listen 80;", f"listen 127.0.0.1:{http_port};"),
                           (r"listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
                           (r"/etc/ssl/portal/fullchain\.pem", str(cert)),
                           (r"/etc/ssl/portal/privkey\.pem", str(key))):
        text, found = re.subn(pattern, value, text)
        assert found == 1, f"{NGINX_SITE.name}: expected one {pattern!r}"
    return text


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@contextlib.contextmanager
def nginx(folder: Path, site: str, https_port: int):
    """nginx in the foreground with ``site`` as its only server configuration; the access log
    names the app server (upstream) of every request. Stopped by its PID."""
    folder.mkdir()
    for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / temp).mkdir()
    (folder / "site.conf").write_text(site)
    conf, errors, access = folder / "nginx.conf", folder / "error.log", folder / "access.log"
    conf.write_text(f"""{'user root root;' if os.geteuid() == 0 else ''}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {errors} info;
events {{ worker_connections 256; }}
http {{
    log_format upstream '$request_method $uri $status upstream=$upstream_addr';
    access_log {access} upstream;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
""")
    command = [NGINX, "-p", str(folder), "-c", str(conf), "-e", str(errors)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        insecure = ssl.create_default_context()
        insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, errors.read_text()
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{https_port}/_stcore/health", timeout=5,
                                            context=insecure) as answer:
                    if answer.read().strip() == b"ok":
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, errors.read_text()
            time.sleep(0.25)
        yield access
    finally:
        stop(process)


def upstreams_used(access: Path, since: int = 0) -> list[set[str]]:
    """For each proxied request logged after line ``since``: the app servers nginx tried."""
    lines = access.read_text().splitlines()[since:]
    return [set(line.rsplit("upstream=", 1)[1].split(", ")) for line in lines
            if "upstream=" in line and line.rsplit("upstream=", 1)[1] not in ("", "-")]


def test_two_servers_behind_nginx(database, chromium, tmp_path):
    """docs/deploy/nginx-portal.conf in front of two app servers: TLS ends at nginx, HTTP is
    redirected, the WebSocket and the sign-in cookie route work through it, every request of a
    browser goes to one server (ip_hash), and when that server stops the next page load goes to
    the other one with the person still signed in."""
    if NGINX is None or shutil.which("openssl") is None:
        missing = ("nginx or openssl is not installed (apt-get install nginx openssl): the proxy "
                   "configuration of docs/DEPLOY.md is not tried")
        if os.environ.get("CI") == "true":      # .ci/run installs them: missing there is a failure
            pytest.fail(missing)
        pytest.skip(missing)
    cert, key = self_signed_certificate(tmp_path)
    with app_servers(database, tmp_path, "CD", PORTAL_COOKIE_SECURE="1") as started:
        upstream_of = {url.removeprefix("http://"): name for name, (_, _, url) in started.items()}
        https_port, http_port = free_port(), free_port()
        site = local_site(NGINX_SITE.read_text(), list(upstream_of), https_port, http_port, cert, key)
        with nginx(tmp_path / "nginx", site, https_port) as access:
            plain = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
            plain.request("GET", "/some/page")
            answer = plain.getresponse()
            assert (answer.status, answer.getheader("Location")) == (301, "https://127.0.0.1/some/page")
            plain.close()

            url = f"https://127.0.0.1:{https_port}"
            with browser_session(chromium, url, "nginx", ignore_https_errors=True) as page:
                sign_in(page, PROXIED_STUDENT)
                goto(page, "Challenges for us")
                title = add_preference(page, 1)
                deadline = time.monotonic() + 20
                while not any(c["name"] == "portal_session" for c in page.context.cookies()):
                    assert time.monotonic() < deadline, "the session cookie never arrived through the proxy"
                    time.sleep(0.2)
                cookie = next(c for c in page.context.cookies() if c["name"] == "portal_session")
                assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"

                used = upstreams_used(access)
                assert used and set().union(*used) == {next(iter(used[0]))}, f"not sticky: {used}"
                (first,) = used[0]
                other = next(name for address, name in upstream_of.items() if address != first)
                seen = len(access.read_text().splitlines())

                stop(started[upstream_of[first]][0])  # the server this browser was on goes away
                page.reload()
                wait_idle(page)
                expect(sidebar(page).get_by_role("button", name="Sign out")).to_be_visible()
                goto(page, "Preferences")
                expect(main(page).get_by_role("combobox", name="Challenge for choice 1")).to_have_value(
                    re.compile("^" + re.escape(title) + r" \("))
                later = upstreams_used(access, seen)
                served = {address for tried in later for address in tried if upstream_of.get(address) == other}
                assert served, f"nothing reached server {other} after server {upstream_of[first]} stopped: {later}"
                log_of_other = started[other][1].read_text()
                assert "Traceback" not in log_of_other, log_of_other[-3000:]
    db = connect(database)
    try:
        from matching import accounts, teams
        student = accounts.find_user(db, PROXIED_STUDENT)
        assert [p["title"] for p in teams.get_preferences(db, student, student.team_id)] == [title]
    finally:
        db.close()
