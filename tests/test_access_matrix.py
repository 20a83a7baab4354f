"""Who may call what: every service in ``matching/`` x every role, on their own and on another
department's or team's records.

Services are found by introspection: every public function of a ``matching`` module whose first
two parameters are ``(db, actor)`` (or ``(db, user)``). Each needs at least one case in
:data:`CASES`, so a new service without an entry fails :func:`test_every_service_has_a_case`.
Public functions that take ``db`` but no actor must be listed in :data:`ACTORLESS` with the
reason they need no permission check.

The targets belong to ESDC, to team A and to the ESDC expert (who advises team A's pairing);
``rep_dfo``, ``student_b`` and ``expert_dfo`` are the "other" department, team and expert.
Every term of the world is of the default programme (Sheridan's): ``fac_mine`` is a facilitator
limited to it, who may do what ``facilitator`` may (issue 17.1), ``fac_other`` one limited to
another programme, who may not (unless a case says so).
A case says which roles may call (the others must get PermissionDenied or NotFound) and, for
reads that filter instead of refusing, which roles see the target in the answer.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import shutil
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

import matching
from matching import accounts, challenges, feedback, pairings, programmes, reviews, sessions, teams, terms
from matching import db as storage
from matching.errors import NotFound, PermissionDenied
from tests.conftest import ACCESSIBILITY, FISHERIES, PASSWORD

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

ROLES = ("rep_esdc", "rep_dfo", "student_a", "student_b", "facilitator", "expert", "expert_dfo", "public_servant",
         "fac_mine", "fac_other")
EVERYONE = set(ROLES)
#: Everyone but the read-only public servant (issue 17), who reads the outcomes library and
#: acts on their own account (language, sign-out, session, password) and nothing else.
PARTICIPANTS = EVERYONE - {"public_servant"}
SYSTEM = accounts.SYSTEM


# --- The world every case starts from (built once, copied per test) ------------------------

def _build_world(path) -> dict:
    db = storage.connect(path)
    now = storage.now_iso()
    w: dict[str, Any] = {}
    with storage.transaction(db):
        w["esdc"] = storage.insert(db, "departments", {"acronym": "ESDC", "name_en": "ESDC", "name_fr": "EDSC"})
        w["dfo"] = storage.insert(db, "departments", {"acronym": "DFO", "name_en": "DFO", "name_fr": "MPO"})
        w["past_term"] = storage.insert(db, "terms", {"name": "Fall 2026", "state": "active", "created_at": now})
        w["term"] = storage.insert(db, "terms", {"name": "Winter 2027", "state": "intake", "created_at": now})
        for key, name, person in (("team_a", "Access Crew", "Ana Lopez"), ("team_b", "Blue Water", "Ben Chu")):
            w[key] = storage.insert(db, "teams", {"term_id": w["term"], "name": name, "skills": ["research"],
                                                  "interests": ["services"], "updated_at": now})
            storage.insert(db, "members", {"team_id": w[key], "name": person,
                                           "email": person.lower().replace(" ", ".") + "@sheridancollege.ca"})
    for key, role, email, links in (
            ("rep_esdc", "department_rep", "rep@esdc.gc.ca", {"department_id": w["esdc"]}),
            ("rep_dfo", "department_rep", "rep@dfo.gc.ca", {"department_id": w["dfo"]}),
            ("student_a", "student", "ana.lopez@sheridancollege.ca", {"team_id": w["team_a"]}),
            ("student_b", "student", "ben.chu@sheridancollege.ca", {"team_id": w["team_b"]}),
            ("facilitator", "facilitator", "fac@pco.gc.ca", {}),
            ("expert", "expert", ACCESSIBILITY["sme_email"], {"department_id": w["esdc"]}),
            ("expert_dfo", "expert", FISHERIES["sme_email"], {"department_id": w["dfo"]}),
            ("public_servant", "public_servant", "analyst@canada.ca", {}),
            ("fac_mine", "facilitator", "fac.sheridan@pco.gc.ca", {}),
            ("fac_other", "facilitator", "fac.uvic@pco.gc.ca", {})):
        name = {"fac_mine": "Farah Mistry", "fac_other": "Victor Lam"}.get(key, key)
        w[key] = accounts.create_user(db, SYSTEM, {"email": email, "name": name, "role": role, **links}, PASSWORD).id
    w["programme"] = programmes.default_programme(db).id
    w["other_programme"] = programmes.create_programme(db, SYSTEM, {
        "code": "uvic-mpa", "institution_en": "University of Victoria", "institution_fr": "Université de Victoria",
        "name_en": "Master of Public Administration", "name_fr": "Maîtrise en administration publique"}).id
    programmes.limit_facilitator(db, SYSTEM, w["fac_mine"], [w["programme"]])
    programmes.limit_facilitator(db, SYSTEM, w["fac_other"], [w["other_programme"]])
    for key, data, rep in (("accessibility", ACCESSIBILITY, "rep_esdc"), ("fisheries", FISHERIES, "rep_dfo")):
        draft = challenges.save_draft(db, SYSTEM, data, department_id=w["esdc" if key == "accessibility" else "dfo"])
        challenges.submit(db, SYSTEM, draft.id)
        w[key] = challenges.approve(db, SYSTEM, draft.id, confirm_unclassified=True).id
    w["draft"] = challenges.save_draft(db, SYSTEM, {"title": "Secret ESDC draft", "themes": ["secret-theme"]},
                                       department_id=w["esdc"]).id
    for team, challenge in (("team_a", "accessibility"), ("team_b", "fisheries")):
        with storage.transaction(db):
            storage.insert(db, "preferences", {"team_id": w[team], "challenge_id": w[challenge], "rank": 1,
                                               "reason": f"private reason of {team}"})
            w[f"pairing_{team[-1]}"] = storage.insert(db, "pairings", {
                "term_id": w["past_term"], "team_id": w[team], "challenge_id": w[challenge], "state": "active",
                "created_at": now, "updated_at": now})
    w["round"] = feedback.create_round(db, SYSTEM, w["past_term"], "Midterm", "2027-03-01")["id"]
    for letter, expert in (("a", "expert"), ("b", "expert_dfo")):
        entry = db.execute("SELECT id FROM feedback_entries WHERE pairing_id = ?", [w[f"pairing_{letter}"]]).fetchone()[0]
        feedback.submit(db, accounts.get_user(db, w[expert]), entry, {c: 4 for c in matching.models.RUBRIC},
                        f"Feedback for team {letter}")
        w[f"entry_{letter}"] = entry
    if storage.dialect(db) == "sqlite":
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return w


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("matrix") / "template.db"
    return path, _build_world(path)


#: The world on PostgreSQL, built once per session: (ids, every table's rows).
_POSTGRES_WORLD: list = []


def _postgres_world(cluster) -> tuple[dict, dict]:
    """Build the world once in the test database and keep its rows: each case then starts from
    them with ``cluster.reset(to=rows)`` (~0.1 s; a CREATE DATABASE copy is ~1 s here)."""
    if not _POSTGRES_WORLD:
        ids = _build_world(cluster.uri(cluster.reset()))
        _POSTGRES_WORLD.append((ids, cluster.snapshot()))
    return _POSTGRES_WORLD[0]


class World(dict):
    """Ids of the world's records plus ``user(role)``."""

    def __init__(self, db, ids):
        super().__init__(ids)
        self.db = db

    def user(self, role):
        return accounts.get_user(self.db, self[role])


