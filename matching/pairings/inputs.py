"""What an assignment reads: a term's teams, approved challenges, preferences, rules, scores."""
from __future__ import annotations

import numpy as np
import sqlite_utils

from .. import db as storage
from ..errors import IllegalTransition
from ..lifecycle import CHALLENGE_VISIBLE_STATES, states_sql, term_plans_pairings
from ..models import Term
from ..terms import get_term


def _term_for_planning(db, term_id: int) -> Term:
    term = get_term(db, term_id)
    if not term_plans_pairings(term.state):
        raise IllegalTransition("assign.not_in_planning_state", f"a {term.state} term's pairings are fixed",
                                state=term.state, move="assign")
    return term


def _teams(db, term_id: int) -> dict[int, dict]:
    return {r["id"]: r for r in db.query("SELECT id, name FROM teams WHERE term_id = ? ORDER BY id", [term_id])}


def _challenges(db, term_id: int) -> dict[int, dict]:
    """Approved challenges of the term (or of no term), with their department."""
    visible, states = states_sql("c.status", CHALLENGE_VISIBLE_STATES)
    return {r["id"]: r for r in db.query(
        "SELECT c.id, c.title, c.capacity, c.sme_name, c.sme_email, c.department_id, d.acronym, "
        "d.name_en AS department_en, d.name_fr AS department_fr FROM challenges c "
        "JOIN departments d ON d.id = c.department_id "
        f"WHERE {visible} AND (c.term_id = ? OR c.term_id IS NULL) ORDER BY c.id", [*states, term_id])}


def term_challenges(db: sqlite_utils.Database, term_id: int) -> list[dict]:
    """The approved challenges a term's teams can be paired with (for choosers and forms)."""
    return list(_challenges(db, term_id).values())


def _preferences(db, team_ids) -> dict[int, list]:
    """Team -> challenge ids by rank position (a gap stays a gap so later ranks keep their number)."""
    prefs: dict[int, list] = {}
    for r in db.query("SELECT team_id, challenge_id, rank FROM preferences ORDER BY team_id, rank"):
        if r["team_id"] in team_ids:
            ranked = prefs.setdefault(r["team_id"], [])
            ranked.extend([None] * (r["rank"] - 1 - len(ranked)))
            ranked.append(r["challenge_id"])
    return prefs


def _rank_of(db, team_id: int, challenge_id: int) -> int | None:
    row = storage.one(db, "SELECT rank FROM preferences WHERE team_id = ? AND challenge_id = ?",
                      [team_id, challenge_id])
    return row["rank"] if row else None


def _rules(db, term_id: int, kind: str) -> list[tuple[int, int]]:
    return [(r["team_id"], r["challenge_id"]) for r in db.query(
        "SELECT team_id, challenge_id FROM pairing_rules WHERE term_id = ? AND kind = ? ORDER BY id",
        [term_id, kind])]


def _similarity(db, actor, term_id: int, team_ids: list[int], challenge_ids: list[int]) -> np.ndarray:
    """Similarity of these teams x challenges from the cached match matrix (0 when unknown)."""
    from ..matches import match_matrix
    teams, challenges, scores = match_matrix(db, actor, term_id)
    row_of = {t["id"]: i for i, t in enumerate(teams)}
    col_of = {c["id"]: j for j, c in enumerate(challenges)}
    out = np.zeros((len(team_ids), len(challenge_ids)))
    for a, tid in enumerate(team_ids):
        for b, cid in enumerate(challenge_ids):
            if tid in row_of and cid in col_of and scores.size:
                out[a, b] = scores[row_of[tid], col_of[cid]]
    return np.clip(out, 0.0, 1.0)


