"""Tests of the assignment optimiser (matching.assignment): constraints, objective, determinism,
comparison with the first-come greedy baseline, and property tests on random instances."""
from __future__ import annotations

import itertools
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.instances import greedy_baseline, random_instance
from matching.assignment import (
    LOCK_PROBLEM_KEYS,
    REASON_KEYS,
    AssignmentResult,
    InfeasibleLocks,
    Summary,
    TeamOutcome,
    Weights,
    assign,
    summarise,
)


ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def check_invariants(inst, result: AssignmentResult, locks=(), bans=()):
    """Hard constraints and outcome consistency, for any result."""
    team_ids, challenge_ids = inst["team_ids"], inst["challenge_ids"]
    sim, caps = np.asarray(inst["similarity"]), inst["capacities"]
    prefs = inst.get("preferences", {})
    cpos = {c: j for j, c in enumerate(challenge_ids)}
    assert [o.team_id for o in result.outcomes] == list(team_ids)  # every team, input order
    load = dict.fromkeys(challenge_ids, 0)
    banned = set(bans)
    for i, o in enumerate(result.outcomes):
        assert o.reason in REASON_KEYS
        if o.challenge_id is None:
            assert o.preference_rank is None and o.score is None and not o.locked
            assert o.reason in ("assign.reason.no_capacity", "assign.reason.all_banned")
            continue
        load[o.challenge_id] += 1
        assert (o.team_id, o.challenge_id) not in banned
        assert o.score == pytest.approx(sim[i, cpos[o.challenge_id]])
        ranked = list(prefs.get(o.team_id, []))
        expect_rank = ranked.index(o.challenge_id) + 1 if o.challenge_id in ranked else None
        assert o.preference_rank == expect_rank
    for j, c in enumerate(challenge_ids):
        assert load[c] <= caps[j]
    pairs = result.pairs()
    for t, c in locks:
        assert pairs.get(t) == c
    locked_pairs = set(locks)
    for o in result.outcomes:
        assert o.locked == ((o.team_id, o.challenge_id) in locked_pairs)
    assert result.summary == summarise(result.outcomes)


def no_simple_improvement(inst, result, locks=(), bans=()):
    """Necessary conditions of optimality that are cheap to check.

    * no unmatched team has a non-banned challenge with spare capacity (max matched);
    * no team is unranked/unmatched while one of its non-banned ranked challenges has room;
    * no two free teams would both be better off on preference by swapping challenges.
    """
    team_ids, challenge_ids, caps = inst["team_ids"], inst["challenge_ids"], inst["capacities"]
    prefs = inst.get("preferences", {})
    banned = set(bans)
    locked = {t for t, _ in locks}
    load = dict.fromkeys(challenge_ids, 0)
    for o in result.outcomes:
        if o.challenge_id is not None:
            load[o.challenge_id] += 1
    room = {c: caps[j] - load[c] for j, c in enumerate(challenge_ids)}

    def rank(t, c):
        lst = list(prefs.get(t, []))
        return lst.index(c) + 1 if c in lst else math.inf

    for o in result.outcomes:
        t = o.team_id
        if o.challenge_id is None:
            assert not any(room[c] > 0 and (t, c) not in banned for c in challenge_ids), t
        if o.preference_rank is None and t not in locked:
            for c in prefs.get(t, []):
                if c in room and (t, c) not in banned:
                    assert room[c] <= 0, (t, c)
    free = [o for o in result.outcomes if o.challenge_id is not None and o.team_id not in locked]
    for a, b in itertools.combinations(free, 2):
        if (a.team_id, b.challenge_id) in banned or (b.team_id, a.challenge_id) in banned:
            continue
        gain_a = rank(a.team_id, b.challenge_id) < rank(a.team_id, a.challenge_id)
        gain_b = rank(b.team_id, a.challenge_id) < rank(b.team_id, b.challenge_id)
        ok_a = rank(a.team_id, b.challenge_id) <= rank(a.team_id, a.challenge_id)
        ok_b = rank(b.team_id, a.challenge_id) <= rank(b.team_id, b.challenge_id)
        assert not ((gain_a and ok_b) or (gain_b and ok_a)), (a, b)


def lex_ge(a, b, sim_tol=1e-6):
    """Objective tuples: a >= b lexicographically (similarity compared with a tolerance)."""
    if (a.n_matched, a.n_ranked) != (b.n_matched, b.n_ranked):
        return (a.n_matched, a.n_ranked) > (b.n_matched, b.n_ranked)
    if not math.isclose(a.preference_points, b.preference_points, abs_tol=1e-9):
        return a.preference_points > b.preference_points
    return a.similarity >= b.similarity - sim_tol


