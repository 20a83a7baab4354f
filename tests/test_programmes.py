"""Two academic programs with overlapping terms (issue 17.1), end to end through the services.

Sheridan's Winter 2027 (the world's term) and the University of Victoria's Spring 2027 run at
the same time. A facilitator limited to one program acts only on its terms; the one of every
program acts on both; a department offers its challenge to both programs and each program's
facilitators confirm it; teams see only their own term's challenges; notifications, home steps
and exports follow the programs.
"""
from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner

from matching import (accounts, challenges, home, importexport, matches, notifications, pairings, programmes,
                      teams, terms)
from matching import db as storage
from matching.cli import main as cli
from matching.errors import IllegalTransition, NotFound, PermissionDenied, ValidationFailed
from tests.conftest import ACCESSIBILITY, FISHERIES, PASSWORD

pytestmark = pytest.mark.backends("sqlite", "postgresql")

UVIC = {"code": "uvic-mpa", "institution_en": "University of Victoria", "institution_fr": "Université de Victoria",
        "name_en": "Master of Public Administration", "name_fr": "Maîtrise en administration publique"}


@pytest.fixture
def two(db, world):
    """Sheridan's Winter 2027 (the world's, in intake) and UVic's Spring 2027 (in intake), a
    facilitator limited to each, a UVic team with a student."""
    system = accounts.SYSTEM
    sheridan = programmes.default_programme(db)
    uvic = programmes.create_programme(db, system, UVIC)
    spring = terms.create_term(db, system, {"name": "UVic Spring 2027", "programme_id": uvic.id,
                                            "starts_on": "2027-01-06", "ends_on": "2027-04-09"})
    terms.advance_term(db, system, spring.id)
    team = teams.create_team(db, system, spring.id, {
        "name": "Harbour Policy Lab", "program": "Master of Public Administration", "year": 1,
        "skills": ["policy analysis", "user research", "service design"], "interests": ["oceans", "accessibility"],
        "past_work": "Wrote a policy brief on small craft harbour services for coastal communities.",
        "members": [{"name": "Ines Okafor", "email": "ines.okafor@uvic.ca"}]})
    student = accounts.create_user(db, system, {"email": "ines.okafor@uvic.ca", "name": "Ines Okafor",
                                                "role": "student", "team_id": team.id}, PASSWORD)
    facs = {}
    for key, email, programme in (("fac_sheridan", "fac.sheridan@pco-bcp.gc.ca", sheridan),
                                  ("fac_uvic", "fac.uvic@pco-bcp.gc.ca", uvic)):
        made = accounts.create_user(db, system, {"email": email, "name": key.replace("_", " ").title(),
                                                 "role": "facilitator"}, PASSWORD)
        programmes.limit_facilitator(db, system, made.id, [programme.id])
        facs[key] = accounts.get_user(db, made.id)
    return {**world, **facs, "sheridan": sheridan.id, "uvic": uvic.id, "spring": spring.id,
            "team_uvic": team.id, "student_uvic": student}


def _steps(db, user):
    return [(s["key"], s["term"]) for s in home.next_steps(db, user)["steps"]]


def _inbox_kinds(db, user):
    return [n["kind"] for n in notifications.inbox(db, user)]


