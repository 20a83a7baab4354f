"""The facilitator and expert workflow in a real browser, end to end on the demo term:

a facilitator approves a challenge, moves the term to matching, runs the assignment, locks one
pair with a reason, re-runs, publishes, opens the term and a feedback round; the expert of the
locked pair submits feedback for round 1; the team reads it and replies; the facilitator's
dashboard shows the round complete.

This journey moves the shared demo term forward, so conftest runs it after the tests that need
the term in intake. The feedback of the other experts (dozens of pairings) is given off-screen
through the domain services, as those experts would; everything this journey's people do is
done and checked in the browser.
"""
import datetime as dt
import re

from playwright.sync_api import expect

from matching import accounts, feedback
from matching.models import RUBRIC

from .conftest import badge, block_with, card, enter_text, goto, main, sign_in, sign_out, wait_idle

FACILITATOR = "nadia.ferreira@sheridancollege.ca"
CHALLENGE = "Making drone rules clear for first-time pilots"   # TC, submitted in the demo data
EXPERT = "ahmed.siddiqui@tc.gc.ca"                              # its subject-matter expert
TEAM = "Wayfinders"
STUDENT = "minh.tran@sheridancollege.ca"                        # a member of Wayfinders
LOCK_REASON = "The team asked for it: two members fly drones."
ROUND = "Round 1"
COMMENTS = "Strong start. Test the checklist with three first-time pilots before the next round."
REPLY = "We tested the checklist with three pilots and rewrote the airspace step."


def box_of(page, key: str):
    """The bordered box holding the widget with ``key`` (to tell apart boxes with equal labels)."""
    return block_with(main(page), page.locator(f".st-key-{key}"))


def choose(page, scope, label: str, typed: str) -> None:
    box = scope.get_by_role("combobox", name=label)
    box.click()
    box.fill(typed)
    box.press("Enter")
    wait_idle(page)


def tick(page, scope, label: str) -> None:
    scope.get_by_text(label, exact=True).click()
    wait_idle(page)


def click(page, scope, name: str) -> None:
    scope.get_by_role("button", name=name, exact=True).click()
    wait_idle(page)


def approve(page) -> None:
    goto(page, "Review queue")
    expect(main(page).get_by_role("heading", name=CHALLENGE)).to_be_visible()
    form = card(main(page), CHALLENGE)
    tick(page, form, "I confirm this challenge is unclassified.")
    click(page, form, "Approve")
    expect(main(page).get_by_text(f"Approved: {CHALLENGE}")).to_be_visible()
    expect(main(page).get_by_role("heading", name=CHALLENGE)).to_have_count(0)


def advance_term(page, before: str, state: str) -> None:
    """Move the demo term one step; the guards have nothing to say (no override is offered)."""
    goto(page, "Terms")
    expect(main(page).get_by_text("Start the term anyway (override)")).to_have_count(0)
    tick(page, main(page), f"I confirm moving this term to {state}. This cannot be undone.")
    click(page, main(page), f"Move to {state}")
    expect(main(page).get_by_text(f"Winter 2027 moved from {before} to {state}.")).to_be_visible()


def run_assignment(page) -> None:
    click(page, main(page), "Run the assignment")
    expect(main(page).get_by_text(re.compile("^The assignment was run"))).to_be_visible()
    expect(main(page).get_by_role("heading", name="Proposal (not published yet)")).to_be_visible()


def open_tab(page, name: str):
    """Choose an adjustment (pair, unpair, lock, ban, or the list of rules) in the radio group
    above the adjustment forms, and return the page body that now shows it."""
    option = main(page).get_by_role("radio", name=name, exact=True)
    if not option.is_checked():
        option.check(force=True)
        wait_idle(page)
    return main(page)


def lock_pair(page) -> None:
    choose(page, open_tab(page, "Lock"), "Team", TEAM)
    choose(page, open_tab(page, "Lock"), "Challenge", "drone rules")
    form = open_tab(page, "Lock")
    expect(form.get_by_role("combobox", name="Team")).to_have_value(TEAM)
    expect(form.get_by_role("combobox", name="Challenge")).to_have_value(f"[TC] {CHALLENGE}")
    enter_text(page, form.get_by_label("Reason (kept in the audit log)", exact=True), LOCK_REASON)
    form.get_by_role("button", name="Lock", exact=True).last.click()
    wait_idle(page)
    # The confirmation says what moved: the team, from its proposal, to the locked challenge.
    expect(main(page).get_by_text(re.compile(f"^Locked: {TEAM}, from .+ to {CHALLENGE}\\. Every run keeps this pair\\.$|"
                                             f"^Locked: {TEAM} stays on {CHALLENGE}\\."))).to_be_visible()
    rules = open_tab(page, "Locks and bans")
    expect(rules.get_by_text(f"Lock · {TEAM} — {CHALLENGE}")).to_be_visible()
    expect(rules.get_by_text(f"Reason: {LOCK_REASON}")).to_be_visible()


