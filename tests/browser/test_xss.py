"""User text never runs and never becomes markup: HTML, script and javascript: links typed into
the free-text fields a role can fill are shown literally on every page where they appear."""
import re

from playwright.sync_api import expect

from .conftest import card, enter_text, goto, main, sign_in, sign_out, wait_idle

IMG = "<img src=x onerror=window.__xss=1>"
SCRIPT = "<script>window.__xss=1</script>"
LINK = "[link](javascript:window.__xss=1)"
TITLE = f"Pay stubs {IMG} {LINK}"
PROBLEM = f"{SCRIPT} People cannot read their pay stubs. {IMG} {LINK} End of the statement."
REP = "rep.ssc@demo.gc.ca"            # accounts no other browser test uses
STUDENT = "hana.choi@sheridancollege.ca"
PAST_WORK = f"We audited forms for a clinic and tested them with clients. {SCRIPT} {IMG} {LINK}"


def as_typed(text: str) -> re.Pattern:
    """``text`` exactly as typed, allowing the invisible word joiners (U+2060) ``ui.plain`` puts
    after a colon (so ``javascript:`` never becomes a scheme or a shortcode)."""
    return re.compile("\u2060?".join(map(re.escape, text)))


def assert_inert(page, *texts: str) -> None:
    """Nothing executed, no element or link was made from user text, and the text shows as typed."""
    assert page.evaluate("() => typeof window.__xss") == "undefined", "user text executed"
    assert page.locator("img[src='x']").count() == 0, "an <img> was created from user text"
    assert page.locator("a[href^='javascript:' i]").count() == 0, "a javascript: link was created"
    assert page.locator("script:text('window.__xss')").count() == 0
    for text in texts:
        expect(main(page).get_by_text(as_typed(text)).first).to_be_visible()


def test_challenge_text_is_inert_for_the_department_and_the_facilitator(browser_page):
    page = browser_page
    sign_in(page, REP)
    goto(page, "Challenge form")
    enter_text(page, main(page).get_by_label("Title", exact=True), TITLE)
    enter_text(page, main(page).get_by_label("Problem statement", exact=True), PROBLEM)
    enter_text(page, main(page).get_by_label("Desired outcomes", exact=True), LINK)
    enter_text(page, main(page).get_by_label("Expert's name", exact=True), IMG)
    enter_text(page, main(page).get_by_label("Expert's e-mail", exact=True), "kevin.nguyen@ssc-spc.gc.ca")
    themes = main(page).get_by_role("combobox", name="Themes and skills")
    themes.click()
    themes.fill(IMG)
    themes.press("Enter")
    wait_idle(page)
    themes.press("Escape")
    main(page).get_by_text(re.compile("^I confirm that this challenge")).click()
    wait_idle(page)
    main(page).get_by_role("button", name="Submit for review").click()
    wait_idle(page)
    expect(main(page).get_by_text(re.compile("^Submitted for review"))).to_be_visible()
    assert_inert(page, TITLE, PROBLEM, SCRIPT)          # the read-only view of the form page

    goto(page, "My challenges")
    expect(card(main(page), re.compile(f"^{as_typed(TITLE).pattern}$"))).to_be_visible()
    assert_inert(page, TITLE)
    goto(page, "Home")
    assert_inert(page)
    sign_out(page)

    sign_in(page, "facilitator@demo.gc.ca")
    goto(page, "Review queue")
    expect(main(page).get_by_role("heading", name=re.compile(f"^{as_typed(TITLE).pattern}$"))).to_be_visible()
    assert_inert(page, TITLE, PROBLEM, LINK, f"Themes and skills: {IMG}")


def test_team_profile_text_is_inert_for_the_team_and_the_department(browser_page):
    page = browser_page
    sign_in(page, STUDENT)
    goto(page, "Team profile")
    enter_text(page, main(page).get_by_label("Past work", exact=True), PAST_WORK)
    skills = main(page).get_by_role("combobox", name="Skills")
    skills.click()
    skills.fill(IMG)
    skills.press("Enter")
    wait_idle(page)
    skills.press("Escape")
    main(page).get_by_role("button", name="Save profile").click()
    wait_idle(page)
    expect(main(page).get_by_text("Profile saved.")).to_be_visible()
    expect(main(page).get_by_label("Past work", exact=True)).to_have_value(PAST_WORK)
    assert_inert(page, IMG)                              # the new skill, shown as a chosen option
    for name in ("Home", "Challenges for us", "Preferences"):
        goto(page, name)
        assert_inert(page)
    sign_out(page)

    # Departments see the teams ranked for their approved challenges, with their profiles.
    sign_in(page, "rep.cra@demo.gc.ca", lang="en")  # CRA: Plain Sight's best match in the demo data
    goto(page, "Teams for my challenges")
    expect(main(page).get_by_text("Plain Sight").first).to_be_visible()
    assert_inert(page)
