"""Outcomes (issue 17): what each challenge led to, after its term.

Three records per published pairing, each written by its own side and read by the others:

* the **final summary** (the team): what it learned, what it made, its recommendations and links
  (http/https addresses only, kept and shown as text), and whether the team's name may be shown
  in the outcomes library (opt-in: anonymised unless the team says so);
* the **final assessment** (the pairing's expert, the challenge's SME): the feedback rubric
  (``models.RUBRIC``, 1-5 each, validated by ``models.validate_feedback``) and comments. A table
  of its own rather than a feedback round of kind "final": a round is due within its term, is
  given only while the term is active, reminds and counts as on time or late on the dashboard;
  the final assessment is written after the term, in the window below, and none of that applies;
* **outcome reports** (the organisation's representatives): at 3 and 6 months after the term's
  end date (``lifecycle.OUTCOME_CHECKPOINTS``), what happened: adopted, piloted, informed a
  decision, not pursued, with a short note.

When each may be written is stated in :mod:`matching.lifecycle` (``final_work_open``,
``outcome_report_open``): summaries and assessments while the term is active and for 30 days after
it closed, reports from their due date on. These are the only writes a closed term takes besides
export and purge. Each write carries the version the person saw (0: none yet) and is refused as
stale when someone saved in between; each is one transaction with its audit event.

:func:`due_reminders` (``portal notify due``) asks the representatives for each report when it
falls due and again when it is overdue, and the teams and experts for their final summary and
assessment when the term nears its end; idempotent (one notification per record and kind).
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any, Mapping
from urllib.parse import urlsplit

import sqlite_utils

from . import audit, notifications
from . import db as storage
from .errors import IllegalTransition, NotFound, StaleRecord, ValidationFailed
from .lifecycle import (FEEDBACK_GIVEN_STATES, OUTCOME_CHECKPOINTS, OUTCOME_REPORT_OWED_STATUSES, OUTCOME_STATUSES,
                        PAIRING_COMPLETED_STATES, PAIRING_FINAL_WORK_STATES, final_work_closes_on, final_work_open,
                        outcome_due_on, outcome_report_open, outcome_report_status, states_sql)
from .models import LONG_TEXT_MAX, RUBRIC, User, check_text, validate_feedback
from .permissions import PERMISSIONS, authorize, can

#: The three texts of a final summary, in the order the form asks for them.
SUMMARY_FIELDS = ("learned", "made", "recommendations")
SUMMARY_TEXT_MAX = LONG_TEXT_MAX
NOTE_MAX = 1_000
MAX_LINKS = 10
LINK_MAX = 500
LINK_SCHEMES = ("http", "https")
#: The teams and experts are reminded of their final summary and assessment from this many days
#: before the term's end date (and after it closed, while the window is open).
REMIND_FINAL_WORK_DAYS_BEFORE_END = 7

_PAIRING_SQL = (
    "SELECT p.id AS pairing_id, p.state AS pairing_state, p.term_id, tm.name AS term_name, tm.state AS term_state, "
    "tm.ends_on, tm.closed_on, tm.programme_id, p.team_id, t.name AS team_name, p.challenge_id, c.title AS challenge_title, "
    "c.themes, c.submitted_at, c.approved_at, c.department_id, d.acronym, d.acronym_fr, d.kind AS organisation_kind, "
    "d.name_en AS department_en, d.name_fr AS department_fr, c.sme_name, c.sme_email "
    "FROM pairings p JOIN terms tm ON tm.id = p.term_id JOIN teams t ON t.id = p.team_id "
    "JOIN challenges c ON c.id = p.challenge_id JOIN departments d ON d.id = c.department_id ")


def _today(today: date | None) -> date:
    return today or date.today()


def _pairing_rows(db, where: str, params: list, states=PAIRING_FINAL_WORK_STATES, order: str = "") -> list[dict]:
    in_states, values = states_sql("p.state", states)
    return list(db.query(f"{_PAIRING_SQL} WHERE {in_states} AND {where} "
                         f"{order or 'ORDER BY tm.ends_on DESC, tm.id DESC, c.title, t.name'}", [*values, *params]))


def _pairing(db, pairing_id: int) -> dict:
    rows = _pairing_rows(db, "p.id = ?", [pairing_id])
    if not rows:
        raise NotFound("error.not_found", f"pairing {pairing_id}")
    return rows[0]


def expert_of(db, sme_email: str | None) -> int | None:
    """The expert account of a challenge's SME e-mail (None when the SME has no account)."""
    if not (sme_email or "").strip():
        return None
    row = storage.one(db, "SELECT id FROM users WHERE role = 'expert' AND email = ? COLLATE NOCASE",
                      [sme_email.strip()])
    return row["id"] if row else None


