"""The review history of a challenge: every earlier decision on it (who, when, the comments) and
what its department changed since the last one, field by field.

Each review decision (:data:`~matching.lifecycle.CHALLENGE_REVIEW_MOVES`) records, in its audit
event, a copy of the fields the facilitator judged (:func:`snapshot`); a resubmitted challenge is
compared with the copy of its last review. Decisions recorded before copies were kept have none:
their comments and date are shown, the difference is said to be unknown. A challenge whose
comments were loaded without an audit event (demo or imported data) shows those comments alone.
"""
from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from .lifecycle import CHALLENGE_MOVE_PERMISSIONS, CHALLENGE_REVIEW_MOVES
from . import programmes
from .models import User, as_list
from .permissions import authorize

#: The fields a review judges, in the order the form shows them.
REVIEWED_FIELDS = ("title", "problem", "outcomes", "themes", "language", "capacity", "sme_name", "sme_email")
_ACTIONS = {CHALLENGE_MOVE_PERMISSIONS[move]: move for move in CHALLENGE_REVIEW_MOVES}


def snapshot(row: dict[str, Any]) -> dict[str, Any]:
    """The reviewed fields of a challenge row, as plain JSON values (themes as a list)."""
    return {f: as_list(row.get(f)) if f == "themes" else row.get(f) for f in REVIEWED_FIELDS}


def differences(before: dict[str, Any], now: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{"field", "before", "now"}]`` for every reviewed field whose value changed."""
    def norm(field: str, value: Any) -> Any:
        if field == "themes":
            return as_list(value)
        return "" if value is None else str(value).strip()
    return [{"field": f, "before": before.get(f), "now": now.get(f)} for f in REVIEWED_FIELDS
            if f in before and norm(f, before.get(f)) != norm(f, now.get(f))]


def history(db: sqlite_utils.Database, actor: User, challenges: list[dict]) -> dict[int, dict[str, Any]]:
    """For each challenge row (as listed by :func:`matching.challenges.list_challenges`): its
    earlier ``reviews`` oldest first (``move``, ``at``, ``reviewer``, ``comments``) and ``changes``
    since the last one (None when that review kept no copy), keyed by challenge id. A challenge
    never reviewed has no reviews and no changes."""
    for c in challenges:
        authorize(actor, "challenge.view_unapproved", department_id=c["department_id"],
                  programme_id=programmes.of_challenge(db, c["id"]))
    ids = [str(c["id"]) for c in challenges]
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    actions = list(_ACTIONS)
    events = db.query(
        "SELECT e.target_id, e.action, e.at, e.reason, e.detail, e.actor_email, u.name AS actor_name "
        "FROM audit_events e LEFT JOIN users u ON u.id = e.actor_id "
        f"WHERE e.target_type = 'challenge' AND e.target_id IN ({marks}) "
        f"AND e.action IN ({', '.join('?' for _ in actions)}) ORDER BY e.id", [*ids, *actions])
    reviews: dict[int, list[dict]] = {int(i): [] for i in ids}
    for e in events:
        detail = json.loads(e["detail"] or "{}")
        reviews[int(e["target_id"])].append({
            "move": _ACTIONS[e["action"]], "at": e["at"], "reviewer": e["actor_name"] or e["actor_email"],
            "comments": e["reason"], "snapshot": detail.get("snapshot") if isinstance(detail, dict) else None})
    out = {}
    for c in challenges:
        mine = reviews[c["id"]]
        if not mine and (c.get("comments") or "").strip():
            mine = [{"move": "return", "at": None, "reviewer": None, "comments": c["comments"], "snapshot": None}]
        last = mine[-1]["snapshot"] if mine else None
        out[c["id"]] = {"reviews": mine, "changes": differences(last, snapshot(c)) if last is not None else None}
    return out
