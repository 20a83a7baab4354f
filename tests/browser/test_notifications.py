"""Notifications in a real browser (issue 13): an expert submits feedback; the team's member sees
the unread count in the navigation and on Home, opens the inbox, follows the notification to the
feedback; and the e-mail about it arrived at a real SMTP server on 127.0.0.1.

This journey needs a live term (published pairings, a feedback round), which the shared server's
demo term reaches only at the end of the facilitator journey; so it runs its own server over its
own database, prepared off-screen through the domain services, with ``PORTAL_URL`` set so the
e-mail's link is this server's address. The sender (``portal notify send``'s function) runs
against the same database, as cron would.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from matching import accounts, mail
from matching import db as storage
from matching.demo import DEMO_PASSWORD
from matching.i18n import t
from tests.smtp_server import html_of, smtp_server, text_of

from .conftest import (RUN_TIMEOUT_MS, ROOT, block_with, free_port, goto, main, sidebar, sign_in, sign_out, stop,
                       wait_healthy, wait_idle)

STUDENT = "student@demo.sheridancollege.ca"
COMMENTS = "Test the form with three screen reader users <b>before</b> the next round."


@pytest.fixture(scope="module")
def live(tmp_path_factory, chromium_path):
    """A database with the demo term live and one round open, the student's entry and its expert."""
    from matching import demo
    from tests.test_views_facilitator import go_live
    path = tmp_path_factory.mktemp("notify_server") / "portal.db"
    db = storage.connect(path)
    demo.load_demo(db)
    go_live(db)
    student = accounts.find_user(db, STUDENT)
    entry = storage.one(db, "SELECT e.id, e.expert_id, c.sme_email, c.department_id, t.name AS team, "
                            "r.name AS round FROM feedback_entries e JOIN pairings p ON p.id = e.pairing_id "
                            "JOIN challenges c ON c.id = p.challenge_id JOIN teams t ON t.id = p.team_id "
                            "JOIN feedback_rounds r ON r.id = e.round_id WHERE p.team_id = ?", [student.team_id])
    if entry["expert_id"] is None:   # the SME gets an account (as a facilitator would make)
        accounts.create_user(db, accounts.SYSTEM, {"email": entry["sme_email"], "name": "Sam Expert", "role": "expert",
                                                   "department_id": entry["department_id"]},
                             password_hash=accounts.hash_password(DEMO_PASSWORD))
        from matching import feedback
        feedback.ensure_entries(db, storage.one(db, "SELECT term_id FROM teams WHERE id = ?",
                                                [student.team_id])["term_id"])
    expert = storage.one(db, "SELECT u.email FROM feedback_entries e JOIN users u ON u.id = e.expert_id "
                             "WHERE e.id = ?", [entry["id"]])["email"]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return {"path": path, "entry": entry["id"], "team": entry["team"], "round": entry["round"], "expert": expert}


@pytest.fixture(scope="module")
def notify_server(live):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = live["path"].parent / "streamlit.log"
    env = {**os.environ, "PORTAL_DB": str(live["path"]), "PORTAL_DEMO": "1", "PORTAL_URL": url}
    for name in [n for n in env if n.startswith("PORTAL_SMTP_")]:
        env.pop(name)            # the app never sends: with or without SMTP it only queues
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_healthy(url, process, log)
        yield url
    finally:
        stop(process)


@pytest.fixture
def page(notify_server, chromium, monkeypatch):
    monkeypatch.setenv("PORTAL_URL", notify_server)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-CA")
    context.set_default_timeout(RUN_TIMEOUT_MS)
    page = context.new_page()
    page.goto(notify_server)
    page.get_by_role("heading", name="Sign in to the Challenge Portal").wait_for(timeout=RUN_TIMEOUT_MS * 2)
    wait_idle(page)
    yield page
    context.close()


