"""The outcomes library (issue 17.4): completed challenges across terms and programmes, searched
across languages, filtered, anonymised unless the team opted in; similar past challenges."""
from __future__ import annotations

import json
from datetime import date

import pytest

from matching import accounts, challenges, library, matches, outcomes, programmes, terms
from matching import db as storage
from matching.errors import PermissionDenied
from tests.conftest import PASSWORD

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

ENDS = "2027-04-23"
ACTIVE_DAY = date(2027, 4, 10)
CLOSE_DAY = date(2027, 4, 26)
REPORT_DAY = date(2027, 7, 30)   # past the 3-month checkpoint (2027-07-23)

HIDDEN = {"learned": "The Access Crew (Ana Lopez and her team, ana.lopez@sheridancollege.ca) learned that "
                     "screen-reader users abandon the form at the employment history table. AccessCrew thanks Sam.",
          "made": "A tested prototype by access-crew of a linear employment history step.",
          "recommendations": "Replace the table with one question per screen; ask LOPEZ or write to sme@esdc.gc.ca.",
          "links": "https://github.com/access-crew/prototype\nhttps://example.org/report.pdf\n"
                   "https://portfolio.example/ana-lopez"}
NAMED = {"learned": "Harvesters fill paper logbooks at the wharf after a long day.",
         "made": "A logbook prototype and a data flow.", "recommendations": "Pilot at two harbours.",
         "links": "https://example.org/blue-water", "show_names": True}
SENIORS_FR = {
    "title": "Rejoindre les aînés isolés en région",
    "problem": "Les personnes âgées qui vivent seules en région éloignée ne connaissent pas les services de "
               "soutien à domicile offerts par la province. Nous voulons comprendre comment les joindre.",
    "outcomes": "Des entrevues avec des aînés, une carte du parcours et un prototype de dépliant.",
    "themes": ["vieillissement", "services à domicile"], "language": "fr", "capacity": 1,
    "sme_name": "Hélène Roy", "sme_email": "helene.roy@ontario.ca", "unclassified": True}


def _summary_row(pairing_id, data, show):
    now = storage.now_iso()
    return {"pairing_id": pairing_id, "learned": data["learned"], "made": data["made"],
            "recommendations": data["recommendations"], "links": json.dumps(data["links"].split("\n")),
            "show_names": int(show), "submitted_at": now, "updated_at": now}


