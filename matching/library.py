"""The outcomes library (issue 17.4): every completed challenge, across terms and programmes,
with what it led to, for every signed-in public servant.

An **entry** is one completed pairing (a published pairing of a closed term: its state is one
of ``lifecycle.PAIRING_COMPLETED_STATES`` and its term one of ``TERM_STATES_READ_ONLY``): the
challenge (title, problem, desired outcomes, themes), its organisation and the organisation's
kind, the programme and term, the team's final summary, the rubric averages
(:func:`matching.outcomes.rubric_averages`) and the outcome reports at 3 and 6 months.

Anonymity. An entry is built field by field from a list of what may be shown, never from a
whole row, so no member name, no e-mail, no team or user id and no SME contact is ever in it.
The team's name is there only when the team opted in (``final_summaries.show_names``); when it
did not, ``team`` is None and every text of the entry (the team's own summary, its links, the
organisation's report notes) is cleaned of the team's name and its members' names (whole words,
ignoring case, accents and the separators between the words: "Access Crew", "access-crew",
"AccessCrew"), and a link naming the team or a member is left out. Any e-mail address in any
text is replaced in every entry. What replaces a removed name is :data:`WITHHELD`.

Search (:func:`entries`) uses the portal's one search (:func:`matching.matches.query_matcher`):
every word as typed, a glossary term also in the other language, so "seniors" finds "aînés".

Similar past challenges (:func:`similar_past_challenges`): the challenge form's text ranked
against the completed challenges by the portal's ranker (:class:`matching.ranking.TextRanker`,
fitted on them and cached like the term rankers, on the data version and the set of completed
pairings), with their entries.

This module never imports Streamlit.
"""
from __future__ import annotations

import functools
import json
import re
import unicodedata
from typing import Any, Iterable, Mapping

import sqlite_utils

from . import matches
from .lifecycle import (OUTCOME_CHECKPOINTS, OUTCOME_STATUSES, PAIRING_COMPLETED_STATES, TERM_STATES_READ_ONLY,
                        states_sql)
from .models import RUBRIC, User, as_list
from .organisations import ORGANISATION_KINDS
from .outcomes import rubric_averages
from .permissions import authorize
from .ranking import MIN_REASON_SHARE, TextRanker, challenge_text, label_for
from .textprep import ENGLISH_STOP_WORDS, FRENCH_STOP_WORDS

#: What stands in a text where a name or an e-mail address was removed.
WITHHELD = "[…]"

_COMPLETED_SQL = (
    "SELECT p.id AS pairing_id, p.team_id, t.name AS team_name, tm.id AS term_id, tm.name AS term_name, "
    "tm.starts_on, tm.ends_on, tm.closed_on, tm.created_at AS term_created_at, tm.programme_id, "
    "pr.institution_en, pr.institution_fr, pr.name_en AS programme_en, pr.name_fr AS programme_fr, "
    "c.id AS challenge_id, c.title, c.problem, c.outcomes, c.themes, c.language, "
    "d.id AS department_id, d.acronym, d.acronym_fr, d.name_en AS department_en, d.name_fr AS department_fr, "
    "d.kind AS organisation_kind "
    "FROM pairings p JOIN terms tm ON tm.id = p.term_id JOIN teams t ON t.id = p.team_id "
    "JOIN challenges c ON c.id = p.challenge_id JOIN departments d ON d.id = c.department_id "
    "LEFT JOIN programmes pr ON pr.id = tm.programme_id ")


def _completed_where() -> tuple[str, list[str]]:
    """The completed pairings: published, and their term closed (asked from the lifecycle)."""
    pairing, states = states_sql("p.state", PAIRING_COMPLETED_STATES)
    term, term_states = states_sql("tm.state", TERM_STATES_READ_ONLY)
    return f"WHERE {pairing} AND {term}", [*states, *term_states]


def _completed_rows(db: sqlite_utils.Database, challenge_ids: Iterable[int] | None = None) -> list[dict]:
    where, params = _completed_where()
    if challenge_ids is not None:
        ids = [int(i) for i in challenge_ids]
        if not ids:
            return []
        where += f" AND c.id IN ({', '.join('?' for _ in ids)})"
        params += ids
    return list(db.query(_COMPLETED_SQL + where + " ORDER BY COALESCE(tm.ends_on, tm.closed_on, tm.created_at) DESC, "
                         "tm.id DESC, d.acronym, c.title, p.id", params))


# --- Anonymity -------------------------------------------------------------------------------

