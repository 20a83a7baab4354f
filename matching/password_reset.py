"""Self-service password reset by e-mail (issue 13 point 5).

:func:`request_reset` takes an e-mail address and gives the same answer whatever it is: when an
account uses it, a single-use token valid for :data:`TOKEN_MINUTES` minutes is made, only its
SHA-256 is stored, and the link carrying the token is queued in the outbox (delivered by
``portal notify send``, like every e-mail: the page never waits on SMTP; the link stays in the
outbox only until it is sent, then its body is blanked). An unknown address
queues nothing and is audited as such; the page says the same sentence for both. Requests per
address are limited (:data:`MAX_REQUESTS_PER_HOUR`), counted on the address typed, so the limit
says nothing about whether an account exists either.

:func:`reset_password` checks the token under the write lock (one use, even from two tabs at
once), sets the new password (the same rules as a change), spends every other token of the
account and ends all the account's sessions. It does not lift a sign-in lock: the lockout
(``PORTAL_MAX_FAILED_SIGNINS``) still applies to the next sign-in.
"""
from __future__ import annotations

import hashlib
import html
import secrets
from datetime import datetime, timedelta, timezone

import sqlite_utils

from . import audit
from . import db as storage
from .accounts import hash_password
from .errors import ValidationFailed
from .i18n import LANGUAGES, t
from .models import User, is_email, validate_password
from .notifications import SECRET_PREFIX, base_url, mail_domain, queue_email

TOKEN_MINUTES = 30
MAX_REQUESTS_PER_HOUR = 3


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(timezone.utc)).replace(microsecond=0)


def reset_link(token: str) -> str:
    """The sign-in page's address with the token (the page asks for the new password)."""
    return f"{base_url()}/?reset={token}"


def _render(link: str, lang: str) -> dict[str, str]:
    """The reset e-mail: the reader's language first, the other after, as every portal e-mail."""
    text, page = [], []
    other = next(x for x in LANGUAGES if x != lang)
    for i, language in enumerate((lang, other)):
        if i:
            text.append("-" * 40)
            page.append("<hr>")
        else:
            text.append(t("notify.mail.other_language_follows", language))
            page.append(f"<p><em>{html.escape(t('notify.mail.other_language_follows', language))}</em></p>")
        text.append(f"{t('notify.reset.subject', language)}\n{t('notify.reset.body', language)}\n"
                    f"{t('notify.reset.link', language)}: {link}\n")
        page.append(f"<h3>{html.escape(t('notify.reset.subject', language))}</h3>"
                    f"<p>{html.escape(t('notify.reset.body', language))}</p>"
                    f'<p><a href="{html.escape(link, quote=True)}">{html.escape(t("notify.reset.link", language))}</a></p>')
    return {"subject": t("notify.reset.subject", lang), "text": "\n".join(text),
            "html": "<!DOCTYPE html><html><body>" + "".join(page) + "</body></html>"}


def request_reset(db: sqlite_utils.Database, email: str, *, now: datetime | None = None) -> None:
    """Queue a reset link for the account using ``email``, if any. The same answer either way:
    nothing, or ``ValidationFailed`` for a malformed address or too many requests for it."""
    now = _now(now)
    typed = (email or "").strip()
    if not is_email(typed):
        raise ValidationFailed({"email": "validation.email"})
    token = secrets.token_urlsafe(32)
    with storage.transaction(db):
        since = (now - timedelta(hours=1)).isoformat()
        recent = db.execute("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.reset_requested' "
                            "AND actor_email = ? COLLATE NOCASE AND at >= ?", [typed.lower(), since]).fetchone()[0]
        if recent >= MAX_REQUESTS_PER_HOUR:
            raise ValidationFailed({"email": "notify.reset.too_many"})
        row = storage.one(db, "SELECT id, email, language FROM users WHERE email = ? COLLATE NOCASE", [typed])
        audit.record(db, None, "auth.reset_requested", target_type="user", target_id=row["id"] if row else "",
                     actor_email=typed.lower(), detail={"known": row is not None})
        if row is None:
            return
        storage.insert(db, "password_resets", {
            "user_id": row["id"], "token_hash": _digest(token), "created_at": now.isoformat(),
            "expires_at": (now + timedelta(minutes=TOKEN_MINUTES)).isoformat()})
        queue_email(db, recipient=row["email"], language=row["language"], user_id=row["id"],
                    rendered=_render(reset_link(token), row["language"]),
                    message_id=f"{SECRET_PREFIX}{secrets.token_hex(12)}@{mail_domain()}>")


def token_is_valid(db: sqlite_utils.Database, token: str | None, *, now: datetime | None = None) -> bool:
    """Whether the link's token can still be used (the page asks before showing the form)."""
    return _usable(db, token, _now(now)) is not None


def _usable(db, token: str | None, now: datetime) -> dict | None:
    if not token or len(token) > 200:
        return None
    row = storage.one(db, "SELECT * FROM password_resets WHERE token_hash = ?", [_digest(token)])
    if row is None or row["used_at"] is not None or datetime.fromisoformat(row["expires_at"]) <= now:
        return None
    return row


def reset_password(db: sqlite_utils.Database, token: str | None, new: str, *, now: datetime | None = None) -> User:
    """Set a new password with a reset token; the token and the account's other tokens are spent
    and every session of the account ends. Refused: a used, expired or unknown token
    (``{"token": "notify.reset.invalid"}``), a weak password (``{"new": ...}``)."""
    from . import sessions
    from .accounts import get_user
    now = _now(now)
    row = _usable(db, token, now)
    if row is None:
        raise ValidationFailed({"token": "notify.reset.invalid"})
    user = get_user(db, row["user_id"])
    problems = validate_password(new or "", email=user.email, name=user.name)
    if problems:
        raise ValidationFailed({"new": problems["password"]})
    new_hash = hash_password(new)   # scrypt outside the write lock
    with storage.transaction(db):
        if _usable(db, token, now) is None:     # spent meanwhile (another tab): once only
            raise ValidationFailed({"token": "notify.reset.invalid"})
        db.execute("UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL",
                   [now.isoformat(), user.id])
        storage.update(db, "users", user.id, {"password_hash": new_hash})
        audit.record(db, user, "auth.password_reset", target_type="user", target_id=user.id)
        sessions.revoke_sessions(db, user.id, reason="password_reset")
    return get_user(db, user.id)
