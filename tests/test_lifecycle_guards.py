"""Every guarded move of the lifecycle: refused with one clear message, and nothing changed.

Each refusal test takes a snapshot of every table before the attempt and compares after, and
checks the message exists in both languages (a page shows ``t(err.key)``).
"""
from __future__ import annotations

import pytest

from matching import audit, challenges, db as storage, feedback, i18n, importexport, matches, pairings, teams, terms
from matching.errors import IllegalTransition, PortalError, StaleRecord, ValidationFailed
from tests.conftest import ACCESSIBILITY, FISHERIES
from tests.test_backup_restore import table_dump

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

SCORES = {c: 4 for c in ("problem_understanding", "user_research", "feasibility", "mandate_alignment",
                         "communication")}


def refused(db, call, error=PortalError) -> PortalError:
    """Run ``call``, expect ``error``; assert the database is exactly as before and the message
    is a real sentence in English and French."""
    before = table_dump(db)
    with pytest.raises(error) as info:
        call()
    assert table_dump(db) == before, "a refused move changed the database"
    keys = list(info.value.errors.values()) if isinstance(info.value, ValidationFailed) else [info.value.key]
    for key in keys:
        for lang in ("en", "fr"):
            assert i18n.t(key, lang, **info.value.params) != key, f"no {lang} message for {key}"
    return info.value


@pytest.fixture
def matching_term(db, world, approved):
    """Winter 2027 in matching with a proposal that is not published yet."""
    fac = world["facilitator"]
    teams.save_preferences(db, world["student_a"], world["team_a"], [{"challenge_id": approved["accessibility"]}])
    terms.advance_term(db, fac, world["term"])
    plan = pairings.run_assignment(db, fac, world["term"])
    return {**world, **approved, "fac": fac, "plan": plan}


@pytest.fixture
def active_term(db, matching_term):
    w = matching_term
    pairings.publish(db, w["fac"], w["term"])
    terms.advance_term(db, w["fac"], w["term"])
    feedback.create_round(db, w["fac"], w["term"], "Discovery", "2027-02-01")
    entry = storage.one(db, "SELECT id FROM feedback_entries WHERE expert_id = ?", [w["expert"].id])["id"]
    return {**w, "entry": entry}


# --- Term moves ------------------------------------------------------------------------------

def test_matching_to_active_needs_published_pairings(db, world):
    fac = world["facilitator"]
    terms.advance_term(db, fac, world["term"])                   # intake -> matching, nothing published
    err = refused(db, lambda: terms.advance_term(db, fac, world["term"]), IllegalTransition)
    assert err.key == "term.guard.no_published_pairings"
    assert terms.advance_check(db, world["term"])["blockers"][0]["key"] == err.key


def test_an_unpublished_proposal_blocks_the_start(db, matching_term):
    w = matching_term
    err = refused(db, lambda: terms.advance_term(db, w["fac"], w["term"]), IllegalTransition)
    assert err.key == "term.guard.no_published_pairings"
    pairings.publish(db, w["fac"], w["term"])
    pairings.unpair(db, w["fac"], w["term"], w["team_a"], "rethinking")   # a new, unpublished proposal
    err = refused(db, lambda: terms.advance_term(db, w["fac"], w["term"]), IllegalTransition)
    assert err.key == "term.guard.unpublished_proposal" and err.params["count"] >= 1


def test_override_needs_a_reason_and_is_audited(db, matching_term):
    w = matching_term
    err = refused(db, lambda: terms.advance_term(db, w["fac"], w["term"], override=True), ValidationFailed)
    assert err.errors == {"reason": "term.guard.reason_required"}
    moved = terms.advance_term(db, w["fac"], w["term"], override=True, reason="The cohort starts on Monday")
    assert moved.state == "active"
    event = audit.events(db, action="term.advance")[0]
    assert event["reason"] == "The cohort starts on Monday"
    assert "term.guard.no_published_pairings" in event["detail"]


