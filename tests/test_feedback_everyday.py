"""Issue 14 (items 4, 10, 11) in the domain: a round's due date within its term, rounds renamed,
moved and deleted; a term started before its start date says so; the thread under a feedback
entry (who reads, who writes, in order, audited, closed with its own term while the next term
runs); who owes the next word, and the homes that list it, each naming its term."""
import json
from datetime import date

import pytest

from matching import accounts, audit, challenges, feedback, home, maintenance, pairings, teams, terms
from matching import db as storage
from matching.errors import IllegalTransition, NotFound, PermissionDenied, StaleRecord, ValidationFailed
from matching.models import RUBRIC
from tests.conftest import FISHERIES, PASSWORD
from tests.test_feedback import active  # noqa: F401  (the fixture)

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

SCORES = {criterion: 4 for criterion in RUBRIC}


def steps(db, user):
    return [(s["key"], s["term"], s["params"].get("count")) for s in home.next_steps(db, user)["steps"]]


def dated_term(db, fac, name="Spring 2027", starts="2027-01-11", ends="2027-04-23"):
    return terms.create_term(db, fac, {"name": name, "starts_on": starts, "ends_on": ends})


# --- 14.4: due dates within the term ----------------------------------------------------------

def test_a_round_due_before_the_term_is_refused_with_the_allowed_dates(db, world):
    fac = world["facilitator"]
    term = dated_term(db, fac)
    with pytest.raises(ValidationFailed) as info:
        feedback.create_round(db, fac, term.id, "Discovery", "2020-01-15")
    assert info.value.errors == {"due_on": "validation.due_within_term"}
    assert info.value.params == {"starts": "2027-01-11", "ends": "2027-04-23"}
    with pytest.raises(ValidationFailed):
        feedback.create_round(db, fac, term.id, "Discovery", "2027-04-24")   # the day after the term
    assert db.execute("SELECT COUNT(*) FROM feedback_rounds").fetchone()[0] == 0
    # The first and the last day of the term are allowed.
    feedback.create_round(db, fac, term.id, "First day", "2027-01-11")
    feedback.create_round(db, fac, term.id, "Last day", date(2027, 4, 23))
    assert feedback.due_date_problem(term, date(2027, 2, 1)) is None


def test_a_term_with_one_date_bounds_that_side_only(db, world):
    fac = world["facilitator"]
    only_start = terms.create_term(db, fac, {"name": "Open-ended", "starts_on": "2027-01-11"})
    assert feedback.due_date_problem(only_start, date(2020, 1, 15)) == "validation.due_after_start"
    assert feedback.due_date_problem(only_start, date(2031, 1, 1)) is None
    only_end = terms.create_term(db, fac, {"name": "No start", "ends_on": "2027-04-23"})
    assert feedback.due_date_problem(only_end, date(2031, 1, 1)) == "validation.due_before_end"
    undated = terms.get_term(db, world["term"])              # the fixture's term has no dates
    assert feedback.due_date_problem(undated, date(2020, 1, 15)) is None
    assert feedback.due_date_problem(undated, None) == "validation.date"


# --- 14.4: rename, move, delete ------------------------------------------------------------

@pytest.fixture
def live(db, active):
    """test_feedback's ``active`` (Winter 2027 active, both teams published, Discovery due
    2027-02-01), with the student of the ESDC expert's entry and a student of the other team."""
    w = active
    team = storage.one(db, "SELECT p.team_id FROM feedback_entries e JOIN pairings p ON p.id = e.pairing_id "
                           "WHERE e.id = ?", [w["entry"]])["team_id"]
    student, other = ((w["student_a"], w["student_b"]) if team == w["team_a"] else (w["student_b"], w["student_a"]))
    return {**w, "student": student, "other_student": other}