_EMAIL_IN_TEXT = re.compile(r"[^\s@<>()\[\]\"',;:]+@[^\s@<>()\[\]\"',;:]+\.[^\W\d_]{2,}")
_STOP_WORDS = frozenset(ENGLISH_STOP_WORDS | FRENCH_STOP_WORDS)
#: A member's given or family name shorter than this is removed only as part of the full name
#: ("Li" alone would strike every "li" of a French text); in links, names this long or longer.
_NAME_PART_MIN = 3
_LINK_PART_MIN = 4


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """One character lower-cased without its accents, still one character (so positions in the
    folded text are positions in the original)."""
    base = unicodedata.normalize("NFKD", ch)[:1] or ch
    low = base.lower()
    return low if len(low) == 1 else ch


def _fold_same_length(text: str) -> str:
    if text.isascii():
        return text.lower()  # one character for one in ASCII
    return "".join(_fold_char(ch) for ch in text)


def _words(name: str) -> list[str]:
    return re.findall(r"[^\W_]+", _fold_same_length(name or ""))


class _Withholder:
    """Removes a team's name and its people's names from texts, and drops links that name them."""

    def __init__(self, team_name: str, people: Iterable[str]):
        phrases = [_words(team_name)] if _words(team_name) else []
        for person in people:
            words = _words(person)
            if words:
                phrases.append(words)
                phrases += [[w] for w in words if len(w) >= _NAME_PART_MIN and w not in _STOP_WORDS]
        # Whole words, in order, with any separators (or none) between them; longest first, so
        # "Ana Lopez" goes as one before "Lopez" alone. One pattern for all of them.
        phrases = sorted({tuple(ws) for ws in phrases}, key=lambda ws: -len("".join(ws)))
        alternatives = [r"[\W_]*".join(re.escape(w) for w in ws) for ws in phrases]
        self.pattern = (re.compile(r"(?<![^\W_])(?:" + "|".join(alternatives) + r")(?![^\W_])")
                        if alternatives else None)
        self.slugs = {s for s in ("".join(ws) for ws in phrases) if len(s) >= _LINK_PART_MIN}

    def text(self, value: Any) -> str:
        text = str(value or "")
        if self.pattern is None:
            return text
        spans = [m.span() for m in self.pattern.finditer(_fold_same_length(text))]
        for start, end in reversed(spans):
            text = text[:start] + WITHHELD + text[end:]
        return text

    def keeps_link(self, link: str) -> bool:
        squashed = re.sub(r"[\W_]+", "", _fold_same_length(link))
        return not any(slug in squashed for slug in self.slugs)


class _ShowAll:
    """For a team that chose to be named: nothing of its own is withheld."""

    def text(self, value: Any) -> str:
        return str(value or "")

    def keeps_link(self, link: str) -> bool:
        return True


def _no_emails(text: str) -> str:
    return _EMAIL_IN_TEXT.sub(WITHHELD, text)


def _people_of_teams(db: sqlite_utils.Database, team_ids: list[int]) -> dict[int, list[str]]:
    """Every name the team's people go by: its members and its student accounts."""
    out: dict[int, list[str]] = {team_id: [] for team_id in team_ids}
    if not team_ids:
        return out
    marks = ", ".join("?" for _ in team_ids)
    for row in db.query(f"SELECT team_id, name FROM members WHERE team_id IN ({marks}) "
                        f"UNION ALL SELECT team_id, name FROM users WHERE team_id IN ({marks})", team_ids * 2):
        out[row["team_id"]].append(row["name"] or "")
    return out


