"""Issue 14.5 in a real browser: a failed first submit leaves no "Untitled draft" behind and keeps
what was typed; a draft that was never submitted is deleted from My challenges after a
confirmation."""
import re

from playwright.sync_api import expect

from matching import accounts, challenges

from .conftest import card, goto, main, sign_in, wait_idle

# An account no other browser test uses (the tests share one database).
REP = "rep.aafc@demo.gc.ca"
TITLE = "Soil moisture maps for small farms"


def titles(portal_db) -> list[str]:
    rep = accounts.find_user(portal_db, REP)
    return [c["title"] for c in challenges.list_challenges(portal_db, rep, department_id=rep.department_id)]


def test_a_failed_submit_saves_nothing_and_a_draft_is_deleted_after_a_confirmation(browser_page, portal_db):
    page = browser_page
    before = titles(portal_db)
    sign_in(page, REP)
    goto(page, "Challenge form")
    title = main(page).get_by_label("Title", exact=True)
    title.fill(TITLE)
    title.press("Tab")
    wait_idle(page)
    main(page).get_by_role("button", name="Submit for review").click()
    wait_idle(page)
    expect(main(page).get_by_text(re.compile(r"fields? needs? attention"))).to_be_visible()
    expect(main(page).get_by_role("heading", name="New challenge")).to_be_visible()
    expect(main(page).get_by_label("Title", exact=True)).to_have_value(TITLE)
    assert titles(portal_db) == before, "a refused submission must not leave a draft behind"

    main(page).get_by_role("button", name="Save draft").click()
    wait_idle(page)
    expect(main(page).get_by_text("Draft saved.")).to_be_visible()
    assert titles(portal_db) == [TITLE, *before]

    goto(page, "My challenges")
    draft = card(main(page), TITLE)
    draft.get_by_role("button", name="Delete").click()
    wait_idle(page)
    expect(main(page).get_by_text(re.compile("^Delete this draft for good"))).to_be_visible()
    main(page).get_by_role("button", name="Yes, delete it").click()
    wait_idle(page)
    expect(main(page).get_by_text("The draft was deleted.")).to_be_visible()
    expect(main(page).get_by_role("heading", name=TITLE)).to_have_count(0)
    assert titles(portal_db) == before
