"""AppTest: the student's pages (team profile, challenges for us, preferences, our pairing)."""
import pytest

from matching import accounts, teams, terms
from matching import db as storage
from tests.test_app_smoke import signed_in
from tests.test_views_department import error_right_after

# Page tests run on SQLite in the suite: every domain call they make runs on both backends in the
# domain test files, and their PostgreSQL cases (all passing at 4ece603) cost CI about 5 minutes.
# `pytest THIS_FILE --backends=sqlite,postgresql` runs them on both (docs/POSTGRES.md).

PROFILE, MATCHES = "views/student_profile.py", "views/student_matches.py"
PREFERENCES, PAIRING = "views/student_preferences.py", "views/student_pairing.py"


def student(demo_db):
    return accounts.find_user(demo_db, "student@demo.sheridancollege.ca")


def open_page(demo_db, page, lang="en"):
    at = signed_in(demo_db, "student", lang).run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def switch_language(at, lang):
    at.button_group(key="language_choice").set_value(lang).run()
    assert not at.exception, at.exception
    return at


# --- Team profile ---------------------------------------------------------------------------

@pytest.mark.parametrize("lang, title, missing", [("en", "Team profile", "A few sentences about past work"),
                                                  ("fr", "Profil d’équipe", "Quelques phrases sur vos travaux antérieurs")])
def test_profile_shows_the_team_and_what_is_missing(demo_db, lang, title, missing):
    user = student(demo_db)
    team = teams.get_team(demo_db, user, user.team_id)
    teams.save_team(demo_db, user, user.team_id, {**team.__dict__, "past_work": "Short.",
                                                  "members": [m.__dict__ for m in team.members]})
    at = open_page(demo_db, PROFILE, lang)
    assert at.title[0].value == title
    assert at.text_input(key="tp_name").value == "Open Door Collective"
    assert at.get("progress")[0].proto.text.endswith(("83% complete", "83\u00a0%"))
    assert "- " + missing in [m.value for m in at.markdown]


def test_profile_errors_appear_under_the_member_field_and_nothing_is_lost(demo_db):
    at = open_page(demo_db, PROFILE)
    at.button(key="tp_add_member").click().run()
    new_slot = [w.key for w in at.text_input if w.key and w.key.endswith("_email")][-1]
    at.text_input(key=new_slot.replace("_email", "_name")).input("Nadia Noor")
    at.text_input(key=new_slot).input("not-an-email")
    at.text_input(key="tp_name").input("Open Door Co-op")
    at.button(key="tp_save").click().run()
    assert not at.exception
    assert error_right_after(at, new_slot) == "Enter a valid e-mail address."
    assert at.text_input(key="tp_name").value == "Open Door Co-op"
    assert teams.get_team(demo_db, student(demo_db), student(demo_db).team_id).name == "Open Door Collective"
    at.text_input(key=new_slot).input("nadia.noor@sheridancollege.ca")
    at.button(key="tp_save").click().run()
    assert "Profile saved." in [s.value for s in at.success]
    saved = teams.get_team(demo_db, student(demo_db), student(demo_db).team_id)
    assert saved.name == "Open Door Co-op"
    assert saved.members[-1].email == "nadia.noor@sheridancollege.ca"


def test_blank_member_rows_are_ignored_and_members_can_be_removed(demo_db):
    user = student(demo_db)
    before = teams.get_team(demo_db, user, user.team_id).members
    at = open_page(demo_db, PROFILE)
    at.button(key="tp_add_member").click().run()  # left blank
    first_remove = [b.key for b in at.button if b.key and b.key.startswith("tp_remove_")][0]
    at.button(key=first_remove).click().run()
    at.button(key="tp_save").click().run()
    assert not at.error
    after = teams.get_team(demo_db, user, user.team_id).members
    assert [m.email for m in after] == [m.email for m in before[1:]]


def test_profile_language_switch_keeps_the_typed_input(demo_db):
    at = open_page(demo_db, PROFILE)
    at.text_input(key="tp_program").input("Design typed, not saved")
    at.multiselect(key="tp_skills").select("journey mapping")
    at.text_area(key="tp_past_work").input("Half-typed past work")
    at.run()
    switch_language(at, "fr")
    assert at.text_input(key="tp_program").label == "Programme"
    assert at.text_input(key="tp_program").value == "Design typed, not saved"
    assert "journey mapping" in at.multiselect(key="tp_skills").value
    assert at.text_area(key="tp_past_work").value == "Half-typed past work"


