"""Departments in both official languages: a department has an English and a French acronym
(ESDC / EDSC, DFO / MPO, CRA / ARC...), as it has an English and a French name.

Records and queries carry the English ``acronym`` (unique, the key people type in imports and
the CLI); what a person reads is :func:`acronym` in their language.
"""
from __future__ import annotations

import sqlite_utils


def acronyms(db: sqlite_utils.Database, lang: str) -> dict[str, str]:
    """English acronym -> the acronym in ``lang`` (the English one when no French one is known)."""
    if lang != "fr":
        return {}
    return {row[0]: row[1] or row[0] for row in db.execute("SELECT acronym, acronym_fr FROM departments")}


def acronym(db: sqlite_utils.Database, english: str | None, lang: str) -> str:
    """A department's acronym in ``lang``, from its English acronym."""
    if not english or lang != "fr":
        return english or ""
    row = db.execute("SELECT acronym_fr FROM departments WHERE acronym = ?", [english]).fetchone()
    return (row[0] if row else "") or english


def find_by_acronym(db: sqlite_utils.Database, text: str) -> int | None:
    """The id of the department with this acronym, English or French, ignoring case."""
    from .models import findable
    text = (text or "").strip()
    if not findable(text):
        return None
    for column in ("acronym", "acronym_fr"):
        row = db.execute(f"SELECT id FROM departments WHERE {column} = ? COLLATE NOCASE AND {column} <> ''",
                         [text]).fetchone()
        if row:
            return row[0]
    return None
