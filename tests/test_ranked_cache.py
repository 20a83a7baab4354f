"""A team's ranked, explained challenge list is cached per data version: any write to the team's
profile, even raw SQL that bypasses the domain code, changes what the next call returns."""
import json

import pytest

from matching import accounts, matches
from matching import db as storage

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends


@pytest.fixture
def facilitator(demo_db):
    return accounts.find_user(demo_db, "facilitator@demo.gc.ca")


def _team_id(db) -> int:
    return db.execute("SELECT id FROM teams ORDER BY id LIMIT 1").fetchone()[0]


def _summary(items):
    return [(c["id"], round(c["score"], 9), tuple(w for w, _ in c["reasons"])) for c in items]


def test_rerun_is_served_from_the_cache(demo_db, facilitator):
    team = _team_id(demo_db)
    first = matches.ranked_challenges_for_team(demo_db, facilitator, team)
    key = next(k for k in matches._RANKED if k[3:] == ("team_ranked", team))
    assert key[1] == storage.data_version(demo_db)
    second = matches.ranked_challenges_for_team(demo_db, facilitator, team)
    assert _summary(second) == _summary(first)
    assert matches.ranked_challenges_for_team(demo_db, facilitator, team, k=3) == second[:3]
    second[0]["score"] = -1.0  # a caller's change never reaches the cache
    assert matches.ranked_challenges_for_team(demo_db, facilitator, team)[0]["score"] == first[0]["score"]


def test_raw_sql_write_to_the_profile_changes_the_cached_list(demo_db, facilitator):
    team = _team_id(demo_db)
    before = matches.ranked_challenges_for_team(demo_db, facilitator, team)
    version = storage.data_version(demo_db)
    # Raw SQL outside the domain's code, committed by itself (both connections are autocommit).
    demo_db.execute("UPDATE teams SET skills = ? WHERE id = ?",
                    [json.dumps(["wildfire smoke forecasting", "satellite imagery", "forest fire"]), team])
    assert storage.data_version(demo_db) > version  # the trigger bumped it
    after = matches.ranked_challenges_for_team(demo_db, facilitator, team)
    assert _summary(after) != _summary(before)
    matches.clear_cache()
    assert _summary(matches.ranked_challenges_for_team(demo_db, facilitator, team)) == _summary(after)


def test_cache_is_bounded(demo_db, facilitator, monkeypatch):
    monkeypatch.setattr(matches, "_RANKED_SIZE", 2)
    ids = [r[0] for r in demo_db.execute("SELECT id FROM teams ORDER BY id LIMIT 4").fetchall()]
    for team in ids:
        matches.ranked_challenges_for_team(demo_db, facilitator, team)
    assert len(matches._RANKED) == 2
    assert {k[4] for k in matches._RANKED} == set(ids[-2:])
