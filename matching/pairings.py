"""Pairings of a term: the optimiser's proposal, the facilitator's adjustments, publication.

The model
---------
* The **proposal** of a term is its ``proposed`` pairings. :func:`run_assignment` replaces it
  with the optimiser's result; :func:`pair`, :func:`unpair`, :func:`lock` and :func:`ban` adjust
  it, each with a required reason kept in the audit log.
* **Published** pairings are ``approved`` (and later ``active``): what students, departments
  and experts see. :func:`publish` turns the proposal into the published set in one
  transaction, only while the term is in *matching*, and reports what changed against the
  last publication (teams added, removed, moved). A pair that did not change keeps its row, so
  feedback given on it stays attached.
* **Rules** (``pairing_rules``): a *lock* (this team must take this challenge) and a *ban*
  (never this pair) persist, so every re-run of the optimiser honours them.
* The **plan** (:func:`plan`) is what the facilitator works on: the proposal when there is
  one, else the published set.

A manual adjustment that puts more teams on a challenge than its capacity is refused with a
:class:`CapacityWarning` unless the facilitator confirms it (``confirm_over_capacity=True``);
a confirmed lock above capacity raises that challenge's capacity for later runs, and the run
says so in its warnings. Nothing is ever overridden silently.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlite_utils

from . import audit
from . import db as storage
from .accounts import authorize
from .assignment import InfeasibleLocks, TeamOutcome, assign, summarise
from .errors import IllegalTransition, NotFound, PortalError, ValidationFailed
from .models import Term, User
from .terms import get_term, require_state

PUBLISHED_STATES = ("approved", "active")
#: Term states in which the optimiser may run and the proposal may be adjusted.
PLANNING_STATES = ("intake", "matching")
REASON_MAX = 500
RULE_EXISTS = {"lock": "assign.already_locked", "ban": "assign.already_banned"}


class CapacityWarning(PortalError):
    """An adjustment would put more teams on a challenge than its capacity; confirm to go on."""

    key = "assign.capacity_warning"


class LockProblems(PortalError):
    """The locks cannot all be honoured; ``problems`` lists each as (message key, params)."""

    key = "assign.infeasible_locks"

    def __init__(self, problems: list[tuple[str, dict]]):
        self.problems = problems
        super().__init__(self.key, f"{len(problems)} lock problem(s)", count=len(problems))


@dataclass
class RunResult:
    """What :func:`run_assignment` returns (and :func:`plan` rebuilds from the database)."""

    term_id: int
    rows: list[dict]              # every team of the term, matched or not
    summary: dict[str, Any]
    warnings: list[dict] = field(default_factory=list)

    @property
    def matched(self) -> list[dict]:
        return [r for r in self.rows if r["challenge_id"] is not None]

    @property
    def unmatched(self) -> list[dict]:
        return [r for r in self.rows if r["challenge_id"] is None]


# --- Reading the term's inputs ---------------------------------------------------------------

def _term_for_planning(db, term_id: int) -> Term:
    term = get_term(db, term_id)
    if term.state not in PLANNING_STATES:
        raise IllegalTransition("assign.not_in_planning_state", f"a {term.state} term's pairings are fixed",
                                state=term.state, move="assign")
    return term


def _teams(db, term_id: int) -> dict[int, dict]:
    return {r["id"]: r for r in db.query("SELECT id, name FROM teams WHERE term_id = ? ORDER BY id", [term_id])}


def _challenges(db, term_id: int) -> dict[int, dict]:
    """Approved challenges of the term (or of no term), with their department."""
    return {r["id"]: r for r in db.query(
        "SELECT c.id, c.title, c.capacity, c.sme_name, c.sme_email, c.department_id, d.acronym, "
        "d.name_en AS department_en, d.name_fr AS department_fr FROM challenges c "
        "JOIN departments d ON d.id = c.department_id "
        "WHERE c.status = 'approved' AND (c.term_id = ? OR c.term_id IS NULL) ORDER BY c.id", [term_id])}


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


def _similarity(db, actor, team_ids: list[int], challenge_ids: list[int]) -> np.ndarray:
    """Similarity of these teams x challenges from the cached match matrix (0 when unknown)."""
    from .matches import match_matrix
    teams, challenges, scores = match_matrix(db, actor)
    row_of = {t["id"]: i for i, t in enumerate(teams)}
    col_of = {c["id"]: j for j, c in enumerate(challenges)}
    out = np.zeros((len(team_ids), len(challenge_ids)))
    for a, tid in enumerate(team_ids):
        for b, cid in enumerate(challenge_ids):
            if tid in row_of and cid in col_of and scores.size:
                out[a, b] = scores[row_of[tid], col_of[cid]]
    return np.clip(out, 0.0, 1.0)


# --- Running the optimiser -------------------------------------------------------------------

def run_assignment(db: sqlite_utils.Database, actor: User, term_id: int) -> RunResult:
    """Run the optimiser on the term's teams and approved challenges; store it as the proposal.

    Preferences, locks and bans come from the database; the previous proposal is replaced (the
    published pairings are untouched until :func:`publish`). Raises :class:`LockProblems` when
    the locks cannot all be honoured, naming each problem.
    """
    authorize(actor, "pairing.manage")
    _term_for_planning(db, term_id)
    teams, challenges = _teams(db, term_id), _challenges(db, term_id)
    team_ids, challenge_ids = list(teams), list(challenges)
    locks, bans = _rules(db, term_id, "lock"), _rules(db, term_id, "ban")
    capacities, warnings = _capacities_with_locks(challenges, locks)
    try:
        result = assign(team_ids, challenge_ids, _similarity(db, actor, team_ids, challenge_ids),
                        capacities, preferences=_preferences(db, set(team_ids)), locks=locks, bans=bans)
    except InfeasibleLocks as err:
        raise LockProblems([(key, _names(detail, teams, challenges)) for key, detail in err.problems]) from None
    with storage.transaction(db):
        db.execute("DELETE FROM pairings WHERE term_id = ? AND state = 'proposed'", [term_id])
        now = storage.now_iso()
        for o in result.outcomes:
            if o.challenge_id is not None:
                storage.insert(db, "pairings", {
                    "term_id": term_id, "team_id": o.team_id, "challenge_id": o.challenge_id,
                    "state": "proposed", "score": o.score, "preference_rank": o.preference_rank,
                    "reason": o.reason, "source": "lock" if o.locked else "optimiser",
                    "created_at": now, "updated_at": now})
        unmatched = {str(o.team_id): o.reason for o in result.outcomes if o.challenge_id is None}
        summary = _summary_dict(result.summary, teams)
        storage.insert(db, "assignment_runs", {
            "term_id": term_id, "run_by": actor.id or None, "run_at": now, "summary": summary,
            "unmatched": unmatched, "warnings": warnings})
        audit.record(db, actor, "pairing.run", target_type="term", target_id=term_id,
                     detail={**summary, "locks": len(locks), "bans": len(bans)})
    return plan(db, actor, term_id, warnings=warnings)


def _capacities_with_locks(challenges: dict[int, dict], locks) -> tuple[list[int], list[dict]]:
    """Each challenge's capacity, raised to its number of locks when a confirmed lock exceeds it."""
    locked = {}
    for _, cid in locks:
        locked[cid] = locked.get(cid, 0) + 1
    capacities, warnings = [], []
    for cid, c in challenges.items():
        if locked.get(cid, 0) > c["capacity"]:
            warnings.append({"key": "assign.warning.locks_over_capacity",
                             "params": {"challenge": c["title"], "capacity": c["capacity"],
                                        "count": locked[cid]}})
        capacities.append(max(c["capacity"], locked.get(cid, 0)))
    return capacities, warnings