def test_closing_with_open_feedback_needs_a_reason(db, active_term):
    w = active_term
    check = terms.advance_check(db, w["term"])
    assert check["needs_reason"] and check["open_feedback"] >= 1
    err = refused(db, lambda: terms.advance_term(db, w["fac"], w["term"]), ValidationFailed)
    assert err.errors == {"reason": "term.guard.reason_required"}
    assert terms.advance_term(db, w["fac"], w["term"], reason="Final round skipped").state == "closed"


def test_a_term_move_over_a_newer_version_is_refused(db, world):
    fac, term = world["facilitator"], terms.get_term(db, world["term"])
    terms.advance_term(db, fac, term.id, expected_version=term.version)      # someone else moved it first
    err = refused(db, lambda: terms.advance_term(db, fac, term.id, expected_version=term.version), StaleRecord)
    assert err.current["state"] == "matching"


def test_a_closed_term_has_no_next_state_and_is_read_only(db, active_term):
    w = active_term
    terms.advance_term(db, w["fac"], w["term"], reason="done")
    assert refused(db, lambda: terms.advance_term(db, w["fac"], w["term"]), IllegalTransition).key == "term.closed_read_only"
    member = [{"name": "Ana Lopez", "email": "ana.lopez@sheridancollege.ca"}]
    assert refused(db, lambda: teams.save_team(db, w["student_a"], w["team_a"], {"name": "X", "members": member}),
                   IllegalTransition).key == "term.closed_read_only"
    assert refused(db, lambda: feedback.create_round(db, w["fac"], w["term"], "Late", "2027-05-01"),
                   IllegalTransition).key == "term.closed_read_only"
    assert refused(db, lambda: challenges.change_sme(db, w["fac"], w["accessibility"], "New", "new@esdc.gc.ca",
                                                     reason="x"), IllegalTransition).key == "term.closed_read_only"
    assert refused(db, lambda: feedback.save_draft(db, w["expert"], w["entry"], SCORES, "late"),
                   IllegalTransition).key == "term.requires_active"


# --- Challenges with a published pairing -----------------------------------------------------

@pytest.mark.parametrize("actor", ["rep_esdc", "facilitator"])
@pytest.mark.parametrize("move", ["reopen", "archive"])
def test_a_paired_challenge_cannot_be_reopened_or_archived(db, active_term, actor, move):
    w = active_term
    err = refused(db, lambda: getattr(challenges, move)(db, w[actor], w["accessibility"]), IllegalTransition)
    assert err.key == "challenge.frozen_by_pairing"


def test_a_revision_is_seen_only_once_approved(db, active_term):
    w = active_term
    before = pairings.pairing_for_team(db, w["student_a"], w["team_a"])
    version = challenges.get_challenge(db, w["rep_esdc"], w["accessibility"]).version
    revision = challenges.propose_revision(db, w["rep_esdc"], w["accessibility"],
                                           {**ACCESSIBILITY, "title": "Screen-reader-friendly EI applications"},
                                           expected_version=version, note="Clearer title")
    assert revision["changes"] == {"title": "Screen-reader-friendly EI applications"}
    assert pairings.pairing_for_team(db, w["student_a"], w["team_a"])["title"] == before["title"]
    assert pairings.pairings_for_expert(db, w["expert"])[0]["challenge_title"] == before["title"]
    # A stale decision (the department changed its proposal since) is refused.
    again = challenges.propose_revision(db, w["rep_esdc"], w["accessibility"],
                                        {"title": "Screen-reader-friendly EI application"}, expected_version=version)
    refused(db, lambda: challenges.decide_revision(db, w["fac"], revision["id"], "approve",
                                                   expected_version=revision["version"]), StaleRecord)
    challenges.decide_revision(db, w["fac"], again["id"], "approve", expected_version=again["version"])
    assert pairings.pairing_for_team(db, w["student_a"], w["team_a"])["title"] == "Screen-reader-friendly EI application"
    assert challenges.pending_revision(db, w["rep_esdc"], w["accessibility"]) is None


