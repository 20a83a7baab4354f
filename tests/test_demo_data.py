"""The bundled demo data: what the issue promises, loaded whole or not at all."""
from collections import Counter

import pytest

from matching import demo
from matching.models import CONTENT_LANGUAGES, ROLES

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
    assert len(demo.read_csv("terms.csv")) == 1
    assert {u["role"] for u in users} == set(ROLES)


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
              for t in ("departments", "terms", "teams", "members", "users", "challenges", "preferences")}
    assert all(counts.values()), counts
    assert demo.load_demo(demo_db) == {}  # already loaded: nothing written twice


def test_a_broken_demo_file_writes_nothing(db, tmp_path):
    for name in ("departments.csv", "terms.csv", "teams.csv", "members.csv", "users.csv", "challenges.csv"):
        (tmp_path / name).write_text((demo.DATA_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    with open(tmp_path / "challenges.csv", "a", encoding="utf-8") as f:
        f.write("NOPE,Bad,p,o,t,en,1,n,e@x.ca,approved\n")
    with pytest.raises(KeyError):
        demo.load_demo(db, tmp_path)
    assert db.execute("SELECT COUNT(*) FROM departments").fetchone()[0] == 0


def test_ensure_ready_respects_demo_mode(db, monkeypatch):
    monkeypatch.setenv("PORTAL_DEMO", "0")
    assert demo.ensure_ready(db) is False and demo.is_empty(db)