def _names(detail: dict, teams: dict, challenges: dict) -> dict:
    """Lock-problem details with team and challenge names for the message."""
    team = teams.get(detail.get("team_id"), {}).get("name", str(detail.get("team_id", "")))
    challenge = challenges.get(detail.get("challenge_id"), {}).get("title", str(detail.get("challenge_id", "")))
    return {"team": team, "challenge": challenge, "capacity": detail.get("capacity", "")}


def _summary_dict(summary, teams: dict) -> dict[str, Any]:
    worst = summary.worst_off_team_id
    return {"n_teams": summary.n_teams, "n_matched": summary.n_matched,
            "first_choice_share": summary.first_choice_share, "top3_share": summary.top3_share,
            "any_choice_share": summary.any_choice_share, "mean_similarity": summary.mean_similarity,
            "worst_rank": summary.worst_rank, "worst_off_team_id": worst,
            "worst_off_team": teams.get(worst, {}).get("name", "") if worst is not None else ""}


# --- The plan the facilitator works on -------------------------------------------------------

def _pairing_rows(db, term_id: int, states: tuple[str, ...]) -> list[dict]:
    marks = ", ".join("?" for _ in states)
    return list(db.query(f"SELECT * FROM pairings WHERE term_id = ? AND state IN ({marks}) ORDER BY id",
                         [term_id, *states]))