def test_a_round_is_renamed_and_moved_with_the_version_seen(db, live):
    w = live
    rnd = w["round"]
    assert rnd["version"] == 1
    saved = feedback.update_round(db, w["fac"], rnd["id"], "Discovery sprint", "2027-02-08", expected_version=1)
    assert (saved["name"], saved["due_on"], saved["version"]) == ("Discovery sprint", "2027-02-08", 2)
    # Someone who saw version 1 is refused, with the current round; nothing changes.
    with pytest.raises(StaleRecord) as info:
        feedback.update_round(db, w["fac"], rnd["id"], "Old view", "2027-02-01", expected_version=1)
    assert info.value.current["name"] == "Discovery sprint"
    # A name another round of the term has, and a date the term does not allow, are refused.
    feedback.create_round(db, w["fac"], w["term"], "Concept", "2027-03-01")
    with pytest.raises(ValidationFailed) as info:
        feedback.update_round(db, w["fac"], rnd["id"], "concept", "2027-02-08", expected_version=2)
    assert info.value.errors == {"name": "validation.duplicate"}
    # Keeping its own name is not a duplicate.
    feedback.update_round(db, w["fac"], rnd["id"], "Discovery sprint", "2027-02-09", expected_version=2)
    event = json.loads(next(e for e in audit.events(db) if e["action"] == "feedback.round_update")["detail"])
    assert event["from"] == {"name": "Discovery sprint", "due_on": "2027-02-08"}
    assert event["to"] == {"name": "Discovery sprint", "due_on": "2027-02-09"}
    with pytest.raises(PermissionDenied):
        feedback.update_round(db, w["expert"], rnd["id"], "Mine", "2027-02-08", expected_version=None)


def test_a_moved_due_date_is_checked_against_the_term(db, world):
    fac = world["facilitator"]
    term = dated_term(db, fac)
    rnd = feedback.create_round(db, fac, term.id, "Discovery", "2027-02-01")
    with pytest.raises(ValidationFailed) as info:
        feedback.update_round(db, fac, rnd["id"], "Discovery", "2020-01-15", expected_version=rnd["version"])
    assert info.value.errors == {"due_on": "validation.due_within_term"}
    assert storage.one(db, "SELECT due_on FROM feedback_rounds WHERE id = ?", [rnd["id"]])["due_on"] == "2027-02-01"


def test_a_round_without_feedback_is_deleted_with_its_entries_and_audited(db, live):
    w = live
    spare = feedback.create_round(db, w["fac"], w["term"], "Spare", "2027-03-01")
    entries = [r[0] for r in db.execute("SELECT id FROM feedback_entries WHERE round_id = ?", [spare["id"]])]
    assert len(entries) == 2
    mine = next(e for e in feedback.entries_for_expert(db, w["expert"]) if e["round_id"] == spare["id"])
    feedback.save_draft(db, w["expert"], mine["id"], {"feasibility": 2}, "A draft")
    listed = {r["name"]: r for r in feedback.rounds(db, w["fac"], w["term"])}
    assert listed["Spare"]["deletable"] and listed["Spare"]["drafts"] == 1
    with pytest.raises(StaleRecord):
        feedback.delete_round(db, w["fac"], spare["id"], expected_version=spare["version"] + 1)
    with pytest.raises(PermissionDenied):
        feedback.delete_round(db, w["expert"], spare["id"], expected_version=None)
    gone = feedback.delete_round(db, w["fac"], spare["id"], expected_version=spare["version"])
    assert gone["name"] == "Spare"
    assert storage.one(db, "SELECT id FROM feedback_rounds WHERE id = ?", [spare["id"]]) is None
    assert db.execute("SELECT COUNT(*) FROM feedback_entries WHERE round_id = ?", [spare["id"]]).fetchone()[0] == 0
    event = next(e for e in audit.events(db) if e["action"] == "feedback.round_delete")
    assert event["target_id"] == str(spare["id"])
    assert json.loads(event["detail"]) == {"term_id": w["term"], "name": "Spare", "due_on": "2027-03-01", "entries": 2,
                               "drafts": 1}


def test_a_round_with_submitted_feedback_cannot_be_deleted(db, live):
    w = live
    feedback.submit(db, w["expert"], w["entry"], SCORES, "Good start")
    assert not {r["name"]: r for r in feedback.rounds(db, w["fac"], w["term"])}["Discovery"]["deletable"]
    with pytest.raises(IllegalTransition) as info:
        feedback.delete_round(db, w["fac"], w["round"]["id"], expected_version=w["round"]["version"])
    assert info.value.key == "feedback.round_has_feedback"
    assert info.value.params == {"count": 1, "name": "Discovery"}
    assert db.execute("SELECT COUNT(*) FROM feedback_entries WHERE round_id = ?", [w["round"]["id"]]).fetchone()[0] == 2
    assert not [e for e in audit.events(db) if e["action"] == "feedback.round_delete"]


def test_a_closed_terms_rounds_are_neither_edited_nor_deleted(db, live):
    w = live
    terms.advance_term(db, w["fac"], w["term"], reason="End of term")
    for call in (lambda: feedback.update_round(db, w["fac"], w["round"]["id"], "X", "2027-02-01", expected_version=None),
                 lambda: feedback.delete_round(db, w["fac"], w["round"]["id"], expected_version=None)):
        with pytest.raises(IllegalTransition) as info:
            call()
        assert info.value.key == "term.closed_read_only"


