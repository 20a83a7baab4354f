"""Team profiles, their members, completeness, and the team's ranked preferences.

A team belongs to one term. Its profile is editable until the term closes; its preferences
only while its own term is in intake, and only among the approved challenges of that term.
"""
from __future__ import annotations

from typing import Any, Mapping

import sqlite_utils

from . import audit, programmes
from . import db as storage
from .errors import NotFound, StaleRecord, ValidationFailed
from .lifecycle import CHALLENGE_VISIBLE_STATES, PAIRING_VISIBLE_STATES, TERM_STATES_TAKING_PREFERENCES, states_sql
from .models import (MAX_MEMBERS, MAX_PREFERENCES, Member, Team, User, as_list, findable, validate_preferences,
                     validate_team)
from .permissions import authorize, can
from .terms import require_state, require_writable, term_of

#: What a complete profile has, in the order the completeness meter lists what is missing.
COMPLETENESS_CHECKS = ("name", "members", "skills", "interests", "past_work", "program")


def _team_row(db: sqlite_utils.Database, team_id: int) -> dict:
    row = storage.one(db, "SELECT * FROM teams WHERE id = ?", [team_id])
    if row is None:
        raise NotFound("error.not_found", f"team {team_id}")
    return row


def get_team(db: sqlite_utils.Database, actor: User, team_id: int) -> Team:
    """A team profile. Members' e-mails only for the team itself, facilitators, and the
    department and expert of the team's published pairing (they need to contact the team)."""
    authorize(actor, "team.view_public", team_id=team_id)
    team = Team.from_row(_team_row(db, team_id))
    private = (can(actor, "team.view_private", team_id=team_id, programme_id=programmes.of_team(db, team_id))
               or _works_with(db, actor, team_id))
    team.members = [Member.from_row({**m, "email": m["email"] if private else ""}) for m in
                    db.query("SELECT * FROM members WHERE team_id = ? ORDER BY id", [team_id])]
    return team


def _works_with(db: sqlite_utils.Database, actor: User, team_id: int) -> bool:
    """The actor's department owns, or the actor is the SME of, the team's published challenge
    (running, or completed after the term closed: the contact stays with the people who had it)."""
    if actor is None or actor.role not in ("department_rep", "expert"):
        return False
    column, value = (("c.department_id", actor.department_id) if actor.role == "department_rep"
                     else ("c.sme_email", actor.email))
    visible, states = states_sql("p.state", PAIRING_VISIBLE_STATES)
    return storage.one(db, "SELECT 1 AS ok FROM pairings p JOIN challenges c ON c.id = p.challenge_id "
                           f"WHERE p.team_id = ? AND {visible} "
                           f"AND {column} = ? COLLATE NOCASE", [team_id, *states, value]) is not None


def list_teams(db: sqlite_utils.Database, term_id: int | None = None) -> list[Team]:
    """Every team's public profile (no member e-mails), ordered by name."""
    sql, params = "SELECT * FROM teams", []
    if term_id is not None:
        sql += " WHERE term_id = ?"
        params.append(term_id)
    teams = [Team.from_row(r) for r in db.query(sql + " ORDER BY name", params)]
    members: dict[int, list[Member]] = {}
    for m in db.query("SELECT id, team_id, name, program_year FROM members ORDER BY id"):
        members.setdefault(m["team_id"], []).append(Member(name=m["name"], email="", id=m["id"],
                                                           program_year=m["program_year"]))
    for team in teams:
        team.members = members.get(team.id, [])
    return teams


def find_team(db: sqlite_utils.Database, name: str, term_id: int | None = None) -> Team | None:
    """A team by name, whatever the capitals, accents and spacing (in ``term_id`` when given, where
    the name is unique; else the newest team of that name)."""
    if not findable(name):
        return None
    sql, params = f"SELECT * FROM teams WHERE name_key = ({storage.team_name_key_query()})", [str(name)]
    if term_id is not None:
        sql += " AND term_id = ?"
        params.append(term_id)
    row = storage.one(db, sql + " ORDER BY id DESC LIMIT 1", params)
    return Team.from_row(row) if row else None