def _last_run(db, term_id: int) -> dict | None:
    row = storage.one(db, "SELECT * FROM assignment_runs WHERE term_id = ? ORDER BY id DESC LIMIT 1", [term_id])
    if row:
        for key in ("summary", "unmatched", "warnings"):
            row[key] = json.loads(row[key])
    return row


def plan(db: sqlite_utils.Database, actor: User, term_id: int, *,
         warnings: list[dict] | None = None) -> RunResult:
    """Every team of the term with its planned challenge, rank, score, reason and lock; summary.

    The proposal when there is one, else the published pairings. Each row has ``team_id``,
    ``team_name``, ``challenge_id``, ``challenge_title``, ``acronym``, ``preference_rank``,
    ``score``, ``reason`` (a message key), ``locked``, ``state``.
    """
    authorize(actor, "pairing.view_all")
    teams, challenges = _teams(db, term_id), _challenges(db, term_id)
    rows = _pairing_rows(db, term_id, ("proposed",)) or _pairing_rows(db, term_id, PUBLISHED_STATES)
    by_team = {r["team_id"]: r for r in rows}
    locks = set(_rules(db, term_id, "lock"))
    run = _last_run(db, term_id)
    unmatched_reasons = run["unmatched"] if run else {}
    out, outcomes = [], []
    for tid, team in teams.items():
        p = by_team.get(tid)
        challenge = challenges.get(p["challenge_id"], {}) if p else {}
        reason = (p["reason"] if p else unmatched_reasons.get(str(tid), "assign.reason.not_run" if not run
                                                             else "assign.reason.unpaired"))
        row = {"team_id": tid, "team_name": team["name"],
               "challenge_id": p["challenge_id"] if p else None,
               "challenge_title": challenge.get("title", ""), "acronym": challenge.get("acronym", ""),
               "preference_rank": p["preference_rank"] if p else None,
               "score": p["score"] if p else None, "reason": reason or "assign.reason.manual",
               "locked": bool(p) and (tid, p["challenge_id"]) in locks,
               "state": p["state"] if p else None, "pairing_id": p["id"] if p else None}
        out.append(row)
        outcomes.append(TeamOutcome(tid, row["challenge_id"], row["preference_rank"],
                                    row["score"], row["locked"], row["reason"]))
    summary = _summary_dict(summarise(outcomes), teams)
    summary["n_with_preferences"] = len(_preferences(db, set(teams)))
    all_warnings = list(warnings if warnings is not None else (run["warnings"] if run else []))
    all_warnings += _over_capacity(out, challenges)
    return RunResult(term_id, out, summary, all_warnings)


def _over_capacity(rows: list[dict], challenges: dict) -> list[dict]:
    counts: dict[int, int] = {}
    for r in rows:
        if r["challenge_id"] is not None:
            counts[r["challenge_id"]] = counts.get(r["challenge_id"], 0) + 1
    return [{"key": "assign.warning.over_capacity",
             "params": {"challenge": challenges[cid]["title"], "capacity": challenges[cid]["capacity"],
                        "count": n}}
            for cid, n in counts.items() if cid in challenges and n > challenges[cid]["capacity"]]


def has_proposal(db: sqlite_utils.Database, term_id: int) -> bool:
    return bool(db.execute("SELECT COUNT(*) FROM pairings WHERE term_id = ? AND state = 'proposed'",
                           [term_id]).fetchone()[0])


