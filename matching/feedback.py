"""Feedback rounds and entries: the SME's rubric and comments, the team's reply.

A facilitator defines *rounds* for a term (a name and a due date). Every published pairing
(``approved`` or ``active``) gets one *entry* per round for its expert: the account whose e-mail
is the challenge's SME e-mail. Entries are created when a round is created and when pairings are
published (:func:`ensure_entries`, idempotent); an SME without an account yet gets an entry
without an expert, which is filled in as soon as the account exists.

Entry states: ``open -> submitted -> answered``. The expert saves drafts (the entry stays open)
and submits; the team then reads it and replies. Feedback is given only while the term is
*active*. An open entry past its due date is *overdue*: computed, never stored.
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any, Mapping

import sqlite_utils

from . import audit, notifications
from . import db as storage
from .errors import IllegalTransition, NotFound, ValidationFailed
from .lifecycle import (FEEDBACK_SHARED_STATES, FEEDBACK_STATUSES, FEEDBACK_TRANSITIONS, PAIRING_LIVE_STATES, PAIRING_VISIBLE_STATES,
                        TERM_STATES_GIVING_FEEDBACK, feedback_is_owed, feedback_is_shared, states_sql,
                        term_gives_feedback)
from .models import LONG_TEXT_MAX, RUBRIC, User, _iso_date, text_problems, validate_feedback
from .permissions import authorize, can
from .terms import get_term, require_state, require_writable
DUE_SOON_DAYS = 7
ROUND_NAME_MAX = 80

_ENTRY_SQL = (
    "SELECT e.*, r.name AS round_name, r.due_on, r.term_id, tm.name AS term_name, tm.state AS term_state, "
    "p.team_id, t.name AS team_name, "
    "p.challenge_id, c.title AS challenge_title, c.sme_name, c.sme_email, d.acronym, "
    "u.name AS expert_name, p.state AS pairing_state FROM feedback_entries e "
    "JOIN feedback_rounds r ON r.id = e.round_id JOIN terms tm ON tm.id = r.term_id "
    "JOIN pairings p ON p.id = e.pairing_id "
    "JOIN teams t ON t.id = p.team_id JOIN challenges c ON c.id = p.challenge_id "
    "JOIN departments d ON d.id = c.department_id LEFT JOIN users u ON u.id = e.expert_id ")


def _query_entries(db, where: str, params: list, order: str = "") -> list[dict]:
    """Entries of visible pairings (completed ones stay readable after the term closes)."""
    visible, states = states_sql("p.state", PAIRING_VISIBLE_STATES)
    return list(db.query(f"{_ENTRY_SQL} WHERE {visible} AND {where} {order}", [*states, *params]))


def _today(today: date | None) -> date:
    return today or date.today()


def status(entry: Mapping, today: date | None = None) -> str:
    """The entry's state, or ``overdue`` for an open entry past its due date."""
    due = _iso_date(entry["due_on"])
    if feedback_is_owed(entry["state"]) and due is not None and due < _today(today):
        return "overdue"
    return entry["state"]


def _decorate(row: dict, today: date | None) -> dict:
    row["scores"] = json.loads(row["scores"] or "{}")
    row["status"] = status(row, today)
    return row


def _next(state: str, move: str) -> str:
    try:
        return FEEDBACK_TRANSITIONS[(state, move)]
    except KeyError:
        raise IllegalTransition("feedback.illegal_move", f"cannot {move} a {state} entry",
                                state=state, move=move) from None


# --- Rounds ----------------------------------------------------------------------------------

def create_round(db: sqlite_utils.Database, actor: User, term_id: int, name: str, due_on: Any) -> dict:
    """Define a round for the term and create an entry for every published pairing."""
    authorize(actor, "feedback.manage")
    require_writable(get_term(db, term_id), "round")
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = "validation.required"
    elif len(name) > ROUND_NAME_MAX:
        errors["name"] = "validation.too_long"
    elif text_problems(name=name):
        errors.update(text_problems(name=name))
    elif storage.one(db, "SELECT id FROM feedback_rounds WHERE term_id = ? AND name = ? COLLATE NOCASE",
                     [term_id, name]):
        errors["name"] = "validation.duplicate"
    due = _iso_date(due_on) if due_on not in (None, "") else None
    if due is None:
        errors["due_on"] = "validation.date"
    if errors:
        raise ValidationFailed(errors)
    with storage.transaction(db):
        round_id = storage.insert(db, "feedback_rounds", {"term_id": term_id, "name": name,
                                                          "due_on": due.isoformat()})
        created = ensure_entries(db, term_id)
        audit.record(db, actor, "feedback.round_create", target_type="feedback_round", target_id=round_id,
                     detail={"term_id": term_id, "name": name, "due_on": due.isoformat(), "entries": created})
        notifications.round_opened(db, actor, round_id)
    return storage.one(db, "SELECT * FROM feedback_rounds WHERE id = ?", [round_id])


