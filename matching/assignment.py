"""Assignment optimiser: pair every team with at most one challenge.

This module is pure: it works on ids and arrays only (no database, no Streamlit). The caller
passes team ids, challenge ids, a similarity matrix, capacities, preferences, locks and bans,
and receives one :class:`TeamOutcome` per team plus a :class:`Summary`.

Hard constraints
----------------
* every team gets at most one challenge; a challenge never gets more teams than its capacity;
* every lock ``(team, challenge)`` is honoured (an impossible set of locks raises
  :class:`InfeasibleLocks`, listing every problem);
* no banned pair ``(team, challenge)`` is ever made.

Objective
---------
Among all matchings that satisfy the hard constraints, :func:`assign` returns one that is best
*lexicographically* on four tiers, each tier only breaking ties of the tiers before it:

1. **matched** -- the number of matched teams is as large as possible;
2. **ranked** -- among those, the number of teams given one of their ranked challenges is as
   large as possible ("an unranked challenge only when nothing ranked fits");
3. **preference points** -- among those, the sum over matched teams of
   ``Weights.rank_points[r - 1]`` for a team given its ``r``-th choice (0 for an unranked
   challenge), plus ``Weights.similarity * similarity`` (0 by default) is as large as possible;
4. **similarity** -- among those, the total similarity of the pairs is as large as possible.

Remaining ties are broken deterministically: the problem is solved in a canonical order (teams
and challenges sorted by id), so the result depends on the content of the input, never on its
order. If ``Weights.unranked_penalty`` is a number, tier 2 is dropped and an unranked challenge
scores ``-unranked_penalty`` points in tier 3 instead (a finite trade-off, no guarantee below).

Guarantees (default :class:`Weights`)
-------------------------------------
* No team is left unmatched if some matching of the hard constraints matches more teams.
* A team gets an unranked challenge (or none) only when no matching with as many matched teams
  gives it a ranked one without taking a ranked one away from another team. In particular, no
  team gets an unranked challenge if a ranked one could be given to it without leaving another
  team unmatched or making another team worse on preference: tier 3 points strictly decrease
  with the rank number, so the result is Pareto-optimal on preference ranks among matchings
  with the same numbers of matched and ranked teams.
* Compared with *any* other feasible matching -- e.g. the first-come greedy baseline's
  (``benchmarks/instances.py``) -- the result's :attr:`AssignmentResult.objective` is
  lexicographically at least as large. Hence: ``n_matched`` is never lower; when the other
  matching matches as many teams (always the case for the greedy baseline when no bans are
  given), ``any_choice_share`` is never lower; and when both counts are equal, the preference
  points are never lower.
* Not guaranteed: ``first_choice_share``, ``top3_share``, ``mean_similarity`` and
  ``worst_rank`` can each be worse than the greedy baseline's on some instances: first-come
  gives its first teams their first choices at the expense of later teams, tier 2 may trade a
  first choice for one more ranked team, the default points may trade one team's rank for
  another's first choice, and preferences outrank similarity. ``benchmarks/ASSIGNMENT.md`` and
  the tests show how often each holds on realistic instances.

Similarity enters the solver as an integer, in units of ``1 / AssignmentResult.
similarity_resolution`` (1e-9 for tens of teams, about 1e-7 at 1,000 and 1e-6 at 5,000 teams),
so that the four tiers are combined exactly in one float64 cost matrix: tier 4 is exact to that
resolution; tiers 1-3 are exact when the rank points and the unranked penalty are integers and
``Weights.similarity`` is 0 (the default), and exact to 1/1000 of a point otherwise.

Method
------
Locked teams are placed first (using up capacity); the free teams are then solved with
:func:`scipy.optimize.linear_sum_assignment` on a cost matrix with one column per remaining
capacity slot (banned pairs cost ``inf``). Tier 1 is structural: the maximum number of teams
that can be matched, ``k``, is ``min(teams, slots)`` without bans and is computed with
:func:`scipy.sparse.csgraph.maximum_flow` otherwise; when ``k`` is smaller than
``min(teams, slots)``, exactly enough zero-cost "unmatched" dummy rows or columns are added for
the solver to match ``k`` teams. Tiers 2-4 are combined into one integer-valued cost with weights large enough that a
lower tier can never outweigh one unit of a higher tier.

"Summary figures" and "at least as good"
----------------------------------------
Shares are fractions of *all* teams (0..1). For shares and ``mean_similarity`` higher is
better; for ``worst_rank`` a lower rank number is better and ``None`` (unranked or unmatched)
is worst. :meth:`Summary.at_least_as_good_as` checks all of them at once.
"""
from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

