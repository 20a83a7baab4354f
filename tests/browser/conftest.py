"""Real-browser layer: one ``streamlit run app.py`` for the whole session, Debian's chromium,
a fresh browser context per test, and the few helpers every journey uses.

Every test here is marked ``browser``. Without ``/usr/bin/chromium`` they are skipped with a
reason, except under ``CI=true`` where a missing browser is a failure (CI installs it).

All tests share one server and one database (the machine has two cores, and a server start
costs seconds), so each test uses demo accounts and records no other test touches. The
facilitator journey moves the demo term forward (intake -> matching -> active), which closes
preference editing; it therefore runs after the tests that edit preferences and profiles, and
the accessibility scan and screenshots run last so they see pages with pairings and feedback.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "tests" / "output" / "screenshots"
FAILURES = ROOT / "tests" / "output" / "failures"
DEMO_PASSWORD = "demo-portal-2027"
#: Upper bound for one script run seen from the browser (the first one seeds the demo data).
RUN_TIMEOUT_MS = 60_000
APP_IDLE = ('[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
            '[data-test-script-state="notRunning"]')
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
SIGN_OUT = {"en": "Sign out", "fr": "Se déconnecter"}

#: Files in run order: the state-changing facilitator journey after the ones that need the
#: term in intake; scans and screenshots last. Files not listed keep their place before them.
RUN_LAST = ["test_journey_facilitator.py", "test_journey_two_terms.py", "test_accessibility.py",
            "test_screenshots.py"]
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    mine = [item for item in items if HERE in Path(str(item.fspath)).parents]
    for item in mine:
        item.add_marker(pytest.mark.browser)

    def order(item):
        name = Path(str(item.fspath)).name
        return RUN_LAST.index(name) + 1 if name in RUN_LAST else 0
    if mine:
        positions = [i for i, item in enumerate(items) if item in mine]
        for i, item in zip(positions, sorted(mine, key=order)):  # sorted() is stable
            items[i] = item


# --- browser and server -------------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " -- CI must run the browser tests", pytrace=False)
        pytest.skip(reason)
    return str(CHROMIUM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as answer:
                if answer.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"streamlit did not answer {url}/_stcore/health in {timeout}s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def portal_db_path(tmp_path_factory) -> Path:
    """The shared server's database file (fresh for the session)."""
    return tmp_path_factory.mktemp("portal_server") / "portal.db"


@pytest.fixture(scope="session")
def server(chromium_path, portal_db_path) -> str:
    """``streamlit run app.py`` on a free port with a fresh database; its base URL."""
    log = portal_db_path.parent / "streamlit.log"
    port = free_port()
    env = {**os.environ, "PORTAL_DB": str(portal_db_path), "PORTAL_DEMO": "1"}
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log)
        yield url
    finally:
        stop(process)