@pytest.fixture
def mw(backend, db_target, request, tmp_path):
    """The world, a fresh copy per case: on SQLite a copy of the template file, on PostgreSQL the
    test database (``db_target``) reset to the world's rows."""
    if backend == "postgresql":
        import pg_cluster
        cluster = pg_cluster.cluster()
        ids, rows = _postgres_world(cluster)
        db = storage.connect(cluster.uri(cluster.reset(to=rows)))
    else:
        path, ids = request.getfixturevalue("template")
        shutil.copy(path, db_target)
        db = storage.connect(db_target)
    yield World(db, ids)
    db.close()


# --- Cases ---------------------------------------------------------------------------------

@dataclass
class Case:
    call: Callable            # (db, w, actor, target) -> result
    may_call: set[str]
    setup: Callable = lambda db, w: None  # (db, w) -> target, run as the system operator
    shows: Callable | None = None  # (result, w, target) -> bool: the target is in the answer
    sees: set[str] | None = None   # roles for which shows() is True (default: may_call)
    label: str = ""


def _ids(rows, key="id"):
    return {r[key] if isinstance(r, dict) else getattr(r, key) for r in rows}


def _submitted(db, w):
    cid = challenges.save_draft(db, SYSTEM, ACCESSIBILITY, department_id=w["esdc"]).id
    return challenges.submit(db, SYSTEM, cid).id


def _open_entry(db, w):
    """An open entry of team A's pairing, for its expert (a second round)."""
    feedback.create_round(db, SYSTEM, w["past_term"], "Final", "2027-04-01")
    return db.execute("SELECT id FROM feedback_entries WHERE pairing_id = ? AND state = 'open'",
                      [w["pairing_a"]]).fetchone()[0]


def _matching_with_proposal(db, w):
    terms.advance_term(db, SYSTEM, w["term"])
    pairings.run_assignment(db, SYSTEM, w["term"])
    return w["term"]


def _lock_rule(db, w):
    pairings.lock(db, SYSTEM, w["term"], w["team_a"], w["accessibility"], "they asked for it")
    return db.execute("SELECT id FROM pairing_rules").fetchone()[0]


def _closed_past_term(db, w):
    terms.advance_term(db, SYSTEM, w["past_term"])
    return w["past_term"]


def _backup_file(db, w):
    from matching import maintenance
    path = storage.default_path().with_name("b.db")
    maintenance.backup(db, SYSTEM, path, overwrite=True)
    return path


def _rep_notification(db, w):
    return db.execute("SELECT id FROM notifications WHERE user_id = ? AND kind = 'challenge_approved'",
                      [w["rep_esdc"]]).fetchone()[0]


def library_module():
    return importlib.import_module("matching.library")


def _other_programme_term(db, w):
    """A term of the other programme that takes challenges."""
    return terms.create_term(db, SYSTEM, {"name": "UVic Spring 2027", "programme_id": w["other_programme"]}).id


def _offered_copy(db, w):
    """The accessibility challenge offered to the other programme: the copy's id."""
    return challenges.offer(db, SYSTEM, w["accessibility"], _other_programme_term(db, w)).id


def notifications_module():
    return importlib.import_module("matching.notifications")


SCORES = {c: 3 for c in matching.models.RUBRIC}
FAC = {"facilitator"}
TERM = lambda db, w: w["term"]  # noqa: E731
PAST = lambda db, w: w["past_term"]  # noqa: E731

