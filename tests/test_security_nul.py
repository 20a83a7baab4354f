"""Issue 15 (with issue 12's hostile input): a NUL character in every free-text input.

PostgreSQL's text cannot hold a NUL at all: psycopg refuses such a value with a ``DataError`` before
it reaches the server, a traceback for whoever typed it. SQLite stores it silently, where it breaks
exports later. So every way text comes in (a form, a reason, a comment, a thread, a lookup by
e-mail or name, an import cell, a CLI argument) refuses it with ``validation.control_chars``
before anything is written, on both backends, and a lookup by a value holding one finds nothing
rather than failing. Written as an attacker would: each case types a NUL where a person can.
"""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from matching import accounts, challenges, feedback, notifications, pairings, password_reset, teams, terms
from matching import db as storage
from matching.cli import main
from matching.errors import AuthenticationFailed, PortalError, ValidationFailed
from matching.importexport import preview, read_upload
from matching.models import RUBRIC
from tests.conftest import ACCESSIBILITY, PASSWORD

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

CONTROL = "validation.control_chars"
NUL = "\x00"


def _counts(db) -> dict[str, int]:
    """Rows per table, minus the audit trail of refused sign-ins and the like."""
    return {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("challenges", "teams", "members", "users", "terms", "feedback_rounds", "feedback_entries",
                          "feedback_messages", "pairing_rules", "challenge_revisions", "preferences", "notifications",
                          "outbox")}


def _refused(db, field, attempt, key=CONTROL):
    before = _counts(db)
    with pytest.raises(ValidationFailed) as info:
        attempt()
    assert info.value.errors.get(field) == key, (field, info.value.errors)
    assert _counts(db) == before, field


@pytest.fixture
def term_running(db, world, approved):
    """World's term with a published pairing (Access Crew on fisheries) and one feedback round."""
    fac = world["facilitator"]
    teams.save_preferences(db, world["student_a"], world["team_a"], [{"challenge_id": approved["fisheries"]}])
    pairings.run_assignment(db, fac, world["term"])
    terms.advance_term(db, fac, world["term"])
    pairings.publish(db, fac, world["term"])
    terms.advance_term(db, fac, world["term"])
    feedback.create_round(db, fac, world["term"], "Discovery", "2027-02-01")
    entry = storage.one(db, "SELECT e.id, p.team_id FROM feedback_entries e JOIN pairings p ON p.id = e.pairing_id "
                            "WHERE e.expert_id = ? ORDER BY e.id", [world["expert"].id])
    student = world["student_a"] if entry["team_id"] == world["team_a"] else world["student_b"]
    return {"entry": entry["id"], "student": student}


def test_a_nul_in_any_form_field_is_refused_and_nothing_is_written(db, world, approved):
    rep, fac, student = world["rep_esdc"], world["facilitator"], world["student_a"]
    member = {"name": "Ana Lopez", "email": "ana.lopez@sheridancollege.ca"}
    for field in ("title", "problem", "outcomes", "sme_name", "sme_email", "themes"):
        value = ["ok", "bad" + NUL] if field == "themes" else ACCESSIBILITY[field] + NUL
        _refused(db, field, lambda: challenges.save_draft(db, rep, {**ACCESSIBILITY, field: value}))
    for field in ("name", "program", "past_work", "skills", "interests"):
        value = ["bad" + NUL] if field in ("skills", "interests") else "Access" + NUL
        _refused(db, field, lambda: teams.save_team(db, student, world["team_a"],
                                                    {"name": "Access Crew", "members": [member], field: value}))
    _refused(db, "members.0.name", lambda: teams.save_team(
        db, student, world["team_a"], {"name": "Access Crew", "members": [{**member, "name": "Ana" + NUL}]}))
    _refused(db, "name", lambda: teams.create_team(db, fac, world["term"], {"name": "New" + NUL + "team"}))
    _refused(db, "preferences.0.reason", lambda: teams.save_preferences(
        db, student, world["team_a"], [{"challenge_id": approved["fisheries"], "reason": "We" + NUL}]))
    _refused(db, "name", lambda: terms.create_term(db, fac, {"name": "Fall" + NUL, "state": "planning"}))
    for field in ("email", "name"):
        data = {"email": "new@pco.gc.ca", "name": "New Person", "role": "facilitator"}
        data[field] = data[field].replace("@", NUL + "@") if field == "email" else "New" + NUL
        _refused(db, field, lambda: accounts.create_user(db, fac, data, PASSWORD))