# --- 14.4: a term started before its start date ----------------------------------------------

def test_starting_a_term_before_its_start_date_is_a_warning_not_a_blocker(db, world):
    fac = world["facilitator"]
    term = dated_term(db, fac)
    for _ in range(2):                                          # planning -> intake -> matching
        assert terms.advance_check(db, term.id, today=date(2026, 12, 2))["warnings"] == []
        term = terms.advance_term(db, fac, term.id, reason="Test", override=True)
    assert term.state == "matching"
    early = terms.advance_check(db, term.id, today=date(2026, 12, 2))
    assert early["warnings"] == [{"key": "term.warn.active_before_start",
                                  "params": {"term": "Spring 2027", "starts": "2027-01-11"}}]
    assert terms.advance_check(db, term.id, today=date(2027, 1, 11))["warnings"] == []


# --- 14.11: the thread, with two overlapping terms -----------------------------------------

@pytest.fixture
def overlap(db, live):
    """Winter 2027 active (live), and Fall 2027 active too with its own team, challenge, expert and
    round; the ESDC expert's Winter entry is submitted, as is the DFO expert's Fall entry."""
    w = live
    fac = w["fac"]
    feedback.submit(db, w["expert"], w["entry"], SCORES, "Good start")
    fall = terms.create_term(db, fac, {"name": "Fall 2027", "starts_on": "2027-09-07", "ends_on": "2027-12-17"}).id
    with storage.transaction(db):
        team_c = storage.insert(db, "teams", {"term_id": fall, "name": "Harbour Lab", "skills": ["forms", "oceans"],
                                              "interests": ["harbours"], "updated_at": storage.now_iso()})
        storage.insert(db, "members", {"team_id": team_c, "name": "Cy Park", "email": "cy.park@sheridancollege.ca"})
    student_c = accounts.create_user(db, accounts.SYSTEM, {"email": "cy.park@sheridancollege.ca", "name": "Cy Park",
                                                           "role": "student", "team_id": team_c}, PASSWORD)
    expert_dfo = accounts.create_user(db, accounts.SYSTEM, {"email": FISHERIES["sme_email"], "name": "Fay Fisher",
                                                            "role": "expert", "department_id": w["dfo"]}, PASSWORD)
    terms.advance_term(db, fac, fall)                                       # intake
    draft = challenges.save_draft(db, w["rep_dfo"], {**FISHERIES, "title": "Harbour forms online"}, term_id=fall)
    challenges.submit(db, w["rep_dfo"], draft.id)
    challenges.approve(db, fac, draft.id, confirm_unclassified=True)
    terms.advance_term(db, fac, fall)                                       # matching
    pairings.run_assignment(db, fac, fall)
    pairings.publish(db, fac, fall)
    terms.advance_term(db, fac, fall)                                       # active
    feedback.create_round(db, fac, fall, "Concept", "2027-10-15")
    fall_entry = next(e for e in feedback.entries_for_expert(db, expert_dfo) if e["term_id"] == fall)
    feedback.submit(db, expert_dfo, fall_entry["id"], SCORES, "Promising")
    return {**w, "fall": fall, "team_c": team_c, "student_c": student_c, "expert_dfo": expert_dfo,
            "fall_entry": fall_entry["id"]}


def test_only_the_paired_expert_and_that_teams_members_write_facilitators_read(db, overlap):
    w = overlap
    entry = w["entry"]
    feedback.post_message(db, w["expert"], entry, "Did you test with screen readers?")
    feedback.post_message(db, w["student"], entry, "Yes, with two users.")
    feedback.post_message(db, w["expert"], entry, "Great: write that down in the reply.")
    for reader in (w["expert"], w["student"], w["fac"]):
        thread = feedback.thread(db, reader, entry)
        assert [(m["side"], m["body"]) for m in thread] == [
            ("expert", "Did you test with screen readers?"), ("team", "Yes, with two users."),
            ("expert", "Great: write that down in the reply.")]
    assert [m["author_name"] for m in feedback.thread(db, w["fac"], entry)][:2] == [w["expert"].name,
                                                                                     w["student"].name]
    with pytest.raises(PermissionDenied):
        feedback.post_message(db, w["fac"], entry, "Facilitators read only")
    for outsider in (w["other_student"], w["student_c"], w["expert_dfo"], w["rep_esdc"], w["rep_dfo"]):
        with pytest.raises((NotFound, PermissionDenied)):
            feedback.thread(db, outsider, entry)
        with pytest.raises((NotFound, PermissionDenied)):
            feedback.post_message(db, outsider, entry, "Let me in")
    assert len(feedback.thread(db, w["fac"], entry)) == 3                   # nothing was added
    # Each message is audited, without its text (a purge erases the thread, not every event).
    events = [e for e in audit.events(db) if e["action"] == "feedback.message"]
    assert len(events) == 3 and {e["target_id"] for e in events} == {str(entry)}
    assert all("screen readers" not in str(e["detail"]) for e in events)


