"""Match scores between teams and approved challenges, in both directions, with reasons.

Ranking is per term: a term's ranker is fitted on that term's approved challenges (and those of
no term) and its teams only, so another term's data never moves a team's scores. Fitting is
the costly part, so fitted rankers are cached per database file, term and
:func:`matching.db.data_version`, a number the database itself bumps (triggers) on every write
to ranked data; a restore moves it past every number the replaced data had.
"""
from __future__ import annotations

import csv
import functools
import re
import threading
from collections import OrderedDict
from dataclasses import asdict
from typing import Any

import numpy as np
import sqlite_utils

from . import db as storage
from . import programmes
from .challenges import approved_challenges, get_challenge
from .errors import IllegalTransition
from .lifecycle import challenge_visible_to_all
from .permissions import authorize
from .ranking import (Match, TextRanker, challenge_text, label_for, rank_challenges_for_team,
                      rank_teams_for_challenge, team_text)
from .teams import get_team, list_teams

_CACHE: dict[tuple, Any] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 32  # (database, data version, term, kind); four kinds per term and version


def _db_key(db: sqlite_utils.Database) -> str:
    return storage.database_key(db)


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


def cached(db: sqlite_utils.Database, scope: Any, kind: str, build):
    """The rankers' cache for another corpus (the outcomes library's past challenges): ``build()``
    once per database, data version, ``scope`` (what else the value depends on) and ``kind``."""
    return _cached(db, scope, kind, build)


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()
        _RANKED.clear()


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
    """Ranked items (best first) with their score, label, reasons and :func:`standing`."""
    best = matches[0].score if matches else 0.0
    return [{**items[m.index], "score": m.score, "label": m.label, "reasons": m.reasons,
             "reason_pairs": m.reason_pairs, **standing(m.score, rank, len(items), best)}
            for rank, m in enumerate(matches, start=1)]


# --- How a match is shown -------------------------------------------------------------------
#
# A cosine score means little to a reader ("Strong match" beside "26%" reads as a failing
# grade), so a match is shown everywhere (student, department, facilitator pages, the CLI) as
# its label, its rank in the list it belongs to, and its score relative to the best score of
# that list: the best is the reference, never 100% of some absolute scale.

def standing(score: float, rank: int, out_of: int, best: float) -> dict:
    """``label``, ``rank`` (1 = best), ``out_of`` (items ranked) and ``share_of_best`` (score /
    best score of the same list, 0..1) of one match."""
    score = float(score or 0.0)
    share = min(max(score / best, 0.0), 1.0) if best and best > 0 else 0.0
    return {"label": label_for(score), "rank": int(rank), "out_of": int(out_of), "share_of_best": share}


def standing_words(item: dict, lang: str, side: str) -> dict[str, str]:
    """The words of a match's :func:`standing`, the same on every page and in the CLI.

    ``side`` names the list the match was ranked in: ``"team"`` (challenges ranked for a team)
    or ``"challenge"`` (teams ranked for a challenge). Returns ``label`` ("Strong match"),
    ``rank`` ("rank 2 of 35"), ``relative`` ("92% of the best score for this team", or "the
    best score for this team" for the first) and ``line``, the three joined with " · ".
    """
    from .i18n import format_percent, t
    label = t("label." + item["label"], lang)
    rank = t("matches.standing.rank", lang, rank=item["rank"], total=item["out_of"])
    if item["rank"] == 1:
        relative = t(f"matches.standing.best_{side}", lang)
    else:
        relative = t(f"matches.standing.share_{side}", lang,
                     percent=format_percent(round(item["share_of_best"], 2), lang))
    return {"label": label, "rank": rank, "relative": relative, "line": " · ".join((label, rank, relative))}


def pair_standings(db: sqlite_utils.Database, actor, term_id: int, pairs) -> dict[tuple[int, int], dict]:
    """:func:`standing` of given (team id, challenge id) pairs of a term, each ranked among the
    team's challenges (facilitators: the assignment's pairs are shown as the team would see them)."""
    teams, challenges, scores = match_matrix(db, actor, term_id)
    row_of = {team["id"]: i for i, team in enumerate(teams)}
    col_of = {challenge["id"]: j for j, challenge in enumerate(challenges)}
    out = {}
    for team_id, challenge_id in pairs:
        i, j = row_of.get(team_id), col_of.get(challenge_id)
        if i is None or j is None:
            continue
        row = scores[i]
        score = float(row[j])
        out[(team_id, challenge_id)] = standing(score, 1 + int((row > score + 1e-12).sum()), len(row),
                                                float(row.max(initial=0.0)))
    return out


