"""AppTest (issue 17.1, 17.2): a municipal and a provincial representative read their own kind of
organisation in English and French; a federal one still reads "department"; a challenge offered
to another academic program shows once with each program's state; a limited facilitator's pages
offer only their program's terms."""
import pytest
from streamlit.testing.v1 import AppTest

from matching import accounts, challenges, terms
from matching import db as storage
from tests.test_app_smoke import APP

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

LIST, HOME = "views/dept_challenges.py", "views/home.py"


def as_user(demo_db, email, lang, page=None):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user_id"] = accounts.find_user(demo_db, email).id
    at.session_state["lang"] = lang
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def texts(at) -> str:
    parts = [e.value for kind in ("caption", "markdown", "info", "subheader", "title", "text", "header")
             for e in getattr(at, kind)]
    return " | ".join(str(p) for p in parts)


@pytest.mark.parametrize("lang, own, list_intro, signed_in", [
    ("en", "My municipality's challenges", "Your municipality's challenges, what each one needs next",
     "(Municipal representative)"),
    ("fr", "Les défis de ma municipalité", "Les défis de votre municipalité, la prochaine étape",
     "(Représentant·e municipal·e)"),
])
def test_a_municipal_representative_reads_municipality(demo_db, lang, own, list_intro, signed_in):
    home = as_user(demo_db, "rep.peel@demo.peelregion.ca", lang)
    shown = texts(home)
    assert own in shown and signed_in in shown
    assert "department" not in shown.lower() and "ministère" not in shown.lower()
    page = as_user(demo_db, "rep.peel@demo.peelregion.ca", lang, LIST)
    shown = texts(page)
    assert list_intro in shown
    assert "department" not in shown.lower() and "ministère" not in shown.lower()


def test_a_provincial_representative_reads_government_and_a_federal_one_department(demo_db):
    bc = texts(as_user(demo_db, "rep.bc@demo.gov.bc.ca", "fr", LIST))
    assert "Les défis de votre gouvernement" in bc and "(Représentant·e du gouvernement provincial)" in bc
    federal = texts(as_user(demo_db, "rep@demo.gc.ca", "fr", LIST))
    assert "Les défis de votre ministère" in federal and "(Représentant·e ministériel·le)" in federal


def test_a_municipality_with_no_challenge_is_told_so_in_its_words(demo_db):
    with storage.transaction(demo_db):
        town = storage.insert(demo_db, "departments", {"acronym": "AJAX", "acronym_fr": "AJAX", "kind": "municipal",
                                                       "name_en": "Town of Ajax", "name_fr": "Ville d’Ajax"})
    accounts.create_user(demo_db, accounts.SYSTEM, {"email": "rep@ajax.ca", "name": "Ajax Rep", "role": "department_rep",
                                                    "department_id": town}, "a-long-enough-pass-27")
    shown = texts(as_user(demo_db, "rep@ajax.ca", "fr", LIST))
    assert "Votre municipalité n’a encore aucun défi." in shown


def test_an_offered_challenge_shows_once_with_each_programme_and_its_state(demo_db):
    at = as_user(demo_db, "rep@demo.gc.ca", "en", LIST)
    cards = [s.value for s in at.subheader if "Employment Insurance application work" in s.value]
    assert len(cards) == 1                                               # the copy is not a second card
    shown = texts(at)
    assert "Academic programs" in shown
    assert "Sheridan College · Bachelor of Interaction Design · Winter 2027" in shown
    assert "University of Victoria · Master of Public Administration · UVic Spring 2027" in shown


def test_a_representative_offers_a_challenge_to_the_other_programme(demo_db):
    # UVic's next term is being planned: it takes challenges.
    terms.create_term(demo_db, accounts.SYSTEM, {"name": "UVic Summer 2027", "programme_id": terms.resolve_term(
        demo_db, "UVic Spring 2027").programme_id, "starts_on": "2027-05-03", "ends_on": "2027-08-06"})
    rep = accounts.find_user(demo_db, "rep.dfo@demo.gc.ca")
    approved = [c for c in challenges.list_challenges(demo_db, rep, department_id=rep.department_id, status="approved")]
    target = approved[0]
    at = as_user(demo_db, "rep.dfo@demo.gc.ca", "en", LIST)
    uvic = terms.resolve_term(demo_db, "UVic Summer 2027")
    at.selectbox(key=f"offer_term_{target['id']}").set_value(uvic.id).run()
    at.button(key=f"offer_{target['id']}").click().run()
    assert not at.exception, at.exception
    assert any("Offered to University of Victoria · Master of Public Administration" in s.value for s in at.success)
    offers = challenges.offers(demo_db, rep, target["id"])
    assert [(o["term_name"], o["status"]) for o in offers if not o["home"]] == [("UVic Summer 2027", "submitted")]


def test_a_facilitator_limited_to_uvic_picks_among_uvic_terms_only(demo_db):
    at = as_user(demo_db, "facilitator.uvic@demo.gc.ca", "fr", "views/fac_terms.py")
    shown = texts(at)
    assert "UVic Spring 2027" in shown and "Winter 2027" not in shown.replace("UVic Spring 2027", "")
    create_programme = at.selectbox(key="term_programme")
    assert create_programme.options == ["Université de Victoria · Maîtrise en administration publique"]
