"""Domain helpers behind the department pages: the theme vocabulary of the challenge form."""
import pytest

from matching import challenges

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends


def test_theme_vocabulary_has_approved_themes_and_the_actors_own_drafts(db, world, approved):
    challenges.save_draft(db, world["rep_dfo"], {"title": "Private draft", "themes": ["tide pools"]})
    challenges.save_draft(db, world["rep_esdc"], {"title": "Own draft", "themes": ["Youth"]})
    esdc = challenges.theme_vocabulary(db, world["rep_esdc"])
    assert {"accessibility", "fisheries", "Youth"} <= set(esdc)
    assert "tide pools" not in esdc  # another department's draft stays private
    assert "tide pools" in challenges.theme_vocabulary(db, world["rep_dfo"])
    assert "Youth" not in challenges.theme_vocabulary(db)


def test_sorted_terms_dedupes_ignoring_case_and_sorts_ignoring_accents():
    assert challenges.sorted_terms(["Équité", "data", "Data", "emploi", " "]) == ["data", "emploi", "Équité"]