def rules(db: sqlite_utils.Database, actor: User, term_id: int) -> list[dict]:
    """The term's locks and bans with team and challenge names, newest first."""
    authorize(actor, "pairing.view_all")
    return list(db.query(
        "SELECT r.id, r.kind, r.team_id, t.name AS team_name, r.challenge_id, c.title AS challenge_title, "
        "r.reason, r.created_at FROM pairing_rules r JOIN teams t ON t.id = r.team_id "
        "JOIN challenges c ON c.id = r.challenge_id WHERE r.term_id = ? ORDER BY r.id DESC", [term_id]))


# --- Manual adjustments ----------------------------------------------------------------------

def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": "validation.required"})
    if len(reason) > REASON_MAX:
        raise ValidationFailed({"reason": "validation.too_long"})
    return reason


def _check_pair_targets(db, term_id: int, team_id: int, challenge_id: int) -> tuple[dict, dict]:
    team = storage.one(db, "SELECT id, name FROM teams WHERE id = ? AND term_id = ?", [team_id, term_id])
    challenge = _challenges(db, term_id).get(challenge_id)
    errors = {}
    if team is None:
        errors["team_id"] = "assign.unknown_team"
    if challenge is None:
        errors["challenge_id"] = "validation.unknown_challenge"
    if errors:
        raise ValidationFailed(errors)
    return team, challenge


def _seed_proposal(db, term_id: int) -> None:
    """Start a proposal from the published pairings so an adjustment never loses them."""
    if has_proposal(db, term_id):
        return
    now = storage.now_iso()
    for p in _pairing_rows(db, term_id, PUBLISHED_STATES):
        storage.insert(db, "pairings", {
            "term_id": term_id, "team_id": p["team_id"], "challenge_id": p["challenge_id"],
            "state": "proposed", "score": p["score"], "preference_rank": p["preference_rank"],
            "reason": p["reason"], "source": p["source"], "created_at": now, "updated_at": now})


def _proposed_for(db, term_id: int, team_id: int) -> dict | None:
    return storage.one(db, "SELECT * FROM pairings WHERE term_id = ? AND team_id = ? AND state = 'proposed'",
                       [term_id, team_id])


def _rule(db, term_id: int, team_id: int, challenge_id: int | None = None, kind: str | None = None) -> dict | None:
    sql, params = "SELECT * FROM pairing_rules WHERE term_id = ? AND team_id = ?", [term_id, team_id]
    if challenge_id is not None:
        sql += " AND challenge_id = ?"
        params.append(challenge_id)
    if kind:
        sql += " AND kind = ?"
        params.append(kind)
    return storage.one(db, sql, params)


def _capacity_check(db, term_id: int, team_id: int, challenge: dict, confirm: bool) -> list[dict]:
    """Warn (raise) when the team would be one too many on the challenge, unless confirmed."""
    count = db.execute("SELECT COUNT(*) FROM pairings WHERE term_id = ? AND state = 'proposed' "
                       "AND challenge_id = ? AND team_id != ?", [term_id, challenge["id"], team_id]).fetchone()[0]
    if count + 1 <= challenge["capacity"]:
        return []
    params = {"challenge": challenge["title"], "capacity": challenge["capacity"], "count": count + 1}
    if not confirm:
        raise CapacityWarning("assign.capacity_warning", "over capacity", **params)
    return [{"key": "assign.warning.over_capacity", "params": params}]


def _place(db, actor, term_id: int, team_id: int, challenge_id: int, source: str, reason_key: str) -> int | None:
    """Put the team on the challenge in the proposal; return the challenge it left (if any)."""
    previous = _proposed_for(db, term_id, team_id)
    if previous:
        db.execute("DELETE FROM pairings WHERE id = ?", [previous["id"]])
    now = storage.now_iso()
    storage.insert(db, "pairings", {
        "term_id": term_id, "team_id": team_id, "challenge_id": challenge_id, "state": "proposed",
        "score": float(_similarity(db, actor, [team_id], [challenge_id])[0, 0]),
        "preference_rank": _rank_of(db, team_id, challenge_id), "reason": reason_key,
        "source": source, "created_at": now, "updated_at": now})
    return previous["challenge_id"] if previous else None


