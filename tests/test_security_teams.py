"""Issue 12, teams and pairings, written as an attacker (or an unlucky colleague) would.

* a student renames the team to another team's name in other capitals or accents, so that
  look-ups by name (``portal create-user --team``, the users import) attach new members to the
  wrong team; the exact same name must not end in a raw IntegrityError either;
* an optimiser run must not commit a proposal computed before a lock or ban that another
  facilitator added while it ran.
"""
from __future__ import annotations


import pytest
from click.testing import CliRunner

from matching import accounts, audit, i18n, pairings, teams
from matching import db as storage
from matching.cli import main as cli
from matching.errors import StaleRecord, ValidationFailed
from matching.pairings import proposal
from tests.conftest import PASSWORD

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

TAKEN = {"name": "validation.team_name_taken"}


def _profile(db, actor, team_id, **changes) -> dict:
    team = teams.get_team(db, actor, team_id)
    return {**team.__dict__, "members": [m.__dict__ for m in team.members], **changes}


# --- 4. Team names unique per term, case- and accent-insensitively ---------------------------

@pytest.mark.parametrize("name", ["access crew", "ACCESS CREW", "  Access   Crew ", "Accèss Crew", "ÀCCESS CRÉW",
                                  "Acce\u0300ss Crew"])
def test_a_student_cannot_take_another_teams_name_in_other_capitals_or_accents(db, world, name):
    student_b = world["student_b"]
    before = teams.get_team(db, student_b, world["team_b"])
    with pytest.raises(ValidationFailed) as info:
        teams.save_team(db, student_b, world["team_b"], _profile(db, student_b, world["team_b"], name=name))
    assert info.value.errors == TAKEN
    assert teams.get_team(db, student_b, world["team_b"]).name == before.name
    assert teams.find_team(db, "Access Crew", world["term"]).id == world["team_a"]
    assert teams.find_team(db, "Access Crew").id == world["team_a"]


def test_the_exact_same_name_is_a_clear_refusal_not_a_traceback(db, world):
    student_b = world["student_b"]
    with pytest.raises(ValidationFailed) as info:
        teams.save_team(db, student_b, world["team_b"], _profile(db, student_b, world["team_b"], name="Access Crew"))
    assert info.value.errors == TAKEN
    assert i18n.t(TAKEN["name"], "en") != i18n.t(TAKEN["name"], "fr") != TAKEN["name"]


def test_a_team_may_keep_its_own_name_in_new_capitals(db, world):
    student_a = world["student_a"]
    saved = teams.save_team(db, student_a, world["team_a"], _profile(db, student_a, world["team_a"], name="ACCESS crew"))
    assert saved.name == "ACCESS crew"


def test_create_team_refuses_an_accent_variant_in_the_same_term_only(db, world):
    fac = world["facilitator"]
    created = teams.create_team(db, fac, world["term"], {"name": "Équipe A"})
    for variant in ("equipe a", "EQUIPE A", "Equipe  A", "E\u0301quipe A"):
        with pytest.raises(ValidationFailed) as info:
            teams.create_team(db, fac, world["term"], {"name": variant})
        assert info.value.errors == TAKEN
    assert teams.find_team(db, "EQUIPE A", world["term"]).id == created.id
    with storage.transaction(db):
        other_term = storage.insert(db, "terms", {"name": "Fall 2027", "state": "intake",
                                                  "created_at": storage.now_iso()})
    assert teams.create_team(db, fac, other_term, {"name": "equipe a"}).id != created.id
    assert teams.find_team(db, "Équipe A", other_term).term_id == other_term


def test_the_database_itself_refuses_a_folded_duplicate(db, world):
    with pytest.raises(storage.driver(db).IntegrityError):
        with storage.transaction(db):
            storage.insert(db, "teams", {"term_id": world["term"], "name": "BLUE WÀTER", "updated_at": storage.now_iso()})
    with pytest.raises(storage.driver(db).IntegrityError):
        with storage.transaction(db):
            db.execute("UPDATE teams SET name = 'access crew' WHERE id = ?", [world["team_b"]])


