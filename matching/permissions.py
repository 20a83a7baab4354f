"""The one permission table every service asks: which role may do which action, on what.

Kept apart from sign-in (:mod:`matching.accounts`) so that services check permissions without
depending on passwords and sessions, and so the whole table can be read in one place.
"""
from __future__ import annotations

from .errors import PermissionDenied
from .models import User

#: The roles that take part in a term's cycle (challenges, teams, pairings, feedback). The
#: read-only ``public_servant`` (single sign-on from an allowed e-mail domain, issue 17) is not one
#: of them: it reads the outcomes library and nothing else that is private.
PARTICIPANTS = ("department_rep", "student", "facilitator", "expert")
_EVERY_PARTICIPANT = {role: "any" for role in PARTICIPANTS}

#: action -> {role: scope}. Scope "any": every record; "department": the actor's department;
#: "team": the actor's team; "self": records naming the actor (an expert's own entries);
#: "programme": records of a term of a programme the facilitator may act on (every programme
#: when the facilitator is not limited to some, see ``facilitator_programmes``; a limited
#: facilitator is refused when the record's programme is not given); "all_programmes": only a
#: facilitator limited to no programme. The actions with a "programme" scope are the
#: programme-scoped ones (:data:`PROGRAMME_SCOPED`).
PERMISSIONS: dict[str, dict[str, str]] = {
    # What every participant reads: approved challenges and their themes, teams' public profiles,
    # the home page's next steps.
    "challenge.view_approved": dict(_EVERY_PARTICIPANT),
    "team.view_public": dict(_EVERY_PARTICIPANT),
    "home.view": dict(_EVERY_PARTICIPANT),
    # The outcomes library (matching/library.py): completed challenges of closed terms with their
    # summaries, assessments and outcome reports; teams named only when they opted in.
    "library.read": {**_EVERY_PARTICIPANT, "public_servant": "any"},
    "challenge.create": {"department_rep": "department"},
    "challenge.edit": {"department_rep": "department"},
    "challenge.submit": {"department_rep": "department"},
    "challenge.reopen": {"department_rep": "department", "facilitator": "programme"},
    "challenge.archive": {"department_rep": "department", "facilitator": "programme"},
    # A never-submitted draft only, by its own department (matching.challenges.delete_draft).
    "challenge.delete_draft": {"department_rep": "department"},
    "challenge.view_unapproved": {"department_rep": "department", "facilitator": "programme"},
    "challenge.approve": {"facilitator": "programme"},
    "challenge.return": {"facilitator": "programme"},
    # A paired challenge changes through a revision its department proposes and a facilitator
    # decides; its SME is changed by a facilitator only (the feedback entries move with it).
    "challenge.revise": {"department_rep": "department"},
    "challenge.decide_revision": {"facilitator": "programme"},
    "challenge.change_sme": {"facilitator": "programme"},
    "challenge.rank_teams": {"department_rep": "department", "facilitator": "programme"},
    "term.manage": {"facilitator": "programme"},
    # Programmes themselves (create one, limit a facilitator to some): facilitators of every programme.
    "programme.manage": {"facilitator": "all_programmes"},
    # A department offers its challenge to another programme (a copy that programme's facilitators confirm).
    "challenge.offer": {"department_rep": "department"},
    "team.edit": {"student": "team", "facilitator": "programme"},
    "team.create": {"facilitator": "programme"},
    "team.view_private": {"student": "team", "facilitator": "programme"},
    "team.rank_challenges": {"student": "team", "facilitator": "programme"},
    "preferences.edit": {"student": "team"},
    "preferences.view": {"student": "team", "facilitator": "programme"},
    "pairing.manage": {"facilitator": "programme"},
    "pairing.view_all": {"facilitator": "programme"},
    "feedback.manage": {"facilitator": "programme"},
    "feedback.write": {"expert": "self"},
    "feedback.reply": {"student": "team"},
    "feedback.view_all": {"facilitator": "programme"},
    # Accounts are not in a programme; a new facilitator account also needs "programme.manage".
    "user.create": {"facilitator": "any"},
    # The list of every account (the users export) names people of every programme.
    "user.list": {"facilitator": "all_programmes"},
    # The whole log names every programme's records: facilitators of every programme.
    "audit.view": {"facilitator": "all_programmes"},
    "data.import": {"facilitator": "programme"},
    "data.export": {"facilitator": "programme"},
    # Whole-database copies hold every password hash: the operator (system) only, from the CLI.
    "db.backup": {},
    "db.restore": {},
    "db.copy": {},
    "term.purge": {"facilitator": "programme"},
    # Published pairings, seen from each side (matching/pairings.py).
    "pairing.view_team": {"student": "team", "facilitator": "programme"},
    "pairing.view_department": {"department_rep": "department", "facilitator": "programme"},
    "pairing.view_expert": {"expert": "self", "facilitator": "programme"},
    "feedback.view_team": {"student": "team", "facilitator": "programme"},
    # The thread of one feedback entry: its expert and the paired team talk; facilitators read.
    "feedback.thread_read": {"expert": "self", "student": "team", "facilitator": "programme"},
    "feedback.thread_write": {"expert": "self", "student": "team"},
    "dashboard.view": {"facilitator": "programme"},
    # Outcomes (matching/outcomes.py, issue 17): the team writes its final summary, the pairing's
    # expert (the challenge's SME) its final assessment, the organisation's representatives the
    # outcome reports; each side reads its own pairings' outcomes, facilitators those of their programmes.
    "outcome.summary_write": {"student": "team"},
    "outcome.assess": {"expert": "self"},
    "outcome.report": {"department_rep": "department"},
    "outcome.view_team": {"student": "team", "facilitator": "programme"},
    "outcome.view_department": {"department_rep": "department", "facilitator": "programme"},
    "outcome.view_expert": {"expert": "self", "facilitator": "programme"},
    "outcome.view_all": {"facilitator": "programme"},
    # Each person reads and marks only their own notifications (matching/notifications.py).
    "notification.read": {"department_rep": "self", "student": "self", "facilitator": "self", "expert": "self"},
}

