"""Challenge lifecycle: draft -> submitted -> approved | returned -> submitted ... -> archived.

Each service checks the actor's permission, validates, applies one legal move and records its
audit event in the same transaction. Saves carry the version the user loaded; a save over a
newer version raises :class:`~matching.errors.StaleRecord` with the current record.
"""
from __future__ import annotations

from typing import Any, Mapping

import sqlite_utils

from . import audit
from . import db as storage
from .accounts import authorize, can
from .errors import IllegalTransition, NotFound, StaleRecord, ValidationFailed
from .models import Challenge, User, as_list, validate_challenge

#: (state, move) -> next state. Anything missing is an illegal move.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "submit"): "submitted",
    ("returned", "submit"): "submitted",
    ("submitted", "approve"): "approved",
    ("submitted", "return"): "returned",
    ("submitted", "reopen"): "draft",
    ("approved", "reopen"): "draft",
    ("draft", "archive"): "archived",
    ("submitted", "archive"): "archived",
    ("returned", "archive"): "archived",
    ("approved", "archive"): "archived",
}
EDITABLE_STATES = ("draft", "returned")
FORM_FIELDS = ("title", "problem", "outcomes", "themes", "language", "capacity", "sme_name",
               "sme_email", "unclassified")


def _row(db: sqlite_utils.Database, challenge_id: int) -> dict:
    row = storage.one(db, "SELECT * FROM challenges WHERE id = ?", [challenge_id])
    if row is None:
        raise NotFound("error.not_found", f"challenge {challenge_id}")
    return row


def can_view(actor: User, row: Mapping) -> bool:
    return row["status"] == "approved" or can(actor, "challenge.view_unapproved",
                                              department_id=row["department_id"])


def get_challenge(db: sqlite_utils.Database, actor: User, challenge_id: int) -> Challenge:
    """One challenge; an unapproved one only for its department and facilitators."""
    row = _row(db, challenge_id)
    if not can_view(actor, row):
        # Same answer as a missing id, so ids of others' drafts are not confirmed.
        raise NotFound("error.not_found", f"challenge {challenge_id}")
    return Challenge.from_row(row)


def list_challenges(db: sqlite_utils.Database, actor: User, *, status: str | None = None,
                    department_id: int | None = None) -> list[dict]:
    """Challenges the actor may see, with department names, newest first."""
    sql = ("SELECT c.*, d.acronym, d.name_en AS department_en, d.name_fr AS department_fr "
           "FROM challenges c JOIN departments d ON d.id = c.department_id WHERE 1 = 1")
    params: list[Any] = []
    if status:
        sql += " AND c.status = ?"
        params.append(status)
    if department_id is not None:
        sql += " AND c.department_id = ?"
        params.append(department_id)
    sql += " ORDER BY c.updated_at DESC, c.id DESC"
    rows = [r for r in db.query(sql, params) if can_view(actor, r)]
    for r in rows:
        r["themes"] = as_list(r["themes"])
    return rows


def approved_challenges(db: sqlite_utils.Database) -> list[dict]:
    """Every approved challenge with its department (visible to every signed-in role)."""
    rows = list(db.query(
        "SELECT c.*, d.acronym, d.name_en AS department_en, d.name_fr AS department_fr "
        "FROM challenges c JOIN departments d ON d.id = c.department_id "
        "WHERE c.status = 'approved' ORDER BY c.id"))
    for r in rows:
        r["themes"] = as_list(r["themes"])
    return rows


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    clean = {k: data[k] for k in FORM_FIELDS if k in data}
    for key in ("title", "problem", "outcomes", "sme_name", "sme_email"):
        if key in clean:
            clean[key] = "" if clean[key] is None else str(clean[key]).strip()
    if "themes" in clean:
        clean["themes"] = as_list(clean["themes"])
    if "unclassified" in clean:
        clean["unclassified"] = bool(clean["unclassified"])
    return clean


def save_draft(db: sqlite_utils.Database, actor: User, data: Mapping[str, Any], *,
               challenge_id: int | None = None, expected_version: int | None = None,
               department_id: int | None = None) -> Challenge:
    """Create or update a draft (or a returned challenge). Only lengths are checked."""
    clean = _clean(data)
    with storage.transaction(db):
        if challenge_id is None:
            department_id = department_id if department_id is not None else actor.department_id
            authorize(actor, "challenge.create", department_id=department_id)
            _raise_if_invalid({**{"capacity": 1}, **clean}, for_submit=False)
            now = storage.now_iso()
            record = {"title": "", "problem": "", "outcomes": "", "themes": [], "language": "en",
                      "capacity": 1, "sme_name": "", "sme_email": "", "unclassified": False,
                      **clean, "department_id": department_id, "status": "draft", "version": 1,
                      "term_id": _current_term_id(db), "created_by": actor.id or None,
                      "created_at": now, "updated_at": now}
            record["capacity"] = int(float(record["capacity"]))
            challenge_id = storage.insert(db, "challenges", record)
            audit.record(db, actor, "challenge.create", target_type="challenge", target_id=challenge_id)
        else:
            row = _editable_row(db, actor, challenge_id, expected_version)
            merged = {**row, **clean}
            _raise_if_invalid(merged, for_submit=False)
            if "capacity" in clean:
                clean["capacity"] = int(float(clean["capacity"]))
            storage.update(db, "challenges", challenge_id,
                           {**clean, "version": row["version"] + 1, "updated_at": storage.now_iso()})
            audit.record(db, actor, "challenge.save", target_type="challenge", target_id=challenge_id,
                         detail={"fields": sorted(clean)})
        storage.bump_data_version(db)
        # Read before the commit: the version handed back is this save's, never a later one's
        # (a form that kept a later version would silently overwrite that other save).
        return Challenge.from_row(_row(db, challenge_id))


