"""The optimiser's proposal of a term and the plan the facilitator works on.

The **plan version** of a term (``terms.plan_version``) counts every change to its proposal
(a run, an adjustment, a publication). A page carries the number it showed; a change made
over a newer plan is refused with :class:`~matching.errors.StaleRecord`, so a facilitator
never adjusts or publishes a plan they have not seen.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from .. import audit
from .. import db as storage
from .. import programmes
from ..assignment import InfeasibleLocks, TeamOutcome, assign, summarise
from ..errors import PortalError, StaleRecord
from ..lifecycle import PAIRING_LIVE_STATES, PAIRING_PROPOSED, PROPOSED, states_sql
from ..models import User
from ..permissions import authorize
from .inputs import _challenges, _preferences, _rules, _similarity, _teams, _term_for_planning


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
    plan_version: int = 1
    last_run_at: str | None = None   # when the optimiser last ran for the term (None: never)

    @property
    def matched(self) -> list[dict]:
        return [r for r in self.rows if r["challenge_id"] is not None]

    @property
    def unmatched(self) -> list[dict]:
        return [r for r in self.rows if r["challenge_id"] is None]


# --- The plan version ------------------------------------------------------------------------

def plan_version(db: sqlite_utils.Database, term_id: int) -> int:
    row = storage.one(db, "SELECT plan_version FROM terms WHERE id = ?", [term_id])
    return row["plan_version"] if row else 0


def check_plan_version(db: sqlite_utils.Database, term_id: int, expected: int | None) -> None:
    """Refuse a change made over a plan newer than the one the facilitator saw."""
    current = plan_version(db, term_id)
    if expected is not None and int(expected) != current:
        raise StaleRecord({"term_id": term_id, "plan_version": current})


def touch_plan(db: sqlite_utils.Database, term_id: int) -> None:
    db.execute("UPDATE terms SET plan_version = plan_version + 1 WHERE id = ?", [term_id])


# --- Running the optimiser -------------------------------------------------------------------

#: The source of a pair a facilitator placed by hand (``pair``); a run replaces it unless locked.
MANUAL = "manual"

#: Times a run is computed again when the locks or bans changed while it was computed.
RULE_CHANGE_RETRIES = 1


def run_assignment(db: sqlite_utils.Database, actor: User, term_id: int, *,
                   expected_plan_version: int | None = None) -> RunResult:
    """Run the optimiser on the term's teams and approved challenges; store it as the proposal.

    Preferences, locks and bans come from the database; the previous proposal is replaced (the
    published pairings are untouched until :func:`publish`). Raises :class:`LockProblems` when
    the locks cannot all be honoured, naming each problem.

    The optimiser runs outside the write transaction (it may take a while); inside it the locks
    and bans are read again, and when another facilitator changed them meanwhile the run is
    computed again with them (once), then refused with :class:`StaleRecord`: a proposal never
    ignores a rule that was in force when it was stored.
    """
    authorize(actor, "pairing.manage", programme_id=programmes.of_term(db, term_id))
    _term_for_planning(db, term_id)
    for attempt in range(RULE_CHANGE_RETRIES + 1):
        run = _compute(db, actor, term_id)
        with storage.transaction(db):
            _term_for_planning(db, term_id)  # again: the term may have moved on meanwhile
            check_plan_version(db, term_id, expected_plan_version)
            if (_rules(db, term_id, "lock"), _rules(db, term_id, "ban")) == (run["locks"], run["bans"]):
                warnings = _store(db, actor, term_id, run)
                break
        # The rules changed since they were read: nothing was written.
        if attempt == RULE_CHANGE_RETRIES:
            raise StaleRecord({"term_id": term_id, "plan_version": plan_version(db, term_id),
                               "rules_changed": True})
    return plan(db, actor, term_id, warnings=warnings)


def _compute(db, actor: User, term_id: int) -> dict[str, Any]:
    """The optimiser's outcome from the term's current data, with the rules it honoured."""
    teams, challenges = _teams(db, term_id), _challenges(db, term_id)
    team_ids, challenge_ids = list(teams), list(challenges)
    locks, bans = _rules(db, term_id, "lock"), _rules(db, term_id, "ban")
    capacities, warnings = _capacities_with_locks(challenges, locks)
    try:
        result = assign(team_ids, challenge_ids, _similarity(db, actor, term_id, team_ids, challenge_ids),
                        capacities, preferences=_preferences(db, set(team_ids)), locks=locks, bans=bans)
    except InfeasibleLocks as err:
        raise LockProblems([(key, _names(detail, teams, challenges)) for key, detail in err.problems]) from None
    return {"teams": teams, "locks": locks, "bans": bans, "warnings": warnings, "result": result}


def _store(db, actor: User, term_id: int, run: dict[str, Any]) -> list[dict]:
    """Replace the term's proposal with ``run`` (inside the caller's write transaction); return
    the run's warnings, which name every manual pair (not locked) that the run replaced."""
    result, teams = run["result"], run["teams"]
    replaced = _replaced_manual_pairs(db, term_id, result.outcomes)
    warnings = run["warnings"] + [
        {"key": "assign.warning.manual_replaced" if r["to_challenge_id"] else "assign.warning.manual_unmatched",
         "params": r} for r in replaced]
    proposed, states = states_sql("state", PAIRING_PROPOSED)
    db.execute(f"DELETE FROM pairings WHERE term_id = ? AND {proposed}", [term_id, *states])
    now = storage.now_iso()
    for o in result.outcomes:
        if o.challenge_id is not None:
            storage.insert(db, "pairings", {
                "term_id": term_id, "team_id": o.team_id, "challenge_id": o.challenge_id,
                "state": PROPOSED, "score": o.score, "preference_rank": o.preference_rank,
                "reason": o.reason, "source": "lock" if o.locked else "optimiser",
                "created_at": now, "updated_at": now})
    unmatched = {str(o.team_id): o.reason for o in result.outcomes if o.challenge_id is None}
    summary = _summary_dict(result.summary, teams)
    storage.insert(db, "assignment_runs", {
        "term_id": term_id, "run_by": actor.id or None, "run_at": now, "summary": summary,
        "unmatched": unmatched, "warnings": warnings})
    touch_plan(db, term_id)
    audit.record(db, actor, "pairing.run", target_type="term", target_id=term_id,
                 detail={**summary, "locks": len(run["locks"]), "bans": len(run["bans"]),
                         "replaced_manual": [{"team_id": r["team_id"], "from_challenge_id": r["from_challenge_id"],
                                              "to_challenge_id": r["to_challenge_id"]} for r in replaced]})
    return warnings


