"""AppTest: the facilitator's pages render in EN and FR and their main actions work."""
from datetime import date, timedelta

import numpy as np
import pytest

from matching import accounts, feedback, pairings, terms
from matching import db as storage
from matching.matches import match_matrix
from tests.test_app_smoke import signed_in

PAGES = ["views/fac_review.py", "views/fac_terms.py", "views/fac_matrix.py", "views/fac_assignment.py",
         "views/fac_feedback.py", "views/fac_dashboard.py", "views/fac_data.py"]


def facilitator(db):
    return accounts.find_user(db, "facilitator@demo.gc.ca")


def give_preferences(db, n_teams=20):
    """The first teams rank their five most similar challenges (replacing the demo preferences,
    so the tests know exactly what was ranked)."""
    teams, challenges, scores = match_matrix(db, facilitator(db))
    with storage.transaction(db):
        db.execute("DELETE FROM preferences")
        for i, team in enumerate(teams[:n_teams]):
            for rank, j in enumerate(np.argsort(-scores[i], kind="stable")[:5], start=1):
                storage.insert(db, "preferences", {"team_id": team["id"], "challenge_id": challenges[j]["id"],
                                                   "rank": rank})


def go_live(db, *, due_in_days=10):
    """Demo term: preferences, matching, run, publish, active, one round. Returns the term id."""
    fac = facilitator(db)
    term = terms.current_term(db)
    give_preferences(db)
    terms.advance_term(db, fac, term.id)
    pairings.run_assignment(db, fac, term.id)
    pairings.publish(db, fac, term.id)
    terms.advance_term(db, fac, term.id)
    feedback.create_round(db, fac, term.id, "Discovery", (date.today() + timedelta(days=due_in_days)).isoformat())
    return term.id


def page(db, path, lang="en"):
    at = signed_in(db, "facilitator", lang).run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def texts(at):
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [s.value for s in at.success]
                    + [e.value for e in at.error] + [w.value for w in at.warning] + [i.value for i in at.info])


def button(at, label):
    return next(b for b in at.button if b.label == label)


@pytest.mark.parametrize("lang, title", [("en", "Review queue"), ("fr", "File d’examen")])
def test_every_page_renders_in_both_languages(demo_db, lang, title):
    at = signed_in(demo_db, "facilitator", lang).run()
    for path in PAGES:
        at.switch_page(path).run()
        assert not at.exception, (path, at.exception)
        assert at.title, path
    at.switch_page(PAGES[0]).run()
    assert at.title[0].value == title


def test_review_approve_needs_the_unclassified_confirmation(demo_db):
    at = page(demo_db, "views/fac_review.py")
    first_id = int(at.checkbox[1].key.rsplit("_", 1)[1])      # [0] is the bulk confirmation
    button(at, "Approve").click().run()
    assert "Confirm that the challenge is unclassified before approving it." in texts(at)
    assert storage.one(demo_db, "SELECT status FROM challenges WHERE id = ?", [first_id])["status"] == "submitted"
    at.checkbox(key=f"review_confirm_{first_id}").check()
    button(at, "Approve").click().run()
    assert not at.exception and "Approved:" in texts(at)
    assert storage.one(demo_db, "SELECT status FROM challenges WHERE id = ?", [first_id])["status"] == "approved"


def test_review_return_with_comments_and_bulk_approve(demo_db):
    at = page(demo_db, "views/fac_review.py")
    first_id = int(at.checkbox[1].key.rsplit("_", 1)[1])
    button(at, "Return for changes").click().run()
    assert "This field is required." in texts(at)
    at.text_area(key=f"review_comments_{first_id}").input("Please name one service channel.")
    button(at, "Return for changes").click().run()
    row = storage.one(demo_db, "SELECT status, comments FROM challenges WHERE id = ?", [first_id])
    assert row == {"status": "returned", "comments": "Please name one service channel."}
    remaining = [r["id"] for r in demo_db.query("SELECT id FROM challenges WHERE status = 'submitted'")]
    at.multiselect(key="review_bulk_ids").set_value(remaining).run()
    button(at, "Approve the selected challenges").click().run()
    assert "before approving them" in texts(at)
    at.checkbox(key="review_bulk_confirm").check()
    button(at, "Approve the selected challenges").click().run()
    assert f"{len(remaining)} challenge(s) approved." in texts(at)
    assert demo_db.execute("SELECT COUNT(*) FROM challenges WHERE status = 'submitted'").fetchone()[0] == 0


def test_terms_create_and_advance_with_confirmation(demo_db):
    at = page(demo_db, "views/fac_terms.py")
    at.text_input(key="term_name").input("Fall 2027")
    button(at, "Create the term").click().run()
    assert "Term Fall 2027 created in planning." in texts(at)
    demo_term = terms.current_term(demo_db)
    assert demo_term.name == "Fall 2027" and demo_term.state == "planning"
    advance = button(at, "Move to intake")
    assert advance.disabled
    at.checkbox(key=f"term_confirm_{demo_term.id}").check().run()
    button(at, "Move to intake").click().run()
    assert terms.get_term(demo_db, demo_term.id).state == "intake"