__all__ = [
    "Weights",
    "TeamOutcome",
    "Summary",
    "Objective",
    "AssignmentResult",
    "InfeasibleLocks",
    "assign",
    "summarise",
    "REASON_KEYS",
    "LOCK_PROBLEM_KEYS",
]

TeamId = Hashable
ChallengeId = Hashable

#: Message keys used in :attr:`TeamOutcome.reason` (the pages translate them).
REASON_KEYS = {
    "assign.reason.locked": "matched because a facilitator locked this pair",
    "assign.reason.first_choice": "matched with the team's first choice",
    "assign.reason.ranked_choice": "matched with one of the team's ranked choices (not the first)",
    "assign.reason.unranked_fallback": "none of the team's ranked challenges could be given; "
    "matched by similarity",
    "assign.reason.no_preferences": "the team ranked no challenge; matched by similarity",
    "assign.reason.no_capacity": "unmatched: every challenge this team may take is full",
    "assign.reason.all_banned": "unmatched: every challenge with capacity is banned for this team",
}

#: Message keys of :attr:`InfeasibleLocks.problems` entries.
LOCK_PROBLEM_KEYS = (
    "assign.lock.unknown_team",
    "assign.lock.unknown_challenge",
    "assign.lock.team_locked_twice",
    "assign.lock.banned",
    "assign.lock.over_capacity",
)

#: Largest integer magnitude used in a cost entry (exact in float64 with ample headroom for the
#: solver's potentials, which stay within a small multiple of the cost range).
_COST_LIMIT = 2**48
_MAX_SIM_RESOLUTION = 10**9


# --------------------------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Weights:
    """How preference ranks and similarity are valued (see the module docstring's tiers).

    Parameters
    ----------
    rank_points : tuple of float, default ``(16, 8, 4, 2, 1)``
        Tier-3 points for a team's 1st, 2nd, ... choice. Must be positive and strictly
        decreasing (so any improvement in rank is an improvement in points); its length is the
        longest preference list accepted. The default halves the points at each rank, so a
        first choice counts most: one more first choice (16) outweighs moving any other team
        down by one rank (at most 8 points lost), and "1st + 3rd" (20) beats "2nd + 2nd" (16).
    similarity : float, default 0.0
        Tier-3 points per unit of similarity, added to the rank points. At 0, similarity only
        breaks ties (tier 4); a positive value lets similarity trade against preference rank
        inside tier 3 (never against tiers 1-2).
    unranked_penalty : float or None, default None
        ``None``: lexicographic -- maximising the number of teams given a ranked challenge is
        its own tier (2), above any points. A number ``p >= 0``: tier 2 is dropped and an
        unranked challenge scores ``-p`` points in tier 3, so a large enough ranked gain for
        other teams can push a team onto an unranked challenge.
    """

    rank_points: tuple[float, ...] = (16, 8, 4, 2, 1)
    similarity: float = 0.0
    unranked_penalty: float | None = None

    def __post_init__(self) -> None:
        pts = tuple(float(p) for p in self.rank_points)
        if not pts:
            raise ValueError("Weights.rank_points must list at least one value")
        if any(not math.isfinite(p) or p <= 0 for p in pts):
            raise ValueError("Weights.rank_points must be positive finite numbers")
        if any(a <= b for a, b in zip(pts, pts[1:])):
            raise ValueError("Weights.rank_points must be strictly decreasing")
        if not math.isfinite(self.similarity) or self.similarity < 0:
            raise ValueError("Weights.similarity must be a finite number >= 0")
        if self.unranked_penalty is not None and (
            not math.isfinite(self.unranked_penalty) or self.unranked_penalty < 0
        ):
            raise ValueError("Weights.unranked_penalty must be None or a finite number >= 0")
        object.__setattr__(self, "rank_points", tuple(self.rank_points))


