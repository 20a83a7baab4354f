"""Outcomes in a real browser (issue 17): a department representative reports what a completed
challenge led to, and a public servant, signed in by single sign-on for the first time from an
allowed e-mail domain, finds it in the outcomes library in French.

This test starts its own Streamlit server (like test_sso.py: the shared one has no ``[auth]``
section and no ``PORTAL_PUBLIC_SERVANT_DOMAINS``), an OIDC provider on loopback
(oidc-provider-mock) and drives Debian's Chromium.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, timedelta

import pytest

from tests.browser.conftest import (RUN_TIMEOUT_MS, ROOT, enter_text, free_port, goto, main, nav_links, screenshot,
                                    sidebar, sign_in, sign_out, stop, switch_language, wait_healthy, wait_idle)

oidc_provider_mock = pytest.importorskip("oidc_provider_mock")

REP = "rep@demo.gc.ca"  # ESDC
SERVANT = "analyst@hc-sc.gc.ca"  # a subdomain of an allowed domain, no portal account yet
TITLE = "Reaching seniors who do not know about their pension top-up"
NOTE = "The plain-language letter the team prototyped now goes to every new pensioner in two regions."


@pytest.fixture(scope="module")
def provider():
    users = [oidc_provider_mock.User(sub=SERVANT, claims={"email": SERVANT, "email_verified": True,
                                                          "name": "Alex Analyst"})]
    with oidc_provider_mock.run_server_in_thread(user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def outcomes_portal(provider, chromium_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("outcomes_server")
    port = free_port()
    secrets = folder / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
        'cookie_secret = "a-test-cookie-secret-that-is-long-enough"\n'
        'client_id = "challenge-portal"\n'
        'client_secret = "test-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n', encoding="utf-8")
    log = folder / "streamlit.log"
    db_path = folder / "portal.db"
    env = {**os.environ, "PORTAL_DB": str(db_path), "PORTAL_DEMO": "1",
           "PORTAL_PUBLIC_SERVANT_DOMAINS": "canada.ca, gc.ca"}
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--secrets.files", str(secrets)]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://localhost:{port}", process, log)
        yield f"http://localhost:{port}", db_path
    finally:
        stop(process)


def _completed_challenge(db_path) -> int:
    """Off-screen, what earlier terms left: a closed term whose 3-month report is due now, with
    an ESDC challenge completed by a team that did not opt in to be named. Returns the pairing."""
    from matching import db as storage
    db = storage.connect(db_path)
    try:
        today, now = date.today(), storage.now_iso()
        with storage.transaction(db):
            esdc = db.execute("SELECT id FROM departments WHERE acronym = 'ESDC'").fetchone()[0]
            term = storage.insert(db, "terms", {
                "name": "Journey term (closed)", "state": "closed", "created_at": now,
                "starts_on": (today - timedelta(days=220)).isoformat(),
                "ends_on": (today - timedelta(days=100)).isoformat(),
                "closed_on": (today - timedelta(days=97)).isoformat()})
            team = storage.insert(db, "teams", {"term_id": term, "name": "Quiet Harbour Studio", "updated_at": now})
            storage.insert(db, "members", {"team_id": team, "name": "Noor Haddad", "email": "noor.h@sheridancollege.ca"})
            challenge = storage.insert(db, "challenges", {
                "term_id": term, "department_id": esdc, "status": "approved", "title": TITLE,
                "problem": "Many low-income seniors never apply for the Guaranteed Income Supplement they are "
                           "entitled to, because the letters they receive are hard to read.",
                "outcomes": "A plain-language letter, tested with seniors.", "themes": json.dumps(["seniors", "plain language"]),
                "language": "en", "capacity": 1, "unclassified": 1, "created_at": now, "updated_at": now})
            pairing = storage.insert(db, "pairings", {"term_id": term, "team_id": team, "challenge_id": challenge,
                                                      "state": "completed", "created_at": now, "updated_at": now})
            storage.insert(db, "final_summaries", {
                "pairing_id": pairing, "learned": "Noor and the Quiet Harbour Studio team learned that seniors "
                                                  "trust a letter that starts with the amount.",
                "made": "A tested plain-language letter.", "recommendations": "Start every letter with the amount.",
                "links": "[]", "show_names": 0, "submitted_at": now, "updated_at": now})
        return pairing
    finally:
        db.close()


def _report_outcome(page) -> None:
    """The representative reports the 3-month outcome on the outcomes page: adopted, with a note."""
    from playwright.sync_api import expect
    goto(page, "Outcomes")
    block = main(page).get_by_test_id("stExpander").filter(has=page.get_by_text(TITLE)).first
    expect(block.get_by_text("Give this report")).to_be_visible()
    block.get_by_text("Adopted", exact=True).click()
    wait_idle(page)
    enter_text(page, block.get_by_role("textbox", name="Short note"), NOTE)
    block.get_by_role("button", name="Send the report").click()
    wait_idle(page)
    expect(main(page).get_by_text(re.compile(r"3-month report saved"))).to_be_visible()


def _sso_sign_in(chromium, url: str):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="fr-CA")
    context.set_default_timeout(RUN_TIMEOUT_MS * 2)
    page = context.new_page()
    page.goto(url)
    wait_idle(page)
    page.get_by_role("button", name="Sign in with single sign-on").click()
    page.get_by_role("button", name=SERVANT, exact=True).click()
    page.wait_for_url(f"{url}/**")
    wait_idle(page)
    return context, page


def test_a_reported_outcome_is_found_in_french_by_a_public_servant_signed_in_by_sso(outcomes_portal, chromium):
    from playwright.sync_api import expect
    url, db_path = outcomes_portal
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-CA")
    context.set_default_timeout(RUN_TIMEOUT_MS)
    page = context.new_page()
    page.goto(url)
    page.get_by_role("heading", name="Sign in to the Challenge Portal").wait_for(timeout=RUN_TIMEOUT_MS * 2)
    _completed_challenge(db_path)
    try:
        sign_in(page, REP)
        _report_outcome(page)
        sign_out(page)
    finally:
        context.close()

    context, page = _sso_sign_in(chromium, url)
    try:
        # First sign-in from hc-sc.gc.ca: a public-servant account, the library its only page.
        expect(main(page).get_by_role("heading", name="Outcomes library", level=1)).to_be_visible()
        expect(sidebar(page).get_by_text(re.compile("Alex Analyst"))).to_be_visible()
        switch_language(page, "fr")
        expect(main(page).get_by_role("heading", name="Bibliothèque des résultats", level=1)).to_be_visible()
        assert nav_links(page) == ["Bibliothèque des résultats", "Compte"]
        enter_text(page, main(page).get_by_label("Rechercher", exact=True), "aînés")
        card = main(page).get_by_test_id("stVerticalBlock").filter(has=page.get_by_text(TITLE, exact=True)).last
        expect(card).to_be_visible()
        expect(card.get_by_text("Adopté").first).to_be_visible()
        expect(card.get_by_text(re.compile("Équipe\u00a0: équipe anonymisée"))).to_be_visible()
        card.get_by_text("Ce à quoi le défi a mené").click()
        expect(card.get_by_text(NOTE)).to_be_visible()
        expect(card.get_by_text(re.compile(r"^Après 3\u00a0mois\u00a0: Adopté"))).to_be_visible()
        card.get_by_text("Le bilan de l’équipe").click()
        expect(card.get_by_text(re.compile("trust a letter that starts with the amount"))).to_be_visible()
        for secret in ("Quiet Harbour", "Noor", "@sheridancollege"):
            expect(main(page).get_by_text(re.compile(secret))).to_have_count(0)
        screenshot(page, "public-servant-library-fr")
        # Nothing else is open to a public servant: another role's page has no address.
        page.goto(url + "/home")
        wait_idle(page)
        expect(main(page).get_by_role("heading", name="Bibliothèque des résultats", level=1)).to_be_visible()
    finally:
        context.close()
