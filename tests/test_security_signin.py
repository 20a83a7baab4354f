"""Issue 12, sign-in and accounts, written as an attacker would.

* a storm of wrong passwords sent by many processes at once must lock the account, exactly as
  the same number sent one after the other would;
* the demo box of the anonymous sign-in page must never show a real account;
* weak, breached, personal, control-character and reused passwords are refused with a reason,
  in English and French, by the services, the CLI and the account page.
"""
from __future__ import annotations

import multiprocessing
import tomllib
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from matching import accounts, audit, demo, i18n, models
from matching import db as storage
from matching.cli import main as cli
from matching.errors import AuthenticationFailed, ValidationFailed
from tests.conftest import PASSWORD, ROOT

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

APP = str(ROOT / "app.py")
N_PROCESSES = 20


# --- 1. Lockout race -----------------------------------------------------------------------

def _attempt(path: str, email: str, password: str, barrier, results) -> None:
    """One attacker process: its own connection, released together with the others."""
    database = storage.connect(path)
    barrier.wait(timeout=60)
    try:
        accounts.authenticate(database, email, password)
        results.put("signed in")
    except AuthenticationFailed:
        results.put("refused")
    finally:
        database.close()


def _storm(path, email: str, passwords: list[str]) -> list[str]:
    """Fork (the modules are already loaded, so all start within milliseconds): each child opens
    its own connection and touches none of the parent's."""
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(len(passwords)), context.Queue()
    workers = [context.Process(target=_attempt, args=(str(path), email, pw, barrier, results)) for pw in passwords]
    for w in workers:
        w.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0] * len(workers)
    return outcomes