def test_profile_stale_save_shows_both_versions(demo_db):
    user = student(demo_db)
    at = open_page(demo_db, PROFILE)
    at.text_input(key="tp_program").input("Ours")
    team = teams.get_team(demo_db, user, user.team_id)
    teams.save_team(demo_db, user, user.team_id, {**team.__dict__, "program": "Theirs",
                                                  "members": [m.__dict__ for m in team.members]})
    at.button(key="tp_save").click().run()
    assert any("Someone else saved" in w.value for w in at.warning)
    assert {"Ours", "Theirs"} <= {t.value for t in at.text}
    at.button(key="tp_keep_mine").click().run()
    at.button(key="tp_save").click().run()
    assert teams.get_team(demo_db, user, user.team_id).program == "Ours"


# --- Challenges for us ----------------------------------------------------------------------

@pytest.mark.parametrize("lang, label, why", [("en", "Strong match", "Why:"), ("fr", "Très bonne correspondance", "Pourquoi\u00a0:")])
def test_matches_are_ranked_with_label_score_and_why(demo_db, lang, label, why):
    at = open_page(demo_db, MATCHES, lang)
    markdown = [m.value for m in at.markdown]
    assert markdown[0].startswith("**1. Making the Employment Insurance application")
    assert f":green-badge[{label}]" in markdown
    assert any(m.startswith(":violet-badge[:material/link: accessibility") for m in markdown)
    assert why in [c.value for c in at.caption]
    assert len(at.get("progress")) == 10  # first page of results


def test_filters_and_search_narrow_the_list(demo_db):
    at = open_page(demo_db, MATCHES)
    at.multiselect(key="sm_languages").select("fr").run()
    titles = [m.value for m in at.markdown if m.value.startswith("**") and ". " in m.value[:6]]
    assert "Simplifier la demande de pension" in " ".join(titles)
    assert "Making the Employment Insurance" not in " ".join(titles)
    at.text_input(key="sm_query").input("securite alimentaire").run()  # accents ignored
    titles = [m.value for m in at.markdown if m.value.startswith("**") and ". " in m.value[:6]]
    assert len(titles) == 1 and "Aider les voyageurs à déclarer les aliments" in titles[0]
    at.text_input(key="sm_query").input("no such words anywhere").run()
    assert any("No challenge matches" in i.value for i in at.info)


def test_detail_view_shows_a_french_challenge_as_written_with_english_labels(demo_db):
    at = open_page(demo_db, MATCHES)
    at.multiselect(key="sm_departments").select(1).run()  # ESDC
    at.multiselect(key="sm_languages").select("fr").run()
    expander = at.expander[0]
    assert expander.label == "Details"
    texts = [t.value for t in expander.text]
    assert texts[0].startswith("La plupart des aînés sont inscrits automatiquement")  # as written
    assert any("Department: Employment and Social Development Canada" in t for t in texts)
    assert any("Language: French" in t for t in texts)


def test_add_to_preferences_from_the_ranked_list(demo_db):
    at = open_page(demo_db, MATCHES)
    at.button(key="sm_add_1").click().run()
    assert not at.exception
    assert "Added to your preferences as choice 1." in [s.value for s in at.success]
    assert [p["challenge_id"] for p in teams.get_preferences(demo_db, student(demo_db), student(demo_db).team_id)] == [1]
    assert "In your preferences: choice 1." in [c.value for c in at.caption]


def test_an_empty_profile_explains_and_links_to_the_profile(demo_db):
    user = student(demo_db)
    teams.save_team(demo_db, user, user.team_id, {"name": "Q", "members": []})
    at = open_page(demo_db, MATCHES)
    assert at.warning[0].value.startswith("The profile is empty")
    assert at.get("page_link")


# --- Preferences ----------------------------------------------------------------------------

def _rows(at):
    return [s for s in at.selectbox if s.key and s.key.startswith("pf_")]


