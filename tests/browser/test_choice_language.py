"""A choice box keeps its value across a language switch (issue 14.1), in a real browser.

The browser holds a select box's value as the label it shows; a language switch changes every
label, so a page that let Streamlit map the old label back would lose the choice. The
representative picks "Bilingual", switches to French mid-form and back, and submits: the saved
challenge is bilingual and everything typed is intact.
"""
import re

from playwright.sync_api import expect

from matching import accounts, challenges

from .conftest import goto, main, sign_in, switch_language, wait_idle

# An account no other browser test uses (the tests share one database).
REP = "rep.vac@demo.gc.ca"
TITLE = "Bilingual wayfinding for veterans' service centres"
PROBLEM = ("Veterans who visit a service centre in person cannot tell which counter serves them, "
           "and the signs are in English or in French but rarely in both.")
OUTCOMES = "A tested bilingual wayfinding kit and a short guide for service centre staff."


def fill(page, label: str, text: str) -> None:
    field = main(page).get_by_label(label, exact=True)
    field.fill(text)
    field.press("Tab")
    wait_idle(page)


def language_box(page):
    """The challenge-language select box (its input shows the chosen option)."""
    return main(page).get_by_role("combobox", name=re.compile("^(Language of the challenge|Langue du défi)$"))


def pick(page, box, option: str) -> None:
    box.click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def test_bilingual_survives_a_switch_to_french_and_back_and_is_saved(browser_page, portal_db):
    page = browser_page
    sign_in(page, REP)
    goto(page, "Challenge form")
    expect(main(page).get_by_role("heading", name="New challenge")).to_be_visible()
    fill(page, "Title", TITLE)
    fill(page, "Problem statement", PROBLEM)
    box = language_box(page)
    pick(page, box, "Bilingual (English and French)")
    expect(box).to_have_value("Bilingual (English and French)")

    switch_language(page, "fr")
    expect(main(page).get_by_role("heading", name="Nouveau défi")).to_be_visible()
    expect(language_box(page)).to_have_value("Bilingue (anglais et français)")
    fill(page, "Résultats souhaités", OUTCOMES)  # typed in French, mid-form

    switch_language(page, "en")
    expect(main(page).get_by_role("heading", name="New challenge")).to_be_visible()
    expect(language_box(page)).to_have_value("Bilingual (English and French)")
    expect(main(page).get_by_label("Title", exact=True)).to_have_value(TITLE)
    expect(main(page).get_by_label("Problem statement", exact=True)).to_have_value(PROBLEM)
    expect(main(page).get_by_label("Desired outcomes", exact=True)).to_have_value(OUTCOMES)

    box = main(page).get_by_role("combobox", name="Themes and skills")
    box.click()
    box.fill("wayfinding")
    box.press("Enter")
    wait_idle(page)
    box.press("Escape")
    fill(page, "Expert's name", "Dana Okafor")
    fill(page, "Expert's e-mail", "dana.okafor@veterans.gc.ca")
    main(page).get_by_text(re.compile("^I confirm that this challenge")).click()
    wait_idle(page)
    main(page).get_by_role("button", name="Submit for review").click()
    wait_idle(page)
    expect(main(page).get_by_text(re.compile("^Submitted for review"))).to_be_visible()

    rep = accounts.find_user(portal_db, REP)
    saved = [c for c in challenges.list_challenges(portal_db, rep) if c["title"] == TITLE]
    assert len(saved) == 1, saved
    assert saved[0]["language"] == "bilingual"
    assert saved[0]["status"] == "submitted"
    assert (saved[0]["problem"], saved[0]["outcomes"]) == (PROBLEM, OUTCOMES)