def test_each_programme_facilitator_acts_on_their_own_terms_only(db, two):
    w = two
    fac_s, fac_u, fac_all = w["fac_sheridan"], w["fac_uvic"], w["facilitator"]
    assert fac_s.programme_ids == frozenset({w["sheridan"]}) and fac_all.programme_ids is None

    # A department submits to Sheridan's term and offers the challenge to UVic's as well.
    rep = w["rep_esdc"]
    home_challenge = challenges.submit_new(db, rep, ACCESSIBILITY, term_id=w["term"])
    assert [t.id for t in challenges.offer_terms(db, rep, home_challenge.id)] == [w["spring"]]
    copy = challenges.offer(db, rep, home_challenge.id, w["spring"])
    assert (copy.term_id, copy.status, copy.offered_from) == (w["spring"], "submitted", home_challenge.id)
    assert challenges.offer_terms(db, rep, home_challenge.id) == []           # one offer per program
    with pytest.raises(ValidationFailed):
        challenges.offer(db, rep, home_challenge.id, w["spring"])
    with pytest.raises(PermissionDenied):                                      # another department's
        challenges.offer(db, w["rep_dfo"], home_challenge.id, w["spring"])

    # Each program's facilitators hear of their own submission and confirm it; not the other's.
    assert "challenge_submitted" in _inbox_kinds(db, fac_u) and "challenge_submitted" in _inbox_kinds(db, fac_s)
    assert _inbox_kinds(db, fac_u).count("challenge_submitted") == 1         # the copy only
    assert _inbox_kinds(db, fac_all).count("challenge_submitted") == 2
    with pytest.raises(PermissionDenied):
        challenges.approve(db, fac_s, copy.id, confirm_unclassified=True)
    with pytest.raises(NotFound):                                             # not even readable
        challenges.get_challenge(db, fac_s, copy.id)
    with pytest.raises(PermissionDenied):
        challenges.approve(db, fac_u, home_challenge.id, confirm_unclassified=True)
    challenges.approve(db, fac_u, copy.id, confirm_unclassified=True)
    challenges.return_for_changes(db, fac_s, home_challenge.id, "Name the service channel.")
    seen_by_rep = {o["programme_id"]: o["status"] for o in challenges.offers(db, rep, copy.id)}
    assert seen_by_rep == {w["sheridan"]: "returned", w["uvic"]: "approved"}
    assert [o["programme_id"] for o in challenges.offers(db, fac_u, home_challenge.id)] == [w["uvic"]]

    # Home steps and term lists follow the programs.
    assert [t.id for t in terms.open_terms(db, actor=fac_u)] == [w["spring"]]
    assert {t.id for t in terms.open_terms(db, actor=fac_all)} == {w["term"], w["spring"]}
    assert ("home.step.teams_without_preferences", "Winter 2027") in _steps(db, fac_s)
    assert not any(term == "Winter 2027" for _, term in _steps(db, fac_u))

    # Teams see their own term's challenges: the UVic team the copy, not Sheridan's home challenge.
    fisheries = challenges.submit_new(db, w["rep_dfo"], FISHERIES, term_id=w["term"])
    challenges.approve(db, fac_s, fisheries.id, confirm_unclassified=True)
    ranked = {c["id"] for c in matches.ranked_challenges_for_team(db, w["student_uvic"], w["team_uvic"])}
    assert ranked == {copy.id}
    with pytest.raises(ValidationFailed):
        teams.save_preferences(db, w["student_uvic"], w["team_uvic"], [{"challenge_id": fisheries.id}])
    teams.save_preferences(db, w["student_uvic"], w["team_uvic"], [{"challenge_id": copy.id}])

    # Pairing, terms, feedback and exports: each facilitator in their own program only.
    with pytest.raises(PermissionDenied):
        pairings.run_assignment(db, fac_s, w["spring"])
    with pytest.raises(PermissionDenied):
        terms.advance_term(db, fac_u, w["term"])
    terms.advance_term(db, fac_u, w["spring"])
    plan = pairings.run_assignment(db, fac_u, w["spring"])
    assert {r["team_id"]: r["challenge_id"] for r in plan.matched} == {w["team_uvic"]: copy.id}
    pairings.publish(db, fac_u, w["spring"], expected_plan_version=plan.plan_version)
    assert [p["challenge_id"] for p in pairings.pairings_for_department(db, rep, w["esdc"])] == [copy.id]
    assert pairings.pairings_for_department(db, fac_s, w["esdc"]) == []
    with pytest.raises(PermissionDenied):
        importexport.export_table(db, fac_s, "pairings", term_id=w["spring"])
    with pytest.raises(PermissionDenied):
        importexport.commit(db, fac_s, "teams", [{"name": "Sneaky", "members": "A B <a.b@uvic.ca>"}],
                            term_id=w["spring"])
    with pytest.raises(PermissionDenied):
        terms.create_term(db, fac_s, {"name": "UVic Fall 2027", "programme_id": w["uvic"]})
    with pytest.raises(PermissionDenied):                                     # programs are for all-program facilitators
        programmes.create_programme(db, fac_s, {**UVIC, "code": "queens-mpa"})
    with pytest.raises(PermissionDenied):                                     # and no escalation by a new account
        accounts.create_user(db, fac_s, {"email": "new.fac@pco-bcp.gc.ca", "name": "New Fac",
                                         "role": "facilitator"}, PASSWORD)
    headers, rows = importexport.export_table(db, fac_u, "challenges")        # every term: UVic's only
    assert {r[headers.index("Academic program")] for r in rows} == {"uvic-mpa"}
    headers, rows = importexport.export_table(db, fac_all, "challenges")
    assert {r[headers.index("Academic program")] for r in rows} == {"sheridan-bid", "uvic-mpa"}
    assert headers[headers.index("Academic program") + 1] == "Organization"