def test_rank_three_preferences_reorder_and_see_them_in_french(demo_db):
    at = open_page(demo_db, PREFERENCES)
    for challenge_id, reason in ((1, "We audit with screen readers"), (3, "Nous parlons français"), (2, "Youth")):
        at.button(key="pf_add").click().run()
        _rows(at)[-1].set_value(challenge_id)
        at.text_input(key=_rows(at)[-1].key.replace("_challenge", "_reason")).input(reason)
    at.run()
    last = _rows(at)[-1].key.split("_")[1]
    at.button(key=f"pf_up_{last}").click().run()  # Youth becomes choice 2
    at.button(key="pf_save").click().run()
    assert not at.exception and not at.error
    assert "Preferences saved (3)." in [s.value for s in at.success]
    saved = teams.get_preferences(demo_db, student(demo_db), student(demo_db).team_id)
    assert [(p["challenge_id"], p["reason"]) for p in saved] == [
        (1, "We audit with screen readers"), (2, "Youth"), (3, "Nous parlons français")]
    switch_language(at, "fr")
    assert at.title[0].value == "Préférences"
    assert [s.value for s in _rows(at)] == [1, 2, 3]
    assert _rows(at)[0].label == "Défi du choix 1"


def test_duplicate_preference_is_shown_under_its_row(demo_db):
    at = open_page(demo_db, PREFERENCES)
    for _ in range(2):
        at.button(key="pf_add").click().run()
        _rows(at)[-1].set_value(1)
    at.run()
    at.button(key="pf_save").click().run()
    assert error_right_after(at, _rows(at)[1].key) == "This challenge is already in your list."
    assert error_right_after(at, _rows(at)[0].key) is None
    assert teams.get_preferences(demo_db, student(demo_db), student(demo_db).team_id) == []
    at.button(key=f"pf_remove_{_rows(at)[1].key.split('_')[1]}").click().run()
    at.button(key="pf_save").click().run()
    assert "Preferences saved (1)." in [s.value for s in at.success]


def test_at_most_five_choices(demo_db):
    at = open_page(demo_db, PREFERENCES)
    for _ in range(5):
        at.button(key="pf_add").click().run()
    assert at.button(key="pf_add").disabled
    assert "You have ranked the maximum of 5 challenges." in [c.value for c in at.caption]


def test_preferences_are_read_only_after_intake(demo_db):
    user = student(demo_db)
    teams.save_preferences(demo_db, user, user.team_id, [{"challenge_id": 1, "reason": "Screen readers"}])
    term = terms.default_term(demo_db)
    terms.advance_term(demo_db, accounts.find_user(demo_db, "facilitator@demo.gc.ca"), term.id)
    at = open_page(demo_db, PREFERENCES, "fr")
    assert not _rows(at)
    assert "Les préférences sont fermées" in at.info[0].value
    assert "Screen readers" in [t.value for t in at.text]


# --- Our pairing ----------------------------------------------------------------------------

@pytest.mark.parametrize("lang, message", [("en", "Your pairing is not published yet."),
                                           ("fr", "Votre jumelage n’est pas encore publié.")])
def test_pairing_not_published_yet(demo_db, lang, message):
    at = open_page(demo_db, PAIRING, lang)
    assert at.info[0].value == message
    assert at.get("page_link")


def test_published_pairing_shows_challenge_department_and_expert(demo_db):
    user = student(demo_db)
    now = storage.now_iso()
    with storage.transaction(demo_db):
        storage.insert(demo_db, "pairings", {"term_id": terms.default_term(demo_db).id, "team_id": user.team_id,
                                             "challenge_id": 1, "state": "approved", "created_at": now,
                                             "updated_at": now})
    at = open_page(demo_db, PAIRING, "fr")
    assert at.header[0].value.startswith("Making the Employment Insurance application")
    assert "Emploi et Développement social Canada (EDSC)" in [c.value for c in at.caption]
    assert "Priya Raman" in [t.value for t in at.text]
    assert at.code[0].value == "expert@demo.gc.ca"


def test_a_department_rep_cannot_open_student_pages(demo_db):
    at = signed_in(demo_db, "department_rep").run()
    for page in (PROFILE, MATCHES, PREFERENCES, PAIRING):
        with pytest.raises(Exception):
            at.switch_page(page).run()


# --- Terms ----------------------------------------------------------------------------------

