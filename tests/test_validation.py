import pytest

from matching.models import (as_list, validate_challenge, validate_feedback, validate_preferences,
                             validate_team, validate_term, validate_user)
from tests.conftest import ACCESSIBILITY


def test_complete_challenge_is_valid_for_submit():
    assert validate_challenge(ACCESSIBILITY, for_submit=True) == {}


def test_empty_challenge_reports_every_field_at_once():
    errors = validate_challenge({}, for_submit=True)
    assert errors == {
        "title": "validation.required", "problem": "validation.required",
        "outcomes": "validation.required", "themes": "validation.themes_required",
        "sme_name": "validation.required", "sme_email": "validation.required",
        "unclassified": "validation.unclassified",
    }


def test_draft_needs_only_sane_lengths():
    assert validate_challenge({"title": "x"}, for_submit=False) == {}
    assert validate_challenge({"title": "x" * 500}, for_submit=False) == {"title": "validation.too_long"}


@pytest.mark.parametrize("field, value, key", [
    ("capacity", 0, "validation.capacity"),
    ("capacity", "two", "validation.capacity"),
    ("capacity", 2.5, "validation.capacity"),
    ("language", "de", "validation.choice"),
    ("sme_email", "not-an-email", "validation.email"),
    ("problem", "Too short.", "validation.too_short"),
    ("themes", [f"t{i}" for i in range(13)], "validation.themes_too_many"),
    ("unclassified", False, "validation.unclassified"),
])
def test_challenge_field_problems(field, value, key):
    assert validate_challenge({**ACCESSIBILITY, field: value}, for_submit=True) == {field: key}


def test_team_members_are_checked_one_by_one():
    errors = validate_team({"name": "", "members": [
        {"name": "A", "email": "a@x.ca"}, {"name": "", "email": "bad"}, {"name": "C", "email": "A@x.ca"}]})
    assert errors == {"name": "validation.required", "members.1.name": "validation.required",
                      "members.1.email": "validation.email", "members.2.email": "validation.duplicate"}


def test_term_dates():
    assert validate_term({"name": "W", "starts_on": "2027-04-01", "ends_on": "2027-01-01"}) == {
        "ends_on": "validation.date_order"}
    assert validate_term({"name": "W", "starts_on": "soon"}) == {"starts_on": "validation.date"}


def test_user_links_required_by_role():
    assert validate_user({"email": "a@b.ca", "name": "A", "role": "student"}) == {"team_id": "validation.required"}
    assert validate_user({"email": "a@b.ca", "name": "A", "role": "king"})["role"] == "validation.choice"


def test_preferences_duplicates_and_too_many():
    approved = {1, 2, 3, 4, 5, 6}
    errors = validate_preferences([{"challenge_id": i} for i in (1, 2, 2, 3, 4, 5)], approved)
    assert errors["preferences"] == "validation.too_many_preferences"
    assert errors["preferences.2.challenge_id"] == "validation.duplicate_preference"
    assert validate_preferences([{"challenge_id": 99}], approved) == {
        "preferences.0.challenge_id": "validation.unknown_challenge"}


def test_feedback_rubric():
    assert validate_feedback({"scores": {"feasibility": 7}}, for_submit=False) == {"scores.feasibility": "validation.score"}
    assert len(validate_feedback({}, for_submit=True)) == 6


@pytest.mark.parametrize("value, expected", [
    ("a; b;A", ["a", "b"]), ('["x", "y"]', ["x", "y"]), (None, []), ("a, b", ["a", "b"]), (["", " c "], ["c"])])
def test_as_list(value, expected):
    assert as_list(value) == expected
