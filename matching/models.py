"""Models of the portal and their validation.

Validators never raise on bad input: they return ``{field: message_key}`` with every field's
problem at once (empty when valid); services turn a non-empty result into
:class:`~matching.errors.ValidationFailed`. Message keys live in ``matching/messages``.
"""
from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, Mapping

from .lifecycle import CHALLENGE_STATES, FEEDBACK_STATES, PAIRING_STATES, TERM_STATES  # noqa: F401

ROLES = ("department_rep", "student", "facilitator", "expert", "public_servant")
LANGUAGES = ("en", "fr")
CONTENT_LANGUAGES = ("en", "fr", "bilingual")
RUBRIC = ("problem_understanding", "user_research", "feasibility", "mandate_alignment", "communication")
MAX_PREFERENCES = 5

TITLE_MAX = 150
SHORT_TEXT_MAX = 200
LONG_TEXT_MAX = 5_000
PROBLEM_MIN = 40
MAX_THEMES = 12
MAX_MEMBERS = 6
MIN_MEMBERS = 1
MAX_CAPACITY = 10

_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[A-Za-z]{2,}$")


CONTROL_CHARS = "validation.control_chars"
#: Characters no input may hold: C0 and C1 controls and DEL (category Cc: a bell, a terminal
#: escape, a NUL...), lone surrogates, the line and paragraph separators, the bidirectional
#: overrides and isolates (text that reads differently from what it holds) and the two
#: non-characters XML refuses. Any of them breaks the Excel export or hides what a text says.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffe\uffff]")
#: Line breaks and tabs, allowed in multi-line text only.
_LINE_BREAKS = re.compile("\r\n|[\n\r\t]")


def check_text(value: Any, *, multiline: bool = False) -> str | None:
    """``"validation.control_chars"`` when ``value`` holds a character no input may hold, else None.

    Multi-line text (a problem statement, comments, a reply, a reason) may hold line breaks and
    tabs; one-line text (a title, a name, an e-mail, a keyword) may not. Not text: None.
    """
    if not isinstance(value, str):
        return None
    if multiline:
        value = _LINE_BREAKS.sub(" ", value)
    return CONTROL_CHARS if _INVISIBLE.search(value) else None


#: Keyword fields: a list, or text split into items (one per line, or by ``;`` or ``,``).
_LIST_FIELDS = ("themes", "skills", "interests")


def _check_chars(errors: dict, data: Mapping, keys: tuple[str, ...], *, multiline: bool = False,
                 prefix: str = "") -> None:
    """Put the control-character message on each of ``keys`` that holds one (it explains more
    than any other problem the same text may have)."""
    if not isinstance(data, Mapping):
        return
    for key in keys:
        value = data.get(key)
        items = as_list(value) if key in _LIST_FIELDS else [value]
        if any(check_text(item, multiline=multiline) for item in items):
            errors[prefix + key] = CONTROL_CHARS


def findable(value: Any) -> bool:
    """Whether a typed value (an e-mail, a name, an acronym) may be looked up in storage. Text
    holding a character no input may hold matches nothing worth finding (inputs refuse them), and
    PostgreSQL's text cannot even hold a NUL: such a value is never sent, the lookup finds nothing."""
    return check_text(value) is None


def text_problems(*, multiline: bool = False, **values: Any) -> dict[str, str]:
    """``{field: "validation.control_chars"}`` for each free-text value that holds a control
    character: the services whose text does not go through a validator call this."""
    return {key: CONTROL_CHARS for key, value in values.items() if check_text(value, multiline=multiline)}


def is_email(value: Any) -> bool:
    return (isinstance(value, str) and len(value) <= 254 and check_text(value) is None
            and bool(_EMAIL.match(value.strip())))


