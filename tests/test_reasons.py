"""Reasons shown for a match are real reasons (issue 16, point 1), checked on the bundled demo data.

For every team's top 10 challenges (and every challenge's top 10 teams):

* each reason says, for both sides, the words as written and the field they come from, and
  those words occur verbatim (ignoring case) in that field of that side;
* no reason is a word pair formed across a removed word (stop word, number, one-letter word)
  or punctuation: "blind or low vision" never gives "blind low";
* no reason comes from the team's name alone (a name is not expertise);
* every reason carries at least ``MIN_REASON_SHARE`` of the score;
* the pages' ``reasons`` keep their shape: ``(words, contribution)`` pairs, the same terms.
"""
from __future__ import annotations

import re
from dataclasses import asdict

import pytest

from matching import accounts, matches
from matching.challenges import get_challenge
from matching.ranking import (CHALLENGE_REASON_FIELDS, MIN_REASON_SHARE, TEAM_REASON_FIELDS, Reason,
                              TextRanker, rank_challenges_for_team)
from matching.teams import list_teams
from matching.textprep import (ENGLISH_STOP_WORDS, FRENCH_STOP_WORDS, _glossary_key, fold, load_glossary,
                               stem, tokenize)

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

K = 10
_STOPS = {"en": {fold(w) for w in ENGLISH_STOP_WORDS}, "fr": {fold(w) for w in FRENCH_STOP_WORDS}}
_WORD = re.compile(r"[^\W_]+")
_JOINER = re.compile(r"\s+|[-\u2010\u2011'\u2019]")


@pytest.fixture
def facilitator(demo_db):
    return accounts.find_user(demo_db, "facilitator@demo.gc.ca")


def _field_text(record: dict, field: str) -> str:
    value = record.get(field)
    if isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value)
    return str(value or "")


def _removed(word: str, language: str) -> bool:
    """Would the analyser drop this word (stop word of the text's language, number, one letter)?"""
    f = fold(word)
    if len(f) < 2 or f.isdigit():
        return True
    stops = _STOPS[language] if language in _STOPS else _STOPS["en"] & _STOPS["fr"]
    return f in stops


def _check_words(words: str, record: dict, field: str, side: str) -> None:
    text = _field_text(record, field)
    assert words, f"{side}: no words for a reason"
    assert words.casefold() in text.casefold(), f"{side} {field}: {words!r} not in {text!r}"
    # A phrase never spans punctuation or a removed word, unless it is one glossary phrase as
    # written ("conception de services", "personnes en situation de handicap").
    if _glossary_key(words) in load_glossary():
        return
    tokens = list(_WORD.finditer(words))
    for a, b in zip(tokens, tokens[1:]):
        gap = words[a.end():b.start()]
        assert _JOINER.fullmatch(gap), f"{side} {field}: {words!r} spans {gap!r}"
    language = record.get("language") or ""
    for m in tokens:
        assert not _removed(m.group(), language), f"{side} {field}: {words!r} spans removed {m.group()!r}"


def _stems(text: str) -> set[str]:
    return {stem(w, lang) for w in tokenize(text) for lang in ("en", "fr")}


def _check_item(item: dict, team: dict, challenge: dict, viewer: str) -> None:
    pairs = item["reason_pairs"]
    # the pages' shape: (words, contribution) pairs, the same terms as the pairs
    assert [(term, c) for term, c in item["reasons"]] == [(p.term, p.contribution) for p in pairs]
    assert len(pairs) <= 5
    if item["score"] > 0:
        assert pairs, "a match with a score shows at least one reason"
    name_stems = _stems(team["name"]) - _stems(" ".join(team["skills"] + team["interests"] + [team["past_work"]]))
    for p in pairs:
        assert isinstance(p, Reason) and p.viewer == viewer
        assert p.share >= MIN_REASON_SHARE
        assert p.contribution >= MIN_REASON_SHARE * item["score"] - 1e-12
        assert p.team_field in TEAM_REASON_FIELDS and p.challenge_field in CHALLENGE_REASON_FIELDS
        _check_words(p.team_words, team, p.team_field, "team")
        _check_words(p.challenge_words, challenge, p.challenge_field, "challenge")
        shown = _stems(" ".join((p.term, p.team_words, p.challenge_words)))
        assert not shown & name_stems, f"{team['name']!r}: reason {p.term!r} comes from the name"
        if viewer == "team":
            assert (p.your_words, p.their_words) == (p.team_words, p.challenge_words)
        else:
            assert (p.your_words, p.their_words) == (p.challenge_words, p.team_words)


