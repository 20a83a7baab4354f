"""AppTest: the student's final summary, the expert's final assessment, the representative's
outcome reports and the dashboard's impact section (issue 17), in English and French, with
hostile text shown as typed."""
from datetime import date, timedelta

import pytest

from matching import accounts, lifecycle, outcomes
from matching import db as storage
from matching.models import RUBRIC
from tests.test_views_expert import close_term, go_live, open_page, texts

HOSTILE = "<img src=x onerror=alert(1)> **bold** [link](javascript:alert(1)) :material/home: =1+1"


def student_pairing(db):
    student = accounts.find_user(db, "student@demo.sheridancollege.ca")
    return student, outcomes.for_team(db, student, student.team_id)[0]


@pytest.mark.parametrize("lang, title, saved", [("en", "Final summary", "Final summary saved"),
                                                ("fr", "Bilan final", "Bilan final enregistré")])
def test_the_team_writes_its_final_summary(demo_db, lang, title, saved):
    go_live(demo_db)
    student, pairing = student_pairing(demo_db)
    at = open_page(demo_db, "student", "views/student_summary.py", lang)
    assert at.title[0].value == title
    prefix = f"student_summary_{pairing['pairing_id']}_"
    at.text_area(key=prefix + "learned").input(HOSTILE)
    at.text_area(key=prefix + "made").input("A prototype.")
    at.text_area(key=prefix + "recommendations").input("Test it with more people.")
    at.text_area(key=prefix + "links").input("javascript:alert(1)")
    at.button(key=prefix + "save").click().run()
    assert not at.exception
    assert at.error, "a bad link is named next to its field"
    assert outcomes.for_team(demo_db, student, student.team_id)[0]["summary"] is None
    at.text_area(key=prefix + "links").input("https://example.org/prototype")
    at.checkbox(key=prefix + "show_names").check()
    at.button(key=prefix + "save").click().run()
    assert not at.exception and saved in at.success[0].value
    summary = outcomes.for_team(demo_db, student, student.team_id)[0]["summary"]
    assert summary["learned"] == HOSTILE and summary["show_names"] is True and summary["version"] == 1
    # The hostile text stays in its text area (a widget value), never rendered as Markdown.
    assert at.text_area(key=prefix + "learned").value == HOSTILE
    assert "<img" not in " ".join(m.value for m in at.markdown)


def test_after_the_window_the_summary_is_read_only_and_hostile_text_is_plain(demo_db):
    term_id = go_live(demo_db)
    student, pairing = student_pairing(demo_db)
    outcomes.save_summary(demo_db, student, pairing["pairing_id"], {
        "learned": HOSTILE, "made": "A prototype.", "recommendations": "More tests.", "links": "https://example.org/x"})
    close_term(demo_db, term_id)
    long_ago = (date.today() - timedelta(days=lifecycle.FINAL_WORK_DAYS_AFTER_CLOSE + 1)).isoformat()
    storage.update(demo_db, "terms", term_id, {"closed_on": long_ago})
    at = open_page(demo_db, "student", "views/student_summary.py", "fr")
    assert not at.text_area, "no form once the window closed"
    shown = [t.value for t in at.text]
    assert HOSTILE in shown and "https://example.org/x" in shown
    assert "ont pris fin le" in texts(at)


@pytest.mark.parametrize("lang, title, saved", [("en", "Final assessments", "Final assessment saved"),
                                                ("fr", "Évaluations finales", "Évaluation finale enregistrée")])
def test_the_expert_gives_the_final_assessment(demo_db, lang, title, saved):
    go_live(demo_db)
    expert = accounts.find_user(demo_db, "expert@demo.gc.ca")
    pairing = outcomes.for_expert(demo_db, expert)[0]
    at = open_page(demo_db, "expert", "views/expert_final.py", lang)
    assert at.title[0].value == title and at.info   # "N teams wait for your final assessment"
    prefix = f"expert_final_{pairing['pairing_id']}_"
    at.button(key=prefix + "save").click().run()
    assert not at.exception and len(at.error) >= len(RUBRIC)   # each missing score named under its question
    for criterion in RUBRIC:
        at.radio(key=prefix + criterion).set_value(4)
    at.text_area(key=prefix + "comments").input(HOSTILE)
    at.button(key=prefix + "save").click().run()
    assert not at.exception and saved in at.success[0].value
    assessment = outcomes.for_expert(demo_db, expert)[0]["assessment"]
    assert assessment["scores"] == {c: 4 for c in RUBRIC} and assessment["comments"] == HOSTILE


def rep_pairing_with_report_due(db):
    """Winter 2027 live, closed, its end date moved four months back: the 3-month report is due."""
    term_id = go_live(db)
    close_term(db, term_id)
    storage.update(db, "terms", term_id, {"ends_on": (date.today() - timedelta(days=120)).isoformat()})
    rep = accounts.find_user(db, "rep@demo.gc.ca")
    rows = [r for r in outcomes.for_department(db, rep) if r["term_id"] == term_id]
    return rep, rows[0]


@pytest.mark.parametrize("lang, title, status_label, saved, step", [
    ("en", "Outcomes", "Piloted", "3-month report saved", "Tell us what came of"),
    ("fr", "Résultats", "Mis à l’essai", "Compte rendu à 3\u00a0mois enregistré", "Dites-nous ce qu’il est advenu")])
def test_the_representative_reports_an_outcome(demo_db, lang, title, status_label, saved, step):
    rep, pairing = rep_pairing_with_report_due(demo_db)
    assert pairing["checkpoints"][0]["status"] == "due"
    home = open_page(demo_db, "department_rep", "views/home.py", lang)
    assert step in texts(home)   # the home step asks for the report
    at = open_page(demo_db, "department_rep", "views/dept_outcomes.py", lang)
    assert at.title[0].value == title and at.warning
    prefix = f"dept_outcomes_{pairing['pairing_id']}_3m_"
    radio = at.radio(key=prefix + "status")
    assert status_label in radio.options
    radio.set_value("piloted")
    at.text_area(key=prefix + "note").input(HOSTILE)
    at.button(key=prefix + "save").click().run()
    assert not at.exception and saved in at.success[0].value
    report = outcomes.get_outcome(demo_db, rep, pairing["pairing_id"])["checkpoints"][0]["report"]
    assert report["status"] == "piloted" and report["note"] == HOSTILE
    assert HOSTILE in [t.value for t in at.text]   # the note shown as text


@pytest.mark.parametrize("lang, heading", [("en", "Impact across terms"), ("fr", "Impact d’une session à l’autre")])
def test_the_dashboard_shows_the_impact_across_terms(demo_db, lang, heading):
    at = open_page(demo_db, "facilitator", "views/fac_dashboard.py", lang)
    assert heading in [h.value for h in at.header]
    # The overdue reports (demo: earlier terms with reports never given) and five figures, each a
    # chart with its table beside it.
    assert at.warning and len(at.dataframe) >= 6
    charts = at.get("vega_lite_chart")
    assert len(charts) >= 5