def expert_submits(page, live) -> None:
    sign_in(page, live["expert"])
    goto(page, "My teams")
    form = block_with(main(page), page.locator(f".st-key-expert_{live['entry']}_comments"))
    for label in ("Problem understanding", "User research", "Feasibility", "Alignment with mandate",
                  "Communication"):
        form.get_by_test_id("stRadio").filter(has_text=label).get_by_text(re.compile("^4 — ")).click()
        wait_idle(page)
    comments = form.get_by_label("Comments for the team", exact=True)
    comments.fill(COMMENTS)
    comments.press("Tab")
    wait_idle(page)
    form.get_by_role("button", name="Submit to the team", exact=True).click()
    wait_idle(page)
    expect(main(page).get_by_text(re.compile(r"was submitted: the team can read it now\.$"))).to_be_visible()
    sign_out(page)


def test_feedback_reaches_the_team_in_the_inbox_and_by_email(page, live):
    expert_submits(page, live)

    sign_in(page, STUDENT)
    subject = f"New feedback for {live['team']}: {live['round']}"
    # The unread count on the navigation entry and on Home.
    nav = page.get_by_test_id("stSidebarNav")
    inbox_link = nav.get_by_test_id("stSidebarNavLink").filter(has_text=re.compile(r"Inbox \(\d+ unread\)"))
    expect(inbox_link).to_be_visible()
    unread = int(re.search(r"\((\d+) unread\)", inbox_link.inner_text()).group(1))
    assert unread >= 1
    expect(main(page).get_by_text(t("notify.home.unread", "en", count=unread), exact=True)).to_be_visible()

    inbox_link.click()
    wait_idle(page)
    expect(main(page).get_by_role("heading", name="Inbox")).to_be_visible()
    expect(main(page).get_by_text(f"{unread} unread", exact=True)).to_be_visible()
    db = storage.connect(live["path"])
    note = storage.one(db, "SELECT n.id FROM notifications n JOIN users u ON u.id = n.user_id "
                           "WHERE u.email = ? AND n.kind = 'feedback_submitted'", [STUDENT])["id"]
    db.close()
    item = main(page).locator(f".st-key-inbox_item_{note}")
    expect(item.get_by_text(subject, exact=True)).to_be_visible()
    item.get_by_role("button", name=re.compile("Open$")).click()
    wait_idle(page)
    # The link leads to the feedback itself, and the notification is now read.
    expect(page).to_have_url(re.compile(r"/student_feedback$"))
    expect(main(page).get_by_text(COMMENTS)).to_be_visible()
    expect(sidebar(page).get_by_test_id("stSidebarNavLink").filter(
        has_text=f"Inbox ({unread - 1} unread)" if unread > 1 else re.compile(r"^\W*Inbox$"))).to_be_visible()

    # The e-mail, delivered by the sender (cron's `portal notify send`) from the same database.
    db = storage.connect(live["path"])
    try:
        with smtp_server() as (server, env):
            sent = 0
            while True:   # the off-screen setup queued a few hundred (a batch is mail.BATCH)
                result = mail.send_pending(db, mail.settings(env))
                sent += result["sent"]
                if not result["sent"]:
                    break
            assert sent >= 1 and result["waiting"] == 0 and result["retry"] == result["failed"] == 0
            received = [m for m in server.to(STUDENT) if m["Subject"] == subject]
            assert len(received) == 1
            message = received[0]
            assert f"{page.url.rsplit('/', 1)[0]}/student_feedback" in text_of(message)
            assert 'href="http://127.0.0.1:' in html_of(message)
            # Nobody else was told about this team's feedback.
            others = [m for m in server.messages if m["Subject"] == subject and STUDENT not in str(m["To"])]
            members = {r[0] for r in db.execute("SELECT email FROM users WHERE role = 'student' AND team_id = "
                                                "(SELECT team_id FROM users WHERE email = ?)", [STUDENT])}
            assert {str(m["To"]) for m in others} <= members
    finally:
        db.close()