def as_list(value: Any) -> list[str]:
    """A list of clean, distinct strings from a list, a JSON list or ``;``/``,``-separated text."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                value = re.split(r"[;,]", text)
        else:
            value = re.split(r"[;\n]", text) if ";" in text or "\n" in text else text.split(",")
    elif isinstance(value, Mapping):
        value = list(value.values())
    elif isinstance(value, float) and value != value:  # an empty spreadsheet cell (NaN)
        return []
    elif not isinstance(value, (list, tuple, set, frozenset)):
        value = [value]  # one number or flag where a list was expected (an imported cell)
    seen, out = set(), []
    for item in value:
        item = str(item).strip()
        if item and item.casefold() not in seen:
            seen.add(item.casefold())
            out.append(item)
    return out


def _text(data: Mapping, key: str) -> str:
    value = data.get(key) if isinstance(data, Mapping) else None  # a row that is not a record is blank
    return "" if value is None else str(value).strip()


def _check_length(errors: dict, data: Mapping, key: str, maximum: int) -> None:
    if len(_text(data, key)) > maximum:
        errors.setdefault(key, "validation.too_long")


def _as_int(value: Any) -> int | None:
    try:
        if isinstance(value, bool):
            return None
        number = float(value)
        return int(number) if number.is_integer() else None
    except (TypeError, ValueError, OverflowError):
        return None


def _iso_date(value: Any) -> date | None:
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def validate_challenge(data: Mapping, *, for_submit: bool) -> dict[str, str]:
    """Problems of a challenge form. A draft only needs sane lengths; a submission needs all."""
    errors: dict[str, str] = {}
    for key, maximum in (("title", TITLE_MAX), ("problem", LONG_TEXT_MAX), ("outcomes", LONG_TEXT_MAX),
                         ("sme_name", SHORT_TEXT_MAX), ("sme_email", SHORT_TEXT_MAX)):
        _check_length(errors, data, key, maximum)
    themes = as_list(data.get("themes"))
    if len(themes) > MAX_THEMES or any(len(t) > 60 for t in themes):
        errors["themes"] = "validation.themes_too_many"
    language = data.get("language") or "en"
    if language not in CONTENT_LANGUAGES:
        errors["language"] = "validation.choice"
    capacity = _as_int(data.get("capacity", 1))
    if capacity is None or not 1 <= capacity <= MAX_CAPACITY:
        errors["capacity"] = "validation.capacity"
    sme_email = _text(data, "sme_email")
    if sme_email and not is_email(sme_email):
        errors["sme_email"] = "validation.email"
    if for_submit:
        if not _text(data, "title"):
            errors["title"] = "validation.required"
        problem = _text(data, "problem")
        if not problem:
            errors["problem"] = "validation.required"
        elif len(problem) < PROBLEM_MIN and "problem" not in errors:
            errors["problem"] = "validation.too_short"
        if not _text(data, "outcomes"):
            errors["outcomes"] = "validation.required"
        if not themes:
            errors["themes"] = "validation.themes_required"
        if not _text(data, "sme_name"):
            errors["sme_name"] = "validation.required"
        if not sme_email:
            errors["sme_email"] = "validation.required"
        if not data.get("unclassified"):
            errors["unclassified"] = "validation.unclassified"
    _check_chars(errors, data, ("title", "sme_name", "sme_email", "themes"))
    _check_chars(errors, data, ("problem", "outcomes"), multiline=True)
    return errors


def validate_team(data: Mapping) -> dict[str, str]:
    """Problems of a team profile, members included (``members.<i>.<field>``)."""
    errors: dict[str, str] = {}
    name = _text(data, "name")
    if not name:
        errors["name"] = "validation.required"
    elif len(name) > 80:
        errors["name"] = "validation.too_long"
    _check_length(errors, data, "past_work", LONG_TEXT_MAX)
    _check_length(errors, data, "program", SHORT_TEXT_MAX)
    if (data.get("language") or "en") not in CONTENT_LANGUAGES:
        errors["language"] = "validation.choice"
    year = data.get("year")
    if year not in (None, "") and (_as_int(year) is None or not 1 <= _as_int(year) <= 6):
        errors["year"] = "validation.year"
    for key in ("skills", "interests"):
        items = as_list(data.get(key))
        if len(items) > 25 or any(len(i) > 60 for i in items):
            errors[key] = "validation.themes_too_many"
    members = data.get("members") or []
    members = list(members) if isinstance(members, (list, tuple)) else [members]
    if len(members) > MAX_MEMBERS:
        errors["members"] = "validation.members_too_many"
    emails = set()
    for i, member in enumerate(members):
        if not _text(member, "name"):
            errors[f"members.{i}.name"] = "validation.required"
        elif len(_text(member, "name")) > SHORT_TEXT_MAX:
            errors[f"members.{i}.name"] = "validation.too_long"
        email = _text(member, "email").casefold()
        if not is_email(email):
            errors[f"members.{i}.email"] = "validation.email"
        elif email in emails:
            errors[f"members.{i}.email"] = "validation.duplicate"
        emails.add(email)
        _check_length(errors, member, "program_year", 40)
    _check_team_text(errors, data, members)
    return errors


def _check_team_text(errors: dict, data: Mapping, members: list) -> None:
    """Control characters in a team profile and its members (after every other check)."""
    _check_chars(errors, data, ("name", "program", "skills", "interests"))
    _check_chars(errors, data, ("past_work",), multiline=True)
    for i, member in enumerate(members):
        _check_chars(errors, member, ("name", "email", "program_year"), prefix=f"members.{i}.")


def validate_term(data: Mapping) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not _text(data, "name"):
        errors["name"] = "validation.required"
    _check_length(errors, data, "name", 80)
    if (data.get("state") or "planning") not in TERM_STATES:
        errors["state"] = "validation.choice"
    starts, ends = data.get("starts_on"), data.get("ends_on")
    if starts and _iso_date(starts) is None:
        errors["starts_on"] = "validation.date"
    if ends and _iso_date(ends) is None:
        errors["ends_on"] = "validation.date"
    if _iso_date(starts) and _iso_date(ends) and _iso_date(ends) <= _iso_date(starts):
        errors["ends_on"] = "validation.date_order"
    _check_chars(errors, data, ("name",))
    return errors


def validate_user(data: Mapping) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not is_email(_text(data, "email")):
        errors["email"] = "validation.email"
    if not _text(data, "name"):
        errors["name"] = "validation.required"
    _check_length(errors, data, "name", SHORT_TEXT_MAX)
    role = data.get("role")
    if role not in ROLES:
        errors["role"] = "validation.choice"
    if role == "department_rep" and not data.get("department_id"):
        errors["department_id"] = "validation.required"
    if role == "student" and not data.get("team_id"):
        errors["team_id"] = "validation.required"
    if (data.get("language") or "en") not in LANGUAGES:
        errors["language"] = "validation.choice"
    _check_chars(errors, data, ("email", "name"))
    return errors


PASSWORD_MIN = 12
PASSWORD_MAX = 1024
#: A part of the e-mail or name shorter than this is refused only as the whole password.
_PERSONAL_PART_MIN = 4
#: zxcvbn's estimate below which a password is refused as guessable (its scores 0 and 1).
_GUESSES_LOG10_MIN = 6


def password_has_control(password: str) -> bool:
    """A control character (a NUL...), a lone surrogate or a line/paragraph separator: no password
    may hold one, so a typed one that does is wrong (scrypt's HMAC would take ``pw`` and ``pw\\0``
    for the same key)."""
    return any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in password)


def validate_password(password: Any, *, email: str = "", name: str = "",
                      current: str | None = None) -> dict[str, str]:
    """Problems of a new password, after NIST SP 800-63B: at least 12 characters and no
    composition rule; refused when it holds a control character, is only spaces, is the
    ``current`` password again, is or contains the account's ``email`` or ``name`` (or a part of
    them), is on the bundled list of common and leaked passwords, or is guessable (repeats,
    sequences, keyboard patterns, common words: zxcvbn's estimate)."""
    key = _password_problem(password, str(email or ""), str(name or ""), current)
    return {"password": key} if key else {}


def _password_problem(password: Any, email: str, name: str, current: str | None) -> str | None:
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        return "validation.password_too_short"
    if len(password) > PASSWORD_MAX:
        return "validation.password_too_long"
    if password_has_control(password):
        return "validation.password_control"
    if not password.strip():
        return "validation.password_blank"
    if current is not None and password == current:
        return "validation.password_reused"
    personal = _personal_words(email, name)
    if _is_personal(password, personal):
        return "validation.password_personal"
    if _fold(password).strip() in common_passwords():
        return "validation.password_common"
    if _guesses_log10(password, personal) < _GUESSES_LOG10_MIN:
        return "validation.password_guessable"
    return None


def _fold(text: str) -> str:
    """Case- and accent-free (NFKD, combining marks dropped)."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(ch))


def _squeeze(text: str) -> str:
    return re.sub(r"[\W_]+", "", _fold(text))


def _personal_words(email: str, name: str) -> list[str]:
    """The e-mail, its local part, the name, and their words, squeezed (no spaces or punctuation)."""
    local = email.split("@")[0]
    words = [email, local, name] + re.split(r"[\W_]+", local) + re.split(r"[\W_]+", name)
    return [w for w in dict.fromkeys(_squeeze(w) for w in words) if w]


def _is_personal(password: str, personal: list[str]) -> bool:
    squeezed = _squeeze(password)
    return any(squeezed == word or (len(word) >= _PERSONAL_PART_MIN and word in squeezed) for word in personal)


@functools.lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of leaked password sets, case-folded, as shipped (MIT
    licence) by the ``zxcvbn`` package."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS
    return frozenset(_fold(p) for p in FREQUENCY_LISTS["passwords"])


def _guesses_log10(password: str, personal: list[str]) -> float:
    """zxcvbn's estimate of the guesses needed (log10), on the first 72 characters (its limit)."""
    try:
        from zxcvbn import zxcvbn
        return float(zxcvbn(password[:72], user_inputs=personal)["guesses_log10"])
    except Exception:  # an estimate that fails refuses nothing: the other checks still hold
        return float("inf")


def validate_preferences(items: list[Mapping], approved_ids: set[int]) -> dict[str, str]:
    """Problems of a preference list: ``[{challenge_id, reason}]`` in rank order."""
    errors: dict[str, str] = {}
    if len(items) > MAX_PREFERENCES:
        errors["preferences"] = "validation.too_many_preferences"
    seen = set()
    for i, item in enumerate(items):
        challenge_id = _as_int(item.get("challenge_id")) if isinstance(item, Mapping) else None
        if challenge_id is None or challenge_id not in approved_ids:
            errors[f"preferences.{i}.challenge_id"] = "validation.unknown_challenge"
        elif challenge_id in seen:
            errors[f"preferences.{i}.challenge_id"] = "validation.duplicate_preference"
        seen.add(challenge_id)
        if len(_text(item, "reason")) > 300:
            errors[f"preferences.{i}.reason"] = "validation.too_long"
        _check_chars(errors, item, ("reason",), multiline=True, prefix=f"preferences.{i}.")
    return errors


def validate_feedback(data: Mapping, *, for_submit: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    scores = data.get("scores") or {}
    if not isinstance(scores, Mapping):
        errors["scores"] = "validation.score"
        scores = {}
    for criterion in RUBRIC:
        value = scores.get(criterion)
        if value in (None, ""):
            if for_submit:
                errors[f"scores.{criterion}"] = "validation.required"
        elif _as_int(value) is None or not 1 <= _as_int(value) <= 5:
            errors[f"scores.{criterion}"] = "validation.score"
    comments = _text(data, "comments")
    if for_submit and not comments:
        errors["comments"] = "validation.required"
    _check_length(errors, data, "comments", LONG_TEXT_MAX)
    _check_chars(errors, data, ("comments",), multiline=True)
    return errors


# --- Typed views of rows -------------------------------------------------------------------

class _Row:
    @classmethod
    def from_row(cls, row: Mapping):
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in row.items() if k in names}
        for f in fields(cls):
            if f.type in ("list[str]",) and isinstance(values.get(f.name), str):
                values[f.name] = as_list(values[f.name])
            if f.type == "bool" and f.name in values:
                values[f.name] = bool(values[f.name])  # SQLite stores booleans as 0/1
            if f.type == "dict" and isinstance(values.get(f.name), str):
                values[f.name] = json.loads(values[f.name] or "{}")
        return cls(**values)


@dataclass
class Term(_Row):
    id: int
    name: str
    state: str = "planning"
    starts_on: str | None = None
    ends_on: str | None = None
    version: int = 1
    plan_version: int = 1
    programme_id: int | None = None
    closed_on: str | None = None


@dataclass
class Programme(_Row):
    """An academic programme: an institution and a programme name, in English and French."""
    id: int
    code: str
    institution_en: str
    institution_fr: str
    name_en: str
    name_fr: str

    def institution(self, lang: str) -> str:
        return self.institution_fr if lang == "fr" else self.institution_en

    def name(self, lang: str) -> str:
        return self.name_fr if lang == "fr" else self.name_en

    def label(self, lang: str) -> str:
        """"Sheridan College · Bachelor of Interaction Design", as a person reads it."""
        return f"{self.institution(lang)} · {self.name(lang)}"


@dataclass
class Department(_Row):
    """An organisation that brings challenges (the table keeps its first name, ``departments``):
    a federal department or agency, a provincial or territorial government or a municipal
    government (``kind``, see :mod:`matching.organisations`)."""
    id: int
    acronym: str
    name_en: str
    name_fr: str
    kind: str = "federal"
    acronym_fr: str = ""

    def name(self, lang: str) -> str:
        return self.name_fr if lang == "fr" else self.name_en


@dataclass(frozen=True)
class User(_Row):
    id: int
    email: str
    name: str
    role: str
    department_id: int | None = None
    team_id: int | None = None
    language: str = "en"
    #: The programmes a facilitator may act on: None for all of them (no row in
    #: ``facilitator_programmes``). Filled by :func:`matching.accounts.load_user`.
    programme_ids: frozenset[int] | None = None


@dataclass
class Challenge(_Row):
    id: int
    department_id: int
    title: str = ""
    problem: str = ""
    outcomes: str = ""
    themes: list[str] = field(default_factory=list)
    language: str = "en"
    capacity: int = 1
    sme_name: str = ""
    sme_email: str = ""
    unclassified: bool = False
    status: str = "draft"
    comments: str = ""
    version: int = 1
    term_id: int | None = None
    #: The challenge this one was offered from (another programme's copy), else None.
    offered_from: int | None = None


@dataclass
class Member(_Row):
    name: str
    email: str
    program_year: str = ""
    id: int | None = None


@dataclass
class Team(_Row):
    id: int
    name: str
    program: str = ""
    year: int | None = None
    skills: list[str] = field(default_factory=list)
    interests: list[str] = field(default_factory=list)
    past_work: str = ""
    language: str = "en"
    version: int = 1
    term_id: int | None = None
    members: list[Member] = field(default_factory=list)
    preferences_version: int = 1


@dataclass
class Preference(_Row):
    team_id: int
    challenge_id: int
    rank: int
    reason: str = ""


@dataclass
class Pairing(_Row):
    id: int
    term_id: int
    team_id: int
    challenge_id: int
    state: str = "proposed"
    score: float | None = None
    preference_rank: int | None = None


@dataclass
class FeedbackRound(_Row):
    id: int
    term_id: int
    name: str
    due_on: str


@dataclass
class FeedbackEntry(_Row):
    id: int
    round_id: int
    pairing_id: int
    expert_id: int | None
    state: str = "open"
    scores: dict = field(default_factory=dict)
    comments: str = ""
    reply: str = ""


@dataclass
class AuditEvent(_Row):
    id: int
    at: str
    actor_id: int | None
    action: str
    target_type: str = ""
    target_id: str = ""
    reason: str = ""
    actor_email: str = ""
