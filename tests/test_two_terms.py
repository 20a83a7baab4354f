"""Two full terms back to back, the second's intake overlapping the first's active phase.

Real programmes prepare the next intake while the current cohort works. This scenario runs
Winter 2027 and Fall 2027 through the services (as the pages and the CLI call them) and checks,
at each step, what every role sees: pairings, feedback entries, home next steps, exports with a
term, the CLI's choice of term. Nothing here reaches into the database except to read.
"""
from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner

from matching import accounts, challenges, feedback, home, importexport, matches, pairings, teams, terms
from matching.cli import main as cli
from matching.errors import IllegalTransition, ValidationFailed
from tests.conftest import ACCESSIBILITY, FISHERIES, PASSWORD

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

SCORES = {c: 4 for c in ("problem_understanding", "user_research", "feasibility", "mandate_alignment",
                         "communication")}
PORTAL = {**ACCESSIBILITY, "title": "A bilingual portal for harbour authorities",
          "problem": "Harbour authorities file paper forms to Small Craft Harbours every season; the forms "
                     "are slow to process and hard to read back. DFO wants a simple digital service.",
          "themes": ["service design", "forms", "harbours"], "sme_email": "fay.fisher@dfo-mpo.gc.ca",
          "sme_name": "Fay Fisher"}


def steps(db, user) -> list[tuple[str, str | None]]:
    return [(s["key"], s["term"]) for s in home.next_steps(db, user)["steps"]]


def export_rows(db, actor, kind, term_id):
    data = importexport.export_bytes(db, actor, kind, "csv", "en", term_id).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(data)))[1:]


def cli_run(db_path, *args):
    return CliRunner().invoke(cli, ["--db", str(db_path), *args])


@pytest.fixture
def two_terms(db, world, db_target):
    """Winter 2027 (intake, two teams, two approved challenges) and the facilitator of both."""
    fac = world["facilitator"]
    ids = {}
    for key, data, rep in (("accessibility", ACCESSIBILITY, world["rep_esdc"]), ("fisheries", FISHERIES, world["rep_dfo"])):
        draft = challenges.save_draft(db, rep, data)
        challenges.submit(db, rep, draft.id, expected_version=draft.version)
        ids[key] = challenges.approve(db, fac, draft.id, confirm_unclassified=True, expected_version=draft.version + 1).id
    expert_dfo = accounts.create_user(db, accounts.SYSTEM, {"email": FISHERIES["sme_email"], "name": "Fay Fisher",
                                                            "role": "expert", "department_id": world["dfo"]}, PASSWORD)
    return {**world, **ids, "fac": fac, "expert_dfo": expert_dfo, "db_path": db_target}