def submit(db: sqlite_utils.Database, actor: User, challenge_id: int,
           data: Mapping[str, Any] | None = None, *, expected_version: int | None = None) -> Challenge:
    """Save ``data`` (if given) and submit for review; every field's problem is reported at once."""
    with storage.transaction(db):
        row = _editable_row(db, actor, challenge_id, expected_version, action="challenge.submit")
        clean = _clean(data or {})
        merged = {**row, **clean}
        merged["themes"] = as_list(merged["themes"])
        _raise_if_invalid(merged, for_submit=True)
        if "capacity" in clean:
            clean["capacity"] = int(float(clean["capacity"]))
        now = storage.now_iso()
        storage.update(db, "challenges", challenge_id, {
            **clean, "status": _next(row["status"], "submit"), "version": row["version"] + 1,
            "updated_at": now, "submitted_at": now})
        audit.record(db, actor, "challenge.submit", target_type="challenge", target_id=challenge_id)
        storage.bump_data_version(db)
        # Read before the commit: the version handed back is this save's, never a later one's
        # (a form that kept a later version would silently overwrite that other save).
        return Challenge.from_row(_row(db, challenge_id))


def approve(db: sqlite_utils.Database, actor: User, challenge_id: int, *,
            confirm_unclassified: bool) -> Challenge:
    """Approve a submitted challenge; the facilitator must confirm it is unclassified."""
    if not confirm_unclassified:
        raise ValidationFailed({"confirm_unclassified": "validation.unclassified_confirm"})
    return _move(db, actor, challenge_id, "approve", "challenge.approve")


def return_for_changes(db: sqlite_utils.Database, actor: User, challenge_id: int, comments: str) -> Challenge:
    """Send a submitted challenge back to its department with comments it will see."""
    comments = (comments or "").strip()
    if not comments:
        raise ValidationFailed({"comments": "validation.required"})
    return _move(db, actor, challenge_id, "return", "challenge.return", comments=comments, reason=comments)


def reopen(db: sqlite_utils.Database, actor: User, challenge_id: int, *, reason: str = "") -> Challenge:
    """Move a submitted or approved challenge back to draft so it can be edited."""
    return _move(db, actor, challenge_id, "reopen", "challenge.reopen", reason=reason)


def archive(db: sqlite_utils.Database, actor: User, challenge_id: int, *, reason: str = "") -> Challenge:
    return _move(db, actor, challenge_id, "archive", "challenge.archive", reason=reason)


def bulk_approve(db: sqlite_utils.Database, actor: User, challenge_ids: list[int], *,
                 confirm_unclassified: bool) -> list[Challenge]:
    """Approve several submitted challenges in one transaction: all or none."""
    with storage.transaction(db):
        return [approve(db, actor, cid, confirm_unclassified=confirm_unclassified) for cid in challenge_ids]


def _move(db, actor, challenge_id, move, action, *, comments=None, reason=""):
    with storage.transaction(db):
        row = _row(db, challenge_id)
        authorize(actor, action, department_id=row["department_id"])
        changes = {"status": _next(row["status"], move), "version": row["version"] + 1,
                   "updated_at": storage.now_iso()}
        if comments is not None:
            changes["comments"] = comments
        storage.update(db, "challenges", challenge_id, changes)
        audit.record(db, actor, action, target_type="challenge", target_id=challenge_id, reason=reason,
                     detail={"from": row["status"], "to": changes["status"]})
        storage.bump_data_version(db)
        # Read before the commit: the version handed back is this save's, never a later one's
        # (a form that kept a later version would silently overwrite that other save).
        return Challenge.from_row(_row(db, challenge_id))


def _next(state: str, move: str) -> str:
    try:
        return TRANSITIONS[(state, move)]
    except KeyError:
        raise IllegalTransition("error.illegal_transition", f"cannot {move} a {state} challenge",
                                state=state, move=move) from None


def _editable_row(db, actor, challenge_id, expected_version, action="challenge.edit") -> dict:
    row = _row(db, challenge_id)
    authorize(actor, action, department_id=row["department_id"])
    if row["status"] not in EDITABLE_STATES:
        raise IllegalTransition("error.not_editable", f"a {row['status']} challenge is not editable",
                                state=row["status"], move="edit")
    if expected_version is not None and int(expected_version) != row["version"]:
        raise StaleRecord(Challenge.from_row(row).__dict__)
    return row


def _raise_if_invalid(data: Mapping, *, for_submit: bool) -> None:
    errors = validate_challenge(data, for_submit=for_submit)
    if errors:
        raise ValidationFailed(errors)


def _current_term_id(db) -> int | None:
    row = storage.one(db, "SELECT id FROM terms WHERE state != 'closed' ORDER BY id DESC LIMIT 1")
    return row["id"] if row else None


def theme_vocabulary(db: sqlite_utils.Database, actor: User | None = None) -> list[str]:
    """Every theme used by a challenge the actor may see, de-duplicated, in alphabetical order.

    The choices offered by the themes/skills multiselect, so departments reuse the words other
    challenges (and the ranker) already know; free entry stays possible on the form.
    """
    rows = db.query("SELECT status, department_id, themes FROM challenges")
    visible = [r for r in rows if r["status"] == "approved" or (actor is not None and can_view(actor, r))]
    return sorted_terms(theme for r in visible for theme in as_list(r["themes"]))


def sorted_terms(terms) -> list[str]:
    """Distinct terms (first spelling kept, case-insensitive), sorted ignoring case and accents."""
    from .textprep import fold
    return sorted(as_list(list(terms)), key=lambda term: (fold(term), term))
