"""Feedback rounds and entries: creation, the entry state machine, visibility, reminders."""
from datetime import date

import pytest

from matching import accounts, audit, feedback, pairings, teams, terms
from matching import db as storage
from matching.errors import IllegalTransition, NotFound, PermissionDenied, ValidationFailed
from matching.models import RUBRIC
from tests.conftest import PASSWORD

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

SCORES = {criterion: 4 for criterion in RUBRIC}


@pytest.fixture
def active(db, world, approved):
    """Both teams paired and published, term active, one round due 2027-02-01."""
    fac = world["facilitator"]
    teams.save_preferences(db, world["student_a"], world["team_a"], [{"challenge_id": approved["fisheries"]}])
    pairings.run_assignment(db, fac, world["term"])
    terms.advance_term(db, fac, world["term"])
    pairings.publish(db, fac, world["term"])
    terms.advance_term(db, fac, world["term"])
    rnd = feedback.create_round(db, fac, world["term"], "Discovery", "2027-02-01")
    entry = storage.one(db, "SELECT id FROM feedback_entries WHERE expert_id = ?", [world["expert"].id])
    team_b_pairing = pairings.pairing_for_team(db, fac, world["team_b"])
    return {**world, **approved, "fac": fac, "round": rnd, "entry": entry["id"], "pairing_b": team_b_pairing}


def test_a_round_gives_every_published_pairing_one_entry_for_its_expert(db, active):
    w = active
    rows = list(db.query("SELECT * FROM feedback_entries ORDER BY id"))
    assert len(rows) == 2
    # The accessibility SME has an account (the expert); the fisheries SME does not yet.
    by_expert = {r["expert_id"] for r in rows}
    assert by_expert == {w["expert"].id, None}
    # Creating the account later attaches the waiting entry to it.
    fay = accounts.create_user(db, accounts.SYSTEM, {"email": "fay.fisher@dfo-mpo.gc.ca", "name": "Fay",
                                                     "role": "expert", "department_id": w["dfo"]}, PASSWORD)
    feedback.create_round(db, w["fac"], w["term"], "Concept", "2027-03-01")
    assert db.execute("SELECT COUNT(*) FROM feedback_entries WHERE expert_id = ?", [fay.id]).fetchone()[0] == 2
    assert db.execute("SELECT COUNT(*) FROM feedback_entries").fetchone()[0] == 4
    assert feedback.ensure_entries(db, w["term"]) == 0       # idempotent


def test_round_validation(db, active):
    w = active
    with pytest.raises(ValidationFailed) as info:
        feedback.create_round(db, w["fac"], w["term"], "discovery", "not a date")
    assert info.value.errors == {"name": "validation.duplicate", "due_on": "validation.date"}
    with pytest.raises(ValidationFailed) as info:
        feedback.create_round(db, w["fac"], w["term"], "", "")
    assert set(info.value.errors) == {"name", "due_on"}
    with pytest.raises(PermissionDenied):
        feedback.create_round(db, w["expert"], w["term"], "Mine", "2027-03-01")


def test_rounds_are_created_for_pairings_published_later(db, world, approved):
    fac = world["facilitator"]
    feedback.create_round(db, fac, world["term"], "Discovery", "2027-02-01")
    assert db.execute("SELECT COUNT(*) FROM feedback_entries").fetchone()[0] == 0
    pairings.run_assignment(db, fac, world["term"])
    terms.advance_term(db, fac, world["term"])
    pairings.publish(db, fac, world["term"])
    assert db.execute("SELECT COUNT(*) FROM feedback_entries").fetchone()[0] == 2


def test_expert_drafts_submits_and_the_team_replies(db, active):
    w = active
    # The team sees nothing while the expert drafts.
    feedback.save_draft(db, w["expert"], w["entry"], {"feasibility": 3}, "Half done")
    assert feedback.entries_for_team(db, w["student_b"], w["team_b"]) == []
    with pytest.raises(NotFound):
        feedback.get_entry(db, w["student_b"], w["entry"])
    draft = feedback.get_entry(db, w["expert"], w["entry"])
    assert draft["state"] == "open" and draft["scores"] == {"feasibility": 3} and draft["comments"] == "Half done"
    # Submitting needs every score and comments, all reported at once.
    with pytest.raises(ValidationFailed) as info:
        feedback.submit(db, w["expert"], w["entry"], {"feasibility": 9}, "")
    assert info.value.errors["scores.feasibility"] == "validation.score"
    assert info.value.errors["comments"] == "validation.required"
    assert len(info.value.errors) == len(RUBRIC) + 1
    submitted = feedback.submit(db, w["expert"], w["entry"], SCORES, "Strong research; narrow the scope.")
    assert submitted["state"] == "submitted" and submitted["submitted_at"]
    seen = feedback.entries_for_team(db, w["student_b"], w["team_b"])
    assert [e["comments"] for e in seen] == ["Strong research; narrow the scope."]
    with pytest.raises(ValidationFailed):
        feedback.reply(db, w["student_b"], w["entry"], "  ")
    answered = feedback.reply(db, w["student_b"], w["entry"], "We narrowed it to the online channel.")
    assert answered["state"] == "answered"
    assert feedback.get_entry(db, w["expert"], w["entry"])["reply"] == "We narrowed it to the online channel."
    actions = [e["action"] for e in audit.events(db) if e["action"].startswith("feedback.")]
    assert actions[:3] == ["feedback.reply", "feedback.submit", "feedback.save"]