@dataclass(frozen=True)
class TeamOutcome:
    """What one team got.

    Attributes
    ----------
    team_id : hashable
    challenge_id : hashable or None
        ``None`` if the team is unmatched.
    preference_rank : int or None
        1 for the team's first choice, ...; ``None`` if the challenge is unranked or the team is
        unmatched.
    score : float or None
        The pair's similarity (``similarity[team, challenge]``), ``None`` if unmatched.
    locked : bool
        The pair came from a lock.
    reason : str
        A message key from :data:`REASON_KEYS` saying how the team was matched or why not.
    """

    team_id: Any
    challenge_id: Any
    preference_rank: int | None
    score: float | None
    locked: bool
    reason: str


@dataclass(frozen=True)
class Summary:
    """Figures to compare two results (see :meth:`at_least_as_good_as`).

    Attributes
    ----------
    n_teams, n_matched : int
    first_choice_share, top3_share, any_choice_share : float
        Fraction of *all* teams (0..1) given their 1st choice / a top-3 choice / any ranked
        choice. 0.0 when there are no teams.
    mean_similarity : float
        Mean similarity over *matched* teams (0.0 when none is matched).
    worst_rank : int or None
        The preference rank achieved by the worst-off team; ``None`` means some team is
        unranked or unmatched (the worst possible).
    worst_off_team_id : hashable or None
        That team (an unmatched team before an unranked one, then the first in input order);
        ``None`` when there are no teams.
    """

    n_teams: int
    n_matched: int
    first_choice_share: float
    top3_share: float
    any_choice_share: float
    mean_similarity: float
    worst_rank: int | None
    worst_off_team_id: Any

    def at_least_as_good_as(self, other: Summary, *, tol: float = 1e-12) -> bool:
        """True if every figure is at least as good as ``other``'s.

        Higher is better for ``n_matched``, the shares and ``mean_similarity``; for
        ``worst_rank`` a lower rank number is better and ``None`` is worst.
        """
        return all(v >= 0 for v in self.compare(other, tol=tol).values())

    def compare(self, other: Summary, *, tol: float = 1e-12) -> dict[str, int]:
        """Per figure: +1 if ``self`` is better, 0 if equal (within ``tol``), -1 if worse."""

        def cmp(a: float, b: float) -> int:
            if abs(a - b) <= tol:
                return 0
            return 1 if a > b else -1

        wr = lambda r: math.inf if r is None else r  # noqa: E731
        return {
            "n_matched": cmp(self.n_matched, other.n_matched),
            "first_choice_share": cmp(self.first_choice_share, other.first_choice_share),
            "top3_share": cmp(self.top3_share, other.top3_share),
            "any_choice_share": cmp(self.any_choice_share, other.any_choice_share),
            "mean_similarity": cmp(self.mean_similarity, other.mean_similarity),
            "worst_rank": 0 if wr(self.worst_rank) == wr(other.worst_rank)
            else (1 if wr(self.worst_rank) < wr(other.worst_rank) else -1),
        }


class Objective(NamedTuple):
    """The four tiers of the documented objective, compared lexicographically."""

    n_matched: int
    n_ranked: int
    preference_points: float
    similarity: float


@dataclass(frozen=True)
class AssignmentResult:
    """Result of :func:`assign` (or of the greedy baseline in ``benchmarks/instances.py``).

    Attributes
    ----------
    outcomes : list of TeamOutcome
        One per team, in input order.
    summary : Summary
    objective : Objective
        The documented objective's tiers for this matching (under the weights passed).
    similarity_resolution : int
        Similarity was compared in units of ``1 / similarity_resolution`` in tier 4 (0 for the
        greedy baseline, which does not optimise).
    """

    outcomes: list[TeamOutcome]
    summary: Summary
    objective: Objective = Objective(0, 0, 0.0, 0.0)
    similarity_resolution: int = 0

    def pairs(self) -> dict[Any, Any]:
        """Map each matched team id to its challenge id (input order)."""
        return {o.team_id: o.challenge_id for o in self.outcomes if o.challenge_id is not None}


