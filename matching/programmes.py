"""Academic programmes (issue 17.1): an institution and a programme name, in English and French.

A term belongs to one programme (``terms.programme_id``); teams and students belong to the
programme through their term. Sheridan College's Bachelor of Interaction Design is the default
programme (migration 11 creates it first; a term stored without a programme gets it).

A facilitator acts on every programme, or only on those listed for them in
``facilitator_programmes`` (no row: every programme). Which actions that limit applies to is
the permission table's word (:data:`matching.permissions.PROGRAMME_SCOPED`); services pass the
programme of the record they act on to :func:`matching.permissions.authorize`, found here
(:func:`of_term`, :func:`of_challenge`, :func:`of_team`...).
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

import sqlite_utils

from . import audit
from . import db as storage
from .db import DEFAULT_PROGRAMME_CODE
from .errors import NotFound, ValidationFailed
from .models import Programme, User, check_text
from .permissions import authorize, may_act_on

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
NAME_MAX = 200


# --- Reading ---------------------------------------------------------------------------------

def list_programmes(db: sqlite_utils.Database) -> list[Programme]:
    """Every programme, the default (first) one first."""
    return [Programme.from_row(r) for r in db.query("SELECT * FROM programmes ORDER BY id")]


def get_programme(db: sqlite_utils.Database, programme_id: int) -> Programme:
    row = storage.one(db, "SELECT * FROM programmes WHERE id = ?", [programme_id])
    if row is None:
        raise NotFound("error.not_found", f"programme {programme_id}")
    return Programme.from_row(row)


def default_programme(db: sqlite_utils.Database) -> Programme:
    """Sheridan College's Bachelor of Interaction Design (else the first programme)."""
    row = (storage.one(db, "SELECT * FROM programmes WHERE code = ?", [DEFAULT_PROGRAMME_CODE])
           or storage.one(db, "SELECT * FROM programmes ORDER BY id LIMIT 1"))
    if row is None:
        raise NotFound("error.not_found", "no programme")
    return Programme.from_row(row)


def find_programme(db: sqlite_utils.Database, text: str | int | None) -> Programme | None:
    """The programme a person named: its code, its id, or its name or institution and name in
    either language (ignoring case)."""
    text = str(text if text is not None else "").strip()
    if not text:
        return None
    row = storage.one(db, "SELECT * FROM programmes WHERE code = ? COLLATE NOCASE", [text])
    if row is None and text.isdigit():
        row = storage.one(db, "SELECT * FROM programmes WHERE id = ?", [int(text)])
    if row is None:
        folded = text.casefold()
        for programme in list_programmes(db):
            names = {programme.name_en, programme.name_fr, programme.label("en"), programme.label("fr")}
            if folded in {n.casefold() for n in names}:
                return programme
    return Programme.from_row(row) if row else None


def require_programme(db: sqlite_utils.Database, text: str | int | None) -> Programme:
    """:func:`find_programme`, refusing an unknown one with the programmes there are."""
    programme = find_programme(db, text)
    if programme is None:
        codes = ", ".join(p.code for p in list_programmes(db))
        raise NotFound("programme.unknown", f"no programme {text!r}", programme=str(text or ""), codes=codes)
    return programme


def labels(db: sqlite_utils.Database, lang: str) -> dict[int, str]:
    """Programme id -> "Institution · Programme" in ``lang``."""
    return {p.id: p.label(lang) for p in list_programmes(db)}


def of_term(db: sqlite_utils.Database, term_id: int | None) -> int | None:
    """The programme of a term (None for no term)."""
    if term_id is None:
        return None
    row = db.execute("SELECT programme_id FROM terms WHERE id = ?", [term_id]).fetchone()
    return row[0] if row else None


def of_challenge(db: sqlite_utils.Database, challenge_id: int | None) -> int | None:
    if challenge_id is None:
        return None
    row = db.execute("SELECT t.programme_id FROM challenges c JOIN terms t ON t.id = c.term_id WHERE c.id = ?",
                     [challenge_id]).fetchone()
    return row[0] if row else None


