"""Dashboard figures: counts by state, pairings per department, ranks, similarity, timeliness."""
from datetime import date

import pytest

from matching import dashboard, feedback, pairings, teams, terms
from matching.errors import PermissionDenied
from matching.models import RUBRIC

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends


@pytest.fixture
def live(db, world, approved):
    fac = world["facilitator"]
    teams.save_preferences(db, world["student_a"], world["team_a"], [{"challenge_id": approved["fisheries"]}])
    pairings.run_assignment(db, fac, world["term"])
    terms.advance_term(db, fac, world["term"])
    pairings.publish(db, fac, world["term"])
    terms.advance_term(db, fac, world["term"])
    feedback.create_round(db, fac, world["term"], "Discovery", "2027-02-01")
    feedback.create_round(db, fac, world["term"], "Concept", "2027-03-01")
    return {**world, "fac": fac}


def test_counts_by_state_list_every_state(db, live):
    counts = dashboard.counts_by_state(db, live["fac"], live["term"], "fr", today=date(2027, 2, 15))
    challenges = dict(zip(counts["challenges"]["state"], counts["challenges"]["count"]))
    assert challenges == {"draft": 0, "submitted": 0, "returned": 0, "approved": 2, "archived": 0}
    pairing = dict(zip(counts["pairings"]["state"], counts["pairings"]["count"]))
    # The term is active, so its published pairings have started.
    assert pairing["active"] == 2 and pairing["approved"] == 0 and pairing["proposed"] == 0
    assert list(counts["pairings"]["label"])[:2] == ["Proposé", "Publié"]
    fb = dict(zip(counts["feedback"]["state"], counts["feedback"]["count"]))
    assert fb == {"open": 2, "overdue": 2, "submitted": 0, "answered": 0}


def test_pairings_per_department_and_rank_achieved(db, live):
    per_dept = dashboard.pairings_per_department(db, live["fac"], live["term"], "en")
    assert dict(zip(per_dept["acronym"], per_dept["pairings"])) == {"DFO": 1, "ESDC": 1}
    assert "Fisheries and Oceans Canada" in set(per_dept["department"])
    ranks = dashboard.rank_achieved(db, live["fac"], live["term"], "en")
    by_rank = dict(zip(ranks["rank"], ranks["teams"]))
    assert by_rank["1"] == 1 and by_rank["unranked"] == 1 and by_rank["unmatched"] == 0
    assert ranks["label"][0] == "Choice 1" and ranks["label"][6] == "Unmatched"


def test_similarity_distribution_bins_every_pair(db, live):
    dist = dashboard.similarity_distribution(db, live["fac"], live["term"])
    assert dist["pairs"].sum() == 2
    assert (dist["high"] - dist["low"]).round(2).eq(0.05).all()


def test_feedback_timeliness_and_round_completion(db, live):
    w = live
    today = date(2027, 2, 15)
    entry = db.execute("SELECT e.id FROM feedback_entries e JOIN feedback_rounds r ON r.id = e.round_id "
                       "WHERE e.expert_id = ? AND r.name = 'Discovery'", [w["expert"].id]).fetchone()[0]
    feedback.submit(db, w["expert"], entry, {c: 5 for c in RUBRIC}, "Clear and well researched.")
    frame = dashboard.feedback_timeliness(db, w["fac"], w["term"], "en", today=today)
    discovery = frame[frame["round"] == "Discovery"].set_index("status")["entries"].to_dict()
    # Submitted today (after the Feb 1 due date, since the test clock is real): late or on time.
    assert discovery["overdue"] == 1 and discovery["on_time"] + discovery["late"] == 1
    concept = frame[frame["round"] == "Concept"].set_index("status")["entries"].to_dict()
    assert concept == {"on_time": 0, "late": 0, "overdue": 0, "not_yet_due": 2}
    progress = dashboard.round_progress(db, w["fac"], w["term"], today=today).set_index("round")
    assert progress.loc["Discovery", "given"] == 1 and not progress.loc["Discovery", "complete"]
    # The fisheries SME has no account here; once the other entry is given, the round is complete.
    db.execute("UPDATE feedback_entries SET state = 'answered', submitted_at = '2027-01-30T10:00:00+00:00' "
               "WHERE round_id = (SELECT id FROM feedback_rounds WHERE name = 'Discovery') AND id != ?", [entry])
    progress = dashboard.round_progress(db, w["fac"], w["term"], today=today).set_index("round")
    assert progress.loc["Discovery", "complete"] and progress.loc["Discovery", "answered"] == 1
    frame = dashboard.feedback_timeliness(db, w["fac"], w["term"], "en", today=today)
    assert frame[(frame["round"] == "Discovery") & (frame["status"] == "on_time")]["entries"].iloc[0] >= 1


def test_only_facilitators_see_the_dashboard(db, live):
    for role in ("rep_esdc", "student_a", "expert"):
        with pytest.raises(PermissionDenied):
            dashboard.counts_by_state(db, live[role], live["term"])
