"""Screenshots of every page of every role, in English and in French, for a reviewer:
tests/output/screenshots/<role>_<page>_<lang>.png (git-ignored).

Each page is also checked for what a reviewer would otherwise have to spot by eye: no raw
catalogue key (such as ``nav.home``) shown instead of a sentence, and a title on every page.
Runs last (see conftest), so the pages show the pairings and feedback of the journeys.
"""
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from matching import i18n

from .conftest import goto, main, nav_links, screenshot, sidebar, sign_in, switch_language

ACCOUNTS = {
    "department_rep": "rep@demo.gc.ca",
    "student": "student@demo.sheridancollege.ca",
    "facilitator": "facilitator@demo.gc.ca",
    "expert": "expert@demo.gc.ca",
}
#: Dotted lower-case words, e.g. "assign.page.title"; those that are catalogue keys are raw keys.
DOTTED = re.compile(r"\b[a-z][a-z0-9_]*(?:\.[a-z0-9_]+){1,5}\b")
KEYS = set(i18n.catalogue()["en"])


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


def raw_keys(page) -> list[str]:
    text = main(page).inner_text() + "\n" + sidebar(page).inner_text()
    return sorted({m.group(0) for m in DOTTED.finditer(text)} & KEYS)


@pytest.mark.parametrize("role", sorted(ACCOUNTS))
def test_every_page_in_english_and_french(browser_page, role):
    page = browser_page
    sign_in(page, ACCOUNTS[role])
    english = nav_links(page)
    problems: list[str] = []
    written: list[Path] = []
    for lang in ("en", "fr"):
        if lang == "fr":
            switch_language(page, "fr")
        titles = nav_links(page)
        assert len(titles) == len(english)
        for english_title, title in zip(english, titles):
            goto(page, title)
            expect(main(page).get_by_role("heading", level=1).first).to_be_visible()
            written.append(screenshot(page, f"{role}_{slug(english_title)}_{lang}"))
            problems += [f"{role} / {english_title} / {lang}: raw key {key!r}" for key in raw_keys(page)]
        if lang == "fr":
            assert titles != english, "the navigation is still in English after switching to French"
    switch_language(page, "en")
    assert all(path.stat().st_size > 10_000 for path in written)
    assert not problems, "\n".join(problems)
