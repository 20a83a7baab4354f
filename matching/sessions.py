"""Server-side sign-in sessions, so a reload or a bookmarked page address keeps a person signed in.

A session is a row of ``sessions`` (migration 7). The browser holds only a cookie whose value is
a random secret signed with the portal's key; the table holds the secret's SHA-256, never the
secret, so a copy of the database does not open anyone's session. A session ends (``revoked_at``)
on sign-out, after :func:`accounts.session_idle_minutes` without a request, when the person's
password changes (all of their sessions but the one that changed it), and when the account is
gone or its role is no longer the one it signed in with.

How the cookie reaches the browser (the page cannot set an HttpOnly cookie itself): signing in
creates the row with a *one-time code* (60 seconds, stored hashed, usable once). The page posts
that code to the portal's ``/_portal/session`` route (``session_routes.py``), which redeems it
here: :func:`redeem` draws the session secret, stores its hash and returns the signed cookie
value, which the route sends as ``Set-Cookie: ...; HttpOnly; SameSite=Strict``. The secret is
never seen by the page's script, never in a URL, and never in the Streamlit session.

No Streamlit and no HTTP here: the app and the route call these functions.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import itsdangerous
import sqlite_utils

from . import audit
from . import db as storage
from .models import User

COOKIE_NAME = "portal_session"
#: How long the one-time code handed to the page may wait before it is redeemed.
HANDOFF_SECONDS = 60
#: ``last_seen_at`` is written at most this often per session (one write per click is waste).
TOUCH_EVERY_SECONDS = 30
_SALT = "portal-session-cookie"


def idle_minutes() -> int:
    from .accounts import session_idle_minutes
    return session_idle_minutes()


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- Signing -------------------------------------------------------------------------------

def signing_key(db: sqlite_utils.Database) -> str:
    """``PORTAL_SESSION_SECRET`` when set (several servers over one database share it), else a
    random key made once and kept in ``meta`` (whoever can read the database can read it, but the
    database holds only hashes of session secrets, so the key alone forges nothing)."""
    configured = os.environ.get("PORTAL_SESSION_SECRET", "").strip()
    if configured:
        return configured
    row = storage.one(db, "SELECT value FROM meta WHERE key = 'session_signing_key'")
    if row:
        return row["value"]
    with storage.transaction(db):
        db.execute("INSERT INTO meta (key, value) VALUES ('session_signing_key', ?) ON CONFLICT (key) DO NOTHING",
                   [secrets.token_urlsafe(48)])
    return storage.one(db, "SELECT value FROM meta WHERE key = 'session_signing_key'")["value"]


def _signer(key: str) -> itsdangerous.Signer:
    return itsdangerous.Signer(key, salt=_SALT, digest_method=hashlib.sha256)


def sign(value: str, key: str) -> str:
    """``value.signature``: HMAC-SHA256 under ``key`` (itsdangerous, as Streamlit's own auth cookie)."""
    return _signer(key).sign(value).decode()


def unsign(cookie: str | None, key: str) -> str | None:
    """The secret in a cookie value, or None when it is missing or its signature is wrong."""
    if not cookie:
        return None
    try:
        return _signer(key).unsign(cookie).decode()
    except (itsdangerous.BadSignature, UnicodeError, ValueError):
        return None


# --- Sessions ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Started:
    session_id: int
    handoff_code: str


@dataclass(frozen=True)
class Restored:
    session_id: int
    user: User


def start(db: sqlite_utils.Database, user: User, *, now: datetime | None = None) -> Started:
    """A new session for ``user`` (who has just proved who they are) and its one-time code."""
    now = _now(now)
    code = secrets.token_urlsafe(32)
    with storage.transaction(db):
        session_id = storage.insert(db, "sessions", {
            "user_id": user.id, "role": user.role, "created_at": _iso(now), "last_seen_at": _iso(now),
            "handoff_hash": _digest(code),
            "handoff_expires_at": _iso(now + timedelta(seconds=HANDOFF_SECONDS)),
        })
        # A session is a state change of its own (sign-in may come from a password, SSO or a
        # reset link); its event names the session so an ended one can be traced to its start.
        audit.record(db, user, "auth.session_started", target_type="user", target_id=user.id,
                     detail={"session": session_id})
    return Started(session_id, code)


def redeem(db: sqlite_utils.Database, code: str | None, *, now: datetime | None = None) -> str | None:
    """Exchange a one-time code for the signed cookie value of its session (once, in time).

    The session secret is drawn here, stored only as its hash, and returned signed; None when
    the code is unknown, used, late, or its session has ended.
    """
    now = _now(now)
    if not code or len(code) > 200:
        return None
    secret = secrets.token_urlsafe(32)
    with storage.transaction(db):
        row = storage.one(db, "SELECT * FROM sessions WHERE handoff_hash = ?", [_digest(code)])
        if row is None:
            return None
        db.execute("UPDATE sessions SET handoff_hash = NULL, handoff_expires_at = NULL WHERE id = ?", [row["id"]])
        if row["revoked_at"] or datetime.fromisoformat(row["handoff_expires_at"]) < now:
            return None
        db.execute("UPDATE sessions SET token_hash = ? WHERE id = ?", [_digest(secret), row["id"]])
    return sign(secret, signing_key(db))


def _ended(db, row: dict, now: datetime) -> str | None:
    """Why a live-looking session row can no longer be used (and it is revoked for that), or None."""
    if row["revoked_at"]:
        return row["revoked_reason"] or "revoked"
    if (now - datetime.fromisoformat(row["last_seen_at"])).total_seconds() > idle_minutes() * 60:
        return "idle"
    user = storage.one(db, "SELECT role FROM users WHERE id = ?", [row["user_id"]])
    if user is None:
        return "account_gone"
    if user["role"] != row["role"]:
        return "role_changed"
    return None


def _end(db, row: dict, reason: str, now: datetime) -> None:
    with storage.transaction(db):
        changed = db.execute("UPDATE sessions SET revoked_at = ?, revoked_reason = ? "
                             "WHERE id = ? AND revoked_at IS NULL", [_iso(now), reason, row["id"]]).rowcount
        if changed:
            user = storage.one(db, "SELECT * FROM users WHERE id = ?", [row["user_id"]])
            audit.record(db, User.from_row(user) if user else None, "auth.session_ended", target_type="user",
                         target_id=row["user_id"], reason=reason, detail={"session": row["id"]},
                         actor_email=None if user else "")


def check(db: sqlite_utils.Database, session_id: int, *, now: datetime | None = None) -> tuple[User | None, str]:
    """The user of a session the app holds in memory, refreshing its idle clock; ``(None, why)``
    once it has ended: why it ended (``sign_out``, ``idle``, ``password_changed``, ``account_gone``,
    ``role_changed``, whatever reason :func:`revoke_sessions` was given), or ``unknown``."""
    now = _now(now)
    row = storage.one(db, "SELECT * FROM sessions WHERE id = ?", [session_id])
    if row is None:
        return None, "unknown"
    why = _ended(db, row, now)
    if why:
        if not row["revoked_at"]:
            _end(db, row, why, now)
        return None, why
    if (now - datetime.fromisoformat(row["last_seen_at"])).total_seconds() >= TOUCH_EVERY_SECONDS:
        with storage.transaction(db):
            db.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ? AND revoked_at IS NULL",
                       [_iso(now), session_id])
    from .accounts import load_user
    return load_user(db, storage.one(db, "SELECT * FROM users WHERE id = ?", [row["user_id"]])), ""


