"""The bundled demo data: what the issue promises, loaded whole or not at all."""
from collections import Counter

import pytest

from matching import demo
from matching.models import CONTENT_LANGUAGES, ROLES
from matching.organisations import ORGANISATION_KINDS

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends


def test_demo_data_set_has_what_a_first_run_needs():
    challenges, departments = demo.read_csv("challenges.csv"), demo.read_csv("departments.csv")
    teams, members, users = demo.read_csv("teams.csv"), demo.read_csv("members.csv"), demo.read_csv("users.csv")
    assert len(challenges) >= 30
    assert len({c["dept_acronym"] for c in challenges}) >= 12
    assert {c["dept_acronym"] for c in challenges} <= {d["acronym"] for d in departments}
    assert all(d["name_en"] and d["name_fr"] and d["name_en"] != d["name_fr"] for d in departments)
    assert {c["language"] for c in challenges} == set(CONTENT_LANGUAGES)
    assert len(teams) >= 40
    sizes = Counter(m["team_name"] for m in members)
    assert set(sizes) == {t["name"] for t in teams} and all(3 <= n <= 5 for n in sizes.values())
    assert {u["role"] for u in users} == set(ROLES)


def test_demo_data_has_two_programmes_and_three_kinds_of_organisation():
    """Issue 17.1, 17.2, 17.6: Sheridan's program (the main one) and UVic's, each with a term and
    teams; challenges from federal, provincial and municipal organisations, each with its
    representative; a facilitator limited to one program; a challenge offered to both programs."""
    programmes = demo.read_csv("programmes.csv")
    assert [p["code"] for p in programmes] == ["sheridan-bid", "uvic-mpa"]
    assert all(p[k] for p in programmes for k in ("institution_en", "institution_fr", "name_en", "name_fr"))
    terms = demo.read_csv("terms.csv")
    assert {t["programme"] for t in terms} == {"sheridan-bid", "uvic-mpa"} and len(terms) == 2
    teams = demo.read_csv("teams.csv")
    per_term = Counter(t["term"] or "Winter 2027" for t in teams)
    assert per_term["Winter 2027"] >= 40 and per_term["UVic Spring 2027"] >= 4
    departments = {d["acronym"]: d for d in demo.read_csv("departments.csv")}
    assert {d["kind"] for d in departments.values()} == set(ORGANISATION_KINDS)
    challenges = demo.read_csv("challenges.csv")
    kinds_with_challenges = {departments[c["dept_acronym"]]["kind"] for c in challenges}
    assert kinds_with_challenges == set(ORGANISATION_KINDS)
    users = demo.read_csv("users.csv")
    reps = {departments[u["department_acronym"]]["kind"] for u in users if u["role"] == "department_rep"}
    assert reps == set(ORGANISATION_KINDS)
    assert [u["email"] for u in users if u["programmes"]] == ["nadia.ferreira@sheridancollege.ca",
                                                              "facilitator.uvic@demo.gc.ca"]
    approved = {c["title"] for c in challenges if c["status"] == "approved" and c["term"] == "UVic Spring 2027"}
    assert {p["challenge_title"] for p in demo.read_csv("pairings.csv")} <= approved
    offers = demo.read_csv("offers.csv")
    assert offers and {o["challenge_title"] for o in offers} <= {c["title"] for c in challenges if not c["term"]}


def test_loaded_demo_puts_each_term_in_its_programme(demo_db):
    rows = demo_db.execute("SELECT t.name, p.code FROM terms t JOIN programmes p ON p.id = t.programme_id "
                           "ORDER BY t.id").fetchall()
    # The three earlier, closed terms (issue 17: outcomes) come first, then the open ones.
    assert [tuple(r) for r in rows] == [("Fall 2025", "sheridan-bid"), ("Winter 2026", "sheridan-bid"),
                                        ("UVic MPA Summer 2026", "uvic-mpa"),
                                        ("UVic Spring 2027", "uvic-mpa"), ("Winter 2027", "sheridan-bid")]
    offered = demo_db.execute("SELECT c.status, t.name FROM challenges c JOIN terms t ON t.id = c.term_id "
                              "WHERE c.offered_from IS NOT NULL").fetchall()
    assert [tuple(r) for r in offered] == [("submitted", "UVic Spring 2027")]
    limited = demo_db.execute("SELECT u.email, p.code FROM facilitator_programmes f JOIN users u ON u.id = f.user_id "
                              "JOIN programmes p ON p.id = f.programme_id ORDER BY u.id").fetchall()
    assert [tuple(r) for r in limited] == [("nadia.ferreira@sheridancollege.ca", "sheridan-bid"),
                                           ("facilitator.uvic@demo.gc.ca", "uvic-mpa")]