# --- Reading ---------------------------------------------------------------------------------

def _summary(db, pairing_id: int) -> dict | None:
    row = storage.one(db, "SELECT * FROM final_summaries WHERE pairing_id = ?", [pairing_id])
    if row:
        row["links"] = json.loads(row["links"] or "[]")
        row["show_names"] = bool(row["show_names"])
    return row


def _assessment(db, pairing_id: int) -> dict | None:
    row = storage.one(db, "SELECT a.*, u.name AS expert_name FROM final_assessments a "
                          "LEFT JOIN users u ON u.id = a.expert_id WHERE a.pairing_id = ?", [pairing_id])
    if row:
        row["scores"] = json.loads(row["scores"] or "{}")
    return row


def _reports(db, pairing_id: int) -> dict[str, dict]:
    return {r["checkpoint"]: r for r in db.query(
        "SELECT o.*, u.name AS reported_by_name FROM outcome_reports o LEFT JOIN users u ON u.id = o.reported_by "
        "WHERE o.pairing_id = ?", [pairing_id])}


def checkpoints(row: Mapping, reports: Mapping[str, Mapping], today: date) -> list[dict]:
    """Each checkpoint of a pairing: code, months, due date, status (``OUTCOME_REPORT_STATUSES``),
    whether it takes a report today, and its report (or None)."""
    out = []
    for code, months in OUTCOME_CHECKPOINTS.items():
        due = outcome_due_on(row["ends_on"], code)
        report = reports.get(code)
        out.append({"checkpoint": code, "months": months, "due_on": due.isoformat() if due else None,
                    "status": outcome_report_status(due, report is not None, today),
                    "open": outcome_report_open(row["term_state"], row["pairing_state"], due, today),
                    "report": report})
    return out


def latest_outcome(reports: Mapping[str, Mapping]) -> dict | None:
    """The report of the latest checkpoint reported (6 months before 3), or None."""
    for code in reversed(list(OUTCOME_CHECKPOINTS)):
        if code in reports:
            return reports[code]
    return None


def rubric_averages(db: sqlite_utils.Database, pairing_id: int) -> dict[str, Any]:
    """The pairing's rubric, averaged over every rubric it was given: the feedback of each round
    (submitted or answered) and the final assessment. ``{criterion: mean or None, ..., "overall":
    mean of the criteria's means or None, "count": rubrics counted}``, means rounded to 2 places."""
    given, states = states_sql("state", FEEDBACK_GIVEN_STATES)
    rubrics = [json.loads(r[0] or "{}") for r in db.execute(
        f"SELECT scores FROM feedback_entries WHERE pairing_id = ? AND {given}", [pairing_id, *states]).fetchall()]
    final = db.execute("SELECT scores FROM final_assessments WHERE pairing_id = ?", [pairing_id]).fetchone()
    if final:
        rubrics.append(json.loads(final[0] or "{}"))
    out: dict[str, Any] = {}
    for criterion in RUBRIC:
        values = [float(r[criterion]) for r in rubrics if isinstance(r.get(criterion), (int, float))]
        out[criterion] = round(sum(values) / len(values), 2) if values else None
    means = [out[c] for c in RUBRIC if out[c] is not None]
    out["overall"] = round(sum(means) / len(means), 2) if means else None
    out["count"] = sum(1 for r in rubrics if any(c in r for c in RUBRIC))
    return out


def _decorate(db, row: dict, today: date) -> dict:
    row["themes"] = json.loads(row["themes"] or "[]") if isinstance(row.get("themes"), str) else row.get("themes")
    row["final_open"] = final_work_open(row["term_state"], row["closed_on"], row["ends_on"], today)
    closes = final_work_closes_on(row["term_state"], row["closed_on"], row["ends_on"])
    row["final_closes_on"] = closes.isoformat() if closes else None
    row["summary"] = _summary(db, row["pairing_id"])
    row["assessment"] = _assessment(db, row["pairing_id"])
    reports = _reports(db, row["pairing_id"])
    row["checkpoints"] = checkpoints(row, reports, today)
    latest = latest_outcome(reports)
    row["latest_outcome"] = latest["status"] if latest else None
    row["averages"] = rubric_averages(db, row["pairing_id"])
    row["expert_id"] = expert_of(db, row["sme_email"])
    return row


