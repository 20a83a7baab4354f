"""Terms: planning -> intake -> matching -> active -> closed, one step forward at a time.

Several terms live at once (the next intake runs while the current cohort works), so nothing
here guesses "the" term: pages choose one (:func:`default_term` only pre-selects a choice) and
the CLI names one or lets :func:`resolve_term` find the single term in the state a command
needs. What each state allows is stated in :mod:`matching.lifecycle`; services ask
:func:`require_state` and :func:`require_writable`.

Moving a term is guarded (:func:`advance_check` says what stands in the way, in the same
words the refusal uses): *matching -> active* needs published pairings and no unpublished
proposal, unless a facilitator overrides with a reason; *active -> closed* with feedback still
owed needs a reason. Each move carries the term version the facilitator saw.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Iterable, Mapping

import sqlite_utils

from . import audit, notifications, programmes
from . import db as storage
from .errors import IllegalTransition, NotFound, StaleRecord, ValidationFailed
from .i18n import has
from .lifecycle import (FEEDBACK_OWED_STATES, PAIRING_LIVE_STATES, PAIRING_PROPOSED, PAIRING_STATE_ON_TERM,
                        TERM_NEXT, TERM_STATES_OPEN, TERM_STATES_READ_ONLY, states_sql)
from .models import CONTROL_CHARS, Term, User, _as_int, _iso_date, findable, text_problems, validate_term
from .permissions import SOME_PROGRAMME, authorize, may_act_on

REASON_MAX = 500


def get_term(db: sqlite_utils.Database, term_id: int) -> Term:
    row = storage.one(db, "SELECT * FROM terms WHERE id = ?", [term_id])
    if row is None:
        raise NotFound("error.not_found", f"term {term_id}")
    return Term.from_row(row)


def list_terms(db: sqlite_utils.Database, states: Iterable[str] | None = None, *,
               actor: User | None = None, programme_id: int | None = None) -> list[Term]:
    """Terms newest first, optionally only those in ``states``, of one programme, and of the
    programmes ``actor`` acts on (a facilitator limited to some programmes sees only theirs)."""
    if states is None:
        rows = db.query("SELECT * FROM terms ORDER BY id DESC")
    else:
        in_states, params = states_sql("state", states)
        rows = db.query(f"SELECT * FROM terms WHERE {in_states} ORDER BY id DESC", params)
    return [Term.from_row(r) for r in rows
            if (programme_id is None or r["programme_id"] == programme_id)
            and (actor is None or may_act_on(actor, r["programme_id"]))]


def open_terms(db: sqlite_utils.Database, *, actor: User | None = None) -> list[Term]:
    """Every term that is not closed, newest first: the terms that can have work in them."""
    return list_terms(db, TERM_STATES_OPEN, actor=actor)


def default_term(db: sqlite_utils.Database, states: Iterable[str] | None = None, *,
                 actor: User | None = None, programme_id: int | None = None) -> Term | None:
    """The term a selector starts on: the newest open term in ``states`` (any open state when
    None), else the newest term at all. A choice to show, never a term to act on unasked."""
    wanted = list(states) if states is not None else list(TERM_STATES_OPEN)
    candidates = list_terms(db, wanted, actor=actor, programme_id=programme_id)
    if candidates:
        return candidates[0]
    newest = list_terms(db, actor=actor, programme_id=programme_id)
    return newest[0] if newest else None


def resolve_term(db: sqlite_utils.Database, name_or_id: str | int | None = None, *,
                 states: Iterable[str] | None = None, move: str = "") -> Term:
    """The term a command acts on: the one named (by name or id), else the single term in
    ``states``. Refuses to guess when none or several are in those states."""
    if name_or_id not in (None, ""):
        text = str(name_or_id).strip()
        if not findable(text):
            raise ValidationFailed({"term": CONTROL_CHARS})
        row = storage.one(db, "SELECT * FROM terms WHERE name = ? COLLATE NOCASE", [text])
        if row is None and text.isdigit():
            row = storage.one(db, "SELECT * FROM terms WHERE id = ?", [int(text)])
        if row is None:
            raise NotFound("term.unknown", f"no term {text!r}", term=text)
        return Term.from_row(row)
    candidates = list_terms(db, states if states is not None else TERM_STATES_OPEN)
    if len(candidates) == 1:
        return candidates[0]
    names = ", ".join(t.name for t in candidates)
    key = "term.none_in_state" if not candidates else "term.ambiguous"
    if not candidates and states is not None and len(list(states)) == 1 and has(f"term.requires_{list(states)[0]}"):
        key = f"term.requires_{list(states)[0]}"  # "only possible while the term is in matching"
    raise IllegalTransition(key, f"{move}: {len(candidates)} terms could be meant ({names})",
                            move=move, terms=names, state=", ".join(states or TERM_STATES_OPEN))


def create_term(db: sqlite_utils.Database, actor: User, data: Mapping[str, Any]) -> Term:
    """A new term of a programme (``data["programme_id"]``; the default programme when absent)."""
    programme_id = data.get("programme_id")
    if programme_id in (None, ""):
        programme_id = programmes.default_programme(db).id
    authorize(actor, "term.manage", programme_id=SOME_PROGRAMME)
    data = {**data, "state": data.get("state") or "planning"}
    errors = validate_term(data)
    if _as_int(programme_id) not in {p.id for p in programmes.list_programmes(db)}:
        errors["programme_id"] = "validation.choice"
    else:
        programme_id = _as_int(programme_id)
        authorize(actor, "term.manage", programme_id=programme_id)
    if not errors and storage.one(db, "SELECT id FROM terms WHERE name = ? COLLATE NOCASE", [data["name"].strip()]):
        errors["name"] = "validation.duplicate"
    if errors:
        raise ValidationFailed(errors)
    with storage.transaction(db):
        term_id = storage.insert(db, "terms", {
            "name": data["name"].strip(), "state": data["state"], "programme_id": programme_id,
            "starts_on": str(data.get("starts_on") or "") or None,
            "ends_on": str(data.get("ends_on") or "") or None, "created_at": storage.now_iso()})
        audit.record(db, actor, "term.create", target_type="term", target_id=term_id,
                     detail={"programme_id": programme_id})
    return get_term(db, term_id)


# --- Moving a term ---------------------------------------------------------------------------

def _count(db, sql: str, params: list) -> int:
    return db.execute(sql, params).fetchone()[0]


def advance_check(db: sqlite_utils.Database, term_id: int, *, today: date | None = None) -> dict[str, Any]:
    """What the next move of the term would meet: ``{"to", "blockers", "needs_reason", "warnings"}``.

    ``blockers`` are ``{key, params}`` refusals that only an override with a reason lifts;
    ``needs_reason`` says the move itself asks for a reason (closing with feedback owed);
    ``warnings`` are ``{key, params}`` facts the move does not stop at but the facilitator should
    read before and after it (starting a term before its start date).
    """
    term = get_term(db, term_id)
    to = TERM_NEXT.get(term.state)
    check: dict[str, Any] = {"from": term.state, "to": to, "blockers": [], "needs_reason": False,
                             "warnings": [], "version": term.version}
    starts = _iso_date(term.starts_on) if term.starts_on else None
    if to == "active" and starts is not None and starts > (today or date.today()):
        check["warnings"].append({"key": "term.warn.active_before_start",
                                  "params": {"term": term.name, "starts": starts.isoformat()}})
    if to == "active":
        live, live_states = states_sql("state", PAIRING_LIVE_STATES)
        proposed, proposed_states = states_sql("state", PAIRING_PROPOSED)
        if not _count(db, f"SELECT COUNT(*) FROM pairings WHERE term_id = ? AND {live}", [term_id, *live_states]):
            check["blockers"].append({"key": "term.guard.no_published_pairings", "params": {}})
        n_proposed = _count(db, f"SELECT COUNT(*) FROM pairings WHERE term_id = ? AND {proposed}",
                            [term_id, *proposed_states])
        if n_proposed:
            check["blockers"].append({"key": "term.guard.unpublished_proposal", "params": {"count": n_proposed}})
    if to == "closed":
        owed, owed_states = states_sql("e.state", FEEDBACK_OWED_STATES)
        live, live_states = states_sql("p.state", PAIRING_LIVE_STATES)
        n_open = _count(db, "SELECT COUNT(*) FROM feedback_entries e JOIN pairings p ON p.id = e.pairing_id "
                            f"WHERE p.term_id = ? AND {owed} AND {live}", [term_id, *owed_states, *live_states])
        if n_open:
            check["needs_reason"] = True
            check["open_feedback"] = n_open
    return check


def advance_term(db: sqlite_utils.Database, actor: User, term_id: int, *, reason: str = "",
                 override: bool = False, expected_version: int | None = None,
                 today: date | None = None) -> Term:
    """Move a term to its next state; nothing changes when the move is refused.

    Refused: a closed term; a stale ``expected_version``; matching -> active without published
    pairings or with an unpublished proposal (unless ``override`` with a ``reason``, audited);
    active -> closed with feedback still owed and no ``reason``.
    """
    authorize(actor, "term.manage", programme_id=programmes.of_term(db, term_id))
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise ValidationFailed({"reason": "validation.too_long"})
    if text_problems(multiline=True, reason=reason):
        raise ValidationFailed(text_problems(multiline=True, reason=reason))
    with storage.transaction(db):
        term = get_term(db, term_id)
        if expected_version is not None and int(expected_version) != term.version:
            raise StaleRecord(term.__dict__)
        if term.state not in TERM_NEXT:
            raise IllegalTransition("term.closed_read_only", f"a {term.state} term has no next state",
                                    state=term.state, move="advance")
        check = advance_check(db, term_id)
        if check["blockers"] and not override:
            first = check["blockers"][0]
            raise IllegalTransition(first["key"], f"cannot move {term.state} -> {check['to']}",
                                    state=term.state, move="advance", **first["params"])
        if (check["blockers"] and override) or check["needs_reason"]:
            if not reason:
                raise ValidationFailed({"reason": "term.guard.reason_required"},
                                       count=check.get("open_feedback", 0))
        new_state = check["to"]
        changes = {"state": new_state, "version": term.version + 1}
        if new_state in TERM_STATES_READ_ONLY:  # when it closed: the final-work window counts from it
            changes["closed_on"] = (today or date.today()).isoformat()
        storage.update(db, "terms", term_id, changes)
        moved = _move_pairings(db, term_id, new_state)
        audit.record(db, actor, "term.advance", target_type="term", target_id=term_id, reason=reason,
                     detail={"from": term.state, "to": new_state, "pairings": moved,
                             "override": [b["key"] for b in check["blockers"]] if override else [],
                             "open_feedback": check.get("open_feedback", 0)})
        notifications.term_moved(db, actor, term_id, new_state)
    return get_term(db, term_id)


def _move_pairings(db: sqlite_utils.Database, term_id: int, new_state: str) -> int:
    """Published pairings follow their term (see ``lifecycle.PAIRING_STATE_ON_TERM``)."""
    if new_state not in PAIRING_STATE_ON_TERM:
        return 0
    before, after = PAIRING_STATE_ON_TERM[new_state]
    return db.execute("UPDATE pairings SET state = ?, updated_at = ? WHERE term_id = ? AND state = ?",
                      [after, storage.now_iso(), term_id, before]).rowcount


# --- What a term state allows ----------------------------------------------------------------

def require_state(term: Term | None, states: Iterable[str] | str, move: str, *, key: str | None = None) -> None:
    """Raise :class:`IllegalTransition` unless the term is in one of ``states``."""
    states = (states,) if isinstance(states, str) else tuple(states)
    if term is None or term.state not in states:
        raise IllegalTransition(key or f"term.requires_{states[0]}", f"{move} needs a term in {states}",
                                state=getattr(term, "state", None), move=move,
                                term=getattr(term, "name", ""))


def require_writable(term: Term | None, move: str) -> None:
    """Refuse any change to a closed (read-only) term's records."""
    if term is not None and term.state in TERM_STATES_READ_ONLY:
        raise IllegalTransition("term.closed_read_only", f"{move}: term {term.name} is closed",
                                state=term.state, move=move, term=term.name)


def term_of(db: sqlite_utils.Database, term_id: int | None) -> Term | None:
    """The term of a record (None for a record of no term)."""
    return get_term(db, term_id) if term_id is not None else None
