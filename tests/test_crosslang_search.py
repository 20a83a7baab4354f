"""The student search crosses languages through the glossary: "seniors" and "aînés" find the same."""
import pytest

from matching import matches
from matching.challenges import approved_challenges

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

ITEMS = [
    {"id": 1, "language": "en", "title": "Pension outreach to seniors", "problem": "Low uptake.",
     "themes": ["income security"]},
    {"id": 2, "language": "fr", "title": "Rejoindre les aînés isolés", "problem": "Isolement social.",
     "themes": ["vieillissement"]},
    {"id": 3, "language": "fr", "title": "Soins à domicile", "problem": "Des personnes âgées vivent seules.",
     "themes": ["santé"]},
    {"id": 4, "language": "en", "title": "Conception de services pour les jeunes", "problem": "", "themes": []},
    {"id": 5, "language": "en", "title": "Service design for passports", "problem": "Long queues.",
     "themes": ["digital services"]},
    {"id": 6, "language": "fr", "title": "Données ouvertes", "problem": "Portail difficile.", "themes": []},
]


def ids(query, items=ITEMS):
    return [item["id"] for item in matches.filter_ranked(items, query=query)]


@pytest.mark.parametrize("query", ["seniors", "aînés", "AINES", "aines", "senior", "personnes âgées",
                                   "older adults"])
def test_seniors_and_aines_find_the_same_challenges_in_both_languages(query):
    assert ids(query) == [1, 2, 3]


def test_phrases_cross_in_both_directions():
    assert ids("service design") == [4, 5]
    assert ids("conception de services") == [4, 5]
    assert ids("open data") == [6]
    assert ids("données ouvertes") == [6]


def test_typed_words_still_match_as_before():
    assert ids("secur") == [1]  # substring of "security", as before the glossary expansion
    assert ids("portail") == [6]
    assert ids("seniors zebra") == []  # every word must still match
    assert ids("   ") == [1, 2, 3, 4, 5, 6]
    assert ids("aînés isolés") == [2]


def test_a_glossary_word_matches_whole_words_only():
    # "app" is a glossary word (application), but it must not match inside "approach"
    items = [{"id": 1, "title": "A new approach", "problem": "", "themes": []},
             {"id": 2, "title": "Une application mobile", "problem": "", "themes": []}]
    assert ids("mobile app", items) == [2]


def test_demo_data_seniors_and_aines_give_the_same_set(demo_db):
    term_ids = [row[0] for row in demo_db.execute("select id from terms")] + [None]
    items = list({c["id"]: c for t in term_ids for c in approved_challenges(demo_db, t)}.values())
    seniors, aines = ids("seniors", items), ids("aînés", items)
    assert seniors and seniors == aines
    languages = {c["language"] for c in items if c["id"] in seniors}
    assert "en" in languages and "fr" in languages, languages
    # the typed word alone found fewer: the glossary is what brings the other language in
    plain = [c["id"] for c in items if "senior" in matches._search_text(c)]
    assert set(plain) < set(seniors)


def test_the_student_search_box_finds_the_same_challenges_for_seniors_and_aines(demo_db):
    """On the page itself (issue 14.7): what a student sees for "seniors" and for "aînés"."""
    from tests.test_app_smoke import signed_in

    at = signed_in(demo_db, "student").run()
    at.switch_page("views/student_matches.py").run()
    at.session_state["sm_limit"] = 100
    shown = {}
    for query in ("seniors", "aînés"):
        at.text_input(key="sm_query").input(query).run()
        assert not at.exception, at.exception
        shown[query] = [m.value for m in at.markdown if m.value.startswith("**") and ". " in m.value[:6]]
    assert len(shown["seniors"]) >= 3 and shown["seniors"] == shown["aînés"]