def restore(db: sqlite_utils.Database, cookie: str | None, *, now: datetime | None = None) -> tuple[Restored | None, str]:
    """The session a browser's cookie refers to, if it is still open; else ``(None, why)`` with
    ``why`` ``""`` (no cookie), ``tampered``, ``unknown``, or why the session ended (see :func:`check`)."""
    if not cookie:
        return None, ""
    secret = unsign(cookie, signing_key(db))
    if secret is None:
        return None, "tampered"
    row = storage.one(db, "SELECT id FROM sessions WHERE token_hash = ?", [_digest(secret)])
    if row is None:
        return None, "unknown"
    user, why = check(db, row["id"], now=now)
    return (Restored(row["id"], user), "") if user else (None, why)


def session_id_for_cookie(db: sqlite_utils.Database, cookie: str | None) -> int | None:
    secret = unsign(cookie, signing_key(db))
    if secret is None:
        return None
    row = storage.one(db, "SELECT id FROM sessions WHERE token_hash = ?", [_digest(secret)])
    return row["id"] if row else None


def revoke(db: sqlite_utils.Database, session_id: int | None, *, reason: str = "sign_out",
           now: datetime | None = None) -> None:
    """End one session (sign-out). Nothing happens for an unknown or already ended session."""
    if session_id is None:
        return
    now = _now(now)
    with storage.transaction(db):
        db.execute("UPDATE sessions SET revoked_at = ?, revoked_reason = ?, handoff_hash = NULL "
                   "WHERE id = ? AND revoked_at IS NULL", [_iso(now), reason, session_id])


def revoke_sessions(db: sqlite_utils.Database, user_id: int, *, keep: int | None = None,
                    reason: str = "password_changed", now: datetime | None = None) -> int:
    """End every open session of ``user_id`` except ``keep``; the number ended.

    Joins the caller's transaction when there is one (a password change ends the other sessions
    in the same transaction as the new hash and its audit event); audited as
    ``auth.sessions_revoked`` when any was open.
    """
    now = _now(now)
    with storage.transaction(db):
        ended = db.execute("UPDATE sessions SET revoked_at = ?, revoked_reason = ?, handoff_hash = NULL "
                           "WHERE user_id = ? AND revoked_at IS NULL AND id IS NOT ?",
                           [_iso(now), reason, user_id, keep]).rowcount
        if ended:
            audit.record(db, None, "auth.sessions_revoked", target_type="user", target_id=user_id,
                         reason=reason, detail={"count": ended, "kept": keep}, actor_email="system")
    return ended


def open_sessions(db: sqlite_utils.Database, user_id: int) -> list[dict]:
    return list(db.query("SELECT id, created_at, last_seen_at FROM sessions "
                         "WHERE user_id = ? AND revoked_at IS NULL ORDER BY id", [user_id]))