def test_terms_form_input_survives_the_language_switch(demo_db):
    at = page(demo_db, "views/fac_terms.py")
    at.text_input(key="term_name").input("Été 2027").run()
    at.button_group(key="language_choice").set_value("fr").run()
    assert at.title[0].value == "Sessions"
    assert at.text_input(key="term_name").value == "Été 2027"


def test_assignment_run_lock_with_reason_rerun_and_publish(demo_db):
    give_preferences(demo_db)
    at = page(demo_db, "views/fac_assignment.py")
    button(at, "Run the assignment").click().run()
    assert not at.exception and "The assignment was run" in texts(at)
    assert at.header[0].value == "Proposal (not published yet)"
    assert at.metric[0].value == "44 / 44"
    term = terms.current_term(demo_db)
    at.radio(key="assign_adjust_kind_en").set_value("Lock").run()
    team_id = at.selectbox(key="assign_lock_team").value
    at.selectbox(key="assign_lock_challenge").set_value(pairings.term_challenges(demo_db, term.id)[-1]["id"])
    button(at, "Lock").click().run()
    assert "This field is required." in texts(at)
    at.text_input(key="assign_lock_reason").input("The department asked for this team")
    at.checkbox(key="assign_lock_confirm").check()
    button(at, "Lock").click().run()
    assert not at.exception and "Locked." in texts(at)
    button(at, "Run the assignment").click().run()
    locked = [r for r in pairings.plan(demo_db, facilitator(demo_db), term.id).rows if r["locked"]]
    assert [r["team_id"] for r in locked] == [team_id]
    # Publishing needs the term in matching and a confirmation.
    assert "only possible while the term is in matching" in texts(at)
    terms.advance_term(demo_db, facilitator(demo_db), term.id)
    at.run()
    at.checkbox(key="assign_publish_confirm").check().run()
    button(at, "Publish the pairings").click().run()
    assert not at.exception and "The pairings are published" in texts(at)
    assert "Added:" in texts(at)
    assert demo_db.execute("SELECT COUNT(*) FROM pairings WHERE state = 'approved'").fetchone()[0] == 44


def test_capacity_warning_is_shown_not_applied(demo_db):
    at = page(demo_db, "views/fac_assignment.py")
    button(at, "Run the assignment").click().run()
    term = terms.current_term(demo_db)
    plan = pairings.plan(demo_db, facilitator(demo_db), term.id)
    full = next(r for r in plan.rows if r["challenge_id"])
    other = next(r for r in plan.rows if r["challenge_id"] != full["challenge_id"])
    capacity = next(c for c in pairings.term_challenges(demo_db, term.id) if c["id"] == full["challenge_id"])["capacity"]
    taken = sum(1 for r in plan.rows if r["challenge_id"] == full["challenge_id"])
    at.selectbox(key="assign_pair_team").set_value(other["team_id"])
    at.selectbox(key="assign_pair_challenge").set_value(full["challenge_id"])
    at.text_input(key="assign_pair_reason").input("Test over capacity")
    button(at, "Pair").click().run()
    if taken >= capacity:
        assert "Tick the confirmation" in texts(at)
        unchanged = pairings.plan(demo_db, facilitator(demo_db), term.id).rows
        assert [r["challenge_id"] for r in unchanged] == [r["challenge_id"] for r in plan.rows]
        at.checkbox(key="assign_pair_confirm").check()
        button(at, "Pair").click().run()
    assert "Paired." in texts(at)


def test_feedback_rounds_create_and_reminders(demo_db):
    term_id = go_live(demo_db, due_in_days=3)
    at = page(demo_db, "views/fac_feedback.py", "fr")
    assert at.title[0].value == "Cycles de rétroaction"
    assert at.metric[0].value == "44"            # every pairing's entry is due within 7 days
    at.text_input(key="rounds_name").input("Concept")
    button(at, "Créer le cycle").click().run()
    assert "Ce champ" in texts(at) or "Entrez une date" in texts(at)
    at.date_input(key="rounds_due").set_value(date.today() + timedelta(days=30))
    button(at, "Créer le cycle").click().run()
    assert "Cycle Concept créé." in texts(at)
    assert [r["name"] for r in feedback.rounds(demo_db, facilitator(demo_db), term_id)] == ["Discovery", "Concept"]


def test_dashboard_shows_charts_tables_and_round_progress(demo_db):
    go_live(demo_db)
    at = page(demo_db, "views/fac_dashboard.py")
    assert len(at.dataframe) >= 4
    assert "In progress" in texts(at)
    with storage.transaction(demo_db):
        demo_db.execute("UPDATE feedback_entries SET state = 'submitted', submitted_at = ?", [storage.now_iso()])
    at.run()
    assert "Complete" in texts(at)


def test_data_page_exports_every_list(demo_db):
    at = page(demo_db, "views/fac_data.py", "fr")
    for kind in ("challenges", "teams", "matrix", "pairings", "feedback", "audit", "users"):
        at.selectbox(key="data_export_kind").set_value(kind).run()
        assert not at.exception, kind
    assert at.title[0].value == "Importation et exportation"


def test_matrix_sorting_and_both_directions(demo_db):
    at = page(demo_db, "views/fac_matrix.py")
    at.radio(key="matrix_sort").set_value("best").run()
    assert not at.exception
    assert len(at.dataframe) == 3            # the matrix as a table, teams for a challenge, challenges for a team