def _refuse_taken_name(db, term_id: int | None, name: str, team_id: int | None = None) -> None:
    """Refuse a name that another team of the term has in any capitals or accents (the unique
    index of migration 6 refuses it too; this says so clearly instead of an IntegrityError)."""
    if term_id is None:
        return
    if storage.one(db, f"SELECT id FROM teams WHERE term_id = ? AND name_key = ({storage.team_name_key_query()}) "
                       "AND id IS NOT ?", [term_id, str(name).strip(), team_id]):
        raise ValidationFailed({"name": "validation.team_name_taken"})


def _profile_columns(data: Mapping[str, Any]) -> dict[str, Any]:
    year = data.get("year")
    return {"name": str(data["name"]).strip(), "program": str(data.get("program") or "").strip(),
            "year": int(float(year)) if year not in (None, "") else None,
            "skills": as_list(data.get("skills")), "interests": as_list(data.get("interests")),
            "past_work": str(data.get("past_work") or "").strip(), "language": data.get("language") or "en"}


def _write_members(db, team_id: int, members) -> None:
    db.execute("DELETE FROM members WHERE team_id = ?", [team_id])
    for member in (members or [])[:MAX_MEMBERS]:
        storage.insert(db, "members", {
            "team_id": team_id, "name": str(member["name"]).strip(),
            "email": str(member["email"]).strip().lower(),
            "program_year": str(member.get("program_year") or "").strip()})


def create_team(db: sqlite_utils.Database, actor: User, term_id: int, data: Mapping[str, Any], *,
                action: str = "team.create") -> Team:
    """The one way a team comes to exist (an import row, the CLI): validated, in an open term."""
    authorize(actor, "team.create", programme_id=programmes.of_term(db, term_id))
    errors = validate_team(data)
    if errors:
        raise ValidationFailed(errors)
    with storage.transaction(db):
        require_writable(term_of(db, term_id), "team.create")
        _refuse_taken_name(db, term_id, data["name"])
        team_id = storage.insert(db, "teams", {**_profile_columns(data), "term_id": term_id,
                                               "updated_at": storage.now_iso()})
        _write_members(db, team_id, data.get("members"))
        audit.record(db, actor, action, target_type="team", target_id=team_id, detail={"term_id": term_id})
        return get_team(db, actor, team_id)


def save_team(db: sqlite_utils.Database, actor: User, team_id: int, data: Mapping[str, Any], *,
              expected_version: int | None = None) -> Team:
    """Replace a team's profile and members; every problem is reported at once."""
    authorize(actor, "team.edit", team_id=team_id, programme_id=programmes.of_team(db, team_id))
    errors = validate_team(data)
    if errors:
        raise ValidationFailed(errors)
    with storage.transaction(db):
        row = _team_row(db, team_id)
        require_writable(term_of(db, row["term_id"]), "team.edit")
        if expected_version is not None and int(expected_version) != row["version"]:
            raise StaleRecord(get_team(db, actor, team_id).__dict__)
        _refuse_taken_name(db, row["term_id"], data["name"], team_id)
        storage.update(db, "teams", team_id, {**_profile_columns(data), "version": row["version"] + 1,
                                              "updated_at": storage.now_iso()})
        _write_members(db, team_id, data.get("members"))
        audit.record(db, actor, "team.save", target_type="team", target_id=team_id)
        # Read before the commit, so the version handed back is this save's (see challenges).
        return get_team(db, actor, team_id)


def completeness(team: Team) -> tuple[float, list[str]]:
    """Share of :data:`COMPLETENESS_CHECKS` met (0..1) and the names of those missing."""
    present = {
        "name": bool(team.name.strip()),
        "members": len(team.members) >= 2,
        "skills": len(team.skills) >= 3,
        "interests": len(team.interests) >= 2,
        "past_work": len(team.past_work.split()) >= 10,
        "program": bool(team.program.strip()),
    }
    missing = [check for check in COMPLETENESS_CHECKS if not present[check]]
    return 1 - len(missing) / len(COMPLETENESS_CHECKS), missing


# --- Preferences ---------------------------------------------------------------------------

