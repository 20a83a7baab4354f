"""Domain helpers behind the student pages: member rows, vocabularies, filtering ranked challenges."""
import pytest

from matching import matches, teams

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

RANKED = [
    {"id": 1, "department_id": 1, "acronym": "ESDC", "department_en": "Employment and Social Development Canada",
     "department_fr": "Emploi et Développement social Canada", "language": "en", "title": "Screen readers and EI",
     "problem": "Applicants abandon the form.", "outcomes": "A prototype.", "themes": ["accessibility", "service design"]},
    {"id": 2, "department_id": 2, "acronym": "CFIA", "department_en": "Canadian Food Inspection Agency",
     "department_fr": "Agence canadienne d'inspection des aliments", "language": "fr",
     "title": "Aider les voyageurs", "problem": "Déclarer les aliments.", "outcomes": "Un prototype.",
     "themes": ["sécurité alimentaire", "Accessibility"]},
    {"id": 3, "department_id": 1, "acronym": "ESDC", "department_en": "Employment and Social Development Canada",
     "department_fr": "Emploi et Développement social Canada", "language": "bilingual", "title": "Youth jobs",
     "problem": "First jobs.", "outcomes": "A service map.", "themes": ["youth"]},
]


def ids(items):
    return [item["id"] for item in items]


def test_no_filter_keeps_the_ranked_order():
    assert ids(matches.filter_ranked(RANKED)) == [1, 2, 3]


def test_values_of_one_filter_are_alternatives_and_filters_combine():
    assert ids(matches.filter_ranked(RANKED, department_ids=[1])) == [1, 3]
    assert ids(matches.filter_ranked(RANKED, languages=["fr", "bilingual"])) == [2, 3]
    assert ids(matches.filter_ranked(RANKED, department_ids=[1], languages=["fr"])) == []


def test_theme_filter_ignores_case_and_accents():
    assert ids(matches.filter_ranked(RANKED, themes=["accessibility"])) == [1, 2]
    assert ids(matches.filter_ranked(RANKED, themes=["securite alimentaire", "youth"])) == [2, 3]


def test_search_needs_every_word_somewhere_ignoring_case_and_accents():
    assert ids(matches.filter_ranked(RANKED, query="DECLARER aliments")) == [2]
    assert ids(matches.filter_ranked(RANKED, query="emploi")) == [1, 3]  # department name in French
    assert ids(matches.filter_ranked(RANKED, query="prototype cfia")) == [2]
    assert ids(matches.filter_ranked(RANKED, query="   ")) == [1, 2, 3]
    assert matches.filter_ranked(RANKED, query="prototype zebra") == []


def test_facets_list_departments_once_and_themes_sorted_without_duplicates():
    facets = matches.ranked_facets(RANKED)
    assert [d["acronym"] for d in facets["departments"]] == ["CFIA", "ESDC"]
    assert facets["themes"] == ["accessibility", "sécurité alimentaire", "service design", "youth"]


def test_compact_member_rows_drops_blank_rows_and_remembers_where_each_came_from():
    rows = [{"name": " Ana ", "email": "ana@x.ca", "program_year": ""},
            {"name": "", "email": "  ", "program_year": None},
            {"name": "", "email": "ben@x.ca"}]
    members, slots = teams.compact_member_rows(rows)
    assert members == [{"name": "Ana", "email": "ana@x.ca", "program_year": ""},
                       {"name": "", "email": "ben@x.ca", "program_year": ""}]
    assert slots == [0, 2]
    assert teams.compact_member_rows([]) == ([], [])


def test_keyword_vocabulary_offers_team_words_and_approved_themes(db, world, approved):
    skills = teams.keyword_vocabulary(db, "skills")
    assert "mapping" in skills and "fisheries" in skills  # a team's skill, an approved theme
    assert skills == sorted(skills, key=str.casefold)
    assert "oceans" in teams.keyword_vocabulary(db, "interests")


def test_keyword_vocabulary_refuses_other_columns(db):
    with pytest.raises(ValueError):
        teams.keyword_vocabulary(db, "name; DROP TABLE teams")
