"""Message catalogue (English and French) and language-aware formatting.

Messages live in ``matching/messages/*.toml``; each file has an ``[en]`` and an ``[fr]`` table
with the same keys (nested tables give dotted keys: ``[en.home] title`` is ``home.title``).
A test keeps the two key sets equal.

A message about a number of things has one form per CLDR plural category of the language,
as an inline table: ``drafts = { one = "{count} draft to finish.", other = "{count} drafts
to finish." }``. :func:`t` picks the form for its ``count`` parameter by the language's plural
rules (babel's CLDR data: French says "0 ébauche", "1 ébauche", "2 ébauches"; English "0
drafts"); a category without a form of its own uses ``other``. Every form needs ``one`` and
``other``; a test checks it. Never write "(s)".

French typography (tests/test_french_typography.py): a no-break space (U+00A0) before ":" and a
narrow no-break space (U+202F) before ";", "!", "?" and inside « »; written as ``\u00a0`` and
``\u202f`` escapes in the TOML files so that they show in a diff.
"""
from __future__ import annotations

import tomllib
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date as _babel_date, format_datetime as _babel_datetime
from babel.numbers import format_decimal, format_percent as _babel_percent

LANGUAGES = ("en", "fr")
MESSAGES_DIR = Path(__file__).resolve().parent / "messages"
_LOCALES = {"en": "en_CA", "fr": "fr_CA"}
#: CLDR plural categories: a table of only these keys is one message in its plural forms.
PLURAL_CATEGORIES = frozenset({"zero", "one", "two", "few", "many", "other"})


def _is_plural(value) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= PLURAL_CATEGORIES


def _flatten(table: dict, prefix: str = "") -> dict[str, str | dict[str, str]]:
    flat: dict[str, str | dict[str, str]] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if _is_plural(value):
            flat[name] = {form: str(text) for form, text in value.items()}
        elif isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


@lru_cache(maxsize=1)
def _load() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, dict[str, str]]]]:
    merged: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    plurals: dict[str, dict[str, dict[str, str]]] = {lang: {} for lang in LANGUAGES}
    for path in sorted(MESSAGES_DIR.glob("*.toml")):
        with open(path, "rb") as f:
            data = tomllib.load(f)
        for lang in LANGUAGES:
            for key, value in _flatten(data.get(lang, {})).items():
                if isinstance(value, dict):
                    plurals[lang][key] = value
                    merged[lang][key] = value.get("other", next(iter(value.values())))
                else:
                    plurals[lang].pop(key, None)
                    merged[lang][key] = value
    return merged, plurals


def catalogue() -> dict[str, dict[str, str]]:
    """``{"en": {key: text}, "fr": {key: text}}`` merged from every messages file (a plural
    message by its ``other`` form)."""
    return _load()[0]


def plural_forms() -> dict[str, dict[str, dict[str, str]]]:
    """``{lang: {key: {category: text}}}``: the messages that have plural forms."""
    return _load()[1]


def plural_category(count, lang: str) -> str:
    """The CLDR plural category of ``count`` in ``lang`` ("one", "many", "other"...)."""
    try:
        return _plural_rule(lang)(abs(count))
    except (TypeError, ValueError):
        return "other"


@lru_cache(maxsize=None)
def _plural_rule(lang: str):
    return Locale.parse(locale(lang)).plural_form


def t(key: str, lang: str = "en", **params) -> str:
    """The message ``key`` in ``lang`` with ``{params}`` filled in; the key itself if missing.

    A message with plural forms takes the form for ``params["count"]`` in ``lang``."""
    messages = catalogue().get(lang) or catalogue()["en"]
    text = messages.get(key)
    if text is None:
        return key
    forms = plural_forms().get(lang, {}).get(key)
    if forms and "count" in params:
        text = forms.get(plural_category(params["count"], lang), forms.get("other", text))
    try:
        return text.format(**params) if params else text
    except (KeyError, IndexError, ValueError):
        return text


def label_value(label: str, value, lang: str) -> str:
    """"Label: value" as the language writes it (French: a no-break space before the colon)."""
    return t("app.label_value", lang, label=label, value=value)


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
        text = _babel_datetime(value, format=fmt, locale=locale(lang))
    else:
        text = _babel_date(value, format=fmt, locale=locale(lang))
    return _first_of_month(text, value.day, lang)


def _first_of_month(text: str, day: int, lang: str) -> str:
    """French writes the first day of a month as an ordinal: « le 1er mars », not « le 1 mars »
    (CLDR's patterns give the cardinal)."""
    if lang == "fr" and day == 1 and text.startswith("1 "):
        return "1er" + text[1:]
    return text


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
