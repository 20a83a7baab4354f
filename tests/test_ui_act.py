"""AppTest: ui.act, the one way pages call a service and report the outcome.

A tiny page stands in for a real one, so each outcome is pinned down on its own: field problems
next to their field with the typed input kept, other refusals in one sentence, and a confirmation
after the rerun that is translated when shown (so it follows a language switch).
"""
import pytest
from streamlit.testing.v1 import AppTest

from tests.test_views_department import error_right_after


def demo_page():
    """Create a round named by the user; "taken" is refused, "stale" was saved by someone else."""
    import streamlit as st

    import ui
    from matching.errors import PermissionDenied, StaleRecord, ValidationFailed

    def create(name: str) -> dict:
        if len(name) < 3:
            raise ValidationFailed({"name": "validation.required"})
        if name == "taken":
            raise PermissionDenied()
        if name == "stale":
            raise StaleRecord({"name": "theirs"})
        return {"name": name}

    if not st.session_state.get("hold_notice"):  # lets a test switch language before it is shown
        ui.show_notice("demo")
    name = st.text_input(ui.t("rounds.name"), key="demo_name")
    ui.field_error(ui.kept_errors("demo_errors"), "name")
    if st.button(ui.t("rounds.create_button"), key="demo_go"):
        ui.act(lambda: create(name), page="demo", errors_key="demo_errors", forget=["demo_name"],
               success=lambda created: ("rounds.created", {"name": created["name"]}))


def page(lang="en", **state):
    at = AppTest.from_function(demo_page, default_timeout=30)
    at.session_state["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def submit(at, name):
    at.text_input(key="demo_name").input(name)
    at.button(key="demo_go").click().run()
    assert not at.exception, at.exception
    return at


def test_a_field_problem_is_shown_under_its_field_and_the_input_is_kept():
    at = submit(page(), "ab")
    assert error_right_after(at, "demo_name") == "This field is required."
    assert at.text_input(key="demo_name").value == "ab"
    assert not at.success
    submit(at, "Discovery")
    assert error_right_after(at, "demo_name") is None  # gone once the save worked


@pytest.mark.parametrize("name, shown", [
    ("taken", ("error", "You do not have permission to do this.")),
    ("stale", ("warning", "Someone else saved this record")),
])
def test_a_refusal_is_one_translated_sentence_and_the_input_is_kept(name, shown):
    at = submit(page(), name)
    kind, text = shown
    assert [e.value for e in getattr(at, kind) if text in e.value]
    assert at.text_input(key="demo_name").value == name
    assert not at.success


def test_the_confirmation_is_shown_after_the_rerun_once_and_the_form_starts_empty():
    at = submit(page(), "Discovery")
    assert [s.value for s in at.success] == ["Round Discovery created."]
    assert at.text_input(key="demo_name").value == ""
    at.run()
    assert not at.success


def test_the_confirmation_follows_a_language_switch():
    at = submit(page(hold_notice=True), "Discovery")
    assert not at.success                                    # kept, not shown yet
    at.session_state["lang"] = "fr"
    at.session_state["hold_notice"] = False
    at.run()
    assert [s.value for s in at.success] == ["Cycle Discovery créé."]


def test_typed_text_in_a_confirmation_stays_plain_text():
    at = submit(page(), "*Bold* [link](javascript:x)")
    # Every Markdown character escaped; a word joiner after the colon (no scheme, no shortcode).
    assert at.success[0].value == "Round \\*Bold\\* \\[link\\]\\(javascript\\:\u2060x\\) created."
