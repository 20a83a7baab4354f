"""Publishing a term's proposal: what students, departments and experts will see.

:func:`publish` turns the proposal into the published set in one transaction, only while the
term is in *matching*, and reports what changed against the last publication (teams added,
removed, moved). A pair that did not change keeps its row, so feedback given on it stays
attached.
"""
from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from .. import audit, notifications
from .. import db as storage
from .. import programmes
from ..errors import IllegalTransition
from ..lifecycle import PAIRING_LIVE_STATES, PAIRING_PROPOSED, PUBLISHED, TERM_STATES_PUBLISHING, WITHDRAWN
from ..models import User
from ..permissions import authorize
from ..terms import get_term, require_state
from .proposal import _pairing_rows, check_plan_version, touch_plan


def _diff(old: dict[int, int], new: dict[int, int]) -> dict[str, list]:
    """Team -> challenge before and after: added, removed, moved (each a list of team ids)."""
    return {"added": sorted(t for t in new if t not in old),
            "removed": sorted(t for t in old if t not in new),
            "moved": sorted(t for t in new if t in old and old[t] != new[t]),
            "unchanged": sorted(t for t in new if t in old and old[t] == new[t])}


def _described(db, changes: dict[str, list], old: dict[int, int], new: dict[int, int]) -> dict[str, list[dict]]:
    names = {r["id"]: r["name"] for r in db.query("SELECT id, name FROM teams")}
    titles = {r["id"]: r["title"] for r in db.query("SELECT id, title FROM challenges")}

    def item(team_id):
        return {"team_id": team_id, "team_name": names.get(team_id, ""),
                "from_challenge_id": old.get(team_id), "from_title": titles.get(old.get(team_id), ""),
                "to_challenge_id": new.get(team_id), "to_title": titles.get(new.get(team_id), "")}
    return {kind: [item(t) for t in teams] for kind, teams in changes.items() if kind != "unchanged"} | {
        "unchanged": len(changes["unchanged"])}


def pending_changes(db: sqlite_utils.Database, actor: User, term_id: int) -> dict[str, Any]:
    """What :func:`publish` would change now (empty lists when there is no proposal)."""
    authorize(actor, "pairing.view_all", programme_id=programmes.of_term(db, term_id))
    old = {r["team_id"]: r["challenge_id"] for r in _pairing_rows(db, term_id, PAIRING_LIVE_STATES)}
    proposed = _pairing_rows(db, term_id, PAIRING_PROPOSED)
    new = {r["team_id"]: r["challenge_id"] for r in proposed} if proposed else old
    return _described(db, _diff(old, new), old, new)


def publish(db: sqlite_utils.Database, actor: User, term_id: int, *,
            expected_plan_version: int | None = None) -> dict[str, Any]:
    """Publish the proposal (only while the term is in matching), all or nothing.

    Returns what changed against the last publication: ``added``, ``removed``, ``moved``
    (lists of ``{team_name, from_title, to_title, ...}``), ``unchanged`` (a count) and
    ``first`` (True for the term's first publication). Feedback entries are created for the
    new pairings of every existing round in the same transaction.
    """
    from ..feedback import ensure_entries
    authorize(actor, "pairing.manage", programme_id=programmes.of_term(db, term_id))
    with storage.transaction(db):
        term = get_term(db, term_id)
        require_state(term, TERM_STATES_PUBLISHING, "publish")
        check_plan_version(db, term_id, expected_plan_version)
        proposed = _pairing_rows(db, term_id, PAIRING_PROPOSED)
        if not proposed:
            raise IllegalTransition("assign.nothing_to_publish", "no proposal", state=term.state, move="publish")
        published = {r["team_id"]: r for r in _pairing_rows(db, term_id, PAIRING_LIVE_STATES)}
        old = {t: r["challenge_id"] for t, r in published.items()}
        new = {r["team_id"]: r["challenge_id"] for r in proposed}
        changes = _diff(old, new)
        now = storage.now_iso()
        for row in proposed:
            if row["team_id"] in changes["unchanged"]:
                db.execute("DELETE FROM pairings WHERE id = ?", [row["id"]])  # keep the published row
            else:
                storage.update(db, "pairings", row["id"], {"state": PUBLISHED, "updated_at": now})
        for team_id in changes["removed"] + changes["moved"]:
            storage.update(db, "pairings", published[team_id]["id"], {"state": WITHDRAWN, "updated_at": now})
        first = storage.one(db, "SELECT id FROM publications WHERE term_id = ?", [term_id]) is None
        report = {**_described(db, changes, old, new), "first": first}
        storage.insert(db, "publications", {
            "term_id": term_id, "published_by": actor.id or None, "published_at": now,
            "pairs": sorted([t, c] for t, c in new.items()), "changes": report})
        ensure_entries(db, term_id)
        touch_plan(db, term_id)
        audit.record(db, actor, "pairing.publish", target_type="term", target_id=term_id,
                     detail={"pairs": len(new), "added": len(changes["added"]),
                             "removed": len(changes["removed"]), "moved": len(changes["moved"])})
        notifications.pairings_published(db, actor, term_id, old, new)
    return report


def last_publication(db: sqlite_utils.Database, term_id: int) -> dict | None:
    row = storage.one(db, "SELECT * FROM publications WHERE term_id = ? ORDER BY id DESC LIMIT 1", [term_id])
    if row:
        row["changes"] = json.loads(row["changes"])
        row["pairs"] = json.loads(row["pairs"])
    return row


