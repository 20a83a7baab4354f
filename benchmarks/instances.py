"""Benchmark and test helpers for the assignment optimiser: seeded instances and a baseline.

Not part of the portal: :func:`random_instance` builds realistic inputs for
:func:`matching.assignment.assign`, and :func:`greedy_baseline` is the first-come yardstick it is
compared with (``benchmarks/assignment_speed.py``, ``benchmarks/ASSIGNMENT.md``, the tests).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from matching.assignment import AssignmentResult, Weights, _objective, _outcomes, _prepare, summarise

__all__ = ["greedy_baseline", "random_instance"]


def greedy_baseline(team_ids: Sequence, challenge_ids: Sequence, similarity: np.ndarray,
                    capacities: Sequence[int], *,
                    preferences: Mapping[Any, Sequence] = {},  # noqa: B006
                    locks: Iterable[tuple[Any, Any]] = (), bans: Iterable[tuple[Any, Any]] = (),
                    weights: Weights = Weights()) -> AssignmentResult:
    """First-come baseline: the yardstick :func:`assign` is compared with.

    Locked pairs are placed first. Then teams, in the given order, each take their
    highest-ranked non-banned challenge with room left, else the non-banned challenge with room
    and the highest similarity (ties: first in ``challenge_ids`` order), else stay unmatched.

    Parameters
    ----------
    team_ids, challenge_ids, similarity, capacities, preferences, locks, bans
        As for :func:`assign` (same validation, same :class:`InfeasibleLocks`).
    weights : Weights, optional
        Only used to fill :attr:`AssignmentResult.objective` for comparison.

    Returns
    -------
    AssignmentResult
    """
    p = _prepare(team_ids, challenge_ids, similarity, capacities, preferences, locks, bans,
                 len(weights.rank_points))
    n = len(p.team_ids)
    match = np.full(n, -1, dtype=np.int64)
    room = p.cap.copy()
    for i, j in p.locks.items():
        match[i] = j
        room[j] -= 1
    for i in range(n):
        if match[i] >= 0:
            continue
        ok = (room > 0) & ~p.banned[i]
        if not ok.any():
            continue
        ranked = np.nonzero(ok & (p.rank[i] > 0))[0]
        if ranked.size:
            j = int(ranked[np.argmin(p.rank[i, ranked])])
        else:
            cand = np.nonzero(ok)[0]
            j = int(cand[np.argmax(p.sim[i, cand])])
        match[i] = j
        room[j] -= 1
    outcomes = _outcomes(p, match)
    return AssignmentResult(outcomes, summarise(outcomes), _objective(p, match, weights), 0)


def random_instance(seed: int = 0, n_teams: int = 42, n_challenges: int = 34, *,
                    cap_range: tuple[int, int] = (1, 3), n_prefs: int = 5,
                    n_topics: int = 8, temperature: float = 0.08, popularity: float = 1.5,
                    pref_prob: float = 1.0) -> dict[str, Any]:
    """A realistic, seeded instance: keyword arguments for :func:`assign`.

    Teams and challenges get sparse topic mixtures (Dirichlet); similarity is their cosine,
    which is in [0, 1] and skewed low like TF-IDF cosines. Each team (with probability
    ``pref_prob``) ranks ``n_prefs`` distinct challenges drawn without replacement with
    probability proportional to ``exp(similarity / temperature + popularity * z_c)`` (Gumbel
    top-k, ``z_c`` a standard normal "buzz" per challenge), so choices lean towards high
    similarity and a few popular challenges are wanted by many teams.

    Parameters
    ----------
    seed : int
    n_teams, n_challenges : int
    cap_range : (int, int)
        Inclusive range of capacities.
    n_prefs : int
    n_topics : int
    temperature : float
    popularity : float
        Spread of the per-challenge buzz (0: choices depend on similarity only).
    pref_prob : float
        Probability that a team submitted preferences at all.

    Returns
    -------
    dict
        ``team_ids``, ``challenge_ids``, ``similarity``, ``capacities``, ``preferences``.
    """
    rng = np.random.default_rng(seed)
    topic_pop = rng.dirichlet(np.full(n_topics, 2.0)) * n_topics * 0.3
    teams = rng.dirichlet(topic_pop + 0.05, size=n_teams)
    chall = rng.dirichlet(topic_pop + 0.05, size=n_challenges)
    teams /= np.linalg.norm(teams, axis=1, keepdims=True)
    chall /= np.linalg.norm(chall, axis=1, keepdims=True)
    sim = teams @ chall.T
    sim = np.clip(sim * 0.8 + rng.uniform(0, 0.1, sim.shape), 0.0, 1.0)
    lo, hi = cap_range
    caps = rng.integers(lo, hi + 1, size=n_challenges)
    team_ids = [f"T{i:04d}" for i in range(n_teams)]
    challenge_ids = [f"C{j:04d}" for j in range(n_challenges)]
    buzz = rng.standard_normal(n_challenges) * popularity
    prefs = {}
    k = min(n_prefs, n_challenges)
    for i, t in enumerate(team_ids):
        if rng.random() >= pref_prob or k == 0:
            continue
        keys = sim[i] / temperature + buzz + rng.gumbel(size=n_challenges)
        prefs[t] = [challenge_ids[j] for j in np.argsort(-keys, kind="stable")[:k]]
    return {"team_ids": team_ids, "challenge_ids": challenge_ids, "similarity": sim,
            "capacities": [int(c) for c in caps], "preferences": prefs}
