"""axe-core (via axe-playwright-python) on each role's main pages, in English and in French.

Fails on any violation of impact "serious" or "critical" and prints each one (rule, impact,
page, language, and the offending elements) so the page owner can fix it.

Nothing is excluded: every serious or critical rule counts, on our pages and on Streamlit's own
chrome (sidebar, navigation, header) alike.
"""
import pytest
from axe_playwright_python.sync_playwright import Axe

from .conftest import goto, sign_in, switch_language

BLOCKING = {"serious", "critical"}
#: role -> (demo account, main pages by their English and French navigation titles)
MAIN_PAGES = {
    "department_rep": ("rep@demo.gc.ca", [("Home", "Accueil"), ("My challenges", "Mes défis"),
                                          ("Challenge form", "Formulaire de défi"), ("Outcomes", "Résultats")]),
    "student": ("student@demo.sheridancollege.ca", [("Home", "Accueil"), ("Team profile", "Profil d’équipe"),
                                                    ("Challenges for us", "Défis pour nous"),
                                                    ("Preferences", "Préférences"), ("Feedback", "Rétroaction"),
                                                    ("Final summary", "Bilan final")]),
    "facilitator": ("facilitator@demo.gc.ca", [("Home", "Accueil"), ("Review queue", "File d’examen"),
                                               ("Match matrix", "Matrice de correspondance"),
                                               ("Assignment", "Attribution"), ("Dashboard", "Tableau de bord")]),
    "expert": ("expert@demo.gc.ca", [("Home", "Accueil"), ("My teams", "Mes équipes"),
                                     ("Final assessments", "Évaluations finales")]),
}


def blocking_violations(page, where: str) -> list[str]:
    found = []
    for violation in Axe().run(page).response["violations"]:
        if violation.get("impact") in BLOCKING:
            targets = [" ".join(map(str, node["target"])) + "  " + node.get("html", "")[:160]
                       for node in violation["nodes"][:5]]
            found.append(f"[{where}] {violation['id']} ({violation['impact']}): {violation['help']}\n    "
                         + "\n    ".join(targets))
    return found


def test_sign_in_page_in_both_languages(browser_page):
    page = browser_page
    problems = blocking_violations(page, "sign-in, en")
    switch_language(page, "fr")
    problems += blocking_violations(page, "sign-in, fr")
    print("\n".join(problems))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", sorted(MAIN_PAGES))
def test_main_pages_of_each_role_in_both_languages(browser_page, role):
    page = browser_page
    email, pages = MAIN_PAGES[role]
    sign_in(page, email)
    problems = []
    for lang, index in (("en", 0), ("fr", 1)):
        if lang == "fr":
            switch_language(page, "fr")
        for titles in pages:
            goto(page, titles[index])
            problems += blocking_violations(page, f"{role}: {titles[0]}, {lang}")
    switch_language(page, "en")
    print("\n".join(problems))
    assert not problems, "\n".join(problems)
