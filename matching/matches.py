"""Match scores between teams and approved challenges, in both directions, with reasons.

Ranking is per term: a term's ranker is fitted on that term's approved challenges (and those of
no term) and its teams only, so another term's data never moves a team's scores. Fitting is
the costly part, so fitted rankers are cached per database file, term and
:func:`matching.db.data_version`, a number the database itself bumps (triggers) on every write
to ranked data; a restore moves it past every number the replaced data had.
"""
from __future__ import annotations

import threading
from dataclasses import asdict
from typing import Any

import numpy as np
import sqlite_utils

from . import db as storage
from .challenges import approved_challenges, get_challenge
from .errors import IllegalTransition
from .lifecycle import challenge_visible_to_all
from .permissions import authorize
from .ranking import (Match, TextRanker, challenge_text, rank_challenges_for_team,
                      rank_teams_for_challenge, team_text)
from .teams import get_team, list_teams

_CACHE: dict[tuple, Any] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 32  # (database, data version, term, kind); four kinds per term and version


def _db_key(db: sqlite_utils.Database) -> str:
    row = db.execute("PRAGMA database_list").fetchone()
    return row[2] if row else ""


def _cached(db: sqlite_utils.Database, term_id: int | None, kind: str, build):
    key = (_db_key(db), storage.data_version(db), term_id, kind)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    value = build()
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = value
    return value


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


def _challenge_corpus(db, term_id: int | None):
    def build():
        challenges = approved_challenges(db, term_id)
        ranker = TextRanker().fit([challenge_text(c) for c in challenges]) if challenges else None
        return challenges, ranker
    return _cached(db, term_id, "challenges", build)


def _team_list(db, term_id: int | None):
    """The term's teams' public profiles as dicts (cached: thousands of teams on every rerun add up)."""
    return _cached(db, term_id, "team_list", lambda: [asdict(t) for t in list_teams(db, term_id)])


def _team_corpus(db, term_id: int | None):
    def build():
        teams = _team_list(db, term_id)
        ranker = TextRanker().fit([team_text(t) for t in teams]) if teams else None
        return teams, ranker
    return _cached(db, term_id, "teams", build)


def _as_dicts(items: list[dict], matches: list[Match]) -> list[dict]:
    return [{**items[m.index], "score": m.score, "label": m.label, "reasons": m.reasons} for m in matches]


def ranked_challenges_for_team(db: sqlite_utils.Database, actor, team_id: int, *,
                               k: int | None = None) -> list[dict]:
    """The team's term's approved challenges best first, each with ``score``, ``label``, ``reasons``."""
    authorize(actor, "team.rank_challenges", team_id=team_id)
    team = asdict(get_team(db, actor, team_id))
    challenges, ranker = _challenge_corpus(db, team["term_id"])
    return _as_dicts(challenges, rank_challenges_for_team(team, challenges, ranker=ranker, k=k))


def ranked_teams_for_challenge(db: sqlite_utils.Database, actor, challenge_id: int, *,
                               k: int | None = None) -> list[dict]:
    """The challenge's term's teams best first, for an approved challenge (its department and
    facilitators)."""
    challenge = get_challenge(db, actor, challenge_id)
    authorize(actor, "challenge.rank_teams", department_id=challenge.department_id)
    if not challenge_visible_to_all(challenge.status):
        raise IllegalTransition("matches.not_approved", "only approved challenges are ranked",
                                state=challenge.status, move="rank")
    teams, ranker = _team_corpus(db, challenge.term_id)
    return _as_dicts(teams, rank_teams_for_challenge(asdict(challenge), teams, ranker=ranker, k=k))


def match_matrix(db: sqlite_utils.Database, actor, term_id: int) -> tuple[list[dict], list[dict], np.ndarray]:
    """Every team x approved challenge similarity of a term (facilitators): teams, challenges, scores."""
    authorize(actor, "pairing.view_all")
    challenges, ranker = _challenge_corpus(db, term_id)
    teams = _team_list(db, term_id)
    if ranker is None or not teams:
        return teams, challenges, np.zeros((len(teams), len(challenges)))

    def build():
        return ranker.score([team_text(t) for t in teams])
    return teams, challenges, _cached(db, term_id, "matrix", build)