def test_a_returned_revision_changes_nothing_and_says_why(db, active_term):
    w = active_term
    revision = challenges.propose_revision(db, w["rep_esdc"], w["accessibility"], {"capacity": 1})
    refused(db, lambda: challenges.decide_revision(db, w["fac"], revision["id"], "return"), ValidationFailed)
    challenges.decide_revision(db, w["fac"], revision["id"], "return", comments="Two teams already work on it")
    assert challenges.get_challenge(db, w["rep_esdc"], w["accessibility"]).capacity == ACCESSIBILITY["capacity"]
    assert challenges.last_revision(db, w["rep_esdc"], w["accessibility"])["comments"] == "Two teams already work on it"


def test_a_revision_cannot_change_the_sme_or_be_empty_or_needless(db, active_term):
    w = active_term
    err = refused(db, lambda: challenges.propose_revision(
        db, w["rep_esdc"], w["accessibility"], {**ACCESSIBILITY, "sme_email": "other.expert@esdc.gc.ca"}), ValidationFailed)
    assert err.errors == {"sme_email": "challenge.sme_change_by_facilitator"}
    err = refused(db, lambda: challenges.propose_revision(db, w["rep_esdc"], w["accessibility"], ACCESSIBILITY),
                  ValidationFailed)
    assert err.errors == {"title": "challenge.revision_empty"}


def test_a_revision_is_only_for_a_challenge_with_a_published_pairing(db, matching_term):
    w = matching_term                                           # proposed, not published
    err = refused(db, lambda: challenges.propose_revision(db, w["rep_esdc"], w["accessibility"], {"capacity": 1}),
                  IllegalTransition)
    assert err.key == "challenge.revision_not_needed"          # nobody sees it paired yet: reopen instead


def test_changing_the_sme_hands_over_open_entries_only(db, active_term, world):
    w = active_term
    feedback.create_round(db, w["fac"], w["term"], "Concept", "2027-03-01")
    submitted = storage.one(db, "SELECT id FROM feedback_entries WHERE expert_id = ? ORDER BY id", [w["expert"].id])["id"]
    feedback.submit(db, w["expert"], submitted, SCORES, "Done before the hand-over")
    new_expert = __import__("tests.conftest", fromlist=["_user"])._user(db, "expert", "new.sme@esdc.gc.ca")
    version = challenges.get_challenge(db, w["fac"], w["accessibility"]).version
    refused(db, lambda: challenges.change_sme(db, w["fac"], w["accessibility"], "New SME", "new.sme@esdc.gc.ca",
                                              reason=""), ValidationFailed)
    result = challenges.change_sme(db, w["fac"], w["accessibility"], "New SME", "new.sme@esdc.gc.ca",
                                   reason="Sam moved to another branch", expected_version=version)
    assert result["moved"] == 1
    assert [e["id"] for e in feedback.entries_for_expert(db, new_expert) if e["state"] == "open"]
    assert [e["id"] for e in feedback.entries_for_expert(db, w["expert"])] == [submitted]
    assert audit.events(db, action="challenge.change_sme")[0]["reason"] == "Sam moved to another branch"
    refused(db, lambda: challenges.change_sme(db, w["fac"], w["accessibility"], "Other", "other@esdc.gc.ca",
                                              reason="again", expected_version=version), StaleRecord)


def test_archiving_a_proposed_challenge_takes_it_out_of_the_proposal(db, matching_term):
    w = matching_term
    before = pairings.plan_version(db, w["term"])
    challenges.archive(db, w["fac"], w["accessibility"], reason="withdrawn by ESDC")
    plan = pairings.plan(db, w["fac"], w["term"])
    assert all(r["challenge_id"] != w["accessibility"] for r in plan.rows)
    assert all(r["challenge_title"] for r in plan.matched)
    assert pairings.plan_version(db, w["term"]) > before


# --- Versions on every move ------------------------------------------------------------------

