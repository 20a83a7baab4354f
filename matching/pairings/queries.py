"""Published pairings, seen from each side: the team, the department, the expert, facilitators.

Each row names its term (``term_id``, ``term_name``, ``term_state``), since a department or
an expert may have pairings in several terms at once.
"""
from __future__ import annotations

import sqlite_utils

from .. import db as storage
from .. import programmes
from ..lifecycle import PAIRING_VISIBLE_STATES, states_sql
from ..models import User
from ..permissions import SOME_PROGRAMME, authorize, may_act_on


def _visible() -> tuple[str, list[str]]:
    """The SQL condition and parameters of "a pairing people see" (lifecycle's visible states)."""
    return states_sql("p.state", PAIRING_VISIBLE_STATES)



def _of_my_programmes(actor: User, rows) -> list[dict]:
    """The rows of the programmes a (limited) facilitator acts on; every row for other roles."""
    return [{k: v for k, v in row.items() if k != "programme_id"} for row in rows
            if may_act_on(actor, row["programme_id"])]


def pairing_for_team(db: sqlite_utils.Database, actor: User, team_id: int) -> dict | None:
    """The team's published pairing with its challenge, department and SME, or None."""
    authorize(actor, "pairing.view_team", team_id=team_id, programme_id=programmes.of_team(db, team_id))
    visible, states = _visible()
    return storage.one(db, (
        "SELECT p.id AS pairing_id, p.state, p.term_id, tm.name AS term_name, tm.state AS term_state, "
        "c.id AS challenge_id, c.title, c.problem, c.outcomes, "
        "d.name_en AS department_en, d.name_fr AS department_fr, d.acronym, c.sme_name, c.sme_email "
        "FROM pairings p JOIN challenges c ON c.id = p.challenge_id JOIN terms tm ON tm.id = p.term_id "
        f"JOIN departments d ON d.id = c.department_id WHERE p.team_id = ? AND {visible} "
        "ORDER BY p.id DESC LIMIT 1"), [team_id, *states])


def pairings_for_department(db: sqlite_utils.Database, actor: User, department_id: int) -> list[dict]:
    """Published pairings of the department's challenges, by challenge then team."""
    authorize(actor, "pairing.view_department", department_id=department_id, programme_id=SOME_PROGRAMME)
    visible, states = _visible()
    return _of_my_programmes(actor, db.query(
        "SELECT p.id AS pairing_id, p.state, p.term_id, tm.name AS term_name, tm.state AS term_state, tm.programme_id, "
        "t.id AS team_id, t.name AS team_name, c.id AS challenge_id, c.title AS challenge_title "
        "FROM pairings p JOIN challenges c ON c.id = p.challenge_id JOIN teams t ON t.id = p.team_id "
        "JOIN terms tm ON tm.id = p.term_id "
        f"WHERE c.department_id = ? AND {visible} ORDER BY p.term_id DESC, c.title, t.name",
        [department_id, *states]))


def pairings_for_expert(db: sqlite_utils.Database, actor: User) -> list[dict]:
    """Published pairings whose challenge names the actor's e-mail as its SME."""
    authorize(actor, "pairing.view_expert", user_id=actor.id, programme_id=SOME_PROGRAMME)
    visible, states = _visible()
    return _of_my_programmes(actor, db.query(
        "SELECT p.id AS pairing_id, p.state, p.term_id, tm.name AS term_name, tm.state AS term_state, tm.programme_id, "
        "t.id AS team_id, t.name AS team_name, "
        "c.id AS challenge_id, c.title AS challenge_title, c.problem, c.outcomes, d.acronym, "
        "d.name_en AS department_en, d.name_fr AS department_fr FROM pairings p "
        "JOIN challenges c ON c.id = p.challenge_id JOIN teams t ON t.id = p.team_id "
        "JOIN departments d ON d.id = c.department_id JOIN terms tm ON tm.id = p.term_id "
        f"WHERE c.sme_email = ? COLLATE NOCASE AND {visible} ORDER BY p.term_id DESC, t.name",
        [actor.email, *states]))


def published_pairings(db: sqlite_utils.Database, actor: User, term_id: int) -> list[dict]:
    """Every published pairing of the term (facilitators), for lists and exports."""
    authorize(actor, "pairing.view_all", programme_id=programmes.of_term(db, term_id))
    visible, states = _visible()
    return list(db.query(
        "SELECT p.id AS pairing_id, p.state, p.team_id, t.name AS team_name, p.challenge_id, "
        "c.title AS challenge_title, d.acronym, p.preference_rank, p.score, c.sme_name, c.sme_email "
        "FROM pairings p JOIN teams t ON t.id = p.team_id JOIN challenges c ON c.id = p.challenge_id "
        f"JOIN departments d ON d.id = c.department_id WHERE p.term_id = ? AND {visible} "
        "ORDER BY t.name", [term_id, *states]))
