"""What each role should do next: the content of every role's home page.

Several terms live at once, so a home lists the work of every term that has work for the
person, each step naming its term (``step["term"]``). A student works in their team's term only.
"""
from __future__ import annotations

from typing import Any

import sqlite_utils

from . import feedback
from .errors import PortalError
from .lifecycle import (CHALLENGE_STATES, FEEDBACK_OWED_STATES, PAIRING_LIVE_STATES, PAIRING_VISIBLE_STATES,
                        REVISION_OPEN_STATES, TERM_STATES_GIVING_FEEDBACK, TERM_STATES_PUBLISHING, states_sql,
                        team_profile_editable, term_takes_preferences)
from .models import Term, User
from .organisations import kind_of, rep_key
from .permissions import authorize, may_act_on
from .terms import get_term, open_terms


def _count(db, sql: str, params: list) -> int:
    return db.execute(sql, params).fetchone()[0]


def _step(key: str, term: Term | None = None, **params: Any) -> dict[str, Any]:
    return {"key": key, "params": params, "term": term.name if term else None}


def next_steps(db: sqlite_utils.Database, user: User) -> dict[str, Any]:
    """``{"terms", "steps": [{key, params, term}], ...}`` plus the role's own figures."""
    authorize(user, "home.view")
    summary: dict[str, Any] = {"terms": [t.__dict__ for t in open_terms(db)], "steps": []}
    {"department_rep": _department, "student": _student, "facilitator": _facilitator,
     "expert": _expert}.get(user.role, lambda *_: None)(db, user, summary)
    _outcome_steps(db, user, summary["steps"])
    return summary


def _outcome_steps(db, user: User, steps: list) -> None:
    """Outcomes (issue 17): a final summary or assessment to write while its window is open, outcome
    reports owed by the organisation, overdue reports for the facilitators; each in its term."""
    from . import outcomes
    if user.role == "student" and user.team_id is not None:
        for p in outcomes.for_team(db, user, user.team_id):
            if p["final_open"] and p["summary"] is None:
                steps.append({"key": "home.step.write_summary", "term": p["term_name"],
                              "params": {"title": p["challenge_title"]}})
    elif user.role == "expert":
        waiting: dict[str, int] = {}
        for p in outcomes.for_expert(db, user):
            if p["final_open"] and p["assessment"] is None:
                waiting[p["term_name"]] = waiting.get(p["term_name"], 0) + 1
        steps.extend({"key": "home.step.final_assessments", "term": term, "params": {"count": n}}
                     for term, n in waiting.items())
    elif user.role == "department_rep" and user.department_id is not None:
        owed = outcomes.owed_reports(outcomes.for_department(db, user))
        if owed:
            overdue = sum(1 for _, c in owed if c["status"] == "overdue")
            steps.append({"key": "home.step.outcome_reports", "term": None,
                          "params": {"count": len(owed), "overdue": overdue}})
    elif user.role == "facilitator":
        overdue = outcomes.overdue_reports(db, user)
        if overdue:
            steps.append({"key": "home.step.overdue_outcome_reports", "term": None, "params": {"count": len(overdue)}})


def _department(db, user: User, summary: dict) -> None:
    steps = summary["steps"]
    counts = {s: 0 for s in CHALLENGE_STATES}
    for row in db.query("SELECT status, COUNT(*) AS n FROM challenges WHERE department_id = ? "
                        "GROUP BY status", [user.department_id]):
        counts[row["status"]] = row["n"]
    summary["counts"] = counts
    if counts["returned"]:
        steps.append(_step("home.step.fix_returned", count=counts["returned"]))
    if counts["draft"]:
        steps.append(_step("home.step.finish_drafts", count=counts["draft"]))
    pending, states = states_sql("r.state", REVISION_OPEN_STATES)
    waiting = _count(db, "SELECT COUNT(*) FROM challenge_revisions r JOIN challenges c ON c.id = r.challenge_id "
                         f"WHERE c.department_id = ? AND {pending}", [user.department_id, *states])
    if waiting:
        steps.append(_step("home.step.revisions_waiting", count=waiting))
    live, live_states = states_sql("p.state", PAIRING_LIVE_STATES)
    for term in open_terms(db):
        paired = _count(db, "SELECT COUNT(*) FROM pairings p JOIN challenges c ON c.id = p.challenge_id "
                            f"WHERE c.department_id = ? AND p.term_id = ? AND {live}",
                        [user.department_id, term.id, *live_states])
        if paired:
            steps.append(_step("home.step.see_department_pairings", term, count=paired))
    if not any(counts.values()):
        steps.append(_step(rep_key("home.step.create_challenge", kind_of(db, user.department_id))))


