"""Attacker test in the real browser (issue 12, Markdown injection): with hostile text in every
free-text column (``![x](http://evil.example/p.png)``, ``[click](http://evil.example)``, bare
``http://`` and ``www.`` addresses, ``<img src=...>``, an e-mail address, ``:material/...:``
and ``:emoji:`` shortcodes, emphasis), every page of every role, in English and French, makes
no request to and shows no link or image from any host but the portal's own.

It runs its own server on its own database (built by the AppTest attacker test's helpers), so
the hostile data never reaches the shared server the journeys use, and it needs no run order.

No outside host is allowed, not even for Streamlit's own assets: the tab icon is the portal's
own file, sent inline (issue 14.12; a ``:material/...:`` page icon would be fetched from
fonts.gstatic.com). ``evil.example`` never appears in a request, link or source.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from .conftest import (CHROMIUM_ARGS, ROOT, RUN_TIMEOUT_MS, free_port, goto, main, nav_links, sidebar, sign_in,
                       sign_out, stop, wait_healthy, wait_idle)

EVIL = "evil.example"
LINKS_AND_SOURCES = """() => [...document.querySelectorAll('[href], [src], [srcset], [poster], [data], [action]')]
    .flatMap(e => ['href', 'src', 'srcset', 'poster', 'data', 'action']
        .filter(a => e.hasAttribute(a)).map(a => e.tagName.toLowerCase() + '[' + a + ']=' + e.getAttribute(a)))"""
FORMATTED = "strong, em, del, code, .katex"  # what **, _, ~~, ` and $ would make


@pytest.fixture(scope="module")
def hostile_portal(chromium_path, tmp_path_factory):
    """A second server over a demo database in every state, every free text hostile.
    Yields (base URL, the e-mails of the accounts to walk as, by role)."""
    from matching import db as storage
    from matching import demo
    from tests.test_security_markdown import build_every_state, fill_with_hostile_text

    folder = tmp_path_factory.mktemp("hostile_portal")
    path = folder / "portal.db"
    database = storage.connect(path)
    demo.load_demo(database)
    people = build_every_state(database)
    fill_with_hostile_text(database)
    database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()

    port = free_port()
    log = folder / "streamlit.log"
    env = {**os.environ, "PORTAL_DB": str(path), "PORTAL_DEMO": "1"}
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process, log)
        yield url, {role: [user.email for user in users] for role, users in people.items()}
    finally:
        stop(process)


@pytest.fixture
def watched(hostile_portal, chromium):
    """A fresh context on the hostile portal that records every request any page makes."""
    url, people = hostile_portal
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-CA")
    context.set_default_timeout(RUN_TIMEOUT_MS)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.goto(url)
    wait_idle(page)
    yield page, url, people, requests
    context.close()


def outside(url: str, portal: str) -> bool:
    """A URL that leaves the portal (data: and blob: URLs are the page's own)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "javascript", ""):
        return parts.scheme == "javascript"
    return parts.netloc != urlsplit(portal).netloc


def open_everything(page) -> None:
    """Expanders opened, and the assignment page's rules list shown (the rules' reasons)."""
    closed = main(page).locator("[data-testid='stExpander'] details:not([open]) > summary")
    for _ in range(50):
        if not closed.count():
            break
        closed.first.click()
    radios = main(page).get_by_role("radio", name=re.compile("^(Locks and bans|Verrous et interdictions)$"))
    if radios.count() and not radios.first.is_checked():
        radios.first.check(force=True)
        wait_idle(page)


def check_page(page, portal: str, requests: list[str], where: str) -> list[str]:
    problems = []
    for found in page.evaluate(LINKS_AND_SOURCES):
        value = found.split("=", 1)[1]
        if EVIL in found or (value.startswith(("http:", "https:", "//", "javascript:", "mailto:"))
                             and outside(value if not value.startswith("//") else "http:" + value, portal)):
            problems.append(f"{where}: {found}")
    problems += [f"{where}: request to {url}" for url in requests if EVIL in url or outside(url, portal)]
    for element in page.locator(FORMATTED).all():
        text = element.inner_text()
        # The pages bold whole names themselves; the hostile text's own **bold**, ~~gone~~,
        # `code` and $x^2$ must not become elements of their own.
        if re.fullmatch(r"\s*(bold|gone|code)\s*", text) or element.evaluate("e => e.matches('.katex')"):
            problems.append(f"{where}: formatting from user text: {element.evaluate('e => e.outerHTML')[:120]}")
    return problems


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_no_page_fetches_or_links_outside_the_portal(watched, lang):
    page, portal, people, requests = watched
    problems, hostile_seen = [], 0
    for role, emails in people.items():
        for email in emails:
            sign_in(page, email, lang)
            for title in nav_links(page):
                goto(page, title)
                open_everything(page)
                where = f"[{lang} {role} {email} {title}]"
                problems += check_page(page, portal, requests, where)
                hostile_seen += main(page).get_by_text("Evil", exact=False).count()
                requests.clear()
            # The sidebar names the signed-in person: the hostile name, as text.
            if not sidebar(page).get_by_text(re.compile("Evil !\\[x\\]")).count():
                problems.append(f"[{lang} {email}] the sidebar does not show the name as typed")
            sign_out(page, lang)
    assert not problems, "\n".join(problems[:40]) + f"\n... {len(problems)} in all"
    assert hostile_seen > 50, "the hostile text is not on the pages: the walk tests nothing"


def test_the_hostile_text_reads_as_typed(watched):
    """What the attacker typed is shown as the characters typed (the word joiners are invisible)."""
    page, portal, people, requests = watched
    sign_in(page, people["facilitator"][0], "en")
    goto(page, "Terms")
    heading = main(page).get_by_role("heading", name=re.compile("^Evil")).first
    shown = heading.inner_text().replace("\u2060", "")
    assert shown.startswith("Evil ![x](http://evil.example/p.png) [click](http://evil.example) "
                            "http://evil.example/bare www.evil.example <img src=http://evil.example/i.png> "
                            ":material/warning: **bold**"), shown
    assert not check_page(page, portal, requests, "[terms]")
