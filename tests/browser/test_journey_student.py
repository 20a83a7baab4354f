"""A student in a real browser: completes the team profile, reads the challenges ranked for the
team with the reasons, ranks three of them, and finds the same list after switching to French."""
import re

from playwright.sync_api import expect

from .conftest import badge, block_with, goto, main, sign_in, switch_language, wait_idle

# A team no other browser test edits (the tests share one database).
STUDENT = "sarah.robertson@sheridancollege.ca"
PAST_WORK = ("Redesigned the intake forms of a community legal clinic with its clients, ran "
             "usability tests with older adults, and built a bilingual prototype in Figma.")
MATCH_LABELS = re.compile(r"(Strong|Good|Fair|Weak) match$")
REASONS = ["Closest to our service design work.", "We know the users.", "A chance to learn mapping."]


def save_profile(page) -> None:
    main(page).get_by_role("button", name="Save profile").click()
    wait_idle(page)
    expect(main(page).get_by_text("Profile saved.")).to_be_visible()


def complete_the_profile(page) -> None:
    goto(page, "Team profile")
    expect(main(page).get_by_role("heading", name="Team profile", level=1)).to_be_visible()
    past_work = main(page).get_by_label("Past work", exact=True)
    past_work.fill("Class projects.")
    past_work.press("Tab")
    save_profile(page)
    expect(main(page).get_by_text("Still missing:")).to_be_visible()
    expect(main(page).get_by_text("A few sentences about past work")).to_be_visible()

    past_work.fill(PAST_WORK)
    past_work.press("Tab")
    save_profile(page)
    expect(main(page).get_by_text("Your profile is complete.")).to_be_visible()
    expect(main(page).get_by_text("Profile 100% complete")).to_be_visible()
    expect(past_work).to_have_value(PAST_WORK)


def ranked_card(page, rank: int):
    return block_with(main(page), page.get_by_text(re.compile(rf"^{rank}\. ")))


def read_the_ranked_list_and_add_three(page) -> list[str]:
    """The top three titles, after checking each shows its score, label and reasons."""
    goto(page, "Challenges for us")
    expect(main(page).get_by_role("heading", name="Challenges for us", level=1)).to_be_visible()
    expect(main(page).get_by_text(re.compile(r"^\d+ of \d+ challenges$"))).to_be_visible()
    titles = []
    for rank in (1, 2, 3):
        item = ranked_card(page, rank)
        titles.append(re.sub(rf"^{rank}\. ", "", item.get_by_text(re.compile(rf"^{rank}\. ")).inner_text()))
        expect(badge(item, "match").filter(has_text=MATCH_LABELS)).to_have_count(1)
        expect(item.get_by_text(re.compile(r"^rank \d+ of \d+ · "))).to_be_visible()
        expect(item.get_by_text("Why:", exact=True)).to_be_visible()
        badges = item.locator("span[style*='background-color']")
        assert badges.count() >= 2, "a match label and at least one shared term"
        item.get_by_role("button", name="Add to preferences").click()
        wait_idle(page)
        expect(main(page).get_by_text(f"Added to your preferences as choice {rank}.")).to_be_visible()
        expect(ranked_card(page, rank).get_by_text(f"In your preferences: choice {rank}.")).to_be_visible()
    return titles


def choice(page, n: int, word: str = "Choice"):
    return block_with(main(page), page.get_by_text(f"{word} {n}", exact=True))


def expect_choices(page, titles: list[str], reasons: list[str], word: str) -> None:
    for n, (title, reason) in enumerate(zip(titles, reasons), start=1):
        row = choice(page, n, word)
        expect(row.get_by_role("combobox")).to_have_value(re.compile("^" + re.escape(title) + r" \("))
        expect(row.get_by_role("textbox")).to_have_value(reason)
    expect(main(page).get_by_text(f"{word} {len(titles) + 1}", exact=True)).to_have_count(0)


def rank_three_with_reasons(page, titles: list[str]) -> list[str]:
    """Give each choice a reason, move the third up to second, save; the order now shown."""
    goto(page, "Preferences")
    expect(main(page).get_by_role("heading", name="Preferences", level=1)).to_be_visible()
    expect_choices(page, titles, ["", "", ""], "Choice")
    for n, reason in enumerate(REASONS, start=1):
        field = main(page).get_by_label(f"Why this challenge (choice {n})", exact=True)
        field.fill(reason)
        field.press("Tab")
        wait_idle(page)
    choice(page, 3).get_by_role("button", name="Move up").click()
    wait_idle(page)
    main(page).get_by_role("button", name="Save preferences").click()
    wait_idle(page)
    expect(main(page).get_by_text("Preferences saved (3).")).to_be_visible()
    order = [titles[0], titles[2], titles[1]]
    expect_choices(page, order, [REASONS[0], REASONS[2], REASONS[1]], "Choice")
    return order


def test_student_completes_profile_reads_matches_and_ranks_three(browser_page):
    page = browser_page
    sign_in(page, STUDENT)
    complete_the_profile(page)
    titles = read_the_ranked_list_and_add_three(page)
    order = rank_three_with_reasons(page, titles)

    switch_language(page, "fr")
    expect(main(page).get_by_role("heading", name="Préférences", level=1)).to_be_visible()
    expect(main(page).get_by_role("button", name="Enregistrer les préférences")).to_be_visible()
    expect_choices(page, order, [REASONS[0], REASONS[2], REASONS[1]], "Choix")
    # Leaving and coming back reads the saved list again, still in the same order.
    goto(page, "Accueil")
    goto(page, "Préférences")
    expect_choices(page, order, [REASONS[0], REASONS[2], REASONS[1]], "Choix")
