"""E-mail: SMTP settings from the environment, and the sender that delivers the outbox.

Settings come from the environment only, never from the database (a copy of the database must
not carry a mail password): ``PORTAL_SMTP_HOST`` (unset: no e-mail at all), ``PORTAL_SMTP_PORT``,
``PORTAL_SMTP_USER``, ``PORTAL_SMTP_PASSWORD``, ``PORTAL_SMTP_FROM`` and ``PORTAL_SMTP_SECURITY``
(``none`` | ``starttls`` | ``ssl``). Pages never talk to SMTP: they queue (see
:mod:`matching.notifications`); ``portal notify send`` (cron) calls :func:`send_pending`.

Delivery, at most once per message as far as SMTP allows
--------------------------------------------------------
Every message gets its Message-ID when it is queued, and keeps it on every attempt.
:func:`send_pending` *claims* due messages (``queued -> sending``, attempt counted, claim time
stored) in one short transaction (on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so senders
running at once on several servers claim disjoint messages), then sends each one and marks it
``sent`` in its own transaction right after the server accepted it. So:

* a crash after queueing and before sending loses nothing: the message waits, ``queued``;
* a crash after claiming and before the server accepted it: the claim's lease
  (:data:`LEASE`) runs out and the next run sends it, once;
* a crash in the short window after the server accepted and before the mark: the next run after
  the lease sends it again **with the same Message-ID**. A server or mailbox that de-duplicates
  on Message-ID (many do: Gmail and Exchange Online collapse them; so does the test server)
  delivers one; one that does not delivers a second copy that mail clients show as the same
  message. SMTP has no way to ask "did you get this one?", so this window cannot be closed; it
  is as narrow as one UPDATE.

A refusal (4xx, or a connection refused, reset or timed out) puts the message back to
``queued`` with a later attempt time (:data:`BACKOFF`), and the rest of that run's claims too
when the connection is gone; a permanent refusal (5xx) or :data:`MAX_ATTEMPTS` attempts end in
``failed`` with the server's answer in ``last_error``.
"""
from __future__ import annotations

import html
import os
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Callable

import sqlite_utils

from . import db as storage
from .lifecycle import OUTBOX_CLAIMABLE_STATES, OUTBOX_UNDELIVERED_STATES, states_sql
from .notifications import ACCOUNT_PAGE, SECRET_PREFIX, mail_domain, page_url

SECURITY_CHOICES = ("none", "starttls", "ssl")
#: How long a claim holds: a message still ``sending`` after this was claimed by a sender that died.
LEASE = timedelta(minutes=10)
#: Wait before attempt 2, 3, ...; the last value repeats.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
           timedelta(hours=4))
MAX_ATTEMPTS = 8
BATCH = 200
TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str
    password: str
    sender: str
    security: str
    timeout: float = TIMEOUT_SECONDS

    def describe(self) -> str:
        """Where mail goes, without the password."""
        who = f"{self.user}@" if self.user else ""
        return f"{who}{self.host}:{self.port} ({self.security})"


class SettingsError(ValueError):
    """A PORTAL_SMTP_* variable holds something unusable."""


def settings(env=None) -> SmtpSettings | None:
    """The SMTP settings from the environment; None when ``PORTAL_SMTP_HOST`` is unset (no mail)."""
    env = os.environ if env is None else env
    host = (env.get("PORTAL_SMTP_HOST") or "").strip()
    if not host:
        return None
    security = (env.get("PORTAL_SMTP_SECURITY") or "starttls").strip().lower()
    if security not in SECURITY_CHOICES:
        raise SettingsError(f"PORTAL_SMTP_SECURITY must be one of {', '.join(SECURITY_CHOICES)}, not {security!r}")
    default_port = {"none": 25, "starttls": 587, "ssl": 465}[security]
    try:
        port = int(env.get("PORTAL_SMTP_PORT") or default_port)
    except ValueError:
        raise SettingsError("PORTAL_SMTP_PORT must be a number") from None
    sender = (env.get("PORTAL_SMTP_FROM") or "").strip()
    if not sender:
        raise SettingsError("PORTAL_SMTP_FROM must be set to the sender's address")
    return SmtpSettings(host=host, port=port, user=env.get("PORTAL_SMTP_USER") or "",
                        password=env.get("PORTAL_SMTP_PASSWORD") or "", sender=sender, security=security)