@pytest.fixture(scope="session")
def chromium(chromium_path):
    from playwright.sync_api import expect, sync_playwright
    expect.set_options(timeout=20_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def portal(server, chromium) -> str:
    """The server's URL once the first script run (which seeds the demo data) has finished."""
    context = chromium.new_context()
    page = context.new_page()
    page.goto(server)
    page.get_by_role("heading", name="Sign in to the Challenge Portal").wait_for(timeout=RUN_TIMEOUT_MS * 2)
    context.close()
    return server


@pytest.fixture
def portal_db(portal, portal_db_path):
    """A connection to the server's database, for setting up what happens off-screen (other
    people's work) and for finding record ids; what a person sees is asserted in the browser."""
    from matching import db as storage
    database = storage.connect(portal_db_path)
    yield database
    database.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def browser_page(request, portal, chromium):
    """A fresh context (own cookies, own Streamlit session) per test, opened on the portal.

    When the test fails, the page as it was is saved under tests/output/failures/.
    """
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-CA")
    context.set_default_timeout(RUN_TIMEOUT_MS)
    page = context.new_page()
    page.goto(portal)
    wait_idle(page)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        folder = FAILURES / re.sub(r"[^\w.-]+", "_", request.node.name)
        folder.mkdir(parents=True, exist_ok=True)
        capture(page, folder / "page.png")
    context.close()


# --- helpers ------------------------------------------------------------------------------

def wait_idle(page, settle: float = 0.25) -> None:
    """Wait until the app is connected and no script run is going on, twice ``settle`` apart.

    A click starts a rerun a moment later, so one "notRunning" seen right after an action may
    be the state from before it; seeing it stable across a short pause is what "done" means.
    """
    time.sleep(settle)
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while True:
        page.wait_for_selector(APP_IDLE, state="attached", timeout=RUN_TIMEOUT_MS)
        time.sleep(settle)
        if page.locator(APP_IDLE).count():
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not settle")


def sidebar(page):
    return page.get_by_test_id("stSidebar")


def main(page):
    """The page body without the sidebar, so assertions do not match navigation labels."""
    return page.get_by_test_id("stMain")


def sign_in(page, email: str, lang: str = "en") -> None:
    """Sign in with the demo password and make sure the UI is in ``lang`` afterwards.

    The account's saved language applies on sign-in (and a test may have changed it), so the
    language is switched when it differs.
    """
    page.get_by_label(re.compile("^(E-mail|Courriel)$")).fill(email)
    page.get_by_label(re.compile("^(Password|Mot de passe)$")).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=re.compile("^(Sign in|Se connecter)$")).click()
    wait_idle(page)
    from playwright.sync_api import expect
    signed_in = sidebar(page).get_by_role("button", name=re.compile("^(Sign out|Se déconnecter)$"))
    expect(signed_in).to_be_visible()
    if signed_in.inner_text().strip().endswith(SIGN_OUT[lang]) is False:
        switch_language(page, lang)
    expect(sidebar(page).get_by_role("button", name=SIGN_OUT[lang])).to_be_visible()


def sign_out(page, lang: str = "en") -> None:
    sidebar(page).get_by_role("button", name=SIGN_OUT[lang]).click()
    wait_idle(page)


def switch_language(page, lang: str) -> None:
    sidebar(page).get_by_role("radio", name=LANGUAGE_NAMES[lang], exact=True).click()
    wait_idle(page)


def goto(page, nav_text: str) -> None:
    """Open a page by clicking its link in the sidebar navigation, as a person would."""
    nav = page.get_by_test_id("stSidebarNav")
    more = nav.get_by_test_id("stSidebarNavViewButton")
    if more.count() and re.search(r"more|plus", more.inner_text(), re.I):
        more.click()
    nav.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text(nav_text, exact=True)).click()
    wait_idle(page)


def nav_links(page) -> list[str]:
    """The visible titles of the sidebar navigation links (icon ligatures stripped)."""
    nav = page.get_by_test_id("stSidebarNav")
    return [label.inner_text().strip() for label in nav.locator("a span[label]").all()]


def screenshot(page, name: str) -> Path:
    """``tests/output/screenshots/<name>.png``: the whole page, for a reviewer to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return capture(page, SCREENSHOTS / f"{name}.png")


def capture(page, path: Path) -> Path:
    """The whole page (Streamlit scrolls inside its own container, so grow the viewport)."""
    size = page.viewport_size
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " return m ? m.scrollHeight : document.body.scrollHeight; }")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(height + 40, 6000))})
    time.sleep(0.4)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path


def badge(scope, word: str):
    """A status or label badge (``st.badge``: icon + word on a coloured background) by its word."""
    return scope.locator("span[style*='background-color']").filter(
        has_text=re.compile(rf"(^|\s){re.escape(word)}$"))


def card(scope, heading: str):
    """The innermost block (a bordered container) holding the heading ``heading``."""
    return block_with(scope, scope.page.get_by_role("heading", name=heading, exact=True))


def block_with(scope, inner):
    """The innermost layout block (e.g. a bordered card) that holds ``inner``.

    Blocks nest, and an ancestor comes before its descendants in document order, so the last
    block holding ``inner`` is the closest one.
    """
    return scope.get_by_test_id("stVerticalBlock").filter(has=inner).last


def enter_text(page, field, text: str) -> None:
    """Type into a text input or area and leave it (Tab), which is when Streamlit takes the value."""
    field.fill(text)
    field.press("Tab")
    wait_idle(page)