def pair(db: sqlite_utils.Database, actor: User, term_id: int, team_id: int, challenge_id: int,
         reason: str, *, confirm_over_capacity: bool = False) -> list[dict]:
    """Put a team on a challenge in the proposal (moving it from any other); returns warnings.

    Refused for a banned pair and for a team locked to another challenge (remove the lock
    first). Over capacity raises :class:`CapacityWarning` unless confirmed.
    """
    authorize(actor, "pairing.manage")
    reason = _clean_reason(reason)
    _term_for_planning(db, term_id)
    with storage.transaction(db):
        team, challenge = _check_pair_targets(db, term_id, team_id, challenge_id)
        if _rule(db, term_id, team_id, challenge_id, "ban"):
            raise IllegalTransition("assign.pair_banned", "banned pair", team=team["name"],
                                    challenge=challenge["title"])
        lock = _rule(db, term_id, team_id, kind="lock")
        if lock and lock["challenge_id"] != challenge_id:
            raise IllegalTransition("assign.team_is_locked", "team locked elsewhere", team=team["name"])
        _seed_proposal(db, term_id)
        warnings = _capacity_check(db, term_id, team_id, challenge, confirm_over_capacity)
        left = _place(db, actor, term_id, team_id, challenge_id, "manual", "assign.reason.manual")
        audit.record(db, actor, "pairing.pair", target_type="team", target_id=team_id, reason=reason,
                     detail={"term_id": term_id, "challenge_id": challenge_id, "from_challenge_id": left,
                             "over_capacity": bool(warnings)})
    return warnings


def unpair(db: sqlite_utils.Database, actor: User, term_id: int, team_id: int, reason: str) -> None:
    """Take a team off its proposed challenge (refused while the team is locked to it)."""
    authorize(actor, "pairing.manage")
    reason = _clean_reason(reason)
    _term_for_planning(db, term_id)
    with storage.transaction(db):
        team = storage.one(db, "SELECT id, name FROM teams WHERE id = ? AND term_id = ?", [team_id, term_id])
        if team is None:
            raise ValidationFailed({"team_id": "assign.unknown_team"})
        if _rule(db, term_id, team_id, kind="lock"):
            raise IllegalTransition("assign.team_is_locked", "team is locked", team=team["name"])
        _seed_proposal(db, term_id)
        current = _proposed_for(db, term_id, team_id)
        if current is None:
            raise IllegalTransition("assign.not_paired", "team has no pairing", team=team["name"])
        db.execute("DELETE FROM pairings WHERE id = ?", [current["id"]])
        audit.record(db, actor, "pairing.unpair", target_type="team", target_id=team_id, reason=reason,
                     detail={"term_id": term_id, "challenge_id": current["challenge_id"]})


def lock(db: sqlite_utils.Database, actor: User, term_id: int, team_id: int, challenge_id: int,
         reason: str, *, confirm_over_capacity: bool = False) -> list[dict]:
    """Lock a pair (kept by every re-run) and put it in the proposal now; returns warnings."""
    authorize(actor, "pairing.manage")
    reason = _clean_reason(reason)
    _term_for_planning(db, term_id)
    with storage.transaction(db):
        team, challenge = _new_rule_targets(db, term_id, team_id, challenge_id)
        other = _rule(db, term_id, team_id, kind="lock")
        if other:
            raise IllegalTransition("assign.team_is_locked", "team locked elsewhere", team=team["name"])
        _seed_proposal(db, term_id)
        warnings = _capacity_check(db, term_id, team_id, challenge, confirm_over_capacity)
        _insert_rule(db, actor, term_id, team_id, challenge_id, "lock", reason)
        left = _place(db, actor, term_id, team_id, challenge_id, "lock", "assign.reason.locked")
        audit.record(db, actor, "pairing.lock", target_type="team", target_id=team_id, reason=reason,
                     detail={"term_id": term_id, "challenge_id": challenge_id, "from_challenge_id": left,
                             "over_capacity": bool(warnings)})
    return warnings


def ban(db: sqlite_utils.Database, actor: User, term_id: int, team_id: int, challenge_id: int,
        reason: str) -> list[dict]:
    """Forbid a pair for every later run; if the proposal has it, the team is taken off it."""
    authorize(actor, "pairing.manage")
    reason = _clean_reason(reason)
    _term_for_planning(db, term_id)
    with storage.transaction(db):
        team, challenge = _new_rule_targets(db, term_id, team_id, challenge_id)
        _insert_rule(db, actor, term_id, team_id, challenge_id, "ban", reason)
        _seed_proposal(db, term_id)
        warnings = []
        current = _proposed_for(db, term_id, team_id)
        if current and current["challenge_id"] == challenge_id:
            db.execute("DELETE FROM pairings WHERE id = ?", [current["id"]])
            warnings.append({"key": "assign.warning.ban_unpaired",
                             "params": {"team": team["name"], "challenge": challenge["title"]}})
        audit.record(db, actor, "pairing.ban", target_type="team", target_id=team_id, reason=reason,
                     detail={"term_id": term_id, "challenge_id": challenge_id, "unpaired": bool(warnings)})
    return warnings