CASES: dict[str, list[Case]] = {
    # accounts: each person's own account only (there is no target but the actor)
    "accounts.change_password": [Case(lambda db, w, a, _: accounts.change_password(db, a, PASSWORD, "another-long-password"), EVERYONE)],
    "accounts.create_user": [Case(lambda db, w, a, _: accounts.create_user(
        db, a, {"email": "new@pco.gc.ca", "name": "New", "role": "facilitator"}, "long-enough-password"), FAC)],
    "accounts.set_language": [Case(lambda db, w, a, _: accounts.set_language(db, a, "fr"), EVERYONE)],
    "accounts.sign_out": [Case(lambda db, w, a, _: accounts.sign_out(db, a), EVERYONE)],
    "sessions.start": [Case(lambda db, w, a, _: sessions.start(db, a), EVERYONE)],  # one's own session
    # challenges
    "challenges.approve": [Case(lambda db, w, a, c: challenges.approve(db, a, c, confirm_unclassified=True), FAC, _submitted)],
    "challenges.archive": [Case(lambda db, w, a, c: challenges.archive(db, a, c), {"rep_esdc", "facilitator"}, lambda db, w: w["draft"])],
    "challenges.bulk_approve": [Case(lambda db, w, a, c: challenges.bulk_approve(db, a, [c], confirm_unclassified=True), FAC, _submitted)],
    "challenges.get_challenge": [
        Case(lambda db, w, a, c: challenges.get_challenge(db, a, c), {"rep_esdc", "facilitator"}, lambda db, w: w["draft"],
             label="unapproved"),
        Case(lambda db, w, a, c: challenges.get_challenge(db, a, c), PARTICIPANTS, lambda db, w: w["accessibility"],
             label="approved"),
        Case(lambda db, w, a, c: challenges.get_challenge(db, a, c), {"rep_esdc", "facilitator"}, _submitted,
             label="submitted")],
    "challenges.list_challenges": [Case(lambda db, w, a, c: challenges.list_challenges(db, a), PARTICIPANTS,
                                        lambda db, w: w["draft"], shows=lambda r, w, c: c in _ids(r),
                                        sees={"rep_esdc", "facilitator"})],
    "challenges.reopen": [Case(lambda db, w, a, c: challenges.reopen(db, a, c), {"rep_esdc", "facilitator"},
                               _submitted)],
    "challenges.delete_draft": [Case(lambda db, w, a, c: challenges.delete_draft(db, a, c), {"rep_esdc"},
                                     lambda db, w: w["draft"])],
    "challenges.submit_new": [Case(lambda db, w, a, _: challenges.submit_new(db, a, ACCESSIBILITY, term_id=w["term"]),
                                   {"rep_esdc", "rep_dfo"})],
    "challenges.create_challenge": [Case(lambda db, w, a, _: challenges.create_challenge(
        db, a, {"title": "New"}, department_id=w["esdc"]), {"rep_esdc"})],
    "challenges.propose_revision": [Case(lambda db, w, a, c: challenges.propose_revision(
        db, a, c, {"title": "A clearer title"}), {"rep_esdc"}, lambda db, w: w["accessibility"])],
    "challenges.pending_revision": [Case(lambda db, w, a, c: challenges.pending_revision(db, a, c),
                                         {"rep_esdc", "facilitator"}, lambda db, w: w["accessibility"])],
    "challenges.last_revision": [Case(lambda db, w, a, c: challenges.last_revision(db, a, c),
                                      {"rep_esdc", "facilitator"}, lambda db, w: w["accessibility"])],
    "reviews.history": [Case(lambda db, w, a, c: reviews.history(
        db, a, [storage.one(db, "SELECT * FROM challenges WHERE id = ?", [c])]), {"rep_esdc", "facilitator"},
        lambda db, w: w["draft"])],
    # A listing: a facilitator limited to another programme gets an empty list, not a refusal.
    "challenges.revisions_to_review": [Case(lambda db, w, a, _: challenges.revisions_to_review(db, a),
                                            FAC | {"fac_other"}, lambda db, w: challenges.propose_revision(
                                                db, SYSTEM, w["accessibility"], {"title": "A clearer title"})["id"],
                                            shows=lambda r, w, rev: rev in _ids(r), sees={"facilitator", "fac_mine"})],
    "challenges.decide_revision": [Case(lambda db, w, a, r: challenges.decide_revision(db, a, r, "approve"), FAC,
                                        lambda db, w: challenges.propose_revision(
                                            db, SYSTEM, w["accessibility"], {"title": "A clearer title"})["id"])],
    "challenges.change_sme": [Case(lambda db, w, a, c: challenges.change_sme(
        db, a, c, "New SME", "new.sme@esdc.gc.ca", reason="the SME moved on"), FAC, lambda db, w: w["accessibility"])],
    "challenges.return_for_changes": [Case(lambda db, w, a, c: challenges.return_for_changes(db, a, c, "narrow it"), FAC, _submitted)],
    "challenges.save_draft": [
        Case(lambda db, w, a, _: challenges.save_draft(db, a, {"title": "New"}, department_id=w["esdc"]), {"rep_esdc"},
             label="create"),
        Case(lambda db, w, a, c: challenges.save_draft(db, a, {"title": "Edited"}, challenge_id=c), {"rep_esdc"},
             lambda db, w: w["draft"], label="edit")],
    "challenges.submit": [Case(lambda db, w, a, c: challenges.submit(db, a, c, ACCESSIBILITY), {"rep_esdc"}, lambda db, w: w["draft"])],
    "challenges.theme_vocabulary": [Case(lambda db, w, a, _: challenges.theme_vocabulary(db, a), PARTICIPANTS,
                                         shows=lambda r, w, c: "secret-theme" in r, sees={"rep_esdc", "facilitator"})],
    # matches
    "matches.match_matrix": [Case(lambda db, w, a, t: matches_module().match_matrix(db, a, t), FAC, TERM)],
    "matches.matrix_view": [Case(lambda db, w, a, t: matches_module().matrix_view(db, a, t), FAC, TERM)],
    "matches.pair_standings": [Case(lambda db, w, a, t: matches_module().pair_standings(db, a, t, []), FAC, TERM)],
    "matches.ranked_challenges_for_team": [Case(
        lambda db, w, a, t: matches_module().ranked_challenges_for_team(db, a, t), {"student_a", "facilitator"},
        lambda db, w: w["team_a"], shows=lambda r, w, t: w["draft"] not in _ids(r) and len(r) == 2)],
    "matches.ranked_teams_for_challenge": [Case(
        lambda db, w, a, c: matches_module().ranked_teams_for_challenge(db, a, c), {"rep_esdc", "facilitator"},
        lambda db, w: w["accessibility"])],
    # teams and preferences
    "teams.get_preferences": [Case(lambda db, w, a, t: teams.get_preferences(db, a, t), {"student_a", "facilitator"},
                                   lambda db, w: w["team_a"])],
    "teams.get_team": [Case(lambda db, w, a, t: teams.get_team(db, a, t), PARTICIPANTS, lambda db, w: w["team_a"],
                            shows=lambda r, w, t: all(m.email for m in r.members),
                            # the team, facilitators, and the department and SME it is paired with
                            sees={"student_a", "facilitator", "rep_esdc", "expert"})],
    "teams.save_preferences": [Case(lambda db, w, a, t: teams.save_preferences(db, a, t, [{"challenge_id": w["fisheries"]}]),
                                    {"student_a"}, lambda db, w: w["team_a"])],
    "teams.create_team": [Case(lambda db, w, a, _: teams.create_team(
        db, a, w["term"], {"name": "New team", "members": [{"name": "Cy", "email": "cy@sheridancollege.ca"}]}), FAC)],
    "teams.save_team": [Case(lambda db, w, a, t: teams.save_team(db, a, t, {"name": "Renamed", "members": []}),
                             {"student_a", "facilitator"}, lambda db, w: w["team_a"])],
    # terms
    "terms.advance_term": [Case(lambda db, w, a, t: terms.advance_term(db, a, t), FAC, TERM)],
    "terms.create_term": [Case(lambda db, w, a, _: terms.create_term(db, a, {"name": "Fall 2027"}), FAC)],
    # Term names are public; a facilitator limited to another programme does not get these listed.
    "terms.open_terms": [Case(lambda db, w, a, t: terms.open_terms(db, actor=a), EVERYONE, TERM,
                              shows=lambda r, w, t: t in _ids(r), sees=EVERYONE - {"fac_other"})],
    # home
    "home.next_steps": [Case(lambda db, w, a, _: home_module().next_steps(db, a), PARTICIPANTS)],
    # pairings
    "pairings.run_assignment": [Case(lambda db, w, a, t: pairings.run_assignment(db, a, t), FAC, TERM)],
    "pairings.publish": [Case(lambda db, w, a, t: pairings.publish(db, a, t), FAC, _matching_with_proposal)],
    "pairings.plan": [Case(lambda db, w, a, t: pairings.plan(db, a, t), FAC, TERM)],
    "pairings.pending_changes": [Case(lambda db, w, a, t: pairings.pending_changes(db, a, t), FAC, _matching_with_proposal)],
    "pairings.rules": [Case(lambda db, w, a, t: pairings.rules(db, a, w["term"]), FAC, _lock_rule)],
    "pairings.pair": [Case(lambda db, w, a, t: pairings.pair(db, a, t, w["team_a"], w["accessibility"], "fits"), FAC, TERM)],
    "pairings.unpair": [Case(lambda db, w, a, t: pairings.unpair(db, a, t, w["team_a"], "does not fit"), FAC,
                             lambda db, w: (pairings.pair(db, SYSTEM, w["term"], w["team_a"], w["accessibility"], "x"),
                                            w["term"])[1])],
    "pairings.lock": [Case(lambda db, w, a, t: pairings.lock(db, a, t, w["team_a"], w["accessibility"], "asked"), FAC, TERM)],
    "pairings.ban": [Case(lambda db, w, a, t: pairings.ban(db, a, t, w["team_b"], w["accessibility"], "conflict"), FAC, TERM)],
    "pairings.remove_rule": [Case(lambda db, w, a, r: pairings.remove_rule(db, a, r, "no longer needed"), FAC, _lock_rule)],
    "pairings.published_pairings": [Case(lambda db, w, a, t: pairings.published_pairings(db, a, t), FAC, PAST)],
    "pairings.pairing_for_team": [Case(lambda db, w, a, t: pairings.pairing_for_team(db, a, t), {"student_a", "facilitator"},
                                       lambda db, w: w["team_a"], shows=lambda r, w, t: r["pairing_id"] == w["pairing_a"])],
    "pairings.pairings_for_department": [Case(
        lambda db, w, a, d: pairings.pairings_for_department(db, a, d), {"rep_esdc", "facilitator", "fac_other"},
        lambda db, w: w["esdc"], shows=lambda r, w, d: _ids(r, "pairing_id") == {w["pairing_a"]},
        sees={"rep_esdc", "facilitator", "fac_mine"})],
    "pairings.pairings_for_expert": [Case(
        lambda db, w, a, _: pairings.pairings_for_expert(db, a), {"expert", "expert_dfo", "facilitator", "fac_other"},
        shows=lambda r, w, _: w["pairing_a"] in _ids(r, "pairing_id"), sees={"expert"})],
    # feedback
    "feedback.create_round": [Case(lambda db, w, a, t: feedback.create_round(db, a, t, "Final", "2027-04-01"), FAC, PAST)],
    "feedback.rounds": [Case(lambda db, w, a, t: feedback.rounds(db, a, t), FAC, PAST)],
    "feedback.entries_for_round": [Case(lambda db, w, a, _: feedback.entries_for_round(db, a, w["round"]), FAC)],
    "feedback.entries_for_term": [Case(lambda db, w, a, t: feedback.entries_for_term(db, a, t), FAC, PAST)],
    "feedback.entries_for_team": [Case(lambda db, w, a, t: feedback.entries_for_team(db, a, t), {"student_a", "facilitator"},
                                       lambda db, w: w["team_a"], shows=lambda r, w, t: _ids(r) == {w["entry_a"]})],
    "feedback.entries_for_expert": [Case(lambda db, w, a, _: feedback.entries_for_expert(db, a), {"expert", "expert_dfo"},
                                         shows=lambda r, w, _: w["entry_a"] in _ids(r), sees={"expert"})],
    "feedback.get_entry": [
        Case(lambda db, w, a, e: feedback.get_entry(db, a, e), {"expert", "student_a", "facilitator"},
             lambda db, w: w["entry_a"], label="submitted"),
        Case(lambda db, w, a, e: feedback.get_entry(db, a, e), {"expert", "facilitator"}, _open_entry,
             label="draft (hidden from the team)")],
    "feedback.reminders": [Case(lambda db, w, a, e: feedback.reminders(db, a, w["past_term"], today=_date("2027-03-28")),
                                {"expert", "expert_dfo", "facilitator"}, _open_entry,
                                shows=lambda r, w, e: e in _ids(r["due_soon"] + r["overdue"]),
                                sees={"expert", "facilitator"})],
    "feedback.save_draft": [Case(lambda db, w, a, e: feedback.save_draft(db, a, e, SCORES, "draft"), {"expert"}, _open_entry)],
    "feedback.submit": [Case(lambda db, w, a, e: feedback.submit(db, a, e, SCORES, "done"), {"expert"}, _open_entry)],
    "feedback.reply": [Case(lambda db, w, a, e: feedback.reply(db, a, e, "We changed the plan."), {"student_a"},
                            lambda db, w: w["entry_a"])],
    "feedback.update_round": [Case(lambda db, w, a, r: feedback.update_round(db, a, r, "Midterm review", "2027-03-02",
                                                                             expected_version=None), FAC,
                                   lambda db, w: w["round"])],
    "feedback.delete_round": [Case(lambda db, w, a, r: feedback.delete_round(db, a, r, expected_version=None), FAC,
                                   lambda db, w: feedback.create_round(db, SYSTEM, w["past_term"], "Spare",
                                                                       "2027-04-02")["id"])],
    # The thread of a submitted entry: its expert and its team write; facilitators read.
    "feedback.thread": [
        Case(lambda db, w, a, e: feedback.thread(db, a, e), {"expert", "student_a", "facilitator"},
             lambda db, w: w["entry_a"], label="submitted"),
        Case(lambda db, w, a, e: feedback.thread(db, a, e), {"expert", "facilitator"}, _open_entry,
             label="draft (hidden from the team)")],
    "feedback.post_message": [Case(lambda db, w, a, e: feedback.post_message(db, a, e, "A question?"),
                                   {"expert", "student_a"}, lambda db, w: w["entry_a"])],
    "feedback.mark_read": [Case(lambda db, w, a, e: feedback.mark_read(db, a, e), {"expert", "student_a"},
                                lambda db, w: w["entry_a"])],
    "feedback.thread_counts": [Case(lambda db, w, a, t: feedback.thread_counts(db, a, t), FAC, PAST)],
    # maintenance (backup and restore: the operator only, from the CLI)
    "maintenance.audit_log": [Case(lambda db, w, a, _: maintenance_module().audit_log(db, a), FAC)],
    "maintenance.backup": [Case(lambda db, w, a, _: maintenance_module().backup(
        db, a, storage.default_path().with_name("backup.db")), set())],
    "maintenance.restore": [Case(lambda db, w, a, p: maintenance_module().restore(db, a, p), set(), _backup_file)],
    "maintenance.purge_term": [Case(lambda db, w, a, t: maintenance_module().purge_term(db, a, t), FAC, _closed_past_term)],
    # notifications: each person's own inbox only (the ESDC representative's "challenge approved")
    "notifications.inbox": [Case(lambda db, w, a, n: notifications_module().inbox(db, a), PARTICIPANTS, _rep_notification,
                                 shows=lambda r, w, n: n in _ids(r), sees={"rep_esdc"})],
    "notifications.unread_count": [Case(lambda db, w, a, _: notifications_module().unread_count(db, a), PARTICIPANTS)],
    "notifications.mark_read": [Case(lambda db, w, a, n: notifications_module().mark_read(db, a, n), {"rep_esdc"},
                                     _rep_notification)],
    "notifications.mark_all_read": [Case(lambda db, w, a, _: notifications_module().mark_all_read(db, a), PARTICIPANTS)],
    "notifications.delivery": [Case(lambda db, w, a, _: notifications_module().delivery(db, a), PARTICIPANTS)],
    "notifications.set_delivery": [Case(lambda db, w, a, _: notifications_module().set_delivery(db, a, "digest"), PARTICIPANTS)],
    # Offering a challenge to another programme (issue 17.1): its department offers; the copy
    # is filed in the other programme's term; facilitators of the home programme do not see it.
    "challenges.offer": [Case(lambda db, w, a, t: challenges.offer(db, a, w["accessibility"], t), {"rep_esdc"},
                              lambda db, w: _other_programme_term(db, w))],
    "challenges.offer_terms": [Case(lambda db, w, a, t: challenges.offer_terms(db, a, w["accessibility"]),
                                    {"rep_esdc"}, lambda db, w: _other_programme_term(db, w),
                                    shows=lambda r, w, t: t in _ids(r))],
    "challenges.offers": [Case(lambda db, w, a, c: challenges.offers(db, a, w["accessibility"]),
                               {"rep_esdc", "facilitator", "fac_other"}, _offered_copy,
                               shows=lambda r, w, c: c in {o["challenge_id"] for o in r},
                               sees={"rep_esdc", "facilitator", "fac_other"})],
    # programmes (issue 17.1): facilitators of every programme create programmes and limit others
    "programmes.create_programme": [Case(lambda db, w, a, _: programmes.create_programme(db, a, {
        "code": "queens-mpa", "institution_en": "Queen's University", "institution_fr": "Université Queen's",
        "name_en": "Master of Public Administration", "name_fr": "Maîtrise en administration publique"}), FAC)],
    "programmes.limit_facilitator": [Case(lambda db, w, a, _: programmes.limit_facilitator(
        db, a, w["facilitator"], [programmes.default_programme(db).id]), FAC)],
    "programmes.visible_programmes": [Case(lambda db, w, a, _: programmes.visible_programmes(db, a), EVERYONE)],
    # the outcomes library (issue 17.4): every signed-in role, the read-only public servant included
    "library.entries": [Case(lambda db, w, a, _: library_module().entries(db, a), EVERYONE)],
    "library.facets": [Case(lambda db, w, a, _: library_module().facets(db, a), EVERYONE)],
    "library.similar_past_challenges": [Case(lambda db, w, a, _: library_module().similar_past_challenges(
        db, a, {"title": "Screen readers"}), EVERYONE)],
    "notifications.remind_round": [Case(lambda db, w, a, r: notifications_module().remind_round(db, a, r), FAC,
                                        lambda db, w: (_open_entry(db, w), db.execute(
                                            "SELECT id FROM feedback_rounds WHERE name = 'Final'").fetchone()[0])[1])],
}