def _student(db, user: User, summary: dict) -> None:
    from .matches import ranked_challenges_for_team
    from .teams import completeness, get_team
    steps = summary["steps"]
    team = get_team(db, user, user.team_id)
    term = get_term(db, team.term_id) if team.term_id is not None else None
    summary["terms"] = [term.__dict__] if term else []
    share, missing = completeness(team)
    summary["completeness"] = (share, missing)
    if missing and team_profile_editable(term.state if term else None):
        steps.append(_step("home.step.complete_profile", term, count=len(missing)))
    try:
        summary["top_matches"] = ranked_challenges_for_team(db, user, user.team_id, k=3)
    except PortalError as err:
        summary["error"] = err.key
    except ValueError as err:  # RankingError carries a key too
        summary["error"] = getattr(err, "key", "ranking.empty_profile")
    n_preferences = _count(db, "SELECT COUNT(*) FROM preferences WHERE team_id = ?", [user.team_id])
    if term and term_takes_preferences(term.state) and n_preferences == 0:
        steps.append(_step("home.step.rank_preferences", term))
    visible, states = states_sql("state", PAIRING_VISIBLE_STATES)
    if _count(db, f"SELECT COUNT(*) FROM pairings WHERE team_id = ? AND {visible}", [user.team_id, *states]):
        steps.append(_step("home.step.see_pairing", term))
    if term and term.state in TERM_STATES_GIVING_FEEDBACK:
        waiting = _by_next(feedback.entries_for_team(db, user, user.team_id), term)
        if waiting["reply"]:
            steps.append(_step("home.step.reply_feedback", term, count=waiting["reply"]))
        if waiting["answer_expert"]:
            steps.append(_step("home.step.expert_wrote", term, count=waiting["answer_expert"]))


def _by_next(entries: list[dict], term: Term) -> dict[str, int]:
    """How many of the term's entries wait for each next action (``feedback.NEXT_ACTIONS``)."""
    counts = {action: 0 for action in feedback.NEXT_ACTIONS}
    for entry in entries:
        if entry["term_id"] == term.id and entry["next"]:
            counts[entry["next"]] += 1
    return counts


def _facilitator(db, user: User, summary: dict) -> None:
    steps = summary["steps"]
    # Submitted challenges wait for review, each under the term it was filed for.
    for row in db.query("SELECT term_id, COUNT(*) AS n FROM challenges WHERE status = 'submitted' "
                        "GROUP BY term_id ORDER BY term_id IS NULL, term_id DESC"):
        term = get_term(db, row["term_id"]) if row["term_id"] is not None else None
        if not may_act_on(user, term.programme_id if term else None):
            continue  # a facilitator limited to some programmes reviews their own
        steps.append(_step("home.step.review", term, count=row["n"]))
    pending, states = states_sql("r.state", REVISION_OPEN_STATES)
    revisions = sum(1 for r in db.query(
        "SELECT tm.programme_id FROM challenge_revisions r JOIN challenges c ON c.id = r.challenge_id "
        f"LEFT JOIN terms tm ON tm.id = c.term_id WHERE {pending}", states)
        if may_act_on(user, r["programme_id"]))
    if revisions:
        steps.append(_step("home.step.review_revisions", count=revisions))
    for term in open_terms(db, actor=user):
        without = _count(db, "SELECT COUNT(*) FROM teams t WHERE t.term_id = ? AND NOT EXISTS "
                             "(SELECT 1 FROM preferences p WHERE p.team_id = t.id)", [term.id])
        if term_takes_preferences(term.state) and without:
            steps.append(_step("home.step.teams_without_preferences", term, count=without))
        if term.state in TERM_STATES_PUBLISHING:
            steps.append(_step("home.step.run_assignment", term))
        if term.state in TERM_STATES_GIVING_FEEDBACK:
            owed, owed_states = _owed_sql()
            overdue = _count(db, "SELECT COUNT(*) FROM feedback_entries e JOIN pairings p ON p.id = e.pairing_id "
                                 "JOIN feedback_rounds r ON r.id = e.round_id "
                                 f"WHERE p.term_id = ? AND {owed} AND r.due_on < date('now')",
                             [term.id, *owed_states])
            if overdue:
                steps.append(_step("home.step.overdue_feedback", term, count=overdue))
            nobody = _count(db, "SELECT COUNT(*) FROM feedback_entries e JOIN pairings p ON p.id = e.pairing_id "
                                f"WHERE p.term_id = ? AND {owed} AND e.expert_id IS NULL", [term.id, *owed_states])
            if nobody:
                steps.append(_step("home.step.entries_without_expert", term, count=nobody))


def _owed_sql() -> tuple[str, list[str]]:
    owed, owed_states = states_sql("e.state", FEEDBACK_OWED_STATES)
    live, live_states = states_sql("p.state", PAIRING_LIVE_STATES)
    return f"{owed} AND {live}", [*owed_states, *live_states]


def _expert(db, user: User, summary: dict) -> None:
    steps = summary["steps"]
    visible, states = states_sql("p.state", PAIRING_VISIBLE_STATES)
    advised = _count(db, "SELECT COUNT(*) FROM pairings p JOIN challenges c ON c.id = p.challenge_id "
                         f"WHERE c.sme_email = ? COLLATE NOCASE AND {visible}", [user.email, *states])
    entries = feedback.entries_for_expert(db, user)
    for term in open_terms(db):
        if term.state not in TERM_STATES_GIVING_FEEDBACK:
            continue
        waiting = _by_next(entries, term)
        if waiting["give_feedback"]:
            steps.append(_step("home.step.give_feedback", term, count=waiting["give_feedback"]))
        overdue = sum(1 for e in entries if e["term_id"] == term.id and e["next"] == "give_feedback"
                      and e["status"] == "overdue")
        if overdue:
            steps.append(_step("home.step.expert_overdue", term, count=overdue))
        if waiting["answer_team"]:
            steps.append(_step("home.step.replies_waiting", term, count=waiting["answer_team"]))
    if not advised:
        steps.append(_step("home.step.no_pairings_yet"))