def connect(config: SmtpSettings) -> smtplib.SMTP:
    """An open, authenticated SMTP connection (STARTTLS or SMTPS with certificate checks)."""
    context = ssl.create_default_context()
    if config.security == "ssl":
        smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
    else:
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        if config.security == "starttls":
            smtp.starttls(context=context)
    if config.user:
        smtp.login(config.user, config.password)
    return smtp


def build_message(config: SmtpSettings, row: dict) -> EmailMessage:
    """The e-mail of an outbox row: plain text with an HTML alternative, its fixed Message-ID,
    and an unsubscribe link to the person's preferences."""
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = row["recipient"]
    message["Subject"] = row["subject"]
    message["Message-ID"] = row["message_id"]
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["List-Unsubscribe"] = f"<{page_url(ACCOUNT_PAGE)}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row["body_text"])
    message.add_alternative(row["body_html"], subtype="html")
    message["Content-Language"] = row.get("language") or "en"   # after the body: set_content clears Content-*
    return message


# --- The sender ------------------------------------------------------------------------------

def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(timezone.utc)).replace(microsecond=0)


def claim(db: sqlite_utils.Database, *, now: datetime | None = None, limit: int = BATCH) -> list[dict]:
    """Claim the due messages (queued and due, or ``sending`` past the lease) for this run."""
    now = _now(now)
    claimable, states = states_sql("status", OUTBOX_CLAIMABLE_STATES)
    # PostgreSQL: FOR UPDATE SKIP LOCKED, without the write lock; two senders on two servers
    # claim disjoint messages (SQLite: BEGIN IMMEDIATE, one claimer at a time).
    with storage.claim_transaction(db) as skip_locked:
        rows = list(db.query(
            f"SELECT * FROM outbox WHERE ({claimable} AND next_attempt_at <= ?) "
            "OR (status = 'sending' AND claimed_at <= ?) ORDER BY id LIMIT ?" + skip_locked,
            [*states, now.isoformat(), (now - LEASE).isoformat(), int(limit)]))
        for row in rows:
            db.execute("UPDATE outbox SET status = 'sending', claimed_at = ?, attempts = attempts + 1 WHERE id = ?",
                       [now.isoformat(), row["id"]])
            row["attempts"] += 1
    return rows


def _mark_sent(db: sqlite_utils.Database, row: dict, now: datetime) -> None:
    """Mark a message delivered; one that carried a secret (a reset link) keeps no copy of it."""
    with storage.transaction(db):
        db.execute("UPDATE outbox SET status = 'sent', sent_at = ?, last_error = '' WHERE id = ?",
                   [now.isoformat(), row["id"]])
        if row["message_id"].startswith(SECRET_PREFIX):
            db.execute("UPDATE outbox SET body_text = '', body_html = '' WHERE id = ?", [row["id"]])


def _mark_failed(db: sqlite_utils.Database, row: dict, now: datetime, error: str, *, permanent: bool) -> str:
    """Back to ``queued`` with a later attempt, or ``failed``; returns which."""
    if permanent or row["attempts"] >= MAX_ATTEMPTS:
        status, next_at = "failed", now
    else:
        status, next_at = "queued", now + BACKOFF[min(row["attempts"], len(BACKOFF)) - 1]
    with storage.transaction(db):
        db.execute("UPDATE outbox SET status = ?, next_attempt_at = ?, last_error = ?, claimed_at = NULL WHERE id = ?",
                   [status, next_at.isoformat(), error[:500], row["id"]])
    return status