def _new_rule_targets(db, term_id: int, team_id: int, challenge_id: int) -> tuple[dict, dict]:
    """The team and challenge of a new lock or ban; refused when the pair already has a rule."""
    team, challenge = _check_pair_targets(db, term_id, team_id, challenge_id)
    existing = _rule(db, term_id, team_id, challenge_id)
    if existing:
        raise IllegalTransition(RULE_EXISTS[existing["kind"]], "rule exists",
                                team=team["name"], challenge=challenge["title"])
    return team, challenge


def _insert_rule(db, actor: User, term_id: int, team_id: int, challenge_id: int, kind: str, reason: str) -> None:
    storage.insert(db, "pairing_rules", {
        "term_id": term_id, "team_id": team_id, "challenge_id": challenge_id, "kind": kind,
        "reason": reason, "created_by": actor.id or None, "created_at": storage.now_iso()})


def remove_rule(db: sqlite_utils.Database, actor: User, rule_id: int, reason: str) -> None:
    """Lift a lock or a ban (the proposal is unchanged until the next run)."""
    authorize(actor, "pairing.manage")
    reason = _clean_reason(reason)
    with storage.transaction(db):
        row = storage.one(db, "SELECT * FROM pairing_rules WHERE id = ?", [rule_id])
        if row is None:
            raise NotFound("error.not_found", f"rule {rule_id}")
        _term_for_planning(db, row["term_id"])
        db.execute("DELETE FROM pairing_rules WHERE id = ?", [rule_id])
        audit.record(db, actor, f"pairing.{row['kind']}_removed", target_type="team", target_id=row["team_id"],
                     reason=reason, detail={"term_id": row["term_id"], "challenge_id": row["challenge_id"]})


# --- Publishing ------------------------------------------------------------------------------

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
    authorize(actor, "pairing.view_all")
    old = {r["team_id"]: r["challenge_id"] for r in _pairing_rows(db, term_id, PUBLISHED_STATES)}
    proposed = _pairing_rows(db, term_id, ("proposed",))
    new = {r["team_id"]: r["challenge_id"] for r in proposed} if proposed else old
    return _described(db, _diff(old, new), old, new)


def publish(db: sqlite_utils.Database, actor: User, term_id: int) -> dict[str, Any]:
    """Publish the proposal (only while the term is in matching), all or nothing.

    Returns what changed against the last publication: ``added``, ``removed``, ``moved``
    (lists of ``{team_name, from_title, to_title, ...}``), ``unchanged`` (a count) and
    ``first`` (True for the term's first publication). Feedback entries are created for the
    new pairings of every existing round in the same transaction.
    """
    from .feedback import ensure_entries
    authorize(actor, "pairing.manage")
    with storage.transaction(db):
        require_state(get_term(db, term_id), "matching", "publish")
        proposed = _pairing_rows(db, term_id, ("proposed",))
        if not proposed:
            raise IllegalTransition("assign.nothing_to_publish", "no proposal", state="matching", move="publish")
        published = {r["team_id"]: r for r in _pairing_rows(db, term_id, PUBLISHED_STATES)}
        old = {t: r["challenge_id"] for t, r in published.items()}
        new = {r["team_id"]: r["challenge_id"] for r in proposed}
        changes = _diff(old, new)
        now = storage.now_iso()
        for row in proposed:
            if row["team_id"] in changes["unchanged"]:
                db.execute("DELETE FROM pairings WHERE id = ?", [row["id"]])  # keep the published row
            else:
                storage.update(db, "pairings", row["id"], {"state": "approved", "updated_at": now})
        for team_id in changes["removed"] + changes["moved"]:
            storage.update(db, "pairings", published[team_id]["id"], {"state": "withdrawn", "updated_at": now})
        first = storage.one(db, "SELECT id FROM publications WHERE term_id = ?", [term_id]) is None
        report = {**_described(db, changes, old, new), "first": first}
        storage.insert(db, "publications", {
            "term_id": term_id, "published_by": actor.id or None, "published_at": now,
            "pairs": sorted([t, c] for t, c in new.items()), "changes": report})
        ensure_entries(db, term_id)
        audit.record(db, actor, "pairing.publish", target_type="term", target_id=term_id,
                     detail={"pairs": len(new), "added": len(changes["added"]),
                             "removed": len(changes["removed"]), "moved": len(changes["moved"])})
        storage.bump_data_version(db)
    return report