# Every (state, move): the legal ones change state, every other one is refused.
MOVES = ("save", "submit", "reply")
LEGAL = {("open", "save"): "open", ("open", "submit"): "submitted", ("submitted", "reply"): "answered"}


@pytest.mark.parametrize("state", ["open", "submitted", "answered"])
@pytest.mark.parametrize("move", MOVES)
def test_entry_state_machine_every_move(db, active, state, move):
    w = active
    db.execute("UPDATE feedback_entries SET state = ? WHERE id = ?", [state, w["entry"]])
    calls = {"save": lambda: feedback.save_draft(db, w["expert"], w["entry"], SCORES, "c"),
             "submit": lambda: feedback.submit(db, w["expert"], w["entry"], SCORES, "c"),
             "reply": lambda: feedback.reply(db, w["student_b"], w["entry"], "r")}
    if (state, move) in LEGAL:
        assert calls[move]()["state"] == LEGAL[(state, move)]
    else:
        with pytest.raises(IllegalTransition) as info:
            calls[move]()
        assert info.value.key == "feedback.illegal_move"
        assert storage.one(db, "SELECT state FROM feedback_entries WHERE id = ?", [w["entry"]])["state"] == state


@pytest.mark.parametrize("role", ["student_a", "student_b", "rep_esdc", "facilitator"])
def test_only_the_entry_expert_writes_it(db, active, role):
    with pytest.raises(PermissionDenied):
        feedback.submit(db, active[role], active["entry"], SCORES, "c")


def test_only_the_paired_team_replies(db, active):
    w = active
    feedback.submit(db, w["expert"], w["entry"], SCORES, "c")
    for role in ("student_a", "expert", "rep_esdc"):
        with pytest.raises(PermissionDenied):
            feedback.reply(db, w[role], w["entry"], "not mine")


def test_feedback_only_while_the_term_is_active(db, active):
    w = active
    terms.advance_term(db, w["fac"], w["term"], reason="term over")        # closed
    with pytest.raises(IllegalTransition) as info:
        feedback.save_draft(db, w["expert"], w["entry"], SCORES, "late")
    assert info.value.key == "term.requires_active"
    with pytest.raises(IllegalTransition) as info:
        feedback.create_round(db, w["fac"], w["term"], "After", "2027-05-01")
    assert info.value.key == "term.closed_read_only"


def test_overdue_and_due_soon_are_computed_for_facilitator_and_expert(db, active):
    w = active
    feedback.create_round(db, w["fac"], w["term"], "Concept", "2027-02-20")
    today = date(2027, 2, 15)           # Discovery (Feb 1) is past, Concept (Feb 20) is within 7 days
    fac = feedback.reminders(db, w["fac"], w["term"], today=today)
    assert {e["round_name"] for e in fac["overdue"]} == {"Discovery"} and len(fac["overdue"]) == 2
    assert {e["round_name"] for e in fac["due_soon"]} == {"Concept"} and len(fac["due_soon"]) == 2
    mine = feedback.reminders(db, w["expert"], today=today)
    assert [e["team_name"] for e in mine["overdue"]] == ["Blue Water"]
    assert [e["status"] for e in feedback.entries_for_expert(db, w["expert"], today=today)] == ["overdue", "open"]
    # Submitting late clears the overdue flag; a submitted entry is never overdue.
    feedback.submit(db, w["expert"], w["entry"], SCORES, "late but thorough")
    assert len(feedback.reminders(db, w["fac"], w["term"], today=today)["overdue"]) == 1
    counts = {r["name"]: r["counts"] for r in feedback.rounds(db, w["fac"], w["term"], today=today)}
    assert counts["Discovery"] == {"open": 0, "overdue": 1, "submitted": 1, "answered": 0}
    assert feedback.reminders(db, w["fac"], w["term"], today=date(2027, 1, 1))["overdue"] == []
    with pytest.raises(PermissionDenied):
        feedback.rounds(db, w["expert"], w["term"])


def test_entries_of_withdrawn_pairings_disappear_from_lists(db, active):
    w = active
    db.execute("UPDATE terms SET state = 'matching' WHERE id = ?", [w["term"]])
    pairings.unpair(db, w["fac"], w["term"], w["team_b"], "Team left")
    pairings.publish(db, w["fac"], w["term"])
    assert feedback.entries_for_expert(db, w["expert"]) == []
    assert teams.get_team(db, w["expert"], w["team_b"]).members[0].email == ""