@pytest.fixture
def lib(db, world, approved):
    """Winter 2027 (Sheridan) closed: team A (did not opt in) on ESDC's accessibility challenge,
    reported adopted at 3 months; team B (opted in) on DFO's fisheries challenge, no report.
    Fall 2026 (Queen's programme) closed: Ontario's French challenge on isolated seniors, piloted.
    Summer 2027 active with a running pairing (not in the library)."""
    w = dict(world)
    fac = w["facilitator"]
    storage.update(db, "terms", w["term"], {"state": "active", "starts_on": "2027-01-11", "ends_on": ENDS})
    now = storage.now_iso()
    with storage.transaction(db):
        for team, challenge in (("team_a", "accessibility"), ("team_b", "fisheries")):
            w[f"pairing_{team}"] = storage.insert(db, "pairings", {
                "term_id": w["term"], "team_id": w[team], "challenge_id": approved[challenge], "state": "active",
                "created_at": now, "updated_at": now})
    outcomes.save_summary(db, w["student_a"], w["pairing_team_a"], HIDDEN, expected_version=0, today=ACTIVE_DAY)
    outcomes.save_summary(db, w["student_b"], w["pairing_team_b"], NAMED, expected_version=0, today=ACTIVE_DAY)
    outcomes.save_assessment(db, w["expert"], w["pairing_team_a"], {c: 4 for c in library.RUBRIC}, "Solid work.",
                             expected_version=0, today=ACTIVE_DAY)
    terms.advance_term(db, fac, w["term"], reason="Term over", today=CLOSE_DAY)
    outcomes.save_report(db, w["rep_esdc"], w["pairing_team_a"], "3m", "adopted",
                         "The Access Crew's linear step is now in the EI application; Ana Lopez presented it.",
                         expected_version=0, today=REPORT_DAY)
    queens = programmes.create_programme(db, fac, {
        "code": "queens-mpa", "institution_en": "Queen's University", "institution_fr": "Université Queen's",
        "name_en": "Master of Public Administration", "name_fr": "Maîtrise en administration publique"})
    with storage.transaction(db):
        ontario = storage.insert(db, "departments", {"acronym": "ON", "acronym_fr": "ON", "kind": "provincial",
                                                     "name_en": "Government of Ontario",
                                                     "name_fr": "Gouvernement de l’Ontario"})
        fall = storage.insert(db, "terms", {"name": "Fall 2026", "state": "closed", "starts_on": "2026-09-08",
                                            "ends_on": "2026-12-11", "closed_on": "2026-12-14", "created_at": now,
                                            "programme_id": queens.id})
        team_c = storage.insert(db, "teams", {"term_id": fall, "name": "Les Futés", "skills": ["recherche"],
                                              "interests": ["aînés"], "updated_at": now})
        storage.insert(db, "members", {"team_id": team_c, "name": "Zoé Tremblay", "email": "zoe.t@queensu.ca"})
        seniors = storage.insert(db, "challenges", {**SENIORS_FR, "themes": json.dumps(SENIORS_FR["themes"]),
                                                    "term_id": fall, "department_id": ontario, "status": "approved",
                                                    "created_at": now, "updated_at": now})
        pairing_c = storage.insert(db, "pairings", {"term_id": fall, "team_id": team_c, "challenge_id": seniors,
                                                    "state": "completed", "created_at": now, "updated_at": now})
        storage.insert(db, "final_summaries", _summary_row(pairing_c, {
            "learned": "Les Futés ont appris que les aînés font confiance à leur pharmacie.",
            "made": "Un dépliant testé avec Zoé et douze aînés.", "recommendations": "Passer par les pharmacies.",
            "links": "https://example.org/depliant"}, show=False))
        storage.insert(db, "outcome_reports", {"pairing_id": pairing_c, "checkpoint": "3m", "status": "piloted",
                                               "note": "Mis à l’essai dans deux régions.", "reported_at": now,
                                               "updated_at": now})
        summer = storage.insert(db, "terms", {"name": "Summer 2027", "state": "active", "created_at": now,
                                              "starts_on": "2027-05-03", "ends_on": "2027-08-13"})
        team_d = storage.insert(db, "teams", {"term_id": summer, "name": "Running Team", "updated_at": now})
        storage.insert(db, "pairings", {"term_id": summer, "team_id": team_d, "challenge_id": approved["fisheries"],
                                        "state": "active", "created_at": now, "updated_at": now})
    w.update(queens=queens.id, ontario=ontario, fall=fall, team_c=team_c, seniors=seniors, pairing_c=pairing_c,
             accessibility=approved["accessibility"], fisheries=approved["fisheries"])
    w["servant"] = accounts.create_user(db, accounts.SYSTEM, {"email": "analyst@canada.ca", "name": "Ana Lyst",
                                                              "role": "public_servant"}, PASSWORD)
    return w


def titles(found):
    return sorted(e["title"] for e in found)


def test_every_completed_challenge_across_terms_and_programmes_and_nothing_running(db, lib):
    found = library.entries(db, lib["servant"])
    assert titles(found) == sorted(["Make EI applications work with screen readers", "Small craft harbour catch reporting",
                                    SENIORS_FR["title"]])
    assert [e["term"] for e in found] == ["Winter 2027", "Winter 2027", "Fall 2026"]  # newest term first
    seniors = next(e for e in found if e["challenge_id"] == lib["seniors"])
    assert (seniors["kind"], seniors["institution_en"], seniors["programme_fr"], seniors["year"]) == (
        "provincial", "Queen's University", "Maîtrise en administration publique", 2026)
    assert seniors["latest_status"] == "piloted" and seniors["reports"][0]["note"] == "Mis à l’essai dans deux régions."
    access = next(e for e in found if e["challenge_id"] == lib["accessibility"])
    assert access["averages"]["count"] == 1 and access["averages"]["overall"] == 4.0
    assert [r["status"] for r in access["reports"]] == ["adopted"]


@pytest.mark.parametrize("query", ["seniors", "older adults", "aînés", "AINES", "personnes âgées"])
def test_an_english_query_finds_the_french_challenge_through_the_glossary(db, lib, query):
    assert [e["challenge_id"] for e in library.entries(db, lib["servant"], query=query)] == [lib["seniors"]]


