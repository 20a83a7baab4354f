"""Pairings of a term (a package: inputs, proposal, adjust, publish, queries): the optimiser's proposal, the facilitator's adjustments, publication.

The model
---------
* The **proposal** of a term is its ``proposed`` pairings. :func:`run_assignment` replaces it
  with the optimiser's result; :func:`pair`, :func:`unpair`, :func:`lock` and :func:`ban` adjust
  it, each with a required reason kept in the audit log, and each returns the :class:`Change`
  it made (team, from, to). A pair placed by hand and not locked is marked ``manual`` in the
  plan: the next run may move it, and the run's warnings name every such pair it replaced.
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

from .adjust import REASON_MAX, Change, ban, lock, pair, remove_rule, rules, unpair
from .inputs import term_challenges
from .proposal import (CapacityWarning, LockProblems, RunResult, check_plan_version, has_proposal, plan,
                       plan_version, run_assignment, touch_plan)
from .publish import last_publication, pending_changes, publish
from .queries import pairing_for_team, pairings_for_department, pairings_for_expert, published_pairings

__all__ = ["REASON_MAX", "Change", "CapacityWarning", "LockProblems", "RunResult", "ban", "has_proposal",
           "last_publication", "lock", "pair", "pairing_for_team", "pairings_for_department",
           "pairings_for_expert", "pending_changes", "plan", "plan_version", "publish",
           "published_pairings", "remove_rule", "rules", "run_assignment", "term_challenges", "unpair",
           "check_plan_version", "touch_plan"]