def test_every_teams_top_matches_give_real_reasons(demo_db, facilitator):
    teams = [asdict(t) for t in list_teams(demo_db)]
    assert len(teams) >= 40
    shown = 0
    for team in teams:
        items = matches.ranked_challenges_for_team(demo_db, facilitator, team["id"], k=K)
        assert items
        for item in items:
            _check_item(item, team, item, "team")
            shown += len(item["reason_pairs"])
    assert shown >= 2 * K * len(teams)  # the cut leaves reasons to show, not next to none


def test_every_challenges_top_teams_give_real_reasons(demo_db, facilitator):
    challenge_ids = [r["id"] for r in demo_db.query("SELECT id FROM challenges WHERE status = 'approved'")]
    assert challenge_ids
    for challenge_id in challenge_ids:
        items = matches.ranked_teams_for_challenge(demo_db, facilitator, challenge_id, k=K)
        challenge = asdict(get_challenge(demo_db, facilitator, challenge_id))
        for item in items:
            _check_item(item, item, challenge, "challenge")


def test_the_issue_example_no_longer_gives_noise():
    """'Open Door Collective' (blind and low-vision testers) against an EI screen-reader challenge."""
    team = {"name": "Open Door Collective", "skills": ["accessibility testing", "plain language"],
            "interests": ["digital inclusion"], "language": "en",
            "past_work": "Audited a site with blind and low-vision testers; open data on door-to-door services."}
    challenge = {"title": "Make EI work for screen-reader users", "themes": ["accessibility", "plain language"],
                 "problem": "Clients who are blind or have low vision cannot complete the form. Open the door.",
                 "language": "en"}
    other = {"title": "Fisheries data", "problem": "Catch reports from vessels", "language": "en"}
    best = rank_challenges_for_team(team, [challenge, other], k=1)[0]
    terms = [term for term, _ in best.reasons]
    assert "blind low" not in terms and terms
    pairs = {p.team_words.casefold(): p for p in best.reason_pairs}
    assert pairs["plain language"].team_field == "skills"
    assert pairs["plain language"].challenge_field == "themes"
    assert pairs["low-vision"].challenge_words == "low vision"  # each side as it wrote it


def test_team_name_alone_matches_nothing():
    team = {"name": "Open Door Collective", "skills": ["fisheries"], "interests": [], "past_work": ""}
    ranker = TextRanker().fit(["Open the door to open data", "Fisheries science"])
    assert ranker.score(["Open Door Collective"]).max() > 0  # the name would have matched
    result = rank_challenges_for_team(team, [{"title": "Open the door to open data"},
                                             {"title": "Fisheries science"}])
    assert result[0].index == 1 and result[1].score == 0 and result[1].reasons == []


def test_explain_can_apply_the_cut_and_without_it_sums_to_the_score():
    docs = ["accessible benefit forms in plain language for seniors", "fisheries data on the coast"]
    ranker = TextRanker().fit(docs)
    query = "plain language forms and accessibility testing with seniors"
    score = ranker.score([query])[0, 0]
    every = ranker.explain(query, 0, n_terms=100)
    assert abs(sum(c for _, c in every) - score) <= 1e-9
    cut = ranker.explain(query, 0, n_terms=100, min_share=0.2)
    assert cut == [(w, c) for w, c in every if c >= 0.2 * score]
