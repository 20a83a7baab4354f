"""AppTest, issue 14 (items 4, 10, 11) on the pages: the rounds form (cleared after a create, a
due date outside the term refused in words in EN and FR, a round renamed and moved, deleted or
refused with its reason), the warning when a term starts before its start date, the expert's
summary with only the rounds that need them open, the homes, and the thread under an entry
(written from both pages, hostile text shown as typed)."""
import re
from datetime import date, timedelta

import pytest

from matching import accounts, feedback, pairings, terms
from matching import db as storage
from matching.models import RUBRIC
from tests.test_app_smoke import signed_in
from tests.test_security_markdown import HOSTILE, live_markdown, markdown_strings
from tests.test_views_expert import expert_entry, facilitator, go_live, open_page, texts, winter

# Page tests run on SQLite in the suite: every domain call they make runs on both backends in the
# domain test files, and their PostgreSQL cases (all passing at 4ece603) cost CI about 5 minutes.
# `pytest THIS_FILE --backends=sqlite,postgresql` runs them on both (docs/POSTGRES.md).

SCORES = {criterion: 4 for criterion in RUBRIC}
ROUNDS = "views/fac_feedback.py"


def student_of(db, entry):
    row = storage.one(db, "SELECT email FROM users WHERE role = 'student' AND team_id = "
                          "(SELECT team_id FROM pairings WHERE id = ?) ORDER BY id", [entry["pairing_id"]])
    return accounts.find_user(db, row["email"])


def open_as(db, user, path, lang="en"):
    at = signed_in(db, user.role, lang)
    at.session_state["user_id"] = user.id
    at.run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def errors(at):
    return [e.value for e in at.error]


