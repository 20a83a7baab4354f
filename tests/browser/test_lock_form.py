"""The Lock form in a real browser (issue 14.3): a facilitator picks a team, the challenge box
shows that team's current proposal, Lock keeps the team where it is and the confirmation names the
team and the challenge; picking another team moves the box to that team's proposal.

Runs on the shared demo term while it is in intake (before the facilitator journey moves it);
the lock it makes is lifted off-screen at the end so later journeys start from the same rules.
"""
import re

from playwright.sync_api import expect

from matching import accounts, pairings

from .conftest import enter_text, goto, main, sign_in, wait_idle
from .test_journey_facilitator import FACILITATOR, TEAM, choose, click, open_tab

REASON = "The department met this team and wants to keep it."


def proposal(db):
    term_id = db.execute("SELECT id FROM terms WHERE name = 'Winter 2027'").fetchone()[0]
    return term_id, {r["team_name"]: r for r in pairings.plan(db, accounts.SYSTEM, term_id).rows}


def test_lock_starts_on_the_teams_proposal_and_does_not_move_it(browser_page, portal_db):
    page, db = browser_page, portal_db
    sign_in(page, FACILITATOR)
    goto(page, "Assignment")
    click(page, main(page), "Run the assignment")
    expect(main(page).get_by_text(re.compile("^The assignment was run"))).to_be_visible()
    term_id, before = proposal(db)
    first, second = [r for name, r in sorted(before.items()) if r["challenge_id"] and name != TEAM][:2]

    form = open_tab(page, "Lock")
    choose(page, form, "Team", first["team_name"])
    expect(form.get_by_role("combobox", name="Challenge")).to_have_value(
        f"[{first['acronym']}] {first['challenge_title']}")
    # Another team: the box follows it to that team's own proposal.
    choose(page, open_tab(page, "Lock"), "Team", second["team_name"])
    form = open_tab(page, "Lock")
    expect(form.get_by_role("combobox", name="Team")).to_have_value(second["team_name"])
    expect(form.get_by_role("combobox", name="Challenge")).to_have_value(
        f"[{second['acronym']}] {second['challenge_title']}")

    enter_text(page, form.get_by_label("Reason (kept in the audit log)", exact=True), REASON)
    form.get_by_role("button", name="Lock", exact=True).last.click()
    wait_idle(page)
    expect(main(page).get_by_text(
        f"Locked: {second['team_name']} stays on {second['challenge_title']}. Every run keeps this pair.")
    ).to_be_visible()

    _, after = proposal(db)
    assert {n: r["challenge_id"] for n, r in after.items()} == {n: r["challenge_id"] for n, r in before.items()}
    assert after[second["team_name"]]["locked"]
    rules = open_tab(page, "Locks and bans")
    expect(rules.get_by_text(f"Lock · {second['team_name']} — {second['challenge_title']}")).to_be_visible()

    # Lift the lock off-screen: the facilitator journey starts from no rule.
    for rule in pairings.rules(db, accounts.SYSTEM, term_id):
        pairings.remove_rule(db, accounts.SYSTEM, rule["id"], "Browser test clean-up")
