"""Personal data: members' e-mails only for those who need them, passwords never leave the hash,
and ``portal purge-term`` erases a closed term's people while keeping its figures."""
from __future__ import annotations

import logging
from dataclasses import asdict

import pytest
from click.testing import CliRunner

from matching import accounts, audit, challenges, feedback, maintenance, matches, teams, terms
from matching import db as storage
from matching.cli import main
from matching.errors import AuthenticationFailed, IllegalTransition, PermissionDenied
from matching.models import RUBRIC
from tests.conftest import PASSWORD
from tests.test_backup_restore import table_dump

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

SYSTEM = accounts.SYSTEM
ROLES = ["rep_esdc", "rep_dfo", "student_a", "student_b", "facilitator", "expert"]


def _publish_pairing(db, world, approved, *, term_state="active"):
    """Team A paired with the ESDC accessibility challenge (its SME is the world's expert)."""
    now = storage.now_iso()
    with storage.transaction(db):
        pairing = storage.insert(db, "pairings", {"term_id": world["term"], "team_id": world["team_a"],
                                                  "challenge_id": approved["accessibility"], "state": "active",
                                                  "score": 0.42, "preference_rank": 1,
                                                  "created_at": now, "updated_at": now})
        db.execute("UPDATE terms SET state = ? WHERE id = ?", [term_state, world["term"]])
    return pairing


# --- Members' e-mails ----------------------------------------------------------------------

def test_member_emails_before_any_pairing_only_for_the_team_and_facilitators(db, world):
    for role in ROLES:
        for team, own in (("team_a", "student_a"), ("team_b", "student_b")):
            shown = [m.email for m in teams.get_team(db, world[role], world[team]).members]
            expected = role in (own, "facilitator")
            assert all(shown) if expected else not any(shown), (role, team)


def test_member_emails_also_for_the_department_and_sme_of_a_published_pairing(db, world, approved):
    _publish_pairing(db, world, approved)
    can_see = {"student_a", "facilitator", "rep_esdc", "expert"}
    for role in ROLES:
        shown = [m.email for m in teams.get_team(db, world[role], world["team_a"]).members]
        assert (all(shown) if role in can_see else not any(shown)), role
    # ... and only for the paired team: team B stays private to them.
    assert not any(m.email for m in teams.get_team(db, world["rep_esdc"], world["team_b"]).members)


def test_lists_and_rankings_never_carry_member_emails(db, world, approved):
    everything = repr([asdict(t) for t in teams.list_teams(db)])
    everything += repr(matches.ranked_teams_for_challenge(db, world["rep_esdc"], approved["accessibility"]))
    everything += repr(matches.match_matrix(db, world["facilitator"], world["term"])[0])
    assert "@sheridancollege.ca" not in everything


# --- Passwords -----------------------------------------------------------------------------