def test_a_returned_offer_is_edited_and_resubmitted_in_its_own_programme(db, two):
    w = two
    rep = w["rep_esdc"]
    original = challenges.submit_new(db, rep, ACCESSIBILITY, term_id=w["term"])
    copy = challenges.offer(db, rep, original.id, w["spring"])
    returned = challenges.return_for_changes(db, w["fac_uvic"], copy.id, "Frame it for policy students.")
    edited = challenges.submit(db, rep, copy.id, {"title": "Accessible EI applications: a policy lens"},
                               expected_version=returned.version)
    assert edited.status == "submitted" and challenges.get_challenge(db, rep, original.id).title == ACCESSIBILITY["title"]
    # A draft cannot be offered yet: the department submits it first.
    draft = challenges.save_draft(db, rep, {"title": "Half-written"}, term_id=w["term"])
    with pytest.raises(IllegalTransition):
        challenges.offer(db, rep, draft.id, w["spring"])
    assert challenges.offer_terms(db, rep, draft.id) == []


def test_cli_creates_terms_in_a_programme_and_lists_programmes(db, two, db_target):
    runner = CliRunner()
    made = runner.invoke(cli, ["--db", str(db_target), "create-term", "UVic Fall 2027", "--programme", "uvic-mpa",
                               "--starts", "2027-09-08", "--ends", "2027-12-10"])
    assert made.exit_code == 0, made.output
    assert terms.resolve_term(db, "UVic Fall 2027").programme_id == two["uvic"]
    listed = runner.invoke(cli, ["--db", str(db_target), "programmes", "--language", "fr"])
    assert "uvic-mpa  ·  Université de Victoria · Maîtrise en administration publique" in listed.output
    assert "UVic Fall 2027" in listed.output
    wrong = runner.invoke(cli, ["--db", str(db_target), "create-term", "X", "--programme", "harvard"])
    assert wrong.exit_code == 2 and "sheridan-bid, uvic-mpa" in wrong.output
    freed = runner.invoke(cli, ["--db", str(db_target), "limit-facilitator", "fac.uvic@pco-bcp.gc.ca"])
    assert freed.exit_code == 0 and accounts.find_user(db, "fac.uvic@pco-bcp.gc.ca").programme_ids is None


def test_a_term_keeps_its_programme(db, two):
    """The column is required on both backends: no update clears it."""
    with pytest.raises(storage.driver(db).DatabaseError):
        with storage.transaction(db):
            db.execute("UPDATE terms SET programme_id = NULL WHERE id = ?", [two["spring"]])
    assert programmes.of_term(db, two["spring"]) == two["uvic"]
