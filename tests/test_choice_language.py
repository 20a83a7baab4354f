"""A choice box keeps the chosen value across a language switch (issue 14.1), and what is saved
is that value: the challenge form, the team profile, and the import and export lists.

A browser holds a choice box's value as the *label* it shows, and sends that label back on every
rerun; it shows another label only when the person picks one or the server sends one
(``set_value``). AppTest instead re-derives the label from the server's value in the current
language, which hides the bug (a label of the old language mapped against the new labels falls
back to the first option). :class:`Browser` sends what a browser sends.
"""
from __future__ import annotations


from matching import accounts, challenges, i18n, teams
from tests.test_views_department import FORM
from tests.test_views_department import fill as fill_challenge
from tests.test_views_department import open_page as open_department_page
from tests.test_views_facilitator import page as open_facilitator_page
from tests.test_views_student import PROFILE
from tests.test_views_student import open_page as open_student_page

# Page tests run on SQLite in the suite: every domain call they make runs on both backends in the
# domain test files, and their PostgreSQL cases (all passing at 4ece603) cost CI about 5 minutes.
# `pytest THIS_FILE --backends=sqlite,postgresql` runs them on both (docs/POSTGRES.md).


class Browser:
    """Runs an AppTest the way a browser reruns a page: each choice box sends the label the
    browser shows (the first one drawn, the one the person picked, or the last one the server
    sent with ``set_value``), not a label AppTest derives from the server's value.

    Uses AppTest's private ``_tree``/``_run``/``_widget_state``: the public ``run`` re-derives
    every label."""

    def __init__(self, at):
        self.at = at
        self.shown: dict[str, tuple[str, object]] = {}  # widget id -> (proto field, wire value)
        self.picked: set[str] = set()
        self._observe()

    def pick(self, element, value) -> Browser:
        """The person picks ``value`` (an option value) and the page reruns."""
        element.set_value(value)
        self.picked.add(element.id)
        return self.run()

    def switch_language(self, lang: str) -> Browser:
        return self.pick(self.at.button_group(key="language_choice"), lang)

    def run(self) -> Browser:
        states = self.at._tree.get_widget_states()
        for state in states.widgets:
            if state.id in self.picked or state.id not in self.shown:
                field = state.WhichOneof("value")
                if field in ("string_value", "string_array_value"):
                    self.shown[state.id] = (field, _wire(state, field))
                continue
            field, wire = self.shown[state.id]
            if field == "string_value":
                state.string_value = wire
            else:
                state.string_array_value.data[:] = wire
        self.picked.clear()
        self.at._run(states)
        assert not self.at.exception, self.at.exception
        self._observe()
        return self

    def _observe(self) -> None:
        for element in [*self.at.selectbox, *self.at.multiselect, *self.at.radio]:
            if element.id in self.shown and not element.proto.set_value:
                continue  # the browser keeps showing what it showed
            if element.proto.set_value:
                if element.type == "multiselect":
                    self.shown[element.id] = ("string_array_value", list(element.proto.raw_values))
                else:
                    self.shown[element.id] = ("string_value", element.proto.raw_value)
            else:
                state = element._widget_state
                field = state.WhichOneof("value")
                if field:
                    self.shown[element.id] = (field, _wire(state, field))

    def label(self, element) -> object:
        """The label (or labels) the browser shows in ``element``."""
        return self.shown[element.id][1]


def _wire(state, field):
    return state.string_value if field == "string_value" else list(state.string_array_value.data)


PROBLEM = ("Service counters serve visitors in one official language only. People who need the other "
           "language wait longer or leave, and staff do not know who can help them.")


# --- The challenge form -------------------------------------------------------------------

def test_challenge_language_survives_french_and_back_and_is_saved(demo_db):
    at = open_department_page(demo_db, FORM)
    fill_challenge(at, title="Bilingual service counters", problem=PROBLEM,
                   outcomes="A bilingual counter guide.", themes=["service design"], sme_name="Dana Okafor",
                   sme_email="dana.okafor@esdc-edsc.gc.ca", unclassified=True)
    browser = Browser(at.run())
    browser.pick(at.selectbox(key="cf_language"), "bilingual")
    assert browser.label(at.selectbox(key="cf_language")) == "Bilingual (English and French)"

    browser.switch_language("fr")
    assert at.title[0].value == "Nouveau défi"
    browser.run()  # any other rerun in French (a field typed, a box ticked) keeps it
    assert at.selectbox(key="cf_language").value == "bilingual"
    assert browser.label(at.selectbox(key="cf_language")) == "Bilingue (anglais et français)"

    assert at.selectbox(key="cf_language").proto.placeholder == "Choisissez une option"  # not Streamlit's English

    browser.switch_language("en")
    assert at.selectbox(key="cf_language").value == "bilingual"
    assert browser.label(at.selectbox(key="cf_language")) == "Bilingual (English and French)"
    assert at.text_input(key="cf_title").value == "Bilingual service counters"

    at.button(key="cf_submit").click()
    browser.run()
    assert "Submitted for review." in " ".join(s.value for s in at.success), [e.value for e in at.error]
    rep = accounts.find_user(demo_db, "rep@demo.gc.ca")
    saved = [c for c in challenges.list_challenges(demo_db, rep) if c["title"] == "Bilingual service counters"]
    assert [(c["language"], c["status"]) for c in saved] == [("bilingual", "submitted")]