def test_passwords_never_logged_audited_or_exported(db, world, approved, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "a-very-secret-new-password"
    accounts.create_user(db, SYSTEM, {"email": "new@pco.gc.ca", "name": "New", "role": "facilitator"}, secret)
    accounts.authenticate(db, "new@pco.gc.ca", secret)
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(db, "new@pco.gc.ca", secret + "-typo")
    accounts.change_password(db, world["student_a"], PASSWORD, secret + "-2")
    hashes = [h for (h,) in db.execute("SELECT password_hash FROM users")]
    exported = repr(audit.events(db)) + caplog.text
    try:
        from matching import importexport
        for kind in importexport.EXPORT_KINDS:
            exported += importexport.export_bytes(db, world["facilitator"], kind, "csv",
                                                 term_id=world["term"]).decode("utf-8-sig")
    except ImportError:
        pass
    for text in (secret, secret + "-typo", secret + "-2", PASSWORD, "scrypt$", *hashes):
        assert text not in exported
    assert "password" not in repr(world["student_a"])  # a User never carries the hash


# --- Purging a closed term -----------------------------------------------------------------

PEOPLE = ("Ana Lopez", "ana.lopez@sheridancollege.ca", "Ben Chu", "ben.chu@sheridancollege.ca",
          "Ana.Lopez@sheridancollege.ca")


def _term_with_history(db, world, approved):
    """A term with preferences, a pairing, rules, feedback and a reply that name people."""
    teams.save_team(db, world["student_a"], world["team_a"], {
        "name": "Access Crew", "skills": ["accessibility"], "interests": ["inclusion"],
        "members": [{"name": "Ana Lopez", "email": "ana.lopez@sheridancollege.ca"},
                    {"name": "Zoë Tremblay", "email": "zoe.tremblay@sheridancollege.ca"}]})
    teams.save_preferences(db, world["student_a"], world["team_a"], [
        {"challenge_id": approved["accessibility"], "reason": "Ana Lopez worked with screen readers"},
        {"challenge_id": approved["fisheries"], "reason": "Zoë Tremblay fishes"}])
    pairing = _publish_pairing(db, world, approved)
    now = storage.now_iso()
    with storage.transaction(db):
        storage.insert(db, "pairing_rules", {"term_id": world["term"], "team_id": world["team_b"],
                                             "challenge_id": approved["fisheries"], "kind": "ban",
                                             "reason": "Ben Chu's uncle works there", "created_at": now})
    round_ = feedback.create_round(db, world["facilitator"], world["term"], "Midterm", "2027-03-01")
    entry = db.execute("SELECT id FROM feedback_entries WHERE round_id = ?", [round_["id"]]).fetchone()[0]
    feedback.submit(db, world["expert"], entry, {c: 4 for c in RUBRIC}, "Ana Lopez presented very well.")
    feedback.reply(db, world["student_a"], entry, "Thanks — Zoë Tremblay will lead the next sprint.")
    accounts.authenticate(db, "ana.lopez@sheridancollege.ca", PASSWORD)
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(db, "ben.chu@sheridancollege.ca", "wrong password")
    with storage.transaction(db):
        db.execute("UPDATE terms SET state = 'closed' WHERE id = ?", [world["term"]])
    return pairing


def _all_text(db) -> str:
    return repr(table_dump(db)).lower()


def _figures(db):
    return {
        "rows": {t: len(rows) for t, rows in table_dump(db).items() if t != "audit_events"},
        "ranks": db.execute("SELECT team_id, challenge_id, rank FROM preferences ORDER BY 1, 3").fetchall(),
        "pairings": db.execute("SELECT team_id, challenge_id, state, score, preference_rank FROM pairings "
                               "ORDER BY id").fetchall(),
        "scores": db.execute("SELECT state, scores FROM feedback_entries ORDER BY id").fetchall(),
        "teams": db.execute("SELECT name, skills, interests FROM teams ORDER BY id").fetchall(),
        "audit": db.execute("SELECT id, at, actor_id, action, target_type, target_id FROM audit_events "
                             "ORDER BY id").fetchall(),
    }


def test_purge_erases_the_terms_people_and_keeps_the_figures(db, world, approved):
    _term_with_history(db, world, approved)
    assert all(p.lower() in _all_text(db) for p in PEOPLE + ("Zoë Tremblay",))
    before = _figures(db)
    counts = maintenance.purge_term(db, world["facilitator"], world["term"])
    text = _all_text(db)
    for person in PEOPLE + ("Zoë Tremblay", "zoe.tremblay@sheridancollege.ca"):
        assert person.lower() not in text, person
    after = _figures(db)
    assert after["rows"] == before["rows"]
    assert after["audit"][:-1] == before["audit"]  # no event lost or re-dated; one more: the purge
    assert after["audit"][-1][3] == "term.purge"
    for key in ("ranks", "pairings", "scores", "teams"):
        assert after[key] == before[key], key
    assert counts["members"] == 3 and counts["users"] == 2 and counts["audit_events"] > 0
    # The purged students can no longer sign in, even with their old password.
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(db, "ana.lopez@sheridancollege.ca", PASSWORD)
    # People who are not the term's students keep their accounts and audit trail.
    assert accounts.authenticate(db, "rep@esdc.gc.ca", PASSWORD)
    assert "sme@esdc.gc.ca" in text


def test_purge_refuses_a_term_that_is_not_closed_and_changes_nothing(db, world, approved):
    for state in ("intake", "matching", "active"):
        with storage.transaction(db):
            db.execute("UPDATE terms SET state = ? WHERE id = ?", [state, world["term"]])
        before = table_dump(db)
        with pytest.raises(IllegalTransition) as info:
            maintenance.purge_term(db, world["facilitator"], world["term"])
        assert info.value.key == "term.not_closed"
        assert table_dump(db) == before


@pytest.mark.parametrize("role", ["rep_esdc", "student_a", "expert"])
def test_only_facilitators_purge(db, world, role):
    terms_ = terms.get_term(db, world["term"])
    with storage.transaction(db):
        db.execute("UPDATE terms SET state = 'closed' WHERE id = ?", [terms_.id])
    with pytest.raises(PermissionDenied):
        maintenance.purge_term(db, world[role], world["term"])


def test_audit_log_stays_append_only_after_a_purge(db, world, approved):
    _term_with_history(db, world, approved)
    maintenance.purge_term(db, SYSTEM, world["term"])
    assert db.execute("SELECT COUNT(*) FROM meta WHERE key = 'audit_purge_open'").fetchone()[0] == 0
    with pytest.raises(Exception, match="append-only"):
        db.execute("UPDATE audit_events SET detail = '{}'")
    with pytest.raises(Exception, match="append-only"):
        db.execute("DELETE FROM audit_events")


def test_a_second_purge_changes_nothing_more(db, world, approved):
    _term_with_history(db, world, approved)
    maintenance.purge_term(db, SYSTEM, world["term"])
    before = _figures(db)
    counts = maintenance.purge_term(db, SYSTEM, world["term"])
    assert counts["audit_events"] == 0 and counts["preferences"] == 0 and counts["feedback_entries"] == 0
    assert _figures(db)["rows"] == before["rows"]


def test_cli_purge_term(db, world, approved, db_target):
    _term_with_history(db, world, approved)
    runner = CliRunner()
    live = db_target
    result = runner.invoke(main, ["--db", live, "purge-term", "Winter 2027"], input="n\n")
    assert result.exit_code != 0 and "ana lopez" in _all_text(db)
    result = runner.invoke(main, ["--db", live, "purge-term", "winter 2027", "--yes"])
    assert result.exit_code == 0, result.output
    assert "Purged:" in result.output and "ana lopez" not in _all_text(db)
    result = runner.invoke(main, ["--db", live, "purge-term", "No such term", "--yes"])
    assert result.exit_code == 1