def test_demo_preferences_are_valid():
    approved = {c["title"] for c in demo.read_csv("challenges.csv") if c["status"] == "approved"}
    preferences = demo.read_csv("preferences.csv")
    by_team = {}
    for p in preferences:
        assert p["challenge_title"] in approved
        by_team.setdefault(p["team_name"], []).append(int(p["rank"]))
    assert all(sorted(ranks) == list(range(1, len(ranks) + 1)) and len(ranks) <= 5 for ranks in by_team.values())
    # Some teams have not ranked yet, so the "rank your preferences" step shows in the demo.
    assert "Open Door Collective" not in by_team


def test_load_demo_fills_every_table_once(demo_db):
    counts = {t: demo_db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in ("programmes", "departments", "terms", "teams", "members", "users", "challenges", "preferences",
                        "facilitator_programmes")}
    assert all(counts.values()), counts
    assert demo.load_demo(demo_db) == {}  # already loaded: nothing written twice


def test_a_broken_demo_file_writes_nothing(db, tmp_path):
    for name in ("programmes.csv", "departments.csv", "terms.csv", "teams.csv", "members.csv", "users.csv",
                 "challenges.csv"):
        (tmp_path / name).write_text((demo.DATA_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    with open(tmp_path / "challenges.csv", "a", encoding="utf-8") as f:
        f.write("NOPE,Bad,p,o,t,en,1,n,e@x.ca,approved\n")
    with pytest.raises(KeyError):
        demo.load_demo(db, tmp_path)
    assert db.execute("SELECT COUNT(*) FROM departments").fetchone()[0] == 0


def test_ensure_ready_respects_demo_mode(db, monkeypatch):
    monkeypatch.setenv("PORTAL_DEMO", "0")
    assert demo.ensure_ready(db) is False and demo.is_empty(db)


def test_demo_history_has_closed_terms_with_their_outcomes():
    """Issue 17.6: earlier, closed terms of two programmes, with final summaries, assessments and
    outcome reports at 3 and 6 months, some missing (so overdue), in English and French."""
    terms = demo.read_csv("history_terms.csv")
    challenges = demo.read_csv("history_challenges.csv")
    pairings = demo.read_csv("history_pairings.csv")
    departments = {d["acronym"]: d for d in demo.read_csv("departments.csv")}
    assert {t["state"] for t in terms} == {"closed"} and len({t["programme"] for t in terms}) >= 2
    assert {t["programme"] for t in terms} <= {p["code"] for p in demo.read_csv("programmes.csv")}
    assert {departments[c["dept_acronym"]]["kind"] for c in challenges} == {"federal", "provincial", "municipal"}
    assert {p["challenge_title"] for p in pairings} == {c["title"] for c in challenges}
    assert all(p["learned"] and p["made"] and p["recommendations"] and p["final_comment"] for p in pairings)
    assert {c["language"] for c in challenges} >= {"en", "fr", "bilingual"}
    statuses = {p[f"report_{c}_status"] for p in pairings for c in ("3m", "6m")}
    assert statuses == {"", "adopted", "piloted", "informed_decision", "not_pursued"}   # "": not reported yet
    assert {p["show_names"] for p in pairings} == {"0", "1"}


def test_load_demo_writes_the_history(demo_db):
    closed = demo_db.execute("SELECT COUNT(*) FROM terms WHERE closed_on IS NOT NULL").fetchone()[0]
    counts = {t: demo_db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in ("final_summaries", "final_assessments", "outcome_reports")}
    assert closed == 3 and counts == {"final_summaries": 12, "final_assessments": 12, "outcome_reports": 14}


def test_a_broken_history_file_writes_nothing(db, tmp_path):
    for path in demo.DATA_DIR.glob("*.csv"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    with open(tmp_path / "history_pairings.csv", "a", encoding="utf-8") as f:
        f.write("Nobody,No such challenge,1,0.1,3;3;3;3;3,c,3;3;3;3;3,c,,l,m,r,,0,3;3;3;3;3,c,,,,\n")
    with pytest.raises(KeyError):
        demo.load_demo(db, tmp_path)
    assert db.execute("SELECT COUNT(*) FROM terms").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 0
