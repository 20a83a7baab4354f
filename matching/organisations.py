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


#: Messages a representative reads about their own organisation, worded per kind: a federal
#: department's are the keys themselves; the others are under ``org.<kind>.`` (French
#: possessives and articles agree with the noun: « mon ministère », « ma municipalité »).
REP_MESSAGES = ("home.my_challenges", "home.step.create_challenge", "dept.list.intro", "dept.list.empty",
                "role.department_rep")


def rep_key(key: str, kind: str | None) -> str:
    """The message key of ``key`` worded for an organisation of ``kind`` (see :data:`REP_MESSAGES`)."""
    if key not in REP_MESSAGES or kind in (None, DEFAULT_KIND) or not is_kind(kind):
        return key
    return f"org.{kind}.{key}"


def base_key(key: str) -> str:
    """The key a worded-per-kind key stands for (``org.municipal.dept.list.intro`` -> ``dept.list.intro``)."""
    parts = key.split(".", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "org" and parts[1] in ORGANISATION_KINDS else key


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


def heading_word(kind: str | None, lang: str, *, plural: bool = False) -> str:
    """:func:`noun` (or :func:`nouns`) as a label or column heading: "Municipality", "Organization"."""
    word = nouns(kind, lang) if plural else noun(kind, lang)
    return word[:1].upper() + word[1:]