def _date(text):
    from datetime import date
    return date.fromisoformat(text)


def matches_module():
    return importlib.import_module("matching.matches")


def home_module():
    return importlib.import_module("matching.home")


def maintenance_module():
    return importlib.import_module("matching.maintenance")


def _optional_cases():
    """Cases of services another module may add (importexport, dashboard)."""
    cases: dict[str, list[Case]] = {}
    try:
        ie = importlib.import_module("matching.importexport")
        rows = [{"name": "Imported team"}]
        cases.update({
            "importexport.preview": [Case(lambda db, w, a, t: ie.preview(db, a, "teams", rows, term_id=t), FAC, TERM)],
            "importexport.commit": [Case(lambda db, w, a, t: ie.commit(db, a, "teams", rows, term_id=t), FAC, TERM)],
            "importexport.export_table": [
                # every term's teams: those of the facilitator's own programmes
                Case(lambda db, w, a, _: ie.export_table(db, a, "teams"), FAC | {"fac_other"}, label="teams",
                     shows=lambda r, w, _: any(row[0] == w["team_a"] for row in r[1]),
                     sees={"facilitator", "fac_mine"}),
                Case(lambda db, w, a, _: ie.export_table(db, a, "audit"), FAC, label="audit")],
            "importexport.export_bytes": [Case(lambda db, w, a, _: ie.export_bytes(db, a, "users", "csv"), FAC)],
        })
    except ImportError:
        pass
    try:
        dash = importlib.import_module("matching.dashboard")
        for name in ("counts_by_state", "feedback_timeliness", "pairings_per_department", "rank_achieved",
                     "round_progress", "similarity_distribution"):
            cases[f"dashboard.{name}"] = [Case(lambda db, w, a, t, fn=getattr(dash, name): fn(db, a, t), FAC, PAST)]
    except ImportError:
        pass
    return cases


