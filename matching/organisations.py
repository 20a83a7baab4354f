"""Organisations that bring challenges, and what to call them (issue 17.2).

The portal began with federal departments only; an organisation is now one of three kinds, the
one list below: a federal department or agency, a provincial or territorial government, or a
municipal government. The storage keeps its first names (table ``departments``, column
``department_id``, role ``department_rep``): only what people read changes.

What people read is asked here, never spelled in a page: :func:`kind_label` ("Municipal
government"), :func:`noun` ("municipality": the word a sentence uses for one organisation of
that kind, e.g. "Your municipality's challenges"), and for a list of several kinds the neutral
word ``org.noun.any`` ("organization" / "organisation"). English follows the Government of
Canada's spelling ("organization"); French uses « ministère » for a federal department.
"""
from __future__ import annotations

import sqlite_utils

from .i18n import t

#: The kinds of organisation, in the order lists and charts show them.
ORGANISATION_KINDS = ("federal", "provincial", "municipal")
DEFAULT_KIND = "federal"


def is_kind(value: object) -> bool:
    return value in ORGANISATION_KINDS


def kind_label(kind: str | None, lang: str) -> str:
    """"Federal department or agency", "Provincial or territorial government", "Municipal government"."""
    return t(f"org.kind.{kind if is_kind(kind) else DEFAULT_KIND}", lang)


def noun(kind: str | None, lang: str) -> str:
    """The word for one organisation of this kind in a sentence: "department" / « ministère »,
    "provincial government" / « gouvernement provincial », "municipality" / « municipalité »;
    the neutral "organization" / « organisation » when the kind is not known (None)."""
    if kind is None:
        return t("org.noun.any", lang)
    return t(f"org.noun.{kind if is_kind(kind) else DEFAULT_KIND}", lang)


def nouns(kind: str | None, lang: str) -> str:
    """The plural of :func:`noun` ("departments", "municipalities"; "organizations" for None)."""
    if kind is None:
        return t("org.nouns.any", lang)
    return t(f"org.nouns.{kind if is_kind(kind) else DEFAULT_KIND}", lang)


def kind_of(db: sqlite_utils.Database, department_id: int | None) -> str | None:
    """The kind of one organisation (None when there is none)."""
    if department_id is None:
        return None
    row = db.execute("SELECT kind FROM departments WHERE id = ?", [department_id]).fetchone()
    return row[0] if row else None


def kinds_of(db: sqlite_utils.Database, department_ids) -> set[str]:
    """The kinds of several organisations."""
    ids = [int(i) for i in department_ids if i is not None]
    if not ids:
        return set()
    marks = ", ".join("?" for _ in ids)
    return {row[0] for row in db.execute(f"SELECT DISTINCT kind FROM departments WHERE id IN ({marks})", ids)}


def word_for(db: sqlite_utils.Database, lang: str, department_ids=None, *, plural: bool = False,
             heading: bool = False) -> str:
    """The word for these organisations (``department_ids``; None: every organisation of the
    portal): their kind's own word when they are all of one kind (a representative's page; the
    portal while it has only federal departments), the neutral "organization" otherwise.
    ``heading``: capitalised, for a label or a column heading."""
    if department_ids is None:
        kinds = {row[0] for row in db.execute("SELECT DISTINCT kind FROM departments")}
    else:
        kinds = kinds_of(db, department_ids)
    kind = next(iter(kinds)) if len(kinds) == 1 else None
    if heading:
        return heading_word(kind, lang, plural=plural)
    return nouns(kind, lang) if plural else noun(kind, lang)


def heading_word(kind: str | None, lang: str, *, plural: bool = False) -> str:
    """:func:`noun` (or :func:`nouns`) as a label or column heading: "Municipality", "Organization"."""
    word = nouns(kind, lang) if plural else noun(kind, lang)
    return word[:1].upper() + word[1:]