def _may_read(actor: User, row: Mapping, expert_id: int | None) -> bool:
    programme = row["programme_id"]
    return (can(actor, "outcome.view_all", programme_id=programme)
            or can(actor, "outcome.view_team", team_id=row["team_id"], programme_id=programme)
            or can(actor, "outcome.view_department", department_id=row["department_id"], programme_id=programme)
            or can(actor, "outcome.view_expert", user_id=expert_id, programme_id=programme))


def authorize_list(actor: User, action: str, **target: int | None) -> None:
    """:func:`authorize` for a list: a facilitator limited to some programmes passes (their list
    is then filtered by :func:`_visible`); anyone else as the permission table says."""
    limited = getattr(actor, "programme_ids", None) is not None
    if not (limited and PERMISSIONS.get(action, {}).get(getattr(actor, "role", None)) == "programme"):
        authorize(actor, action, **target)


def in_my_programmes(actor: User, action: str, rows: list[dict]) -> list[dict]:
    """The rows of programmes the actor may act on, for an action of programme scope."""
    if PERMISSIONS.get(action, {}).get(getattr(actor, "role", None)) != "programme":
        return rows
    return [r for r in rows if can(actor, action, programme_id=r["programme_id"])]


def get_outcome(db: sqlite_utils.Database, actor: User, pairing_id: int, *, today: date | None = None) -> dict:
    """One pairing's outcomes (summary, assessment, checkpoints and reports, rubric averages) for
    its team, its organisation's representatives, its expert or a facilitator; "not found" to others."""
    row = _pairing(db, pairing_id)
    if not _may_read(actor, row, expert_of(db, row["sme_email"])):
        raise NotFound("error.not_found", f"pairing {pairing_id}")
    return _decorate(db, row, _today(today))


def for_team(db: sqlite_utils.Database, actor: User, team_id: int, *, today: date | None = None) -> list[dict]:
    """The team's running or completed pairings with their final summary and assessment."""
    authorize_list(actor, "outcome.view_team", team_id=team_id)
    rows = in_my_programmes(actor, "outcome.view_team", _pairing_rows(db, "p.team_id = ?", [team_id]))
    return [_decorate(db, r, _today(today)) for r in rows]


def for_expert(db: sqlite_utils.Database, actor: User, *, today: date | None = None) -> list[dict]:
    """The pairings the actor advises (their e-mail is the challenge's SME e-mail), running or completed."""
    authorize_list(actor, "outcome.view_expert", user_id=actor.id)
    rows = in_my_programmes(actor, "outcome.view_expert", _pairing_rows(db, "c.sme_email = ? COLLATE NOCASE", [actor.email]))
    return [_decorate(db, r, _today(today)) for r in rows]


def for_department(db: sqlite_utils.Database, actor: User, department_id: int | None = None, *,
                   today: date | None = None) -> list[dict]:
    """The organisation's completed pairings with their summaries, rubric averages and reports."""
    department_id = actor.department_id if department_id is None else department_id
    authorize_list(actor, "outcome.view_department", department_id=department_id)
    rows = in_my_programmes(actor, "outcome.view_department",
                    _pairing_rows(db, "c.department_id = ?", [department_id], PAIRING_COMPLETED_STATES))
    return [_decorate(db, r, _today(today)) for r in rows]


def owed_reports(rows: list[Mapping]) -> list[tuple[Mapping, Mapping]]:
    """(pairing, checkpoint) of every report still owed (due or overdue) among ``rows``."""
    return [(row, cp) for row in rows for cp in row["checkpoints"] if cp["status"] in OUTCOME_REPORT_OWED_STATUSES]


def overdue_reports(db: sqlite_utils.Database, actor: User, *, today: date | None = None) -> list[dict]:
    """Every overdue outcome report, for the facilitators: term, organisation, challenge, team,
    checkpoint, due date and days overdue; the most overdue first."""
    authorize_list(actor, "outcome.view_all")
    today = _today(today)
    out = []
    for row in in_my_programmes(actor, "outcome.view_all", _pairing_rows(db, "1 = 1", [], PAIRING_COMPLETED_STATES)):
        reports = _reports(db, row["pairing_id"])
        for cp in checkpoints(row, reports, today):
            if cp["status"] == "overdue":
                out.append({"pairing_id": row["pairing_id"], "term": row["term_name"], "term_id": row["term_id"],
                            "programme_id": row["programme_id"],
                            "acronym": row["acronym"], "acronym_fr": row["acronym_fr"],
                            "department_id": row["department_id"], "challenge": row["challenge_title"],
                            "team": row["team_name"], "checkpoint": cp["checkpoint"], "months": cp["months"],
                            "due_on": cp["due_on"], "days_overdue": (today - date.fromisoformat(cp["due_on"])).days})
    return sorted(out, key=lambda r: (-r["days_overdue"], r["term"], r["challenge"]))