MATRIX_PAGE_SIZE = 50


def matrix_view(db: sqlite_utils.Database, actor, term_id: int, *, order: str = "name", team_page: int = 0,
                challenge_page: int = 0, page_size: int = MATRIX_PAGE_SIZE) -> dict[str, Any]:
    """One page of the match matrix, so a chart never carries millions of cells.

    ``order`` is ``"name"`` (alphabetical) or ``"best"`` (rows and columns by their best score).
    Returns the page's ``teams``, ``challenges`` and ``scores`` (rows x columns) with
    ``team_pages`` / ``challenge_pages`` (page counts), the pages shown, and the overall
    ``low`` / ``high`` scores.
    """
    teams, challenges, scores = match_matrix(db, actor, term_id)
    if order == "best":
        team_order = np.argsort(-scores.max(axis=1, initial=0), kind="stable") if len(teams) else []
        challenge_order = np.argsort(-scores.max(axis=0, initial=0), kind="stable") if len(challenges) else []
    else:
        team_order = sorted(range(len(teams)), key=lambda i: _folded(teams[i]["name"]))
        challenge_order = sorted(range(len(challenges)),
                                 key=lambda j: (_folded(challenges[j]["acronym"]), _folded(challenges[j]["title"])))
    team_pages = max(1, -(-len(teams) // page_size))
    challenge_pages = max(1, -(-len(challenges) // page_size))
    team_page = min(max(0, team_page), team_pages - 1)
    challenge_page = min(max(0, challenge_page), challenge_pages - 1)
    rows = list(team_order[team_page * page_size:(team_page + 1) * page_size])
    cols = list(challenge_order[challenge_page * page_size:(challenge_page + 1) * page_size])
    return {"teams": [teams[i] for i in rows], "challenges": [challenges[j] for j in cols],
            "scores": scores[np.ix_(rows, cols)] if rows and cols else np.zeros((len(rows), len(cols))),
            "team_page": team_page, "team_pages": team_pages,
            "challenge_page": challenge_page, "challenge_pages": challenge_pages,
            "n_teams": len(teams), "n_challenges": len(challenges),
            "low": float(scores.min()) if scores.size else 0.0, "high": float(scores.max()) if scores.size else 0.0}


def _folded(text: Any) -> str:
    from .textprep import fold
    return fold(str(text or ""))


def _search_text(item: dict) -> str:
    parts = [item.get(key) for key in ("title", "problem", "outcomes", "acronym", "department_en",
                                       "department_fr")]
    return _folded(" ".join(str(p or "") for p in parts + list(item.get("themes") or [])))


def filter_ranked(items: list[dict], *, department_ids=(), themes=(), languages=(),
                  query: str = "") -> list[dict]:
    """Ranked challenges kept in rank order when they match every filter given.

    A filter left empty keeps everything; several values of one filter are alternatives (any
    department chosen, any theme chosen); the text query must appear in the title, problem,
    outcomes, themes or department, ignoring case and accents (so "securite" finds "sécurité").
    """
    wanted_themes = {_folded(theme) for theme in themes}
    words = _folded(query).split()
    kept = []
    for item in items:
        if department_ids and item.get("department_id") not in set(department_ids):
            continue
        if languages and item.get("language") not in set(languages):
            continue
        if wanted_themes and not wanted_themes & {_folded(t) for t in item.get("themes") or []}:
            continue
        if words and not all(word in _search_text(item) for word in words):
            continue
        kept.append(item)
    return kept


def ranked_facets(items: list[dict]) -> dict[str, list]:
    """The filter choices a ranked list offers: its departments (id -> names) and its themes."""
    from .challenges import sorted_terms
    departments = {}
    for item in items:
        departments.setdefault(item["department_id"], {
            "id": item["department_id"], "acronym": item.get("acronym", ""),
            "department_en": item.get("department_en", ""), "department_fr": item.get("department_fr", "")})
    return {"departments": sorted(departments.values(), key=lambda d: d["acronym"].casefold()),
            "themes": sorted_terms(theme for item in items for theme in item.get("themes") or [])}