def test_a_draft_has_no_thread_and_bad_messages_are_refused(db, overlap):
    w = overlap
    second = feedback.create_round(db, w["fac"], w["term"], "Concept", "2027-03-01")
    draft = next(e for e in feedback.entries_for_expert(db, w["expert"]) if e["round_id"] == second["id"])
    with pytest.raises(NotFound):
        feedback.thread(db, w["student"], draft["id"])                      # the team cannot see a draft
    with pytest.raises(IllegalTransition) as info:
        feedback.post_message(db, w["expert"], draft["id"], "Before submitting")
    assert info.value.key == "feedback.thread_not_open"
    for text, problem in (("   ", "validation.required"), ("x" * (feedback.THREAD_MESSAGE_MAX + 1), "validation.too_long"),
                          ("bell\x07", "validation.control_chars")):
        with pytest.raises(ValidationFailed) as info:
            feedback.post_message(db, w["expert"], w["entry"], text)
        assert info.value.errors == {"message": problem}
    hostile = "[click](http://evil.example) ![x](http://evil.example/p.png) <b>bold</b> \u202eRTL"
    with pytest.raises(ValidationFailed):                                   # a bidi override is refused
        feedback.post_message(db, w["expert"], w["entry"], hostile)
    kept = feedback.post_message(db, w["expert"], w["entry"], hostile.replace("\u202e", ""))
    assert kept["body"] == hostile.replace("\u202e", "")                  # stored as typed


def test_a_full_thread_refuses_more(db, overlap, monkeypatch):
    w = overlap
    monkeypatch.setattr(feedback, "THREAD_MAX_MESSAGES", 2)
    feedback.post_message(db, w["expert"], w["entry"], "One")
    feedback.post_message(db, w["student"], w["entry"], "Two")
    with pytest.raises(IllegalTransition) as info:
        feedback.post_message(db, w["expert"], w["entry"], "Three")
    assert info.value.key == "feedback.thread_full" and info.value.params == {"count": 2}


def test_a_closed_terms_thread_is_read_only_while_the_next_terms_stays_open(db, overlap):
    w = overlap
    feedback.post_message(db, w["student"], w["entry"], "A question before the end")
    terms.advance_term(db, w["fac"], w["term"], reason="Winter is over")   # Winter closes; Fall runs
    winter = feedback.get_entry(db, w["expert"], w["entry"])
    assert not winter["thread_open"] and winter["next"] is None
    for actor in (w["expert"], w["student"]):
        with pytest.raises(IllegalTransition) as info:
            feedback.post_message(db, actor, w["entry"], "Too late")
        assert info.value.key == "feedback.thread_closed" and info.value.params["term"] == "Winter 2027"
        with pytest.raises(IllegalTransition):
            feedback.mark_read(db, actor, w["entry"])
    assert [m["body"] for m in feedback.thread(db, w["student"], w["entry"])] == ["A question before the end"]
    # Fall's thread, of the same kind of entry, is open.
    assert feedback.get_entry(db, w["expert_dfo"], w["fall_entry"])["thread_open"]
    feedback.post_message(db, w["expert_dfo"], w["fall_entry"], "How is the form test going?")
    feedback.post_message(db, w["student_c"], w["fall_entry"], "Three harbours tried it.")
    assert len(feedback.thread(db, w["fac"], w["fall_entry"])) == 2