def completed_outcomes(db: sqlite_utils.Database, actor: User, *, term_id: int | None = None,
                       today: date | None = None) -> list[dict]:
    """One record per completed pairing (every term, or ``term_id``'s): term, organisation,
    challenge, the team's name only when the team chose to show it (``team`` None: anonymised),
    the summary, the rubric averages and the latest outcome status. The export reads it."""
    authorize_list(actor, "outcome.view_all")
    where, params = ("p.term_id = ?", [term_id]) if term_id is not None else ("1 = 1", [])
    out = []
    for row in in_my_programmes(actor, "outcome.view_all", _pairing_rows(
            db, where, params, PAIRING_COMPLETED_STATES, "ORDER BY tm.ends_on, tm.id, d.acronym, c.title, t.name")):
        row = _decorate(db, row, _today(today))
        shown = bool(row["summary"] and row["summary"]["show_names"])
        row["team"] = row["team_name"] if shown else None
        out.append(row)
    return out


# --- Validation ------------------------------------------------------------------------------

def clean_links(value: Any) -> tuple[list[str], str | None]:
    """Links from a list or from text (one per line): the clean list and the problem's message key.

    Only absolute ``http``/``https`` addresses with a host, no spaces or control characters, at
    most :data:`MAX_LINKS` of at most :data:`LINK_MAX` characters; duplicates dropped. Shown as
    text, never as live links or Markdown, wherever they appear."""
    if isinstance(value, str):
        items = value.splitlines()
    elif isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    elif value is None:
        items = []
    else:
        return [], "outcome.links_invalid"
    links: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        if len(item) > LINK_MAX:
            return [], "outcome.link_too_long"
        if check_text(item) or any(ch.isspace() for ch in item):
            return [], "outcome.links_invalid"
        try:
            parts = urlsplit(item)
        except ValueError:
            return [], "outcome.links_invalid"
        if parts.scheme.lower() not in LINK_SCHEMES or not parts.hostname or "\\" in item:
            return [], "outcome.links_invalid"
        if item not in links:
            links.append(item)
    if len(links) > MAX_LINKS:
        return [], "outcome.links_too_many"
    return links, None


def validate_summary(data: Mapping) -> tuple[dict[str, Any], dict[str, str]]:
    """(clean values, ``{field: message key}``) of a final summary form."""
    data = data if isinstance(data, Mapping) else {}
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key in SUMMARY_FIELDS:
        text = str(data.get(key) or "").strip()
        if not text:
            errors[key] = "validation.required"
        elif len(text) > SUMMARY_TEXT_MAX:
            errors[key] = "validation.too_long"
        elif check_text(text, multiline=True):
            errors[key] = "validation.control_chars"
        clean[key] = text
    links, problem = clean_links(data.get("links"))
    if problem:
        errors["links"] = problem
    clean["links"] = links
    clean["show_names"] = bool(data.get("show_names"))
    return clean, errors


def _check_version(existing: Mapping | None, expected_version: int | None) -> None:
    """``expected_version`` is the version on screen (0: there was none yet); None: no check."""
    if expected_version is None:
        return
    current = existing["version"] if existing else 0
    if int(expected_version) != current:
        raise StaleRecord(dict(existing) if existing else {"version": 0})


def _require_final_open(row: Mapping, today: date) -> None:
    if not final_work_open(row["term_state"], row["closed_on"], row["ends_on"], today):
        closes = final_work_closes_on(row["term_state"], row["closed_on"], row["ends_on"])
        raise IllegalTransition("outcome.final_closed" if closes else "outcome.final_not_open",
                                f"term {row['term_name']} takes no final work now", term=row["term_name"],
                                state=row["term_state"], move="final", closed_on=closes.isoformat() if closes else "")


# --- Writing ---------------------------------------------------------------------------------

