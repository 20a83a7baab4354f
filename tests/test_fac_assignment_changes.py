"""Issue 14.3 and the assignment part of 14.8, as a facilitator sees them (AppTest on the demo data):

* the Lock form starts on the team's current proposal (and follows the team chosen), so locking
  as shown keeps the team where it is;
* every adjustment's confirmation names the team, where it was and where it is now, in EN and FR;
* a manual pair that is not locked is marked before the run, and the run names it after;
* before the first run the page says so once, instead of empty tables (per term, two terms).
"""
import json

import pytest

from matching import i18n, pairings, terms
from matching import db as storage
from tests.test_views_facilitator import button, challenge_box, demo_term, facilitator, give_preferences, page, texts

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends


def shown(at) -> str:
    """The page's messages as read: Markdown escapes and invisible word joiners removed."""
    return texts(at).replace("\\", "").replace("\u2060", "")


def plan_of(db, term_id):
    return {r["team_id"]: r for r in pairings.plan(db, facilitator(db), term_id).rows}


def run(db):
    term = demo_term(db)
    give_preferences(db)
    pairings.run_assignment(db, facilitator(db), term.id)
    return term


def choose_kind(at, label, lang="en"):
    """Pick the adjustment by the label shown (in ``lang``); its value is the kind's code."""
    at.radio(key="assign_adjust_kind").set_value(label).run()


def test_lock_form_starts_on_the_teams_proposal_and_locking_as_shown_keeps_it(demo_db):
    term = run(demo_db)
    before = plan_of(demo_db, term.id)
    at = page(demo_db, "views/fac_assignment.py")
    choose_kind(at, "Lock")
    first = next(iter(before))                                  # the team box starts on the first team
    assert challenge_box(at, "lock", first).value == before[first]["challenge_id"]
    team = [tid for tid, r in before.items() if r["challenge_id"] and tid != first][-1]
    # Choosing another team: the challenge box follows it to that team's own proposal.
    at.selectbox(key="assign_lock_team").set_value(team).run()
    box = challenge_box(at, "lock", team)
    assert box.value == before[team]["challenge_id"]
    at.text_input(key="assign_lock_reason").input("The department met this team")
    button(at, "Lock").click().run()
    assert not at.exception
    after = plan_of(demo_db, term.id)
    assert after[team]["challenge_id"] == before[team]["challenge_id"] and after[team]["locked"]
    assert {tid: r["challenge_id"] for tid, r in after.items()} == {tid: r["challenge_id"] for tid, r in before.items()}
    assert (f"Locked: {before[team]['team_name']} stays on {before[team]['challenge_title']}. "
            "Every run keeps this pair.") in shown(at)


def test_the_box_follows_the_team_when_the_plan_moves_it_meanwhile(demo_db):
    """A colleague (or a run) moves the team while this form is open: the box shows where the
    team is now, so Lock as shown still keeps the team where it is."""
    term = run(demo_db)
    rows = plan_of(demo_db, term.id)
    team = next(r for r in rows.values() if r["challenge_id"])
    at = page(demo_db, "views/fac_assignment.py")
    choose_kind(at, "Lock")
    at.selectbox(key="assign_lock_team").set_value(team["team_id"]).run()
    assert challenge_box(at, "lock", team["team_id"]).value == team["challenge_id"]
    target = other_challenge(demo_db, term.id, team)
    pairings.pair(demo_db, facilitator(demo_db), term.id, team["team_id"], target["id"], "Moved by a colleague")
    at.run()
    assert challenge_box(at, "lock", team["team_id"]).value == target["id"]


def test_a_team_with_no_challenge_gets_an_empty_box_not_the_first_challenge(demo_db):
    term = run(demo_db)
    team = next(iter(plan_of(demo_db, term.id)))
    pairings.unpair(demo_db, facilitator(demo_db), term.id, team, "Starting over")
    at = page(demo_db, "views/fac_assignment.py")
    choose_kind(at, "Lock")
    at.selectbox(key="assign_lock_team").set_value(team).run()
    assert challenge_box(at, "lock", team).value is None
    at.text_input(key="assign_lock_reason").input("Asked for it")
    button(at, "Lock").click().run()
    assert "Choose an approved challenge." in shown(at)
    assert pairings.rules(demo_db, facilitator(demo_db), term.id) == []       # nothing was locked
    assert plan_of(demo_db, term.id)[team]["challenge_id"] is None