def last_publication(db: sqlite_utils.Database, term_id: int) -> dict | None:
    row = storage.one(db, "SELECT * FROM publications WHERE term_id = ? ORDER BY id DESC LIMIT 1", [term_id])
    if row:
        row["changes"] = json.loads(row["changes"])
        row["pairs"] = json.loads(row["pairs"])
    return row


# --- Published pairings, seen from each side -------------------------------------------------

# What people see as their pairing: published, running, or (after the term closed) completed.
_PUBLISHED = "p.state IN ('approved', 'active', 'completed')"


def pairing_for_team(db: sqlite_utils.Database, actor: User, team_id: int) -> dict | None:
    """The team's published pairing with its challenge, department and SME, or None."""
    authorize(actor, "pairing.view_team", team_id=team_id)
    return storage.one(db, (
        "SELECT p.id AS pairing_id, p.state, c.id AS challenge_id, c.title, c.problem, c.outcomes, "
        "d.name_en AS department_en, d.name_fr AS department_fr, d.acronym, c.sme_name, c.sme_email "
        "FROM pairings p JOIN challenges c ON c.id = p.challenge_id "
        f"JOIN departments d ON d.id = c.department_id WHERE p.team_id = ? AND {_PUBLISHED} "
        "ORDER BY p.id DESC LIMIT 1"), [team_id])


def pairings_for_department(db: sqlite_utils.Database, actor: User, department_id: int) -> list[dict]:
    """Published pairings of the department's challenges, by challenge then team."""
    authorize(actor, "pairing.view_department", department_id=department_id)
    return list(db.query(
        "SELECT p.id AS pairing_id, p.state, t.id AS team_id, t.name AS team_name, "
        "c.id AS challenge_id, c.title AS challenge_title FROM pairings p "
        "JOIN challenges c ON c.id = p.challenge_id JOIN teams t ON t.id = p.team_id "
        f"WHERE c.department_id = ? AND {_PUBLISHED} ORDER BY c.title, t.name", [department_id]))


def pairings_for_expert(db: sqlite_utils.Database, actor: User) -> list[dict]:
    """Published pairings whose challenge names the actor's e-mail as its SME."""
    authorize(actor, "pairing.view_expert", user_id=actor.id)
    return list(db.query(
        "SELECT p.id AS pairing_id, p.state, t.id AS team_id, t.name AS team_name, "
        "c.id AS challenge_id, c.title AS challenge_title, c.problem, c.outcomes, d.acronym, "
        "d.name_en AS department_en, d.name_fr AS department_fr FROM pairings p "
        "JOIN challenges c ON c.id = p.challenge_id JOIN teams t ON t.id = p.team_id "
        "JOIN departments d ON d.id = c.department_id "
        f"WHERE c.sme_email = ? COLLATE NOCASE AND {_PUBLISHED} ORDER BY t.name", [actor.email]))


def published_pairings(db: sqlite_utils.Database, actor: User, term_id: int) -> list[dict]:
    """Every published pairing of the term (facilitators), for lists and exports."""
    authorize(actor, "pairing.view_all")
    return list(db.query(
        "SELECT p.id AS pairing_id, p.state, p.team_id, t.name AS team_name, p.challenge_id, "
        "c.title AS challenge_title, d.acronym, p.preference_rank, p.score, c.sme_name, c.sme_email "
        "FROM pairings p JOIN teams t ON t.id = p.team_id JOIN challenges c ON c.id = p.challenge_id "
        f"JOIN departments d ON d.id = c.department_id WHERE p.term_id = ? AND {_PUBLISHED} "
        "ORDER BY t.name", [term_id]))