def test_a_closed_terms_profile_is_read_only(demo_db):
    from matching.errors import IllegalTransition
    from tests.test_views_expert import close_term, winter
    user = student(demo_db)
    at = open_page(demo_db, PROFILE)
    assert "Term: Winter 2027 · intake" in [c.value for c in at.caption]
    at.text_input(key="tp_name").input("Renamed after the term")
    close_term(demo_db, winter(demo_db).id)                    # the term closes while the page is open
    at.button(key="tp_save").click().run()
    assert not at.exception
    closed = "The term Winter 2027 is closed: its records can be exported but no longer changed."
    assert closed in [i.value for i in at.info]
    assert at.text_input(key="tp_name").disabled and at.text_input(key="tp_name").value == "Open Door Collective"
    assert not [b for b in at.button if b.key in ("tp_save", "tp_add_member")]
    team = teams.get_team(demo_db, user, user.team_id)
    assert team.name == "Open Door Collective"
    # Forced through the service: refused with the same sentence.
    with pytest.raises(IllegalTransition) as refused:
        teams.save_team(demo_db, user, user.team_id, {**team.__dict__, "name": "Renamed",
                                                      "members": [m.__dict__ for m in team.members]})
    assert refused.value.key == "term.closed_read_only"
    at = open_page(demo_db, PROFILE, "fr")
    assert any("La session Winter 2027 est terminée" in i.value for i in at.info)


def test_preferences_offer_only_the_teams_own_terms_challenges(demo_db):
    from matching import challenges
    from tests.conftest import ACCESSIBILITY
    from tests.test_views_expert import facilitator, fall_term
    fall = fall_term(demo_db, "intake")
    rep = accounts.find_user(demo_db, "rep@demo.gc.ca")
    other = challenges.save_draft(demo_db, rep, {**ACCESSIBILITY, "title": "Only for the fall cohort"}, term_id=fall.id)
    challenges.submit(demo_db, rep, other.id)
    challenges.approve(demo_db, facilitator(demo_db), other.id, confirm_unclassified=True)
    at = open_page(demo_db, PREFERENCES)
    at.button(key="pf_add").click().run()
    offered = _rows(at)[-1].options
    assert offered and not [o for o in offered if "Only for the fall cohort" in o]
    assert "Term: Winter 2027 · intake" in [c.value for c in at.caption]
    # Forced through the service anyway: refused, the fall challenge is not the team's to rank.
    from matching.errors import ValidationFailed
    with pytest.raises(ValidationFailed):
        teams.save_preferences(demo_db, student(demo_db), student(demo_db).team_id, [{"challenge_id": other.id}])
    at = open_page(demo_db, MATCHES)
    assert "Only for the fall cohort" not in " ".join(m.value for m in at.markdown)


def test_a_stale_preference_save_is_refused_and_keeps_the_choices(demo_db):
    user = student(demo_db)
    at = open_page(demo_db, PREFERENCES)
    at.button(key="pf_add").click().run()
    _rows(at)[-1].set_value(2)
    at.run()
    # A teammate saves a different list meanwhile.
    teams.save_preferences(demo_db, user, user.team_id, [{"challenge_id": 3, "reason": "Teammate's pick"}])
    at.button(key="pf_save").click().run()
    assert not at.exception
    assert any("Your teammate changed the preference list" in w.value for w in at.warning)
    assert "Teammate's pick" in [t.value for t in at.text]                  # their list is shown
    assert _rows(at)[-1].value == 2                                          # my choice is kept
    assert [p["challenge_id"] for p in teams.get_preferences(demo_db, user, user.team_id)] == [3]
    at.button(key="pf_keep_mine").click().run()
    at.button(key="pf_save").click().run()
    assert any(s.value.startswith("Preferences saved") for s in at.success)
    assert [p["challenge_id"] for p in teams.get_preferences(demo_db, user, user.team_id)] == [2]


def test_taking_the_teammates_list_loads_it(demo_db):
    user = student(demo_db)
    at = open_page(demo_db, PREFERENCES)
    at.button(key="pf_add").click().run()
    _rows(at)[-1].set_value(2)
    at.run()
    teams.save_preferences(demo_db, user, user.team_id, [{"challenge_id": 3, "reason": "Teammate's pick"}])
    at.button(key="pf_save").click().run()
    at.button(key="pf_take_theirs").click().run()
    assert [r.value for r in _rows(at)] == [3] and not at.warning