def test_search_reaches_summaries_reports_and_organisations(db, lib):
    servant = lib["servant"]
    assert titles(library.entries(db, servant, query="pharmacies")) == [SENIORS_FR["title"]]
    assert titles(library.entries(db, servant, query="logbook harbours")) == ["Small craft harbour catch reporting"]
    assert titles(library.entries(db, servant, query="Ontario")) == [SENIORS_FR["title"]]
    assert titles(library.entries(db, servant, query="Blue Water")) == ["Small craft harbour catch reporting"]
    # a team that did not opt in is not found by its name, nor by a member's
    assert library.entries(db, servant, query="Access Crew") == []
    assert library.entries(db, servant, query="Lopez") == []
    assert library.entries(db, servant, query="Futés") == []
    assert library.entries(db, servant, query="zebra") == []


def test_filters(db, lib):
    servant = lib["servant"]

    def ids(**filters):
        return sorted(e["challenge_id"] for e in library.entries(db, servant, **filters))
    assert ids(organisation_ids=[lib["esdc"]]) == [lib["accessibility"]]
    assert ids(kinds=["provincial"]) == [lib["seniors"]]
    assert ids(kinds=["federal"]) == sorted([lib["accessibility"], lib["fisheries"]])
    assert ids(programme_ids=[lib["queens"]]) == [lib["seniors"]]
    assert ids(themes=["Vieillissement"]) == [lib["seniors"]]
    assert ids(years=[2026]) == [lib["seniors"]]
    assert ids(years=[2027]) == sorted([lib["accessibility"], lib["fisheries"]])
    assert ids(statuses=["piloted"]) == [lib["seniors"]]
    assert ids(statuses=["adopted", "none"]) == sorted([lib["accessibility"], lib["fisheries"]])
    assert ids(kinds=["federal"], statuses=["piloted"]) == []
    facets = library.facets(db, servant)
    assert [o["acronym"] for o in facets["organisations"]] == ["DFO", "ESDC", "ON"]
    assert facets["kinds"] == ["federal", "provincial"] and facets["years"] == [2027, 2026]
    assert {p["id"] for p in facets["programmes"]} == {lib["queens"], programmes.default_programme(db).id}
    assert "vieillissement" in facets["themes"] and facets["statuses"][-1] == "none"


def _everything_in(entry) -> str:
    return json.dumps(entry, ensure_ascii=False).casefold()


def test_an_attacker_cannot_identify_a_team_that_did_not_opt_in(db, lib):
    """Every field of the entry of team A (which did not opt in): no team name in any spelling, no
    member name, no e-mail, no id of the team or the pairing, no SME contact."""
    found = {e["challenge_id"]: e for e in library.entries(db, lib["servant"])}
    entry = found[lib["accessibility"]]
    assert entry["team"] is None and entry["named"] is False
    text = _everything_in(entry)
    for secret in ("access crew", "accesscrew", "access-crew", "ana lopez", "lopez", "ana-lopez", "@",
                   "sheridancollege", "sme@esdc", "sam expert"):
        assert secret not in text, secret
    assert not {"team_id", "pairing_id", "members", "sme_email", "sme_name", "submitted_by", "reported_by",
                "expert_id"} & set(entry)
    # every field is one of these (a new field must be added here, after asking whether it identifies)
    assert set(entry) == {"key", "challenge_id", "title", "problem", "outcomes", "themes", "language",
                          "department_id", "acronym", "acronym_fr", "department_en", "department_fr", "kind",
                          "programme_id", "institution_en", "institution_fr", "programme_en", "programme_fr",
                          "term_id", "term", "year", "team", "named", "summary", "averages", "reports", "latest_status"}
    assert set(entry["summary"]) == {"learned", "made", "recommendations", "links"}
    assert set(entry["reports"][0]) == {"checkpoint", "months", "status", "note", "reported_on"}
    # what is left still reads: the withheld words are marked, the other link is kept
    assert entry["summary"]["learned"].startswith("The [\u2026] ([\u2026] and her team, [\u2026]) learned that")
    assert entry["summary"]["links"] == ["https://example.org/report.pdf"]
    assert entry["reports"][0]["note"] == "The [\u2026]'s linear step is now in the EI application; [\u2026] presented it."
    # the French team too (accents and capitals do not hide a name)
    seniors = _everything_in(found[lib["seniors"]])
    assert "futés" not in seniors and "futes" not in seniors and "zoé" not in seniors and "tremblay" not in seniors


def test_a_team_that_opted_in_is_named_but_its_e_mails_are_not(db, lib):
    entry = next(e for e in library.entries(db, lib["servant"]) if e["challenge_id"] == lib["fisheries"])
    assert entry["team"] == "Blue Water" and entry["named"] is True
    assert entry["summary"]["links"] == ["https://example.org/blue-water"]
    assert "ben.chu" not in _everything_in(entry) and "fay.fisher" not in _everything_in(entry)