def of_team(db: sqlite_utils.Database, team_id: int | None) -> int | None:
    if team_id is None:
        return None
    row = db.execute("SELECT t.programme_id FROM teams m JOIN terms t ON t.id = m.term_id WHERE m.id = ?",
                     [team_id]).fetchone()
    return row[0] if row else None


def of_pairing(db: sqlite_utils.Database, pairing_id: int | None) -> int | None:
    if pairing_id is None:
        return None
    row = db.execute("SELECT t.programme_id FROM pairings p JOIN terms t ON t.id = p.term_id WHERE p.id = ?",
                     [pairing_id]).fetchone()
    return row[0] if row else None


# --- Facilitators limited to some programmes ---------------------------------------------------

def facilitator_programme_ids(db: sqlite_utils.Database, user_id: int) -> frozenset[int] | None:
    """The programmes a facilitator is limited to; None when they act on every programme."""
    ids = frozenset(row[0] for row in db.execute(
        "SELECT programme_id FROM facilitator_programmes WHERE user_id = ?", [user_id]))
    return ids or None


def visible_programmes(db: sqlite_utils.Database, actor: User) -> list[Programme]:
    """The programmes a person's pages offer: a limited facilitator's own, else every programme."""
    return [p for p in list_programmes(db) if may_act_on(actor, p.id)]


def limit_facilitator(db: sqlite_utils.Database, actor: User, user_id: int,
                      programme_ids: Iterable[int], *, reason: str = "") -> frozenset[int] | None:
    """Limit a facilitator to these programmes (an empty list: every programme again). Audited."""
    authorize(actor, "programme.manage")
    wanted = sorted({int(i) for i in programme_ids})
    with storage.transaction(db):
        user = storage.one(db, "SELECT id, role FROM users WHERE id = ?", [user_id])
        if user is None or user["role"] != "facilitator":
            raise ValidationFailed({"user_id": "programme.not_a_facilitator"})
        known = {p.id for p in list_programmes(db)}
        if not set(wanted) <= known:
            raise ValidationFailed({"programme_ids": "validation.choice"})
        before = sorted(facilitator_programme_ids(db, user_id) or [])
        db.execute("DELETE FROM facilitator_programmes WHERE user_id = ?", [user_id])
        for programme_id in wanted:
            storage.insert(db, "facilitator_programmes", {"user_id": user_id, "programme_id": programme_id})
        audit.record(db, actor, "programme.limit_facilitator", target_type="user", target_id=user_id,
                     reason=reason, detail={"from": before, "to": wanted})
    return facilitator_programme_ids(db, user_id)


# --- Creating a programme --------------------------------------------------------------------

def validate_programme(data: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    code = str(data.get("code") or "").strip()
    if not code:
        errors["code"] = "validation.required"
    elif not CODE_PATTERN.match(code):
        errors["code"] = "programme.code_format"
    for key in ("institution_en", "institution_fr", "name_en", "name_fr"):
        value = str(data.get(key) or "").strip()
        if not value:
            errors[key] = "validation.required"
        elif len(value) > NAME_MAX:
            errors[key] = "validation.too_long"
        elif check_text(value):
            errors[key] = check_text(value)
    return errors


def create_programme(db: sqlite_utils.Database, actor: User, data: Mapping[str, Any]) -> Programme:
    """A new programme (facilitators of every programme only). Audited."""
    authorize(actor, "programme.manage")
    errors = validate_programme(data)
    clean = {key: str(data.get(key) or "").strip()
             for key in ("code", "institution_en", "institution_fr", "name_en", "name_fr")}
    if not errors and storage.one(db, "SELECT id FROM programmes WHERE code = ? COLLATE NOCASE", [clean["code"]]):
        errors["code"] = "validation.duplicate"
    if errors:
        raise ValidationFailed(errors)
    with storage.transaction(db):
        programme_id = storage.insert(db, "programmes", {**clean, "created_at": storage.now_iso()})
        audit.record(db, actor, "programme.create", target_type="programme", target_id=programme_id,
                     detail={"code": clean["code"]})
    return get_programme(db, programme_id)
