"""Feedback rounds and entries: the SME's rubric and comments, the team's reply.

A facilitator defines *rounds* for a term (a name and a due date). Every published pairing
(``approved`` or ``active``) gets one *entry* per round for its expert: the account whose e-mail
is the challenge's SME e-mail. Entries are created when a round is created and when pairings are
published (:func:`ensure_entries`, idempotent); an SME without an account yet gets an entry
without an expert, which is filled in as soon as the account exists.

Entry states: ``open -> submitted -> answered``. The expert saves drafts (the entry stays open)
and submits; the team then reads it and replies. Feedback is given only while the term is
*active*. An open entry past its due date is *overdue*: computed, never stored.

A round's due date falls within its term's dates (:func:`due_date_problem`). A facilitator may
rename a round or move its due date (carrying the version drawn on screen) and delete a round
for which no feedback has been given yet; each in one transaction with its audit event.

Once an entry is shared with the team it has a short *thread*: its expert and the team's members
write to each other in order (:func:`post_message`), until the entry's term closes
(``lifecycle.feedback_thread_open``); facilitators read it. Who owes the next word on an entry
(:func:`next_action`) feeds the homes and the expert's summary; a read mark
(:func:`mark_read`) settles a reply that needs no answer.

Transaction boundaries: every write service below opens exactly one ``storage.transaction``
block, which holds the state change and its ``audit.record``; anything that must happen with
the change (a notification row, say) goes inside that block, right after the audit line.
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any, Mapping

import sqlite_utils

from . import audit, notifications
from . import db as storage
from . import programmes
from .errors import IllegalTransition, NotFound, StaleRecord, ValidationFailed
from .lifecycle import (FEEDBACK_GIVEN_STATES, FEEDBACK_OWED_STATES, FEEDBACK_SHARED_STATES, FEEDBACK_STATUSES,
                        FEEDBACK_TRANSITIONS, PAIRING_LIVE_STATES, PAIRING_VISIBLE_STATES,
                        TERM_STATES_GIVING_FEEDBACK, feedback_is_given, feedback_is_owed, feedback_is_shared, feedback_thread_open,
                        pairing_is_live, states_sql, term_gives_feedback, term_is_read_only)
from .models import LONG_TEXT_MAX, RUBRIC, Term, User, _iso_date, text_problems, validate_feedback
from .permissions import SOME_PROGRAMME, authorize, can
from .terms import get_term, require_state, require_writable
DUE_SOON_DAYS = 7
ROUND_NAME_MAX = 80
#: A thread is a short exchange, not a chat: the length of one message and how many an entry holds.
THREAD_MESSAGE_MAX = 2_000
THREAD_MAX_MESSAGES = 40
#: Which side of a thread each role writes on.
THREAD_SIDES = {"expert": "expert", "student": "team"}
#: Who owes the next word on an entry (:func:`next_action`), and whose action it is.
NEXT_ACTIONS = {"give_feedback": "expert", "reply": "team", "answer_team": "expert", "answer_expert": "team"}
#: The next actions that belong to the thread (the other side's last word waits to be read).
THREAD_ACTIONS = ("answer_team", "answer_expert")


def waits_for(entry: Mapping, side: str) -> bool:
    """Whether the entry's next action is ``side``'s ("expert" or "team")."""
    return NEXT_ACTIONS.get(entry.get("next")) == side


def needs_now(entries: list[Mapping], side: str) -> set[int]:
    """The ids of the entries that need ``side`` now: every reply or message to answer, and of
    the feedback still to give, the overdue entries and each pairing's next one due (a round due
    in two months can wait folded away)."""
    now: set[int] = set()
    next_due: set[int] = set()
    for entry in sorted(entries, key=lambda e: (e["due_on"], e["id"])):
        if not waits_for(entry, side):
            continue
        if entry["next"] == "give_feedback" and entry["status"] != "overdue":
            if entry["pairing_id"] in next_due:
                continue
            next_due.add(entry["pairing_id"])
        now.add(entry["id"])
    return now


_ENTRY_SQL = (
    "SELECT e.*, r.name AS round_name, r.due_on, r.term_id, tm.name AS term_name, tm.state AS term_state, "
    "tm.programme_id, "
    "p.team_id, t.name AS team_name, "
    "p.challenge_id, c.title AS challenge_title, c.sme_name, c.sme_email, d.acronym, "
    "u.name AS expert_name, p.state AS pairing_state, "
    "(SELECT COUNT(*) FROM feedback_messages m WHERE m.entry_id = e.id) AS message_count "
    "FROM feedback_entries e "
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


def next_action(entry: Mapping) -> str | None:
    """Who owes the next word on an entry, as a key of :data:`NEXT_ACTIONS` (None: nobody).

    Only while the entry's own term gives feedback and its pairing is live: the expert gives
    an owed entry; the team replies to a submitted one; after the reply, the side that did not
    write last (the reply or a thread message: ``waiting_on``) owes an answer, until it writes
    back or marks the thread read.
    """
    if not term_gives_feedback(entry["term_state"]) or not pairing_is_live(entry["pairing_state"]):
        return None
    if feedback_is_owed(entry["state"]):
        return "give_feedback"
    if (entry["state"], "reply") in FEEDBACK_TRANSITIONS:
        return "reply"
    return {"expert": "answer_team", "team": "answer_expert"}.get(entry.get("waiting_on") or "")


def _decorate(row: dict, today: date | None) -> dict:
    row["scores"] = json.loads(row["scores"] or "{}")
    row["status"] = status(row, today)
    row["next"] = next_action(row)
    row["thread_open"] = feedback_thread_open(row["term_state"], row["state"])
    return row


def _next(state: str, move: str) -> str:
    try:
        return FEEDBACK_TRANSITIONS[(state, move)]
    except KeyError:
        raise IllegalTransition("feedback.illegal_move", f"cannot {move} a {state} entry",
                                state=state, move=move) from None


# --- Rounds ----------------------------------------------------------------------------------

def due_date_bounds(term: Term) -> tuple[date | None, date | None]:
    """The first and last day a round of ``term`` may be due (None: the term sets no bound)."""
    return _iso_date(term.starts_on) if term.starts_on else None, _iso_date(term.ends_on) if term.ends_on else None


def due_date_problem(term: Term, due: date | None) -> str | None:
    """The message key of what is wrong with ``due`` as a due date in ``term``, or None.

    A round is due within its term: not before it starts (every entry would be overdue at
    once), not after it ends (nobody could give it). The message names the allowed dates.
    """
    if due is None:
        return "validation.date"
    first, last = due_date_bounds(term)
    if (first and due < first) or (last and due > last):
        if first and last:
            return "validation.due_within_term"
        return "validation.due_after_start" if first else "validation.due_before_end"
    return None


def _round_problems(db, term: Term, name: str, due_on: Any, round_id: int | None = None
                    ) -> tuple[dict[str, str], date | None]:
    """Every problem of a round's name and due date at once, and the parsed date."""
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "validation.required"
    elif len(name) > ROUND_NAME_MAX:
        errors["name"] = "validation.too_long"
    elif text_problems(name=name):
        errors.update(text_problems(name=name))
    elif storage.one(db, "SELECT id FROM feedback_rounds WHERE term_id = ? AND name = ? COLLATE NOCASE "
                         "AND id IS NOT ?", [term.id, name, round_id]):
        errors["name"] = "validation.duplicate"
    due = _iso_date(due_on) if due_on not in (None, "") else None
    problem = due_date_problem(term, due)
    if problem:
        errors["due_on"] = problem
    return errors, due