class InfeasibleLocks(ValueError):
    """The locks cannot all be honoured.

    Attributes
    ----------
    key : str
        ``"assign.infeasible_locks"``.
    problems : list of (str, dict)
        Every problem found: a message key from :data:`LOCK_PROBLEM_KEYS` and its details
        (``team_id``, ``challenge_id``, ``challenge_ids``, ``capacity``, ``team_ids``).
    params : dict
        ``{"count": len(problems)}`` for translating :attr:`key`.
    """

    key = "assign.infeasible_locks"

    def __init__(self, problems: list[tuple[str, dict]]):
        self.problems = list(problems)
        self.params = {"count": len(self.problems)}
        lines = [_describe_lock_problem(k, d) for k, d in self.problems]
        super().__init__(
            f"{len(lines)} lock problem(s): " + "; ".join(lines) if lines else "infeasible locks"
        )


def _describe_lock_problem(key: str, d: dict) -> str:
    if key == "assign.lock.unknown_team":
        return f"lock ({d['team_id']!r}, {d['challenge_id']!r}) names an unknown team"
    if key == "assign.lock.unknown_challenge":
        return f"lock ({d['team_id']!r}, {d['challenge_id']!r}) names an unknown challenge"
    if key == "assign.lock.team_locked_twice":
        return (f"team {d['team_id']!r} is locked to more than one challenge: "
                + ", ".join(repr(c) for c in d["challenge_ids"]))
    if key == "assign.lock.banned":
        return f"team {d['team_id']!r} is both locked to and banned from {d['challenge_id']!r}"
    if key == "assign.lock.over_capacity":
        return (f"challenge {d['challenge_id']!r} has capacity {d['capacity']} but "
                f"{len(d['team_ids'])} teams are locked to it: "
                + ", ".join(repr(t) for t in d["team_ids"]))
    return f"{key}: {d}"  # pragma: no cover


# --------------------------------------------------------------------------------------------
# Input normalisation
# --------------------------------------------------------------------------------------------
def _canonical_order(ids: Sequence) -> list[int]:
    """Positions of ``ids`` sorted by id (a content-only order for deterministic ties)."""
    idx = list(range(len(ids)))
    try:
        return sorted(idx, key=lambda i: (type(ids[i]).__name__, ids[i]))
    except TypeError:
        return sorted(idx, key=lambda i: (type(ids[i]).__name__, repr(ids[i])))


@dataclass
class _Problem:
    team_ids: list
    challenge_ids: list
    sim: np.ndarray           # (n, m) float64 in [0, 1]
    cap: np.ndarray           # (m,) int64
    rank: np.ndarray          # (n, m) int16, 0 = unranked
    has_prefs: np.ndarray     # (n,) bool: team ranked at least one known challenge
    banned: np.ndarray        # (n, m) bool
    locks: dict[int, int] = field(default_factory=dict)  # team pos -> challenge pos


