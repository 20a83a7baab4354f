"""Terms: planning -> intake -> matching -> active -> closed, one step forward at a time.

What each state allows is enforced here and by the services that ask :func:`require_state`:
preferences are editable only in intake, pairings are published only in matching, feedback is
given only while active.
"""
from __future__ import annotations

from typing import Any, Mapping

import sqlite_utils

from . import audit
from . import db as storage
from .accounts import authorize
from .errors import IllegalTransition, NotFound, ValidationFailed
from .models import TERM_STATES, Term, User, validate_term

NEXT_STATE = dict(zip(TERM_STATES, TERM_STATES[1:]))


def get_term(db: sqlite_utils.Database, term_id: int) -> Term:
    row = storage.one(db, "SELECT * FROM terms WHERE id = ?", [term_id])
    if row is None:
        raise NotFound("error.not_found", f"term {term_id}")
    return Term.from_row(row)


def list_terms(db: sqlite_utils.Database) -> list[Term]:
    return [Term.from_row(r) for r in db.query("SELECT * FROM terms ORDER BY id DESC")]


def current_term(db: sqlite_utils.Database) -> Term | None:
    """The newest term that is not closed (the one the portal works on), else the newest."""
    row = (storage.one(db, "SELECT * FROM terms WHERE state != 'closed' ORDER BY id DESC LIMIT 1")
           or storage.one(db, "SELECT * FROM terms ORDER BY id DESC LIMIT 1"))
    return Term.from_row(row) if row else None


def create_term(db: sqlite_utils.Database, actor: User, data: Mapping[str, Any]) -> Term:
    authorize(actor, "term.manage")
    data = {**data, "state": data.get("state") or "planning"}
    errors = validate_term(data)
    if not errors and storage.one(db, "SELECT id FROM terms WHERE name = ?", [data["name"].strip()]):
        errors["name"] = "validation.duplicate"
    if errors:
        raise ValidationFailed(errors)
    with storage.transaction(db):
        term_id = storage.insert(db, "terms", {
            "name": data["name"].strip(), "state": data["state"],
            "starts_on": str(data.get("starts_on") or "") or None,
            "ends_on": str(data.get("ends_on") or "") or None, "created_at": storage.now_iso()})
        audit.record(db, actor, "term.create", target_type="term", target_id=term_id)
    return get_term(db, term_id)


def advance_term(db: sqlite_utils.Database, actor: User, term_id: int, *, reason: str = "") -> Term:
    """Move a term to its next state; closing or skipping back is refused."""
    authorize(actor, "term.manage")
    with storage.transaction(db):
        term = get_term(db, term_id)
        if term.state not in NEXT_STATE:
            raise IllegalTransition("error.illegal_transition", f"a {term.state} term has no next state",
                                    state=term.state, move="advance")
        new_state = NEXT_STATE[term.state]
        storage.update(db, "terms", term_id, {"state": new_state})
        moved = _move_pairings(db, term_id, new_state)
        audit.record(db, actor, "term.advance", target_type="term", target_id=term_id, reason=reason,
                     detail={"from": term.state, "to": new_state, "pairings": moved})
    return get_term(db, term_id)


#: Pairing state changes that follow the term: published pairings start when the term goes
#: active and are completed when it closes (withdrawn ones stay withdrawn).
PAIRING_STATE_ON_TERM = {"active": ("approved", "active"), "closed": ("active", "completed")}


def _move_pairings(db: sqlite_utils.Database, term_id: int, new_state: str) -> int:
    if new_state not in PAIRING_STATE_ON_TERM:
        return 0
    before, after = PAIRING_STATE_ON_TERM[new_state]
    return db.execute("UPDATE pairings SET state = ?, updated_at = ? WHERE term_id = ? AND state = ?",
                      [after, storage.now_iso(), term_id, before]).rowcount


def require_state(term: Term | None, state: str, move: str) -> None:
    """Raise :class:`IllegalTransition` unless the term is in ``state``."""
    if term is None or term.state != state:
        raise IllegalTransition(f"term.requires_{state}", f"{move} needs a term in {state}",
                                state=getattr(term, "state", None), move=move)
