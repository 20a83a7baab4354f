"""Challenge lifecycle: draft -> submitted -> approved | returned -> submitted ... -> archived.

Each service checks the actor's permission, validates, applies one legal move (the moves are
stated in :mod:`matching.lifecycle`) and records its audit event in the same transaction.
Every save and move carries the version the user saw; one over a newer version raises
:class:`~matching.errors.StaleRecord` with the current record.

A challenge belongs to a term. A closed term's challenges are read-only. Once a challenge has
a published pairing, its department can no longer reopen, edit or archive it: it proposes a
*revision* (:func:`propose_revision`) that a facilitator approves or returns, and the team and
the expert keep seeing the approved text until then. Changing the SME of such a challenge is a
facilitator action (:func:`change_sme`) that hands the open feedback entries to the new expert.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

import sqlite_utils

from . import audit, notifications, programmes, reviews
from . import db as storage
from .errors import IllegalTransition, NotFound, StaleRecord, ValidationFailed
from .lifecycle import (CHALLENGE_MOVE_PERMISSIONS, CHALLENGE_MOVES_FROZEN_BY_PAIRING, CHALLENGE_VISIBLE_STATES,
                        FEEDBACK_OWED_STATES, PAIRING_LIVE_STATES, PAIRING_PROPOSED, PAIRING_VISIBLE_STATES,
                        REVISABLE_FIELDS, REVISION_OPEN_STATES, REVISION_TRANSITIONS, TERM_STATES_TAKING_CHALLENGES,
                        challenge_deletable, challenge_editable, challenge_next, challenge_visible_to_all,
                        states_sql)
from .lifecycle import CHALLENGE_OFFER_STATE, CHALLENGE_OFFERABLE_STATES, CHALLENGE_REVIEW_MOVES
from .models import Challenge, User, as_list, is_email, text_problems, validate_challenge
from .permissions import SOME_PROGRAMME, authorize, can, may_act_on
from .terms import get_term, require_writable, resolve_term, term_of

REASON_MAX = 500

FORM_FIELDS = ("title", "problem", "outcomes", "themes", "language", "capacity", "sme_name",
               "sme_email", "unclassified")
#: The fields a person writes (the others have a default): a new draft needs one of them.
WRITTEN_FIELDS = ("title", "problem", "outcomes", "themes", "sme_name", "sme_email")


def _row(db: sqlite_utils.Database, challenge_id: int) -> dict:
    """The challenge's row, with its term's programme (``programme_id``: what a facilitator's
    permission is checked against)."""
    row = storage.one(db, "SELECT c.*, tm.programme_id FROM challenges c LEFT JOIN terms tm ON tm.id = c.term_id "
                          "WHERE c.id = ?", [challenge_id])
    if row is None:
        raise NotFound("error.not_found", f"challenge {challenge_id}")
    return row


def can_view(actor: User, row: Mapping) -> bool:
    """An approved challenge for every participant (not the read-only public servant, who reads
    completed challenges in the outcomes library); an unapproved one for its department and the
    facilitators of its programme (a row of :func:`_row` or :func:`list_challenges`, which carry
    ``programme_id``)."""
    return ((challenge_visible_to_all(row["status"]) and can(actor, "challenge.view_approved"))
            or can(actor, "challenge.view_unapproved", department_id=row["department_id"],
                   programme_id=row.get("programme_id")))


def get_challenge(db: sqlite_utils.Database, actor: User, challenge_id: int) -> Challenge:
    """One challenge; an unapproved one only for its department and facilitators."""
    row = _row(db, challenge_id)
    if not can_view(actor, row):
        # Same answer as a missing id, so ids of others' drafts are not confirmed.
        raise NotFound("error.not_found", f"challenge {challenge_id}")
    return Challenge.from_row(row)


_LIST_SQL = ("SELECT c.*, d.acronym, d.acronym_fr, d.name_en AS department_en, d.name_fr AS department_fr, "
             "d.kind AS department_kind, "
             "tm.name AS term_name, tm.state AS term_state, tm.programme_id "
             "FROM challenges c JOIN departments d ON d.id = c.department_id "
             "LEFT JOIN terms tm ON tm.id = c.term_id WHERE 1 = 1")


def list_challenges(db: sqlite_utils.Database, actor: User, *, status: str | None = None,
                    department_id: int | None = None, term_id: int | None = None) -> list[dict]:
    """Challenges the actor may see, with department and term names, newest first."""
    authorize(actor, "challenge.view_approved")
    sql, params = _LIST_SQL, []
    if status:
        sql += " AND c.status = ?"
        params.append(status)
    if department_id is not None:
        sql += " AND c.department_id = ?"
        params.append(department_id)
    if term_id is not None:
        sql += " AND c.term_id = ?"
        params.append(term_id)
    sql += " ORDER BY c.updated_at DESC, c.id DESC"
    rows = [r for r in db.query(sql, params) if can_view(actor, r)]
    for r in rows:
        r["themes"] = as_list(r["themes"])
    return rows


def approved_challenges(db: sqlite_utils.Database, term_id: int | None) -> list[dict]:
    """The approved challenges of a term (and those of no term), with their department.

    Visible to every signed-in role; what a term's teams are ranked against and paired with.
    """
    visible, states = states_sql("c.status", CHALLENGE_VISIBLE_STATES)
    rows = list(db.query(
        _LIST_SQL + f" AND {visible} AND (c.term_id = ? OR c.term_id IS NULL) ORDER BY c.id",
        [*states, term_id]))
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


def challenge_term(db: sqlite_utils.Database, term_id: int | None = None) -> int | None:
    """The term a new challenge is filed under: the one given (which must take challenges), else
    the single term taking challenges; None while no term exists at all."""
    if term_id not in (None, ""):
        term = get_term(db, int(term_id))
        if term.state not in TERM_STATES_TAKING_CHALLENGES:
            raise ValidationFailed({"term_id": "challenge.term_not_taking"}, term=term.name)
        return term.id
    if not storage.one(db, "SELECT id FROM terms LIMIT 1"):
        return None
    return resolve_term(db, states=TERM_STATES_TAKING_CHALLENGES, move="challenge").id


def create_challenge(db: sqlite_utils.Database, actor: User, data: Mapping[str, Any], *,
                     department_id: int | None = None, term_id: int | None = None, status: str = "draft",
                     action: str = "challenge.create", permission: str = "challenge.create") -> Challenge:
    """The one way a challenge comes to exist (the form's first save, an import row).

    A draft needs only sane lengths; any later status needs every field a submission needs.
    The challenge is filed under :func:`challenge_term`; one audit event ``action``. An import
    creates challenges for any department under the ``data.import`` permission.
    """
    department_id = department_id if department_id is not None else actor.department_id
    authorize(actor, permission, department_id=department_id, programme_id=SOME_PROGRAMME)
    clean = _clean(data)
    with storage.transaction(db):
        record = {"title": "", "problem": "", "outcomes": "", "themes": [], "language": "en",
                  "capacity": 1, "sme_name": "", "sme_email": "", "unclassified": False, **clean}
        _raise_if_invalid(record, for_submit=status != "draft")
        filed_under = challenge_term(db, term_id)
        authorize(actor, permission, department_id=department_id, programme_id=programmes.of_term(db, filed_under))
        now = storage.now_iso()
        record.update({"capacity": int(float(record["capacity"])), "department_id": department_id,
                       "status": status, "version": 1, "term_id": filed_under,
                       "created_by": actor.id or None, "created_at": now, "updated_at": now,
                       "submitted_at": None if status == "draft" else now})
        challenge_id = storage.insert(db, "challenges", record)
        audit.record(db, actor, action, target_type="challenge", target_id=challenge_id,
                     detail={"status": status, "term_id": record["term_id"]})
        return Challenge.from_row(_row(db, challenge_id))


def save_draft(db: sqlite_utils.Database, actor: User, data: Mapping[str, Any], *,
               challenge_id: int | None = None, expected_version: int | None = None,
               department_id: int | None = None, term_id: int | None = None) -> Challenge:
    """Create or update a draft (or a returned challenge). Only lengths are checked, and that a
    new draft has something in it (an empty one would be an "Untitled draft" nobody wrote)."""
    if challenge_id is None:
        if not any(_clean(data).get(field) for field in WRITTEN_FIELDS):
            raise ValidationFailed({"title": "challenge.draft_empty"})
        return create_challenge(db, actor, data, department_id=department_id, term_id=term_id)
    clean = _clean(data)
    with storage.transaction(db):
        row = _editable_row(db, actor, challenge_id, expected_version)
        _raise_if_invalid({**row, **clean}, for_submit=False)
        if "capacity" in clean:
            clean["capacity"] = int(float(clean["capacity"]))
        storage.update(db, "challenges", challenge_id,
                       {**clean, "version": row["version"] + 1, "updated_at": storage.now_iso()})
        audit.record(db, actor, "challenge.save", target_type="challenge", target_id=challenge_id,
                     detail={"fields": sorted(clean)})
        # Read before the commit: the version handed back is this save's, never a later one's
        # (a form that kept a later version would silently overwrite that other save).
        return Challenge.from_row(_row(db, challenge_id))


def submit_new(db: sqlite_utils.Database, actor: User, data: Mapping[str, Any], *,
               term_id: int | None = None) -> Challenge:
    """A challenge submitted on its first save: created and submitted in one transaction, so a
    refused submission (a field missing or invalid, a term not chosen) saves nothing at all."""
    with storage.transaction(db):
        draft = create_challenge(db, actor, data, term_id=term_id)
        return submit(db, actor, draft.id, data, expected_version=draft.version)


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
        notifications.challenge_moved(db, actor, challenge_id, "submit")
        return Challenge.from_row(_row(db, challenge_id))


def approve(db: sqlite_utils.Database, actor: User, challenge_id: int, *, confirm_unclassified: bool,
            expected_version: int | None = None) -> Challenge:
    """Approve a submitted challenge; the facilitator must confirm it is unclassified and
    approves the version on their screen (``expected_version``), never a later one."""
    if not confirm_unclassified:
        raise ValidationFailed({"confirm_unclassified": "validation.unclassified_confirm"})
    return _move(db, actor, challenge_id, "approve", expected_version=expected_version)


def return_for_changes(db: sqlite_utils.Database, actor: User, challenge_id: int, comments: str, *,
                       expected_version: int | None = None) -> Challenge:
    """Send a submitted challenge back to its department with comments it will see."""
    comments = (comments or "").strip()
    if not comments:
        raise ValidationFailed({"comments": "validation.required"})
    if text_problems(multiline=True, comments=comments):
        raise ValidationFailed(text_problems(multiline=True, comments=comments))
    return _move(db, actor, challenge_id, "return", comments=comments, reason=comments,
                 expected_version=expected_version)


def reopen(db: sqlite_utils.Database, actor: User, challenge_id: int, *, reason: str = "",
           expected_version: int | None = None) -> Challenge:
    """Move a submitted or approved challenge back to draft so it can be edited."""
    return _move(db, actor, challenge_id, "reopen", reason=reason, expected_version=expected_version)


def archive(db: sqlite_utils.Database, actor: User, challenge_id: int, *, reason: str = "",
            expected_version: int | None = None) -> Challenge:
    return _move(db, actor, challenge_id, "archive", reason=reason, expected_version=expected_version)


def deletable(row: Mapping) -> bool:
    """Whether a challenge (a row of the table or of :func:`list_challenges`) may be deleted: a
    draft that was never submitted. One that was ever submitted (and reopened since) has been
    seen by facilitators: it is archived instead."""
    return challenge_deletable(row["status"]) and not row["submitted_at"]


def delete_draft(db: sqlite_utils.Database, actor: User, challenge_id: int, *,
                 expected_version: int | None = None) -> None:
    """Delete a never-submitted draft of the actor's own department (the version on screen),
    with its audit event (which keeps the title) in the same transaction."""
    with storage.transaction(db):
        row = _row(db, challenge_id)
        if not can_view(actor, row):
            raise NotFound("error.not_found", f"challenge {challenge_id}")  # ids of others' drafts stay unconfirmed
        authorize(actor, "challenge.delete_draft", department_id=row["department_id"])
        _check_version(row, expected_version)
        require_writable(term_of(db, row["term_id"]), "delete")
        if not deletable(row):
            key = "challenge.delete_was_submitted" if challenge_deletable(row["status"]) else "challenge.delete_not_draft"
            raise IllegalTransition(key, f"cannot delete a {row['status']} challenge", state=row["status"],
                                    move="delete")
        db.execute("DELETE FROM challenges WHERE id = ?", [challenge_id])
        audit.record(db, actor, "challenge.delete_draft", target_type="challenge", target_id=challenge_id,
                     detail={"title": row["title"], "term_id": row["term_id"], "department_id": row["department_id"]})


def bulk_approve(db: sqlite_utils.Database, actor: User, challenge_ids: list[int], *,
                 confirm_unclassified: bool, expected_versions: Mapping[int, int] | None = None) -> list[Challenge]:
    """Approve several submitted challenges in one transaction: all or none."""
    versions = expected_versions or {}
    with storage.transaction(db):
        return [approve(db, actor, cid, confirm_unclassified=confirm_unclassified,
                        expected_version=versions.get(cid)) for cid in challenge_ids]


def has_published_pairing(db: sqlite_utils.Database, challenge_id: int) -> bool:
    """Whether a team has (or had) this challenge as its published pairing."""
    visible, states = states_sql("state", PAIRING_VISIBLE_STATES)
    return storage.one(db, f"SELECT 1 AS yes FROM pairings WHERE challenge_id = ? AND {visible} LIMIT 1",
                       [challenge_id, *states]) is not None


def _move(db, actor, challenge_id, move, *, comments=None, reason="", expected_version=None):
    action = CHALLENGE_MOVE_PERMISSIONS[move]
    if text_problems(multiline=True, reason=reason):
        raise ValidationFailed(text_problems(multiline=True, reason=reason))
    with storage.transaction(db):
        row = _row(db, challenge_id)
        authorize(actor, action, department_id=row["department_id"], programme_id=row["programme_id"])
        _check_version(row, expected_version)
        require_writable(term_of(db, row["term_id"]), move)
        if move in CHALLENGE_MOVES_FROZEN_BY_PAIRING and has_published_pairing(db, challenge_id):
            raise IllegalTransition("challenge.frozen_by_pairing", f"cannot {move} a paired challenge",
                                    state=row["status"], move=move)
        changes = {"status": _next(row["status"], move), "version": row["version"] + 1,
                   "updated_at": storage.now_iso()}
        if comments is not None:
            changes["comments"] = comments
        if move == "approve":
            changes["approved_at"] = changes["updated_at"]  # submission to approval, on the dashboard
        storage.update(db, "challenges", challenge_id, changes)
        dropped = _drop_from_proposals(db, challenge_id) if not challenge_visible_to_all(changes["status"]) else 0
        detail = {"from": row["status"], "to": changes["status"], "dropped_from_proposal": dropped}
        if move in CHALLENGE_REVIEW_MOVES:  # what was judged, for the next review's comparison
            detail["snapshot"] = reviews.snapshot(row)
        audit.record(db, actor, action, target_type="challenge", target_id=challenge_id, reason=reason,
                     detail=detail)
        notifications.challenge_moved(db, actor, challenge_id, move)
        # Read before the commit: the version handed back is this save's, never a later one's
        # (a form that kept a later version would silently overwrite that other save).
        return Challenge.from_row(_row(db, challenge_id))


def _drop_from_proposals(db, challenge_id: int) -> int:
    """A challenge leaving the approved list leaves every unpublished proposal too."""
    proposed, states = states_sql("state", PAIRING_PROPOSED)
    terms = [r["term_id"] for r in db.query(
        f"SELECT DISTINCT term_id FROM pairings WHERE challenge_id = ? AND {proposed}", [challenge_id, *states])]
    dropped = db.execute(f"DELETE FROM pairings WHERE challenge_id = ? AND {proposed}",
                         [challenge_id, *states]).rowcount
    from .pairings import touch_plan  # pairings reads challenges: imported here, not at the top
    for term_id in terms:
        touch_plan(db, term_id)
    return dropped


def _next(state: str, move: str) -> str:
    next_state = challenge_next(state, move)
    if next_state is None:
        raise IllegalTransition("error.illegal_transition", f"cannot {move} a {state} challenge",
                                state=state, move=move)
    return next_state


def _check_version(row: Mapping, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != row["version"]:
        raise StaleRecord(Challenge.from_row(row).__dict__)


def _editable_row(db, actor, challenge_id, expected_version, action="challenge.edit") -> dict:
    row = _row(db, challenge_id)
    authorize(actor, action, department_id=row["department_id"])
    require_writable(term_of(db, row["term_id"]), "edit")
    if not challenge_editable(row["status"]):
        raise IllegalTransition("error.not_editable", f"a {row['status']} challenge is not editable",
                                state=row["status"], move="edit")
    _check_version(row, expected_version)
    return row


def _raise_if_invalid(data: Mapping, *, for_submit: bool) -> None:
    errors = validate_challenge(data, for_submit=for_submit)
    if errors:
        raise ValidationFailed(errors)


# --- Offering a challenge to other programmes (issue 17.1) --------------------------------------
#
# A challenge lives in one term, its home. Offering it to another programme files a linked copy
# (``offered_from`` = the home challenge) in a term of that programme that takes challenges, as
# a submitted challenge: that programme's facilitators confirm it by approving it (or return it
# with comments) through the same lifecycle, and it is ranked, paired and followed in its own
# term like any other. One offer per programme. The department's list shows the home challenge
# once, with each programme it is offered to and the state there (:func:`offers`).

def _home_row(db, challenge_id: int) -> dict:
    row = _row(db, challenge_id)
    return _row(db, row["offered_from"]) if row["offered_from"] is not None else row


def offers(db: sqlite_utils.Database, actor: User, challenge_id: int) -> list[dict]:
    """The challenge in every programme it is filed in, its home first: ``challenge_id``,
    ``term_id``, ``term_name``, ``term_state``, ``programme_id``, ``status``, ``version``,
    ``comments``, ``home`` (True for the original)."""
    home = _home_row(db, challenge_id)
    authorize(actor, "challenge.view_unapproved", department_id=home["department_id"], programme_id=SOME_PROGRAMME)
    rows = db.query("SELECT c.id AS challenge_id, c.term_id, tm.name AS term_name, tm.state AS term_state, "
                    "tm.programme_id, c.status, c.version, c.comments, c.offered_from IS NULL AS home "
                    "FROM challenges c LEFT JOIN terms tm ON tm.id = c.term_id "
                    "WHERE c.id = ? OR c.offered_from = ? ORDER BY c.offered_from IS NOT NULL, c.id",
                    [home["id"], home["id"]])
    return [{**r, "home": bool(r["home"])} for r in rows
            if may_act_on(actor, r["programme_id"])]


def offer_terms(db: sqlite_utils.Database, actor: User, challenge_id: int) -> list:
    """The terms this challenge may be offered to: those taking challenges, of programmes it is
    not filed in yet (empty while it is not submitted)."""
    home = _home_row(db, challenge_id)
    authorize(actor, "challenge.offer", department_id=home["department_id"])
    if home["status"] not in CHALLENGE_OFFERABLE_STATES:
        return []
    from .terms import list_terms
    taken = {r["programme_id"] for r in offers(db, actor, home["id"])}
    return [term for term in list_terms(db, TERM_STATES_TAKING_CHALLENGES) if term.programme_id not in taken]


def offer(db: sqlite_utils.Database, actor: User, challenge_id: int, term_id: int) -> Challenge:
    """Offer a submitted or approved challenge to another programme: a linked copy, submitted
    in ``term_id`` (a term of that programme taking challenges), which that programme's
    facilitators review. Refused for a programme it is already filed in. Audited; the
    programme's facilitators are notified as for any submitted challenge."""
    with storage.transaction(db):
        home = _home_row(db, challenge_id)
        authorize(actor, "challenge.offer", department_id=home["department_id"])
        if home["status"] not in CHALLENGE_OFFERABLE_STATES:
            raise IllegalTransition("offer.not_submitted", f"cannot offer a {home['status']} challenge",
                                    state=home["status"], move="offer")
        term = get_term(db, int(term_id))
        if term.state not in TERM_STATES_TAKING_CHALLENGES:
            raise ValidationFailed({"term_id": "challenge.term_not_taking"}, term=term.name)
        if term.programme_id in {r["programme_id"] for r in offers(db, actor, home["id"])}:
            raise ValidationFailed({"term_id": "offer.already_offered"}, term=term.name)
        record = {k: home[k] for k in FORM_FIELDS}
        record["themes"] = as_list(record["themes"])
        _raise_if_invalid(record, for_submit=True)
        now = storage.now_iso()
        copy_id = storage.insert(db, "challenges", {
            **record, "department_id": home["department_id"], "term_id": term.id, "offered_from": home["id"],
            "status": CHALLENGE_OFFER_STATE, "version": 1, "created_by": actor.id or None, "created_at": now,
            "updated_at": now, "submitted_at": now})
        audit.record(db, actor, "challenge.offer", target_type="challenge", target_id=copy_id,
                     detail={"offered_from": home["id"], "term_id": term.id, "programme_id": term.programme_id})
        notifications.challenge_moved(db, actor, copy_id, "submit")
        return Challenge.from_row(_row(db, copy_id))


# --- Revisions of a paired challenge ---------------------------------------------------------

def _revision_row(db, revision_id: int) -> dict:
    row = storage.one(db, "SELECT * FROM challenge_revisions WHERE id = ?", [revision_id])
    if row is None:
        raise NotFound("error.not_found", f"revision {revision_id}")
    row["changes"] = json.loads(row["changes"] or "{}")
    return row


def pending_revision(db: sqlite_utils.Database, actor: User, challenge_id: int) -> dict | None:
    """The challenge's revision awaiting a facilitator, for its department and facilitators."""
    row = _row(db, challenge_id)
    authorize(actor, "challenge.view_unapproved", department_id=row["department_id"], programme_id=row["programme_id"])
    open_, states = states_sql("state", REVISION_OPEN_STATES)
    found = storage.one(db, f"SELECT id FROM challenge_revisions WHERE challenge_id = ? AND {open_} "
                            "ORDER BY id DESC LIMIT 1", [challenge_id, *states])
    return _revision_row(db, found["id"]) if found else None


def last_revision(db: sqlite_utils.Database, actor: User, challenge_id: int) -> dict | None:
    """The challenge's newest revision in any state (a returned one shows its comments)."""
    row = _row(db, challenge_id)
    authorize(actor, "challenge.view_unapproved", department_id=row["department_id"], programme_id=row["programme_id"])
    found = storage.one(db, "SELECT id FROM challenge_revisions WHERE challenge_id = ? ORDER BY id DESC LIMIT 1",
                        [challenge_id])
    return _revision_row(db, found["id"]) if found else None


def revisions_to_review(db: sqlite_utils.Database, actor: User) -> list[dict]:
    """Pending revisions with the challenge as it stands, oldest first (facilitators; of the
    programmes they act on)."""
    authorize(actor, "challenge.decide_revision", programme_id=SOME_PROGRAMME)
    open_, states = states_sql("r.state", REVISION_OPEN_STATES)
    out = []
    for r in db.query("SELECT r.id, tm.programme_id FROM challenge_revisions r JOIN challenges c ON c.id = r.challenge_id "
                      f"LEFT JOIN terms tm ON tm.id = c.term_id WHERE {open_} ORDER BY r.id", states):
        if not may_act_on(actor, r["programme_id"]):
            continue
        revision = _revision_row(db, r["id"])
        revision["challenge"] = Challenge.from_row(_row(db, revision["challenge_id"])).__dict__
        out.append(revision)
    return out


def propose_revision(db: sqlite_utils.Database, actor: User, challenge_id: int, data: Mapping[str, Any], *,
                     expected_version: int | None = None, note: str = "") -> dict:
    """The department's proposed change to a paired challenge (replacing its pending one).

    Only :data:`~matching.lifecycle.REVISABLE_FIELDS` change this way; the SME is changed by a
    facilitator. The challenge itself is untouched until a facilitator approves.
    """
    clean = {k: v for k, v in _clean(data).items() if k in REVISABLE_FIELDS}
    note = (note or "").strip()
    if text_problems(multiline=True, note=note):
        raise ValidationFailed(text_problems(multiline=True, note=note))
    with storage.transaction(db):
        row = _row(db, challenge_id)
        authorize(actor, "challenge.revise", department_id=row["department_id"])
        require_writable(term_of(db, row["term_id"]), "revise")
        _check_version(row, expected_version)
        if not has_published_pairing(db, challenge_id):
            raise IllegalTransition("challenge.revision_not_needed", "not paired", state=row["status"], move="revise")
        if any(str(data.get(k) or "").strip().casefold() != str(row[k] or "").strip().casefold()
               for k in ("sme_name", "sme_email") if k in data):
            raise ValidationFailed({"sme_email": "challenge.sme_change_by_facilitator"})
        changes = {k: v for k, v in clean.items() if _differs(v, row[k])}
        errors = validate_challenge({**row, **changes}, for_submit=True)
        if len(note) > REASON_MAX:
            errors["note"] = "validation.too_long"
        if not changes and not errors:
            errors["title"] = "challenge.revision_empty"
        if errors:
            raise ValidationFailed(errors)
        if "capacity" in changes:
            changes["capacity"] = int(float(changes["capacity"]))
        open_, states = states_sql("state", REVISION_OPEN_STATES)
        pending = storage.one(db, f"SELECT id, version FROM challenge_revisions WHERE challenge_id = ? AND {open_}",
                              [challenge_id, *states])
        now = storage.now_iso()
        record = {"changes": changes, "base_version": row["version"], "note": note,
                  "proposed_by": actor.id or None, "proposed_at": now}
        if pending:
            storage.update(db, "challenge_revisions", pending["id"], {**record, "version": pending["version"] + 1})
            revision_id = pending["id"]
        else:
            revision_id = storage.insert(db, "challenge_revisions", {**record, "challenge_id": challenge_id,
                                                                     "state": REVISION_OPEN_STATES[0]})
        audit.record(db, actor, "challenge.revision_propose", target_type="challenge", target_id=challenge_id,
                     reason=note, detail={"revision_id": revision_id, "fields": sorted(changes)})
        return _revision_row(db, revision_id)


def _differs(new: Any, old: Any) -> bool:
    if isinstance(new, list):
        return new != as_list(old)
    if isinstance(new, bool):
        return new != bool(old)
    return str(new) != str(old if old is not None else "")


def decide_revision(db: sqlite_utils.Database, actor: User, revision_id: int, move: str, *,
                    comments: str = "", expected_version: int | None = None) -> dict:
    """A facilitator's answer to a revision: ``approve`` applies it to the challenge (which the
    team and expert then see), ``return`` sends it back with ``comments``."""
    authorize(actor, "challenge.decide_revision", programme_id=SOME_PROGRAMME)
    comments = (comments or "").strip()
    if move == "return" and not comments:
        raise ValidationFailed({"comments": "validation.required"})
    if text_problems(multiline=True, comments=comments):
        raise ValidationFailed(text_problems(multiline=True, comments=comments))
    with storage.transaction(db):
        revision = _revision_row(db, revision_id)
        if expected_version is not None and int(expected_version) != revision["version"]:
            raise StaleRecord(revision)
        new_state = REVISION_TRANSITIONS.get((revision["state"], move))
        if new_state is None:
            raise IllegalTransition("error.illegal_transition", f"cannot {move} a {revision['state']} revision",
                                    state=revision["state"], move=move)
        row = _row(db, revision["challenge_id"])
        authorize(actor, "challenge.decide_revision", programme_id=row["programme_id"])
        require_writable(term_of(db, row["term_id"]), "revise")
        now = storage.now_iso()
        if move == "approve":
            storage.update(db, "challenges", row["id"], {**revision["changes"], "version": row["version"] + 1,
                                                         "updated_at": now})
        storage.update(db, "challenge_revisions", revision_id, {
            "state": new_state, "comments": comments, "decided_by": actor.id or None, "decided_at": now,
            "version": revision["version"] + 1})
        audit.record(db, actor, f"challenge.revision_{move}", target_type="challenge", target_id=row["id"],
                     reason=comments, detail={"revision_id": revision_id, "fields": sorted(revision["changes"])})
        return _revision_row(db, revision_id)


def change_sme(db: sqlite_utils.Database, actor: User, challenge_id: int, sme_name: str, sme_email: str, *,
               reason: str, expected_version: int | None = None) -> dict:
    """Name another SME for a challenge (facilitators) and hand them its open feedback entries.

    Submitted entries keep the expert who wrote them. Returns ``{"challenge", "moved"}``.
    """
    authorize(actor, "challenge.change_sme", programme_id=SOME_PROGRAMME)
    sme_name, sme_email, reason = (sme_name or "").strip(), (sme_email or "").strip().lower(), (reason or "").strip()
    errors = {}
    if not is_email(sme_email):
        errors["sme_email"] = "validation.email"
    if not sme_name:
        errors["sme_name"] = "validation.required"
    if not reason:
        errors["reason"] = "validation.required"
    elif len(reason) > REASON_MAX:
        errors["reason"] = "validation.too_long"
    errors.update(text_problems(sme_name=sme_name, sme_email=sme_email))
    errors.update(text_problems(multiline=True, reason=reason))
    if errors:
        raise ValidationFailed(errors)
    with storage.transaction(db):
        row = _row(db, challenge_id)
        authorize(actor, "challenge.change_sme", programme_id=row["programme_id"])
        _check_version(row, expected_version)
        require_writable(term_of(db, row["term_id"]), "change_sme")
        expert = storage.one(db, "SELECT id FROM users WHERE email = ? COLLATE NOCASE AND role = 'expert'",
                             [sme_email])
        owed, owed_states = states_sql("e.state", FEEDBACK_OWED_STATES)
        live, live_states = states_sql("p.state", PAIRING_LIVE_STATES)
        entry_ids = [r["id"] for r in db.query(
            "SELECT e.id FROM feedback_entries e JOIN pairings p ON p.id = e.pairing_id "
            f"WHERE p.challenge_id = ? AND {owed} AND {live}", [challenge_id, *owed_states, *live_states])]
        for entry_id in entry_ids:
            storage.update(db, "feedback_entries", entry_id, {"expert_id": expert["id"] if expert else None})
        storage.update(db, "challenges", challenge_id, {"sme_name": sme_name, "sme_email": sme_email,
                                                        "version": row["version"] + 1,
                                                        "updated_at": storage.now_iso()})
        audit.record(db, actor, "challenge.change_sme", target_type="challenge", target_id=challenge_id,
                     reason=reason, detail={"from": row["sme_email"], "to": sme_email, "entries": len(entry_ids)})
        return {"challenge": Challenge.from_row(_row(db, challenge_id)), "moved": len(entry_ids)}


def theme_vocabulary(db: sqlite_utils.Database, actor: User | None = None) -> list[str]:
    """Every theme used by a challenge the actor may see, de-duplicated, in alphabetical order.

    The choices offered by the themes/skills multiselect, so departments reuse the words other
    challenges (and the ranker) already know; free entry stays possible on the form.
    """
    if actor is not None:
        authorize(actor, "challenge.view_approved")
    rows = db.query("SELECT c.status, c.department_id, c.themes, tm.programme_id "
                    "FROM challenges c LEFT JOIN terms tm ON tm.id = c.term_id")
    visible = [r for r in rows if challenge_visible_to_all(r["status"]) or (actor is not None and can_view(actor, r))]
    return sorted_terms(theme for r in visible for theme in as_list(r["themes"]))


def sorted_terms(terms) -> list[str]:
    """Distinct terms (first spelling kept, case-insensitive), sorted ignoring case and accents."""
    from .textprep import fold
    return sorted(as_list(list(terms)), key=lambda term: (fold(term), term))