def test_the_facilitator_approves_the_version_on_screen_not_a_later_one(db, world):
    rep, fac = world["rep_esdc"], world["facilitator"]
    draft = challenges.save_draft(db, rep, ACCESSIBILITY)
    shown = challenges.submit(db, rep, draft.id)
    challenges.reopen(db, rep, draft.id, expected_version=shown.version)
    rewritten = challenges.submit(db, rep, draft.id, {"title": "Something else entirely"})
    err = refused(db, lambda: challenges.approve(db, fac, draft.id, confirm_unclassified=True,
                                                 expected_version=shown.version), StaleRecord)
    assert err.current["title"] == "Something else entirely"
    refused(db, lambda: challenges.return_for_changes(db, fac, draft.id, "narrow it",
                                                      expected_version=shown.version), StaleRecord)
    refused(db, lambda: challenges.bulk_approve(db, fac, [draft.id], confirm_unclassified=True,
                                                expected_versions={draft.id: shown.version}), StaleRecord)
    assert challenges.approve(db, fac, draft.id, confirm_unclassified=True,
                              expected_version=rewritten.version).status == "approved"


def test_archive_carries_the_version(db, world):
    rep = world["rep_esdc"]
    draft = challenges.save_draft(db, rep, {"title": "Draft"})
    challenges.save_draft(db, rep, {"title": "Draft, edited elsewhere"}, challenge_id=draft.id)
    refused(db, lambda: challenges.archive(db, rep, draft.id, expected_version=draft.version), StaleRecord)


def test_pairing_adjustments_carry_the_plan_version(db, matching_term):
    w = matching_term
    shown = w["plan"].plan_version
    pairings.pair(db, w["fac"], w["term"], w["team_b"], w["fisheries"], "fits", expected_plan_version=shown)
    for call in (
        lambda: pairings.unpair(db, w["fac"], w["term"], w["team_b"], "no", expected_plan_version=shown),
        lambda: pairings.lock(db, w["fac"], w["term"], w["team_a"], w["accessibility"], "x", expected_plan_version=shown),
        lambda: pairings.ban(db, w["fac"], w["term"], w["team_b"], w["accessibility"], "x", expected_plan_version=shown),
        lambda: pairings.run_assignment(db, w["fac"], w["term"], expected_plan_version=shown),
        lambda: pairings.publish(db, w["fac"], w["term"], expected_plan_version=shown),
    ):
        refused(db, call, StaleRecord)
    pairings.publish(db, w["fac"], w["term"], expected_plan_version=pairings.plan_version(db, w["term"]))


def test_preferences_carry_their_version_and_stay_in_the_teams_term(db, world, approved):
    student, team = world["student_a"], world["team_a"]
    shown = teams.get_team(db, student, team).preferences_version
    teams.save_preferences(db, student, team, [{"challenge_id": approved["fisheries"]}], expected_version=shown)
    err = refused(db, lambda: teams.save_preferences(db, student, team, [{"challenge_id": approved["accessibility"]}],
                                                     expected_version=shown), StaleRecord)
    assert [p["challenge_id"] for p in err.current["preferences"]] == [approved["fisheries"]]
    fall = terms.create_term(db, world["facilitator"], {"name": "Fall 2027"}).id
    other = challenges.save_draft(db, world["rep_dfo"], {**FISHERIES, "title": "Fall only"}, term_id=fall)
    challenges.submit(db, world["rep_dfo"], other.id)
    challenges.approve(db, world["facilitator"], other.id, confirm_unclassified=True)
    refused(db, lambda: teams.save_preferences(db, student, team, [{"challenge_id": other.id}]), ValidationFailed)


def test_a_new_challenge_goes_to_a_term_that_takes_challenges(db, world):
    fac, rep = world["facilitator"], world["rep_esdc"]
    terms.advance_term(db, fac, world["term"])
    terms.advance_term(db, fac, world["term"], override=True, reason="test")     # Winter is active
    err = refused(db, lambda: challenges.save_draft(db, rep, {"title": "Nowhere to go"}), IllegalTransition)
    assert err.key == "term.none_in_state"
    err = refused(db, lambda: challenges.save_draft(db, rep, {"title": "Wrong term"}, term_id=world["term"]),
                  ValidationFailed)
    assert err.errors == {"term_id": "challenge.term_not_taking"}
    fall = terms.create_term(db, fac, {"name": "Fall 2027"}).id
    assert challenges.save_draft(db, rep, {"title": "Fine"}).term_id == fall