def publish(page) -> None:
    expect(main(page).get_by_text(re.compile(r"^If you publish now: pairings added: \d+"))).to_be_visible()
    tick(page, main(page), "I confirm publishing these pairings: students, organizations and experts will see them.")
    click(page, main(page), "Publish the pairings")
    expect(main(page).get_by_text("The pairings are published. What changed:")).to_be_visible()
    expect(main(page).get_by_text(f"Added: {TEAM} → {CHALLENGE}")).to_be_visible()


def create_round(page, due: dt.date) -> None:
    goto(page, "Feedback rounds")
    form = card(main(page), "Create a round")
    enter_text(page, form.get_by_label("Round name", exact=True), ROUND)
    enter_text(page, form.get_by_label("Due on", exact=True), due.isoformat())  # YYYY-MM-DD
    click(page, form, "Create the round")
    expect(main(page).get_by_text(f"Round {ROUND} created.")).to_be_visible()


def other_experts_give_their_feedback(db, our_entry: int, round_id: int) -> int:
    """Every other pairing's expert submits round 1 (off-screen): only ours is left open."""
    scores = {criterion: 4 for criterion in RUBRIC}
    others = db.execute("SELECT id, expert_id FROM feedback_entries WHERE round_id = ? AND id != ?",
                        [round_id, our_entry]).fetchall()
    for entry_id, expert_id in others:
        feedback.submit(db, accounts.get_user(db, expert_id), entry_id, scores, "Good progress.")
    return len(others)


def expert_submits(page, entry_id: int) -> None:
    sign_in(page, EXPERT)
    goto(page, "My teams")
    expect(main(page).get_by_role("heading", name=TEAM)).to_be_visible()
    expect(main(page).get_by_text(f"Challenge: {CHALLENGE} (TC)")).to_be_visible()
    form = box_of(page, f"expert_{entry_id}_comments")
    for label in ("Problem understanding", "User research", "Feasibility", "Alignment with mandate",
                  "Communication"):
        form.get_by_test_id("stRadio").filter(has_text=label).get_by_text(re.compile("^4 — ")).click()
        wait_idle(page)
    enter_text(page, form.get_by_label("Comments for the team", exact=True), COMMENTS)
    click(page, form, "Submit to the team")
    expect(main(page).get_by_text(f"Feedback for {TEAM}, {ROUND}, was submitted: the team can read it now.")
           ).to_be_visible()
    expect(main(page).get_by_text(COMMENTS)).to_be_visible()
    sign_out(page)


def team_reads_and_replies(page, entry_id: int) -> None:
    sign_in(page, STUDENT)
    goto(page, "Feedback")
    expect(main(page).get_by_text(f"{ROUND} · Waiting for your reply")).to_be_visible()   # its expander, open
    expect(main(page).get_by_text(COMMENTS)).to_be_visible()
    expect(main(page).get_by_text(re.compile("^Problem understanding: 4 — "))).to_be_visible()
    expect(badge(main(page), "Waiting for your reply")).to_be_visible()
    form = box_of(page, f"student_fb_reply_{entry_id}")
    enter_text(page, form.get_by_label("What we changed", exact=True), REPLY)
    click(page, form, "Send our reply")
    expect(main(page).get_by_text(f"Your reply to {ROUND} was sent.")).to_be_visible()
    expect(main(page).get_by_text("Your reply", exact=True)).to_be_visible()
    expect(main(page).get_by_text(REPLY)).to_be_visible()
    sign_out(page)


def test_approve_assign_lock_publish_feedback_reply_dashboard(browser_page, portal_db):
    page, db = browser_page, portal_db
    sign_in(page, FACILITATOR)
    approve(page)
    advance_term(page, "intake", "matching")

    goto(page, "Assignment")
    run_assignment(page)
    lock_pair(page)
    run_assignment(page)
    # The re-run keeps the lock.
    expect(open_tab(page, "Locks and bans").get_by_text(f"Lock · {TEAM} — {CHALLENGE}")).to_be_visible()
    publish(page)
    expect(main(page).get_by_role("heading", name="Published pairings")).to_be_visible()

    advance_term(page, "matching", "active")
    create_round(page, dt.date(2027, 2, 15))           # within the demo term (Jan 11 to Apr 23, 2027)
    round_id = db.execute("SELECT id FROM feedback_rounds WHERE name = ?", [ROUND]).fetchone()[0]
    entry_id = db.execute(
        "SELECT e.id FROM feedback_entries e JOIN pairings p ON p.id = e.pairing_id "
        "JOIN teams t ON t.id = p.team_id WHERE e.round_id = ? AND t.name = ?", [round_id, TEAM]).fetchone()[0]
    assert other_experts_give_their_feedback(db, entry_id, round_id) > 0
    sign_out(page)

    expert_submits(page, entry_id)
    team_reads_and_replies(page, entry_id)

    sign_in(page, FACILITATOR)
    goto(page, "Dashboard")
    rounds = main(page).get_by_role("heading", name="Rounds")
    expect(rounds).to_be_visible()
    expect(main(page).get_by_text(re.compile(rf"^{ROUND}: Complete — given: (\d+) of \1 · answered: 1 · overdue: 0$"))
           ).to_be_visible()
    expect(badge(main(page), "Complete")).to_be_visible()
