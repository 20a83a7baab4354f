"""Notifications: each event that needs someone reaches exactly the people concerned.

An event (a challenge submitted, returned or approved, pairings published, a feedback round
opened or its due date moved, feedback submitted, a team's reply, a message in an entry's
thread, a term moved, a due or overdue entry) becomes one
*notification* per person concerned: a row of ``notifications`` naming the person, the kind of
event, its parameters (titles, names, dates: the words of the message are in the catalogue,
``matching/messages/notifications.toml``, so each person reads it in their own language, at the
time they read it) and the page that acts on it. The recipients are computed from the data: a
team's feedback reaches that team's members only, a department's challenge that department's
representatives (and the facilitators) only.

:func:`notify` must run inside the transaction of the state change that causes it (it refuses
otherwise), so a crash loses both or neither. In the same transaction, for a person who chose
e-mail *immediately*, the e-mail is rendered in their language and queued in the ``outbox``;
for *daily digest* the notification waits for :func:`queue_digests`; *in-app only* stops at the
inbox. The outbox is delivered by :mod:`matching.mail` (``portal notify send``, from cron): no
page ever waits on an SMTP server, and with no SMTP configured nothing tries to send while the
inbox still fills.

Reminders: :func:`due_reminders` (``portal notify due``, daily) tells each expert once about an
entry due within :data:`matching.feedback.DUE_SOON_DAYS` days and once when it is overdue, and
sends the facilitators one overdue digest per term and day; a facilitator may also remind the
experts of a round's open entries (:func:`remind_round`), at most once a day per round.
"""
from __future__ import annotations

import html
import json
import os
import secrets
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

import sqlite_utils

from . import audit
from . import db as storage
from .errors import IllegalTransition, NotFound, ValidationFailed
from .i18n import LANGUAGES, format_day, t
from .lifecycle import (FEEDBACK_OWED_STATES, PAIRING_LIVE_STATES, PAIRING_VISIBLE_STATES, TERM_STATES_GIVING_FEEDBACK,
                        states_sql)
from .models import User
from .permissions import SOME_PROGRAMME, authorize

#: A person's e-mail choice (``users.email_delivery``); every notification reaches the inbox.
DELIVERY_CHOICES = ("immediately", "digest", "in_app")
DEFAULT_DELIVERY = "immediately"

#: kind -> the page that acts on it (the inbox's link; the e-mail's link is the page's address).
KINDS: dict[str, str] = {
    "challenge_submitted": "views/fac_review.py",
    "challenge_returned": "views/dept_challenges.py",
    "challenge_approved": "views/dept_challenges.py",
    "pairing_published_team": "views/student_pairing.py",
    "pairing_withdrawn_team": "views/student_pairing.py",
    "pairing_published_department": "views/dept_teams.py",
    "pairing_published_expert": "views/expert_teams.py",
    "round_opened": "views/expert_teams.py",
    "entry_due_soon": "views/expert_teams.py",
    "entry_overdue": "views/expert_teams.py",
    "entry_reminder": "views/expert_teams.py",
    "overdue_digest": "views/fac_feedback.py",
    "feedback_submitted": "views/student_feedback.py",
    "team_replied": "views/expert_teams.py",
    "thread_message_team": "views/student_feedback.py",
    "thread_message_expert": "views/expert_teams.py",
    "round_due_moved": "views/expert_teams.py",
    "term_moved": "views/home.py",
    # Outcomes (matching/outcomes.py, issue 17)
    "final_summary_open": "views/student_summary.py",
    "final_assessment_open": "views/expert_final.py",
    "outcome_report_due": "views/dept_outcomes.py",
    "outcome_report_overdue": "views/dept_outcomes.py",
}
INBOX_PAGE = "views/inbox.py"
ACCOUNT_PAGE = "views/account.py"
#: The page Streamlit serves at the root address (every role's first page).
HOME_PAGE = "views/home.py"
#: How long a facilitator waits before reminding the experts of the same round again.
REMIND_INTERVAL = timedelta(days=1)