def _prepare(team_ids, challenge_ids, similarity, capacities, preferences, locks, bans,
             max_rank: int) -> _Problem:
    team_ids = list(team_ids)
    challenge_ids = list(challenge_ids)
    n, m = len(team_ids), len(challenge_ids)
    t_index = {t: i for i, t in enumerate(team_ids)}
    c_index = {c: j for j, c in enumerate(challenge_ids)}
    if len(t_index) != n:
        raise ValueError("team_ids contains duplicates")
    if len(c_index) != m:
        raise ValueError("challenge_ids contains duplicates")
    sim = np.asarray(similarity, dtype=np.float64)
    if sim.size == 0 and (n == 0 or m == 0):
        sim = np.zeros((n, m))
    if sim.shape != (n, m):
        raise ValueError(f"similarity has shape {sim.shape}, expected ({n}, {m})")
    if not np.all(np.isfinite(sim)):
        raise ValueError("similarity contains NaN or infinite values")
    if sim.size and (sim.min() < -1e-9 or sim.max() > 1 + 1e-9):
        raise ValueError("similarity values must lie in [0, 1]")
    sim = np.clip(sim, 0.0, 1.0)
    cap = np.asarray(list(capacities), dtype=np.int64).reshape(-1)
    if cap.shape != (m,):
        raise ValueError(f"capacities has {cap.size} values, expected {m}")
    if np.any(cap < 0):
        raise ValueError("capacities must be >= 0")

    rank = np.zeros((n, m), dtype=np.int16)
    has_prefs = np.zeros(n, dtype=bool)
    for t, prefs in (preferences or {}).items():
        i = t_index.get(t)
        if i is None:
            continue  # preferences of a team not in this run are ignored
        prefs = list(prefs)
        if len(prefs) > max_rank:
            raise ValueError(
                f"team {t!r} ranks {len(prefs)} challenges; at most {max_rank} are allowed")
        for r, c in enumerate(prefs, start=1):
            j = c_index.get(c)
            if j is None or rank[i, j]:
                continue  # unknown challenge (e.g. no longer approved) or a repeat
            rank[i, j] = r
            has_prefs[i] = True

    banned = np.zeros((n, m), dtype=bool)
    ban_set = set()
    for t, c in bans:
        ban_set.add((t, c))
        i, j = t_index.get(t), c_index.get(c)
        if i is not None and j is not None:
            banned[i, j] = True

    problems: list[tuple[str, dict]] = []
    lock_map: dict[int, list[int]] = {}
    seen_pairs = set()
    for t, c in locks:
        if (t, c) in seen_pairs:
            continue
        seen_pairs.add((t, c))
        i, j = t_index.get(t), c_index.get(c)
        if i is None:
            problems.append(("assign.lock.unknown_team", {"team_id": t, "challenge_id": c}))
        if j is None:
            problems.append(("assign.lock.unknown_challenge", {"team_id": t, "challenge_id": c}))
        if i is None or j is None:
            continue
        if banned[i, j]:
            problems.append(("assign.lock.banned", {"team_id": t, "challenge_id": c}))
        lock_map.setdefault(i, []).append(j)
    for i, js in lock_map.items():
        if len(js) > 1:
            problems.append(("assign.lock.team_locked_twice", {
                "team_id": team_ids[i], "challenge_ids": [challenge_ids[j] for j in js]}))
    per_challenge: dict[int, list[int]] = {}
    for i, js in lock_map.items():
        for j in js:
            per_challenge.setdefault(j, []).append(i)
    for j in sorted(per_challenge):
        teams = sorted(per_challenge[j])
        if len(teams) > cap[j]:
            problems.append(("assign.lock.over_capacity", {
                "challenge_id": challenge_ids[j], "capacity": int(cap[j]),
                "team_ids": [team_ids[i] for i in teams]}))
    if problems:
        raise InfeasibleLocks(problems)
    return _Problem(team_ids, challenge_ids, sim, cap, rank, has_prefs, banned,
                    {i: js[0] for i, js in lock_map.items()})


# --------------------------------------------------------------------------------------------
# Outcomes and summary
# --------------------------------------------------------------------------------------------
def _outcomes(p: _Problem, match: np.ndarray) -> list[TeamOutcome]:
    """Build outcomes from ``match`` (challenge position per team, -1 = unmatched)."""
    usable = p.cap > 0
    any_capacity = bool(usable.any())
    out = []
    for i, t in enumerate(p.team_ids):
        j = int(match[i])
        if j < 0:
            if any_capacity and not np.any(usable & ~p.banned[i]):
                reason = "assign.reason.all_banned"
            else:
                reason = "assign.reason.no_capacity"
            out.append(TeamOutcome(t, None, None, None, False, reason))
            continue
        r = int(p.rank[i, j]) or None
        locked = p.locks.get(i) == j
        if locked:
            reason = "assign.reason.locked"
        elif r == 1:
            reason = "assign.reason.first_choice"
        elif r is not None:
            reason = "assign.reason.ranked_choice"
        elif p.has_prefs[i]:
            reason = "assign.reason.unranked_fallback"
        else:
            reason = "assign.reason.no_preferences"
        out.append(TeamOutcome(t, p.challenge_ids[j], r, float(p.sim[i, j]), locked, reason))
    return out


