"""The lifecycle rules live in one module (matching/lifecycle.py), and nothing else spells them.

The grep-style test reads every Python file of the app (domain, pages, router) as a syntax tree
and fails on a collection literal (tuple, list, set, dict keys) or an SQL string that names two
or more lifecycle states: such a list belongs in ``matching.lifecycle`` and is asked from there.
A collection counts as a state list when at least two of its items, and at least half, are
state names (a record with an ``answered`` column among seven others is not a list of states).
Schema text (``CREATE``/``ALTER``: column defaults of shipped migrations) is not a state list.
The one exception is a presentation table (state -> icon, colour) that covers exactly one
lifecycle's states: it cannot silently miss a state, and the test checks that it covers all.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from matching import lifecycle

ROOT = Path(__file__).resolve().parents[1]
RULES_MODULE = ROOT / "matching" / "lifecycle.py"
LIFECYCLES = {"term": lifecycle.TERM_STATES, "challenge": lifecycle.CHALLENGE_STATES,
              "pairing": lifecycle.PAIRING_STATES, "feedback": lifecycle.FEEDBACK_STATUSES,
              "revision": lifecycle.REVISION_STATES, "outcome": lifecycle.OUTCOME_STATUSES,
              "outcome_report": lifecycle.OUTCOME_REPORT_STATUSES}
STATE_WORDS = {state for states in LIFECYCLES.values() for state in states}
SQL_QUOTED = re.compile(r"'([a-z_]+)'")


def app_files() -> list[Path]:
    files = sorted((ROOT / "matching").rglob("*.py")) + sorted((ROOT / "views").glob("*.py"))
    files += [ROOT / "app.py", ROOT / "ui.py"]
    return [f for f in files if f.exists() and f != RULES_MODULE]


def _states_in(nodes) -> list[str]:
    return [n.value for n in nodes if isinstance(n, ast.Constant) and n.value in STATE_WORDS]


def _is_complete_presentation_table(keys: list[str]) -> bool:
    return any(set(keys) == set(states) for states in LIFECYCLES.values())


def _mostly_states(states: list[str], size: int) -> bool:
    return len(set(states)) >= 2 and 2 * len(states) >= size


def state_lists(source: str) -> list[tuple[int, str]]:
    """(line, what) for every state list spelled in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            states = _states_in(node.elts)
            if _mostly_states(states, len(node.elts)):
                found.append((node.lineno, f"collection {states}"))
        elif isinstance(node, ast.Dict):
            keys = _states_in(k for k in node.keys if k is not None)
            if _mostly_states(keys, len(node.keys)) and not _is_complete_presentation_table(keys):
                found.append((node.lineno, f"dict keys {keys}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.lstrip().upper().startswith(("CREATE", "ALTER")):
                continue
            quoted = [w for w in SQL_QUOTED.findall(node.value) if w in STATE_WORDS]
            if len(set(quoted)) >= 2:
                found.append((node.lineno, f"SQL {quoted}"))
    return found


def test_no_state_list_is_spelled_outside_the_rules_module():
    offenders = [f"{path.relative_to(ROOT)}:{line}: {what}"
                 for path in app_files() for line, what in state_lists(path.read_text(encoding="utf-8"))]
    assert not offenders, "state lists belong in matching/lifecycle.py:\n" + "\n".join(offenders)


@pytest.mark.parametrize("source", [
    "PUBLISHED = ('approved', 'active')",
    "if state in ['open', 'submitted']: pass",
    "sql = \"SELECT 1 FROM pairings WHERE state IN ('approved', 'active', 'completed')\"",
    "counts = {'open': 0, 'overdue': 0}",
    "sql = f\"SELECT 1 FROM p WHERE {x} AND p.state IN ('approved', 'active')\"",
])
def test_the_check_catches_what_an_attacker_of_the_rule_would_write(source):
    assert state_lists(source)


@pytest.mark.parametrize("source", [
    "ICONS = {'draft': 1, 'submitted': 2, 'returned': 3, 'approved': 4, 'archived': 5}",  # complete table
    "sql = \"SELECT 1 FROM challenges WHERE status = 'submitted'\"",                     # one state
    "x = ('on_time', 'late', 'overdue', 'not_yet_due')",                                 # one state word
])
def test_the_check_leaves_alone_what_is_not_a_state_list(source):
    assert not state_lists(source)


def test_every_presentation_table_covers_its_whole_lifecycle():
    """A state -> icon/colour table may live in ui.py only if it names every state of one lifecycle."""
    for path in app_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                keys = _states_in(k for k in node.keys if k is not None)
                if _mostly_states(keys, len(node.keys)):
                    assert _is_complete_presentation_table(keys), f"{path}:{node.lineno}"


def test_the_rules_are_consistent():
    term_moves = list(lifecycle.TERM_NEXT.items())
    assert term_moves == list(zip(lifecycle.TERM_STATES, lifecycle.TERM_STATES[1:]))
    for (state, move), after in lifecycle.CHALLENGE_TRANSITIONS.items():
        assert state in lifecycle.CHALLENGE_STATES and after in lifecycle.CHALLENGE_STATES
        assert move in lifecycle.CHALLENGE_MOVE_PERMISSIONS
    for (state, _), after in lifecycle.FEEDBACK_TRANSITIONS.items():
        assert {state, after} <= set(lifecycle.FEEDBACK_STATES)
    derived = {
        lifecycle.PAIRING_LIVE_STATES: lifecycle.PAIRING_STATES,
        lifecycle.PAIRING_VISIBLE_STATES: lifecycle.PAIRING_STATES,
        lifecycle.CHALLENGE_EDITABLE_STATES: lifecycle.CHALLENGE_STATES,
        lifecycle.TERM_STATES_OPEN: lifecycle.TERM_STATES,
        lifecycle.TERM_STATES_TAKING_CHALLENGES: lifecycle.TERM_STATES,
        lifecycle.FEEDBACK_SHARED_STATES: lifecycle.FEEDBACK_STATES,
    }
    for subset, states in derived.items():
        assert set(subset) <= set(states), subset
    # Every permission a move needs exists in the one permission table.
    from matching.permissions import PERMISSIONS
    assert set(lifecycle.CHALLENGE_MOVE_PERMISSIONS.values()) <= set(PERMISSIONS)
    # Live pairings are visible; the proposal is neither.
    assert set(lifecycle.PAIRING_LIVE_STATES) < set(lifecycle.PAIRING_VISIBLE_STATES)
    assert not set(lifecycle.PAIRING_PROPOSED) & set(lifecycle.PAIRING_VISIBLE_STATES)