def test_who_owes_the_next_word_and_the_homes_that_say_so(db, overlap):
    w = overlap
    expert, student, entry = w["expert"], w["student"], w["entry"]
    assert feedback.get_entry(db, expert, entry)["next"] == "reply"
    assert ("home.step.reply_feedback", "Winter 2027", 1) in steps(db, student)
    assert ("home.step.reply_feedback", "Fall 2027", 1) in steps(db, w["student_c"])
    feedback.reply(db, student, entry, "We added screen reader testing.")
    assert feedback.get_entry(db, expert, entry)["next"] == "answer_team"
    assert ("home.step.replies_waiting", "Winter 2027", 1) in steps(db, expert)
    assert not [s for s in steps(db, student) if s[0] == "home.step.reply_feedback"]
    # The expert answers in the thread: now the team has something to read.
    feedback.post_message(db, expert, entry, "Which screen readers?")
    assert feedback.get_entry(db, expert, entry)["next"] == "answer_expert"
    assert not [s for s in steps(db, expert) if s[0] == "home.step.replies_waiting"]
    assert ("home.step.expert_wrote", "Winter 2027", 1) in steps(db, student)
    # The team marks it read: nobody waits.
    feedback.mark_read(db, student, entry)
    assert feedback.get_entry(db, expert, entry)["next"] is None
    assert not [s for s in steps(db, student) if s[0] == "home.step.expert_wrote"]
    # The other team's home is untouched; Fall's expert has Fall's reply to read, named Fall.
    assert not [s for s in steps(db, w["other_student"]) if s[0] == "home.step.expert_wrote"]
    feedback.reply(db, w["student_c"], w["fall_entry"], "We simplified the form.")
    assert ("home.step.replies_waiting", "Fall 2027", 1) in steps(db, w["expert_dfo"])
    feedback.mark_read(db, w["expert_dfo"], w["fall_entry"])
    assert not [s for s in steps(db, w["expert_dfo"]) if s[0] == "home.step.replies_waiting"]
    counts = feedback.thread_counts(db, w["fac"], w["term"])
    assert counts == {"threads": 1, "messages": 1, "waiting": 0}


def test_what_needs_the_expert_now_is_each_teams_next_round_overdue_ones_and_replies(db, live):
    w = live
    expert = w["expert"]
    concept = feedback.create_round(db, w["fac"], w["term"], "Concept", "2027-03-01")
    final = feedback.create_round(db, w["fac"], w["term"], "Final", "2027-04-01")

    def now():
        mine = feedback.entries_for_expert(db, expert)
        return {e["round_name"] for e in mine if e["id"] in feedback.needs_now(mine, "expert")}

    assert now() == {"Discovery"}                               # the next due; later rounds wait
    feedback.submit(db, expert, w["entry"], SCORES, "Good start")
    assert now() == {"Concept"}
    feedback.reply(db, w["student"], w["entry"], "Done")
    assert now() == {"Discovery", "Concept"}                    # the team's reply to answer
    with storage.transaction(db):                               # Final is long past due
        db.execute("UPDATE feedback_rounds SET due_on = '2020-01-15' WHERE id = ?", [final["id"]])
    assert now() == {"Discovery", "Concept", "Final"}
    assert concept["name"] == "Concept"


def test_the_facilitators_home_names_each_terms_overdue_and_unassigned_entries(db, overlap):
    w = overlap
    fac_steps = steps(db, w["fac"])
    # Winter's Discovery round (due 2027-02-01) has one open entry left: the DFO expert's of team B
    # (who, in Winter, has an account since the Fall fixture created it).
    overdue = [s for s in fac_steps if s[0] == "home.step.overdue_feedback"]
    if date.today() > date(2027, 2, 1):
        assert ("home.step.overdue_feedback", "Winter 2027", 1) in overdue
    else:
        assert overdue == []
    db.execute("UPDATE feedback_rounds SET due_on = '2020-01-15' WHERE term_id = ?", [w["term"]])  # long past
    assert ("home.step.overdue_feedback", "Winter 2027", 1) in steps(db, w["fac"])
    assert not [s for s in steps(db, w["fac"]) if s[0] == "home.step.overdue_feedback" and s[1] == "Fall 2027"]
    # An entry whose SME has no account: someone has to act.
    with storage.transaction(db):
        db.execute("UPDATE feedback_entries SET expert_id = NULL WHERE state = 'open'")
    assert ("home.step.entries_without_expert", "Winter 2027", 1) in steps(db, w["fac"])


def test_a_purge_erases_the_threads_text(db, overlap):
    w = overlap
    feedback.post_message(db, w["student"], w["entry"], "Ana Lopez here: call me at 555-0100")
    terms.advance_term(db, w["fac"], w["term"], reason="Winter is over")
    counts = maintenance.purge_term(db, w["fac"], w["term"])
    assert counts["feedback_messages"] == 1
    assert [m["body"] for m in feedback.thread(db, w["fac"], w["entry"])] == [""]