CASES.update(_optional_cases())


def outcomes_module():
    return importlib.import_module("matching.outcomes")


def _closed_with_reports_due(db, w):
    """The past term ended long ago and closed: team A's pairing is completed, its reports due."""
    storage.update(db, "terms", w["past_term"], {"starts_on": "2025-09-08", "ends_on": "2025-12-12"})
    terms.advance_term(db, SYSTEM, w["past_term"])
    return w["pairing_a"]


PAIRING_A = lambda db, w: w["pairing_a"]  # noqa: E731
SUMMARY = {"learned": "What we learned", "made": "What we made", "recommendations": "What we recommend",
           "links": "https://example.org/a"}

# Outcomes (issue 17): the team writes its summary, the pairing's expert the final assessment, the
# organisation's representatives the outcome reports; each side reads its own pairings.
CASES.update({
    "outcomes.get_outcome": [Case(lambda db, w, a, p: outcomes_module().get_outcome(db, a, p),
                                  {"student_a", "rep_esdc", "expert", "facilitator"}, PAIRING_A)],
    "outcomes.for_team": [Case(lambda db, w, a, _: outcomes_module().for_team(db, a, w["team_a"]),
                               {"student_a", "facilitator"}, PAIRING_A,
                               shows=lambda r, w, p: p in _ids(r, "pairing_id"))],
    "outcomes.for_expert": [Case(lambda db, w, a, _: outcomes_module().for_expert(db, a),
                                 {"expert", "expert_dfo", "facilitator"}, PAIRING_A,
                                 shows=lambda r, w, p: p in _ids(r, "pairing_id"), sees={"expert"})],
    "outcomes.for_department": [Case(lambda db, w, a, _: outcomes_module().for_department(db, a, w["esdc"]),
                                     {"rep_esdc", "facilitator"}, _closed_with_reports_due,
                                     shows=lambda r, w, p: p in _ids(r, "pairing_id"))],
    "outcomes.overdue_reports": [Case(lambda db, w, a, _: outcomes_module().overdue_reports(db, a), FAC,
                                      _closed_with_reports_due,
                                      shows=lambda r, w, p: p in _ids(r, "pairing_id"))],
    "outcomes.completed_outcomes": [Case(lambda db, w, a, _: outcomes_module().completed_outcomes(db, a), FAC,
                                         _closed_with_reports_due,
                                         shows=lambda r, w, p: p in _ids(r, "pairing_id"))],
    "outcomes.save_summary": [Case(lambda db, w, a, p: outcomes_module().save_summary(db, a, p, SUMMARY),
                                   {"student_a"}, PAIRING_A)],
    "outcomes.save_assessment": [Case(lambda db, w, a, p: outcomes_module().save_assessment(
        db, a, p, SCORES, "Final words"), {"expert"}, PAIRING_A)],
    "outcomes.save_report": [Case(lambda db, w, a, p: outcomes_module().save_report(
        db, a, p, "3m", "piloted", "Piloted in two offices"), {"rep_esdc"}, _closed_with_reports_due)],
})

