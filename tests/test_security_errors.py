"""Issue 12, class 12: no page ever shows a traceback or a server path.

An attacker who makes a page fail (a crafted record, a race, a bug) must learn nothing about the
server: the page shows one sentence in the user's language with an error id; the traceback,
with that id, goes to the server log only.
"""
from __future__ import annotations

import logging
import re
import tomllib

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from matching import accounts, home
from matching.i18n import t
from tests.conftest import ROOT
from tests.test_app_smoke import APP, signed_in

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

SECRET = "/secret/server/path/portal.db"


def _boom(*args, **kwargs):
    raise RuntimeError(f"could not open {SECRET}")


def _everything_shown(at) -> str:
    """The text of every element on the page, sidebar included (protobuf text of each node)."""
    parts = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)
    walk(at._tree)
    return "\n".join(parts)


def _error_id(message: str) -> str:
    found = re.findall(r"\b[0-9A-F]{8}\b", message)
    assert len(found) == 1, message
    return found[0]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_failing_page_shows_one_sentence_with_an_id_and_logs_the_traceback(demo_db, monkeypatch, caplog, lang):
    monkeypatch.setattr(home, "next_steps", _boom)          # the home page calls it first thing
    at = signed_in(demo_db, "facilitator", lang)
    with caplog.at_level(logging.ERROR):
        at.run()
    assert not at.exception, at.exception                   # Streamlit's own traceback box
    assert len(at.error) == 1
    message = at.error[0].value
    error_id = _error_id(message)
    assert message == t("error.unexpected", lang, id=error_id)
    shown = _everything_shown(at)
    assert SECRET not in shown and "/secret/" not in shown
    assert "Traceback" not in shown and "RuntimeError" not in shown and str(ROOT) not in shown
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelno == logging.ERROR
    assert logged[0].exc_info and logged[0].exc_info[0] is RuntimeError
    text = logging.Formatter().format(logged[0])
    assert "Traceback" in text and SECRET in text
    # The rest of the portal still works: the sidebar and the other pages are there.
    assert at.sidebar.button(key="sign_out")


def test_a_failure_on_the_sign_in_page_is_caught_too(demo_db_path, monkeypatch, caplog):
    monkeypatch.setattr(accounts, "first_account_per_role", _boom)
    with caplog.at_level(logging.ERROR):
        at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("error.unexpected", "en", id=_error_id(at.error[0].value))]
    assert SECRET not in _everything_shown(at)
    assert any(r.exc_info for r in caplog.records if _error_id(at.error[0].value) in r.getMessage())


def test_each_failure_gets_its_own_id(demo_db, monkeypatch):
    monkeypatch.setattr(home, "next_steps", _boom)
    at = signed_in(demo_db, "student")
    first = _error_id(at.run().error[0].value)
    second = _error_id(at.run().error[0].value)
    assert first != second


def test_streamlit_control_flow_still_passes_through(demo_db, monkeypatch):
    """st.stop (and st.rerun, st.switch_page) are exceptions too: they must not become an error."""
    def stop(*args, **kwargs):
        st.stop()
    monkeypatch.setattr(home, "next_steps", stop)
    at = signed_in(demo_db, "department_rep").run()
    assert not at.exception and not at.error


def test_streamlit_never_shows_error_details():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"
