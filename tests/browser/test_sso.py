"""Single sign-on end to end, offline: an OIDC provider (oidc-provider-mock) on loopback, the
portal started with an ``[auth]`` secrets section pointing at it, and Chromium doing the login.

This test starts its own Streamlit server (the shared one has no ``[auth]`` section).
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.browser.conftest import RUN_TIMEOUT_MS, ROOT, free_port, stop, wait_healthy, wait_idle

oidc_provider_mock = pytest.importorskip("oidc_provider_mock")


@pytest.fixture(scope="module")
def provider():
    users = [oidc_provider_mock.User(sub="rep@demo.gc.ca", claims={"email": "rep@demo.gc.ca",
                                                                    "email_verified": True}),
             oidc_provider_mock.User(sub="stranger", claims={"email": "stranger@example.ca",
                                                             "email_verified": True})]
    with oidc_provider_mock.run_server_in_thread(user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def sso_portal(provider, chromium_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sso_server")
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
    env = {**os.environ, "PORTAL_DB": str(folder / "portal.db"), "PORTAL_DEMO": "1"}
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--secrets.files", str(secrets)]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://localhost:{port}", process, log)
        yield f"http://localhost:{port}"
    finally:
        stop(process)


def _sso_sign_in(chromium, url, subject):
    context = chromium.new_context()
    context.set_default_timeout(RUN_TIMEOUT_MS * 2)
    page = context.new_page()
    page.goto(url)
    wait_idle(page)
    page.get_by_role("button", name="Sign in with single sign-on").click()
    # The provider's authorization form lists the known subjects as buttons.
    page.get_by_role("button", name=subject, exact=True).click()
    page.wait_for_url(f"{url}/**")
    wait_idle(page)
    return context, page


def test_verified_email_of_a_portal_account_signs_in(sso_portal, chromium):
    from playwright.sync_api import expect
    context, page = _sso_sign_in(chromium, sso_portal, "rep@demo.gc.ca")
    try:
        expect(page.get_by_test_id("stMain").get_by_role("heading", name="Welcome, Jordan Ellis")).to_be_visible()
    finally:
        context.close()


def test_verified_email_without_account_is_refused_clearly(sso_portal, chromium):
    from playwright.sync_api import expect
    context, page = _sso_sign_in(chromium, sso_portal, "stranger")
    try:
        expect(page.get_by_text("no portal account uses its e-mail")).to_be_visible()
        expect(page.get_by_role("heading", name="Sign in to the Challenge Portal")).to_be_visible()
    finally:
        context.close()
