"""Single sign-on: offered only when configured; a verified e-mail maps to a portal account."""
import pytest
from streamlit.testing.v1 import AppTest

from matching import accounts, audit
from matching.errors import AuthenticationFailed
from tests.conftest import ROOT

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends


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


# --- A read-only public-servant account on first sign-in from an allowed domain (issue 17) -----

ALLOWED = "canada.ca, GC.CA"


@pytest.fixture
def allowed_domains(monkeypatch):
    monkeypatch.setenv("PORTAL_PUBLIC_SERVANT_DOMAINS", ALLOWED)


@pytest.mark.parametrize("email", ["Ada.Lovelace@canada.ca", "ada@HC-SC.gc.ca", "ada@tbs-sct.canada.ca",
                                   "ada@a.b.gc.ca"])
def test_first_sign_in_from_an_allowed_domain_creates_a_public_servant(db, world, allowed_domains, email):
    user = accounts.sign_in_verified_email(db, email, name="Ada Lovelace", verified=True, language="fr")
    assert (user.role, user.email, user.name, user.language) == ("public_servant", email.lower(), "Ada Lovelace", "fr")
    assert user.department_id is None and user.team_id is None
    created = audit.events(db, action="user.create")[0]
    assert created["actor_id"] == user.id and '"method": "sso"' in created["detail"]
    assert '"role": "public_servant"' in created["detail"]
    assert '"created": true' in audit.events(db, action="auth.sign_in")[0]["detail"]
    # the second sign-in finds the same account, creates nothing
    again = accounts.sign_in_verified_email(db, email.upper(), verified=True)
    assert again.id == user.id
    assert len([e for e in audit.events(db, action="user.create") if '"public_servant"' in e["detail"]]) == 1
    # its random password is never one anybody knows: a password sign-in fails
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(db, email, "")


@pytest.mark.parametrize("email", ["mallory@evilcanada.ca", "mallory@canada.ca.evil.io", "mallory@gc.ca.com",
                                   "mallory@notgc.ca", "mallory@canada.ca@evil.io", "mallory@canada-ca.org",
                                   "mallory@xn--canad-vua.ca", "mallory@cаnada.ca", "mallory@.canada.ca",
                                   "mallory@canada..ca", "canada.ca", "@canada.ca"])
def test_an_address_outside_the_allowed_domains_is_still_refused(db, world, allowed_domains, email):
    with pytest.raises(AuthenticationFailed) as info:
        accounts.sign_in_verified_email(db, email, verified=True)
    assert info.value.key == "auth.sso_no_account"
    assert not db.execute("SELECT 1 FROM users WHERE role = 'public_servant'").fetchall()
    assert '"reason": "unknown"' in audit.events(db, action="auth.sign_in_failed")[0]["detail"]


def test_an_address_the_provider_says_is_unverified_gets_no_account(db, world, allowed_domains):
    with pytest.raises(AuthenticationFailed) as info:
        accounts.sign_in_verified_email(db, "ada@canada.ca", verified=False)
    assert info.value.key == "auth.sso_no_account"
    assert accounts.find_user(db, "ada@canada.ca") is None
    assert '"reason": "unverified"' in audit.events(db, action="auth.sign_in_failed")[0]["detail"]


def test_an_existing_account_keeps_its_role(db, world, allowed_domains, monkeypatch):
    monkeypatch.setenv("PORTAL_PUBLIC_SERVANT_DOMAINS", "esdc.gc.ca")
    assert accounts.sign_in_verified_email(db, "rep@esdc.gc.ca", verified=True).role == "department_rep"


def test_without_the_setting_nobody_is_created(db, world, monkeypatch):
    monkeypatch.delenv("PORTAL_PUBLIC_SERVANT_DOMAINS", raising=False)
    with pytest.raises(AuthenticationFailed):
        accounts.sign_in_verified_email(db, "ada@canada.ca", verified=True)
    assert accounts.find_user(db, "ada@canada.ca") is None


def test_a_hostile_name_from_the_provider_is_replaced_by_the_address(db, world, allowed_domains):
    user = accounts.sign_in_verified_email(db, "ada@canada.ca", name="Ada\u0000\u202e[x](http://evil)", verified=True)
    assert user.name == "ada"
    assert accounts.sign_in_verified_email(db, "bob@canada.ca", name="x" * 500).name == "bob"


@pytest.mark.parametrize("value, expected", [
    ("", ()), (" , ", ()), ("canada.ca", ("canada.ca",)), (" Canada.CA ,gc.ca,canada.ca, ", ("canada.ca", "gc.ca")),
    ("hc-sc.gc.ca", ("hc-sc.gc.ca",))])
def test_the_domains_setting_is_read_as_a_comma_list(value, expected):
    assert accounts.public_servant_domains({"PORTAL_PUBLIC_SERVANT_DOMAINS": value}) == expected


@pytest.mark.parametrize("value", ["ca", "*.gc.ca", "@gc.ca", "gc.ca.", ".gc.ca", "gc..ca", "10.0.0.1",
                                   "canada.ca;gc.ca", "canada.ca gc.ca", "-gc.ca", "gc-.ca", "xn--p1ai.рф"])
def test_a_value_that_is_not_a_domain_makes_the_setting_invalid(value):
    with pytest.raises(accounts.SsoSettingInvalid):
        accounts.public_servant_domains({"PORTAL_PUBLIC_SERVANT_DOMAINS": f"canada.ca,{value}"})


def test_an_invalid_setting_refuses_new_addresses_clearly_and_known_ones_still_sign_in(db, world, monkeypatch):
    monkeypatch.setenv("PORTAL_PUBLIC_SERVANT_DOMAINS", "canada.ca,*.gc.ca")
    with pytest.raises(AuthenticationFailed) as info:
        accounts.sign_in_verified_email(db, "ada@canada.ca", verified=True)
    assert info.value.key == "auth.sso_domains_invalid"
    assert '"reason": "setting_invalid"' in audit.events(db, action="auth.sign_in_failed")[0]["detail"]
    assert accounts.find_user(db, "ada@canada.ca") is None
    assert accounts.sign_in_verified_email(db, "rep@esdc.gc.ca").id == world["rep_esdc"].id


def test_two_first_sign_ins_at_once_make_one_account(db_target, world, allowed_domains):
    from concurrent.futures import ThreadPoolExecutor
    from matching import db as storage

    def sign_in(_):
        connection = storage.connect(db_target)
        try:
            return accounts.sign_in_verified_email(connection, "ada@canada.ca", verified=True).id
        finally:
            connection.close()
    with ThreadPoolExecutor(4) as pool:
        ids = set(pool.map(sign_in, range(4)))
    assert len(ids) == 1



def test_a_public_servant_signed_in_by_sso_sees_only_the_library(demo_db, allowed_domains):
    user = accounts.sign_in_verified_email(demo_db, "ada@canada.ca", name="Ada Lovelace", verified=True)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["user_id"] = user.id
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Outcomes library"
    with pytest.raises(Exception):
        at.switch_page("views/home.py").run()
