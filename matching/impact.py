"""Impact across terms (issue 17.5): the figures of the dashboard's "Impact across terms" section.

Every function returns a small tidy pandas table, one row per term and programme (and per
organisation, kind or status where the figure needs it), codes beside their labels in the
user's language, so the page draws each as an altair chart with the same table beside it.
Every term is counted, closed ones included (that is the point: what each challenge led to);
a facilitator limited to some programmes sees only theirs.

* :func:`challenges_per_organisation`: approved challenges per term, organisation and its kind;
* :func:`report_share`: completed pairings with at least one outcome report, and their share;
* :func:`outcomes_by_status`: completed pairings by their latest reported outcome (or none yet);
* :func:`approval_times`: days from a challenge's (last) submission to its approval;
* :func:`feedback_on_time`: feedback entries given on time, late, overdue or not yet due.
"""
from __future__ import annotations

from datetime import date, datetime
from statistics import mean, median

import pandas as pd
import sqlite_utils

from .dashboard import TIMELINESS, timeliness
from .feedback import status as feedback_status
from .i18n import t
from .lifecycle import (CHALLENGE_VISIBLE_STATES, OUTCOME_CHECKPOINTS, OUTCOME_STATUSES, PAIRING_COMPLETED_STATES,
                        PAIRING_VISIBLE_STATES, states_sql)
from .models import User
from .organisations import ORGANISATION_KINDS, kind_label
from .outcomes import authorize_list, in_my_programmes
from .programmes import labels as programme_labels

ACTION = "dashboard.view"
#: The outcome of a completed pairing without any report yet, beside ``OUTCOME_STATUSES``.
NO_REPORT = "none"


def _terms(db, actor: User, lang: str) -> list[dict]:
    """The terms the actor may see, oldest first, each with its programme's label."""
    authorize_list(actor, ACTION)
    names = programme_labels(db, lang)
    rows = [dict(r) for r in db.query("SELECT id AS term_id, name AS term, state, starts_on, ends_on, programme_id "
                                      "FROM terms ORDER BY starts_on IS NULL, starts_on, id")]
    for row in rows:
        row["programme"] = names.get(row["programme_id"], "")
    return in_my_programmes(actor, ACTION, rows)


def challenges_per_organisation(db: sqlite_utils.Database, actor: User, lang: str = "en") -> pd.DataFrame:
    """Columns term, programme, kind, kind_label, organisation, challenges: approved challenges of
    each term per organisation (acronym in ``lang``), terms oldest first."""
    columns = ["term", "programme", "kind", "kind_label", "organisation", "challenges"]
    terms = {r["term_id"]: r for r in _terms(db, actor, lang)}
    visible, states = states_sql("c.status", CHALLENGE_VISIBLE_STATES)
    rows = []
    for r in db.query("SELECT c.term_id, d.acronym, d.acronym_fr, d.kind, COUNT(*) AS n FROM challenges c "
                      f"JOIN departments d ON d.id = c.department_id WHERE {visible} AND c.term_id IS NOT NULL "
                      "GROUP BY c.term_id, d.acronym, d.acronym_fr, d.kind", states):
        term = terms.get(r["term_id"])
        if term is None:
            continue
        rows.append({"order": list(terms).index(r["term_id"]), "term": term["term"], "programme": term["programme"],
                     "kind": r["kind"], "kind_label": kind_label(r["kind"], lang),
                     "organisation": (r["acronym_fr"] or r["acronym"]) if lang == "fr" else r["acronym"],
                     "challenges": int(r["n"])})
    rows.sort(key=lambda r: (r["order"], ORGANISATION_KINDS.index(r["kind"]) if r["kind"] in ORGANISATION_KINDS
                             else len(ORGANISATION_KINDS), -r["challenges"], r["organisation"]))
    return pd.DataFrame(rows, columns=["order", *columns])[columns]


def _completed(db, actor: User, lang: str) -> tuple[dict[int, dict], list[dict]]:
    terms = {r["term_id"]: r for r in _terms(db, actor, lang)}
    completed, states = states_sql("p.state", PAIRING_COMPLETED_STATES)
    pairings = [dict(r) for r in db.query(f"SELECT p.id, p.term_id FROM pairings p WHERE {completed}", states)
                if r["term_id"] in terms]
    reports: dict[int, dict[str, str]] = {}
    for r in db.query("SELECT pairing_id, checkpoint, status FROM outcome_reports"):
        reports.setdefault(r["pairing_id"], {})[r["checkpoint"]] = r["status"]
    for p in pairings:
        mine = reports.get(p["id"], {})
        latest = next((mine[c] for c in reversed(list(OUTCOME_CHECKPOINTS)) if c in mine), None)
        p["reported"], p["latest"] = bool(mine), latest or NO_REPORT
    return terms, pairings