def test_two_overlapping_terms_end_to_end(db, two_terms, tmp_path):
    w = two_terms
    fac, winter = w["fac"], w["term"]

    # --- Winter in intake: the teams rank; the facilitator opens the next term for planning. ---
    teams.save_preferences(db, w["student_a"], w["team_a"], [{"challenge_id": w["accessibility"]}])
    teams.save_preferences(db, w["student_b"], w["team_b"], [{"challenge_id": w["fisheries"]}])
    fall = terms.create_term(db, fac, {"name": "Fall 2027", "starts_on": "2027-09-07", "ends_on": "2027-12-17"}).id
    # Two terms take challenges now: a department must say which one, and nothing is written.
    with pytest.raises(IllegalTransition) as info:
        challenges.save_draft(db, w["rep_dfo"], PORTAL)
    assert info.value.key == "term.ambiguous"
    portal = challenges.save_draft(db, w["rep_dfo"], PORTAL, term_id=fall)
    assert portal.term_id == fall
    assert ("home.step.teams_without_preferences", "Winter 2027") not in steps(db, fac)

    # --- Winter: matching, publish, active. ---
    terms.advance_term(db, fac, winter)
    plan = pairings.run_assignment(db, fac, winter)
    assert {r["team_id"]: r["challenge_id"] for r in plan.matched} == {
        w["team_a"]: w["accessibility"], w["team_b"]: w["fisheries"]}
    pairings.publish(db, fac, winter, expected_plan_version=plan.plan_version)
    terms.advance_term(db, fac, winter)
    assert terms.get_term(db, winter).state == "active"
    rnd = feedback.create_round(db, fac, winter, "Discovery", "2027-02-01")
    assert rnd["term_id"] == winter

    # --- Fall goes to intake while Winter is active; its cohort arrives by import. ---
    terms.advance_term(db, fac, fall)
    rows = [{"name": "Harbour Lab", "skills": "service design; forms; user research", "interests": "oceans; harbours",
             "members": "Cy Park <cy.park@sheridancollege.ca>", "past_work": "Redesigned a marina booking form."}]
    # Two open terms: an import of teams must name one (the page's selector, the CLI's --term).
    with pytest.raises(IllegalTransition) as info:
        importexport.commit(db, fac, "teams", rows)
    assert info.value.key == "term.ambiguous"
    report = importexport.commit(db, fac, "teams", rows, term_id=fall)
    team_c = report_team = teams.find_team(db, "Harbour Lab", fall)
    assert report.written == 1 and report_team.term_id == fall
    student_c = accounts.create_user(db, fac, {"email": "cy.park@sheridancollege.ca", "name": "Cy Park",
                                               "role": "student", "team_id": team_c.id}, PASSWORD)
    challenges.submit(db, w["rep_dfo"], portal.id, expected_version=portal.version)
    challenges.approve(db, fac, portal.id, confirm_unclassified=True, expected_version=portal.version + 1)

    # What each role sees with Winter active and Fall in intake.
    expert = w["expert"]
    assert ("home.step.give_feedback", "Winter 2027") in steps(db, expert)
    entries = feedback.entries_for_expert(db, expert)
    assert [(e["term_name"], e["term_state"]) for e in entries] == [("Winter 2027", "active")]
    feedback.save_draft(db, expert, entries[0]["id"], SCORES, "A first look")   # Fall in intake does not block it

    assert ("home.step.see_pairing", "Winter 2027") in steps(db, w["student_a"])
    with pytest.raises(IllegalTransition) as info:      # Winter's preferences are closed
        teams.save_preferences(db, w["student_a"], w["team_a"], [{"challenge_id": w["fisheries"]}])
    assert info.value.key == "term.requires_intake"

    assert ("home.step.rank_preferences", "Fall 2027") in steps(db, student_c)
    offered = {c["id"] for c in matches.ranked_challenges_for_team(db, student_c, team_c.id)}
    assert offered == {portal.id}                        # Fall's challenge only
    with pytest.raises(ValidationFailed):                # another term's challenge is not rankable
        teams.save_preferences(db, student_c, team_c.id, [{"challenge_id": w["accessibility"]}])
    teams.save_preferences(db, student_c, team_c.id, [{"challenge_id": portal.id}],
                           expected_version=teams.get_team(db, student_c, team_c.id).preferences_version)

    fac_steps = steps(db, fac)
    assert ("home.step.teams_without_preferences", "Fall 2027") not in fac_steps  # every Fall team ranked
    assert pairings.published_pairings(db, fac, fall) == []
    assert len(pairings.published_pairings(db, fac, winter)) == 2

    # Ranking is per term: Fall's new challenge did not move Winter's scores.
    winter_scores = {c["id"]: c["score"] for c in matches.ranked_challenges_for_team(db, w["student_a"], w["team_a"])}
    assert set(winter_scores) == {w["accessibility"], w["fisheries"]}
    challenges.save_draft(db, w["rep_esdc"], {**ACCESSIBILITY, "title": "Another Fall challenge"}, term_id=fall)
    assert {c["id"]: c["score"] for c in matches.ranked_challenges_for_team(
        db, w["student_a"], w["team_a"])} == winter_scores

    # Exports name their term.
    assert {r[0] for r in export_rows(db, fac, "pairings", winter)} == {"Access Crew", "Blue Water"}
    assert export_rows(db, fac, "pairings", fall) == []
    assert [r[3] for r in export_rows(db, fac, "teams", fall)] == ["Harbour Lab"]
    assert {r[1] for r in export_rows(db, fac, "challenges", None)} == {"Winter 2027", "Fall 2027"}

    # The CLI takes the only term in the state a command needs, and refuses to guess otherwise.
    db_path = w["db_path"]
    result = cli_run(db_path, "assign")                  # only Fall is in intake or matching
    assert result.exit_code == 0 and "Fall 2027" in result.output, result.output
    result = cli_run(db_path, "export", "pairings", str(tmp_path / "p.csv"))
    assert result.exit_code != 0 and "Several terms could be meant" in result.output
    result = cli_run(db_path, "export", "pairings", str(tmp_path / "p.csv"), "--term", "Winter 2027")
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "p.csv").read_text(encoding="utf-8-sig").splitlines()) == 3

    # --- Fall: matching, publish, active; Winter closes (with a reason: feedback is still open). ---
    terms.advance_term(db, fac, fall)
    plan = pairings.run_assignment(db, fac, fall)
    pairings.publish(db, fac, fall, expected_plan_version=plan.plan_version)
    assert pairings.pairing_for_team(db, student_c, team_c.id)["term_name"] == "Fall 2027"
    with pytest.raises(ValidationFailed) as info:
        terms.advance_term(db, fac, winter)
    assert info.value.errors == {"reason": "term.guard.reason_required"}
    assert terms.get_term(db, winter).state == "active"
    terms.advance_term(db, fac, winter, reason="Term over; the open draft is not needed")
    terms.advance_term(db, fac, fall)
    feedback.create_round(db, fac, fall, "Concept", "2027-10-15")

    # After Winter closed: what people worked on stays visible, and nothing of it can change.
    expert_dfo = w["expert_dfo"]
    advised = pairings.pairings_for_expert(db, expert_dfo)
    assert {(p["team_name"], p["term_name"], p["state"]) for p in advised} == {
        ("Blue Water", "Winter 2027", "completed"), ("Harbour Lab", "Fall 2027", "active")}
    assert ("home.step.no_pairings_yet", None) not in steps(db, expert)
    assert all(m.email for m in teams.get_team(db, expert, w["team_a"]).members)   # contacts kept
    assert ("home.step.see_pairing", "Winter 2027") in steps(db, w["student_a"])
    with pytest.raises(IllegalTransition) as info:
        teams.save_team(db, w["student_a"], w["team_a"], {"name": "Renamed", "members": [
            {"name": "Ana Lopez", "email": "ana.lopez@sheridancollege.ca"}]})
    assert info.value.key == "term.closed_read_only"
    with pytest.raises(IllegalTransition):
        feedback.save_draft(db, expert, entries[0]["id"], SCORES, "too late")
    fall_entries = [e for e in feedback.entries_for_expert(db, expert_dfo) if e["term_name"] == "Fall 2027"]
    assert fall_entries and fall_entries[0]["team_name"] == "Harbour Lab"
    feedback.submit(db, expert_dfo, fall_entries[0]["id"], SCORES, "Good start")
    assert [e["comments"] for e in feedback.entries_for_team(db, student_c, team_c.id)] == ["Good start"]
    assert ("home.step.reply_feedback", "Fall 2027") in steps(db, student_c)
    assert [t.name for t in terms.open_terms(db)] == ["Fall 2027"]
