"""Outcomes (issue 17, points 3 and 5): final summaries, final assessments, outcome reports at 3
and 6 months, their reminders, and the outcomes export; on both storage backends."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from click.testing import CliRunner

from matching import accounts, feedback, importexport, lifecycle, notifications, outcomes, terms
from matching import db as storage
from matching.cli import main
from matching.errors import IllegalTransition, NotFound, PermissionDenied, StaleRecord, ValidationFailed
from matching.models import RUBRIC
from tests.conftest import PASSWORD

pytestmark = pytest.mark.backends("sqlite", "postgresql")

ENDS = "2027-04-23"
ACTIVE_DAY = date(2027, 4, 10)
CLOSE_DAY = date(2027, 4, 26)
SUMMARY = {"learned": "Screen-reader users abandon the form at the employment history table.",
           "made": "A tested prototype of a linear employment history step.",
           "recommendations": "Replace the table with one question per screen.",
           "links": "https://example.org/prototype\nhttp://example.org/report.pdf"}
SCORES = {c: 4 for c in RUBRIC}


def _pair(db, w, approved, term_id):
    now = storage.now_iso()
    ids = {}
    with storage.transaction(db):
        for team, challenge in (("team_a", "accessibility"), ("team_b", "fisheries")):
            ids[team] = storage.insert(db, "pairings", {"term_id": term_id, "team_id": w[team],
                                                        "challenge_id": approved[challenge], "state": "active",
                                                        "created_at": now, "updated_at": now})
    return ids


@pytest.fixture
def running(db, world, approved):
    """The world's term active (ends 2027-04-23) with team A on the ESDC challenge, team B on DFO's,
    one feedback round given to team A; a DFO expert with an account."""
    w = dict(world)
    storage.update(db, "terms", w["term"], {"state": "active", "starts_on": "2027-01-11", "ends_on": ENDS})
    w["pairings"] = _pair(db, w, approved, w["term"])
    w["expert_dfo"] = accounts.create_user(db, accounts.SYSTEM, {"email": "fay.fisher@dfo-mpo.gc.ca", "name": "Fay",
                                                                 "role": "expert"}, PASSWORD)
    round_ = feedback.create_round(db, w["facilitator"], w["term"], "Midterm", "2027-03-01")
    entry = db.execute("SELECT id FROM feedback_entries WHERE round_id = ? AND pairing_id = ?",
                       [round_["id"], w["pairings"]["team_a"]]).fetchone()[0]
    feedback.submit(db, w["expert"], entry, {c: 2 for c in RUBRIC}, "Midterm feedback")
    return w


def close(db, w, day=CLOSE_DAY):
    return terms.advance_term(db, w["facilitator"], w["term"], reason="Term over", today=day)


# --- Final summary ---------------------------------------------------------------------------

def test_a_team_writes_its_summary_while_active_and_revises_it_within_the_window(db, running):
    w = running
    pairing = w["pairings"]["team_a"]
    saved = outcomes.save_summary(db, w["student_a"], pairing, SUMMARY, expected_version=0, today=ACTIVE_DAY)
    summary = saved["summary"]
    assert summary["version"] == 1 and summary["show_names"] is False      # anonymised unless the team opts in
    assert summary["links"] == ["https://example.org/prototype", "http://example.org/report.pdf"]
    closed = close(db, w)
    assert closed.closed_on == CLOSE_DAY.isoformat()
    last_day = date(2027, 5, 26)                                            # 30 days after the close
    revised = outcomes.save_summary(db, w["student_a"], pairing, {**SUMMARY, "show_names": True},
                                    expected_version=1, today=last_day)
    assert revised["summary"]["version"] == 2 and revised["summary"]["show_names"] is True
    assert revised["pairing_state"] == "completed"
    with pytest.raises(IllegalTransition) as refused:
        outcomes.save_summary(db, w["student_a"], pairing, SUMMARY, expected_version=2, today=date(2027, 5, 27))
    assert refused.value.key == "outcome.final_closed" and refused.value.params["closed_on"] == "2027-05-26"
    with pytest.raises(StaleRecord):                                        # someone saved since version 1
        outcomes.save_summary(db, w["student_a"], pairing, SUMMARY, expected_version=1, today=last_day)
    actions = [e["action"] for e in db.query("SELECT action FROM audit_events WHERE target_type = 'pairing' "
                                             "AND target_id = ?", [str(pairing)])]
    assert actions == ["outcome.summary_save", "outcome.summary_save"]


def test_only_the_team_writes_its_summary_and_others_do_not_see_it(db, running):
    w = running
    pairing = w["pairings"]["team_a"]
    with pytest.raises(NotFound):
        outcomes.save_summary(db, w["student_b"], pairing, SUMMARY, today=ACTIVE_DAY)
    for other in ("rep_esdc", "expert", "facilitator"):   # they read it, they do not write it
        with pytest.raises(PermissionDenied):
            outcomes.save_summary(db, w[other], pairing, SUMMARY, today=ACTIVE_DAY)
    with pytest.raises(NotFound):
        outcomes.get_outcome(db, w["rep_dfo"], pairing)
    assert outcomes.get_outcome(db, w["rep_esdc"], pairing)["summary"] is None


@pytest.mark.parametrize("links,key", [
    ("javascript:alert(1)", "outcome.links_invalid"),
    ("data:text/html,<script>alert(1)</script>", "outcome.links_invalid"),
    ("https://", "outcome.links_invalid"),
    ("ftp://example.org/file", "outcome.links_invalid"),
    ("https://example.org/a b", "outcome.links_invalid"),
    ("https://exa\u202emple.org", "outcome.links_invalid"),
    ("//example.org/no-scheme", "outcome.links_invalid"),
    ("https://example.org/" + "a" * 600, "outcome.link_too_long"),
    ("\n".join(f"https://example.org/{i}" for i in range(11)), "outcome.links_too_many"),
])
def test_links_must_be_web_addresses(db, running, links, key):
    with pytest.raises(ValidationFailed) as refused:
        outcomes.save_summary(db, running["student_a"], running["pairings"]["team_a"], {**SUMMARY, "links": links},
                              today=ACTIVE_DAY)
    assert refused.value.errors == {"links": key}


def test_a_summary_needs_its_three_texts_and_keeps_hostile_text_as_typed(db, running):
    w = running
    with pytest.raises(ValidationFailed) as refused:
        outcomes.save_summary(db, w["student_a"], w["pairings"]["team_a"], {"learned": " ", "made": "x" * 6000,
                                                                             "recommendations": "bell\x07"},
                              today=ACTIVE_DAY)
    assert refused.value.errors == {"learned": "validation.required", "made": "validation.too_long",
                                    "recommendations": "validation.control_chars"}
    hostile = "<script>alert(1)</script> **bold** [x](javascript:alert(1)) =HYPERLINK(\"http://evil\")"
    saved = outcomes.save_summary(db, w["student_a"], w["pairings"]["team_a"], {**SUMMARY, "learned": hostile},
                                  today=ACTIVE_DAY)
    assert saved["summary"]["learned"] == hostile


# --- Final assessment ------------------------------------------------------------------------

def test_the_expert_gives_the_final_assessment_and_the_averages_include_it(db, running):
    w = running
    pairing = w["pairings"]["team_a"]
    assert outcomes.rubric_averages(db, pairing) == {**{c: 2.0 for c in RUBRIC}, "overall": 2.0, "count": 1}
    with pytest.raises(ValidationFailed) as refused:
        outcomes.save_assessment(db, w["expert"], pairing, {**SCORES, "feasibility": 6}, "", today=ACTIVE_DAY)
    assert refused.value.errors == {"scores.feasibility": "validation.score", "comments": "validation.required"}
    with pytest.raises(NotFound):
        outcomes.save_assessment(db, w["expert_dfo"], pairing, SCORES, "Not mine", today=ACTIVE_DAY)
    with pytest.raises(PermissionDenied):
        outcomes.save_assessment(db, w["student_a"], pairing, SCORES, "Self-assessed", today=ACTIVE_DAY)
    close(db, w)
    saved = outcomes.save_assessment(db, w["expert"], pairing, {**SCORES, "communication": "5"}, "Strong finish.",
                                     expected_version=0, today=date(2027, 5, 1))
    assert saved["assessment"]["scores"]["communication"] == 5 and saved["assessment"]["expert_id"] == w["expert"].id
    averages = outcomes.rubric_averages(db, pairing)
    assert averages["feasibility"] == 3.0 and averages["communication"] == 3.5 and averages["count"] == 2
    assert averages["overall"] == pytest.approx(3.1)
    assert outcomes.get_outcome(db, w["student_a"], pairing)["assessment"]["comments"] == "Strong finish."
    assert [r["pairing_id"] for r in outcomes.for_expert(db, w["expert"])] == [pairing]


# --- Outcome reports -------------------------------------------------------------------------

def test_reports_open_at_3_and_6_months_and_become_overdue(db, running):
    w = running
    pairing = w["pairings"]["team_a"]
    with pytest.raises(IllegalTransition):   # the term is still active: nothing to report
        outcomes.save_report(db, w["rep_esdc"], pairing, "3m", "piloted", "Too early", today=date(2027, 8, 1))
    close(db, w)
    rows = outcomes.for_department(db, w["rep_esdc"], today=date(2027, 7, 22))
    assert [(c["checkpoint"], c["due_on"], c["status"]) for c in rows[0]["checkpoints"]] == [
        ("3m", "2027-07-23", "upcoming"), ("6m", "2027-10-23", "upcoming")]
    with pytest.raises(IllegalTransition) as early:
        outcomes.save_report(db, w["rep_esdc"], pairing, "3m", "piloted", "Early", today=date(2027, 7, 22))
    assert early.value.key == "outcome.report_not_open" and early.value.params["due_on"] == "2027-07-23"
    assert outcomes.for_department(db, w["rep_esdc"], today=date(2027, 7, 23))[0]["checkpoints"][0]["status"] == "due"
    late = date(2027, 8, 23)   # 31 days past due
    assert outcomes.for_department(db, w["rep_esdc"], today=late)[0]["checkpoints"][0]["status"] == "overdue"
    overdue = outcomes.overdue_reports(db, w["facilitator"], today=late)
    assert {(r["pairing_id"], r["checkpoint"], r["days_overdue"]) for r in overdue} == {
        (pairing, "3m", 31), (w["pairings"]["team_b"], "3m", 31)}
    with pytest.raises(PermissionDenied):
        outcomes.overdue_reports(db, w["rep_esdc"], today=late)
    with pytest.raises(NotFound):
        outcomes.save_report(db, w["rep_dfo"], pairing, "3m", "adopted", "Not ours", today=late)
    with pytest.raises(ValidationFailed) as bad:
        outcomes.save_report(db, w["rep_esdc"], pairing, "9m", "maybe", "", today=late)
    assert bad.value.errors == {"checkpoint": "validation.choice", "status": "validation.choice",
                                "note": "validation.required"}
    saved = outcomes.save_report(db, w["rep_esdc"], pairing, "3m", "piloted",
                                 "Piloted in two Service Canada Centres.", expected_version=0, today=late)
    assert saved["latest_outcome"] == "piloted" and saved["checkpoints"][0]["status"] == "reported"
    assert [r["pairing_id"] for r in outcomes.overdue_reports(db, w["facilitator"], today=late)] == [
        w["pairings"]["team_b"]]
    after = outcomes.save_report(db, w["rep_esdc"], pairing, "6m", "adopted", "Rolled out nationally.",
                                 today=date(2027, 10, 23))
    assert after["latest_outcome"] == "adopted"
    corrected = outcomes.save_report(db, w["rep_esdc"], pairing, "3m", "informed_decision", "Corrected.",
                                     expected_version=1, today=date(2027, 10, 23))
    assert corrected["checkpoints"][0]["report"]["version"] == 2 and corrected["latest_outcome"] == "adopted"


def test_month_arithmetic_keeps_the_end_of_month():
    assert lifecycle.add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert lifecycle.add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)
    assert lifecycle.add_months(date(2027, 4, 23), 6) == date(2027, 10, 23)


# --- Reminders -------------------------------------------------------------------------------

def _kinds(db, user):
    return sorted(r["kind"] for r in db.query("SELECT kind FROM notifications WHERE user_id = ? AND kind LIKE ?",
                                              [user.id, "%outcome%"]))


def test_reminders_ask_each_side_once_across_two_terms(db, running, approved):
    w = running
    # A second, earlier term, closed long ago, with one completed pairing of the ESDC challenge.
    now = storage.now_iso()
    with storage.transaction(db):
        old_term = storage.insert(db, "terms", {"name": "Fall 2026", "state": "closed", "starts_on": "2026-09-08",
                                                "ends_on": "2026-12-11", "closed_on": "2026-12-14", "created_at": now})
        old_team = storage.insert(db, "teams", {"term_id": old_term, "name": "Earlier Crew", "updated_at": now})
        old_pairing = storage.insert(db, "pairings", {"term_id": old_term, "team_id": old_team,
                                                      "challenge_id": approved["accessibility"], "state": "completed",
                                                      "created_at": now, "updated_at": now})
    before_end = date(2027, 4, 15)   # 8 days before the running term's end: nothing for it yet
    counts = outcomes.due_reminders(db, today=before_end)
    # Fall 2026: its 3-month report (due 2027-03-11) is overdue; the 6-month one (2027-06-11) not yet due.
    assert counts == {"reports_due": 0, "reports_overdue": 1, "summaries": 0, "assessments": 0}
    assert _kinds(db, w["rep_esdc"]) == ["outcome_report_overdue"]
    assert _kinds(db, w["rep_dfo"]) == []
    counts = outcomes.due_reminders(db, today=date(2027, 4, 16))   # 7 days before the end
    assert counts == {"reports_due": 0, "reports_overdue": 0, "summaries": 2, "assessments": 2}
    assert outcomes.due_reminders(db, today=date(2027, 4, 16)) == {
        "reports_due": 0, "reports_overdue": 0, "summaries": 0, "assessments": 0}   # idempotent
    for student in ("student_a", "student_b"):
        assert [r["kind"] for r in db.query("SELECT kind FROM notifications WHERE user_id = ? AND kind LIKE ?",
                                            [w[student].id, "final%"])] == ["final_summary_open"]
    close(db, w)
    outcomes.save_report(db, w["rep_esdc"], old_pairing, "6m", "adopted", "In use.", today=date(2027, 6, 11))
    counts = outcomes.due_reminders(db, today=date(2027, 7, 23))   # the running term's 3-month checkpoint
    assert counts["reports_due"] == 2 and counts["reports_overdue"] == 0   # one per department, one rep each
    assert _kinds(db, w["rep_dfo"]) == ["outcome_report_due"]
    with pytest.raises(NotFound):
        outcomes.get_outcome(db, w["rep_dfo"], old_pairing)
    event = db.execute("SELECT detail FROM audit_events WHERE action = 'notification.outcome_reminders' "
                       "ORDER BY id DESC").fetchone()[0]
    assert '"reports_due": 2' in event


def test_notify_due_runs_the_outcome_reminders_idempotently(db, running, db_target):
    close(db, running)
    first = CliRunner().invoke(main, ["--db", str(db_target), "notify", "due", "--today", "2027-07-23"],
                               catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "2 outcome report(s) due and 0 overdue" in first.output
    second = CliRunner().invoke(main, ["--db", str(db_target), "notify", "due", "--today", "2027-07-23"],
                                catch_exceptions=False)
    assert "0 outcome report(s) due and 0 overdue" in second.output
    kinds = {r["kind"] for r in db.query("SELECT kind FROM notifications")}
    assert "outcome_report_due" in kinds and set(notifications.KINDS) >= kinds


# --- Export ----------------------------------------------------------------------------------

def test_the_outcomes_export_lists_completed_pairings_anonymised_unless_shown_and_formula_safe(db, running):
    w = running
    storage.update(db, "teams", w["team_b"], {"name": "=HYPERLINK(\"http://evil\",\"x\")"})
    outcomes.save_summary(db, w["student_a"], w["pairings"]["team_a"], {**SUMMARY, "show_names": True},
                          today=ACTIVE_DAY)
    outcomes.save_summary(db, w["student_b"], w["pairings"]["team_b"], SUMMARY, today=ACTIVE_DAY)
    headers, rows = importexport.export_table(db, w["facilitator"], "outcomes", "en")
    assert rows == []                       # nothing completed before the term closes
    close(db, w)
    outcomes.save_report(db, w["rep_esdc"], w["pairings"]["team_a"], "3m", "piloted", "Pilot.", today=date(2027, 8, 1))
    headers, rows = importexport.export_table(db, w["facilitator"], "outcomes", "fr")
    by_team = {row[headers.index("Équipe")]: row for row in rows}
    assert set(by_team) == {"Access Crew", "anonymisée"}
    assert by_team["Access Crew"][headers.index("Dernier résultat")] == "Mis à l’essai"
    assert by_team["anonymisée"][headers.index("Dernier résultat")] == "Aucun compte rendu pour le moment"
    assert by_team["Access Crew"][headers.index("Moyenne de la grille")] == 2.0
    # The team that did not opt in never shows, even by a hostile name; the file holds no formula.
    data = importexport.export_bytes(db, w["facilitator"], "outcomes", "csv", "en").decode("utf-8-sig")
    assert "HYPERLINK" not in data
    storage.update(db, "challenges", running_challenge(db, w), {"title": "=1+1"})
    data = importexport.export_bytes(db, w["facilitator"], "outcomes", "csv", "en").decode("utf-8-sig")
    assert any(row[5] == "'=1+1" for row in csv.reader(io.StringIO(data)))
    with pytest.raises(PermissionDenied):
        importexport.export_table(db, w["rep_esdc"], "outcomes", "en")


def running_challenge(db, w):
    return db.execute("SELECT challenge_id FROM pairings WHERE id = ?", [w["pairings"]["team_a"]]).fetchone()[0]


def test_a_facilitator_limited_to_another_programme_sees_none_of_these_outcomes(db, running):
    from matching import programmes
    w = running
    close(db, w)
    other = programmes.create_programme(db, accounts.SYSTEM, {
        "code": "uvic-mpa", "institution_en": "University of Victoria", "institution_fr": "Université de Victoria",
        "name_en": "Master of Public Administration", "name_fr": "Maîtrise en administration publique"})
    late = date(2027, 9, 1)
    assert len(outcomes.overdue_reports(db, w["facilitator"], today=late)) == 2
    programmes.limit_facilitator(db, accounts.SYSTEM, w["facilitator"].id, [other.id])
    limited = accounts.get_user(db, w["facilitator"].id)
    assert outcomes.overdue_reports(db, limited, today=late) == []
    assert outcomes.completed_outcomes(db, limited) == []
    with pytest.raises(NotFound):
        outcomes.get_outcome(db, limited, w["pairings"]["team_a"])
    programmes.limit_facilitator(db, accounts.SYSTEM, w["facilitator"].id, [programmes.default_programme(db).id])
    mine = accounts.get_user(db, w["facilitator"].id)
    assert len(outcomes.completed_outcomes(db, mine)) == 2
    headers, rows = importexport.export_table(db, accounts.SYSTEM, "outcomes", "en")
    assert {r[headers.index("Academic program")] for r in rows} == {
        "Sheridan College · Bachelor of Interaction Design"}
    assert {r[headers.index("Organization type")] for r in rows} == {"Federal department or agency"}


def test_a_purge_keeps_the_lessons_but_no_name_of_the_terms_people(db, running):
    """A purged term's summaries stay for the library without naming the team or its people;
    assessment comments go like feedback comments; outcome notes lose the names; scores stay."""
    from matching import library, maintenance
    w = running
    pairing = w["pairings"]["team_a"]
    named = {"learned": "Ana Lopez found that Access Crew's screen-reader tests (ana.lopez@sheridancollege.ca) "
                        "beat surveys.", "made": "A linear form, built by ANA LÓPEZ.",
             "recommendations": "Ask Access Crew.", "show_names": True,
             "links": "https://example.org/access-crew/report\nhttps://example.org/prototype"}
    outcomes.save_summary(db, w["student_a"], pairing, named, expected_version=0, today=ACTIVE_DAY)
    outcomes.save_assessment(db, w["expert"], pairing, SCORES, "Ana Lopez led the tests.", today=ACTIVE_DAY)
    close(db, w)
    outcomes.save_report(db, w["rep_esdc"], pairing, "3m", "piloted", "Piloted after Ana Lopez's demo.",
                         today=date(2027, 8, 1))
    averages = outcomes.rubric_averages(db, pairing)
    counts = maintenance.purge_term(db, w["facilitator"], w["term"])
    assert counts["final_summaries"] == 1 and counts["final_assessments"] == 1 and counts["outcome_reports"] == 1
    summary = storage.one(db, "SELECT * FROM final_summaries WHERE pairing_id = ?", [pairing])
    text = " ".join(str(summary[k]) for k in ("learned", "made", "recommendations", "links")).lower()
    for trace in ("ana", "lopez", "lópez", "access crew", "access-crew", "@"):
        assert trace not in text, trace
    assert "screen-reader tests" in summary["learned"] and summary["show_names"] == 0
    assert "https://example.org/prototype" in summary["links"]
    assessment = storage.one(db, "SELECT * FROM final_assessments WHERE pairing_id = ?", [pairing])
    assert assessment["comments"] == ""
    note = storage.one(db, "SELECT note FROM outcome_reports WHERE pairing_id = ?", [pairing])["note"]
    assert "Ana" not in note and "Lopez" not in note and note.startswith("Piloted after")
    assert outcomes.rubric_averages(db, pairing) == averages            # the figures stay
    entry = next(e for e in library.entries(db, w["facilitator"]) if "screen-reader tests" in str(e))
    assert "Access Crew" not in str(entry) and "Ana" not in str(entry)
