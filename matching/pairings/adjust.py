"""The facilitator's adjustments to a proposal: pair, unpair, lock, ban, and lifting a rule.

Each takes a required reason (kept in the audit log) and the plan version the facilitator saw,
and returns the :class:`Change` it made (the team, the challenge it left, the one it has now,
and any warnings), so the page can say exactly what moved. A *lock* (this team must take this
challenge) and a *ban* (never this pair) persist in ``pairing_rules``, so every re-run of the
optimiser honours them. A plain *pair* does not: the next run may move the team (the plan marks
such rows, and the run lists the manual pairs it replaced).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlite_utils

from .. import audit
from .. import db as storage
from .. import programmes
from ..errors import IllegalTransition, NotFound, ValidationFailed
from ..lifecycle import PAIRING_LIVE_STATES, PAIRING_PROPOSED, PROPOSED, states_sql
from ..models import User, text_problems
from ..permissions import SOME_PROGRAMME, authorize
from .inputs import _challenges, _rank_of, _similarity, _term_for_planning
from .proposal import (MANUAL, CapacityWarning, _pairing_rows, check_plan_version, has_proposal,
                       touch_plan)

REASON_MAX = 500
RULE_EXISTS = {"lock": "assign.already_locked", "ban": "assign.already_banned"}


@dataclass(frozen=True)
class Change:
    """What one adjustment did to one team.

    ``kind`` is ``pair``, ``unpair``, ``lock``, ``ban``, ``lock_removed`` or ``ban_removed``;
    ``challenge_title`` is the challenge the action named (the rule's, for locks and bans);
    ``from_title``/``to_title`` are the team's planned challenge before and after (None: none).
    """

    kind: str
    team_id: int
    team: str
    challenge_id: int | None = None
    challenge_title: str | None = None
    from_challenge_id: int | None = None
    from_title: str | None = None
    to_challenge_id: int | None = None
    to_title: str | None = None
    warnings: list[dict] = field(default_factory=list)

    @property
    def moved(self) -> bool:
        return self.from_challenge_id != self.to_challenge_id


def rules(db: sqlite_utils.Database, actor: User, term_id: int) -> list[dict]:
    """The term's locks and bans with team and challenge names, newest first."""
    authorize(actor, "pairing.view_all", programme_id=programmes.of_term(db, term_id))
    return list(db.query(
        "SELECT r.id, r.kind, r.team_id, t.name AS team_name, r.challenge_id, c.title AS challenge_title, "
        "r.reason, r.created_at FROM pairing_rules r JOIN teams t ON t.id = r.team_id "
        "JOIN challenges c ON c.id = r.challenge_id WHERE r.term_id = ? ORDER BY r.id DESC", [term_id]))


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": "validation.required"})
    if len(reason) > REASON_MAX:
        raise ValidationFailed({"reason": "validation.too_long"})
    if text_problems(multiline=True, reason=reason):
        raise ValidationFailed(text_problems(multiline=True, reason=reason))
    return reason


def _team(db, term_id: int, team_id: int) -> dict:
    team = storage.one(db, "SELECT id, name FROM teams WHERE id = ? AND term_id = ?", [team_id, term_id])
    if team is None:
        raise ValidationFailed({"team_id": "assign.unknown_team"})
    return team


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


def _title(db, challenge_id: int | None) -> str | None:
    """A challenge's title (whatever its state: a team may leave one that was since returned)."""
    if challenge_id is None:
        return None
    row = storage.one(db, "SELECT title FROM challenges WHERE id = ?", [challenge_id])
    return row["title"] if row else None


def _seed_proposal(db, term_id: int) -> None:
    """Start a proposal from the published pairings so an adjustment never loses them."""
    if has_proposal(db, term_id):
        return
    now = storage.now_iso()
    for p in _pairing_rows(db, term_id, PAIRING_LIVE_STATES):
        storage.insert(db, "pairings", {
            "term_id": term_id, "team_id": p["team_id"], "challenge_id": p["challenge_id"],
            "state": PROPOSED, "score": p["score"], "preference_rank": p["preference_rank"],
            "reason": p["reason"], "source": p["source"], "created_at": now, "updated_at": now})


def _proposed_for(db, term_id: int, team_id: int) -> dict | None:
    proposed, states = states_sql("state", PAIRING_PROPOSED)
    return storage.one(db, f"SELECT * FROM pairings WHERE term_id = ? AND team_id = ? AND {proposed}",
                       [term_id, team_id, *states])


def _planned_challenge(db, term_id: int, team_id: int) -> int | None:
    """The team's challenge in the plan (the proposal when there is one, else the published set)."""
    states = PAIRING_PROPOSED if has_proposal(db, term_id) else PAIRING_LIVE_STATES
    in_states, params = states_sql("state", states)
    row = storage.one(db, f"SELECT challenge_id FROM pairings WHERE term_id = ? AND team_id = ? AND {in_states}",
                      [term_id, team_id, *params])
    return row["challenge_id"] if row else None


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
    proposed, states = states_sql("state", PAIRING_PROPOSED)
    count = db.execute(f"SELECT COUNT(*) FROM pairings WHERE term_id = ? AND {proposed} "
                       "AND challenge_id = ? AND team_id != ?",
                       [term_id, *states, challenge["id"], team_id]).fetchone()[0]
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
        "term_id": term_id, "team_id": team_id, "challenge_id": challenge_id, "state": PROPOSED,
        "score": float(_similarity(db, actor, term_id, [team_id], [challenge_id])[0, 0]),
        "preference_rank": _rank_of(db, team_id, challenge_id), "reason": reason_key,
        "source": source, "created_at": now, "updated_at": now})
    return previous["challenge_id"] if previous else None