def test_create_user_team_option_attaches_to_the_team_named(db, world, db_target):
    student_b = world["student_b"]
    with pytest.raises(ValidationFailed):
        teams.save_team(db, student_b, world["team_b"], _profile(db, student_b, world["team_b"], name="access crew"))
    path = db_target
    result = CliRunner().invoke(cli, ["--db", path, "create-user", "--email", "new.member@sheridancollege.ca",
                                      "--name", "New Member", "--role", "student", "--team", "ACCESS CRÈW",
                                      "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert accounts.find_user(db, "new.member@sheridancollege.ca").team_id == world["team_a"]


def test_upgrading_a_database_that_already_has_folded_duplicates(tmp_path):
    old = storage.connect(tmp_path / "old.db", migrate_schema=False)
    storage.migrate(old, target=5)
    now = storage.now_iso()
    with storage.transaction(old):
        term = storage.insert(old, "terms", {"name": "Winter 2027", "state": "intake", "created_at": now})
        first = storage.insert(old, "teams", {"term_id": term, "name": "Équipe A", "updated_at": now})
        second = storage.insert(old, "teams", {"term_id": term, "name": "equipe a", "updated_at": now})
    old.close()
    upgraded = storage.connect(tmp_path / "old.db")
    names = dict(upgraded.execute("SELECT id, name FROM teams").fetchall())
    assert names[first] == "Équipe A" and names[second] != "equipe a"     # renamed, not lost
    assert teams.find_team(upgraded, "EQUIPE A", term).id == first
    renamed = audit.events(upgraded, action="team.renamed_duplicate")
    assert [e["target_id"] for e in renamed] == [str(second)]
    upgraded.close()


# --- 5. An optimiser run re-checks the rules it was computed with ----------------------------

@pytest.fixture
def setup(db, world, approved, db_target):
    """Team A ranks fisheries (capacity 1) first; another facilitator has their own connection."""
    teams.save_preferences(db, world["student_a"], world["team_a"],
                           [{"challenge_id": approved["fisheries"]}, {"challenge_id": approved["accessibility"]}])
    other = storage.connect(db_target)
    yield {**world, **approved, "fac": world["facilitator"], "other": other}
    other.close()


def _proposed(db, term_id):
    return {r["team_id"]: r["challenge_id"] for r in
            db.query("SELECT team_id, challenge_id FROM pairings WHERE term_id = ? AND state = 'proposed'", [term_id])}


def _meanwhile(monkeypatch, action, times=1):
    """Run ``action`` (another facilitator's change) while the optimiser computes, ``times`` times."""
    real, calls = proposal.assign, []

    def assign_while_someone_else_writes(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            action(len(calls))
        return real(*args, **kwargs)

    monkeypatch.setattr(proposal, "assign", assign_while_someone_else_writes)
    return calls


def test_a_ban_added_during_a_run_is_honoured(db, setup, monkeypatch):
    w = setup
    calls = _meanwhile(monkeypatch, lambda _: pairings.ban(w["other"], w["fac"], w["term"], w["team_a"], w["fisheries"],
                                                           "conflict of interest"))
    result = pairings.run_assignment(db, w["fac"], w["term"])
    assert _proposed(db, w["term"]).get(w["team_a"]) != w["fisheries"]
    assert all((r["team_id"], r["challenge_id"]) != (w["team_a"], w["fisheries"]) for r in result.rows)
    assert len(calls) == 2                       # computed again with the new rule
    assert audit.events(db, action="pairing.run")[0]["detail"].count('"bans": 1')


def test_a_lock_added_during_a_run_is_honoured(db, setup, monkeypatch):
    w = setup
    _meanwhile(monkeypatch, lambda _: pairings.lock(w["other"], w["fac"], w["term"], w["team_b"], w["fisheries"],
                                                    "sponsor request"))
    pairings.run_assignment(db, w["fac"], w["term"])
    assert _proposed(db, w["term"])[w["team_b"]] == w["fisheries"]


def test_rules_that_keep_changing_refuse_the_run_and_write_nothing(db, setup, monkeypatch):
    w = setup
    pairings.run_assignment(db, w["fac"], w["term"])
    before, runs = _proposed(db, w["term"]), len(audit.events(db, action="pairing.run"))
    pairs = [(w["team_a"], w["fisheries"]), (w["team_b"], w["accessibility"]), (w["team_a"], w["accessibility"])]
    _meanwhile(monkeypatch, lambda n: pairings.ban(w["other"], w["fac"], w["term"], *pairs[n - 1], "again"), times=3)
    with pytest.raises(StaleRecord) as info:
        pairings.run_assignment(db, w["fac"], w["term"])
    assert info.value.current["term_id"] == w["term"]
    assert len(audit.events(db, action="pairing.run")) == runs
    assert all(_proposed(db, w["term"]).get(t) != c for t, c in pairs[:2])  # the bans themselves stand
    assert set(_proposed(db, w["term"])) <= set(before)