# --- Settings --------------------------------------------------------------------------------

def base_url() -> str:
    """The portal's public address (``PORTAL_URL``), the start of every link in an e-mail."""
    return (os.environ.get("PORTAL_URL") or "http://localhost:8501").rstrip("/")


def page_url(page: str) -> str:
    """The address of a page: Streamlit serves a page file at its name, the first page at ``/``."""
    if page == HOME_PAGE or not page:
        return base_url() + "/"
    return f"{base_url()}/{page.rsplit('/', 1)[-1].removesuffix('.py')}"


def mail_domain() -> str:
    """The right-hand side of the Message-IDs (the sender address's domain)."""
    sender = os.environ.get("PORTAL_SMTP_FROM") or "portal@localhost"
    return sender.rsplit("@", 1)[-1].strip("> ") or "localhost"


# --- Rendering -------------------------------------------------------------------------------

def localised(params: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """Parameters as a person reads them: dates (``*_on``) in their language, a term state as a
    word, a department by its acronym in their language (``department_fr``: MPO for DFO)."""
    out = {}
    for key, value in params.items():
        if key == "department" and lang == "fr" and params.get("department_fr"):
            out[key] = params["department_fr"]      # the department's French acronym (EDSC, MPO...)
        elif key.endswith("_on") and value:
            out[key] = format_day(str(value), lang)
        elif key == "state":
            out[key] = t("term_state." + str(value), lang)
        else:
            out[key] = value
    return out


def subject(kind: str, params: Mapping[str, Any], lang: str) -> str:
    return t(f"notify.{kind}.subject", lang, **localised(params, lang))


def body(kind: str, params: Mapping[str, Any], lang: str) -> str:
    return t(f"notify.{kind}.body", lang, **localised(params, lang))


def _other(lang: str) -> str:
    return next(other for other in LANGUAGES if other != lang)


def render_email(items: list[tuple[str, Mapping[str, Any], str]], lang: str, *,
                 subject_text: str | None = None) -> dict[str, str]:
    """``{subject, text, html}`` of an e-mail about ``items`` (kind, params, page), bilingual:
    the recipient's language first, the other after ("Le français suit"), as GC mail is.

    The HTML alternative escapes every piece of text (titles, comments and names are what
    people typed); the links are the portal's own addresses.
    """
    if subject_text is None:
        kind, params, _ = items[0]
        subject_text = subject(kind, params, lang)
    text_parts, html_parts = [], []
    for i, language in enumerate((lang, _other(lang))):
        if i:
            text_parts.append("-" * 40)
            html_parts.append("<hr>")
        text_parts.append(t("notify.mail.other_language_follows", language) if i == 0 else "")
        html_parts.append(f"<p><em>{html.escape(t('notify.mail.other_language_follows', language))}</em></p>"
                          if i == 0 else "")
        for kind, params, page in items:
            link = page_url(page)
            title = subject(kind, params, language)
            text_parts.append(f"{title}\n{body(kind, params, language)}\n{t('notify.mail.open', language)}: {link}\n")
            html_parts.append(
                f"<h3>{html.escape(title)}</h3><p>{html.escape(body(kind, params, language))}</p>"
                f'<p><a href="{html.escape(link, quote=True)}">{html.escape(t("notify.mail.open", language))}</a></p>')
        unsubscribe = page_url(ACCOUNT_PAGE)
        text_parts.append(t("notify.mail.footer", language, link=unsubscribe))
        html_parts.append(f"<p><small>{html.escape(t('notify.mail.footer_html', language))} "
                          f'<a href="{html.escape(unsubscribe, quote=True)}">'
                          f"{html.escape(t('notify.mail.preferences', language))}</a></small></p>")
    text = "\n".join(part for part in text_parts if part is not None)
    page = ("<!DOCTYPE html><html><body>" + "".join(html_parts) + "</body></html>")
    return {"subject": subject_text, "text": text, "html": page}


# --- Queueing --------------------------------------------------------------------------------

def new_message_id() -> str:
    """A globally unique Message-ID, fixed when the message is queued and kept on every retry."""
    return f"<{secrets.token_hex(12)}.portal@{mail_domain()}>"


#: Message-IDs of e-mails that carry a secret (a password-reset link): their bodies are blanked
#: once sent (see :func:`matching.mail._mark_sent`).
SECRET_PREFIX = "<secret."


def queue_email(db: sqlite_utils.Database, *, recipient: str, language: str, rendered: Mapping[str, str],
                user_id: int | None = None, message_id: str | None = None) -> int:
    """Put one e-mail in the outbox (inside the caller's transaction); its id."""
    now = storage.now_iso()
    return storage.insert(db, "outbox", {
        "message_id": message_id or new_message_id(), "user_id": user_id, "recipient": recipient,
        "language": language if language in LANGUAGES else "en", "subject": rendered["subject"],
        "body_text": rendered["text"], "body_html": rendered["html"], "status": "queued", "attempts": 0,
        "next_attempt_at": now, "created_at": now})


def _require_transaction(db: sqlite_utils.Database) -> None:
    open_ = db.in_transaction if storage.dialect(db) == "postgresql" else db.conn.in_transaction
    if not open_:
        raise RuntimeError("notify() runs inside the transaction of the change it reports")


def notify(db: sqlite_utils.Database, kind: str, recipients: Iterable[int], *, params: Mapping[str, Any] | None = None,
           term_id: int | None = None, actor: User | None = None, dedupe_key: str | None = None) -> list[int]:
    """One notification of ``kind`` for each of ``recipients`` (user ids; the actor, who knows,
    is left out); the e-mail queued for those who want it now. Returns the notification ids.

    Inside the transaction of the change it reports. With ``dedupe_key``, a person who already
    has a notification with that key gets no second one (what makes reminders idempotent).
    """
    _require_transaction(db)
    if kind not in KINDS:
        raise KeyError(f"unknown notification kind {kind!r}")
    params = dict(params or {})
    page = KINDS[kind]
    wanted = sorted({int(r) for r in recipients if r is not None} - ({actor.id} if actor and actor.id else set()))
    created = []
    for user_id in wanted:
        person = storage.one(db, "SELECT id, email, language, email_delivery FROM users WHERE id = ?", [user_id])
        if person is None:
            continue
        if dedupe_key and storage.one(db, "SELECT id FROM notifications WHERE user_id = ? AND dedupe_key = ?",
                                      [user_id, dedupe_key]):
            continue
        delivery = person["email_delivery"] if person["email_delivery"] in DELIVERY_CHOICES else DEFAULT_DELIVERY
        email = {"immediately": "now", "digest": "digest"}.get(delivery, "none")
        outbox_id = None
        if email == "now":
            rendered = render_email([(kind, params, page)], person["language"])
            outbox_id = queue_email(db, recipient=person["email"], language=person["language"],
                                    rendered=rendered, user_id=user_id)
        created.append(storage.insert(db, "notifications", {
            "user_id": user_id, "kind": kind, "params": params, "page": page, "term_id": term_id,
            "dedupe_key": dedupe_key, "email": email, "outbox_id": outbox_id, "created_at": storage.now_iso()}))
    return created


# --- Who is concerned ------------------------------------------------------------------------

def _ids(db, sql: str, params: list | tuple = ()) -> list[int]:
    return [row[0] for row in db.execute(sql, list(params)).fetchall()]


def _facilitators(db, term_id: int | None) -> list[int]:
    """The facilitators of a term's programme: those limited to no programme, and those whose
    programmes include it (``facilitator_programmes``)."""
    return _ids(db, "SELECT u.id FROM users u WHERE u.role = 'facilitator' AND ("
                    "NOT EXISTS (SELECT 1 FROM facilitator_programmes f WHERE f.user_id = u.id) OR EXISTS ("
                    "SELECT 1 FROM facilitator_programmes f JOIN terms tm ON tm.programme_id = f.programme_id "
                    "WHERE f.user_id = u.id AND tm.id = ?))", [term_id])


def _department_reps(db, department_id: int | None) -> list[int]:
    return _ids(db, "SELECT id FROM users WHERE role = 'department_rep' AND department_id = ?", [department_id])


def _team_members(db, team_id: int | None) -> list[int]:
    return _ids(db, "SELECT id FROM users WHERE role = 'student' AND team_id = ?", [team_id])


def _challenge_experts(db, sme_email: str | None) -> list[int]:
    if not (sme_email or "").strip():
        return []
    return _ids(db, "SELECT id FROM users WHERE role = 'expert' AND email = ? COLLATE NOCASE", [sme_email.strip()])


def _term_people(db, term_id: int) -> list[int]:
    """Everyone in a term: its teams' members, the representatives of the departments with a
    challenge in it, the experts of its published pairings, and the facilitators."""
    visible, states = states_sql("p.state", PAIRING_VISIBLE_STATES)
    people = set(_ids(db, "SELECT u.id FROM users u JOIN teams tm ON tm.id = u.team_id "
                          "WHERE u.role = 'student' AND tm.term_id = ?", [term_id]))
    people |= set(_ids(db, "SELECT DISTINCT u.id FROM users u JOIN challenges c ON c.department_id = u.department_id "
                           "WHERE u.role = 'department_rep' AND c.term_id = ?", [term_id]))
    people |= set(_ids(db, "SELECT DISTINCT u.id FROM users u JOIN challenges c ON c.sme_email = u.email COLLATE NOCASE "
                           f"JOIN pairings p ON p.challenge_id = c.id WHERE u.role = 'expert' AND p.term_id = ? AND {visible}",
                       [term_id, *states]))
    people |= set(_facilitators(db, term_id))
    return sorted(people)


# --- The events ------------------------------------------------------------------------------

def _challenge(db, challenge_id: int) -> dict:
    return storage.one(db, "SELECT c.*, d.acronym, d.acronym_fr FROM challenges c "
                           "JOIN departments d ON d.id = c.department_id WHERE c.id = ?", [challenge_id])


def challenge_moved(db: sqlite_utils.Database, actor: User, challenge_id: int, move: str) -> list[int]:
    """Submitted: the facilitators. Returned (with the comments) or approved: the department's
    representatives. Other moves tell nobody."""
    row = _challenge(db, challenge_id)
    params = {"title": row["title"], "department": row["acronym"], "department_fr": row["acronym_fr"] or ""}
    if move == "submit":
        return notify(db, "challenge_submitted", _facilitators(db, row["term_id"]), params=params,
                      term_id=row["term_id"], actor=actor)
    if move == "return":
        return notify(db, "challenge_returned", _department_reps(db, row["department_id"]),
                      params={**params, "comments": row["comments"]}, term_id=row["term_id"], actor=actor)
    if move == "approve":
        return notify(db, "challenge_approved", _department_reps(db, row["department_id"]), params=params,
                      term_id=row["term_id"], actor=actor)
    return []


def pairings_published(db: sqlite_utils.Database, actor: User, term_id: int, old: Mapping[int, int],
                       new: Mapping[int, int]) -> list[int]:
    """Each team whose pairing is new or moved: its members, the challenge's department
    representatives and its expert; each team whose pairing was withdrawn: its members."""
    term = storage.one(db, "SELECT name FROM terms WHERE id = ?", [term_id])
    created = []
    for team_id, challenge_id in sorted(new.items()):
        if old.get(team_id) == challenge_id:
            continue
        team = storage.one(db, "SELECT name FROM teams WHERE id = ?", [team_id])
        challenge = _challenge(db, challenge_id)
        params = {"term": term["name"], "team": team["name"], "title": challenge["title"],
                  "department": challenge["acronym"], "department_fr": challenge["acronym_fr"] or ""}
        created += notify(db, "pairing_published_team", _team_members(db, team_id), params=params,
                          term_id=term_id, actor=actor)
        created += notify(db, "pairing_published_department", _department_reps(db, challenge["department_id"]),
                          params=params, term_id=term_id, actor=actor)
        created += notify(db, "pairing_published_expert", _challenge_experts(db, challenge["sme_email"]),
                          params=params, term_id=term_id, actor=actor)
    for team_id, challenge_id in sorted(old.items()):
        if team_id not in new:
            team = storage.one(db, "SELECT name FROM teams WHERE id = ?", [team_id])
            challenge = _challenge(db, challenge_id)
            created += notify(db, "pairing_withdrawn_team", _team_members(db, team_id),
                              params={"term": term["name"], "team": team["name"], "title": challenge["title"]},
                              term_id=term_id, actor=actor)
    return created


_ENTRY_SQL = ("SELECT e.id, e.state, e.expert_id, r.id AS round_id, r.name AS round_name, r.due_on, r.term_id, "
              "tm.name AS term_name, tm.state AS term_state, p.team_id, t.name AS team_name, c.title, "
              "d.acronym AS department, d.acronym_fr AS department_fr FROM feedback_entries e JOIN feedback_rounds r ON r.id = e.round_id "
              "JOIN terms tm ON tm.id = r.term_id JOIN pairings p ON p.id = e.pairing_id "
              "JOIN teams t ON t.id = p.team_id JOIN challenges c ON c.id = p.challenge_id "
              "JOIN departments d ON d.id = c.department_id ")


def _entry(db, entry_id: int) -> dict:
    return storage.one(db, _ENTRY_SQL + "WHERE e.id = ?", [entry_id])


def _entry_params(row: Mapping) -> dict:
    return {"round": row["round_name"], "team": row["team_name"], "title": row["title"],
            "term": row["term_name"], "due_on": row["due_on"]}


def round_opened(db: sqlite_utils.Database, actor: User, round_id: int) -> list[int]:
    """The experts with an entry in the new round, with its due date."""
    return _tell_round_experts(db, actor, "round_opened", round_id)


def _tell_round_experts(db, actor: User, kind: str, round_id: int, *, owed_only: bool = False,
                        **extra: Any) -> list[int]:
    """One notification per expert with live entries in the round (only entries still owed when
    ``owed_only``): the round, its term, its due date and how many entries are theirs."""
    live, states = states_sql("p.state", PAIRING_LIVE_STATES)
    where, params = f"WHERE r.id = ? AND e.expert_id IS NOT NULL AND {live}", [round_id, *states]
    if owed_only:
        owed, owed_states = states_sql("e.state", FEEDBACK_OWED_STATES)
        where, params = f"{where} AND {owed}", [*params, *owed_states]
    by_expert: dict[int, list[dict]] = defaultdict(list)
    for row in db.query(_ENTRY_SQL + where, params):
        by_expert[row["expert_id"]].append(row)
    created = []
    for expert_id, entries in sorted(by_expert.items()):
        first = entries[0]
        created += notify(db, kind, [expert_id], params={
            "round": first["round_name"], "term": first["term_name"], "due_on": first["due_on"],
            "count": len(entries), **extra}, term_id=first["term_id"], actor=actor)
    return created


def feedback_submitted(db: sqlite_utils.Database, actor: User, entry_id: int) -> list[int]:
    """The members of the entry's team (no one else's)."""
    row = _entry(db, entry_id)
    return notify(db, "feedback_submitted", _team_members(db, row["team_id"]), params=_entry_params(row),
                  term_id=row["term_id"], actor=actor)


def team_replied(db: sqlite_utils.Database, actor: User, entry_id: int) -> list[int]:
    """The entry's expert."""
    row = _entry(db, entry_id)
    return notify(db, "team_replied", [row["expert_id"]], params=_entry_params(row), term_id=row["term_id"],
                  actor=actor)


def thread_message(db: sqlite_utils.Database, actor: User, entry_id: int, side: str) -> list[int]:
    """A message in an entry's thread reaches the other side only: the team's members when the
    expert wrote (``side == "expert"``), the entry's expert when the team did."""
    row = _entry(db, entry_id)
    if side == "expert":
        return notify(db, "thread_message_team", _team_members(db, row["team_id"]), params=_entry_params(row),
                      term_id=row["term_id"], actor=actor)
    return notify(db, "thread_message_expert", [row["expert_id"]], params=_entry_params(row),
                  term_id=row["term_id"], actor=actor)


def round_due_moved(db: sqlite_utils.Database, actor: User, round_id: int, old_due_on: str) -> list[int]:
    """The experts who still owe an entry of a round whose due date moved, with the old and new
    dates (entries already given need nobody told)."""
    return _tell_round_experts(db, actor, "round_due_moved", round_id, owed_only=True, old_due_on=old_due_on)


def term_moved(db: sqlite_utils.Database, actor: User, term_id: int, new_state: str) -> list[int]:
    """Everyone in the term (:func:`term_people`)."""
    term = storage.one(db, "SELECT name FROM terms WHERE id = ?", [term_id])
    return notify(db, "term_moved", _term_people(db, term_id), params={"term": term["name"], "state": new_state},
                  term_id=term_id, actor=actor)


# --- Reminders -------------------------------------------------------------------------------

def _owed_entries(db, where: str = "1 = 1", params: list | tuple = ()) -> list[dict]:
    owed, owed_states = states_sql("e.state", FEEDBACK_OWED_STATES)
    live, live_states = states_sql("p.state", PAIRING_LIVE_STATES)
    giving, giving_states = states_sql("tm.state", TERM_STATES_GIVING_FEEDBACK)
    return list(db.query(_ENTRY_SQL + f"WHERE {owed} AND {live} AND {giving} AND {where} ORDER BY r.due_on, t.name",
                         [*owed_states, *live_states, *giving_states, *params]))


def due_reminders(db: sqlite_utils.Database, *, today: date | None = None, days: int | None = None) -> dict[str, int]:
    """Reminders for the open entries of every term giving feedback; idempotent.

    Each expert hears once about each entry due within ``days`` days and once when it is
    overdue; the facilitators get one overdue digest per term and day. Running it twice the same
    day creates nothing new. ``{"due_soon", "overdue", "digests"}``: notifications created.
    """
    from .feedback import DUE_SOON_DAYS
    today = today or date.today()
    horizon = today + timedelta(days=DUE_SOON_DAYS if days is None else days)
    counts = {"due_soon": 0, "overdue": 0, "digests": 0}
    with storage.transaction(db):
        overdue_by_term: dict[int, list[dict]] = defaultdict(list)
        for row in _owed_entries(db):
            due = date.fromisoformat(row["due_on"])
            if due < today:
                overdue_by_term[row["term_id"]].append(row)
                kind = "entry_overdue"
            elif due <= horizon:
                kind = "entry_due_soon"
            else:
                continue
            if row["expert_id"] is None:
                continue
            made = notify(db, kind, [row["expert_id"]], params=_entry_params(row), term_id=row["term_id"],
                          dedupe_key=f"{kind}:{row['id']}")
            counts["overdue" if kind == "entry_overdue" else "due_soon"] += len(made)
        for term_id, rows in sorted(overdue_by_term.items()):
            made = notify(db, "overdue_digest", _facilitators(db, term_id), term_id=term_id,
                          params={"term": rows[0]["term_name"], "count": len(rows),
                                  "rounds": ", ".join(sorted({r["round_name"] for r in rows}))},
                          dedupe_key=f"overdue_digest:{term_id}:{today.isoformat()}")
            counts["digests"] += len(made)
        if any(counts.values()):
            audit.record(db, None, "notification.due_reminders", actor_email="system", detail={**counts, "today": today.isoformat()})
    return counts


def last_reminder(db: sqlite_utils.Database, round_id: int) -> str | None:
    """When a facilitator last reminded the experts of this round (UTC ISO), or None."""
    row = storage.one(db, "SELECT MAX(at) AS at FROM audit_events WHERE action = 'feedback.remind' "
                          "AND target_type = 'feedback_round' AND target_id = ?", [str(round_id)])
    return row["at"] if row else None


def remind_round(db: sqlite_utils.Database, actor: User, round_id: int, *,
                 now: datetime | None = None) -> dict[str, int]:
    """"Remind the experts with open entries" of a round: each such expert gets one reminder
    naming their open entries. Audited; refused within a day of the last one for that round.
    ``{"experts", "entries", "without_account"}``."""
    authorize(actor, "feedback.manage", programme_id=SOME_PROGRAMME)
    now = now or datetime.now(timezone.utc)
    with storage.transaction(db):
        round_row = storage.one(db, "SELECT r.*, tm.state AS term_state, tm.name AS term_name, tm.programme_id "
                                    "FROM feedback_rounds r JOIN terms tm ON tm.id = r.term_id WHERE r.id = ?", [round_id])
        if round_row is None:
            raise NotFound("error.not_found", f"round {round_id}")
        authorize(actor, "feedback.manage", programme_id=round_row["programme_id"])
        if round_row["term_state"] not in TERM_STATES_GIVING_FEEDBACK:
            raise IllegalTransition("term.requires_active", "reminders need an active term",
                                    state=round_row["term_state"], move="remind", term=round_row["term_name"])
        last = last_reminder(db, round_id)
        if last and datetime.fromisoformat(last) + REMIND_INTERVAL > now:
            raise IllegalTransition("notify.remind.too_soon", "reminded less than a day ago", move="remind",
                                    at=last)
        rows = _owed_entries(db, "r.id = ?", [round_id])
        by_expert: dict[int, list[dict]] = defaultdict(list)
        for row in rows:
            if row["expert_id"] is not None:
                by_expert[row["expert_id"]].append(row)
        if not by_expert:
            raise ValidationFailed({"remind": "notify.remind.nobody"})
        for expert_id, entries in sorted(by_expert.items()):
            first = entries[0]
            notify(db, "entry_reminder", [expert_id], params={
                "round": first["round_name"], "term": first["term_name"], "due_on": first["due_on"],
                "count": len(entries), "teams": ", ".join(e["team_name"] for e in entries)},
                term_id=first["term_id"], actor=actor)
        result = {"experts": len(by_expert), "entries": sum(len(v) for v in by_expert.values()),
                  "without_account": sum(1 for r in rows if r["expert_id"] is None)}
        audit.record(db, actor, "feedback.remind", target_type="feedback_round", target_id=round_id,
                     detail=result)
    return result


# --- Daily digest ----------------------------------------------------------------------------

def queue_digests(db: sqlite_utils.Database) -> int:
    """One e-mail per person who chose the daily digest, with every notification not yet
    e-mailed; idempotent (a notification goes into one digest). Returns the e-mails queued."""
    queued = 0
    with storage.transaction(db):
        waiting = list(db.query("SELECT n.*, u.email AS address, u.language FROM notifications n "
                                "JOIN users u ON u.id = n.user_id WHERE n.email = 'digest' AND n.outbox_id IS NULL "
                                "ORDER BY n.user_id, n.id"))
        by_user: dict[int, list[dict]] = defaultdict(list)
        for row in waiting:
            by_user[row["user_id"]].append(row)
        for user_id, rows in by_user.items():
            lang = rows[0]["language"]
            items = [(r["kind"], json.loads(r["params"]), r["page"]) for r in rows]
            rendered = render_email(items, lang, subject_text=t("notify.digest.subject", lang, count=len(items)))
            outbox_id = queue_email(db, recipient=rows[0]["address"], language=lang, rendered=rendered,
                                    user_id=user_id)
            db.execute(f"UPDATE notifications SET outbox_id = ? WHERE id IN ({', '.join('?' for _ in rows)})",
                       [outbox_id, *[r["id"] for r in rows]])
            queued += 1
    return queued


# --- Purge ---------------------------------------------------------------------------------

def purge_term_text(db: sqlite_utils.Database, term_id: int, student_ids: Iterable[int]) -> dict[str, int]:
    """Inside :func:`matching.maintenance.purge_term`: the term's notifications lose their words
    (titles, names, comments), and every e-mail about them or to its students loses its address,
    subject and body. Rows stay, so counts stay right."""
    students = [int(i) for i in student_ids]
    marks = ", ".join("?" for _ in students) or "NULL"
    outbox = db.execute(
        "UPDATE outbox SET recipient = '', subject = '[purged]', body_text = '', body_html = '' "
        f"WHERE (id IN (SELECT outbox_id FROM notifications WHERE term_id = ?) OR user_id IN ({marks})) "
        "AND subject != '[purged]'", [term_id, *students]).rowcount
    notes = db.execute("UPDATE notifications SET params = '{}' WHERE (term_id = ? OR user_id IN (" + marks + ")) "
                       "AND params != '{}'", [term_id, *students]).rowcount
    return {"notifications": notes, "outbox": outbox}


# --- The inbox -------------------------------------------------------------------------------

def _decorate(row: dict) -> dict:
    row["params"] = json.loads(row["params"] or "{}")
    row["unread"] = row["read_at"] is None
    return row


def inbox(db: sqlite_utils.Database, actor: User, *, limit: int = 200) -> list[dict]:
    """The actor's own notifications, unread first, newest first within each."""
    authorize(actor, "notification.read", user_id=actor.id)
    return [_decorate(r) for r in db.query(
        "SELECT * FROM notifications WHERE user_id = ? ORDER BY read_at IS NOT NULL, id DESC LIMIT ?",
        [actor.id, int(limit)])]


def unread_count(db: sqlite_utils.Database, actor: User) -> int:
    authorize(actor, "notification.read", user_id=actor.id)
    return db.execute("SELECT COUNT(*) FROM notifications WHERE user_id = ? AND read_at IS NULL",
                      [actor.id]).fetchone()[0]


def mark_read(db: sqlite_utils.Database, actor: User, notification_id: int) -> dict:
    """Mark one of the actor's notifications read; another person's is "not found"."""
    with storage.transaction(db):
        row = storage.one(db, "SELECT * FROM notifications WHERE id = ?", [notification_id])
        if row is None or row["user_id"] != actor.id:
            raise NotFound("error.not_found", f"notification {notification_id}")
        authorize(actor, "notification.read", user_id=row["user_id"])
        if row["read_at"] is None:
            storage.update(db, "notifications", notification_id, {"read_at": storage.now_iso()})
            audit.record(db, actor, "notification.read", target_type="notification", target_id=notification_id)
        return _decorate(storage.one(db, "SELECT * FROM notifications WHERE id = ?", [notification_id]))


def mark_all_read(db: sqlite_utils.Database, actor: User) -> int:
    authorize(actor, "notification.read", user_id=actor.id)
    with storage.transaction(db):
        count = db.execute("UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL",
                           [storage.now_iso(), actor.id]).rowcount
        if count:
            audit.record(db, actor, "notification.read_all", target_type="user", target_id=actor.id,
                         detail={"count": count})
    return count


def delivery(db: sqlite_utils.Database, actor: User) -> str:
    authorize(actor, "notification.read", user_id=actor.id)
    row = storage.one(db, "SELECT email_delivery FROM users WHERE id = ?", [actor.id])
    value = row["email_delivery"] if row else DEFAULT_DELIVERY
    return value if value in DELIVERY_CHOICES else DEFAULT_DELIVERY


def set_delivery(db: sqlite_utils.Database, actor: User, choice: str) -> str:
    """The actor's e-mail choice: immediately, daily digest, or in-app only (audited)."""
    authorize(actor, "notification.read", user_id=actor.id)
    if choice not in DELIVERY_CHOICES:
        raise ValidationFailed({"delivery": "validation.choice"})
    with storage.transaction(db):
        before = delivery(db, actor)
        storage.update(db, "users", actor.id, {"email_delivery": choice})
        audit.record(db, actor, "user.set_delivery", target_type="user", target_id=actor.id,
                     detail={"from": before, "to": choice})
    return choice