def _change(db, kind: str, team: dict, challenge: dict | None, before: int | None, after: int | None,
            warnings: list[dict] | None = None) -> Change:
    return Change(kind, team["id"], team["name"],
                  challenge["id"] if challenge else None, challenge["title"] if challenge else None,
                  before, _title(db, before), after, _title(db, after), list(warnings or []))


#: How each placing adjustment records its pair: the pairing's source and reason key.
PLACING = {"pair": (MANUAL, "assign.reason.manual"), "lock": ("lock", "assign.reason.locked")}


def _put(db: sqlite_utils.Database, actor: User, kind: str, term_id: int, team_id: int, challenge_id: int,
         reason: str, confirm_over_capacity: bool, expected_plan_version: int | None) -> Change:
    """Pair or lock: put the team on the challenge in the proposal (moving it from any other).

    A lock is also kept as a rule for every later run. Refused for a banned pair and for a team
    locked elsewhere (a lock: locked at all); over capacity raises :class:`CapacityWarning`
    unless confirmed.
    """
    authorize(actor, "pairing.manage", programme_id=programmes.of_term(db, term_id))
    reason = _clean_reason(reason)
    _term_for_planning(db, term_id)
    with storage.transaction(db):
        check_plan_version(db, term_id, expected_plan_version)
        if kind == "lock":
            team, challenge = _new_rule_targets(db, term_id, team_id, challenge_id)
        else:
            team, challenge = _check_pair_targets(db, term_id, team_id, challenge_id)
            if _rule(db, term_id, team_id, challenge_id, "ban"):
                raise IllegalTransition("assign.pair_banned", "banned pair", team=team["name"],
                                        challenge=challenge["title"])
        lock = _rule(db, term_id, team_id, kind="lock")
        if lock and (kind == "lock" or lock["challenge_id"] != challenge_id):
            raise IllegalTransition("assign.team_is_locked", "team locked elsewhere", team=team["name"])
        _seed_proposal(db, term_id)
        warnings = _capacity_check(db, term_id, team_id, challenge, confirm_over_capacity)
        if kind == "lock":
            _insert_rule(db, actor, term_id, team_id, challenge_id, "lock", reason)
        left = _place(db, actor, term_id, team_id, challenge_id, *PLACING[kind])
        touch_plan(db, term_id)
        audit.record(db, actor, f"pairing.{kind}", target_type="team", target_id=team_id, reason=reason,
                     detail={"term_id": term_id, "challenge_id": challenge_id, "from_challenge_id": left,
                             "over_capacity": bool(warnings)})
        return _change(db, kind, team, challenge, left, challenge_id, warnings)


def pair(db: sqlite_utils.Database, actor: User, term_id: int, team_id: int, challenge_id: int,
         reason: str, *, confirm_over_capacity: bool = False,
         expected_plan_version: int | None = None) -> Change:
    """Put a team on a challenge in the proposal (moving it from any other).

    Refused for a banned pair and for a team locked to another challenge (remove the lock
    first). Over capacity raises :class:`CapacityWarning` unless confirmed. The next run may
    move the team again: lock it to keep it.
    """
    return _put(db, actor, "pair", term_id, team_id, challenge_id, reason, confirm_over_capacity,
                expected_plan_version)