def purge_term_outcomes(db: sqlite_utils.Database, term_id: int, team_ids: list[int]) -> dict[str, int]:
    """The purge of a closed term (:func:`matching.maintenance.purge_term`, inside its
    transaction, before the people's names are erased): what the library keeps of the term
    stops naming its people.

    Final summaries stay (they are the library's substance) but no longer name their team: the
    opt-in is withdrawn, the team's and its people's names and every e-mail address are taken
    out of the texts, links that name them are dropped. Final assessment comments are erased like
    feedback comments; outcome notes lose the same names and addresses. Scores and statuses stay.
    """
    people = _people_of_teams(db, team_ids)
    counts = {"final_summaries": 0, "final_assessments": 0, "outcome_reports": 0}
    rows = list(db.query("SELECT s.*, p.team_id, t.name AS team_name FROM final_summaries s "
                         "JOIN pairings p ON p.id = s.pairing_id JOIN teams t ON t.id = p.team_id "
                         "WHERE p.term_id = ?", [term_id]))
    for row in rows:
        withhold = _Withholder(row["team_name"], people.get(row["team_id"], []))
        links = [link for link in as_list(row["links"]) if withhold.keeps_link(link) and not _EMAIL_IN_TEXT.search(link)]
        def clean(value: Any) -> str:
            return withhold.text(_no_emails(str(value or "")))  # addresses first, as the entries do

        db.execute("UPDATE final_summaries SET learned = ?, made = ?, recommendations = ?, links = ?, show_names = 0 "
                   "WHERE id = ?", [clean(row["learned"]), clean(row["made"]), clean(row["recommendations"]),
                                    json.dumps(links, ensure_ascii=False), row["id"]])
        counts["final_summaries"] += 1
    counts["final_assessments"] = db.execute(
        "UPDATE final_assessments SET comments = '' WHERE comments != '' AND pairing_id IN "
        "(SELECT id FROM pairings WHERE term_id = ?)", [term_id]).rowcount
    notes = list(db.query("SELECT r.id, r.note, p.team_id, t.name AS team_name FROM outcome_reports r "
                          "JOIN pairings p ON p.id = r.pairing_id JOIN teams t ON t.id = p.team_id "
                          "WHERE p.term_id = ? AND r.note != ''", [term_id]))
    for row in notes:
        note = _Withholder(row["team_name"], people.get(row["team_id"], [])).text(_no_emails(row["note"]))
        if note != row["note"]:
            db.execute("UPDATE outcome_reports SET note = ? WHERE id = ?", [note, row["id"]])
            counts["outcome_reports"] += 1
    return counts


# --- Entries ---------------------------------------------------------------------------------

def _year(row: Mapping) -> int | None:
    for key in ("ends_on", "closed_on", "starts_on", "term_created_at"):
        value = str(row.get(key) or "")
        if re.match(r"\d{4}", value):
            return int(value[:4])
    return None


def _summaries(db, pairing_ids: list[int]) -> dict[int, dict]:
    if not pairing_ids:
        return {}
    marks = ", ".join("?" for _ in pairing_ids)
    return {r["pairing_id"]: r for r in db.query(
        "SELECT pairing_id, learned, made, recommendations, links, show_names, updated_at FROM final_summaries "
        f"WHERE pairing_id IN ({marks})", pairing_ids)}


def _reports(db, pairing_ids: list[int]) -> dict[int, dict[str, dict]]:
    out: dict[int, dict[str, dict]] = {}
    if not pairing_ids:
        return out
    marks = ", ".join("?" for _ in pairing_ids)
    for r in db.query("SELECT pairing_id, checkpoint, status, note, reported_at FROM outcome_reports "
                      f"WHERE pairing_id IN ({marks})", pairing_ids):
        out.setdefault(r["pairing_id"], {})[r["checkpoint"]] = r
    return out


def _entry(row: Mapping, summary: Mapping | None, reports: Mapping[str, Mapping], averages: Mapping,
           people: list[str]) -> dict[str, Any]:
    """One library entry, field by field (see the module's note on anonymity)."""
    named = bool(summary and summary.get("show_names"))
    keep = _ShowAll() if named else _Withholder(row["team_name"], people)

    def clean(value: Any) -> str:
        return keep.text(_no_emails(str(value or "")))  # addresses first: a name inside one would hide it

    shown_summary = None
    if summary:
        links = [str(link) for link in as_list(json.loads(summary["links"] or "[]"))
                 if keep.keeps_link(str(link)) and not _EMAIL_IN_TEXT.search(str(link))]
        shown_summary = {"learned": clean(summary["learned"]), "made": clean(summary["made"]),
                         "recommendations": clean(summary["recommendations"]), "links": links}
    shown_reports = []
    for code, months in OUTCOME_CHECKPOINTS.items():
        report = reports.get(code)
        if report:
            shown_reports.append({"checkpoint": code, "months": months, "status": report["status"],
                                  "note": clean(report["note"]), "reported_on": str(report["reported_at"] or "")[:10]})
    latest = shown_reports[-1]["status"] if shown_reports else None
    return {
        "challenge_id": row["challenge_id"],
        "title": clean(row["title"]), "problem": clean(row["problem"]), "outcomes": clean(row["outcomes"]),
        "themes": [clean(theme) for theme in as_list(row["themes"])], "language": row["language"],
        "department_id": row["department_id"], "acronym": row["acronym"], "acronym_fr": row["acronym_fr"] or "",
        "department_en": row["department_en"], "department_fr": row["department_fr"],
        "kind": row["organisation_kind"],
        "programme_id": row["programme_id"], "institution_en": row["institution_en"] or "",
        "institution_fr": row["institution_fr"] or "", "programme_en": row["programme_en"] or "",
        "programme_fr": row["programme_fr"] or "",
        "term_id": row["term_id"], "term": row["term_name"], "year": _year(row),
        "team": row["team_name"] if named else None, "named": named,
        "summary": shown_summary,
        "averages": {key: averages.get(key) for key in (*RUBRIC, "overall", "count")},
        "reports": shown_reports, "latest_status": latest,
    }