# The dashboard's impact across terms (matching/impact.py): facilitators only, every figure.
IMPACT_FIGURES = ("challenges_per_organisation", "report_share", "outcomes_by_status", "approval_times",
                  "feedback_on_time")
CASES.update({f"impact.{name}": [Case(lambda db, w, a, _, name=name: getattr(
    importlib.import_module("matching.impact"), name)(db, a), FAC, _closed_with_reports_due)]
    for name in IMPACT_FIGURES})

#: Facilitator actions that are not programme-scoped but need a facilitator of every programme
#: (the whole audit log; making a facilitator account; programmes themselves): neither limited
#: facilitator may call them.
ALL_PROGRAMMES_ONLY = {"accounts.create_user", "maintenance.audit_log", "programmes.create_programme",
                       "programmes.limit_facilitator", "importexport.export_table[audit]",
                       "importexport.export_bytes"}  # the users list


#: Listings: a facilitator limited to another programme may call them and gets none of the
#: world's rows (the case's ``shows`` must then be False for ``fac_other``).
LISTINGS = {"outcomes.completed_outcomes", "outcomes.for_department", "outcomes.for_expert", "outcomes.for_team",
            "outcomes.overdue_reports", *(f"impact.{name}" for name in IMPACT_FIGURES)}

#: Cases whose ``shows`` looks for a record of the other programme: ``fac_mine`` must not see it.
SHOWS_OTHER_PROGRAMME = {"challenges.offers"}