def _describe(err: BaseException) -> str:
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{rcpt}: {code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
                         for rcpt, (code, msg) in err.recipients.items())
    if isinstance(err, smtplib.SMTPResponseException):
        text = err.smtp_error.decode(errors="replace") if isinstance(err.smtp_error, bytes) else str(err.smtp_error)
        return f"{err.smtp_code} {text}"
    return f"{type(err).__name__}: {err}"


def _permanent(err: BaseException) -> bool:
    """5xx answers are final; everything else (4xx, network, timeouts) is worth another try."""
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in err.recipients.values())
    if isinstance(err, smtplib.SMTPResponseException):
        return err.smtp_code >= 500 and not isinstance(err, smtplib.SMTPServerDisconnected)
    return False


def send_pending(db: sqlite_utils.Database, config: SmtpSettings | None = None, *, now: datetime | None = None,
                 limit: int = BATCH, opener: Callable[[SmtpSettings], smtplib.SMTP] = connect) -> dict[str, int]:
    """Deliver the due messages of the outbox. ``{"sent", "retry", "failed", "waiting"}``.

    Without SMTP settings nothing is claimed or tried: ``waiting`` says how many messages wait.
    """
    config = config if config is not None else settings()
    result = {"sent": 0, "retry": 0, "failed": 0, "waiting": 0}
    if config is None:
        result["waiting"] = waiting(db)
        return result
    rows = claim(db, now=now, limit=limit)
    if not rows:
        result["waiting"] = waiting(db)
        return result
    smtp = None
    try:
        smtp = opener(config)
    except (OSError, smtplib.SMTPException) as err:
        for row in rows:
            result["retry" if _mark_failed(db, row, _now(now), _describe(err), permanent=False) == "queued"
                   else "failed"] += 1
        result["waiting"] = waiting(db)
        return result
    try:
        for i, row in enumerate(rows):
            try:
                smtp.send_message(build_message(config, row), from_addr=config.sender, to_addrs=[row["recipient"]])
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as err:
                status = _mark_failed(db, row, _now(now), _describe(err), permanent=_permanent(err))
                result["retry" if status == "queued" else "failed"] += 1
                continue
            except (OSError, smtplib.SMTPException) as err:
                # The connection is gone: this message and the rest of the claims wait for later.
                for left in rows[i:]:
                    status = _mark_failed(db, left, _now(now), _describe(err), permanent=False)
                    result["retry" if status == "queued" else "failed"] += 1
                break
            _mark_sent(db, row, _now(now))
            result["sent"] += 1
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
    result["waiting"] = waiting(db)
    return result


def waiting(db: sqlite_utils.Database) -> int:
    """Messages not delivered yet (queued, or claimed and not marked)."""
    undelivered, states = states_sql("status", OUTBOX_UNDELIVERED_STATES)
    return db.execute(f"SELECT COUNT(*) FROM outbox WHERE {undelivered}", states).fetchone()[0]


def send_test(to: str, config: SmtpSettings | None = None, *, lang: str = "en") -> str:
    """Send one test message now (not through the outbox); returns its Message-ID.

    Raises :class:`SettingsError` without settings, and the SMTP or network error otherwise.
    """
    from .i18n import t
    from .notifications import render_email
    config = config if config is not None else settings()
    if config is None:
        raise SettingsError("PORTAL_SMTP_HOST is not set: e-mail is off")
    rendered = render_email([], lang, subject_text=t("notify.mail.test_subject", lang))
    row = {"recipient": to, "subject": rendered["subject"], "language": lang,
           "message_id": make_msgid(domain=mail_domain()),
           "body_text": t("notify.mail.test_body", lang) + "\n\n" + rendered["text"],
           "body_html": rendered["html"].replace(
               "<body>", f"<body><p>{html.escape(t('notify.mail.test_body', lang))}</p>", 1)}
    smtp = connect(config)
    try:
        smtp.send_message(build_message(config, row), from_addr=config.sender, to_addrs=[to])
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return row["message_id"]