def get_preferences(db: sqlite_utils.Database, actor: User, team_id: int) -> list[dict]:
    """The team's preferences in rank order, with each challenge's title and department."""
    authorize(actor, "preferences.view", team_id=team_id, programme_id=programmes.of_team(db, team_id))
    return list(db.query(
        "SELECT p.rank, p.challenge_id, p.reason, c.title, d.acronym FROM preferences p "
        "JOIN challenges c ON c.id = p.challenge_id JOIN departments d ON d.id = c.department_id "
        "WHERE p.team_id = ? ORDER BY p.rank", [team_id]))


def preferences_open(db: sqlite_utils.Database, team_id: int) -> bool:
    """Whether the team's own term takes preferences now."""
    term = term_of(db, _team_row(db, team_id)["term_id"])
    return term is not None and term.state in TERM_STATES_TAKING_PREFERENCES


def rankable_challenge_ids(db: sqlite_utils.Database, term_id: int | None) -> set[int]:
    """The approved challenges a team of ``term_id`` may rank (its term's, and those of no term)."""
    visible, states = states_sql("status", CHALLENGE_VISIBLE_STATES)
    return {r["id"] for r in db.query(f"SELECT id FROM challenges WHERE {visible} "
                                      "AND (term_id = ? OR term_id IS NULL)", [*states, term_id])}


def save_preferences(db: sqlite_utils.Database, actor: User, team_id: int,
                     items: list[Mapping[str, Any]], *, expected_version: int | None = None) -> list[dict]:
    """Replace the team's ranked list (first item = first choice); only while the team's term is
    in intake, among that term's approved challenges, over the list version the team saw."""
    authorize(actor, "preferences.edit", team_id=team_id)
    row = _team_row(db, team_id)
    require_state(term_of(db, row["term_id"]), TERM_STATES_TAKING_PREFERENCES, "preferences")
    items = [dict(i) for i in items if i.get("challenge_id") not in (None, "")]
    errors = validate_preferences(items, rankable_challenge_ids(db, row["term_id"]))
    if errors:
        raise ValidationFailed(errors, limit=MAX_PREFERENCES)
    with storage.transaction(db):
        row = _team_row(db, team_id)
        if expected_version is not None and int(expected_version) != row["preferences_version"]:
            raise StaleRecord({"preferences": get_preferences(db, actor, team_id),
                               "preferences_version": row["preferences_version"]})
        db.execute("UPDATE teams SET preferences_version = preferences_version + 1 WHERE id = ?", [team_id])
        db.execute("DELETE FROM preferences WHERE team_id = ?", [team_id])
        for rank, item in enumerate(items, start=1):
            storage.insert(db, "preferences", {"team_id": team_id, "challenge_id": int(item["challenge_id"]),
                                               "rank": rank, "reason": str(item.get("reason") or "").strip()})
        audit.record(db, actor, "preferences.save", target_type="team", target_id=team_id,
                     detail={"challenges": [int(i["challenge_id"]) for i in items]})
    return get_preferences(db, actor, team_id)


def keyword_vocabulary(db: sqlite_utils.Database, field: str) -> list[str]:
    """Choices for a profile's ``skills`` or ``interests``: what teams use plus approved themes.

    Offering the words challenges are written with helps teams describe themselves in terms the
    ranker can match; free entry stays possible on the form.
    """
    if field not in ("skills", "interests"):
        raise ValueError(f"no vocabulary for {field!r}")
    from .challenges import sorted_terms
    used = [item for (value,) in db.execute(f"SELECT {field} FROM teams") for item in as_list(value)]
    visible, states = states_sql("status", CHALLENGE_VISIBLE_STATES)
    themes = [item for (value,) in db.execute(f"SELECT themes FROM challenges WHERE {visible}", states)
              for item in as_list(value)]
    return sorted_terms(used + themes)


MEMBER_FIELDS = ("name", "email", "program_year")


def compact_member_rows(rows: list[Mapping[str, Any]]) -> tuple[list[dict[str, str]], list[int]]:
    """Member rows of a form as ``(members, slots)``: blank rows dropped, text trimmed.

    ``slots[i]`` is the form row of ``members[i]``, so a ``members.<i>.<field>`` validation
    error can be shown under the row the person actually typed in.
    """
    members, slots = [], []
    for slot, row in enumerate(rows):
        member = {key: str(row.get(key) or "").strip() for key in MEMBER_FIELDS}
        if any(member.values()):
            members.append(member)
            slots.append(slot)
    return members, slots