def _limited_facilitators() -> None:
    """A facilitator limited to the world's programme may do and see what any facilitator may;
    one limited to another programme what a case grants ``fac_other`` explicitly."""
    for service, cases in CASES.items():
        for case in cases:
            if f"{service}[{case.label}]" in ALL_PROGRAMMES_ONLY or service in ALL_PROGRAMMES_ONLY:
                case.may_call = set(case.may_call) - {"fac_mine", "fac_other"}
                continue
            if service in LISTINGS and "facilitator" in case.may_call:
                case.sees = set(case.may_call if case.sees is None else case.sees)
                case.may_call = set(case.may_call) | {"fac_other"}
            if "facilitator" in case.may_call:
                case.may_call = set(case.may_call) | {"fac_mine"}
            if case.sees is not None and "facilitator" in case.sees and service not in SHOWS_OTHER_PROGRAMME:
                case.sees = case.sees | {"fac_mine"}


_limited_facilitators()

#: Public functions that take ``db`` but no actor, and why no permission check is needed.
ACTORLESS = {
    "sessions.signing_key": "the server's cookie-signing key; never leaves the server",
    "sessions.redeem": "the session route: the one-time code is the proof (no signed-in actor yet)",
    "sessions.check": "each run re-checks its own session id (tests/test_sessions.py)",
    "sessions.restore": "a new tab: the signed cookie is the proof (tests/test_sessions.py)",
    "sessions.session_id_for_cookie": "the sign-out route: the signed cookie is the proof",
    "sessions.revoke": "ends the session the signed cookie names (sign-out route, idle expiry)",
    "sessions.revoke_sessions": "called inside password change and reset, which authorize first",
    "sessions.open_sessions": "internal count for the account page and the tests",
    "accounts.authenticate": "signing in: there is no actor yet (timing and audit tested elsewhere)",
    "accounts.sign_in_verified_email": "single sign-on: the identity provider vouched for the e-mail",
    "matches.cached": "the rankers' cache, called inside services that checked the actor",
    "accounts.find_user": "internal look-up used by sign-in, the CLI and imports",
    "accounts.get_user": "loads the signed-in user from the session's id",
    "accounts.load_user": "builds a user from its row (with a facilitator's programmes) for sign-in and sessions",
    "programmes.list_programmes": "programme names are public",
    "programmes.get_programme": "programme names are public",
    "programmes.default_programme": "programme names are public",
    "programmes.find_programme": "programme names are public (CLI and import look-up)",
    "programmes.require_programme": "programme names are public (CLI and import look-up)",
    "programmes.labels": "programme names are public",
    "programmes.of_term": "which programme a record belongs to: the input of authorize()",
    "programmes.of_challenge": "which programme a record belongs to: the input of authorize()",
    "programmes.of_team": "which programme a record belongs to: the input of authorize()",
    "programmes.of_pairing": "which programme a record belongs to: the input of authorize()",
    "programmes.facilitator_programme_ids": "loads a facilitator's limits into the signed-in user",
    "organisations.kind_of": "organisation types are public",
    "organisations.kinds_of": "organisation types are public",
    "accounts.first_account_per_role": "demo sign-in list (demo accounts only)",
    "audit.events": "internal reader; facilitators read the log through maintenance.audit_log",
    "challenges.approved_challenges": "approved challenges are public to every signed-in role",
    "demo.ensure_ready": "app start-up seeding (demo mode only)",
    "departments.acronyms": "department acronyms are public",
    "departments.acronym": "department acronyms are public",
    "departments.find_by_acronym": "department acronyms are public (CLI and import look-up)",
    "demo.is_empty": "app start-up check",
    "demo.load_demo": "CLI/app seeding as the system operator",
    "feedback.ensure_entries": "internal step inside create_round and publish transactions",
    "maintenance.find_term": "CLI argument look-up",
    "pairings.has_proposal": "a yes/no used by facilitator pages",
    "pairings.last_publication": "used by facilitator pages after publish",
    "pairings.term_challenges": "approved challenges only (public)",
    "teams.find_team": "CLI argument look-up",
    "teams.keyword_vocabulary": "skill and theme words, no personal data",
    "teams.list_teams": "public team profiles: member e-mails are blanked (test_privacy)",
    "terms.default_term": "term names and states are public",
    "terms.resolve_term": "term names and states are public (CLI argument look-up)",
    "terms.advance_check": "counts only, read by the facilitator's terms page",
    "terms.term_of": "term names and states are public",
    "challenges.challenge_term": "which term takes new challenges (public term states)",
    "challenges.has_published_pairing": "a yes/no inside challenge services",
    "teams.preferences_open": "a yes/no about the team's term state",
    "teams.rankable_challenge_ids": "ids of approved challenges (public)",
    "importexport.import_term": "which term an import writes into (public term states)",
    "pairings.plan_version": "a counter the facilitator's pages carry",
    "pairings.check_plan_version": "internal check inside pairing services' transactions",
    "pairings.touch_plan": "internal counter bump inside pairing and challenge services' transactions",
    "terms.get_term": "term names and states are public",
    "terms.list_terms": "term names and states are public",
    "outcomes.rubric_averages": "figures of a pairing, read inside services that checked the actor (get_outcome, the export)",
    "outcomes.due_reminders": "CLI (portal notify due) as the system operator; recipients computed from the data",
    "outcomes.expert_of": "which expert account a challenge's SME e-mail names (internal look-up)",
    "notifications.notify": "internal step inside the transaction of the change it reports; recipients computed there",
    "notifications.queue_email": "internal step inside notify and the digest; queues, sends nothing",
    "notifications.due_reminders": "CLI (portal notify due) as the system operator; recipients computed from the data",
    "notifications.queue_digests": "CLI (portal notify due) as the system operator",
    "notifications.last_reminder": "a timestamp read by the facilitator's rounds page",
    "notifications.purge_term_text": "internal step inside maintenance.purge_term (which checks term.purge)",
    "library.purge_term_outcomes": "internal step inside maintenance.purge_term (which checks term.purge)",
    "mail.claim": "CLI sender (portal notify send), the system operator",
    "mail.send_pending": "CLI sender (portal notify send), the system operator",
    "mail.waiting": "a count for the CLI sender",
    "password_reset.request_reset": "signing-in help: there is no actor yet; the same answer for every address (tested)",
    "password_reset.token_is_valid": "the reset link itself is the credential (hashed, single-use, 30 minutes)",
    "password_reset.reset_password": "the reset link itself is the credential (hashed, single-use, 30 minutes)",
}
#: Modules whose db-first functions are storage primitives, not services (pg_backup: the
#: PostgreSQL steps of maintenance.backup / restore, which authorize first; copydb: schema and
#: checksum readers of copydb.copy_database, which authorizes db.copy first).
PRIMITIVE_MODULES = {"db", "pg_backup", "copydb"}
#: ``audit.record`` takes (db, actor) but is the recorder every service calls inside its transaction.
NOT_SERVICES = {"audit.record",
                # The events of matching.notifications are written by the services above, inside
                # their transactions, after those services checked the actor (like audit.record).
                "notifications.challenge_moved", "notifications.pairings_published",
                "notifications.round_opened", "notifications.feedback_submitted",
                "notifications.team_replied", "notifications.term_moved",
                "notifications.thread_message", "notifications.round_due_moved"}


