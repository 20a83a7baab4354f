"""Impact across terms (issue 17.5): the dashboard's figures over every term and programme, and the
demo's outcomes export (the issue's "done when"); on both storage backends."""
from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner

from matching import accounts, impact, importexport, outcomes, programmes
from matching.cli import main
from matching.errors import PermissionDenied

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def test_the_demo_outcomes_export_spans_programmes_and_levels_of_government(demo_db, db_target, tmp_path):
    out = tmp_path / "outcomes.csv"
    result = CliRunner().invoke(main, ["--db", str(db_target), "export", "outcomes", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    import csv
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert len(rows) >= 12                                      # every completed pairing of the closed terms
    assert len({r["Academic program"] for r in rows}) >= 2
    assert {"Provincial or territorial government", "Municipal government"} <= {r["Organization type"] for r in rows}
    assert "anonymized" in {r["Team"] for r in rows} and "Clear Path Studio" in {r["Team"] for r in rows}
    assert {"Adopted", "Piloted", "Informed a decision", "Not pursued", "No report yet"} <= {
        r["Latest outcome"] for r in rows}
    assert all(r["Rubric average"] for r in rows)


def test_the_impact_figures_cover_every_closed_term(demo_db):
    fac = accounts.find_user(demo_db, "facilitator@demo.gc.ca")
    per_org = impact.challenges_per_organisation(demo_db, fac, "fr")
    assert {"Fall 2025", "Winter 2026", "UVic MPA Summer 2026", "Winter 2027"} <= set(per_org["term"])
    assert "Administration municipale" in set(per_org["kind_label"])
    share = impact.report_share(demo_db, fac).set_index("term")
    assert share.loc["Fall 2025", "completed"] == 5 and share.loc["Fall 2025", "reported"] == 4
    by_status = impact.outcomes_by_status(demo_db, fac, "en")
    fall = by_status[by_status["term"] == "Fall 2025"].set_index("status")["pairings"]
    assert fall.to_dict() == {"adopted": 1, "piloted": 1, "informed_decision": 1, "not_pursued": 1, "none": 1}
    times = impact.approval_times(demo_db, fac).set_index("term")
    assert times.loc["Fall 2025", "challenges"] == 5 and times.loc["Fall 2025", "median_days"] == pytest.approx(14.8)
    on_time = impact.feedback_on_time(demo_db, fac).set_index(["term", "status"])["entries"]
    assert on_time[("Fall 2025", "on_time")] == 7 and on_time[("Fall 2025", "late")] == 3
    # Reports overdue on a fixed day: Fall 2025 (VAC both, ECCC 6m), Winter 2026 (NRCan both, PHAC 6m).
    overdue = outcomes.overdue_reports(demo_db, fac, today=date(2026, 12, 2))
    assert len(overdue) == 6 and {r["term"] for r in overdue} == {"Fall 2025", "Winter 2026"}
    # The UVic term's 3-month report of Ontario's challenge is due, not yet overdue, that day.
    uvic = [r for r in outcomes.completed_outcomes(demo_db, fac, today=date(2026, 12, 2))
            if r["term_name"] == "UVic MPA Summer 2026" and r["acronym"] == "ON"]
    assert [c["status"] for c in uvic[0]["checkpoints"]] == ["due", "upcoming"]
    for name in ("challenges_per_organisation", "report_share", "outcomes_by_status", "approval_times",
                 "feedback_on_time"):
        with pytest.raises(PermissionDenied):
            getattr(impact, name)(demo_db, accounts.find_user(demo_db, "rep@demo.gc.ca"))


def test_a_facilitator_limited_to_one_programme_sees_its_terms_only(demo_db):
    fac = accounts.find_user(demo_db, "facilitator@demo.gc.ca")
    uvic = programmes.find_programme(demo_db, "uvic-mpa")
    programmes.limit_facilitator(demo_db, accounts.SYSTEM, fac.id, [uvic.id])
    limited = accounts.find_user(demo_db, "facilitator@demo.gc.ca")
    assert set(impact.report_share(demo_db, limited)["term"]) == {"UVic MPA Summer 2026"}
    assert {r["term_name"] for r in outcomes.completed_outcomes(demo_db, limited)} == {"UVic MPA Summer 2026"}
    assert all(r["term"] == "UVic MPA Summer 2026" for r in outcomes.overdue_reports(demo_db, limited))