def _replaced_manual_pairs(db, term_id: int, outcomes) -> list[dict]:
    """The plan's manual pairs (placed by a facilitator, not locked) that these outcomes change:
    team, the challenge it had, the one it gets (empty: none)."""
    new = {o.team_id: o.challenge_id for o in outcomes}
    replaced = []
    for p in _plan_rows(db, term_id):
        if p["source"] == MANUAL and new.get(p["team_id"]) != p["challenge_id"]:
            to = new.get(p["team_id"])
            replaced.append({"team_id": p["team_id"], "team": _name(db, "teams", "name", p["team_id"]),
                             "from_challenge_id": p["challenge_id"],
                             "from_title": _name(db, "challenges", "title", p["challenge_id"]),
                             "to_challenge_id": to, "to_title": _name(db, "challenges", "title", to)})
    return replaced


def _name(db, table: str, column: str, row_id: int | None) -> str:
    row = storage.one(db, f"SELECT {column} FROM {table} WHERE id = ?", [row_id]) if row_id is not None else None
    return row[column] if row else ""


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
    in_states, params = states_sql("state", states)
    return list(db.query(f"SELECT * FROM pairings WHERE term_id = ? AND {in_states} ORDER BY id",
                         [term_id, *params]))


def _plan_rows(db, term_id: int) -> list[dict]:
    """The pairings the plan shows: the proposal when there is one, else the published set."""
    return _pairing_rows(db, term_id, PAIRING_PROPOSED) or _pairing_rows(db, term_id, PAIRING_LIVE_STATES)


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
    ``score``, ``reason`` (a message key), ``locked``, ``state``, ``source`` and ``manual``
    (placed by a facilitator and not locked: the next run may move it).
    """
    authorize(actor, "pairing.view_all", programme_id=programmes.of_term(db, term_id))
    teams, challenges = _teams(db, term_id), _challenges(db, term_id)
    rows = _plan_rows(db, term_id)
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
               "source": p["source"] if p else None,
               "state": p["state"] if p else None, "pairing_id": p["id"] if p else None}
        # Placed by hand and not locked: the next run may move it (the page marks the row).
        row["manual"] = row["source"] == MANUAL and not row["locked"]
        out.append(row)
        outcomes.append(TeamOutcome(tid, row["challenge_id"], row["preference_rank"],
                                    row["score"], row["locked"], row["reason"]))
    summary = _summary_dict(summarise(outcomes), teams)
    summary["n_with_preferences"] = len(_preferences(db, set(teams)))
    all_warnings = list(warnings if warnings is not None else (run["warnings"] if run else []))
    all_warnings += _over_capacity(out, challenges)
    return RunResult(term_id, out, summary, all_warnings, plan_version(db, term_id),
                     run["run_at"] if run else None)


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
    return bool(_pairing_rows(db, term_id, PAIRING_PROPOSED))


