"""Append-only audit log: who did what to which record, when and why.

:func:`record` is called inside the transaction of the state change it describes, so the two
are written together or not at all. There is no service that edits or deletes an event.
"""
from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from . import db as storage
from .models import User


def record(db: sqlite_utils.Database, actor: User | None, action: str, *, target_type: str = "",
           target_id: Any = "", reason: str = "", detail: dict | None = None,
           actor_email: str | None = None) -> int:
    return storage.insert(db, "audit_events", {
        "at": storage.now_iso(),
        "actor_id": actor.id if actor else None,
        "actor_email": actor_email if actor_email is not None else (actor.email if actor else ""),
        "action": action,
        "target_type": target_type,
        "target_id": "" if target_id is None else str(target_id),
        "reason": reason or "",
        "detail": json.dumps(detail or {}, ensure_ascii=False, default=str),
    })


def events(db: sqlite_utils.Database, *, action: str | None = None, limit: int | None = None) -> list[dict]:
    """Audit events, newest first (read by facilitators; see :func:`matching.permissions.authorize`)."""
    sql = "SELECT * FROM audit_events"
    params: list[Any] = []
    if action:
        sql += " WHERE action = ?"
        params.append(action)
    sql += " ORDER BY id DESC"
    if limit:
        sql += " LIMIT ?"
        params.append(int(limit))
    return list(db.query(sql, params))