def rounds(db: sqlite_utils.Database, actor: User, term_id: int, *, today: date | None = None) -> list[dict]:
    """The term's rounds by due date, each with its entry counts by status."""
    authorize(actor, "feedback.view_all")
    out = []
    for r in db.query("SELECT * FROM feedback_rounds WHERE term_id = ? ORDER BY due_on, id", [term_id]):
        counts = {status: 0 for status in FEEDBACK_STATUSES}
        for e in _query_entries(db, "e.round_id = ?", [r["id"]]):
            counts[status(e, today)] += 1
        out.append({**r, "counts": counts, "total": sum(counts.values())})
    return out


def ensure_entries(db: sqlite_utils.Database, term_id: int) -> int:
    """Create the missing entries (round x published pairing) of a term; return how many.

    Internal: called inside the transaction of :func:`create_round` and of publishing.
    """
    created = 0
    with storage.transaction(db):
        live, states = states_sql("p.state", PAIRING_LIVE_STATES)
        pairings = list(db.query(
            "SELECT p.id, c.sme_email FROM pairings p JOIN challenges c ON c.id = p.challenge_id "
            f"WHERE p.term_id = ? AND {live}", [term_id, *states]))
        experts = {r["email"].casefold(): r["id"] for r in db.query("SELECT id, email FROM users WHERE role = 'expert'")}
        for r in db.query("SELECT id FROM feedback_rounds WHERE term_id = ?", [term_id]):
            for p in pairings:
                expert_id = experts.get((p["sme_email"] or "").casefold())
                existing = storage.one(db, "SELECT id, expert_id FROM feedback_entries "
                                           "WHERE round_id = ? AND pairing_id = ?", [r["id"], p["id"]])
                if existing is None:
                    storage.insert(db, "feedback_entries", {"round_id": r["id"], "pairing_id": p["id"],
                                                            "expert_id": expert_id, "state": "open"})
                    created += 1
                elif existing["expert_id"] is None and expert_id is not None:
                    storage.update(db, "feedback_entries", existing["id"], {"expert_id": expert_id})
    return created


# --- Entries ---------------------------------------------------------------------------------

def _entry(db, entry_id: int) -> dict:
    rows = _query_entries(db, "e.id = ?", [entry_id])
    row = rows[0] if rows else None
    if row is None:
        raise NotFound("error.not_found", f"feedback entry {entry_id}")
    return row


def _may_read(actor: User, row: Mapping) -> bool:
    if can(actor, "feedback.view_all"):
        return True
    if actor.role == "expert":
        return can(actor, "feedback.write", user_id=row["expert_id"])
    return feedback_is_shared(row["state"]) and can(actor, "feedback.view_team", team_id=row["team_id"])


def get_entry(db: sqlite_utils.Database, actor: User, entry_id: int, *, today: date | None = None) -> dict:
    """One entry for its expert, its team (once submitted) or a facilitator."""
    row = _entry(db, entry_id)
    if not _may_read(actor, row):
        raise NotFound("error.not_found", f"feedback entry {entry_id}")
    return _decorate(row, today)


def entries_for_expert(db: sqlite_utils.Database, actor: User, *, today: date | None = None) -> list[dict]:
    """The actor's own entries, by due date then team."""
    authorize(actor, "feedback.write", user_id=actor.id)
    return [_decorate(r, today) for r in _query_entries(db, "e.expert_id = ?", [actor.id],
                                                         "ORDER BY r.due_on, t.name")]


def entries_for_team(db: sqlite_utils.Database, actor: User, team_id: int, *,
                     today: date | None = None) -> list[dict]:
    """The team's submitted and answered entries (drafts stay private to the expert)."""
    authorize(actor, "feedback.view_team", team_id=team_id)
    shared, states = states_sql("e.state", FEEDBACK_SHARED_STATES)
    return [_decorate(r, today) for r in _query_entries(db, f"p.team_id = ? AND {shared}", [team_id, *states],
                                                         "ORDER BY r.due_on, e.id")]


def entries_for_round(db: sqlite_utils.Database, actor: User, round_id: int, *,
                      today: date | None = None) -> list[dict]:
    authorize(actor, "feedback.view_all")
    return [_decorate(r, today) for r in _query_entries(db, "e.round_id = ?", [round_id], "ORDER BY t.name")]