def save_summary(db: sqlite_utils.Database, actor: User, pairing_id: int, data: Mapping, *,
                 expected_version: int | None = None, today: date | None = None) -> dict:
    """The team's final summary, written or revised while the final-work window is open."""
    today = _today(today)
    with storage.transaction(db):
        row = _pairing(db, pairing_id)
        if not _may_read(actor, row, expert_of(db, row["sme_email"])):
            raise NotFound("error.not_found", f"pairing {pairing_id}")
        authorize(actor, "outcome.summary_write", team_id=row["team_id"])
        _require_final_open(row, today)
        clean, errors = validate_summary(data)
        if errors:
            raise ValidationFailed(errors, maximum=MAX_LINKS)
        existing = _summary(db, pairing_id)
        _check_version(existing, expected_version)
        now = storage.now_iso()
        values = {**clean, "submitted_by": actor.id, "updated_at": now}
        if existing is None:
            summary_id = storage.insert(db, "final_summaries", {"pairing_id": pairing_id, **values, "version": 1,
                                                                "submitted_at": now})
        else:
            summary_id = existing["id"]
            storage.update(db, "final_summaries", summary_id, {**values, "version": existing["version"] + 1})
        audit.record(db, actor, "outcome.summary_save", target_type="pairing", target_id=pairing_id,
                     detail={"summary_id": summary_id, "version": existing["version"] + 1 if existing else 1,
                             "show_names": clean["show_names"], "links": len(clean["links"])})
    return get_outcome(db, actor, pairing_id, today=today)


def save_assessment(db: sqlite_utils.Database, actor: User, pairing_id: int, scores: Mapping | None,
                    comments: str, *, expected_version: int | None = None, today: date | None = None) -> dict:
    """The expert's final assessment on the feedback rubric: every score (1-5) and comments."""
    today = _today(today)
    with storage.transaction(db):
        row = _pairing(db, pairing_id)
        expert_id = expert_of(db, row["sme_email"])
        if not _may_read(actor, row, expert_id):
            raise NotFound("error.not_found", f"pairing {pairing_id}")
        authorize(actor, "outcome.assess", user_id=expert_id)
        _require_final_open(row, today)
        errors = validate_feedback({"scores": scores or {}, "comments": comments or ""}, for_submit=True)
        if errors:
            raise ValidationFailed(errors)
        existing = _assessment(db, pairing_id)
        _check_version(existing, expected_version)
        now = storage.now_iso()
        values = {"scores": {c: int(float((scores or {})[c])) for c in RUBRIC}, "comments": str(comments).strip(),
                  "expert_id": actor.id if actor.role == "expert" else expert_id, "updated_at": now}
        if existing is None:
            assessment_id = storage.insert(db, "final_assessments", {"pairing_id": pairing_id, **values,
                                                                     "version": 1, "submitted_at": now})
        else:
            assessment_id = existing["id"]
            storage.update(db, "final_assessments", assessment_id, {**values, "version": existing["version"] + 1})
        audit.record(db, actor, "outcome.assessment_save", target_type="pairing", target_id=pairing_id,
                     detail={"assessment_id": assessment_id, "version": existing["version"] + 1 if existing else 1})
    return get_outcome(db, actor, pairing_id, today=today)


def save_report(db: sqlite_utils.Database, actor: User, pairing_id: int, checkpoint: str, status: str,
                note: str, *, expected_version: int | None = None, today: date | None = None) -> dict:
    """An organisation's outcome report for one checkpoint: a status of ``OUTCOME_STATUSES`` and a
    short note; taken from the checkpoint's due date on, and may be corrected later."""
    today = _today(today)
    note = str(note or "").strip()
    with storage.transaction(db):
        row = _pairing(db, pairing_id)
        if not _may_read(actor, row, expert_of(db, row["sme_email"])):
            raise NotFound("error.not_found", f"pairing {pairing_id}")
        authorize(actor, "outcome.report", department_id=row["department_id"])
        errors = {}
        if checkpoint not in OUTCOME_CHECKPOINTS:
            errors["checkpoint"] = "validation.choice"
        if status not in OUTCOME_STATUSES:
            errors["status"] = "validation.choice"
        if not note:
            errors["note"] = "validation.required"
        elif len(note) > NOTE_MAX:
            errors["note"] = "validation.too_long"
        elif check_text(note, multiline=True):
            errors["note"] = "validation.control_chars"
        if errors:
            raise ValidationFailed(errors, maximum=NOTE_MAX)
        due = outcome_due_on(row["ends_on"], checkpoint)
        if not outcome_report_open(row["term_state"], row["pairing_state"], due, today):
            raise IllegalTransition("outcome.report_not_open", f"checkpoint {checkpoint} not due",
                                    move="report", months=OUTCOME_CHECKPOINTS[checkpoint],
                                    due_on=due.isoformat() if due else "")
        existing = _reports(db, pairing_id).get(checkpoint)
        _check_version(existing, expected_version)
        now = storage.now_iso()
        values = {"status": status, "note": note, "reported_by": actor.id, "updated_at": now}
        if existing is None:
            report_id = storage.insert(db, "outcome_reports", {"pairing_id": pairing_id, "checkpoint": checkpoint,
                                                               **values, "version": 1, "reported_at": now})
        else:
            report_id = existing["id"]
            storage.update(db, "outcome_reports", report_id, {**values, "version": existing["version"] + 1})
        audit.record(db, actor, "outcome.report_save", target_type="pairing", target_id=pairing_id,
                     detail={"report_id": report_id, "checkpoint": checkpoint, "status": status,
                             "from": existing["status"] if existing else None})
    return get_outcome(db, actor, pairing_id, today=today)