def test_french_chosen_in_french_survives_the_switch_to_english_and_is_saved_as_a_draft(demo_db):
    at = open_department_page(demo_db, FORM, "fr")
    fill_challenge(at, title="Guichets en français")
    browser = Browser(at.run())
    browser.pick(at.selectbox(key="cf_language"), "fr")
    browser.switch_language("en")
    assert at.selectbox(key="cf_language").value == "fr"
    assert browser.label(at.selectbox(key="cf_language")) == "French"
    at.button(key="cf_save").click()
    browser.run()
    rep = accounts.find_user(demo_db, "rep@demo.gc.ca")
    saved = [c for c in challenges.list_challenges(demo_db, rep) if c["title"] == "Guichets en français"]
    assert [c["language"] for c in saved] == ["fr"]


# --- The team profile ---------------------------------------------------------------------

def test_team_working_language_survives_french_and_back_and_is_saved(demo_db):
    at = open_student_page(demo_db, PROFILE)
    student = accounts.find_user(demo_db, "student@demo.sheridancollege.ca")
    assert teams.get_team(demo_db, student, student.team_id).language != "bilingual"
    browser = Browser(at)
    browser.pick(at.selectbox(key="tp_language"), "bilingual")
    browser.switch_language("fr")
    assert at.selectbox(key="tp_language").value == "bilingual"
    assert browser.label(at.selectbox(key="tp_language")) == "Bilingue (anglais et français)"
    browser.switch_language("en")
    assert at.selectbox(key="tp_language").value == "bilingual"
    assert browser.label(at.selectbox(key="tp_language")) == "Bilingual (English and French)"
    at.button(key="tp_save").click()
    browser.run()
    assert "Profile saved." in [s.value for s in at.success]
    assert teams.get_team(demo_db, student, student.team_id).language == "bilingual"


# --- Import and export --------------------------------------------------------------------

def test_import_and_export_lists_survive_french_and_back(demo_db):
    at = open_facilitator_page(demo_db, "views/fac_data.py")
    browser = Browser(at)
    browser.pick(at.selectbox(key="data_import_kind"), "teams")
    browser.pick(at.selectbox(key="data_export_kind"), "feedback")
    for lang, import_label, export_label in (("fr", "équipes", "rétroactions"), ("en", "teams", "feedback")):
        browser.switch_language(lang)
        assert at.selectbox(key="data_import_kind").value == "teams"
        assert at.selectbox(key="data_export_kind").value == "feedback"
        assert browser.label(at.selectbox(key="data_import_kind")) == import_label
        assert browser.label(at.selectbox(key="data_export_kind")) == export_label
        # What the page does follows the choice: the teams' columns; a term's feedback (one term).
        assert any(c.value == i18n.t("data.page.columns_teams", lang) for c in at.caption)
        assert [box.key for box in at.selectbox if box.key.startswith("data_export_term")] == ["data_export_term"]


def test_all_terms_export_choice_survives_french_and_back(demo_db):
    at = open_facilitator_page(demo_db, "views/fac_data.py")
    browser = Browser(at)
    browser.pick(at.selectbox(key="data_export_kind"), "challenges")
    browser.pick(at.selectbox(key="data_export_term_all"), 0)  # "all terms"
    for lang, label in (("fr", "Toutes les sessions"), ("en", "All terms")):
        browser.switch_language(lang)
        assert at.selectbox(key="data_export_term_all").value == 0
        assert browser.label(at.selectbox(key="data_export_term_all")) == label



# --- A multiselect and a radio (the same helper) -------------------------------------------

def test_language_filter_and_matrix_order_survive_french_and_back(demo_db):
    at = open_student_page(demo_db, "views/student_matches.py")
    browser = Browser(at)
    browser.pick(at.multiselect(key="sm_languages"), ["fr", "bilingual"])
    for lang, labels in (("fr", ["Français", "Bilingue (anglais et français)"]),
                         ("en", ["French", "Bilingual (English and French)"])):
        browser.switch_language(lang)
        browser.run()
        assert at.multiselect(key="sm_languages").value == ["fr", "bilingual"]
        assert browser.label(at.multiselect(key="sm_languages")) == labels

    at = open_facilitator_page(demo_db, "views/fac_matrix.py")
    browser = Browser(at)
    browser.pick(at.radio(key="matrix_sort"), "best")
    for lang in ("fr", "en"):
        browser.switch_language(lang)
        browser.run()
        assert at.radio(key="matrix_sort").value == "best"