def test_every_signed_in_role_reads_the_library_and_nobody_else(db, lib):
    for role in ("rep_esdc", "student_b", "facilitator", "expert", "servant"):
        assert len(library.entries(db, lib[role])) == 3
    with pytest.raises(PermissionDenied):
        library.entries(db, None)


# --- Similar past challenges -------------------------------------------------------------------

NEW_ACCESSIBILITY = {"title": "Accessible online forms for benefit applicants using screen readers",
                     "problem": "Applicants who rely on screen readers cannot finish our online benefit form.",
                     "themes": ["accessibility"]}


def test_a_new_challenge_shows_similar_past_ones_with_their_outcomes(db, lib):
    similar = library.similar_past_challenges(db, lib["rep_dfo"], NEW_ACCESSIBILITY)
    assert [s["challenge_id"] for s in similar] == [lib["accessibility"]]
    assert similar[0]["score"] >= library.SIMILAR_MIN_SCORE and similar[0]["reasons"]
    entry = similar[0]["entries"][0]
    assert entry["latest_status"] == "adopted" and entry["team"] is None and "Lopez" not in _everything_in(entry)
    # a French text on the same subject as the Ontario challenge finds it, an English one too
    assert [s["challenge_id"] for s in library.similar_past_challenges(
        db, lib["rep_dfo"], {"title": "Joindre les aînés qui vivent seuls", "problem": "Personnes âgées isolées."})] == [
        lib["seniors"]]
    assert [s["challenge_id"] for s in library.similar_past_challenges(
        db, lib["rep_dfo"], {"title": "Reaching isolated seniors at home", "themes": ["aging"]})] == [lib["seniors"]]


@pytest.mark.parametrize("text", [{}, {"title": "   "}, {"title": "Snow removal schedules for municipal roads"},
                                  {"title": "le la les de"}])
def test_nothing_is_shown_when_nothing_is_similar_enough(db, lib, text):
    assert library.similar_past_challenges(db, lib["rep_esdc"], text) == []


def test_the_past_ranker_is_cached_and_follows_new_completed_pairings(db, lib):
    matches.clear_cache()
    library.similar_past_challenges(db, lib["rep_esdc"], NEW_ACCESSIBILITY)
    first = library._past_corpus(db)
    assert library._past_corpus(db) is first  # cached: the same fitted ranker
    # another challenge completes in another closed term: the cache key moves
    now = storage.now_iso()
    with storage.transaction(db):
        term = storage.insert(db, "terms", {"name": "Spring 2026", "state": "closed", "created_at": now})
        team = storage.insert(db, "teams", {"term_id": term, "name": "Snow Crew", "updated_at": now})
        snow = storage.insert(db, "challenges", {"term_id": term, "department_id": lib["dfo"], "status": "approved",
                                                 "title": "Snow removal schedules for municipal roads",
                                                 "problem": "Residents do not know when their street is cleared.",
                                                 "themes": "[]", "created_at": now, "updated_at": now})
        storage.insert(db, "pairings", {"term_id": term, "team_id": team, "challenge_id": snow, "state": "completed",
                                        "created_at": now, "updated_at": now})
    assert library._past_corpus(db) is not first
    assert [s["challenge_id"] for s in library.similar_past_challenges(
        db, lib["rep_esdc"], {"title": "Snow removal on municipal roads"})] == [snow]


def test_the_challenge_being_edited_is_not_its_own_similar_challenge(db, lib):
    accessibility = challenges.get_challenge(db, lib["rep_esdc"], lib["accessibility"]).__dict__
    assert library.similar_past_challenges(db, lib["rep_esdc"], accessibility, exclude_id=lib["accessibility"]) == []


# --- The page --------------------------------------------------------------------------------

def _page(user, lang):
    from streamlit.testing.v1 import AppTest
    from tests.conftest import ROOT
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["user_id"] = user.id
    at.session_state["lang"] = lang
    return at.run()


def _shown(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [x.value for x in at.text])


@pytest.mark.parametrize("lang, title, anonymised, query", [
    ("en", "Outcomes library", "anonymised team", "seniors"),
    ("fr", "Bibliothèque des résultats", "équipe anonymisée", "personnes âgées")])