def _refuse(errors: dict[str, str], term: Term) -> None:
    if errors:
        first, last = due_date_bounds(term)
        raise ValidationFailed(errors, starts=first.isoformat() if first else "",
                               ends=last.isoformat() if last else "")


def create_round(db: sqlite_utils.Database, actor: User, term_id: int, name: str, due_on: Any) -> dict:
    """Define a round for the term and create an entry for every published pairing."""
    authorize(actor, "feedback.manage", programme_id=programmes.of_term(db, term_id))
    term = get_term(db, term_id)
    require_writable(term, "round")
    name = (name or "").strip()
    errors, due = _round_problems(db, term, name, due_on)
    _refuse(errors, term)
    with storage.transaction(db):
        round_id = storage.insert(db, "feedback_rounds", {"term_id": term_id, "name": name,
                                                          "due_on": due.isoformat()})
        created = ensure_entries(db, term_id)
        audit.record(db, actor, "feedback.round_create", target_type="feedback_round", target_id=round_id,
                     detail={"term_id": term_id, "name": name, "due_on": due.isoformat(), "entries": created})
        notifications.round_opened(db, actor, round_id)
    return _round(db, round_id)


def _round(db, round_id: int) -> dict:
    row = storage.one(db, "SELECT * FROM feedback_rounds WHERE id = ?", [round_id])
    if row is None:
        raise NotFound("error.not_found", f"feedback round {round_id}")
    return row