#: Ranked, explained lists per team, kept apart from the rankers so that thousands of teams never
#: evict a fitted ranker: (database, data version, term, "team_ranked", team_id) -> list, least
#: recently used dropped first.
_RANKED: "OrderedDict[tuple, list[dict]]" = OrderedDict()
_RANKED_SIZE = 256


def ranked_challenges_for_team(db: sqlite_utils.Database, actor, team_id: int, *,
                               k: int | None = None) -> list[dict]:
    """The team's term's approved challenges best first, each with ``score``, ``label``, ``reasons``
    (``(words, contribution)`` pairs) and ``reason_pairs`` (:class:`matching.ranking.Reason`).

    The whole ranked, explained list is cached per team and data version (any write to ranked
    data, the team's profile included, bumps the version), so a page rerun does not re-rank and
    re-explain every challenge. A call with ``k`` reuses a cached list, or ranks only ``k``."""
    authorize(actor, "team.rank_challenges", team_id=team_id, programme_id=programmes.of_team(db, team_id))
    team = asdict(get_team(db, actor, team_id))
    key = (_db_key(db), storage.data_version(db), team["term_id"], "team_ranked", team_id)
    with _CACHE_LOCK:
        ranked = _RANKED.get(key)
        if ranked is not None:
            _RANKED.move_to_end(key)
    if ranked is None:
        challenges, ranker = _challenge_corpus(db, team["term_id"])
        if k is not None:
            return _as_dicts(challenges, rank_challenges_for_team(team, challenges, ranker=ranker, k=k))
        ranked = _as_dicts(challenges, rank_challenges_for_team(team, challenges, ranker=ranker))
        with _CACHE_LOCK:
            _RANKED[key] = ranked
            while len(_RANKED) > _RANKED_SIZE:
                _RANKED.popitem(last=False)
    # Fresh dicts each call: a caller changing an item must not change the cached list.
    return [dict(item) for item in (ranked if k is None else ranked[:k])]


def ranked_teams_for_challenge(db: sqlite_utils.Database, actor, challenge_id: int, *,
                               k: int | None = None) -> list[dict]:
    """The challenge's term's teams best first, for an approved challenge (its department and
    facilitators)."""
    challenge = get_challenge(db, actor, challenge_id)
    authorize(actor, "challenge.rank_teams", department_id=challenge.department_id,
              programme_id=programmes.of_challenge(db, challenge_id))
    if not challenge_visible_to_all(challenge.status):
        raise IllegalTransition("matches.not_approved", "only approved challenges are ranked",
                                state=challenge.status, move="rank")
    teams, ranker = _team_corpus(db, challenge.term_id)
    return _as_dicts(teams, rank_teams_for_challenge(asdict(challenge), teams, ranker=ranker, k=k))


def match_matrix(db: sqlite_utils.Database, actor, term_id: int) -> tuple[list[dict], list[dict], np.ndarray]:
    """Every team x approved challenge similarity of a term (facilitators): teams, challenges, scores."""
    authorize(actor, "pairing.view_all", programme_id=programmes.of_term(db, term_id))
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
    parts = [item.get(key) for key in ("title", "problem", "outcomes", "acronym", "acronym_fr", "department_en",
                                       "department_fr")]
    return _folded(" ".join(str(p or "") for p in parts + list(item.get("themes") or [])))


_WORD_RE = re.compile(r"[^\W_]+")


def _key_words(text: str) -> tuple[str, ...]:
    """Folded content words of a phrase, crude singular (as the glossary lookup does)."""
    from .textprep import fold
    stops = _folded_stops()
    out = []
    for w in _WORD_RE.findall(fold(text)):
        if w in stops or len(w) < 2 or w.isdigit():
            continue
        if len(w) > 4 and w.endswith("ies"):
            w = w[:-3] + "y"
        elif len(w) > 4 and w.endswith("eaux"):
            w = w[:-1]
        elif len(w) > 3 and w[-1] in "sx" and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return tuple(out)


@functools.lru_cache(maxsize=1)
def _folded_stops() -> frozenset:
    from .textprep import ENGLISH_STOP_WORDS, FRENCH_STOP_WORDS, fold
    return frozenset(fold(w) for w in ENGLISH_STOP_WORDS | FRENCH_STOP_WORDS)


def _word_pattern(word: str) -> str:
    """A glossary word as a whole word, singular or plural, masculine or feminine."""
    if word.endswith("y") and len(word) > 3:
        return r"\b" + re.escape(word[:-1]) + r"(?:y|ies)\b"
    return r"\b" + re.escape(word) + r"(?:e|s|x|es|ees)?\b"