def test_the_library_page_for_a_public_servant(db, lib, lang, title, anonymised, query):
    at = _page(lib["servant"], lang)
    assert not at.exception, at.exception
    assert at.title[0].value == title
    shown = _shown(at)
    assert "Blue Water" in shown and anonymised in shown
    for secret in ("Access Crew", "Lopez", "Futés", "Zoé", "@"):
        assert secret not in shown.replace("\\", ""), secret
    assert "Rejoindre les aînés isolés en région" in shown.replace("\\", "")
    at.text_input(key="lib_query").input(query).run()
    assert not at.exception, at.exception
    shown = _shown(at).replace("\\", "")
    assert "Rejoindre les aînés isolés en région" in shown and "Small craft harbour" not in shown
    at.text_input(key="lib_query").input("").run()
    at.multiselect(key="lib_kinds").select("federal").run()
    shown = _shown(at).replace("\\", "")
    assert "Small craft harbour" in shown and "Rejoindre les aînés" not in shown


def test_the_challenge_form_shows_similar_past_challenges_as_the_text_is_typed(db, lib):
    at = _page(accounts.get_user(db, lib["rep_dfo"].id), "fr")
    at.switch_page("views/dept_challenge_form.py").run()
    assert not at.exception, at.exception
    assert "Défis passés semblables" not in [s.value for s in at.subheader]  # an empty form: nothing
    at.text_input(key="cf_title").input("Formulaires en ligne accessibles aux lecteurs d’écran").run()
    at.text_area(key="cf_problem").input("Applicants who use screen readers abandon the online application.").run()
    assert not at.exception, at.exception
    assert "Défis passés semblables" in [s.value for s in at.subheader]
    shown = _shown(at).replace("\\", "")
    assert "Make EI applications work with screen readers" in shown and "Résultat\u00a0: Adopté" in shown
    assert "Lopez" not in shown and "Access Crew" not in shown
    # the text changes to another subject: the box goes away
    at.text_input(key="cf_title").input("Déneigement des rues municipales").run()
    at.text_area(key="cf_problem").input("Les résidents ne savent pas quand leur rue sera déneigée.").run()
    assert "Défis passés semblables" not in [s.value for s in at.subheader]


HOSTILE_EXTRA = " \u202eRTL\u202c \u200f mark \u0007bell\u001b[31m"


def test_hostile_text_in_every_field_of_an_entry_stays_text(db, lib):
    """Markdown images and links, bare URLs, e-mail autolinks, shortcodes, RTL marks and control
    characters in the challenge, the organisation, the programme, the term, the summary, its links
    and the report notes: on the library page and in the form's similar challenges, in both
    languages, nothing becomes live (the checker of tests/test_security_markdown.py)."""
    from tests.test_security_markdown import HOSTILE, markdown_strings, problems_on
    bad = HOSTILE + HOSTILE_EXTRA
    with storage.transaction(db):
        db.execute("UPDATE challenges SET title = ? || title, problem = ?, outcomes = ?, themes = ?",
                   [bad + " ", bad, bad, json.dumps([bad, "accessibility"])])
        db.execute("UPDATE departments SET name_en = ?, name_fr = ?", [bad, bad])
        db.execute("UPDATE programmes SET institution_en = ?, institution_fr = ?, name_en = ?, name_fr = ?",
                   [bad, bad, bad, bad])
        db.execute("UPDATE terms SET name = ? || name", [bad + " "])
        db.execute("UPDATE teams SET name = ? WHERE id = ?", [bad, lib["team_b"]])  # the named team
        db.execute("UPDATE final_summaries SET learned = ?, made = ?, recommendations = ?, links = ?",
                   [bad, bad, bad, json.dumps(["http://evil.example/x", "https://example.org/ok"])])
        db.execute("UPDATE outcome_reports SET note = ?", [bad])
    matches.clear_cache()
    problems = []
    for lang in ("en", "fr"):
        at = _page(lib["servant"], lang)
        assert not at.exception, at.exception
        problems += problems_on(at, f"[library {lang}]")
        assert any("Evil" in value for _, value in markdown_strings(at))
        assert any("Evil" in text.value for text in at.text)  # the summary itself, as text
        rep = _page(accounts.get_user(db, lib["rep_dfo"].id), lang)
        rep.switch_page("views/dept_challenge_form.py").run()
        rep.text_input(key="cf_title").input("Screen readers and accessible online application forms").run()
        assert not rep.exception, rep.exception
        assert [s for s in rep.subheader if s.value in ("Similar past challenges", "Défis passés semblables")]
        problems += problems_on(rep, f"[form {lang}]")
    assert not problems, "\n".join(problems[:20])