def _check_version(row: dict, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != row["version"]:
        raise StaleRecord(row)


def update_round(db: sqlite_utils.Database, actor: User, round_id: int, name: str, due_on: Any, *,
                 expected_version: int | None) -> dict:
    """Rename a round or move its due date (within its term); refused if someone changed it since
    ``expected_version`` was drawn, or when its term is closed."""
    authorize(actor, "feedback.manage", programme_id=SOME_PROGRAMME)
    name = (name or "").strip()
    with storage.transaction(db):
        before = _round(db, round_id)
        term = get_term(db, before["term_id"])
        authorize(actor, "feedback.manage", programme_id=term.programme_id)
        require_writable(term, "round")
        _check_version(before, expected_version)
        errors, due = _round_problems(db, term, name, due_on, round_id)
        _refuse(errors, term)
        changes = {"name": name, "due_on": due.isoformat(), "version": before["version"] + 1}
        storage.update(db, "feedback_rounds", round_id, changes)
        audit.record(db, actor, "feedback.round_update", target_type="feedback_round", target_id=round_id,
                     detail={"term_id": term.id, "from": {"name": before["name"], "due_on": before["due_on"]},
                             "to": {"name": name, "due_on": due.isoformat()}})
        if due.isoformat() != before["due_on"]:
            notifications.round_due_moved(db, actor, round_id, before["due_on"])
    return _round(db, round_id)


def _round_entry_counts(db, round_id: int) -> tuple[int, int]:
    """(entries with feedback given, open entries holding an expert's draft) of a round."""
    given, states = states_sql("state", FEEDBACK_GIVEN_STATES)
    owed, owed_states = states_sql("state", FEEDBACK_OWED_STATES)
    n_given = db.execute(f"SELECT COUNT(*) FROM feedback_entries WHERE round_id = ? AND {given}",
                         [round_id, *states]).fetchone()[0]
    drafts = db.execute(f"SELECT COUNT(*) FROM feedback_entries WHERE round_id = ? AND {owed} "
                        "AND (comments != '' OR scores NOT IN ('', '{}'))", [round_id, *owed_states]).fetchone()[0]
    return n_given, drafts


def delete_round(db: sqlite_utils.Database, actor: User, round_id: int, *, expected_version: int | None) -> dict:
    """Delete a round and its entries while no feedback has been given for it.

    Refused (nothing deleted) when an entry was submitted or answered, when the term is closed,
    or when the round changed since ``expected_version``. Expert drafts of the round go with
    it: the audit event counts them. Returns the deleted round.
    """
    authorize(actor, "feedback.manage", programme_id=SOME_PROGRAMME)
    with storage.transaction(db):
        row = _round(db, round_id)
        term = get_term(db, row["term_id"])
        authorize(actor, "feedback.manage", programme_id=term.programme_id)
        require_writable(term, "round")
        _check_version(row, expected_version)
        given, drafts = _round_entry_counts(db, round_id)
        if given:
            raise IllegalTransition("feedback.round_has_feedback", f"round {round_id} has {given} given entries",
                                    count=given, name=row["name"])
        entries = db.execute("DELETE FROM feedback_entries WHERE round_id = ?", [round_id]).rowcount
        db.execute("DELETE FROM feedback_rounds WHERE id = ?", [round_id])
        audit.record(db, actor, "feedback.round_delete", target_type="feedback_round", target_id=round_id,
                     detail={"term_id": term.id, "name": row["name"], "due_on": row["due_on"],
                             "entries": entries, "drafts": drafts})
    return row


def rounds(db: sqlite_utils.Database, actor: User, term_id: int, *, today: date | None = None) -> list[dict]:
    """The term's rounds by due date, each with its entry counts by status."""
    authorize(actor, "feedback.view_all", programme_id=programmes.of_term(db, term_id))
    out = []
    for r in db.query("SELECT * FROM feedback_rounds WHERE term_id = ? ORDER BY due_on, id", [term_id]):
        counts = {status: 0 for status in FEEDBACK_STATUSES}
        for e in _query_entries(db, "e.round_id = ?", [r["id"]]):
            counts[status(e, today)] += 1
        given, drafts = _round_entry_counts(db, r["id"])
        out.append({**r, "counts": counts, "total": sum(counts.values()), "given": given, "drafts": drafts,
                    "deletable": given == 0})
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
    if can(actor, "feedback.view_all", programme_id=row["programme_id"]):
        return True
    if actor.role == "expert":
        return can(actor, "feedback.write", user_id=row["expert_id"])
    return feedback_is_shared(row["state"]) and can(actor, "feedback.view_team", team_id=row["team_id"],
                                                    programme_id=row["programme_id"])


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
    authorize(actor, "feedback.view_team", team_id=team_id, programme_id=programmes.of_team(db, team_id))
    shared, states = states_sql("e.state", FEEDBACK_SHARED_STATES)
    return [_decorate(r, today) for r in _query_entries(db, f"p.team_id = ? AND {shared}", [team_id, *states],
                                                         "ORDER BY r.due_on, e.id")]


def entries_for_round(db: sqlite_utils.Database, actor: User, round_id: int, *,
                      today: date | None = None) -> list[dict]:
    authorize(actor, "feedback.view_all", programme_id=programmes.of_term(db, _round(db, round_id)["term_id"]))
    return [_decorate(r, today) for r in _query_entries(db, "e.round_id = ?", [round_id], "ORDER BY t.name")]


def entries_for_term(db: sqlite_utils.Database, actor: User, term_id: int, *,
                     today: date | None = None) -> list[dict]:
    authorize(actor, "feedback.view_all", programme_id=programmes.of_term(db, term_id))
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
                                                          "replied_at": storage.now_iso(), "waiting_on": "expert"})
        audit.record(db, actor, "feedback.reply", target_type="feedback_entry", target_id=entry_id,
                     detail={"from": row["state"], "to": new_state})
        notifications.team_replied(db, actor, entry_id)
    return get_entry(db, actor, entry_id)