def _entries(db: sqlite_utils.Database, rows: list[dict]) -> list[dict]:
    pairing_ids = [r["pairing_id"] for r in rows]
    summaries, reports = _summaries(db, pairing_ids), _reports(db, pairing_ids)
    people = _people_of_teams(db, sorted({r["team_id"] for r in rows}))
    out, seen = [], {}
    for r in rows:
        entry = _entry(r, summaries.get(r["pairing_id"]), reports.get(r["pairing_id"], {}),
                       rubric_averages(db, r["pairing_id"]), people.get(r["team_id"], []))
        # A stable key for the page, without any id of the pairing or the team.
        n = seen[(r["term_id"], r["challenge_id"])] = seen.get((r["term_id"], r["challenge_id"]), 0) + 1
        entry["key"] = f"{r['term_id']}-{r['challenge_id']}-{n}"
        out.append(entry)
    return out


def search_text(entry: Mapping) -> str:
    """What the library's search box searches in an entry: the challenge, its organisation and
    programme, the term, the team's summary, the report notes, and the team when it is named."""
    summary = entry.get("summary") or {}
    parts = [entry.get(k) for k in ("title", "problem", "outcomes", "acronym", "acronym_fr", "department_en",
                                    "department_fr", "institution_en", "institution_fr", "programme_en",
                                    "programme_fr", "term", "team")]
    parts += list(entry.get("themes") or []) + [summary.get(k) for k in ("learned", "made", "recommendations")]
    parts += [r["note"] for r in entry.get("reports") or []]
    return matches.folded(" ".join(str(p or "") for p in parts))


def entries(db: sqlite_utils.Database, actor: User, **filters: Any) -> list[dict]:
    """The library's entries, newest term first; with ``filters`` (:func:`filter_entries`), those
    that match every filter given."""
    authorize(actor, "library.read")
    found = _entries(db, _completed_rows(db))
    return filter_entries(found, **filters) if filters else found


def filter_entries(items: list[dict], *, query: str = "", organisation_ids: Iterable[int] = (),
                   kinds: Iterable[str] = (), programme_ids: Iterable[int] = (), themes: Iterable[str] = (),
                   years: Iterable[int] = (), statuses: Iterable[str] = ()) -> list[dict]:
    """The entries, in their order, that match every filter given.

    A filter left empty keeps everything; several values of one filter are alternatives.
    ``statuses`` are outcome statuses (``lifecycle.OUTCOME_STATUSES``) matched against each
    entry's latest report, plus ``"none"`` for an entry with no report yet. ``query`` is the
    portal's search (:func:`matching.matches.query_matcher`) over :func:`search_text`.
    """
    organisation_ids, kinds, programme_ids = set(organisation_ids or ()), set(kinds or ()), set(programme_ids or ())
    years, statuses = {int(y) for y in years or ()}, set(statuses or ())
    wanted_themes = {matches.folded(theme) for theme in themes or ()}
    matcher = matches.query_matcher(query)
    kept = []
    for entry in items:
        if organisation_ids and entry["department_id"] not in organisation_ids:
            continue
        if kinds and entry["kind"] not in kinds:
            continue
        if programme_ids and entry["programme_id"] not in programme_ids:
            continue
        if years and entry["year"] not in years:
            continue
        if statuses and (entry["latest_status"] or "none") not in statuses:
            continue
        if wanted_themes and not wanted_themes & {matches.folded(t) for t in entry["themes"]}:
            continue
        if not matcher(search_text(entry)):
            continue
        kept.append(entry)
    return kept


#: The outcome filter's choices: each status, and no report yet.
STATUS_CHOICES = (*OUTCOME_STATUSES, "none")


