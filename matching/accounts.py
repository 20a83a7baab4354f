"""Accounts and sign-in (the permission check every service calls is in :mod:`matching.permissions`).

Passwords are hashed with scrypt and a per-user random salt. Sign-in failures count towards a
temporary lock; every attempt is audited; the answer takes the same work whether or not the
e-mail exists and never says which.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

import sqlite_utils

from . import audit
from . import db as storage
from .errors import AuthenticationFailed, NotFound, ValidationFailed
from .models import (LANGUAGES, SHORT_TEXT_MAX, User, findable, is_email, password_has_control, validate_password,
                     validate_user)
from .permissions import authorize

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1

#: The operator running the CLI or the first-run seeding: allowed everything, audited as such.
SYSTEM = User(id=0, email="system", name="System", role="system")


def _setting(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def max_failed_attempts() -> int:
    return _setting("PORTAL_MAX_FAILED_SIGNINS", 5)


def lock_minutes() -> int:
    return _setting("PORTAL_LOCK_MINUTES", 15)


def session_idle_minutes() -> int:
    return _setting("PORTAL_SESSION_MINUTES", 30)


# --- Passwords -----------------------------------------------------------------------------

def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    if password_has_control(password):
        hash_password(secrets.token_hex(8))  # as slow as a real check
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt),
                                n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# Checked when the e-mail is unknown, so both answers cost one scrypt.
_DUMMY_HASH = hash_password(secrets.token_hex(16))


# --- Users ---------------------------------------------------------------------------------

def load_user(db: sqlite_utils.Database, row: dict) -> User:
    """A user from its row, with what :mod:`matching.permissions` needs to know about it: a
    facilitator's programmes (None: every programme)."""
    user = User.from_row(row)
    if user.role == "facilitator":
        from .programmes import facilitator_programme_ids
        user = replace(user, programme_ids=facilitator_programme_ids(db, user.id))
    return user


def get_user(db: sqlite_utils.Database, user_id: int) -> User:
    row = storage.one(db, "SELECT * FROM users WHERE id = ?", [user_id])
    if row is None:
        raise NotFound("error.not_found", f"user {user_id}")
    return load_user(db, row)


def find_user(db: sqlite_utils.Database, email: str) -> User | None:
    if not findable(email):
        return None
    row = storage.one(db, "SELECT * FROM users WHERE email = ? COLLATE NOCASE", [email.strip()])
    return load_user(db, row) if row else None


def create_user(db: sqlite_utils.Database, actor: User, data: dict[str, Any], password: str | None = None, *,
                password_hash: str | None = None, action: str = "user.create") -> User:
    """Create an account (facilitators and the system operator only).

    ``password_hash`` instead of ``password`` lets a bulk import hash (slowly, on purpose)
    before it takes the write lock.
    """
    authorize(actor, "user.create")
    if data.get("role") == "facilitator":
        # A facilitator limited to some programmes must not make one who acts on all of them.
        authorize(actor, "programme.manage")
    data = {**data, "email": str(data.get("email", "")).strip().lower()}
    errors = validate_user(data)
    if password_hash is None:
        errors.update(validate_password(password or "", email=data["email"], name=str(data.get("name") or "")))
    if not errors and find_user(db, data["email"]):
        errors["email"] = "validation.email_taken"
    if errors:
        raise ValidationFailed(errors)
    with storage.transaction(db):
        user_id = storage.insert(db, "users", {
            "email": data["email"], "name": data["name"].strip(), "role": data["role"],
            "department_id": data.get("department_id"), "team_id": data.get("team_id"),
            "password_hash": password_hash or hash_password(password), "language": data.get("language") or "en",
            "created_at": storage.now_iso(),
        })
        audit.record(db, actor, action, target_type="user", target_id=user_id,
                     detail={"email": data["email"], "role": data["role"]})
    return get_user(db, user_id)