def other_challenge(db, term_id, team_row):
    """A challenge with room that is not the team's current one."""
    rows = plan_of(db, term_id).values()
    for c in pairings.term_challenges(db, term_id):
        taken = sum(1 for r in rows if r["challenge_id"] == c["id"])
        if c["id"] != team_row["challenge_id"] and taken < c["capacity"]:
            return c
    raise AssertionError("no challenge with room")


CONFIRMATIONS = {
    "en": {"pair": "Paired: {team}, from {a} to {b}.", "unpair": "Unpaired: {team}, from {b} to no challenge.",
           "ban": "Banned: {team} from {a}. Its pairing is unchanged: no challenge.",
           "removed": "Ban removed: {team} — {a}. Its pairing is unchanged until the next run: no challenge.",
           "tabs": ("Pair", "Unpair", "Ban", "Locks and bans"), "buttons": ("Pair", "Unpair", "Ban", "Remove")},
    "fr": {"pair": "Jumelée\u00a0: {team}, de {a} à {b}.", "unpair": "Retirée\u00a0: {team}, de {b} à aucun défi.",
           "ban": "Interdite\u00a0: {team} pour {a}. Son jumelage ne change pas\u00a0: aucun défi.",
           "removed": "Interdiction retirée\u00a0: {team} — {a}. Son jumelage ne change pas avant le prochain "
                      "lancement\u00a0: aucun défi.",
           "tabs": ("Jumeler", "Retirer", "Interdire", "Verrous et interdictions"),
           "buttons": ("Jumeler", "Retirer", "Interdire", "Retirer")},
}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_confirmation_names_the_team_where_it_was_and_where_it_is(demo_db, lang):
    term = run(demo_db)
    said = CONFIRMATIONS[lang]
    team = next(r for r in plan_of(demo_db, term.id).values() if r["challenge_id"])
    target = other_challenge(demo_db, term.id, team)
    words = {"team": team["team_name"], "a": team["challenge_title"], "b": target["title"]}
    at = page(demo_db, "views/fac_assignment.py", lang)
    pair, unpair, ban, rules = said["tabs"]
    # Pair: from its proposal to another challenge.
    choose_kind(at, pair, lang)
    at.selectbox(key="assign_pair_team").set_value(team["team_id"]).run()
    challenge_box(at, "pair", team['team_id']).set_value(target["id"])
    at.text_input(key="assign_pair_reason").input("Closer to their skills")
    at.button(key="assign_pair_go").click().run()
    assert said["pair"].format(**words) in shown(at)
    # Unpair: from that challenge to none.
    choose_kind(at, unpair, lang)
    at.selectbox(key="assign_unpair_team").set_value(team["team_id"]).run()
    at.text_input(key="assign_unpair_reason").input("Waiting for the department")
    at.button(key="assign_unpair_go").click().run()
    assert said["unpair"].format(**words) in shown(at)
    # Ban its first challenge: it has none now, so its pairing is unchanged.
    choose_kind(at, ban, lang)
    at.selectbox(key="assign_ban_team").set_value(team["team_id"]).run()
    challenge_box(at, "ban", team['team_id']).set_value(team["challenge_id"])
    at.text_input(key="assign_ban_reason").input("Conflict of interest")
    at.button(key="assign_ban_go").click().run()
    assert said["ban"].format(**words) in shown(at)
    # Lifting the ban names the team and the challenge.
    choose_kind(at, rules, lang)
    rule = pairings.rules(demo_db, facilitator(demo_db), term.id)[0]
    at.text_input(key=f"assign_rule_reason_{rule['id']}").input("Conflict resolved")
    at.button(key=f"assign_rule_remove_{rule['id']}").click().run()
    assert said["removed"].format(**words) in shown(at)
    assert not at.exception


