"""A representative reports an outcome in a real browser, in French (issue 17.3): the demo's
Natural Resources Canada challenge of Winter 2026 has both of its reports overdue; the
representative opens Outcomes, says what happened at 3 months and reads it back."""
import re

from playwright.sync_api import expect

from .conftest import goto, main, screenshot, sign_in, wait_idle

REP = "rep.nrcan@demo.gc.ca"   # no other browser test uses it (the tests share one database)
NOTE = "Le planificateur de rénovations est mis à l'essai avec deux entrepreneurs à Ottawa."


def test_a_representative_reports_what_a_challenge_led_to_in_french(browser_page):
    page = browser_page
    sign_in(page, REP, "fr")
    goto(page, "Résultats")
    body = main(page)
    expect(body.get_by_role("heading", name="Résultats", level=1)).to_be_visible()
    expect(body.get_by_text(re.compile("comptes rendus des résultats vous attendent"))).to_be_visible()
    body.get_by_text("Mis à l’essai", exact=True).first.click()
    wait_idle(page)
    note = body.get_by_label("Courte note", exact=True).first
    note.fill(NOTE)
    note.press("Tab")
    wait_idle(page)
    body.get_by_role("button", name="Envoyer le compte rendu").first.click()
    wait_idle(page)
    expect(body.get_by_text(re.compile("Compte rendu à 3\u00a0mois enregistré"))).to_be_visible()
    expect(body.locator("span").filter(has_text=NOTE).first).to_be_visible()   # the note, read back as text
    expect(body.get_by_text(re.compile("1\u00a0compte rendu des résultats vous attend"))).to_be_visible()
    screenshot(page, "representative-outcomes-fr")