@functools.lru_cache(maxsize=4)
def _glossary_classes(path: str) -> dict[tuple[str, ...], tuple[re.Pattern, ...]]:
    """Glossary phrase (key words) -> patterns of every phrase it is equivalent to, in either
    language: the English and French sides of each row are joined, and rows sharing a phrase
    ("seniors" = "aînés", "seniors" = "personnes âgées") form one class."""
    parent: dict[tuple, tuple] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                en, fr = _key_words(row.get("en") or ""), _key_words(row.get("fr") or "")
                if en and fr:
                    parent[find(en)] = find(fr)
    except (OSError, csv.Error, UnicodeDecodeError):
        return {}
    members: dict[tuple, list[tuple]] = {}
    for key in list(parent):
        members.setdefault(find(key), []).append(key)
    classes = {}
    for group in members.values():
        patterns = tuple(re.compile(_word_pattern(key[0])) if len(key) == 1 else
                         _AllWords(tuple(re.compile(_word_pattern(w)) for w in key)) for key in group)
        for key in group:
            classes[key] = patterns
    return classes


class _AllWords:
    """Every word of a phrase somewhere in the text (``search`` like a compiled pattern)."""

    def __init__(self, patterns):
        self.patterns = patterns

    def search(self, text: str) -> bool:
        return all(p.search(text) for p in self.patterns)


_MAX_PHRASE = 6


def _query_groups(query: str) -> list[tuple[list[str], tuple]]:
    """The query as groups that must each match: (the words as typed, glossary equivalents).

    Words are matched as typed (substrings, ignoring case and accents). A word or run of words
    that is a glossary phrase matches from the start of a word (so "aînés" no longer finds
    "certaines") or as any equivalent phrase in either language (whole words, singular or
    plural): "seniors" finds "aînés" and "personnes âgées", "aînés" finds "seniors".
    """
    from .textprep import GLOSSARY_PATH
    words = _folded(query).split()
    classes = _glossary_classes(str(GLOSSARY_PATH))
    tokens = [(i, k) for i, w in enumerate(words) for k in _key_words(w)]
    groups: list[tuple[list[str], tuple]] = []
    done = -1  # last word index already in a group
    j = 0
    while j < len(tokens):
        for n in range(min(_MAX_PHRASE, len(tokens) - j), 0, -1):
            key = tuple(k for _, k in tokens[j:j + n])
            if key in classes:
                first, last = tokens[j][0], tokens[j + n - 1][0]
                groups.extend(([w], ()) for w in words[done + 1:first])
                typed = words[first:last + 1]  # as typed, from the start of a word ("health" finds "healthcare")
                prefix = _AllWords(tuple(re.compile(r"\b" + re.escape(w)) for w in typed))
                groups.append((typed, (prefix,) + classes[key]))
                done = max(done, last)
                j += n
                break
        else:
            j += 1
    groups.extend(([w], ()) for w in words[done + 1:])
    return [g for g in groups if g[0] or g[1]]


def filter_ranked(items: list[dict], *, department_ids=(), themes=(), languages=(),
                  query: str = "") -> list[dict]:
    """Ranked challenges kept in rank order when they match every filter given.

    A filter left empty keeps everything; several values of one filter are alternatives (any
    department chosen, any theme chosen); every word of the text query must appear in the
    title, problem, outcomes, themes or department, ignoring case and accents (so "securite"
    finds "sécurité"); a glossary term (``data/glossary_en_fr.csv``) is found at the start of a
    word or as any of its equivalents in either language, so "seniors" and "aînés" find the
    same challenges (see :func:`_query_groups`).
    """
    wanted_themes = {_folded(theme) for theme in themes}
    matches_query = query_matcher(query)
    kept = []
    for item in items:
        if department_ids and item.get("department_id") not in set(department_ids):
            continue
        if languages and item.get("language") not in set(languages):
            continue
        if wanted_themes and not wanted_themes & {_folded(t) for t in item.get("themes") or []}:
            continue
        if not matches_query(_search_text(item)):
            continue
        kept.append(item)
    return kept


def folded(text: Any) -> str:
    """``text`` as :func:`query_matcher` searches it: lower case, accents folded."""
    return _folded(text)


def query_matcher(query: str):
    """A test ``text -> bool`` of a search box's query, the one every search of the portal uses
    (the student's challenge search, the outcomes library): every word as typed (a substring,
    ignoring case and accents), a glossary term also as any of its equivalents in either language
    (:func:`_query_groups`). ``text`` must be folded (:func:`folded`). An empty query matches all."""
    groups = _query_groups(query or "")
    if not groups:
        return lambda text: True

    def matches(text: str) -> bool:
        return all(any(p.search(text) for p in equivalents) if equivalents else
                   all(w in text for w in typed) for typed, equivalents in groups)
    return matches


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
