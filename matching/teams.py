"""Team profiles, their members, completeness, and the team's ranked preferences."""
from __future__ import annotations

from typing import Any, Mapping

import sqlite_utils

from . import audit
from . import db as storage
from .accounts import authorize, can
from .errors import NotFound, StaleRecord, ValidationFailed
from .models import MAX_PREFERENCES, Member, Team, User, as_list, validate_preferences, validate_team
from .terms import current_term, require_state

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
    team = Team.from_row(_team_row(db, team_id))
    private = can(actor, "team.view_private", team_id=team_id) or _works_with(db, actor, team_id)
    team.members = [Member.from_row({**m, "email": m["email"] if private else ""}) for m in
                    db.query("SELECT * FROM members WHERE team_id = ? ORDER BY id", [team_id])]
    return team


def _works_with(db: sqlite_utils.Database, actor: User, team_id: int) -> bool:
    """The actor's department owns, or the actor is the SME of, the team's published challenge."""
    if actor is None or actor.role not in ("department_rep", "expert"):
        return False
    column, value = (("c.department_id", actor.department_id) if actor.role == "department_rep"
                     else ("c.sme_email", actor.email))
    return storage.one(db, "SELECT 1 AS ok FROM pairings p JOIN challenges c ON c.id = p.challenge_id "
                           f"WHERE p.team_id = ? AND p.state IN ('approved', 'active') "
                           f"AND {column} = ? COLLATE NOCASE", [team_id, value]) is not None


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


def find_team(db: sqlite_utils.Database, name: str) -> Team | None:
    row = storage.one(db, "SELECT * FROM teams WHERE name = ? COLLATE NOCASE ORDER BY id DESC LIMIT 1",
                      [name.strip()])
    return Team.from_row(row) if row else None


def save_team(db: sqlite_utils.Database, actor: User, team_id: int, data: Mapping[str, Any], *,
              expected_version: int | None = None) -> Team:
    """Replace a team's profile and members; every problem is reported at once."""
    authorize(actor, "team.edit", team_id=team_id)
    errors = validate_team(data)
    if errors:
        raise ValidationFailed(errors)
    with storage.transaction(db):
        row = _team_row(db, team_id)
        if expected_version is not None and int(expected_version) != row["version"]:
            raise StaleRecord(get_team(db, actor, team_id).__dict__)
        year = data.get("year")
        storage.update(db, "teams", team_id, {
            "name": str(data["name"]).strip(), "program": str(data.get("program") or "").strip(),
            "year": int(float(year)) if year not in (None, "") else None,
            "skills": as_list(data.get("skills")), "interests": as_list(data.get("interests")),
            "past_work": str(data.get("past_work") or "").strip(),
            "language": data.get("language") or "en",
            "version": row["version"] + 1, "updated_at": storage.now_iso()})
        db.execute("DELETE FROM members WHERE team_id = ?", [team_id])
        for member in data.get("members") or []:
            storage.insert(db, "members", {
                "team_id": team_id, "name": str(member["name"]).strip(),
                "email": str(member["email"]).strip().lower(),
                "program_year": str(member.get("program_year") or "").strip()})
        audit.record(db, actor, "team.save", target_type="team", target_id=team_id)
        storage.bump_data_version(db)
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
    authorize(actor, "preferences.view", team_id=team_id)
    return list(db.query(
        "SELECT p.rank, p.challenge_id, p.reason, c.title, d.acronym FROM preferences p "
        "JOIN challenges c ON c.id = p.challenge_id JOIN departments d ON d.id = c.department_id "
        "WHERE p.team_id = ? ORDER BY p.rank", [team_id]))


def save_preferences(db: sqlite_utils.Database, actor: User, team_id: int,
                     items: list[Mapping[str, Any]]) -> list[dict]:
    """Replace the team's ranked list (first item = first choice); only while the term is in intake."""
    authorize(actor, "preferences.edit", team_id=team_id)
    require_state(current_term(db), "intake", "preferences")
    approved = {r["id"] for r in db.query("SELECT id FROM challenges WHERE status = 'approved'")}
    items = [dict(i) for i in items if i.get("challenge_id") not in (None, "")]
    errors = validate_preferences(items, approved)
    if errors:
        raise ValidationFailed(errors, limit=MAX_PREFERENCES)
    with storage.transaction(db):
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
    themes = [item for (value,) in db.execute("SELECT themes FROM challenges WHERE status = 'approved'")
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