def test_a_nul_in_any_reason_comment_or_name_is_refused(db, world, approved):
    fac, rep = world["facilitator"], world["rep_esdc"]
    draft = challenges.save_draft(db, rep, {**ACCESSIBILITY, "title": "Another challenge"})
    challenges.submit(db, rep, draft.id)
    term, team, fisheries = world["term"], world["team_a"], approved["fisheries"]
    _refused(db, "comments", lambda: challenges.return_for_changes(db, fac, draft.id, "Fix" + NUL))
    _refused(db, "reason", lambda: challenges.archive(db, fac, draft.id, reason="gone" + NUL))
    _refused(db, "reason", lambda: challenges.reopen(db, fac, draft.id, reason="again" + NUL))
    _refused(db, "reason", lambda: challenges.change_sme(db, fac, fisheries, "Sam", "sme@dfo-mpo.gc.ca",
                                                         reason="new" + NUL))
    _refused(db, "sme_name", lambda: challenges.change_sme(db, fac, fisheries, "Sam" + NUL, "sme@dfo-mpo.gc.ca",
                                                           reason="hand-over"))
    _refused(db, "sme_email", lambda: challenges.change_sme(db, fac, fisheries, "Sam", "sme" + NUL + "@dfo-mpo.gc.ca",
                                                            reason="hand-over"))
    _refused(db, "note", lambda: challenges.propose_revision(db, world["rep_dfo"], fisheries,
                                                             {"outcomes": "New outcomes."}, note="n" + NUL))
    for move in (pairings.pair, pairings.lock, pairings.ban):
        _refused(db, "reason", lambda: move(db, fac, term, team, fisheries, "why" + NUL))
    _refused(db, "reason", lambda: pairings.unpair(db, fac, term, team, "why" + NUL))
    _refused(db, "reason", lambda: terms.advance_term(db, fac, term, reason="why" + NUL))
    _refused(db, "name", lambda: feedback.create_round(db, fac, term, "Round" + NUL, "2027-02-01"))
    _refused(db, "due_on", lambda: feedback.create_round(db, fac, term, "Round", "2027-02-01" + NUL),
             key="validation.date")


def test_a_nul_in_a_revision_answer_and_a_rule_removal_is_refused(db, world, approved):
    fac, fisheries = world["facilitator"], approved["fisheries"]
    teams.save_preferences(db, world["student_a"], world["team_a"], [{"challenge_id": fisheries}])
    pairings.run_assignment(db, fac, world["term"])
    terms.advance_term(db, fac, world["term"])
    pairings.publish(db, fac, world["term"])
    _refused(db, "outcomes", lambda: challenges.propose_revision(db, world["rep_dfo"], fisheries,
                                                                 {"outcomes": "New" + NUL}))
    revision = challenges.propose_revision(db, world["rep_dfo"], fisheries, {"outcomes": "Better outcomes."})
    _refused(db, "comments", lambda: challenges.decide_revision(db, fac, revision["id"], "return",
                                                                comments="no" + NUL))
    pairings.ban(db, fac, world["term"], world["team_b"], fisheries, "not them")
    rule = storage.one(db, "SELECT id FROM pairing_rules ORDER BY id DESC")["id"]
    _refused(db, "reason", lambda: pairings.remove_rule(db, fac, rule, "lift" + NUL))


def test_a_nul_in_feedback_replies_threads_and_rounds_is_refused(db, world, term_running):
    entry, expert, student, fac = term_running["entry"], world["expert"], term_running["student"], world["facilitator"]
    scores = {c: 4 for c in RUBRIC}
    _refused(db, "comments", lambda: feedback.save_draft(db, expert, entry, scores, "Good" + NUL))
    _refused(db, "comments", lambda: feedback.submit(db, expert, entry, scores, "Good" + NUL))
    feedback.submit(db, expert, entry, scores, "Good work.")
    _refused(db, "reply", lambda: feedback.reply(db, student, entry, "Thanks" + NUL))
    _refused(db, "message", lambda: feedback.post_message(db, expert, entry, "A question" + NUL))
    _refused(db, "message", lambda: feedback.post_message(db, student, entry, "An answer" + NUL))
    round_ = storage.one(db, "SELECT id, version FROM feedback_rounds")
    _refused(db, "name", lambda: feedback.update_round(db, fac, round_["id"], "Disc" + NUL, "2027-02-01",
                                                       expected_version=round_["version"]))


def test_a_nul_in_a_choice_is_refused_not_stored(db, world):
    student = world["student_a"]
    with pytest.raises(ValidationFailed):
        notifications.set_delivery(db, student, "digest" + NUL)
    with pytest.raises(PortalError):
        accounts.set_language(db, student, "fr" + NUL)
    assert notifications.delivery(db, student) != "digest" + NUL


def test_a_nul_in_a_sign_in_or_a_lookup_finds_nobody_and_fails_like_a_wrong_password(db, world, monkeypatch):
    email = world["student_a"].email
    for typed in (email + NUL, email.replace("@", NUL + "@"), NUL):
        with pytest.raises(AuthenticationFailed):
            accounts.authenticate(db, typed, PASSWORD)
        assert accounts.find_user(db, typed) is None
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(db, email, PASSWORD + NUL)        # a wrong password, nothing more
    assert accounts.authenticate(db, email, PASSWORD).id == world["student_a"].id
    assert teams.find_team(db, "Access" + NUL + "Crew") is None
    monkeypatch.setenv("PORTAL_PUBLIC_SERVANT_DOMAINS", "pco.gc.ca")
    with pytest.raises(PortalError):
        accounts.sign_in_verified_email(db, "fac" + NUL + "@pco.gc.ca", verified=True)
    assert db.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 6


