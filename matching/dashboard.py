"""Figures for the facilitator's dashboard, as pandas DataFrames the page charts.

Each function returns a small tidy table: codes in one column (``state``, ``rank``...), the
label in the user's language in ``label``, and the numbers. The page draws each table as an
altair chart and shows the same table beside it, so the numbers are there for screen readers.
Pairing figures describe the *plan* (:func:`matching.pairings.plan`): the proposal while there
is one, else the published pairings.
"""
from __future__ import annotations

from datetime import date

import pandas as pd
import sqlite_utils

from . import feedback, pairings
from .i18n import t
from .lifecycle import CHALLENGE_STATES, FEEDBACK_GIVEN_STATES, FEEDBACK_STATUSES, PAIRING_STATES
from .models import User
from . import programmes
from .permissions import authorize

TIMELINESS = ("on_time", "late", "overdue", "not_yet_due")
SIMILARITY_BIN = 0.05


def counts_by_state(db: sqlite_utils.Database, actor: User, term_id: int, lang: str = "en", *,
                    today: date | None = None) -> dict[str, pd.DataFrame]:
    """``{"challenges", "pairings", "feedback"}`` -> columns state, label, count (every state listed)."""
    authorize(actor, "dashboard.view", programme_id=programmes.of_term(db, term_id))
    challenge_counts = dict(db.execute(
        "SELECT status, COUNT(*) FROM challenges WHERE term_id = ? OR term_id IS NULL GROUP BY status",
        [term_id]).fetchall())
    pairing_counts = dict(db.execute("SELECT state, COUNT(*) FROM pairings WHERE term_id = ? GROUP BY state",
                                     [term_id]).fetchall())
    feedback_counts = {s: 0 for s in FEEDBACK_STATUSES}
    for entry in feedback.entries_for_term(db, actor, term_id, today=today):
        feedback_counts[entry["status"]] += 1

    def frame(states, counts, prefix):
        return pd.DataFrame({"state": list(states), "label": [t(f"{prefix}.{s}", lang) for s in states],
                             "count": [int(counts.get(s, 0)) for s in states]})
    return {"challenges": frame(CHALLENGE_STATES, challenge_counts, "status"),
            "pairings": frame(PAIRING_STATES, pairing_counts, "dash.pairing_state"),
            "feedback": frame(FEEDBACK_STATUSES, feedback_counts, "dash.feedback_status")}


def pairings_per_department(db: sqlite_utils.Database, actor: User, term_id: int,
                            lang: str = "en") -> pd.DataFrame:
    """Columns acronym, department, pairings: the plan's pairs per department, most first."""
    authorize(actor, "dashboard.view", programme_id=programmes.of_term(db, term_id))
    plan = pairings.plan(db, actor, term_id)
    departments = {r["acronym"]: r for r in db.query("SELECT acronym, name_en, name_fr FROM departments")}
    counts: dict[str, int] = {}
    for row in plan.matched:
        counts[row["acronym"]] = counts.get(row["acronym"], 0) + 1
    from .departments import acronyms
    in_lang = acronyms(db, lang)
    rows = [{"acronym": in_lang.get(a, a), "department": departments[a]["name_fr" if lang == "fr" else "name_en"],
             "pairings": n} for a, n in counts.items()]
    frame = pd.DataFrame(rows, columns=["acronym", "department", "pairings"])
    return frame.sort_values(["pairings", "acronym"], ascending=[False, True], ignore_index=True)


def rank_achieved(db: sqlite_utils.Database, actor: User, term_id: int, lang: str = "en") -> pd.DataFrame:
    """Columns rank (1..5, unranked, unmatched), label, teams: how many teams got which choice."""
    authorize(actor, "dashboard.view", programme_id=programmes.of_term(db, term_id))
    plan = pairings.plan(db, actor, term_id)
    order = ["1", "2", "3", "4", "5", "unranked", "unmatched"]
    counts = {k: 0 for k in order}
    for row in plan.rows:
        if row["challenge_id"] is None:
            counts["unmatched"] += 1
        elif row["preference_rank"] is None:
            counts["unranked"] += 1
        else:
            counts[str(row["preference_rank"])] += 1
    labels = [t("dash.rank_choice", lang, rank=k) if k.isdigit() else t(f"dash.rank_{k}", lang) for k in order]
    return pd.DataFrame({"rank": order, "label": labels, "teams": [counts[k] for k in order]})


def similarity_distribution(db: sqlite_utils.Database, actor: User, term_id: int) -> pd.DataFrame:
    """Columns low, high, label, pairs: the plan's pair similarities in bins of 0.05."""
    authorize(actor, "dashboard.view", programme_id=programmes.of_term(db, term_id))
    scores = [row["score"] or 0.0 for row in pairings.plan(db, actor, term_id).matched]
    top = max(scores, default=0.0)
    n_bins = max(1, int(top / SIMILARITY_BIN) + 1)
    rows = []
    for i in range(n_bins):
        low, high = round(i * SIMILARITY_BIN, 2), round((i + 1) * SIMILARITY_BIN, 2)
        count = sum(1 for s in scores if low <= s < high or (i == n_bins - 1 and s >= high))
        rows.append({"low": low, "high": high, "label": f"{low:.2f}–{high:.2f}", "pairs": count})
    return pd.DataFrame(rows, columns=["low", "high", "label", "pairs"])


def feedback_timeliness(db: sqlite_utils.Database, actor: User, term_id: int, lang: str = "en", *,
                        today: date | None = None) -> pd.DataFrame:
    """Columns round, due_on, status (on_time, late, overdue, not_yet_due), label, entries."""
    authorize(actor, "dashboard.view", programme_id=programmes.of_term(db, term_id))
    counts: dict[tuple[str, str], int] = {}
    rounds = feedback.rounds(db, actor, term_id, today=today)
    for entry in feedback.entries_for_term(db, actor, term_id, today=today):
        counts[(entry["round_name"], timeliness(entry))] = counts.get((entry["round_name"], timeliness(entry)), 0) + 1
    rows = [{"round": r["name"], "due_on": r["due_on"], "status": s,
             "label": t(f"dash.timeliness.{s}", lang), "entries": counts.get((r["name"], s), 0)}
            for r in rounds for s in TIMELINESS]
    return pd.DataFrame(rows, columns=["round", "due_on", "status", "label", "entries"])


def timeliness(entry: dict) -> str:
    """How an entry was given: on_time, late (submitted after its due date), overdue, not_yet_due."""
    if entry["status"] == "overdue":
        return "overdue"
    if entry["status"] == "open":
        return "not_yet_due"
    return "on_time" if (entry["submitted_at"] or "")[:10] <= entry["due_on"] else "late"


def round_progress(db: sqlite_utils.Database, actor: User, term_id: int, *,
                   today: date | None = None) -> pd.DataFrame:
    """Columns round, due_on, entries, given, answered, overdue, complete (every entry given)."""
    authorize(actor, "dashboard.view", programme_id=programmes.of_term(db, term_id))
    rows = []
    for r in feedback.rounds(db, actor, term_id, today=today):
        c = r["counts"]
        given = sum(c[status] for status in FEEDBACK_GIVEN_STATES)
        rows.append({"round": r["name"], "due_on": r["due_on"], "entries": r["total"], "given": given,
                     "answered": c["answered"], "overdue": c["overdue"],
                     "complete": r["total"] > 0 and given == r["total"]})
    return pd.DataFrame(rows, columns=["round", "due_on", "entries", "given", "answered", "overdue", "complete"])