@pytest.mark.timeout(240)
def test_concurrent_wrong_passwords_from_many_processes_lock_the_account(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_MAX_FAILED_SIGNINS", "5")
    monkeypatch.setenv("PORTAL_LOCK_MINUTES", "15")
    path = tmp_path / "race.db"
    database = storage.connect(path)
    email = "victim@pco.gc.ca"
    accounts.create_user(database, accounts.SYSTEM, {"email": email, "name": "Victim", "role": "facilitator"},
                         PASSWORD)
    database.close()

    outcomes = _storm(path, email, [f"guess-number-{i:02d}" for i in range(N_PROCESSES)])
    database = storage.connect(path)
    assert outcomes == ["refused"] * N_PROCESSES

    row = storage.one(database, "SELECT failed_attempts, locked_until FROM users WHERE email = ?", [email])
    assert row["locked_until"] and datetime.fromisoformat(row["locked_until"]) > datetime.now(timezone.utc), row
    # Every attempt counted: the first five as wrong passwords (the fifth locks), the rest as locked.
    reasons = [e["detail"] for e in audit.events(database, action="auth.sign_in_failed")]
    assert sum('"password"' in d for d in reasons) == 5
    assert sum('"locked"' in d for d in reasons) == N_PROCESSES - 5
    assert len(audit.events(database, action="auth.locked")) == 1
    with pytest.raises(AuthenticationFailed):  # the right password is refused while locked
        accounts.authenticate(database, email, PASSWORD)
    database.close()


@pytest.mark.timeout(240)
def test_the_right_password_hidden_in_a_storm_does_not_open_a_locked_account(tmp_path, monkeypatch):
    """Four wrong passwords already counted; a storm of wrong ones with the right one among them:
    the count must reach the limit inside the storm, and the right password may open the account
    only when it came before the fifth wrong one (then the wrong ones after it count again)."""
    monkeypatch.setenv("PORTAL_MAX_FAILED_SIGNINS", "5")
    path = tmp_path / "race.db"
    database = storage.connect(path)
    email = "victim@pco.gc.ca"
    accounts.create_user(database, accounts.SYSTEM, {"email": email, "name": "Victim", "role": "facilitator"},
                         PASSWORD)
    for i in range(4):
        with pytest.raises(AuthenticationFailed):
            accounts.authenticate(database, email, f"earlier-guess-{i}")
    database.close()
    passwords = [f"guess-number-{i:02d}" for i in range(N_PROCESSES - 1)] + [PASSWORD]
    outcomes = _storm(path, email, passwords)
    database = storage.connect(path)
    events = list(reversed(audit.events(database)))  # oldest first
    decided = [e for e in events if e["action"] in ("auth.sign_in", "auth.sign_in_failed")][4:]
    assert len(decided) == N_PROCESSES
    first_wrong = next(i for i, e in enumerate(decided) if e["action"] == "auth.sign_in_failed")
    signed_in = outcomes.count("signed in")
    if signed_in:
        # Only possible as the very first decision of the storm (nothing wrong before it).
        assert decided[0]["action"] == "auth.sign_in" and first_wrong == 1
    else:
        assert all(e["action"] == "auth.sign_in_failed" for e in decided)
        assert '"password"' in decided[0]["detail"] and all('"locked"' in e["detail"] for e in decided[1:])
    row = storage.one(database, "SELECT locked_until FROM users WHERE email = ?", [email])
    assert row["locked_until"]  # locked at the end either way (at least five wrong ones followed)
    assert len(audit.events(database, action="auth.locked")) == 1  # one lock, not one per process
    database.close()


# --- 2. The demo box never lists a real account --------------------------------------------

def _shown(at) -> str:
    return " ".join(t.value for t in at.text) + " ".join(str(m.value) for m in at.markdown)


def test_create_user_on_an_empty_database_is_not_listed_on_the_sign_in_page(tmp_path, monkeypatch):
    path = tmp_path / "real.db"
    monkeypatch.setenv("PORTAL_DB", str(path))
    monkeypatch.delenv("PORTAL_DEMO", raising=False)       # the default: demo mode on
    result = CliRunner().invoke(cli, ["--db", str(path), "create-user", "--email", "chief@pco-bcp.gc.ca",
                                      "--name", "Chief Facilitator", "--role", "facilitator",
                                      "--password", "a-long-and-private-passphrase"])
    assert result.exit_code == 0, result.output
    database = storage.connect(path)
    assert accounts.first_account_per_role(database) == {}
    database.close()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert "chief@pco-bcp.gc.ca" not in _shown(at)
    assert demo.DEMO_PASSWORD not in _shown(at)         # no demo box at all on a real database


def test_demo_data_loaded_after_a_real_account_lists_only_demo_accounts(db):
    accounts.create_user(db, accounts.SYSTEM, {"email": "chief@pco-bcp.gc.ca", "name": "Chief",
                                               "role": "facilitator"}, "a-long-and-private-passphrase")
    demo.load_demo(db)
    listed = accounts.first_account_per_role(db)
    assert listed["facilitator"] == "facilitator@demo.gc.ca"
    assert "chief@pco-bcp.gc.ca" not in listed.values()
    accounts.create_user(db, accounts.SYSTEM, {"email": "aaa@pco-bcp.gc.ca", "name": "Aaa",
                                               "role": "expert"}, "a-long-and-private-passphrase")
    assert "aaa@pco-bcp.gc.ca" not in accounts.first_account_per_role(db).values()


def test_demo_accounts_are_still_listed_on_a_demo_database(demo_db):
    assert accounts.first_account_per_role(demo_db) == {
        "department_rep": "rep@demo.gc.ca", "student": "student@demo.sheridancollege.ca",
        "facilitator": "facilitator@demo.gc.ca", "expert": "expert@demo.gc.ca",
        "public_servant": "public.servant@demo.canada.ca"}


def test_upgrading_a_demo_database_keeps_only_its_demo_accounts_listed(tmp_path):
    old = storage.connect(tmp_path / "old.db", migrate_schema=False)
    storage.migrate(old, target=5)
    with storage.transaction(old):
        for email, role in (("chief@pco-bcp.gc.ca", "facilitator"), ("facilitator@demo.gc.ca", "facilitator"),
                            ("expert@demo.gc.ca", "expert")):
            storage.insert(old, "users", {"email": email, "name": "X", "role": role, "password_hash": "x",
                                          "created_at": "2026-01-01T00:00:00+00:00"})
        audit.record(old, accounts.SYSTEM, "demo.load")
    old.close()
    upgraded = storage.connect(tmp_path / "old.db")
    assert accounts.first_account_per_role(upgraded) == {"facilitator": "facilitator@demo.gc.ca",
                                                        "expert": "expert@demo.gc.ca"}
    upgraded.close()


# --- 3. Passwords (NIST SP 800-63B) --------------------------------------------------------

ME = {"email": "gabrielle.tremblay@pco-bcp.gc.ca", "name": "Gabrielle Tremblay"}

WEAK = {
    "aaaaaaaaaa": "validation.password_too_short",
    "password12": "validation.password_too_short",
    "1234567890": "validation.password_too_short",
    " " * 10: "validation.password_too_short",
    "\x00" * 10: "validation.password_too_short",
    "elevenchars": "validation.password_too_short",
    "aaaaaaaaaaaa": "validation.password_guessable",
    "123456789012": "validation.password_guessable",
    "qwertyuiopasdf": "validation.password_guessable",
    "iloveyou1234": "validation.password_guessable",
    "passwordpassword": "validation.password_guessable",
    "password1234": "validation.password_common",
    "123qweasdzxc": "validation.password_common",
    "QWERTY123456": "validation.password_common",
    " " * 12: "validation.password_blank",
    "\x00" * 12: "validation.password_control",
    "correct\x00horse-battery": "validation.password_control",
    "\x1b[31mcorrect-horse-battery": "validation.password_control",
    "correct-horse\u0085battery": "validation.password_control",
    "\ud800correct-horse-battery": "validation.password_control",
    ME["email"]: "validation.password_personal",
    ME["email"].upper(): "validation.password_personal",
    ME["name"]: "validation.password_personal",
    "gabrielle tremblay 2027!": "validation.password_personal",
    "my-gabrielle.tremblay-pass": "validation.password_personal",
    "x" * 1025: "validation.password_too_long",
}

STRONG = ["correct-horse-battery", demo.DEMO_PASSWORD, "a-long-and-private-passphrase",
          "mot de passe très sûr", "Tidewater studio rocks", "a-long-password"]


@pytest.mark.parametrize("password, key", list(WEAK.items()), ids=lambda v: repr(v)[:30])
def test_weak_passwords_are_refused_with_their_reason(password, key):
    assert models.validate_password(password, **ME) == {"password": key}


@pytest.mark.parametrize("password", STRONG)
def test_good_passwords_pass(password):
    assert models.validate_password(password, **ME) == {}


def test_the_test_suites_own_password_is_acceptable():
    assert models.validate_password(PASSWORD, email="fac@pco.gc.ca", name="Fac") == {}


def test_create_user_refuses_the_accounts_own_email_as_password(db):
    with pytest.raises(ValidationFailed) as info:
        accounts.create_user(db, accounts.SYSTEM, {**ME, "role": "facilitator"}, ME["email"])
    assert info.value.errors == {"password": "validation.password_personal"}
    assert accounts.find_user(db, ME["email"]) is None


def test_change_password_refuses_the_same_password_again(db, world):
    user = world["facilitator"]
    with pytest.raises(ValidationFailed) as info:
        accounts.change_password(db, user, PASSWORD, PASSWORD)
    assert info.value.errors == {"new": "validation.password_reused"}
    with pytest.raises(ValidationFailed) as info:
        accounts.change_password(db, user, PASSWORD, "password1234")
    assert info.value.errors == {"new": "validation.password_common"}
    with pytest.raises(ValidationFailed) as info:
        accounts.change_password(db, user, PASSWORD, "fac@pco.gc.ca-2027")
    assert info.value.errors == {"new": "validation.password_personal"}
    assert accounts.authenticate(db, user.email, PASSWORD).id == user.id  # unchanged


def test_every_password_message_is_bilingual_in_its_own_file():
    with open(ROOT / "matching" / "messages" / "security_passwords.toml", "rb") as f:
        data = tomllib.load(f)
    en, fr = i18n._flatten(data["en"]), i18n._flatten(data["fr"])
    assert set(en) == set(fr)
    for key in set(WEAK.values()) | {"validation.password_reused"}:
        assert key in en, key
        assert i18n.t(key, "en") != i18n.t(key, "fr")


@pytest.mark.parametrize("password, key", [("password1234", "validation.password_common"),
                                           ("short", "validation.password_too_short"),
                                           ("ops.person@pco.gc.ca", "validation.password_personal")])
def test_cli_create_user_says_why_the_password_is_refused(tmp_path, password, key):
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "c.db"), "create-user", "--email", "ops.person@pco.gc.ca",
                                      "--name", "Ops Person", "--role", "facilitator", "--password", password])
    assert result.exit_code == 1
    assert i18n.t(key, "en") in result.output


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("new, key", [(demo.DEMO_PASSWORD, "validation.password_reused"),
                                      ("password1234", "validation.password_common")])
def test_account_page_says_why_the_new_password_is_refused(demo_db, lang, new, key):
    user = accounts.find_user(demo_db, "student@demo.sheridancollege.ca")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user_id"] = user.id
    at.session_state["lang"] = lang
    at.run()
    at.switch_page("views/account.py").run()
    assert not at.exception, at.exception
    at.text_input(key="pw_current").input(demo.DEMO_PASSWORD)
    at.text_input(key="pw_new").input(new)
    next(b for b in at.button if b.label == i18n.t("account.save_password", lang)).click().run()
    assert not at.exception, at.exception
    assert i18n.t(key, lang) in [e.value for e in at.error]
    assert accounts.authenticate(demo_db, user.email, demo.DEMO_PASSWORD).id == user.id