def authenticate(db: sqlite_utils.Database, email: str, password: str, *,
                 now: datetime | None = None) -> User:
    """Return the user for a correct e-mail and password, else raise ``auth.failed``.

    After :func:`max_failed_attempts` wrong passwords the account is locked for
    :func:`lock_minutes`; a locked account refuses even the right password, with the same message.
    """
    now = now or datetime.now(timezone.utc)
    email = (email or "").strip()
    row = (storage.one(db, "SELECT id, password_hash FROM users WHERE email = ? COLLATE NOCASE", [email])
           if findable(email) else None)
    # scrypt outside the write lock (it is slow on purpose), and as slow for an unknown e-mail.
    password_ok = verify_password(password or "", row["password_hash"] if row else _DUMMY_HASH)
    with storage.transaction(db):
        # The count and the lock are decided on the row as it is now, under the write lock
        # (BEGIN IMMEDIATE): attempts made at the same moment by other processes all count, and
        # a lock taken by one of them holds against the right password here. The failure is
        # recorded and committed before it is raised, so it counts.
        current = storage.one(db, "SELECT * FROM users WHERE id = ?", [row["id"]]) if row else None
        if current is not None and current["password_hash"] != row["password_hash"]:
            password_ok = False  # the password changed meanwhile: checked against the old one
        user = _record_attempt(db, current, password_ok, now, email)
    if user is None:
        raise AuthenticationFailed("auth.failed")
    return user


def _typed_email(email: str) -> str:
    """What a failed sign-in records as the e-mail: only something shaped like one, since people
    sometimes type their password into the e-mail box."""
    return email[:254] if is_email(email) else "(not an e-mail address)"


def _record_attempt(db, row, password_ok: bool, now: datetime, email: str) -> User | None:
    """Audit one sign-in attempt and update the lock counters; the user when it succeeded.

    Called inside the write transaction with ``row`` read in it, so that ``failed_attempts``
    and ``locked_until`` are the stored ones, not those of before another attempt's commit.
    """
    if row is None:
        audit.record(db, None, "auth.sign_in_failed", target_type="user", actor_email=_typed_email(email),
                     detail={"reason": "unknown"})
        return None
    user = load_user(db, row)
    locked_until = row.get("locked_until")
    if locked_until and datetime.fromisoformat(locked_until) > now:
        audit.record(db, user, "auth.sign_in_failed", target_type="user", target_id=user.id,
                     detail={"reason": "locked"})
        return None
    if not password_ok:
        failed = (row.get("failed_attempts") or 0) + 1
        changes: dict[str, Any] = {"failed_attempts": failed}
        if failed >= max_failed_attempts():
            changes = {"failed_attempts": 0,
                       "locked_until": (now + timedelta(minutes=lock_minutes())).isoformat()}
            audit.record(db, user, "auth.locked", target_type="user", target_id=user.id,
                         detail={"minutes": lock_minutes()})
        storage.update(db, "users", user.id, changes)
        audit.record(db, user, "auth.sign_in_failed", target_type="user", target_id=user.id,
                     detail={"reason": "password"})
        return None
    storage.update(db, "users", user.id, {"failed_attempts": 0, "locked_until": None})
    audit.record(db, user, "auth.sign_in", target_type="user", target_id=user.id)
    return user


def sign_out(db: sqlite_utils.Database, user: User, *, reason: str = "",
             session_id: int | None = None) -> None:
    """Audit the sign-out and end its server-side session (:mod:`matching.sessions`), together."""
    from . import sessions
    with storage.transaction(db):
        sessions.revoke(db, session_id, reason=reason or "sign_out")
        audit.record(db, user, "auth.sign_out", target_type="user", target_id=user.id, reason=reason)


def session_expired(last_seen: float, now: float) -> bool:
    """True when more than :func:`session_idle_minutes` passed between two requests (epoch s)."""
    return now - last_seen > session_idle_minutes() * 60