def summarise(outcomes: Sequence[TeamOutcome]) -> Summary:
    """Compute the :class:`Summary` of a list of outcomes (e.g. after manual adjustments).

    Parameters
    ----------
    outcomes : sequence of TeamOutcome
        One per team, in the order that decides ties for ``worst_off_team_id``.

    Returns
    -------
    Summary
    """
    n = len(outcomes)
    matched = [o for o in outcomes if o.challenge_id is not None]
    ranks = [o.preference_rank for o in matched if o.preference_rank is not None]
    # A pairing recorded without a similarity (imported, or made before scores were kept) is
    # matched but does not count in the mean: np.mean over a None crashed the dashboard.
    scores = [o.score for o in matched if o.score is not None]
    share = (lambda k: k / n) if n else (lambda k: 0.0)
    worst_id, worst_key = None, None
    for o in outcomes:
        key = (2.0 if o.challenge_id is None else 1.0, 0.0) if o.preference_rank is None \
            else (0.0, float(o.preference_rank))
        if worst_key is None or key > worst_key:
            worst_id, worst_key = o.team_id, key
    if worst_key is None or worst_key[0] > 0:
        worst_rank = None
    else:
        worst_rank = int(worst_key[1])
    return Summary(
        n_teams=n,
        n_matched=len(matched),
        first_choice_share=share(sum(1 for r in ranks if r == 1)),
        top3_share=share(sum(1 for r in ranks if r <= 3)),
        any_choice_share=share(len(ranks)),
        mean_similarity=float(np.mean(scores)) if scores else 0.0,
        worst_rank=worst_rank,
        worst_off_team_id=worst_id,
    )


def _objective(p: _Problem, match: np.ndarray, w: Weights) -> Objective:
    pts = np.asarray(w.rank_points, dtype=np.float64)
    order = _canonical_order(p.team_ids)  # order-independent float sums
    n_matched = n_ranked = 0
    points = simsum = 0.0
    for i in order:
        j = int(match[i])
        if j < 0:
            continue
        n_matched += 1
        r = int(p.rank[i, j])
        s = float(p.sim[i, j])
        simsum += s
        if r:
            n_ranked += 1
            points += pts[r - 1]
        elif w.unranked_penalty is not None:
            points -= w.unranked_penalty
        points += w.similarity * s
    return Objective(n_matched, n_ranked, float(points), float(simsum))


# --------------------------------------------------------------------------------------------
# Optimiser
# --------------------------------------------------------------------------------------------
def _max_matching_size(allowed: np.ndarray, cap: np.ndarray) -> int:
    """Maximum number of teams (rows) matchable to columns with capacities ``cap``."""
    n, m = allowed.shape
    total = int(cap.sum())
    if n == 0 or total == 0:
        return 0
    if allowed.all():
        return min(n, total)
    rows, cols = np.nonzero(allowed)
    src, sink = 0, n + m + 1
    u = np.concatenate([np.zeros(n, np.int64), rows + 1, np.arange(m) + n + 1])
    v = np.concatenate([np.arange(n) + 1, cols + n + 1, np.full(m, sink)])
    c = np.concatenate([np.ones(n, np.int64), np.ones(rows.size, np.int64), cap])
    graph = csr_matrix((c.astype(np.int32), (u, v)), shape=(n + m + 2, n + m + 2))
    return int(maximum_flow(graph, src, sink).flow_value)


def _tier3_values(p: _Problem, rows: np.ndarray, w: Weights) -> tuple[np.ndarray, int]:
    """Integer tier-3 values for ``rows`` x all challenges (>= 0) and the scale used."""
    pts = np.asarray(w.rank_points, dtype=np.float64)
    exact = w.similarity == 0 and all(float(x).is_integer() for x in pts) and (
        w.unranked_penalty is None or float(w.unranked_penalty).is_integer())
    scale = 1 if exact else 1000
    rank = p.rank[rows]
    table = np.concatenate([[-(w.unranked_penalty or 0.0)], pts])  # index 0 = unranked
    v = table[rank] + w.similarity * p.sim[rows]
    v = np.rint(v * scale)
    v -= v.min() if v.size else 0.0
    return v, scale