# --- Thread ----------------------------------------------------------------------------------

def _thread_allowed(actor: User, row: Mapping, action: str) -> bool:
    """The entry's expert and its team's members (write and read), facilitators (read): and
    only on an entry the actor may read at all (a team never sees a draft's thread)."""
    return _may_read(actor, row) and can(actor, action, user_id=row["expert_id"], team_id=row["team_id"],
                                         programme_id=row["programme_id"])


def thread(db: sqlite_utils.Database, actor: User, entry_id: int) -> list[dict]:
    """The entry's messages in the order they were written, each with its author's name and side."""
    row = _entry(db, entry_id)
    if not _thread_allowed(actor, row, "feedback.thread_read"):
        raise NotFound("error.not_found", f"feedback entry {entry_id}")
    return list(db.query(
        "SELECT m.id, m.entry_id, m.side, m.body, m.created_at, m.author_id, u.name AS author_name "
        "FROM feedback_messages m LEFT JOIN users u ON u.id = m.author_id WHERE m.entry_id = ? ORDER BY m.id",
        [entry_id]))


def _thread_refusal(row: Mapping) -> IllegalTransition:
    if term_is_read_only(row["term_state"]):
        return IllegalTransition("feedback.thread_closed", f"term {row['term_name']} is closed",
                                 term=row["term_name"], state=row["term_state"], move="message")
    return IllegalTransition("feedback.thread_not_open", "the thread is not open",
                             term=row["term_name"], state=row["state"], move="message")


def _open_thread(db, actor: User, entry_id: int) -> dict:
    """The entry whose thread ``actor`` may write in now (inside the caller's transaction):
    unknown to those who may not read it, refused in words when the thread is closed."""
    row = _entry(db, entry_id)
    if not _thread_allowed(actor, row, "feedback.thread_read"):
        raise NotFound("error.not_found", f"feedback entry {entry_id}")
    authorize(actor, "feedback.thread_write", user_id=row["expert_id"], team_id=row["team_id"])
    if not feedback_thread_open(row["term_state"], row["state"]):
        raise _thread_refusal(row)
    return row