def lock(db: sqlite_utils.Database, actor: User, term_id: int, team_id: int, challenge_id: int,
         reason: str, *, confirm_over_capacity: bool = False,
         expected_plan_version: int | None = None) -> Change:
    """Lock a pair (kept by every re-run) and put it in the proposal now."""
    return _put(db, actor, "lock", term_id, team_id, challenge_id, reason, confirm_over_capacity,
                expected_plan_version)


def unpair(db: sqlite_utils.Database, actor: User, term_id: int, team_id: int, reason: str, *,
           expected_plan_version: int | None = None) -> Change:
    """Take a team off its proposed challenge (refused while the team is locked to it)."""
    authorize(actor, "pairing.manage", programme_id=programmes.of_term(db, term_id))
    reason = _clean_reason(reason)
    _term_for_planning(db, term_id)
    with storage.transaction(db):
        check_plan_version(db, term_id, expected_plan_version)
        team = _team(db, term_id, team_id)
        if _rule(db, term_id, team_id, kind="lock"):
            raise IllegalTransition("assign.team_is_locked", "team is locked", team=team["name"])
        _seed_proposal(db, term_id)
        current = _proposed_for(db, term_id, team_id)
        if current is None:
            raise IllegalTransition("assign.not_paired", "team has no pairing", team=team["name"])
        db.execute("DELETE FROM pairings WHERE id = ?", [current["id"]])
        touch_plan(db, term_id)
        audit.record(db, actor, "pairing.unpair", target_type="team", target_id=team_id, reason=reason,
                     detail={"term_id": term_id, "challenge_id": current["challenge_id"]})
        return _change(db, "unpair", team, None, current["challenge_id"], None)


def ban(db: sqlite_utils.Database, actor: User, term_id: int, team_id: int, challenge_id: int,
        reason: str, *, expected_plan_version: int | None = None) -> Change:
    """Forbid a pair for every later run; if the proposal has it, the team is taken off it."""
    authorize(actor, "pairing.manage", programme_id=programmes.of_term(db, term_id))
    reason = _clean_reason(reason)
    _term_for_planning(db, term_id)
    with storage.transaction(db):
        check_plan_version(db, term_id, expected_plan_version)
        team, challenge = _new_rule_targets(db, term_id, team_id, challenge_id)
        _insert_rule(db, actor, term_id, team_id, challenge_id, "ban", reason)
        _seed_proposal(db, term_id)
        current = _proposed_for(db, term_id, team_id)
        before = after = current["challenge_id"] if current else None
        if before == challenge_id:  # the change says so: from the banned challenge to none
            db.execute("DELETE FROM pairings WHERE id = ?", [current["id"]])
            after = None
        touch_plan(db, term_id)
        audit.record(db, actor, "pairing.ban", target_type="team", target_id=team_id, reason=reason,
                     detail={"term_id": term_id, "challenge_id": challenge_id, "unpaired": before != after})
        return _change(db, "ban", team, challenge, before, after)


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


def remove_rule(db: sqlite_utils.Database, actor: User, rule_id: int, reason: str, *,
                expected_plan_version: int | None = None) -> Change:
    """Lift a lock or a ban (the proposal is unchanged until the next run)."""
    authorize(actor, "pairing.manage", programme_id=SOME_PROGRAMME)
    reason = _clean_reason(reason)
    with storage.transaction(db):
        row = storage.one(db, "SELECT * FROM pairing_rules WHERE id = ?", [rule_id])
        if row is None:
            raise NotFound("error.not_found", f"rule {rule_id}")
        authorize(actor, "pairing.manage", programme_id=programmes.of_term(db, row["term_id"]))
        _term_for_planning(db, row["term_id"])
        check_plan_version(db, row["term_id"], expected_plan_version)
        db.execute("DELETE FROM pairing_rules WHERE id = ?", [rule_id])
        touch_plan(db, row["term_id"])
        audit.record(db, actor, f"pairing.{row['kind']}_removed", target_type="team", target_id=row["team_id"],
                     reason=reason, detail={"term_id": row["term_id"], "challenge_id": row["challenge_id"]})
        team = storage.one(db, "SELECT id, name FROM teams WHERE id = ?", [row["team_id"]])
        planned = _planned_challenge(db, row["term_id"], row["team_id"])
        return _change(db, f"{row['kind']}_removed", team,
                       {"id": row["challenge_id"], "title": _title(db, row["challenge_id"])}, planned, planned)