def test_a_nul_in_a_reset_request_token_or_session_code_is_harmless(db, world):
    from matching import sessions
    before = _counts(db)
    with pytest.raises(ValidationFailed):
        password_reset.request_reset(db, world["student_a"].email + NUL)
    assert not password_reset.token_is_valid(db, "token" + NUL)
    with pytest.raises(ValidationFailed):
        password_reset.reset_password(db, "token" + NUL, "a-new-long-password")
    assert sessions.redeem(db, "code" + NUL) is None
    assert sessions.restore(db, "cookie" + NUL)[0] is None
    assert _counts(db) == before


def test_an_upload_with_a_nul_is_refused_whole_before_anything_is_read(db, world):
    data = ("department,title\nESDC,A" + NUL + "title\n").encode()
    with pytest.raises(ValidationFailed) as info:
        read_upload(data, "c.csv")
    assert info.value.errors == {"file": "data.unreadable"}    # a NUL byte: not a text file


@pytest.mark.parametrize("column", ["department", "title", "problem", "themes", "sme_email", "unclassified"])
def test_an_imported_challenge_cell_with_a_nul_is_refused_row_by_row(db, world, column):
    """Rows as any reader hands them (a spreadsheet's escapes can spell a NUL): named row by row."""
    row = {"department": "ESDC", "title": "A title", "problem": "p" * 50, "outcomes": "Outcomes", "themes": "a;b",
           "capacity": "1", "sme_name": "Sam", "sme_email": "sme@esdc.gc.ca", "unclassified": "yes"}
    row[column] = row[column][:2] + NUL + row[column][2:]
    report = preview(db, world["facilitator"], "challenges", [row])
    assert (2, column, CONTROL) in {(p["row"], p["field"], p["key"]) for p in report.problems}, report.problems


@pytest.mark.parametrize("kind, column", [("users", "team"), ("users", "name"), ("users", "email"),
                                          ("users", "department"), ("teams", "name"), ("teams", "members")])
def test_an_imported_team_or_account_cell_with_a_nul_is_refused_row_by_row(db, world, kind, column):
    row = ({"team": "Access Crew", "name": "Zoe Park", "email": "zoe.park@sheridancollege.ca", "role": "student"}
           if kind == "users" else {"name": "New Team", "members": "Zoe Park <zoe.park@sheridancollege.ca>"})
    if column == "department":
        row = {"department": "ESDC", "name": "Sam", "email": "sam@esdc.gc.ca", "role": "expert"}
    row[column] = row[column][:2] + NUL + row[column][2:]
    report = preview(db, world["facilitator"], kind, [row])
    assert (2, column, CONTROL) in {(p["row"], p["field"], p["key"]) for p in report.problems}, report.problems


@pytest.mark.parametrize("args", [
    ["create-user", "--email", "x\x00@pco.gc.ca", "--name", "X", "--role", "facilitator", "--password", PASSWORD],
    ["create-user", "--email", "x@pco.gc.ca", "--name", "X\x00", "--role", "facilitator", "--password", PASSWORD],
    ["create-user", "--email", "x@esdc.gc.ca", "--name", "X", "--role", "department_rep", "--department", "ES\x00DC",
     "--password", PASSWORD],
    ["create-user", "--email", "x@sheridancollege.ca", "--name", "X", "--role", "student", "--team", "Access\x00Crew",
     "--password", PASSWORD],
    ["create-user", "--email", "x@sheridancollege.ca", "--name", "X", "--role", "student", "--team", "Access Crew",
     "--term", "Winter\x002027", "--password", PASSWORD],
    ["rank", "--team", "Access\x00Crew"],
    ["rank", "--team", "Access Crew", "--term", "Winter\x002027"],
])
def test_a_nul_on_the_command_line_is_one_sentence_not_a_traceback(db, db_target, world, args):
    result = CliRunner().invoke(main, ["--db", db_target, *args])
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and "DataError" not in result.output
    assert db.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 6


@pytest.mark.backends("postgresql")
def test_a_nul_that_gets_past_every_check_is_one_sentence_on_postgresql(db, world):
    """The last net: a value with a NUL reaching the PostgreSQL connection (a path no check
    covers yet) is refused with the same message, never psycopg's DataError."""
    with pytest.raises(PortalError) as info:
        db.execute("UPDATE terms SET name = ? WHERE id = ?", ["Winter" + NUL, world["term"]])
    assert info.value.key == CONTROL and not isinstance(info.value, ValidationFailed)
    with pytest.raises(PortalError):
        storage.insert(db, "departments", {"acronym": "X" + NUL, "name_en": "X", "name_fr": "X"})
    assert storage.one(db, "SELECT name FROM terms WHERE id = ?", [world["term"]])["name"] == "Winter 2027"