# --- Reminders -------------------------------------------------------------------------------

def _ids(db, sql: str, params: list) -> list[int]:
    return [r[0] for r in db.execute(sql, params).fetchall()]


def _params(row: Mapping) -> dict[str, Any]:
    return {"title": row["challenge_title"], "term": row["term_name"], "team": row["team_name"],
            "department": row["acronym"], "department_fr": row["acronym_fr"] or ""}


def _final_reminder_due(row: Mapping, today: date) -> bool:
    if not final_work_open(row["term_state"], row["closed_on"], row["ends_on"], today):
        return False
    end = date.fromisoformat(row["ends_on"][:10]) if row["ends_on"] else None
    return row["pairing_state"] in PAIRING_COMPLETED_STATES or (
        end is not None and today >= end - timedelta(days=REMIND_FINAL_WORK_DAYS_BEFORE_END))


def due_reminders(db: sqlite_utils.Database, *, today: date | None = None) -> dict[str, int]:
    """``portal notify due``'s outcome part; idempotent (each notification has its dedupe key).

    * each outcome report: the organisation's representatives, once when it falls due and once
      when it is overdue;
    * each final summary not written: the team's members, once, from
      :data:`REMIND_FINAL_WORK_DAYS_BEFORE_END` days before the term's end while the window is open;
    * each final assessment not given: the pairing's expert, once, likewise.

    Returns the notifications created: ``{"reports_due", "reports_overdue", "summaries", "assessments"}``.
    """
    today = _today(today)
    counts = {"reports_due": 0, "reports_overdue": 0, "summaries": 0, "assessments": 0}
    with storage.transaction(db):
        for row in _pairing_rows(db, "1 = 1", []):
            params = _params(row)
            if _final_reminder_due(row, today):
                closes = final_work_closes_on(row["term_state"], row["closed_on"], row["ends_on"])
                final_params = {**params, "closes_on": closes.isoformat() if closes else row["ends_on"]}
                if _summary(db, row["pairing_id"]) is None:
                    members = _ids(db, "SELECT id FROM users WHERE role = 'student' AND team_id = ?", [row["team_id"]])
                    counts["summaries"] += len(notifications.notify(
                        db, "final_summary_open", members, params=final_params, term_id=row["term_id"],
                        dedupe_key=f"final_summary_open:{row['pairing_id']}"))
                expert_id = expert_of(db, row["sme_email"])
                if _assessment(db, row["pairing_id"]) is None and expert_id is not None:
                    counts["assessments"] += len(notifications.notify(
                        db, "final_assessment_open", [expert_id], params=final_params, term_id=row["term_id"],
                        dedupe_key=f"final_assessment_open:{row['pairing_id']}"))
            if row["pairing_state"] not in PAIRING_COMPLETED_STATES:
                continue
            reps = _ids(db, "SELECT id FROM users WHERE role = 'department_rep' AND department_id = ?",
                        [row["department_id"]])
            for cp in checkpoints(row, _reports(db, row["pairing_id"]), today):
                if cp["status"] not in OUTCOME_REPORT_OWED_STATUSES:
                    continue
                kind = f"outcome_report_{cp['status']}"
                made = notifications.notify(db, kind, reps, params={**params, "months": cp["months"],
                                                                    "due_on": cp["due_on"]},
                                            term_id=row["term_id"],
                                            dedupe_key=f"{kind}:{row['pairing_id']}:{cp['checkpoint']}")
                counts["reports_due" if cp["status"] == "due" else "reports_overdue"] += len(made)
        if any(counts.values()):
            audit.record(db, None, "notification.outcome_reminders", actor_email="system",
                         detail={**counts, "today": today.isoformat()})
    return counts
