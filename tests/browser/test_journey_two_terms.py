"""Two terms at once, in a real browser: the next intake is prepared while the cohort works.

Runs after the facilitator journey, when the demo term Winter 2027 is active with published
pairings and a feedback round. The facilitator creates Fall 2027 and moves it through intake
into matching; starting it without published pairings is refused in words (in English, then
in French after a language switch in the middle of the page) and the term stays where it was.
Meanwhile Winter's people keep working: its expert still has feedback to give (and Save works),
its team still sees its pairing, each step naming its term. Off-screen set-up (a second
Winter round, as the facilitator would schedule it) goes through the domain services.
"""
import re

from playwright.sync_api import expect

from matching import accounts, feedback, terms

from .conftest import enter_text, goto, main, sign_in, sign_out, switch_language, wait_idle

FACILITATOR = "nadia.ferreira@sheridancollege.ca"
EXPERT = "ahmed.siddiqui@tc.gc.ca"          # advises Wayfinders in Winter 2027
STUDENT = "minh.tran@sheridancollege.ca"    # a member of Wayfinders
NEXT = "Fall 2027"


def move(page, state_word: str) -> None:
    """Confirm and move. Each term's card asks for its own next state, and the two terms here
    are never due for the same one, so the words pick the card."""
    confirm = main(page).get_by_role("checkbox", name=f"I confirm moving this term to {state_word}. This cannot be undone.")
    button = main(page).get_by_role("button", name=f"Move to {state_word}")
    for _ in range(3):  # a tick landing on the rerun that shows the previous move's notice is lost
        main(page).get_by_text(f"I confirm moving this term to {state_word}. This cannot be undone.", exact=True).click()
        wait_idle(page)
        if confirm.is_checked() and button.is_enabled():
            break
    button.click()
    wait_idle(page)


def test_next_intake_while_the_cohort_works(browser_page, portal_db):
    page = browser_page
    winter = terms.resolve_term(portal_db, "Winter 2027")
    assert winter.state == "active", "runs after the facilitator journey"
    fac = accounts.find_user(portal_db, FACILITATOR)
    feedback.create_round(portal_db, fac, winter.id, "Round 2", "2027-03-15")

    # --- The facilitator prepares Fall 2027 next to the running Winter term. ---
    sign_in(page, FACILITATOR)
    goto(page, "Terms")
    enter_text(page, main(page).get_by_label("Term name", exact=True), NEXT)
    main(page).get_by_role("button", name="Create the term").click()
    wait_idle(page)
    expect(main(page).get_by_text(f"Term {NEXT} created in planning.")).to_be_visible()
    move(page, "intake")
    expect(main(page).get_by_text(f"{NEXT} moved from planning to intake.")).to_be_visible()
    move(page, "matching")
    expect(main(page).get_by_text(f"{NEXT} moved from intake to matching.")).to_be_visible()
    expect(main(page).get_by_text("I confirm moving this term to closed. This cannot be undone.")).to_be_visible()

    # Starting Fall without published pairings: refused in one sentence, nothing moves.
    guard = "The term cannot start: no pairing has been published yet."
    expect(main(page).get_by_text(re.compile("^" + re.escape(guard)))).to_have_count(1)
    move(page, "active")
    expect(main(page).get_by_text(re.compile("^" + re.escape(guard)))).to_have_count(2)   # card + refusal
    assert terms.resolve_term(portal_db, NEXT).state == "matching"
    switch_language(page, "fr")
    expect(main(page).get_by_text(
        re.compile("^La session ne peut pas commencer\u00a0: aucun jumelage n’a encore été publié")).first).to_be_visible()
    switch_language(page, "en")
    # The assignment page starts on the term that can be planned: Fall, not the running Winter.
    goto(page, "Assignment")
    expect(main(page).get_by_role("combobox", name="Term")).to_have_value(re.compile("^" + re.escape(f"{NEXT} · matching")))   # then its programme, when there are several
    sign_out(page)

    # --- Winter's people are not blocked by Fall's intake. ---
    sign_in(page, EXPERT)
    expect(main(page).get_by_text(re.compile(r"^Winter 2027: \d+ feedback (?:entry|entries) to give\."))).to_be_visible()
    goto(page, "My teams")
    expect(main(page).get_by_text("Round 2").first).to_be_visible()
    save = main(page).get_by_role("button", name=re.compile("^Save draft")).first
    expect(save).to_be_enabled()
    sign_out(page)

    sign_in(page, STUDENT)
    expect(main(page).get_by_text("Winter 2027: Your pairing is published: see your challenge and contacts.")).to_be_visible()
    sign_out(page)
