"""AppTest smoke test: sign in as each role and render every page it may open, in EN and FR."""
import pytest
from streamlit.testing.v1 import AppTest

import ui
from matching import accounts, demo
from tests.conftest import ROOT

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

APP = str(ROOT / "app.py")
DEMO_EMAILS = {
    "department_rep": "rep@demo.gc.ca",
    "student": "student@demo.sheridancollege.ca",
    "facilitator": "facilitator@demo.gc.ca",
    "expert": "expert@demo.gc.ca",
    "public_servant": "public.servant@demo.canada.ca",
}


def signed_in(demo_db, role, lang="en"):
    at = AppTest.from_file(APP, default_timeout=60)
    user = accounts.find_user(demo_db, DEMO_EMAILS[role])
    at.session_state["user_id"] = user.id
    at.session_state["lang"] = lang
    return at


def test_sign_in_page_lists_demo_accounts(demo_db_path):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Sign in to the Challenge Portal"
    shown = " ".join(t.value for t in at.text)
    assert "rep@demo.gc.ca" in shown and "facilitator@demo.gc.ca" in shown


def test_sign_in_with_demo_account(demo_db_path):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key="signin_email").input("rep@demo.gc.ca")
    at.text_input(key="signin_password").input(demo.DEMO_PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value.startswith("Welcome")


def test_wrong_password_shows_a_message_not_a_traceback(demo_db_path):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key="signin_email").input("rep@demo.gc.ca")
    at.text_input(key="signin_password").input("nope")
    at.button[0].click().run()
    assert not at.exception
    assert "not correct" in at.error[0].value


def test_first_run_seeds_an_empty_database(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_DB", str(tmp_path / "fresh.db"))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert "rep@demo.gc.ca" in " ".join(t.value for t in at.text)


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("role", sorted(DEMO_EMAILS))
def test_every_page_of_every_role_renders(demo_db, role, lang):
    at = signed_in(demo_db, role, lang).run()
    assert not at.exception, at.exception
    for page in ui.page_files(role):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert at.title, page


def test_another_roles_page_is_unreachable(demo_db):
    at = signed_in(demo_db, "student").run()
    with pytest.raises(Exception):
        at.switch_page("views/fac_review.py").run()