def post_message(db: sqlite_utils.Database, actor: User, entry_id: int, text: str) -> dict:
    """Add one message to the entry's thread, on the actor's side (expert or team).

    Refused when the entry is not shared yet, when its term no longer gives feedback (a closed
    term's thread is read-only), or when the thread is full (:data:`THREAD_MAX_MESSAGES`).
    The other side then owes the next word (``waiting_on``).
    """
    text = (text or "").strip()
    if not text:
        raise ValidationFailed({"message": "validation.required"})
    if len(text) > THREAD_MESSAGE_MAX:
        raise ValidationFailed({"message": "validation.too_long"}, maximum=THREAD_MESSAGE_MAX)
    if text_problems(multiline=True, message=text):
        raise ValidationFailed(text_problems(multiline=True, message=text))
    with storage.transaction(db):
        row = _open_thread(db, actor, entry_id)
        if row["message_count"] >= THREAD_MAX_MESSAGES:
            raise IllegalTransition("feedback.thread_full", f"entry {entry_id} has {row['message_count']} messages",
                                    count=THREAD_MAX_MESSAGES)
        side = THREAD_SIDES[actor.role]
        message_id = storage.insert(db, "feedback_messages", {"entry_id": entry_id, "author_id": actor.id,
                                                              "side": side, "body": text,
                                                              "created_at": storage.now_iso()})
        storage.update(db, "feedback_entries", entry_id, {"waiting_on": _other_side(side)})
        # The text stays out of the log (a purge erases it from the thread, not from every event).
        audit.record(db, actor, "feedback.message", target_type="feedback_entry", target_id=entry_id,
                     detail={"message_id": message_id, "side": side, "length": len(text)})
        notifications.thread_message(db, actor, entry_id, side)
    return storage.one(db, "SELECT m.*, u.name AS author_name FROM feedback_messages m "
                           "LEFT JOIN users u ON u.id = m.author_id WHERE m.id = ?", [message_id])


def _other_side(side: str) -> str:
    return next(other for other in set(THREAD_SIDES.values()) if other != side)


def mark_read(db: sqlite_utils.Database, actor: User, entry_id: int) -> dict:
    """The expert (or a team member) has read the other side's last word and has nothing to add:
    the entry stops waiting for them. Refused like :func:`post_message` on a closed thread."""
    with storage.transaction(db):
        row = _open_thread(db, actor, entry_id)
        side = THREAD_SIDES[actor.role]
        if row["waiting_on"] == side:
            storage.update(db, "feedback_entries", entry_id, {"waiting_on": None})
        audit.record(db, actor, "feedback.read", target_type="feedback_entry", target_id=entry_id,
                     detail={"side": side})
    return get_entry(db, actor, entry_id)


def tally(entries: list[Mapping]) -> dict[str, int]:
    """Entries at a glance (one team's, for its expert): feedback given, still to give (on time),
    late, and team replies or messages waiting for the expert."""
    return {"given": sum(1 for e in entries if feedback_is_given(e["state"])),
            "to_give": sum(1 for e in entries if e["status"] == "open"),
            "late": sum(1 for e in entries if e["status"] == "overdue"),
            "replies_waiting": sum(1 for e in entries if e.get("next") == "answer_team")}


def thread_counts(db: sqlite_utils.Database, actor: User, term_id: int) -> dict[str, int]:
    """A term's threads at a glance for facilitators: entries with a thread, messages, and entries
    whose last word waits for the other side."""
    rows = entries_for_term(db, actor, term_id)
    return {"threads": sum(1 for r in rows if r["message_count"]),
            "messages": sum(r["message_count"] for r in rows),
            "waiting": sum(1 for r in rows if r["next"] in THREAD_ACTIONS)}


# --- Reminders -------------------------------------------------------------------------------

def reminders(db: sqlite_utils.Database, actor: User, term_id: int | None = None, *,
              today: date | None = None) -> dict[str, list[dict]]:
    """Open entries due within :data:`DUE_SOON_DAYS` days and those overdue.

    A facilitator sees every entry of the term; an expert only their own, of every active term.
    """
    today = _today(today)
    if can(actor, "feedback.view_all", programme_id=SOME_PROGRAMME):
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
