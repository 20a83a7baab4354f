"""The one permission table every service asks: which role may do which action, on what.

Kept apart from sign-in (:mod:`matching.accounts`) so that services check permissions without
depending on passwords and sessions, and so the whole table can be read in one place.
"""
from __future__ import annotations

from .errors import PermissionDenied
from .models import User

#: action -> {role: scope}. Scope "any": every record; "department": the actor's department;
#: "team": the actor's team; "self": records naming the actor (an expert's own entries).
PERMISSIONS: dict[str, dict[str, str]] = {
    "challenge.create": {"department_rep": "department"},
    "challenge.edit": {"department_rep": "department"},
    "challenge.submit": {"department_rep": "department"},
    "challenge.reopen": {"department_rep": "department", "facilitator": "any"},
    "challenge.archive": {"department_rep": "department", "facilitator": "any"},
    # A never-submitted draft only, by its own department (matching.challenges.delete_draft).
    "challenge.delete_draft": {"department_rep": "department"},
    "challenge.view_unapproved": {"department_rep": "department", "facilitator": "any"},
    "challenge.approve": {"facilitator": "any"},
    "challenge.return": {"facilitator": "any"},
    # A paired challenge changes through a revision its department proposes and a facilitator
    # decides; its SME is changed by a facilitator only (the feedback entries move with it).
    "challenge.revise": {"department_rep": "department"},
    "challenge.decide_revision": {"facilitator": "any"},
    "challenge.change_sme": {"facilitator": "any"},
    "challenge.rank_teams": {"department_rep": "department", "facilitator": "any"},
    "term.manage": {"facilitator": "any"},
    "team.edit": {"student": "team", "facilitator": "any"},
    "team.create": {"facilitator": "any"},
    "team.view_private": {"student": "team", "facilitator": "any"},
    "team.rank_challenges": {"student": "team", "facilitator": "any"},
    "preferences.edit": {"student": "team"},
    "preferences.view": {"student": "team", "facilitator": "any"},
    "pairing.manage": {"facilitator": "any"},
    "pairing.view_all": {"facilitator": "any"},
    "feedback.manage": {"facilitator": "any"},
    "feedback.write": {"expert": "self"},
    "feedback.reply": {"student": "team"},
    "feedback.view_all": {"facilitator": "any"},
    "user.create": {"facilitator": "any"},
    "audit.view": {"facilitator": "any"},
    "data.import": {"facilitator": "any"},
    "data.export": {"facilitator": "any"},
    # Whole-database copies hold every password hash: the operator (system) only, from the CLI.
    "db.backup": {},
    "db.restore": {},
    "term.purge": {"facilitator": "any"},
    # Published pairings, seen from each side (matching/pairings.py).
    "pairing.view_team": {"student": "team", "facilitator": "any"},
    "pairing.view_department": {"department_rep": "department", "facilitator": "any"},
    "pairing.view_expert": {"expert": "self", "facilitator": "any"},
    "feedback.view_team": {"student": "team", "facilitator": "any"},
    # The thread of one feedback entry: its expert and the paired team talk; facilitators read.
    "feedback.thread_read": {"expert": "self", "student": "team", "facilitator": "any"},
    "feedback.thread_write": {"expert": "self", "student": "team"},
    "dashboard.view": {"facilitator": "any"},
    # Each person reads and marks only their own notifications (matching/notifications.py).
    "notification.read": {"department_rep": "self", "student": "self", "facilitator": "self", "expert": "self"},
}


def can(actor: User | None, action: str, *, department_id: int | None = None,
        team_id: int | None = None, user_id: int | None = None) -> bool:
    """Whether ``actor`` may do ``action`` on a record of that department, team or user."""
    if actor is None:
        return False
    if actor.role == "system":
        return True
    scope = PERMISSIONS.get(action, {}).get(actor.role)
    if scope == "any":
        return True
    if scope == "department":
        return department_id is not None and department_id == actor.department_id
    if scope == "team":
        return team_id is not None and team_id == actor.team_id
    if scope == "self":
        return user_id is not None and user_id == actor.id
    return False


def authorize(actor: User | None, action: str, **target: int | None) -> None:
    """Raise :class:`PermissionDenied` unless :func:`can` allows it. Every write service calls this."""
    if action not in PERMISSIONS:
        raise KeyError(f"unknown action {action!r}")
    if not can(actor, action, **target):
        raise PermissionDenied("error.permission_denied", f"{getattr(actor, 'role', None)} may not {action}")
