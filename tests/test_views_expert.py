"""AppTest: the expert's "My teams" and the student's feedback page, in EN and FR."""
from datetime import date, timedelta

import pytest

from matching import accounts, feedback, pairings, terms
from matching import db as storage
from matching.models import RUBRIC
from tests.conftest import term_around_today
from tests.test_app_smoke import signed_in

# Page tests run on SQLite in the suite: every domain call they make runs on both backends in the
# domain test files, and their PostgreSQL cases (all passing at 4ece603) cost CI about 5 minutes.
# `pytest THIS_FILE --backends=sqlite,postgresql` runs them on both (docs/POSTGRES.md).


# --- Terms for the page tests: the demo "Winter 2027" (intake) and a next "Fall 2027" --------

def facilitator(db):
    return accounts.find_user(db, "facilitator@demo.gc.ca")


def winter(db):
    return next(t for t in terms.list_terms(db) if t.name == "Winter 2027")


def fall_term(db, state="planning"):
    """A next term, created by the facilitator and moved forward to ``state``."""
    term = terms.create_term(db, facilitator(db), {"name": "Fall 2027", "starts_on": "2027-09-07",
                                                   "ends_on": "2027-12-17"})
    while term.state != state:
        term = terms.advance_term(db, facilitator(db), term.id, reason="Test: next term", override=True)
    return term


def go_live(db, *, due_in_days=10):
    """Winter 2027: matching, run, publish, active, one feedback round. Returns the term id."""
    fac, term = facilitator(db), winter(db)
    terms.advance_term(db, fac, term.id)
    pairings.run_assignment(db, fac, term.id)
    pairings.publish(db, fac, term.id)
    terms.advance_term(db, fac, term.id)
    term_around_today(db, term.id)
    feedback.create_round(db, fac, term.id, "Discovery", (date.today() + timedelta(days=due_in_days)).isoformat())
    return term.id


def close_term(db, term_id):
    """Move a term all the way to closed (overriding the guards, with a reason)."""
    term = terms.get_term(db, term_id)
    while term.state != "closed":
        term = terms.advance_term(db, facilitator(db), term_id, reason="Test: end of term", override=True)
    return term


def texts(at):
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [s.value for s in at.success]
                    + [e.value for e in at.error] + [w.value for w in at.warning] + [i.value for i in at.info]
                    + [t.value for t in at.text])


def open_page(db, role, path, lang="en"):
    at = signed_in(db, role, lang).run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def expert_entry(db):
    expert = accounts.find_user(db, "expert@demo.gc.ca")
    return expert, feedback.entries_for_expert(db, expert)[0]


@pytest.mark.parametrize("lang, title, empty", [("en", "My teams", "No team is paired"),
                                                ("fr", "Mes équipes", "Aucune équipe n’est encore jumelée")])
def test_expert_page_before_pairings_says_what_comes_next(demo_db, lang, title, empty):
    at = open_page(demo_db, "expert", "views/expert_teams.py", lang)
    assert at.title[0].value == title and empty in at.info[0].value


@pytest.mark.parametrize("lang, title", [("en", "Feedback"), ("fr", "Rétroaction")])
def test_student_feedback_page_before_any_feedback(demo_db, lang, title):
    at = open_page(demo_db, "student", "views/student_feedback.py", lang)
    assert at.title[0].value == title and at.info


def test_expert_drafts_then_submits_and_the_team_replies(demo_db):
    go_live(demo_db)
    expert, entry = expert_entry(demo_db)
    at = open_page(demo_db, "expert", "views/expert_teams.py")
    assert entry["team_name"] in [h.value for h in at.header]
    assert "@" in texts(at)                                    # member e-mails of the advised team
    key = f"expert_{entry['id']}"
    at.radio(key=f"{key}_feasibility").set_value(3)
    at.text_area(key=f"{key}_comments").input("Good start.")
    at.button(key=f"{key}_save").click().run()
    assert "Draft saved" in texts(at)
    assert feedback.get_entry(demo_db, expert, entry["id"])["scores"] == {"feasibility": 3}
    # Submitting with scores missing reports each missing one next to its question.
    at.button(key=f"{key}_submit").click().run()
    assert texts(at).count("This field is required.") == len(RUBRIC) - 1
    assert at.radio(key=f"{key}_feasibility").value == 3 and at.text_area(key=f"{key}_comments").value == "Good start."
    for criterion in RUBRIC:
        at.radio(key=f"{key}_{criterion}").set_value(4)
    at.button(key=f"{key}_submit").click().run()
    assert not at.exception and "was submitted" in texts(at)
    assert "Submitted. The team has not replied yet." in texts(at)

    team_member = storage.one(demo_db, "SELECT email FROM users WHERE team_id = "
                                       "(SELECT team_id FROM pairings WHERE id = ?) AND role = 'student'",
                              [entry["pairing_id"]])
    student = accounts.find_user(demo_db, team_member["email"])
    st_at = signed_in(demo_db, "student", "fr")
    st_at.session_state["user_id"] = student.id
    st_at.run()
    st_at.switch_page("views/student_feedback.py").run()
    assert not st_at.exception
    assert "Good start." in texts(st_at) and "4 — Solide" in texts(st_at)
    st_at.button(key=f"student_fb_send_{entry['id']}").click().run()
    assert "Ce champ est obligatoire." in texts(st_at)
    st_at.text_area(key=f"student_fb_reply_{entry['id']}").input("Nous avons réduit la portée.")
    st_at.button(key=f"student_fb_send_{entry['id']}").click().run()
    assert "Votre réponse pour Discovery a été envoyée." in texts(st_at)
    assert feedback.get_entry(demo_db, expert, entry["id"])["state"] == "answered"
    at.run()
    assert "Nous avons réduit la portée." in texts(at)


