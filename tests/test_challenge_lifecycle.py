import pytest

from matching import audit, challenges
from matching.errors import IllegalTransition, NotFound, StaleRecord, ValidationFailed
from tests.conftest import ACCESSIBILITY

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends


@pytest.fixture
def draft(db, world):
    return challenges.save_draft(db, world["rep_esdc"], {"title": "Half-written idea"})


def test_save_draft_creates_a_draft_in_the_reps_department(db, world, draft):
    assert draft.status == "draft" and draft.department_id == world["esdc"]
    assert [e["action"] for e in audit.events(db, action="challenge.create")] == ["challenge.create"]


def test_submit_reports_every_missing_field_and_keeps_the_draft(db, world, draft):
    with pytest.raises(ValidationFailed) as info:
        challenges.submit(db, world["rep_esdc"], draft.id, {"problem": "short"})
    assert {"problem", "outcomes", "themes", "sme_name", "sme_email", "unclassified"} <= set(info.value.errors)
    assert challenges.get_challenge(db, world["rep_esdc"], draft.id).status == "draft"


def test_full_lifecycle(db, world, draft):
    rep, fac = world["rep_esdc"], world["facilitator"]
    submitted = challenges.submit(db, rep, draft.id, ACCESSIBILITY, expected_version=draft.version)
    assert submitted.status == "submitted"
    returned = challenges.return_for_changes(db, fac, draft.id, "Please name the SME's branch.")
    assert returned.status == "returned" and returned.comments == "Please name the SME's branch."
    edited = challenges.save_draft(db, rep, {"sme_name": "Sam Expert (Service Canada)"}, challenge_id=draft.id)
    assert edited.status == "returned"
    assert challenges.submit(db, rep, draft.id).status == "submitted"
    approved = challenges.approve(db, fac, draft.id, confirm_unclassified=True)
    assert approved.status == "approved"
    assert challenges.reopen(db, rep, draft.id).status == "draft"
    assert challenges.archive(db, rep, draft.id, reason="Done").status == "archived"
    actions = [e["action"] for e in reversed(audit.events(db)) if e["target_type"] == "challenge"]
    assert actions == ["challenge.create", "challenge.submit", "challenge.return", "challenge.save",
                       "challenge.submit", "challenge.approve", "challenge.reopen", "challenge.archive"]


@pytest.mark.parametrize("move", ["approve", "return", "reopen"])
def test_illegal_moves_on_a_draft(db, world, draft, move):
    fac = world["facilitator"]
    call = {"approve": lambda: challenges.approve(db, fac, draft.id, confirm_unclassified=True),
            "return": lambda: challenges.return_for_changes(db, fac, draft.id, "why"),
            "reopen": lambda: challenges.reopen(db, fac, draft.id)}[move]
    with pytest.raises(IllegalTransition):
        call()
    assert challenges.get_challenge(db, fac, draft.id).status == "draft"


def test_approved_challenge_cannot_be_edited_without_reopening(db, world, approved):
    with pytest.raises(IllegalTransition) as info:
        challenges.save_draft(db, world["rep_esdc"], {"title": "New"}, challenge_id=approved["accessibility"])
    assert info.value.key == "error.not_editable"


def test_archived_is_final(db, world, draft):
    challenges.archive(db, world["rep_esdc"], draft.id)
    for move in (lambda: challenges.submit(db, world["rep_esdc"], draft.id),
                 lambda: challenges.reopen(db, world["facilitator"], draft.id),
                 lambda: challenges.archive(db, world["facilitator"], draft.id)):
        with pytest.raises(IllegalTransition):
            move()


def test_approval_needs_unclassified_confirmation(db, world, draft):
    challenges.submit(db, world["rep_esdc"], draft.id, ACCESSIBILITY)
    with pytest.raises(ValidationFailed):
        challenges.approve(db, world["facilitator"], draft.id, confirm_unclassified=False)


def test_return_needs_a_comment(db, world, draft):
    challenges.submit(db, world["rep_esdc"], draft.id, ACCESSIBILITY)
    with pytest.raises(ValidationFailed):
        challenges.return_for_changes(db, world["facilitator"], draft.id, "  ")


def test_second_save_over_a_newer_version_is_refused_with_both_versions(db, world, draft):
    rep = world["rep_esdc"]
    challenges.save_draft(db, rep, {"title": "First person's title"}, challenge_id=draft.id,
                          expected_version=draft.version)
    with pytest.raises(StaleRecord) as info:
        challenges.save_draft(db, rep, {"title": "Second person's title"}, challenge_id=draft.id,
                              expected_version=draft.version)
    assert info.value.current["title"] == "First person's title"
    assert challenges.get_challenge(db, rep, draft.id).title == "First person's title"


def test_bulk_approve_is_all_or_nothing(db, world, approved, draft):
    rep, fac = world["rep_esdc"], world["facilitator"]
    second = challenges.save_draft(db, rep, ACCESSIBILITY)
    challenges.submit(db, rep, second.id)
    with pytest.raises(IllegalTransition):
        challenges.bulk_approve(db, fac, [second.id, draft.id], confirm_unclassified=True)
    assert challenges.get_challenge(db, fac, second.id).status == "submitted"


def test_students_never_see_unapproved_challenges(db, world, draft, approved):
    student = world["student_a"]
    with pytest.raises(NotFound):
        challenges.get_challenge(db, student, draft.id)
    visible = {c["id"] for c in challenges.list_challenges(db, student)}
    assert visible == set(approved.values())