def facets_of(items: list[dict]) -> dict[str, list]:
    """The filter choices entries offer: their organisations, kinds, programmes, themes and years,
    and the outcome statuses (:data:`STATUS_CHOICES`)."""
    from .challenges import sorted_terms
    organisations, programmes, years, themes = {}, {}, set(), []
    for e in items:
        organisations.setdefault(e["department_id"], {key: e[key] for key in (
            "department_id", "acronym", "acronym_fr", "department_en", "department_fr", "kind")})
        if e["programme_id"] is not None:
            programmes.setdefault(e["programme_id"], {key: e[key] for key in (
                "programme_id", "institution_en", "institution_fr", "programme_en", "programme_fr")})
        if e["year"] is not None:
            years.add(e["year"])
        themes += e["themes"]
    present_kinds = {o["kind"] for o in organisations.values()}
    return {"organisations": sorted(({"id": o["department_id"], **o} for o in organisations.values()),
                                    key=lambda o: matches.folded(o["acronym"])),
            "kinds": [k for k in ORGANISATION_KINDS if k in present_kinds],
            "programmes": sorted(({"id": p["programme_id"], **p} for p in programmes.values()),
                                 key=lambda p: (matches.folded(p["institution_en"]), matches.folded(p["programme_en"]))),
            "themes": sorted_terms(themes), "years": sorted(years, reverse=True), "statuses": list(STATUS_CHOICES)}


def facets(db: sqlite_utils.Database, actor: User) -> dict[str, list]:
    """:func:`facets_of` every entry of the library."""
    return facets_of(entries(db, actor))


# --- Similar past challenges -----------------------------------------------------------------

#: A past challenge is shown beside a new one from this cosine score on: the ranker's "good
#: match" threshold (``ranking.LABEL_THRESHOLDS``). Measured on the 41 bundled demo challenges
#: as the past corpus: a new text made of one challenge's title and first sentence scores 0.53 to
#: 0.75 against that challenge (median 0.69); the best of the 40 others scores 0.05 to 0.18
#: (median 0.08, 90th percentile 0.14), and only 2 of 41 reach 0.15 (neighbouring subjects).
SIMILAR_MIN_SCORE = 0.15
SIMILAR_MAX = 3


def _completed_fingerprint(db: sqlite_utils.Database) -> tuple:
    """Which pairings are completed now: a closed term does not bump the data version (only
    ranked text does), so the past corpus's cache key carries this as well."""
    where, params = _completed_where()
    row = db.execute("SELECT COUNT(*), COALESCE(SUM(p.id), 0), COALESCE(MAX(p.id), 0) FROM pairings p "
                     f"JOIN terms tm ON tm.id = p.term_id {where}", params).fetchone()
    return tuple(int(v) for v in row)


def _past_corpus(db: sqlite_utils.Database) -> tuple[list[dict], TextRanker | None]:
    """The completed challenges (each once) and the ranker fitted on their texts, cached on the
    data version (challenge text) and :func:`_completed_fingerprint`."""
    def build():
        seen, challenges = set(), []
        for row in _completed_rows(db):
            if row["challenge_id"] not in seen:
                seen.add(row["challenge_id"])
                challenges.append({"id": row["challenge_id"], "title": row["title"], "problem": row["problem"],
                                   "outcomes": row["outcomes"], "themes": as_list(row["themes"])})
        texts = [challenge_text(c) for c in challenges]
        ranker = TextRanker().fit(texts) if challenges and any(t.strip() for t in texts) else None
        return challenges, ranker
    return matches.cached(db, ("library", _completed_fingerprint(db)), "past_challenges", build)


def similar_past_challenges(db: sqlite_utils.Database, actor: User, challenge: Mapping[str, Any], *,
                            k: int = SIMILAR_MAX, exclude_id: int | None = None) -> list[dict]:
    """Completed challenges like ``challenge`` (a form's title, problem, outcomes and themes),
    best first, at most ``k``, only those scoring :data:`SIMILAR_MIN_SCORE` or more: each with
    ``score``, ``label``, ``reasons`` (the shared words) and ``entries`` (its library entries:
    the summaries and outcomes of the teams that took it). Nothing when nothing is close."""
    authorize(actor, "library.read")
    past, ranker = _past_corpus(db)
    text = challenge_text(challenge)
    if ranker is None or not ranker.vectorizer_.analyzer(text):
        return []
    indices, scores = ranker.top_k([text], min(len(past), k + 1))
    picked = []
    for i, score in zip(indices[0], scores[0]):
        i, score = int(i), float(score)
        if score < SIMILAR_MIN_SCORE or len(picked) >= k:
            break
        if past[i]["id"] == exclude_id:
            continue
        reasons = [words for words, _ in ranker.explain(text, i, 3, min_share=MIN_REASON_SHARE)]
        picked.append({"challenge_id": past[i]["id"], "score": score, "label": label_for(score), "reasons": reasons})
    if not picked:
        return []
    by_challenge: dict[int, list[dict]] = {}
    for entry in _entries(db, _completed_rows(db, [p["challenge_id"] for p in picked])):
        by_challenge.setdefault(entry["challenge_id"], []).append(entry)
    return [{**p, "entries": by_challenge.get(p["challenge_id"], [])} for p in picked
            if by_challenge.get(p["challenge_id"])]