def test_overdue_entries_are_flagged_with_a_word_not_only_colour(demo_db):
    go_live(demo_db)
    with storage.transaction(demo_db):
        demo_db.execute("UPDATE feedback_rounds SET due_on = ?", [(date.today() - timedelta(days=2)).isoformat()])
    at = open_page(demo_db, "expert", "views/expert_teams.py", "fr")
    assert "en retard" in at.warning[0].value
    assert "Cette rétroaction a dépassé son échéance." in texts(at)
    assert "En retard" in texts(at)              # the badge's word


def test_feedback_is_read_only_once_its_term_is_closed(demo_db):
    term_id = go_live(demo_db)
    close_term(demo_db, term_id)
    _, entry = expert_entry(demo_db)
    at = open_page(demo_db, "expert", "views/expert_teams.py")
    assert at.button(key=f"expert_{entry['id']}_submit").disabled
    assert at.button(key=f"expert_{entry['id']}_save").disabled
    assert "The term Winter 2027 is closed" in texts(at)
    assert entry["team_name"] in [h.value for h in at.header]  # completed pairings stay readable


def test_an_active_entry_stays_writable_while_a_next_term_pairing_is_planned(demo_db):
    """The expert advises a running pairing (Winter, active) and one of the next term (Fall, intake):
    the next term's state must not lock the running term's feedback."""
    go_live(demo_db)
    fall = fall_term(demo_db, "intake")
    expert, entry = expert_entry(demo_db)
    now = storage.now_iso()
    with storage.transaction(demo_db):
        team = storage.insert(demo_db, "teams", {"term_id": fall.id, "name": "Autumn Makers", "updated_at": now})
        challenge = storage.one(demo_db, "SELECT id FROM challenges WHERE sme_email = ? LIMIT 1", [expert.email])
        storage.insert(demo_db, "pairings", {"term_id": fall.id, "team_id": team, "challenge_id": challenge["id"],
                                             "state": "approved", "created_at": now, "updated_at": now})
    at = open_page(demo_db, "expert", "views/expert_teams.py", "fr")
    captions = [c.value for c in at.caption]
    assert "Session\u00a0: Fall 2027 · réception" in " ".join(captions)
    assert any(c.startswith("Session\u00a0: Winter 2027") for c in captions)
    key = f"expert_{entry['id']}"
    assert not at.button(key=f"{key}_save").disabled
    at.radio(key=f"{key}_feasibility").set_value(5)
    at.button(key=f"{key}_save").click().run()
    assert not at.exception
    assert feedback.get_entry(demo_db, expert, entry["id"])["scores"] == {"feasibility": 5}


def test_a_team_replies_only_while_its_term_is_active(demo_db):
    term_id = go_live(demo_db)
    expert, entry = expert_entry(demo_db)
    feedback.submit(demo_db, expert, entry["id"], {c: 4 for c in RUBRIC}, "Solid work.")
    close_term(demo_db, term_id)
    team_member = storage.one(demo_db, "SELECT email FROM users WHERE team_id = "
                                       "(SELECT team_id FROM pairings WHERE id = ?) AND role = 'student'",
                              [entry["pairing_id"]])
    st_at = signed_in(demo_db, "student")
    st_at.session_state["user_id"] = accounts.find_user(demo_db, team_member["email"]).id
    st_at.run()
    st_at.switch_page("views/student_feedback.py").run()
    assert not st_at.exception
    assert "Solid work." in texts(st_at)                      # still readable
    assert not [b for b in st_at.button if b.key == f"student_fb_send_{entry['id']}"]
    assert "The term Winter 2027 is closed" in texts(st_at)
