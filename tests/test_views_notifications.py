"""AppTest: the inbox (unread first, mark read, mark all, open the page that acts), the unread count
on Home and in the navigation, the e-mail choice on the account page, and the facilitator's
"Remind the experts with open entries" (audited, once a day per round), in EN and FR."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from matching import accounts, feedback, notifications
from matching import db as storage
from matching.models import RUBRIC
from tests.test_app_smoke import signed_in
from tests.test_views_facilitator import button, go_live, texts

# Page tests run on SQLite in the suite: every domain call they make runs on both backends in the
# domain test files, and their PostgreSQL cases (all passing at 4ece603) cost CI about 5 minutes.
# `pytest THIS_FILE --backends=sqlite,postgresql` runs them on both (docs/POSTGRES.md).

HOSTILE_REPLY = "[click me](http://evil.example) ![x](http://evil.example/x.png) <b>bold</b>"


def student(db):
    return accounts.find_user(db, "student@demo.sheridancollege.ca")


def feedback_for_student(db) -> dict:
    """Demo term live; the demo student's team gets feedback from its expert (an account is made
    for the SME if the demo has none)."""
    go_live(db)
    team_id = student(db).team_id
    entry = storage.one(db, "SELECT e.id, e.expert_id, c.sme_email, c.department_id FROM feedback_entries e "
                            "JOIN pairings p ON p.id = e.pairing_id JOIN challenges c ON c.id = p.challenge_id "
                            "WHERE p.team_id = ?", [team_id])
    expert = accounts.get_user(db, entry["expert_id"]) if entry["expert_id"] else accounts.create_user(
        db, accounts.SYSTEM, {"email": entry["sme_email"], "name": "Sam Expert", "role": "expert",
                              "department_id": entry["department_id"]}, "a-long-enough-password")
    if not entry["expert_id"]:
        feedback.ensure_entries(db, storage.one(db, "SELECT term_id FROM pairings p JOIN feedback_entries e "
                                                    "ON e.pairing_id = p.id WHERE e.id = ?", [entry["id"]])["term_id"])
    feedback.submit(db, expert, entry["id"], {c: 4 for c in RUBRIC}, "Talk to users first.")
    return {"entry": entry["id"], "expert": expert}


def page(db, role, path, lang="en"):
    at = signed_in(db, role, lang).run()
    assert not at.exception, at.exception
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("lang, unread, title", [("en", "You have 4 unread notifications.", "Inbox"),
                                                 ("fr", "Vous avez 4 notifications non lues.",
                                                  "Boîte de réception")])
def test_home_says_how_many_are_unread_and_the_inbox_lists_them(demo_db, lang, unread, title):
    feedback_for_student(demo_db)
    assert notifications.unread_count(demo_db, student(demo_db)) == 4   # term moved x2, pairing published, feedback
    at = signed_in(demo_db, "student", lang).run()
    assert unread in [i.value for i in at.info]
    at.switch_page("views/inbox.py").run()
    assert not at.exception and at.title[0].value == title
    subject = {"en": "New feedback for", "fr": "Nouvelle rétroaction pour"}[lang]
    assert subject in texts(at)


def test_mark_read_mark_all_and_open_the_page_that_acts(demo_db):
    feedback_for_student(demo_db)
    me = student(demo_db)
    at = page(demo_db, "student", "views/inbox.py")
    first = notifications.inbox(demo_db, me)[0]
    assert first["kind"] == "feedback_submitted"
    button(at, "Mark read").click().run()        # the newest (first) one
    assert notifications.unread_count(demo_db, me) == 3
    assert "3 unread" in [h.value for h in at.subheader]
    button(at, "Mark all read").click().run()
    assert "3 notifications marked read." in [s.value for s in at.success]
    assert notifications.unread_count(demo_db, me) == 0 and "Everything is read." in [h.value for h in at.subheader]
    at.button(key=f"inbox_open_{first['id']}").click().run()
    assert not at.exception
    assert at.title[0].value == "Feedback from our expert" or "Feedback" in at.title[0].value


def test_the_inbox_shows_hostile_text_as_typed(demo_db):
    flow = feedback_for_student(demo_db)
    feedback.reply(demo_db, student(demo_db), flow["entry"], HOSTILE_REPLY)
    with storage.transaction(demo_db):
        storage.update(demo_db, "teams", student(demo_db).team_id, {"name": "Team [x](http://evil.example)"})
    feedback.create_round(demo_db, accounts.find_user(demo_db, "facilitator@demo.gc.ca"),
                          storage.one(demo_db, "SELECT term_id FROM teams WHERE id = ?", [student(demo_db).team_id])["term_id"],
                          "Concept ![p](http://evil.example/p.png)", (date.today() + timedelta(days=20)).isoformat())
    expert = flow["expert"]
    at = signed_in(demo_db, "expert").run()
    at.session_state["user_id"] = expert.id
    at.run()
    at.switch_page("views/inbox.py").run()
    assert not at.exception
    shown = [m.value for m in at.markdown]
    assert not [m for m in shown if "](http" in m.replace("\\", "") and "\\]" not in m]
    assert any("Concept" in m and "\\!\\[p\\]" in m for m in shown)


def test_the_email_choice_is_saved_on_the_account_page(demo_db):
    at = page(demo_db, "student", "views/account.py")
    assert at.radio(key="delivery_choice").value == "immediately"
    at.radio(key="delivery_choice").set_value("digest")
    button(at, "Save my choice").click().run()
    assert "Your e-mail choice is saved." in [s.value for s in at.success]
    assert notifications.delivery(demo_db, student(demo_db)) == "digest"
    assert at.radio(key="delivery_choice").value == "digest"
    # In French, the same choice in its own words.
    fr = page(demo_db, "student", "views/account.py", "fr")
    assert "Notifications par courriel" in [h.value for h in fr.subheader]
    assert fr.radio(key="delivery_choice").options[1] == "Une fois par jour, sous forme de résumé"
    fr.radio(key="delivery_choice").set_value("in_app")
    button(fr, "Enregistrer mon choix").click().run()
    assert "Votre choix de courriel est enregistré." in [s.value for s in fr.success]
    assert notifications.delivery(demo_db, student(demo_db)) == "in_app"


def test_remind_the_experts_once_a_day_per_round(demo_db):
    go_live(demo_db)
    at = page(demo_db, "facilitator", "views/fac_feedback.py")
    assert "No reminder sent for this round yet." in texts(at)
    at.button(key="rounds_remind_button").click().run()
    assert not at.exception
    done = " ".join(s.value for s in at.success)
    assert done.startswith("Reminders sent: experts reminded: ")
    assert "Last reminder:" in texts(at)
    at.button(key="rounds_remind_button").click().run()
    assert "already reminded less than a day ago" in " ".join(e.value for e in at.error)
    assert demo_db.execute("SELECT COUNT(*) FROM audit_events WHERE action = 'feedback.remind'").fetchone()[0] == 1
    experts = {r[0] for r in demo_db.execute("SELECT user_id FROM notifications WHERE kind = 'entry_reminder'")}
    owing = {r[0] for r in demo_db.execute("SELECT expert_id FROM feedback_entries WHERE state = 'open' "
                                           "AND expert_id IS NOT NULL")}
    assert experts == owing and experts
