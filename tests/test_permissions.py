"""Every role x every write service, on its own and on another organisation's records."""
import pytest

from matching import accounts, challenges, teams, terms
from matching.permissions import PERMISSIONS, authorize
from matching.errors import NotFound, PermissionDenied
from tests.conftest import ACCESSIBILITY

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

ROLES = ["rep_esdc", "rep_dfo", "student_a", "student_b", "facilitator", "expert"]


def _submitted(db, world):
    draft = challenges.save_draft(db, world["rep_esdc"], ACCESSIBILITY)
    return challenges.submit(db, world["rep_esdc"], draft.id).id


def _approved(db, world):
    cid = _submitted(db, world)
    challenges.approve(db, world["facilitator"], cid, confirm_unclassified=True)
    return cid


# service name -> (setup returning a target, the call, roles allowed). Targets belong to ESDC / team A.
SERVICES = {
    "challenge.create": (lambda db, w: None,
                         lambda db, w, actor, _: challenges.save_draft(db, actor, {"title": "T"}, department_id=w["esdc"]),
                         {"rep_esdc"}),
    "challenge.edit": (lambda db, w: challenges.save_draft(db, w["rep_esdc"], {"title": "T"}).id,
                       lambda db, w, actor, cid: challenges.save_draft(db, actor, {"title": "U"}, challenge_id=cid),
                       {"rep_esdc"}),
    "challenge.submit": (lambda db, w: challenges.save_draft(db, w["rep_esdc"], ACCESSIBILITY).id,
                         lambda db, w, actor, cid: challenges.submit(db, actor, cid), {"rep_esdc"}),
    "challenge.approve": (_submitted, lambda db, w, actor, cid: challenges.approve(db, actor, cid, confirm_unclassified=True),
                          {"facilitator"}),
    "challenge.return": (_submitted, lambda db, w, actor, cid: challenges.return_for_changes(db, actor, cid, "why"),
                         {"facilitator"}),
    "challenge.reopen": (_approved, lambda db, w, actor, cid: challenges.reopen(db, actor, cid),
                         {"rep_esdc", "facilitator"}),
    "challenge.archive": (_approved, lambda db, w, actor, cid: challenges.archive(db, actor, cid),
                          {"rep_esdc", "facilitator"}),
    "team.edit": (lambda db, w: w["team_a"],
                  lambda db, w, actor, tid: teams.save_team(db, actor, tid, {"name": "Renamed", "members": []}),
                  {"student_a", "facilitator"}),
    "preferences.edit": (_approved, lambda db, w, actor, cid: teams.save_preferences(db, actor, w["team_a"], [{"challenge_id": cid}]),
                         {"student_a"}),
    "preferences.view": (lambda db, w: w["team_a"], lambda db, w, actor, tid: teams.get_preferences(db, actor, tid),
                         {"student_a", "facilitator"}),
    "user.create": (lambda db, w: None,
                    lambda db, w, actor, _: accounts.create_user(db, actor, {"email": "new@x.ca", "name": "N", "role": "facilitator"},
                                                                 "long-enough-password"),
                    {"facilitator"}),
    "term.create": (lambda db, w: None, lambda db, w, actor, _: terms.create_term(db, actor, {"name": "Fall 2027"}),
                    {"facilitator"}),
    "term.advance": (lambda db, w: w["term"], lambda db, w, actor, tid: terms.advance_term(db, actor, tid),
                     {"facilitator"}),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_permission_matrix(db, world, service, role):
    setup, call, allowed = SERVICES[service]
    target = setup(db, world)
    actor = world[role]
    if role in allowed:
        call(db, world, actor, target)
    else:
        with pytest.raises((PermissionDenied, NotFound)):
            call(db, world, actor, target)


def test_rep_cannot_read_another_departments_draft_even_by_id(db, world):
    draft = challenges.save_draft(db, world["rep_esdc"], {"title": "Secret draft"})
    with pytest.raises(NotFound):
        challenges.get_challenge(db, world["rep_dfo"], draft.id)
    assert all(c["id"] != draft.id for c in challenges.list_challenges(db, world["rep_dfo"]))


def test_member_emails_only_for_the_team_and_facilitators(db, world):
    for role, visible in (("student_a", True), ("facilitator", True), ("student_b", False), ("rep_esdc", False)):
        team = teams.get_team(db, world[role], world["team_a"])
        assert bool(team.members[0].email) is visible, role


def test_every_permission_action_is_exercised_by_known_roles():
    from matching.models import ROLES
    assert all(set(roles) <= set(ROLES) for roles in PERMISSIONS.values())
    # The read-only public servant reads the outcomes library, nothing else (issue 17).
    assert [action for action, roles in PERMISSIONS.items() if "public_servant" in roles] == ["library.read"]
    with pytest.raises(KeyError):
        authorize(accounts.SYSTEM, "no.such.action")
