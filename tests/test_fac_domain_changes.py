"""The domain side of issue 14.3 and 14.8 on both storage backends: each adjustment returns the
change it made (team, from, to), the plan marks manual pairs, a run names the manual pairs it
replaced, and a review keeps the copy the next review compares with."""
import pytest

from matching import challenges, pairings, reviews, teams
from tests.conftest import ACCESSIBILITY, FISHERIES

pytestmark = pytest.mark.backends("sqlite", "postgresql")


@pytest.fixture
def w(db, world, approved):
    teams.save_preferences(db, world["student_a"], world["team_a"],
                           [{"challenge_id": approved["fisheries"]}, {"challenge_id": approved["accessibility"]}])
    pairings.run_assignment(db, world["facilitator"], world["term"])    # A: fisheries, B: accessibility
    return {**world, **approved, "fac": world["facilitator"]}


def test_each_adjustment_returns_team_from_and_to(db, w):
    fac, term = w["fac"], w["term"]
    moved = pairings.unpair(db, fac, term, w["team_a"], "Waiting for the department")
    assert (moved.kind, moved.team, moved.from_title, moved.to_title) == ("unpair", "Access Crew", FISHERIES["title"], None)
    paired = pairings.pair(db, fac, term, w["team_b"], w["fisheries"], "Closer to their skills")
    assert (paired.team, paired.from_title, paired.to_title) == ("Blue Water", ACCESSIBILITY["title"], FISHERIES["title"])
    assert paired.moved and paired.warnings == []
    locked = pairings.lock(db, fac, term, w["team_b"], w["fisheries"], "Agreed")
    assert (locked.kind, locked.moved, locked.to_title) == ("lock", False, FISHERIES["title"])
    banned = pairings.ban(db, fac, term, w["team_a"], w["accessibility"], "Conflict of interest")
    assert (banned.challenge_title, banned.from_title, banned.to_title) == (ACCESSIBILITY["title"], None, None)
    rule = next(r for r in pairings.rules(db, fac, term) if r["kind"] == "lock")
    lifted = pairings.remove_rule(db, fac, rule["id"], "No longer needed")
    assert (lifted.kind, lifted.team, lifted.challenge_title, lifted.from_title) == (
        "lock_removed", "Blue Water", FISHERIES["title"], FISHERIES["title"])


def test_a_run_names_the_manual_pairs_it_replaced(db, w):
    fac, term = w["fac"], w["term"]
    pairings.unpair(db, fac, term, w["team_a"], "Rethinking")
    pairings.pair(db, fac, term, w["team_b"], w["fisheries"], "Trying fisheries")
    marked = {r["team_id"]: r["manual"] for r in pairings.plan(db, fac, term).rows}
    assert marked == {w["team_a"]: False, w["team_b"]: True}
    result = pairings.run_assignment(db, fac, term)               # A takes its first choice back
    replaced = [x for x in result.warnings if x["key"] == "assign.warning.manual_replaced"]
    assert [(x["params"]["team"], x["params"]["from_title"], x["params"]["to_title"]) for x in replaced] == [
        ("Blue Water", FISHERIES["title"], ACCESSIBILITY["title"])]
    assert not any(r["manual"] for r in result.rows)
    # Kept with the run: the plan drawn later still says it.
    assert replaced[0] in pairings.plan(db, fac, term).warnings


def test_a_review_keeps_what_it_judged_and_the_next_one_shows_the_difference(db, world):
    rep, fac = world["rep_esdc"], world["facilitator"]
    draft = challenges.save_draft(db, rep, ACCESSIBILITY)
    challenges.submit(db, rep, draft.id)
    challenges.return_for_changes(db, fac, draft.id, "Name the assistive technologies.")
    challenges.submit(db, rep, draft.id, {"outcomes": "An audit with JAWS and NVDA users, and prototypes.",
                                          "capacity": 3})
    rows = challenges.list_challenges(db, fac, status="submitted")
    entry = reviews.history(db, fac, rows)[draft.id]
    assert [(r["move"], r["reviewer"], r["comments"]) for r in entry["reviews"]] == [
        ("return", "Fac", "Name the assistive technologies.")]
    assert [(c["field"], c["before"], c["now"]) for c in entry["changes"]] == [
        ("outcomes", ACCESSIBILITY["outcomes"], "An audit with JAWS and NVDA users, and prototypes."),
        ("capacity", 2, 3)]
