"""Issue 14.7: a match reads the same on every page, for every role, and in the CLI: its label,
its rank in its list and its score relative to the best of that list (never a bare cosine shown
as a percentage: "Strong match" beside "Match score 26%" read as a failing grade)."""
import re

import pytest

from matching import accounts, i18n, matches, pairings, terms
from matching.ranking import label_for
from tests.test_app_smoke import signed_in
from tests.test_views_facilitator import demo_term, give_preferences

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

STUDENT = "student@demo.sheridancollege.ca"
# rank, total and a share of the best (or "the best"), in each language
LABELS = {lang: "|".join(i18n.t(f"label.{label}", lang) for label in ("strong", "good", "fair", "weak"))
          for lang in ("en", "fr")}
LINE = {"en": re.compile(rf"^({LABELS['en']}) · rank \d+ of \d+ · "
                         r"(the best score|\d+% of the best score) for this (team|challenge)$"),
        "fr": re.compile(rf"^({LABELS['fr']}) · rang \d+ sur \d+ · "
                         r"(meilleur score|\d+\u00a0% du meilleur score) pour (cette équipe|ce défi)$")}
OLD_WORDS = ("Match score", "Score de correspondance")


def test_standing_is_rank_and_share_of_the_best():
    assert matches.standing(0.26, 1, 35, 0.26) == {"label": "strong", "rank": 1, "out_of": 35, "share_of_best": 1.0}
    second = matches.standing(0.13, 2, 35, 0.26)
    assert second["label"] == label_for(0.13) == "fair" and second["share_of_best"] == pytest.approx(0.5)
    assert matches.standing(0.0, 35, 35, 0.0)["share_of_best"] == 0.0  # nothing in common with anything


@pytest.mark.parametrize("lang, first, second", [
    ("en", "Strong match · rank 1 of 35 · the best score for this team",
     "Fair match · rank 2 of 35 · 50% of the best score for this team"),
    ("fr", "Très bonne correspondance · rang 1 sur 35 · meilleur score pour cette équipe",
     "Correspondance moyenne · rang 2 sur 35 · 50\u00a0% du meilleur score pour cette équipe")])
def test_the_words_are_label_rank_and_share(lang, first, second):
    assert matches.standing_words(matches.standing(0.26, 1, 35, 0.26), lang, "team")["line"] == first
    assert matches.standing_words(matches.standing(0.13, 2, 35, 0.26), lang, "team")["line"] == second
    words = matches.standing_words(matches.standing(0.13, 2, 9, 0.26), lang, "challenge")
    assert LINE[lang].match(words["line"]) and words["line"].endswith(("challenge", "défi"))


def test_ranked_lists_carry_their_standing(demo_db):
    user = accounts.find_user(demo_db, STUDENT)
    ranked = matches.ranked_challenges_for_team(demo_db, user, user.team_id)
    assert [m["rank"] for m in ranked] == list(range(1, len(ranked) + 1))
    assert {m["out_of"] for m in ranked} == {len(ranked)}
    assert ranked[0]["share_of_best"] == 1.0
    assert all(m["share_of_best"] == pytest.approx(m["score"] / ranked[0]["score"]) for m in ranked)
    assert all(m["label"] == label_for(m["score"]) for m in ranked)
    # the top three (home page) are the first three of the whole list, standing included
    top = matches.ranked_challenges_for_team(demo_db, user, user.team_id, k=3)
    assert [(m["id"], m["rank"], m["out_of"]) for m in top] == [(m["id"], m["rank"], m["out_of"]) for m in ranked[:3]]
    # the facilitator's view of a pair is the team's view of it
    fac = accounts.find_user(demo_db, "facilitator@demo.gc.ca")
    standing = matches.pair_standings(demo_db, fac, demo_term(demo_db).id, [(user.team_id, ranked[4]["id"])])
    assert standing[(user.team_id, ranked[4]["id"])]["rank"] == 5
    assert standing[(user.team_id, ranked[4]["id"])]["share_of_best"] == pytest.approx(ranked[4]["share_of_best"])


def shown(at) -> list[str]:
    """Progress captions and table cells: where a match's standing is drawn."""
    out = [p.proto.text for p in at.get("progress")]
    for frame in at.dataframe:
        out += [str(v) for v in frame.value.to_numpy().ravel()]
    return out


def open_as(demo_db, role, page, lang, **state):
    at = signed_in(demo_db, role, lang)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_page_shows_a_match_the_same_way(demo_db, lang):
    user = accounts.find_user(demo_db, STUDENT)
    first = matches.standing_words(matches.ranked_challenges_for_team(demo_db, user, user.team_id, k=1)[0],
                                   lang, "team")
    # student: challenges for us, and home's top matches (bar captioned with rank and share)
    for page in ("views/student_matches.py", "views/home.py"):
        at = open_as(demo_db, "student", page, lang)
        captions = [p.proto.text for p in at.get("progress") if "·" in p.proto.text]
        assert captions and captions[0] == f"{first['rank']} · {first['relative']}", page
        assert f":green-badge[{first['label']}]" in [m.value for m in at.markdown], page
        assert not any(word in text for text in shown(at) for word in OLD_WORDS), page
    # department: teams ranked for its challenges
    at = open_as(demo_db, "department_rep", "views/dept_teams.py", lang)
    captions = [p.proto.text for p in at.get("progress")]
    assert captions and all(re.search(r"· (the best score|\d+% of the best score|meilleur score|"
                                      r"\d+\u00a0% du meilleur score) (for this challenge|pour ce défi)$", c)
                            for c in captions), captions
    # facilitator: the ranked tables under the matrix, the team's list as the team sees it
    at = open_as(demo_db, "facilitator", "views/fac_matrix.py", lang, matrix_team=user.team_id)
    cells = shown(at)
    assert first["line"] in cells
    assert sum(bool(LINE[lang].match(c)) for c in cells) >= 20
    # facilitator: the assignment's pairs
    give_preferences(demo_db)
    fac = accounts.find_user(demo_db, "facilitator@demo.gc.ca")
    terms.advance_term(demo_db, fac, demo_term(demo_db).id)
    pairings.run_assignment(demo_db, fac, demo_term(demo_db).id)
    at = open_as(demo_db, "facilitator", "views/fac_assignment.py", lang)
    assert sum(bool(LINE[lang].match(c)) for c in shown(at)) >= 20