def report_share(db: sqlite_utils.Database, actor: User, lang: str = "en") -> pd.DataFrame:
    """Columns term, programme, completed, reported, share (0-1): completed pairings of each term
    with at least one outcome report (terms with completed pairings only)."""
    terms, pairings = _completed(db, actor, lang)
    rows = []
    for term_id, term in terms.items():
        mine = [p for p in pairings if p["term_id"] == term_id]
        if mine:
            reported = sum(1 for p in mine if p["reported"])
            rows.append({"term": term["term"], "programme": term["programme"], "completed": len(mine),
                         "reported": reported, "share": round(reported / len(mine), 3)})
    return pd.DataFrame(rows, columns=["term", "programme", "completed", "reported", "share"])


def outcomes_by_status(db: sqlite_utils.Database, actor: User, lang: str = "en") -> pd.DataFrame:
    """Columns term, programme, status, label, pairings: completed pairings of each term by their
    latest reported outcome (``OUTCOME_STATUSES``, then ``none`` for no report yet)."""
    terms, pairings = _completed(db, actor, lang)
    rows = []
    for term_id, term in terms.items():
        mine = [p for p in pairings if p["term_id"] == term_id]
        if not mine:
            continue
        for code in (*OUTCOME_STATUSES, NO_REPORT):
            label = t("outcome.no_report", lang) if code == NO_REPORT else t(f"outcome.status.{code}", lang)
            rows.append({"term": term["term"], "programme": term["programme"], "status": code, "label": label,
                         "pairings": sum(1 for p in mine if p["latest"] == code)})
    return pd.DataFrame(rows, columns=["term", "programme", "status", "label", "pairings"])


def _days(start: str | None, end: str | None) -> float | None:
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 86400
    except (TypeError, ValueError):
        return None


def approval_times(db: sqlite_utils.Database, actor: User, lang: str = "en") -> pd.DataFrame:
    """Columns term, programme, challenges, median_days, mean_days: days from each approved
    challenge's last submission to its approval, per term (one decimal)."""
    terms = {r["term_id"]: r for r in _terms(db, actor, lang)}
    visible, states = states_sql("status", CHALLENGE_VISIBLE_STATES)
    days: dict[int, list[float]] = {}
    for r in db.query(f"SELECT term_id, submitted_at, approved_at FROM challenges WHERE {visible} "
                      "AND submitted_at IS NOT NULL AND approved_at IS NOT NULL", states):
        value = _days(r["submitted_at"], r["approved_at"])
        if r["term_id"] in terms and value is not None and value >= 0:
            days.setdefault(r["term_id"], []).append(value)
    rows = [{"term": term["term"], "programme": term["programme"], "challenges": len(days[term_id]),
             "median_days": round(median(days[term_id]), 1), "mean_days": round(mean(days[term_id]), 1)}
            for term_id, term in terms.items() if days.get(term_id)]
    return pd.DataFrame(rows, columns=["term", "programme", "challenges", "median_days", "mean_days"])


def feedback_on_time(db: sqlite_utils.Database, actor: User, lang: str = "en", *,
                     today: date | None = None) -> pd.DataFrame:
    """Columns term, programme, status (``dashboard.TIMELINESS``), label, entries, share: the
    feedback entries of each term's published pairings by how they were given."""
    terms = {r["term_id"]: r for r in _terms(db, actor, lang)}
    visible, states = states_sql("p.state", PAIRING_VISIBLE_STATES)
    counts: dict[tuple[int, str], int] = {}
    for r in db.query("SELECT e.state, e.submitted_at, r.due_on, r.term_id FROM feedback_entries e "
                      "JOIN feedback_rounds r ON r.id = e.round_id JOIN pairings p ON p.id = e.pairing_id "
                      f"WHERE {visible}", states):
        if r["term_id"] not in terms:
            continue
        entry = dict(r)
        entry["status"] = feedback_status(entry, today)
        key = (r["term_id"], timeliness(entry))
        counts[key] = counts.get(key, 0) + 1
    rows = []
    for term_id, term in terms.items():
        total = sum(counts.get((term_id, s), 0) for s in TIMELINESS)
        if not total:
            continue
        for s in TIMELINESS:
            n = counts.get((term_id, s), 0)
            rows.append({"term": term["term"], "programme": term["programme"], "status": s,
                         "label": t(f"dash.timeliness.{s}", lang), "entries": n, "share": round(n / total, 3)})
    return pd.DataFrame(rows, columns=["term", "programme", "status", "label", "entries", "share"])
