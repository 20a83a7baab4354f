"""Single sign-on: offered only when configured; a verified e-mail maps to a portal account."""
import pytest
from streamlit.testing.v1 import AppTest

from matching import accounts, audit
from matching.errors import AuthenticationFailed
from tests.conftest import ROOT


def test_verified_email_signs_in_its_account(db, world):
    user = accounts.sign_in_verified_email(db, "REP@esdc.gc.ca")
    assert user.id == world["rep_esdc"].id
    assert audit.events(db, action="auth.sign_in")[0]["detail"] == '{"method": "sso"}'


@pytest.mark.parametrize("email", ["stranger@example.ca", "", None])
def test_unknown_verified_email_is_refused_and_audited(db, world, email):
    with pytest.raises(AuthenticationFailed) as info:
        accounts.sign_in_verified_email(db, email)
    assert info.value.key == "auth.sso_no_account"
    assert audit.events(db, action="auth.sign_in_failed")


def test_locked_account_is_refused_through_sso_too(db, world):
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            accounts.authenticate(db, "rep@esdc.gc.ca", "wrong")
    with pytest.raises(AuthenticationFailed):
        accounts.sign_in_verified_email(db, "rep@esdc.gc.ca")


def _sso_buttons(at):
    return [b for b in at.button if b.key == "sso_login"]


def test_without_auth_secrets_nothing_about_sso_shows(demo_db_path):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert not _sso_buttons(at)


def test_with_auth_secrets_the_sso_button_shows(demo_db_path):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "portal", "client_secret": "s",
                          "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
    at.run()
    assert not at.exception
    assert _sso_buttons(at)[0].label == "Sign in with single sign-on"