def change_password(db: sqlite_utils.Database, actor: User, current: str, new: str,
                    confirm: str | None = None, *, session_id: int | None = None) -> int:
    """Replace the actor's password; every other session of theirs ends (the one ``session_id``,
    where they did it, stays). Returns how many sessions were ended.

    Every problem is reported at once: a wrong current password, a weak new one (or the current
    one again), and a confirmation that differs from the new password (when ``confirm`` is given).
    """
    from . import sessions
    errors: dict[str, str] = {}
    row = storage.one(db, "SELECT password_hash FROM users WHERE id = ?", [actor.id])
    current_ok = row is not None and verify_password(current or "", row["password_hash"])
    if not current_ok:
        errors["current"] = "auth.wrong_password"
    problems = validate_password(new, email=actor.email, name=actor.name, current=current)
    if problems:
        errors["new"] = problems["password"]
    elif row is not None and verify_password(new or "", row["password_hash"]):
        errors["new"] = "validation.password_reused"  # the stored one, even if "current" was mistyped
    if confirm is not None and confirm != new:
        errors["confirm"] = "validation.password_confirm_mismatch"
    if errors:
        raise ValidationFailed(errors)
    with storage.transaction(db):
        storage.update(db, "users", actor.id, {"password_hash": hash_password(new)})
        audit.record(db, actor, "auth.password_changed", target_type="user", target_id=actor.id)
        return sessions.revoke_sessions(db, actor.id, keep=session_id, reason="password_changed")


def set_language(db: sqlite_utils.Database, actor: User, language: str) -> User:
    if language not in ("en", "fr"):
        raise ValidationFailed({"language": "validation.choice"})
    with storage.transaction(db):
        storage.update(db, "users", actor.id, {"language": language})
        audit.record(db, actor, "user.set_language", target_type="user", target_id=actor.id,
                     detail={"language": language})
    return get_user(db, actor.id)


def first_account_per_role(db: sqlite_utils.Database) -> dict[str, str]:
    """The first demo account's e-mail for each role, in role order (the demo sign-in list).

    Only accounts the demo loader made (``users.demo``, migration 6) are ever listed: the page
    that shows this list is open to anyone, and a real account's e-mail is not for strangers.
    A database without demo data lists nothing.
    """
    from .models import ROLES
    rows = db.query("SELECT role, MIN(id) AS id FROM users WHERE demo = 1 GROUP BY role")
    first = {r["role"]: r["id"] for r in rows}
    out = {}
    for role in ROLES:
        if role in first:
            out[role] = storage.one(db, "SELECT email FROM users WHERE id = ?", [first[role]])["email"]
    return out


# --- Single sign-on -------------------------------------------------------------------------