def as_read(markdown: str) -> str:
    """What a reader sees of escaped Markdown (``Feb 8\\, 2027`` reads ``Feb 8, 2027``)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def successes(at):
    return [as_read(s.value) for s in at.success]


# --- 14.4: the rounds form ----------------------------------------------------------------

def test_the_round_form_is_empty_again_after_a_create(demo_db):
    at = open_page(demo_db, "facilitator", ROUNDS)
    assert "Due dates allowed: from Jan 11, 2027 to Apr 23, 2027 (the term's dates)." in texts(at)
    at.text_input(key="rounds_name").input("Discovery")
    at.text_input(key="rounds_due").input("2027-02-01")
    at.button(key="rounds_create").click().run()
    assert not at.exception
    assert "Round Discovery created." in successes(at)
    assert at.text_input(key="rounds_name").value == ""
    assert at.text_input(key="rounds_due").value == ""


@pytest.mark.parametrize("lang, said", [
    ("en", "Pick a due date within the term: from Jan 11, 2027 to Apr 23, 2027."),
    ("fr", "Choisissez une échéance comprise dans la session\u00a0: du 11 janv. 2027 au 23 avr. 2027.")])
def test_a_due_date_before_the_term_is_refused_in_words_and_nothing_typed_is_lost(demo_db, lang, said):
    at = open_page(demo_db, "facilitator", ROUNDS, lang)
    at.text_input(key="rounds_name").input("Discovery")
    at.text_input(key="rounds_due").input("2020-01-15")
    at.button(key="rounds_create").click().run()
    assert not at.exception
    assert said in errors(at)
    assert at.text_input(key="rounds_name").value == "Discovery"
    assert at.text_input(key="rounds_due").value == "2020-01-15"
    assert demo_db.execute("SELECT COUNT(*) FROM feedback_rounds WHERE term_id = ?",   # the demo's earlier
                           [winter(demo_db).id]).fetchone()[0] == 0                    # terms have theirs


def test_a_round_is_renamed_and_moved_and_a_stale_save_is_refused(demo_db):
    fac, term = facilitator(demo_db), winter(demo_db)
    rnd = feedback.create_round(demo_db, fac, term.id, "Discovery", "2027-02-01")
    at = open_page(demo_db, "facilitator", ROUNDS)
    at.text_input(key=f"round_{rnd['id']}_name").input("Discovery sprint")
    at.text_input(key=f"round_{rnd['id']}_due").input("2027-02-08")
    at.button(key=f"round_{rnd['id']}_save").click().run()
    assert not at.exception
    assert "Round Discovery sprint saved: due Feb 8, 2027." in successes(at)
    saved = storage.one(demo_db, "SELECT * FROM feedback_rounds WHERE id = ?", [rnd["id"]])
    assert (saved["name"], saved["due_on"], saved["version"]) == ("Discovery sprint", "2027-02-08", 2)
    # Someone else moves it while the page is open: the next save is refused, the typing kept.
    feedback.update_round(demo_db, fac, rnd["id"], "Discovery (moved)", "2027-02-15", expected_version=2)
    at.text_input(key=f"round_{rnd['id']}_name").input("My name")
    at.button(key=f"round_{rnd['id']}_save").click().run()
    assert any("Someone changed this round meanwhile: it is now Discovery (moved)" in as_read(w.value)
               for w in at.warning)
    assert at.text_input(key=f"round_{rnd['id']}_name").value == "My name"
    assert storage.one(demo_db, "SELECT name FROM feedback_rounds WHERE id = ?", [rnd["id"]])["name"] == "Discovery (moved)"


def test_a_round_with_given_feedback_says_why_it_stays_and_an_empty_one_is_deleted(demo_db):
    term_id = go_live(demo_db)
    expert, entry = expert_entry(demo_db)
    feedback.submit(demo_db, expert, entry["id"], SCORES, "Good start.")
    fac = facilitator(demo_db)
    given = storage.one(demo_db, "SELECT * FROM feedback_rounds WHERE name = 'Discovery'")
    spare = feedback.create_round(demo_db, fac, term_id, "Spare", (date.today() + timedelta(days=30)).isoformat())
    at = open_page(demo_db, "facilitator", ROUNDS)
    assert "The round Discovery cannot be deleted: 1 team already has feedback for it." in texts(at)
    assert not [b for b in at.button if b.key == f"round_{given['id']}_delete"]
    assert at.button(key=f"round_{spare['id']}_delete").disabled            # until confirmed
    at.checkbox(key=f"round_{spare['id']}_delete_confirm").check().run()
    at.button(key=f"round_{spare['id']}_delete").click().run()
    assert not at.exception
    assert "Round Spare deleted." in successes(at)
    assert storage.one(demo_db, "SELECT id FROM feedback_rounds WHERE id = ?", [spare["id"]]) is None
    assert storage.one(demo_db, "SELECT id FROM feedback_rounds WHERE id = ?", [given["id"]]) is not None


@pytest.mark.parametrize("lang, said", [
    ("en", "becomes active before its start date"), ("fr", "devient en cours avant sa date de début")])
def test_starting_a_term_before_its_start_date_says_so_before_and_in_the_confirmation(demo_db, lang, said):
    fac, term = facilitator(demo_db), winter(demo_db)
    terms.advance_term(demo_db, fac, term.id)
    pairings.run_assignment(demo_db, fac, term.id)
    pairings.publish(demo_db, fac, term.id)
    later = date.today() + timedelta(days=30)
    with storage.transaction(demo_db):
        demo_db.execute("UPDATE terms SET starts_on = ? WHERE id = ?", [later.isoformat(), term.id])
    at = open_page(demo_db, "facilitator", "views/fac_terms.py", lang)
    assert any(said in as_read(w.value) for w in at.warning)
    at.checkbox(key=f"term_confirm_{term.id}").check().run()
    at.button(key=f"term_advance_{term.id}").click().run()
    assert not at.exception
    confirmation = " ".join(successes(at))
    assert said in confirmation and "Winter 2027" in confirmation
    assert terms.get_term(demo_db, term.id).state == "active"


# --- 14.10: the expert's page and the homes -------------------------------------------------

def entry_expanders(at):
    """The round expanders (not the team profiles), with whether each is open."""
    return [(x.label, x.proto.expanded) for x in at.expander if "·" in x.label]


def test_the_expert_sees_a_summary_first_and_only_the_rounds_that_need_them_open(demo_db):
    term_id = go_live(demo_db)
    fac = facilitator(demo_db)
    feedback.create_round(demo_db, fac, term_id, "Concept", (date.today() + timedelta(days=40)).isoformat())
    expert, first = expert_entry(demo_db)
    mine = [e for e in feedback.entries_for_expert(demo_db, expert) if e["pairing_id"] == first["pairing_id"]]
    discovery = next(e for e in mine if e["round_name"] == "Discovery")
    concept = next(e for e in mine if e["round_name"] == "Concept")
    student = student_of(demo_db, discovery)
    feedback.submit(demo_db, expert, discovery["id"], SCORES, "Good start.")
    feedback.submit(demo_db, expert, concept["id"], SCORES, "Better.")
    feedback.reply(demo_db, student, discovery["id"], "We narrowed the scope.")   # waits for the expert
    at = open_page(demo_db, "expert", "views/expert_teams.py")
    assert "Your teams at a glance" in [s.value for s in at.subheader]
    table = at.dataframe[0].value
    assert list(table.columns) == ["Team", "Term", "Submitted", "Open", "Overdue", "Replies waiting", "Challenge"]
    row = table[table["Team"] == discovery["team_name"]].iloc[0]
    assert (row["Submitted"], row["Open"], row["Overdue"], row["Replies waiting"]) == (2, 0, 0, 1)
    rounds = entry_expanders(at)
    opened = [label for label, is_open in rounds if is_open]
    folded = [label for label, is_open in rounds if not is_open]
    assert any(label.startswith("Discovery") and "reply waiting for you" in label for label in opened)
    assert any(label.startswith("Concept") and "Submitted" in label for label in folded)
    # The other team's Discovery (due in 10 days) is open; its Concept (due in 40) waits folded.
    assert any(label.startswith("Discovery") and label.endswith("· Open") for label in opened)
    assert any(label.startswith("Concept") and label.endswith("· Open") for label in folded)
    now = feedback.needs_now(feedback.entries_for_expert(demo_db, expert), "expert")
    assert len(opened) == len(now) == 2
    assert "2 rounds need you now" in texts(at)


def step_infos(at):
    return [i.value for i in at.info]


@pytest.mark.parametrize("lang, reply_waiting, wrote, overdue", [
    ("en", "1 team reply or message waits for you", "Your expert wrote to your team about 1 round",
     " overdue."),
    ("fr", "1 réponse ou message d’équipe vous attend", "Votre expert·e a écrit à votre équipe au sujet de 1 cycle",
     " en retard.")])
def test_each_home_lists_what_waits_for_that_person_naming_the_term(demo_db, lang, reply_waiting, wrote, overdue):
    go_live(demo_db, due_in_days=-3)                       # Discovery is overdue
    expert, entry = expert_entry(demo_db)
    student = student_of(demo_db, entry)
    feedback.submit(demo_db, expert, entry["id"], SCORES, "Good start.")
    feedback.reply(demo_db, student, entry["id"], "We narrowed the scope.")
    home = "views/home.py"
    expert_home = step_infos(open_as(demo_db, expert, home, lang))
    assert any(reply_waiting in s and s.startswith("Winter 2027") for s in expert_home), expert_home
    feedback.post_message(demo_db, expert, entry["id"], "Which users did you test with?")
    student_home = step_infos(open_as(demo_db, student, home, lang))
    assert any(wrote in s and s.startswith("Winter 2027") for s in student_home), student_home
    fac_home = step_infos(open_as(demo_db, facilitator(demo_db), home, lang))
    assert any(overdue in s and s.startswith("Winter 2027") for s in fac_home), fac_home


# --- 14.11: the thread on both pages ------------------------------------------------------

def test_the_team_and_the_expert_write_to_each_other_under_the_entry(demo_db):
    go_live(demo_db)
    expert, entry = expert_entry(demo_db)
    student = student_of(demo_db, entry)
    feedback.submit(demo_db, expert, entry["id"], SCORES, "Good start.")
    feedback.reply(demo_db, student, entry["id"], "We narrowed the scope.")
    at = open_as(demo_db, expert, "views/expert_teams.py")
    at.text_area(key=f"thread_text_{entry['id']}").input("Which users did you test with?")
    at.button(key=f"thread_send_{entry['id']}").click().run()
    assert not at.exception and any(s.startswith("Message sent") for s in successes(at))
    assert at.text_area(key=f"thread_text_{entry['id']}").value == ""
    assert "Which users did you test with?" in [t.value for t in at.text]
    team = open_as(demo_db, student, "views/student_feedback.py", "fr")
    assert "Votre expert·e vous a écrit au sujet de 1 cycle\u00a0:" in texts(team)
    assert "Which users did you test with?" in [t.value for t in team.text]
    team.button(key=f"thread_read_{entry['id']}").click().run()
    assert any(s.startswith("Marqué comme lu") for s in successes(team))
    assert feedback.get_entry(demo_db, expert, entry["id"])["next"] is None
    assert not [b for b in team.button if b.key == f"thread_read_{entry['id']}"]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_hostile_thread_messages_and_author_names_are_shown_as_typed(demo_db, lang):
    go_live(demo_db)
    expert, entry = expert_entry(demo_db)
    student = student_of(demo_db, entry)
    feedback.submit(demo_db, expert, entry["id"], SCORES, "Good start.")
    feedback.post_message(demo_db, expert, entry["id"], HOSTILE + " (expert)")
    feedback.post_message(demo_db, student, entry["id"], HOSTILE + " (team)")
    with storage.transaction(demo_db):
        demo_db.execute("UPDATE users SET name = ? WHERE id IN (?, ?)", [HOSTILE, expert.id, student.id])
    for user, path in ((expert, "views/expert_teams.py"), (student, "views/student_feedback.py")):
        at = open_as(demo_db, user, path, lang)
        shown = [t.value for t in at.text]
        assert HOSTILE + " (expert)" in shown and HOSTILE + " (team)" in shown     # as typed, in text elements
        live = [(kind, value) for kind, value in markdown_strings(at) if live_markdown(value)]
        assert not live, live
        assert any("Evil" in value for kind, value in markdown_strings(at) if "caption" in kind)  # the names, escaped