def entries_for_term(db: sqlite_utils.Database, actor: User, term_id: int, *,
                     today: date | None = None) -> list[dict]:
    authorize(actor, "feedback.view_all")
    return [_decorate(r, today) for r in _query_entries(db, "r.term_id = ?", [term_id],
                                                         "ORDER BY r.due_on, t.name")]


def _clean_scores(scores: Mapping | None) -> dict[str, int]:
    clean = {}
    for criterion in RUBRIC:
        value = (scores or {}).get(criterion)
        if value not in (None, ""):
            clean[criterion] = int(float(value))
    return clean


def _write(db, actor: User, entry_id: int, move: str, scores, comments) -> dict:
    data = {"scores": scores or {}, "comments": comments or ""}
    errors = validate_feedback(data, for_submit=(move == "submit"))
    if errors:
        raise ValidationFailed(errors)
    with storage.transaction(db):
        row = _entry(db, entry_id)
        authorize(actor, "feedback.write", user_id=row["expert_id"])
        require_state(get_term(db, row["term_id"]), TERM_STATES_GIVING_FEEDBACK, "feedback")
        new_state = _next(row["state"], move)
        changes = {"state": new_state, "scores": _clean_scores(scores), "comments": str(comments or "").strip()}
        if move == "submit":
            changes["submitted_at"] = storage.now_iso()
        storage.update(db, "feedback_entries", entry_id, changes)
        audit.record(db, actor, f"feedback.{move}", target_type="feedback_entry", target_id=entry_id,
                     detail={"from": row["state"], "to": new_state})
        if move == "submit":
            notifications.feedback_submitted(db, actor, entry_id)
    return get_entry(db, actor, entry_id)


def save_draft(db: sqlite_utils.Database, actor: User, entry_id: int, scores: Mapping | None,
               comments: str) -> dict:
    """Keep the expert's work in progress; the entry stays open and hidden from the team."""
    return _write(db, actor, entry_id, "save", scores, comments)


def submit(db: sqlite_utils.Database, actor: User, entry_id: int, scores: Mapping | None,
           comments: str) -> dict:
    """Send the feedback to the team: every rubric score and comments are required."""
    return _write(db, actor, entry_id, "submit", scores, comments)


def reply(db: sqlite_utils.Database, actor: User, entry_id: int, text: str) -> dict:
    """The team's answer to a submitted entry: what it changed."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed({"reply": "validation.required"})
    if len(text) > LONG_TEXT_MAX:
        raise ValidationFailed({"reply": "validation.too_long"})
    if text_problems(multiline=True, reply=text):
        raise ValidationFailed(text_problems(multiline=True, reply=text))
    with storage.transaction(db):
        row = _entry(db, entry_id)
        authorize(actor, "feedback.reply", team_id=row["team_id"])
        require_state(get_term(db, row["term_id"]), TERM_STATES_GIVING_FEEDBACK, "feedback")
        new_state = _next(row["state"], "reply")
        storage.update(db, "feedback_entries", entry_id, {"state": new_state, "reply": text,
                                                          "replied_at": storage.now_iso()})
        audit.record(db, actor, "feedback.reply", target_type="feedback_entry", target_id=entry_id,
                     detail={"from": row["state"], "to": new_state})
        notifications.team_replied(db, actor, entry_id)
    return get_entry(db, actor, entry_id)


# --- Reminders -------------------------------------------------------------------------------

def reminders(db: sqlite_utils.Database, actor: User, term_id: int | None = None, *,
              today: date | None = None) -> dict[str, list[dict]]:
    """Open entries due within :data:`DUE_SOON_DAYS` days and those overdue.

    A facilitator sees every entry of the term; an expert only their own, of every active term.
    """
    today = _today(today)
    if can(actor, "feedback.view_all"):
        rows = entries_for_term(db, actor, term_id, today=today) if term_id is not None else []
    else:
        rows = entries_for_expert(db, actor, today=today)
    # Only entries that can still be given remind anyone: not those of a closed term (or of a
    # term that has not started: nobody can write them yet).
    rows = [r for r in rows if term_gives_feedback(r["term_state"])]
    horizon = today + timedelta(days=DUE_SOON_DAYS)
    due_soon = [r for r in rows if r["status"] == "open" and today <= _iso_date(r["due_on"]) <= horizon]
    overdue = [r for r in rows if r["status"] == "overdue"]
    return {"due_soon": due_soon, "overdue": overdue}