#: A domain name as the setting takes it: lower-case labels of letters, digits and inner hyphens,
#: at least two labels, a final label of letters (no IP address, no "ca" on its own).
_DOMAIN = re.compile(r"(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
PUBLIC_SERVANT_DOMAINS = "PORTAL_PUBLIC_SERVANT_DOMAINS"


class SsoSettingInvalid(AuthenticationFailed):
    """``PORTAL_PUBLIC_SERVANT_DOMAINS`` holds something that is not a domain name."""

    key = "auth.sso_domains_invalid"


def public_servant_domains(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The e-mail domains whose verified addresses single sign-on may turn into a read-only
    ``public_servant`` account on first sign-in (``PORTAL_PUBLIC_SERVANT_DOMAINS``, a comma list
    such as ``canada.ca,gc.ca``; unset or empty: none). Case and spaces are ignored; anything that
    is not a domain name (``*.gc.ca``, ``@gc.ca``, ``gc.ca.``, ``ca``, an IP address) makes the
    whole setting invalid (:class:`SsoSettingInvalid`), never silently narrower or wider."""
    raw = (os.environ if env is None else env).get(PUBLIC_SERVANT_DOMAINS) or ""
    domains = []
    for part in raw.split(","):
        domain = part.strip().lower()
        if not domain:  # "canada.ca," or an empty setting
            continue
        if not _DOMAIN.fullmatch(domain):
            raise SsoSettingInvalid(SsoSettingInvalid.key, f"{PUBLIC_SERVANT_DOMAINS}: {domain!r} is not a domain name")
        domains.append(domain)
    return tuple(dict.fromkeys(domains))


def allowed_domain(email: str | None, domains: tuple[str, ...]) -> str | None:
    """The allowed domain ``email`` belongs to: its host is that domain or one of its subdomains
    (``x@canada.ca``, ``x@hc-sc.canada.ca``; never ``x@evilcanada.ca`` or ``x@canada.ca.evil.io``),
    ignoring case. None when it belongs to none, or is not an e-mail address."""
    if not email or not is_email(email):
        return None
    host = email.strip().rsplit("@", 1)[1].lower()
    if not _DOMAIN.fullmatch(host):
        return None
    return next((d for d in domains if host == d or host.endswith("." + d)), None)


def _sso_name(name: Any, email: str) -> str:
    """The name the identity provider gave, when it is usable text; else the address's local part."""
    text = name.strip() if isinstance(name, str) else ""
    if not text or validate_user({"email": email, "name": text, "role": "public_servant"}):
        return email.split("@", 1)[0][:SHORT_TEXT_MAX]
    return text


def sign_in_verified_email(db: sqlite_utils.Database, email: str | None, *,
                           now: datetime | None = None, name: Any = None, verified: Any = None,
                           language: str = "en") -> User:
    """Map an e-mail verified by single sign-on (OIDC) to its portal account.

    The identity provider has checked the person; the portal still refuses a locked account and
    an unknown e-mail, except one of a domain of ``PORTAL_PUBLIC_SERVANT_DOMAINS``
    (:func:`public_servant_domains`): that first sign-in creates a read-only ``public_servant``
    account (audited ``user.create``, method ``sso``), unless the provider said the e-mail is not
    verified (``email_verified`` false). Other accounts are created by facilitators. A broken
    setting refuses only addresses that would need it (known accounts still sign in).
    """
    now = now or datetime.now(timezone.utc)
    email = (email or "").strip()
    if not findable(email):
        raise AuthenticationFailed()
    try:
        domains, setting_error = public_servant_domains(), None
    except SsoSettingInvalid as err:
        domains, setting_error = (), err
    domain = allowed_domain(email, domains)
    known = storage.one(db, "SELECT id FROM users WHERE email = ? COLLATE NOCASE", [email]) if email else None
    # scrypt outside the write lock: an unusable random password (the account signs in by SSO,
    # or sets a password through the reset link sent to that verified address).
    password_hash = hash_password(secrets.token_urlsafe(32)) if domain and not known and verified is not False else None
    created = False
    with storage.transaction(db):
        # Read under the write lock, like a password sign-in: a lock just taken holds here, and of
        # two first sign-ins at once only one creates the account.
        row = storage.one(db, "SELECT * FROM users WHERE email = ? COLLATE NOCASE", [email]) if email else None
        if row is None and password_hash is not None:
            user_id = storage.insert(db, "users", {
                "email": email.lower(), "name": _sso_name(name, email), "role": "public_servant",
                "password_hash": password_hash, "language": language if language in LANGUAGES else "en",
                "created_at": storage.now_iso()})
            row, created = storage.one(db, "SELECT * FROM users WHERE id = ?", [user_id]), True
            audit.record(db, User.from_row(row), "user.create", target_type="user", target_id=user_id,
                         detail={"email": row["email"], "role": "public_servant", "method": "sso", "domain": domain})
        if row is None:
            reason = ("setting_invalid" if setting_error and is_email(email) else
                      "unverified" if domain and verified is False else "unknown")
            audit.record(db, None, "auth.sign_in_failed", target_type="user", actor_email=_typed_email(email),
                         detail={"reason": reason, "method": "sso"})
            user = None
        elif row.get("locked_until") and datetime.fromisoformat(row["locked_until"]) > now:
            user = None
            audit.record(db, User.from_row(row), "auth.sign_in_failed", target_type="user",
                         target_id=row["id"], detail={"reason": "locked", "method": "sso"})
        else:
            user = load_user(db, row)
            audit.record(db, user, "auth.sign_in", target_type="user", target_id=user.id,
                         detail={"method": "sso", "created": True} if created else {"method": "sso"})
    if user is None:
        if setting_error is not None and row is None and is_email(email):
            raise setting_error
        raise AuthenticationFailed("auth.sso_no_account")
    return user