#: ``programme_id=SOME_PROGRAMME``: the action on records of whichever programmes the actor may
#: act on. A listing asks this first, then keeps the rows of those programmes (``may_act_on``).
SOME_PROGRAMME = -1

#: The actions a facilitator may be limited to some programmes for.
PROGRAMME_SCOPED = frozenset(action for action, roles in PERMISSIONS.items() if "programme" in roles.values())


def can(actor: User | None, action: str, *, department_id: int | None = None,
        team_id: int | None = None, user_id: int | None = None, programme_id: int | None = None) -> bool:
    """Whether ``actor`` may do ``action`` on a record of that department, team, user or programme."""
    if actor is None:
        return False
    if actor.role == "system":
        return True
    scope = PERMISSIONS.get(action, {}).get(actor.role)
    if scope == "any":
        return True
    limited = getattr(actor, "programme_ids", None)
    if scope == "programme":
        return limited is None or programme_id == SOME_PROGRAMME or (programme_id is not None and programme_id in limited)
    if scope == "all_programmes":
        return limited is None
    if scope == "department":
        return department_id is not None and department_id == actor.department_id
    if scope == "team":
        return team_id is not None and team_id == actor.team_id
    if scope == "self":
        return user_id is not None and user_id == actor.id
    return False


def may_act_on(actor: User | None, programme_id: int | None) -> bool:
    """Whether a facilitator's programme limits (if any) include this programme: listings keep
    only such rows. True for everyone without limits (other roles have their own scopes)."""
    limited = getattr(actor, "programme_ids", None)
    return limited is None or programme_id in limited


def authorize(actor: User | None, action: str, **target: int | None) -> None:
    """Raise :class:`PermissionDenied` unless :func:`can` allows it. Every write service calls this."""
    if action not in PERMISSIONS:
        raise KeyError(f"unknown action {action!r}")
    if not can(actor, action, **target):
        raise PermissionDenied("error.permission_denied", f"{getattr(actor, 'role', None)} may not {action}")