# ------------------------------------------------------------------------------------------
# API and hand-made cases
# ------------------------------------------------------------------------------------------
def test_docstring_example_and_types():
    r = assign(["t1", "t2"], ["a", "b"], np.array([[0.9, 0.1], [0.8, 0.2]]), [1, 1],
               preferences={"t1": ["b"], "t2": ["a"]})
    assert r.pairs() == {"t1": "b", "t2": "a"}
    assert isinstance(r.outcomes[0], TeamOutcome) and isinstance(r.summary, Summary)
    assert r.outcomes[0].reason == "assign.reason.first_choice"
    assert r.summary.first_choice_share == 1.0 and r.summary.worst_rank == 1


def test_matching_does_not_import_streamlit():
    code = ("import sys, matching.assignment; "
            "assert 'streamlit' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_ranked_choice_beats_similarity_and_first_come():
    # A ranks X then Y; B ranks only X. First-come (A first) gives A X and B a fallback;
    # the optimiser gives both teams a ranked choice.
    ids, cids = ["A", "B"], ["X", "Y", "Z"]
    sim = np.array([[0.9, 0.5, 0.99], [0.2, 0.1, 0.95]])
    prefs = {"A": ["X", "Y"], "B": ["X"]}
    g = greedy_baseline(ids, cids, sim, [1, 1, 1], preferences=prefs)
    assert g.pairs() == {"A": "X", "B": "Z"}
    assert g.outcomes[1].reason == "assign.reason.unranked_fallback"
    r = assign(ids, cids, sim, [1, 1, 1], preferences=prefs)
    assert r.pairs() == {"A": "Y", "B": "X"}
    assert [o.preference_rank for o in r.outcomes] == [2, 1]
    assert r.outcomes[0].reason == "assign.reason.ranked_choice"
    assert r.summary.any_choice_share == 1.0 > g.summary.any_choice_share


def test_unranked_only_when_nothing_ranked_fits():
    # Every team that could get a ranked choice gets one; C's choices are full.
    ids, cids = ["A", "B", "C", "D"], ["X", "Y", "Z"]
    sim = np.array([[0.1, 0.9, 0.9], [0.1, 0.9, 0.9], [0.1, 0.9, 0.9], [0.9, 0.9, 0.9]])
    prefs = {"A": ["X"], "B": ["X", "Y"], "C": ["X", "Y"]}
    r = assign(ids, cids, sim, [1, 1, 2], preferences=prefs)
    by = {o.team_id: o for o in r.outcomes}
    assert by["A"].challenge_id == "X" and by["A"].preference_rank == 1
    assert {by["B"].challenge_id, by["C"].challenge_id} == {"Y", "Z"}
    assert sorted([by["B"].reason, by["C"].reason]) == [
        "assign.reason.ranked_choice", "assign.reason.unranked_fallback"]
    assert by["D"].challenge_id == "Z" and by["D"].reason == "assign.reason.no_preferences"
    assert r.summary.any_choice_share == pytest.approx(2 / 4)
    assert r.summary.worst_rank is None


def test_teams_without_preferences_matched_by_similarity():
    ids, cids = ["A", "B"], ["X", "Y"]
    sim = np.array([[0.2, 0.8], [0.7, 0.9]])
    r = assign(ids, cids, sim, [1, 1])
    # total similarity 0.7 + 0.8 beats 0.2 + 0.9
    assert r.pairs() == {"A": "Y", "B": "X"}
    assert all(o.reason == "assign.reason.no_preferences" for o in r.outcomes)


def test_similarity_breaks_ties_between_equal_preference_outcomes():
    ids, cids = ["A", "B"], ["X", "Y"]
    prefs = {"A": ["X", "Y"], "B": ["Y", "X"]}
    sim = np.array([[0.1, 0.9], [0.9, 0.1]])
    r = assign(ids, cids, sim, [1, 1], preferences=prefs)
    assert r.pairs() == {"A": "X", "B": "Y"}  # preferences first, even against similarity
    prefs = {"A": ["X", "Y"], "B": ["X", "Y"]}  # A-X,B-Y or A-Y,B-X: same points
    r = assign(ids, cids, sim, [1, 1], preferences=prefs)
    assert r.pairs() == {"A": "Y", "B": "X"}  # ... so the more similar pairing wins


def test_first_choice_counts_most():
    # Two teams want X first: one gets it, the other its second choice.
    ids, cids = ["A", "B"], ["X", "Y"]
    prefs = {"A": ["X", "Y"], "B": ["X", "Y"]}
    r = assign(ids, cids, np.zeros((2, 2)), [1, 1], preferences=prefs)
    assert sorted(o.preference_rank for o in r.outcomes) == [1, 2]
    # points: 1st + 3rd (16 + 4) beats 2nd + 2nd (8 + 8)
    ids, cids = ["A", "B"], ["X", "Y", "Z"]
    prefs = {"A": ["X", "Y", "Z"], "B": ["Y", "X", "Z"]}
    r = assign(ids, cids, np.zeros((2, 3)), [1, 1, 1], preferences=prefs)
    assert r.pairs() == {"A": "X", "B": "Y"}


def test_max_matched_before_preferences():
    # B may only take X (banned elsewhere); A can take X (1st) or Y (unranked).
    ids, cids = ["A", "B"], ["X", "Y"]
    r = assign(ids, cids, np.full((2, 2), 0.5), [1, 1], preferences={"A": ["X"]},
               bans=[("B", "Y")])
    assert r.pairs() == {"A": "Y", "B": "X"}
    assert r.summary.n_matched == 2


def test_locks_and_bans_honoured_and_reasons():
    ids, cids = ["A", "B", "C"], ["X", "Y"]
    sim = np.array([[0.9, 0.1], [0.9, 0.1], [0.9, 0.1]])
    r = assign(ids, cids, sim, [1, 1], preferences={"A": ["X"], "B": ["X"]},
               locks=[("B", "X")], bans=[("C", "Y")])
    by = {o.team_id: o for o in r.outcomes}
    assert by["B"].challenge_id == "X" and by["B"].locked
    assert by["B"].reason == "assign.reason.locked" and by["B"].preference_rank == 1
    assert by["A"].challenge_id == "Y" and by["A"].reason == "assign.reason.unranked_fallback"
    assert by["C"].challenge_id is None and by["C"].reason == "assign.reason.no_capacity"


def test_unmatched_reasons():
    ids, cids = ["A", "B"], ["X", "Y"]
    r = assign(ids, cids, np.ones((2, 2)), [1, 0], bans=[("A", "X")])
    by = {o.team_id: o for o in r.outcomes}
    assert by["A"].challenge_id is None and by["A"].reason == "assign.reason.all_banned"
    assert by["B"].challenge_id == "X"
    r = assign(ids, cids, np.ones((2, 2)), [0, 0])
    assert all(o.reason == "assign.reason.no_capacity" for o in r.outcomes)
    assert r.summary.n_matched == 0 and r.summary.worst_rank is None
    assert r.summary.mean_similarity == 0.0


def test_empty_inputs():
    r = assign([], [], np.zeros((0, 0)), [])
    assert r.outcomes == [] and r.summary.n_teams == 0 and r.summary.first_choice_share == 0.0
    assert r.summary.worst_off_team_id is None
    r = assign(["A"], [], np.zeros((1, 0)), [])
    assert r.outcomes[0].challenge_id is None


def test_infeasible_locks_list_every_problem():
    ids, cids = ["A", "B", "C"], ["X", "Y"]
    locks = [("A", "X"), ("A", "Y"), ("B", "Y"), ("C", "Y"), ("Z", "X"), ("B", "W"),
             ("C", "X")]
    with pytest.raises(InfeasibleLocks) as exc:
        assign(ids, cids, np.zeros((3, 2)), [1, 1], locks=locks, bans=[("C", "X")])
    err = exc.value
    assert isinstance(err, ValueError) and err.key == "assign.infeasible_locks"
    keys = sorted(k for k, _ in err.problems)
    assert keys == sorted([
        "assign.lock.unknown_team", "assign.lock.unknown_challenge",
        "assign.lock.banned", "assign.lock.team_locked_twice", "assign.lock.team_locked_twice",
        "assign.lock.over_capacity", "assign.lock.over_capacity"])
    assert all(k in LOCK_PROBLEM_KEYS for k in keys)
    over = [d for k, d in err.problems if k == "assign.lock.over_capacity"]
    assert {d["challenge_id"] for d in over} == {"X", "Y"}
    y = next(d for d in over if d["challenge_id"] == "Y")
    assert y["capacity"] == 1 and y["team_ids"] == ["A", "B", "C"]
    msg = str(err)
    for word in ("unknown team", "unknown challenge", "banned", "more than one", "capacity 1"):
        assert word in msg
    assert err.params == {"count": 7}
    with pytest.raises(InfeasibleLocks):  # the baseline validates the same way
        greedy_baseline(ids, cids, np.zeros((3, 2)), [1, 1], locks=[("A", "X"), ("B", "X")])


def test_duplicate_lock_is_fine_and_zero_capacity_lock_fails():
    r = assign(["A"], ["X"], np.zeros((1, 1)), [1], locks=[("A", "X"), ("A", "X")])
    assert r.pairs() == {"A": "X"}
    with pytest.raises(InfeasibleLocks) as exc:
        assign(["A"], ["X"], np.zeros((1, 1)), [0], locks=[("A", "X")])
    assert [k for k, _ in exc.value.problems] == ["assign.lock.over_capacity"]


@pytest.mark.parametrize("kwargs, match", [
    ({"similarity": np.zeros((2, 3))}, "shape"),
    ({"similarity": np.full((2, 2), 1.5)}, r"\[0, 1\]"),
    ({"similarity": np.full((2, 2), np.nan)}, "NaN"),
    ({"capacities": [1]}, "capacities"),
    ({"capacities": [1, -1]}, ">= 0"),
    ({"team_ids": ["A", "A"]}, "duplicates"),
    ({"preferences": {"A": ["X", "Y", "X", "Y", "X", "Y"]}}, "at most 5"),
])
def test_bad_input_raises_value_error(kwargs, match):
    args = {"team_ids": ["A", "B"], "challenge_ids": ["X", "Y"],
            "similarity": np.zeros((2, 2)), "capacities": [1, 1]}
    args.update(kwargs)
    prefs = args.pop("preferences", {})
    with pytest.raises(ValueError, match=match):
        assign(args["team_ids"], args["challenge_ids"], args["similarity"],
               args["capacities"], preferences=prefs)


def test_weights_validation_and_finite_penalty():
    for bad in ({"rank_points": ()}, {"rank_points": (1, 2)}, {"rank_points": (2, 0)},
                {"similarity": -1.0}, {"unranked_penalty": -1}):
        with pytest.raises(ValueError):
            Weights(**bad)
    # With a finite penalty, a big enough preference gain for others can outweigh it:
    # A: [X], B: [X, ...]; one slot each on X, Y. Lexicographic keeps both ranked if possible.
    ids, cids = ["A", "B"], ["X", "Y"]
    prefs = {"A": ["X"], "B": ["X", "Y"]}
    r = assign(ids, cids, np.zeros((2, 2)), [1, 1], preferences=prefs,
               weights=Weights(unranked_penalty=0))
    assert r.pairs() == {"A": "X", "B": "Y"}
    # similarity weight trades against rank inside tier 3
    sim = np.array([[0.0, 1.0], [1.0, 0.0]])
    prefs = {"A": ["X", "Y"], "B": ["Y", "X"]}
    r = assign(ids, cids, sim, [1, 1], preferences=prefs, weights=Weights(similarity=10.0))
    assert r.pairs() == {"A": "Y", "B": "X"}
    assert r.objective.preference_points == pytest.approx(8 + 8 + 20)


def test_unknown_and_repeated_preferences_are_ignored():
    r = assign(["A", "Q"], ["X", "Y"], np.zeros((2, 2)), [1, 1],
               preferences={"A": ["gone", "Y", "Y"], "nobody": ["X"]})
    by = {o.team_id: o for o in r.outcomes}
    assert by["A"].challenge_id == "Y" and by["A"].preference_rank == 2


def test_summary_comparison_semantics():
    base = Summary(10, 10, 0.5, 0.8, 0.9, 0.6, 3, "t")
    assert base.at_least_as_good_as(base)
    better_rank = Summary(10, 10, 0.5, 0.8, 0.9, 0.6, 2, "t")
    assert better_rank.at_least_as_good_as(base) and not base.at_least_as_good_as(better_rank)
    none_rank = Summary(10, 10, 0.5, 0.8, 0.9, 0.6, None, "t")
    assert base.at_least_as_good_as(none_rank) and not none_rank.at_least_as_good_as(base)
    lower_sim = Summary(10, 10, 0.6, 0.9, 1.0, 0.5, 1, "t")
    assert lower_sim.compare(base)["mean_similarity"] == -1
    assert not lower_sim.at_least_as_good_as(base)


# ------------------------------------------------------------------------------------------
# determinism
# ------------------------------------------------------------------------------------------
def test_rerun_identical_and_permutation_invariant():
    inst = random_instance(7, 30, 20)
    locks = [(inst["team_ids"][0], inst["challenge_ids"][3])]
    bans = [(inst["team_ids"][1], c) for c in inst["preferences"][inst["team_ids"][1]][:2]]
    r1 = assign(**inst, locks=locks, bans=bans)
    r2 = assign(**inst, locks=locks, bans=bans)
    assert r1 == r2
    rng = np.random.default_rng(3)
    tp = rng.permutation(len(inst["team_ids"]))
    cp = rng.permutation(len(inst["challenge_ids"]))
    perm = {
        "team_ids": [inst["team_ids"][i] for i in tp],
        "challenge_ids": [inst["challenge_ids"][j] for j in cp],
        "similarity": inst["similarity"][np.ix_(tp, cp)],
        "capacities": [inst["capacities"][j] for j in cp],
        "preferences": dict(reversed(list(inst["preferences"].items()))),
    }
    r3 = assign(**perm, locks=list(reversed(locks)), bans=list(reversed(bans)))
    assert r3.objective == r1.objective
    assert r3.pairs() == r1.pairs()  # ties broken by id, not by input order


# ------------------------------------------------------------------------------------------
# comparison with the greedy baseline on a realistic instance
# ------------------------------------------------------------------------------------------
def test_realistic_instance_beats_greedy_on_every_figure():
    inst = random_instance(42)  # 42 teams, 34 challenges, capacities 1-3, 5 ranked choices
    assert len(inst["team_ids"]) == 42 and len(inst["challenge_ids"]) == 34
    assert set(inst["capacities"]) <= {1, 2, 3}
    assert all(len(p) == 5 for p in inst["preferences"].values())
    a, g = assign(**inst), greedy_baseline(**inst)
    check_invariants(inst, a)
    check_invariants(inst, g)
    # Guaranteed (optimality of the documented objective):
    assert lex_ge(a.objective, g.objective)
    assert a.summary.n_matched >= g.summary.n_matched
    assert a.summary.any_choice_share >= g.summary.any_choice_share
    # Holds on this instance (not guaranteed in general, see the module docstring):
    cmp = a.summary.compare(g.summary)
    assert a.summary.at_least_as_good_as(g.summary), cmp
    assert cmp["first_choice_share"] == 1  # strictly more first choices than first-come


def test_many_seeds_guarantees_vs_greedy_in_several_orders():
    """Guaranteed figures on every seed and greedy order; the others only "almost always"."""
    not_worse = dict.fromkeys(["first_choice_share", "top3_share", "worst_rank"], 0)
    runs = 0
    for seed in range(12):
        inst = random_instance(seed)
        a = assign(**inst)
        check_invariants(inst, a)
        for order_seed in range(2):
            order = np.random.default_rng(order_seed).permutation(42)
            gi = dict(inst, team_ids=[inst["team_ids"][i] for i in order],
                      similarity=inst["similarity"][order])
            g = greedy_baseline(**gi)
            runs += 1
            assert lex_ge(a.objective, g.objective)
            assert a.summary.n_matched >= g.summary.n_matched
            assert a.summary.any_choice_share >= g.summary.any_choice_share
            cmp = a.summary.compare(g.summary)
            for k in not_worse:
                not_worse[k] += cmp[k] >= 0
    # Measured 23/24 for each (one seed trades a team's rank for more first choices);
    # mean_similarity is better in only about 14/24 and is not asserted.
    assert all(v >= runs - 3 for v in not_worse.values()), not_worse


# ------------------------------------------------------------------------------------------
# property tests
# ------------------------------------------------------------------------------------------
@st.composite
def instances(draw, max_teams=60, max_challenges=30):
    n = draw(st.integers(0, max_teams))
    m = draw(st.integers(0, max_challenges))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    team_ids = [f"t{i}" for i in range(n)]
    challenge_ids = list(range(100, 100 + m))  # ints: mixed id types across tests
    sim = rng.random((n, m)).round(draw(st.sampled_from([1, 2, 6])))  # coarse: many ties
    caps = [int(c) for c in rng.integers(0, 4, size=m)]
    prefs = {}
    for t in team_ids:
        if m and rng.random() < 0.8:
            k = int(rng.integers(0, min(5, m) + 1))
            prefs[t] = [challenge_ids[j] for j in rng.choice(m, size=k, replace=False)]
    bans = []
    if n and m:
        for _ in range(int(rng.integers(0, n * m // 4 + 1))):
            bans.append((team_ids[rng.integers(n)], challenge_ids[rng.integers(m)]))
    ban_set = set(bans)
    locks, room = [], list(caps)
    for i in rng.permutation(n)[: int(rng.integers(0, n // 3 + 1))] if n else []:
        ok = [j for j in range(m) if room[j] > 0 and (team_ids[i], challenge_ids[j]) not in ban_set]
        if ok:
            j = ok[int(rng.integers(len(ok)))]
            room[j] -= 1
            locks.append((team_ids[i], challenge_ids[j]))
    inst = {"team_ids": team_ids, "challenge_ids": challenge_ids, "similarity": sim,
            "capacities": caps, "preferences": prefs}
    return inst, locks, bans


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_property_invariants(case):
    inst, locks, bans = case
    a = assign(**inst, locks=locks, bans=bans)
    check_invariants(inst, a, locks, bans)
    no_simple_improvement(inst, a, locks, bans)
    g = greedy_baseline(**inst, locks=locks, bans=bans)
    check_invariants(inst, g, locks, bans)
    assert lex_ge(a.objective, g.objective)
    assert a.summary.n_matched >= g.summary.n_matched
    if a.summary.n_matched == g.summary.n_matched:
        assert a.summary.any_choice_share >= g.summary.any_choice_share
    assert assign(**inst, locks=locks, bans=bans) == a  # deterministic


def _brute_force_best(inst, locks, bans, w=Weights()):
    """Lexicographically best objective over every matching (tiny instances only)."""
    t, c = inst["team_ids"], inst["challenge_ids"]
    sim, caps, prefs = inst["similarity"], inst["capacities"], inst["preferences"]
    lock = dict(locks)
    banned = set(bans)
    options = []
    for i, team in enumerate(t):
        if team in lock:
            options.append([c.index(lock[team])])
        else:
            options.append([-1] + [j for j in range(len(c)) if (team, c[j]) not in banned])
    best = None
    for combo in itertools.product(*options):
        load = np.bincount([j for j in combo if j >= 0], minlength=len(c))
        if np.any(load > np.asarray(caps)):
            continue
        matched = ranked = 0
        pts = s = 0.0
        for i, j in enumerate(combo):
            if j < 0:
                continue
            matched += 1
            s += sim[i, j]
            pts += w.similarity * sim[i, j]
            lst = list(prefs.get(t[i], []))
            if c[j] in lst:
                ranked += 1
                pts += w.rank_points[lst.index(c[j])]
            elif w.unranked_penalty is not None:
                pts -= w.unranked_penalty
        if w.unranked_penalty is not None:
            ranked = 0  # tier 2 dropped
        key = (matched, ranked, pts, s)
        if best is None or key > best:
            best = key
    return best


@settings(max_examples=60, deadline=None)
@given(instances(max_teams=5, max_challenges=4))
def test_property_optimal_against_brute_force(case):
    inst, locks, bans = case
    a = assign(**inst, locks=locks, bans=bans)
    best = _brute_force_best(inst, locks, bans)
    got = a.objective
    assert (got.n_matched, got.n_ranked) == best[:2]
    assert got.preference_points == pytest.approx(best[2])
    assert got.similarity == pytest.approx(best[3], abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(instances(max_teams=5, max_challenges=4))
def test_property_weighted_variant_against_brute_force(case):
    """Finite unranked penalty and a similarity weight: tier 3 is exact to 1/1000 point."""
    inst, locks, bans = case
    w = Weights(rank_points=(5, 4, 3, 2, 1), similarity=2.5, unranked_penalty=3)
    a = assign(**inst, locks=locks, bans=bans, weights=w)
    best = _brute_force_best(inst, locks, bans, w)
    assert a.objective.n_matched == best[0]
    assert a.objective.preference_points == pytest.approx(best[2], abs=5e-3)


def test_summary_of_pairings_without_a_similarity():
    """Pairings recorded without a score (the demo's UVic term, imported pairings) are matched
    but left out of the mean similarity; the facilitator's dashboard crashed on them (issue 17)."""
    outcomes = [TeamOutcome(1, 10, 1, None, False, "assign.reason.manual"),
                TeamOutcome(2, 11, 2, 0.5, False, "assign.reason.manual"),
                TeamOutcome(3, None, None, None, False, "assign.reason.unpaired")]
    summary = summarise(outcomes)
    assert summary.n_matched == 2
    assert summary.mean_similarity == 0.5
    assert summarise(outcomes[:1]).mean_similarity == 0.0
