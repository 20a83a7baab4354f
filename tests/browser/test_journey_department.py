"""A department representative in a real browser: signing in, the language switch, and drafting
and submitting a challenge with one field missing, then fixed."""
import re

from playwright.sync_api import expect

from .conftest import badge, card, goto, main, nav_links, sidebar, sign_in, sign_out, switch_language, wait_idle

# Accounts no other browser test uses (the tests share one database).
REP = "rep.tbs@demo.gc.ca"
REP_FOR_LANGUAGE = "rep.hc@demo.gc.ca"
TITLE = "Plain-language pay stubs for new public servants"
PROBLEM = ("New public servants often cannot read their pay stubs: codes, acronyms and retroactive "
           "adjustments make it hard to know whether they were paid correctly.")
OUTCOMES = "A tested prototype of a pay stub that new employees understand without help."


def element_after(field):
    """The element container right after a widget's container: where its error is shown."""
    return field.locator("xpath=ancestor::div[@data-testid='stElementContainer'][1]"
                         "/following-sibling::div[1]")


def fill(page, label: str, text: str) -> None:
    """Type into a text input or area and leave it, as a person would (that commits the value)."""
    field = main(page).get_by_label(label, exact=True)
    field.fill(text)
    field.press("Tab")
    wait_idle(page)


def add_theme(page, theme: str) -> None:
    box = main(page).get_by_role("combobox", name="Themes and skills")
    box.click()
    box.fill(theme)
    box.press("Enter")
    wait_idle(page)
    box.press("Escape")


def test_sign_in_switch_language_keeps_the_page_and_sign_out(browser_page):
    page = browser_page
    expect(page.get_by_role("heading", name="Sign in to the Challenge Portal")).to_be_visible()
    sign_in(page, REP_FOR_LANGUAGE)
    expect(main(page).get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()
    assert nav_links(page)[:3] == ["Home", "My challenges", "Challenge form"]
    goto(page, "Account")
    expect(main(page).get_by_role("heading", level=1)).to_have_text("Account")

    switch_language(page, "fr")
    assert nav_links(page)[:3] == ["Accueil", "Mes défis", "Formulaire de défi"]
    assert page.url.endswith("/account"), "the language switch must keep the page"
    expect(main(page).get_by_role("heading", level=1)).not_to_have_text("Account")
    expect(sidebar(page).get_by_text(re.compile("^Connecté·e"))).to_be_visible()

    sign_out(page, "fr")
    expect(page.get_by_role("heading", name="Se connecter au Portail des défis")).to_be_visible()
    # The choice is saved on the account: the next sign-in opens in French.
    sign_in(page, REP_FOR_LANGUAGE, lang="fr")
    expect(main(page).get_by_role("heading", name=re.compile("^Bienvenue"))).to_be_visible()
    switch_language(page, "en")


def test_wrong_password_is_refused_without_saying_whether_the_account_exists(browser_page):
    page = browser_page
    for email in (REP_FOR_LANGUAGE, "nobody@demo.gc.ca"):
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password", exact=True).fill("not-the-password")
        page.get_by_role("button", name="Sign in").click()
        wait_idle(page)
        expect(main(page).get_by_text(re.compile("e-mail or password is not correct"))).to_be_visible()
    expect(sidebar(page).get_by_role("button", name="Sign out")).to_have_count(0)


def test_draft_then_submit_with_a_missing_field_then_fixed(browser_page):
    page = browser_page
    sign_in(page, REP)
    goto(page, "Challenge form")
    expect(main(page).get_by_role("heading", name="New challenge")).to_be_visible()

    fill(page, "Title", TITLE)
    fill(page, "Problem statement", PROBLEM)
    add_theme(page, "plain language")
    fill(page, "Expert's name", "Sam Okoye")
    fill(page, "Expert's e-mail", "sam.okoye@tbs-sct.gc.ca")
    main(page).get_by_text(re.compile("^I confirm that this challenge")).click()
    wait_idle(page)

    main(page).get_by_role("button", name="Save draft").click()
    wait_idle(page)
    expect(main(page).get_by_text("Draft saved.")).to_be_visible()
    expect(main(page).get_by_role("heading", name="Edit challenge")).to_be_visible()
    expect(badge(main(page), "Draft")).to_be_visible()

    # Submitting without the desired outcomes: one error, under that field; nothing typed lost.
    main(page).get_by_role("button", name="Submit for review").click()
    wait_idle(page)
    outcomes = main(page).get_by_label("Desired outcomes", exact=True)
    expect(element_after(outcomes)).to_contain_text("This field is required.")
    expect(main(page).get_by_text("This field is required.")).to_have_count(1)
    expect(main(page).get_by_label("Title", exact=True)).to_have_value(TITLE)
    expect(main(page).get_by_label("Problem statement", exact=True)).to_have_value(PROBLEM)

    fill(page, "Desired outcomes", OUTCOMES)
    main(page).get_by_role("button", name="Submit for review").click()
    wait_idle(page)
    expect(main(page).get_by_text(re.compile("^Submitted for review"))).to_be_visible()
    expect(badge(main(page), "Submitted")).to_be_visible()
    expect(main(page).get_by_text("This field is required.")).to_have_count(0)

    goto(page, "My challenges")
    mine = card(main(page), TITLE)
    expect(badge(mine, "Submitted")).to_be_visible()
    expect(mine.get_by_text(re.compile("waiting for|review"))).to_be_visible()