def assign(team_ids: Sequence, challenge_ids: Sequence, similarity: np.ndarray,
           capacities: Sequence[int], *, preferences: Mapping[Any, Sequence] = {},  # noqa: B006
           locks: Iterable[tuple[Any, Any]] = (), bans: Iterable[tuple[Any, Any]] = (),
           weights: Weights = Weights()) -> AssignmentResult:
    """Pair teams with challenges, optimising the objective in the module docstring.

    Parameters
    ----------
    team_ids : sequence of hashable
        Distinct team ids; row order of ``similarity``.
    challenge_ids : sequence of hashable
        Distinct challenge ids; column order of ``similarity``.
    similarity : ndarray, shape (n_teams, n_challenges)
        Similarity scores in [0, 1].
    capacities : sequence of int
        Maximum number of teams per challenge (>= 0), in ``challenge_ids`` order.
    preferences : mapping team id -> sequence of challenge ids, optional
        Each team's ranked choices, first = 1st choice, at most ``len(weights.rank_points)``.
        Unknown team or challenge ids are ignored (a later choice keeps its own rank number);
        a repeated challenge counts at its first position. Teams without preferences are
        matched by similarity.
    locks : iterable of (team id, challenge id), optional
        Pairs that must be made.
    bans : iterable of (team id, challenge id), optional
        Pairs that must never be made (pairs with unknown ids are ignored).
    weights : Weights, optional

    Returns
    -------
    AssignmentResult
        Every team in input order, with its challenge, rank, similarity and a reason key.

    Raises
    ------
    InfeasibleLocks
        If the locks cannot all be honoured (every problem is listed).
    ValueError
        On malformed input (shapes, duplicate ids, similarity outside [0, 1], negative
        capacity, too many preferences).

    Examples
    --------
    >>> r = assign(["t1", "t2"], ["a", "b"], np.array([[0.9, 0.1], [0.8, 0.2]]), [1, 1],
    ...            preferences={"t1": ["b"], "t2": ["a"]})
    >>> r.pairs()
    {'t1': 'b', 't2': 'a'}
    """
    p = _prepare(team_ids, challenge_ids, similarity, capacities, preferences, locks, bans,
                 len(weights.rank_points))
    n, m = len(p.team_ids), len(p.challenge_ids)
    match = np.full(n, -1, dtype=np.int64)
    residual = p.cap.copy()
    for i, j in p.locks.items():
        match[i] = j
        residual[j] -= 1

    # Free teams and usable challenges, both in canonical (id-sorted) order.
    t_order = np.array(_canonical_order(p.team_ids), dtype=np.int64)
    free = t_order[match[t_order] < 0] if n else t_order
    c_order = np.array(_canonical_order(p.challenge_ids), dtype=np.int64)
    cols = c_order[residual[c_order] > 0] if m else c_order
    resolution = 0
    if free.size and cols.size:
        allowed = ~p.banned[np.ix_(free, cols)]
        caps = residual[cols]
        k = _max_matching_size(allowed, caps)
        n_free, n_slots = free.size, int(caps.sum())
        if k > 0:
            v3, _ = _tier3_values(p, free, weights)
            v3 = v3[:, cols]
            r3 = float(v3.max()) if v3.size else 0.0
            lexi = weights.unranked_penalty is None
            kk = min(n_free, n_slots)
            # Choose the largest similarity resolution q keeping every entry <= _COST_LIMIT:
            # u3 = kk*q + 1, u2 = kk*(r3*u3 + q) + 1, entry <= u2 + r3*u3 + q.
            q = _MAX_SIM_RESOLUTION
            while q > 1:
                u3 = kk * q + 1
                u2 = kk * (r3 * u3 + q) + 1 if lexi else 0
                if u2 + r3 * u3 + q <= _COST_LIMIT:
                    break
                q //= 10
            u3 = kk * q + 1
            u2 = kk * (r3 * u3 + q) + 1 if lexi else 0
            resolution = q
            value = v3 * float(u3) + np.rint(p.sim[np.ix_(free, cols)] * q)
            if lexi:
                value += (p.rank[np.ix_(free, cols)] > 0) * float(u2)
            cost = -value
            cost[~allowed] = np.inf
            cost = np.repeat(cost, caps, axis=1)          # one column per capacity slot
            slot_col = np.repeat(np.arange(cols.size), caps)
            if k < min(n_free, n_slots):                  # dummies make exactly k matches
                if n_free <= n_slots:
                    cost = np.hstack([cost, np.zeros((n_free, n_free - k))])
                else:
                    cost = np.vstack([cost, np.zeros((n_slots - k, n_slots))])
            rr, cc = linear_sum_assignment(cost)
            for a, b in zip(rr, cc):
                if a < n_free and b < n_slots and np.isfinite(cost[a, b]):
                    match[free[a]] = cols[slot_col[b]]
    outcomes = _outcomes(p, match)
    return AssignmentResult(outcomes, summarise(outcomes), _objective(p, match, weights),
                            resolution)
