"""What each role should do next: the content of every role's home page."""
from __future__ import annotations

from typing import Any

import sqlite_utils

from .errors import PortalError
from .models import CHALLENGE_STATES, User
from .terms import current_term


def next_steps(db: sqlite_utils.Database, user: User) -> dict[str, Any]:
    """``{"term", "steps": [{key, params}], ...}`` plus the role's own figures."""
    term = current_term(db)
    summary: dict[str, Any] = {"term": term.__dict__ if term else None, "steps": []}
    steps = summary["steps"]
    if user.role == "department_rep":
        counts = {s: 0 for s in CHALLENGE_STATES}
        for row in db.query("SELECT status, COUNT(*) AS n FROM challenges WHERE department_id = ? "
                            "GROUP BY status", [user.department_id]):
            counts[row["status"]] = row["n"]
        summary["counts"] = counts
        if counts["returned"]:
            steps.append({"key": "home.step.fix_returned", "params": {"count": counts["returned"]}})
        if counts["draft"]:
            steps.append({"key": "home.step.finish_drafts", "params": {"count": counts["draft"]}})
        if not any(counts.values()):
            steps.append({"key": "home.step.create_challenge"})
    elif user.role == "student":
        from .matches import ranked_challenges_for_team
        from .teams import completeness, get_team
        team = get_team(db, user, user.team_id)
        share, missing = completeness(team)
        summary["completeness"] = (share, missing)
        if missing:
            steps.append({"key": "home.step.complete_profile", "params": {"count": len(missing)}})
        try:
            summary["top_matches"] = ranked_challenges_for_team(db, user, user.team_id, k=3)
        except PortalError as err:
            summary["error"] = err.key
        except ValueError as err:  # RankingError carries a key too
            summary["error"] = getattr(err, "key", "ranking.empty_profile")
        n_preferences = db.execute("SELECT COUNT(*) FROM preferences WHERE team_id = ?",
                                   [user.team_id]).fetchone()[0]
        if term and term.state == "intake" and n_preferences == 0:
            steps.append({"key": "home.step.rank_preferences"})
        paired = db.execute("SELECT COUNT(*) FROM pairings WHERE team_id = ? AND state IN "
                            "('approved', 'active')", [user.team_id]).fetchone()[0]
        if paired:
            steps.append({"key": "home.step.see_pairing"})
    elif user.role == "facilitator":
        waiting = db.execute("SELECT COUNT(*) FROM challenges WHERE status = 'submitted'").fetchone()[0]
        if waiting:
            steps.append({"key": "home.step.review", "params": {"count": waiting}})
        if term:
            without = db.execute(
                "SELECT COUNT(*) FROM teams t WHERE t.term_id = ? AND NOT EXISTS "
                "(SELECT 1 FROM preferences p WHERE p.team_id = t.id)", [term.id]).fetchone()[0]
            if term.state == "intake" and without:
                steps.append({"key": "home.step.teams_without_preferences", "params": {"count": without}})
            if term.state == "matching":
                steps.append({"key": "home.step.run_assignment"})
    elif user.role == "expert":
        advised = db.execute(
            "SELECT COUNT(*) FROM pairings p JOIN challenges c ON c.id = p.challenge_id "
            "WHERE c.sme_email = ? COLLATE NOCASE AND p.state IN ('approved', 'active')",
            [user.email]).fetchone()[0]
        open_entries = db.execute(
            "SELECT COUNT(*) FROM feedback_entries e JOIN pairings p ON p.id = e.pairing_id "
            "WHERE e.expert_id = ? AND e.state = 'open' AND p.state IN ('approved', 'active')",
            [user.id]).fetchone()[0]
        if open_entries:
            steps.append({"key": "home.step.give_feedback", "params": {"count": open_entries}})
        if not advised:
            steps.append({"key": "home.step.no_pairings_yet"})
    return summary
