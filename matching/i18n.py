"""Message catalogue (English and French) and language-aware formatting.

Messages live in ``matching/messages/*.toml``; each file has an ``[en]`` and an ``[fr]`` table
with the same keys (nested tables give dotted keys: ``[en.home] title`` is ``home.title``).
A test keeps the two key sets equal.
"""
from __future__ import annotations

import tomllib
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date as _babel_date, format_datetime as _babel_datetime
from babel.numbers import format_decimal, format_percent as _babel_percent

LANGUAGES = ("en", "fr")
MESSAGES_DIR = Path(__file__).resolve().parent / "messages"
_LOCALES = {"en": "en_CA", "fr": "fr_CA"}


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """``{"en": {key: text}, "fr": {key: text}}`` merged from every messages file."""
    merged: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for path in sorted(MESSAGES_DIR.glob("*.toml")):
        with open(path, "rb") as f:
            data = tomllib.load(f)
        for lang in LANGUAGES:
            merged[lang].update(_flatten(data.get(lang, {})))
    return merged


def t(key: str, lang: str = "en", **params) -> str:
    """The message ``key`` in ``lang`` with ``{params}`` filled in; the key itself if missing."""
    messages = catalogue().get(lang) or catalogue()["en"]
    text = messages.get(key)
    if text is None:
        return key
    try:
        return text.format(**params) if params else text
    except (KeyError, IndexError, ValueError):
        return text


def has(key: str) -> bool:
    return key in catalogue()["en"]


def locale(lang: str) -> str:
    return _LOCALES.get(lang, "en_CA")


def format_date(value: date | datetime | str | None, lang: str, *, fmt: str = "medium") -> str:
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return _babel_datetime(value, format=fmt, locale=locale(lang))
    return _babel_date(value, format=fmt, locale=locale(lang))


def format_day(value: date | datetime | str | None, lang: str) -> str:
    """A date without the time, e.g. 'Jan 11, 2027' / '11 janv. 2027'."""
    if isinstance(value, str) and value:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, lang)


def format_number(value: float, lang: str, *, digits: int = 2) -> str:
    return format_decimal(round(float(value), digits), locale=locale(lang))


def format_percent(value: float, lang: str) -> str:
    return _babel_percent(float(value), locale=locale(lang))