# --- The data version is the database's -------------------------------------------------------

def test_any_write_to_ranked_data_bumps_the_version_without_the_writer_knowing(db, world, approved):
    before = storage.data_version(db)
    db.execute("UPDATE challenges SET title = 'Raw SQL title' WHERE id = ?", [approved["accessibility"]])
    assert storage.data_version(db) == before + 1
    db.execute("UPDATE teams SET preferences_version = preferences_version + 1 WHERE id = ?", [world["team_a"]])
    assert storage.data_version(db) == before + 1          # a preference list is not ranked text
    db.execute("DELETE FROM members WHERE team_id = ?", [world["team_b"]])
    assert storage.data_version(db) == before + 2


def test_the_ranker_cache_follows_writes_it_was_never_told_about(db, world, approved):
    ranked = matches.ranked_challenges_for_team(db, world["student_a"], world["team_a"])
    assert {c["title"] for c in ranked} == {ACCESSIBILITY["title"], FISHERIES["title"]}
    db.execute("UPDATE challenges SET title = 'Renamed behind the cache' WHERE id = ?", [approved["fisheries"]])
    ranked = matches.ranked_challenges_for_team(db, world["student_a"], world["team_a"])
    assert "Renamed behind the cache" in {c["title"] for c in ranked}


def test_purge_refreshes_the_cached_team_list(db, active_term):
    from matching import maintenance
    w = active_term
    assert any(t["name"] == "Access Crew" for t in matches.match_matrix(db, w["fac"], w["term"])[0])
    before = storage.data_version(db)
    terms.advance_term(db, w["fac"], w["term"], reason="done")
    maintenance.purge_term(db, w["fac"], w["term"])
    assert storage.data_version(db) > before                 # members were anonymised: the version moved


# --- Imports go through the services the forms use --------------------------------------------

def test_an_import_writes_through_the_form_services_with_one_event_per_record(db, world):
    fac = world["facilitator"]
    blank = {"outcomes": "", "themes": "", "sme_name": "", "sme_email": "", "unclassified": ""}
    rows = [{"department": "ESDC", "title": "Imported one", "problem": ACCESSIBILITY["problem"], "status": "draft",
             **blank},
            {"department": "DFO", "title": "Imported two", "problem": FISHERIES["problem"], "status": "submitted",
             "outcomes": "x", "themes": "fisheries", "sme_name": "Fay", "sme_email": "fay@dfo-mpo.gc.ca",
             "unclassified": "yes"}]
    report = importexport.commit(db, fac, "challenges", rows)
    assert report.written == 2
    created = [challenges.get_challenge(db, fac, cid) for cid in audit_ids(db, "challenge.import")]
    assert {c.title: (c.term_id, c.language, c.capacity, c.status) for c in created} == {
        "Imported one": (world["term"], "en", 1, "draft"), "Imported two": (world["term"], "en", 1, "submitted")}
    assert len(audit.events(db, action="data.import")) == 1
    assert len(audit.events(db, action="challenge.create")) == 0


def audit_ids(db, action):
    return [int(e["target_id"]) for e in audit.events(db, action=action)]


def test_a_closed_terms_open_entries_remind_nobody(db, active_term):
    w = active_term
    from datetime import date
    late = date(2027, 6, 1)
    assert feedback.reminders(db, w["expert"], today=late)["overdue"]
    terms.advance_term(db, w["fac"], w["term"], reason="Term over")
    assert feedback.reminders(db, w["expert"], today=late) == {"due_soon": [], "overdue": []}
    assert feedback.reminders(db, w["fac"], w["term"], today=late) == {"due_soon": [], "overdue": []}