def test_a_manual_pair_is_marked_before_the_run_and_named_by_the_run_that_replaced_it(demo_db):
    term = run(demo_db)
    rows = plan_of(demo_db, term.id)
    moved, kept = [r for r in rows.values() if r["challenge_id"]][:2]
    target = other_challenge(demo_db, term.id, moved)
    fac = facilitator(demo_db)
    pairings.pair(demo_db, fac, term.id, moved["team_id"], target["id"], "Trying a closer fit")
    pairings.lock(demo_db, fac, term.id, kept["team_id"], kept["challenge_id"], "Agreed with the department")
    at = page(demo_db, "views/fac_assignment.py")
    # Before the run: the row says so, and so does a warning above the table.
    table = at.dataframe[0].value
    marked = table[table["manual"] != ""]
    assert list(marked["team"]) == [moved["team_name"]]
    assert marked["manual"].iloc[0] == "Manual pair, not locked: the next run may move it."
    assert table[table["team"] == kept["team_name"]]["manual"].iloc[0] == ""     # locked: kept by the run
    assert (f"1 manual pair not locked: the next run may move it. Lock a pair to keep it. "
            f"{moved['team_name']} → {target['title']}") in shown(at)
    # The run puts the team back where the optimiser wants it and says which manual pair it replaced.
    button(at, "Run the assignment").click().run()
    assert not at.exception
    after = plan_of(demo_db, term.id)
    assert after[moved["team_id"]]["challenge_id"] == moved["challenge_id"]
    assert after[kept["team_id"]]["challenge_id"] == kept["challenge_id"]
    text = shown(at)
    assert "It replaced 1 manual pair that was not locked: it is named below." in text
    assert (f"The last run replaced a manual pair that was not locked: {moved['team_name']} was on "
            f"{target['title']}, now on {moved['challenge_title']}.") in text
    assert not (at.dataframe[0].value["manual"] != "").any()
    event = storage.one(demo_db, "SELECT detail FROM audit_events WHERE action = 'pairing.run' ORDER BY id DESC LIMIT 1")
    assert f'"team_id": {moved["team_id"]}' in event["detail"]


def test_before_the_first_run_one_empty_state_per_term(demo_db):
    fac = facilitator(demo_db)
    winter = demo_term(demo_db)
    fall = terms.create_term(demo_db, fac, {"name": "Fall 2027"})
    at = page(demo_db, "views/fac_assignment.py")
    at.selectbox(key="assign_term").set_value(winter.id).run()
    teams = len(plan_of(demo_db, winter.id))
    assert ("No pairing yet in Winter 2027: run the assignment to propose a challenge for each of its "
            f"{teams} teams.") in shown(at)
    assert not at.dataframe and not at.metric
    assert "Published pairings" not in [h.value for h in at.header]
    assert "not run yet" not in shown(at)
    at.selectbox(key="assign_term").set_value(fall.id).run()
    assert "Fall 2027 has no team yet: there is nothing to pair." in shown(at)
    # Winter runs; Fall still shows its own empty state.
    at.selectbox(key="assign_term").set_value(winter.id).run()
    button(at, "Run the assignment").click().run()
    assert at.header[0].value == "Proposal (not published yet)" and len(at.dataframe[0].value) == teams
    at.selectbox(key="assign_term").set_value(fall.id).run()
    assert "Fall 2027 has no team yet" in shown(at) and not at.dataframe


def test_french_empty_state(demo_db):
    at = page(demo_db, "views/fac_assignment.py", "fr")
    assert "Aucun jumelage pour le moment dans Winter 2027\u00a0: lancez l’attribution" in shown(at)
    assert not at.dataframe


def test_selecting_a_row_shows_its_full_text(demo_db):
    term = run(demo_db)
    rows = pairings.plan(demo_db, facilitator(demo_db), term.id).rows
    at = page(demo_db, "views/fac_assignment.py")
    assert "Select a row to read it in full." in shown(at)
    i = next(i for i, r in enumerate(rows) if r["challenge_id"])
    at.session_state[f"assign_table_{term.id}"] = {"selection": {"rows": [i], "columns": [], "cells": []}}
    at.run()
    details = shown(at)
    assert f"**Challenge**: [{rows[i]['acronym']}] {rows[i]['challenge_title']}" in details
    assert f"**Team**: {rows[i]['team_name']}" in details
    assert f"**Reason**: {i18n.t(rows[i]['reason'])}" in details
    # Titles and reasons get wide columns.
    config = json.loads(at.dataframe[0].proto.columns)
    assert config["challenge"]["width"] == config["reason"]["width"] == "large"


def test_portal_assign_names_the_manual_pairs_it_replaced(demo_db):
    """The command line's run says the same as the page (its warnings, in the chosen language)."""
    from click.testing import CliRunner

    from matching.cli import main
    term = run(demo_db)
    team = next(r for r in plan_of(demo_db, term.id).values() if r["challenge_id"])
    target = other_challenge(demo_db, term.id, team)
    pairings.pair(demo_db, facilitator(demo_db), term.id, team["team_id"], target["id"], "Trying a closer fit")
    result = CliRunner().invoke(main, ["assign", "--language", "fr"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (f"Avertissement\u00a0: Le dernier lancement a remplacé un jumelage manuel non verrouillé\u00a0: "
            f"{team['team_name']} était sur {target['title']}, maintenant sur {team['challenge_title']}.") in result.output