def _public_db_functions():
    found = {}
    # A package (pairings/) is one service namespace: its modules' functions are ``pairings.<name>``.
    for info in pkgutil.walk_packages(matching.__path__, "matching."):
        top = info.name.split(".")[1]
        if top.startswith("cli") or top in PRIMITIVE_MODULES or info.ispkg:
            continue
        module = importlib.import_module(info.name)
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                params = list(inspect.signature(fn).parameters)
                if params and params[0] == "db":
                    found[f"{top}.{name}"] = params
    return found


def services() -> list[str]:
    return sorted(name for name, params in _public_db_functions().items()
                  if len(params) > 1 and params[1] in ("actor", "user") and name not in NOT_SERVICES)


def test_every_service_has_a_case():
    missing = [s for s in services() if s not in CASES]
    assert not missing, f"services without an access case: {missing}"
    assert not [c for c in CASES if c not in services()], "cases of services that no longer exist"


def test_every_actorless_db_function_is_justified():
    actorless = {name for name, params in _public_db_functions().items()
                 if not (len(params) > 1 and params[1] in ("actor", "user"))}
    assert actorless - set(ACTORLESS) == set(), "db functions without an actor and without a reason"
    assert set(ACTORLESS) - actorless == set()


MATRIX = [(service, i, role) for service in sorted(CASES) for i in range(len(CASES[service])) for role in ROLES]


@pytest.mark.parametrize("service,case_index,role", MATRIX,
                         ids=[f"{s}[{CASES[s][i].label or i}]-{r}" for s, i, r in MATRIX])
def test_access(mw, service, case_index, role):
    case = CASES[service][case_index]
    target = case.setup(mw.db, mw)
    actor = mw.user(role)
    if role not in case.may_call:
        with pytest.raises((PermissionDenied, NotFound)):
            case.call(mw.db, mw, actor, target)
        return
    result = case.call(mw.db, mw, actor, target)
    if case.shows is not None:
        sees = case.may_call if case.sees is None else case.sees
        assert case.shows(result, mw, target) is (role in sees), f"{role} {'should' if role in sees else 'must not'} see it"


def test_the_matrix_is_big_enough():
    """The figure in docs/RELIABILITY.md: roles x service cases checked."""
    assert len(services()) >= 40 and len(MATRIX) == len(ROLES) * sum(len(c) for c in CASES.values())
    print(f"\naccess matrix: {len(services())} services, {sum(len(c) for c in CASES.values())} cases x "
          f"{len(ROLES)} roles = {len(MATRIX)} checks")
