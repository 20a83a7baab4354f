"""AppTest: the facilitator's pages render in EN and FR, their main actions work, and what a
careless or hostile click would try (a guarded term move, a stale decision, a stale plan, the
wrong term) is refused with one sentence and changes nothing."""
from datetime import date, timedelta

import numpy as np
import pytest

from matching import accounts, challenges, feedback, lifecycle, pairings, terms
from matching import db as storage
from matching.matches import match_matrix
from tests.conftest import term_around_today
from tests.test_app_smoke import signed_in

# Page tests run on SQLite in the suite: every domain call they make runs on both backends in the
# domain test files, and their PostgreSQL cases (all passing at 4ece603) cost CI about 5 minutes.
# `pytest THIS_FILE --backends=sqlite,postgresql` runs them on both (docs/POSTGRES.md).

PAGES = ["views/fac_review.py", "views/fac_terms.py", "views/fac_matrix.py", "views/fac_assignment.py",
         "views/fac_feedback.py", "views/fac_dashboard.py", "views/fac_data.py"]


def facilitator(db):
    return accounts.find_user(db, "facilitator@demo.gc.ca")


def demo_term(db):
    return next(t for t in terms.list_terms(db) if t.name == "Winter 2027")


def rep_of(db, department_id):
    row = storage.one(db, "SELECT email FROM users WHERE role = 'department_rep' AND department_id = ?",
                      [department_id])
    return accounts.find_user(db, row["email"])


def state_of(db, term_id):
    return terms.get_term(db, term_id).state


def give_preferences(db, n_teams=20):
    """The first teams rank their five most similar challenges (replacing the demo preferences,
    so the tests know exactly what was ranked)."""
    teams, challenges, scores = match_matrix(db, facilitator(db), demo_term(db).id)
    with storage.transaction(db):
        db.execute("DELETE FROM preferences")
        for i, team in enumerate(teams[:n_teams]):
            for rank, j in enumerate(np.argsort(-scores[i], kind="stable")[:5], start=1):
                storage.insert(db, "preferences", {"team_id": team["id"], "challenge_id": challenges[j]["id"],
                                                   "rank": rank})


def publish_demo(db):
    """Demo term: preferences, matching, run, publish (the term stays in matching). Returns its id."""
    fac = facilitator(db)
    term = demo_term(db)
    give_preferences(db)
    terms.advance_term(db, fac, term.id)
    pairings.run_assignment(db, fac, term.id)
    pairings.publish(db, fac, term.id)
    return term.id


def go_live(db, *, due_in_days=10):
    """Demo term: preferences, matching, run, publish, active, one round. Returns the term id."""
    fac = facilitator(db)
    term = terms.get_term(db, publish_demo(db))
    terms.advance_term(db, fac, term.id)
    term_around_today(db, term.id)
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


def challenge_box(at, kind, team_id):
    """The challenge box of an adjustment form, keyed by the team and its current challenge."""
    return next(s for s in at.selectbox if s.key.startswith(f"assign_{kind}_challenge_{team_id}_"))


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
    assert f"{len(remaining)} challenge{'' if len(remaining) == 1 else 's'} approved." in texts(at)
    assert demo_db.execute("SELECT COUNT(*) FROM challenges WHERE status = 'submitted'").fetchone()[0] == 0


def test_terms_create_and_advance_with_confirmation(demo_db):
    at = page(demo_db, "views/fac_terms.py")
    at.text_input(key="term_name").input("Fall 2027")
    button(at, "Create the term").click().run()
    assert "Term Fall 2027 created in planning." in texts(at)
    fall = terms.default_term(demo_db)
    assert fall.name == "Fall 2027" and fall.state == "planning"
    # Every term is listed with its academic program and state (the demo has UVic's too, and three
    # earlier, closed terms after the open ones: issue 17); each open term has its own move.
    listed = at.dataframe[0].value
    assert list(listed.iloc[:3, 0]) == ["Fall 2027", "Winter 2027", "UVic Spring 2027"]
    assert list(listed.iloc[:3, 1]) == ["Sheridan College · Bachelor of Interaction Design"] * 2 + [
        "University of Victoria · Master of Public Administration"]
    assert list(listed.iloc[:3, 2]) == ["planning", "intake", "active"]
    assert set(listed.iloc[3:, 2]) == {"closed"}
    advance = button(at, "Move to intake")
    assert advance.disabled
    at.checkbox(key=f"term_confirm_{fall.id}").check().run()
    button(at, "Move to intake").click().run()
    assert state_of(demo_db, fall.id) == "intake"
    assert state_of(demo_db, demo_term(demo_db).id) == "intake"          # the other term did not move
    assert "Fall 2027 moved from planning to intake." in texts(at)


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
    term = demo_term(demo_db)
    at.radio(key="assign_adjust_kind").set_value("lock").run()
    team_id = at.selectbox(key="assign_lock_team").value
    challenge_box(at, "lock", team_id).set_value(pairings.term_challenges(demo_db, term.id)[-1]["id"])
    button(at, "Lock").click().run()
    assert "This field is required." in texts(at)
    at.text_input(key="assign_lock_reason").input("The department asked for this team")
    at.checkbox(key="assign_lock_confirm").check()
    button(at, "Lock").click().run()
    assert not at.exception and "Locked: " in texts(at)
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
    term = demo_term(demo_db)
    plan = pairings.plan(demo_db, facilitator(demo_db), term.id)
    full = next(r for r in plan.rows if r["challenge_id"])
    other = next(r for r in plan.rows if r["challenge_id"] != full["challenge_id"])
    capacity = next(c for c in pairings.term_challenges(demo_db, term.id) if c["id"] == full["challenge_id"])["capacity"]
    taken = sum(1 for r in plan.rows if r["challenge_id"] == full["challenge_id"])
    at.selectbox(key="assign_pair_team").set_value(other["team_id"]).run()
    challenge_box(at, "pair", other['team_id']).set_value(full["challenge_id"])
    at.text_input(key="assign_pair_reason").input("Test over capacity")
    button(at, "Pair").click().run()
    if taken >= capacity:
        assert "Tick the confirmation" in texts(at)
        unchanged = pairings.plan(demo_db, facilitator(demo_db), term.id).rows
        assert [r["challenge_id"] for r in unchanged] == [r["challenge_id"] for r in plan.rows]
        at.checkbox(key="assign_pair_confirm").check()
        button(at, "Pair").click().run()
    assert "Paired: " in texts(at)


def test_feedback_rounds_create_and_reminders(demo_db):
    term_id = go_live(demo_db, due_in_days=3)
    at = page(demo_db, "views/fac_feedback.py", "fr")
    assert at.title[0].value == "Cycles de rétroaction"
    assert at.metric[0].value == "44"            # every pairing's entry is due within 7 days
    at.text_input(key="rounds_name").input("Concept")
    button(at, "Créer le cycle").click().run()
    assert "Ce champ" in texts(at) or "Entrez une date" in texts(at)
    at.text_input(key="rounds_due").input((date.today() + timedelta(days=30)).isoformat())
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
    assert len(at.dataframe) == 4            # the legend, the matrix as a table, teams for a challenge, challenges for a team


# --- Guarded term moves ----------------------------------------------------------------------

def move_term(at, term_id, label):
    at.checkbox(key=f"term_confirm_{term_id}").check().run()
    button(at, label).click().run()


def test_terms_refuse_matching_to_active_without_published_pairings(demo_db):
    term = demo_term(demo_db)
    terms.advance_term(demo_db, facilitator(demo_db), term.id)                    # intake -> matching
    at = page(demo_db, "views/fac_terms.py")
    sentence = "The term cannot start: no pairing has been published yet."
    assert any(sentence in w.value for w in at.warning)                           # said before the button
    move_term(at, term.id, "Move to active")
    assert not at.exception
    assert any(sentence in e.value for e in at.error)                             # and as the refusal
    assert state_of(demo_db, term.id) == "matching"
    # Overriding without a reason is refused too, next to the reason field.
    at.checkbox(key=f"term_override_{term.id}").check().run()
    move_term(at, term.id, "Move to active")
    assert "Give a reason for this move" in texts(at)
    assert state_of(demo_db, term.id) == "matching"
    # With a reason, the override moves it (and the audit log keeps why).
    at.text_area(key=f"term_reason_{term.id}").input("Teams start on their own projects this term.")
    move_term(at, term.id, "Move to active")
    assert state_of(demo_db, term.id) == "active"
    assert "Winter 2027 moved from matching to active." in texts(at)
    event = storage.one(demo_db, "SELECT reason FROM audit_events WHERE action = 'term.advance' ORDER BY id DESC LIMIT 1")
    assert event["reason"] == "Teams start on their own projects this term."


def test_terms_override_is_offered_only_when_something_blocks(demo_db):
    at = page(demo_db, "views/fac_terms.py")
    term = demo_term(demo_db)                                                     # intake -> matching: no guard
    assert not [c for c in at.checkbox if c.key == f"term_override_{term.id}"]


def test_terms_closing_with_open_feedback_asks_for_a_reason(demo_db):
    term_id = go_live(demo_db)
    at = page(demo_db, "views/fac_terms.py", "fr")
    assert "rétroactions sont encore ouvertes" in texts(at)
    at.checkbox(key=f"term_confirm_{term_id}").check().run()
    at.button(key=f"term_advance_{term_id}").click().run()
    assert "Donnez une raison pour ce changement" in texts(at)
    assert state_of(demo_db, term_id) == "active"
    at.text_area(key=f"term_reason_{term_id}").input("Fin de la session; les experts ont été prévenus.")
    at.checkbox(key=f"term_confirm_{term_id}").check().run()
    at.button(key=f"term_advance_{term_id}").click().run()
    assert state_of(demo_db, term_id) == "closed"
    assert at.button(key="term_create")                                           # the page still draws
    assert not [b for b in at.button if b.key == f"term_advance_{term_id}"]       # a closed term has no move


def test_terms_a_move_made_elsewhere_meanwhile_is_not_repeated(demo_db):
    term = demo_term(demo_db)
    at = page(demo_db, "views/fac_terms.py")
    at.checkbox(key=f"term_confirm_{term.id}").check().run()
    terms.advance_term(demo_db, facilitator(demo_db), term.id)                    # someone else: intake -> matching
    at.button(key=f"term_advance_{term.id}").click().run()
    assert "Someone moved this term after you opened the page" in texts(at)
    assert state_of(demo_db, term.id) == "matching"                               # not moved on to active


# --- Stale decisions, revisions, SME hand-over -----------------------------------------------

def test_review_refuses_an_approval_of_a_challenge_changed_after_the_page_loaded(demo_db):
    at = page(demo_db, "views/fac_review.py")
    cid = int(at.checkbox[1].key.rsplit("_", 1)[1])
    at.checkbox(key=f"review_confirm_{cid}").check().run()
    # Meanwhile another facilitator returns it and the department resubmits a new problem statement.
    challenges.return_for_changes(demo_db, facilitator(demo_db), cid, "Say who the users are.")
    rep = rep_of(demo_db, storage.one(demo_db, "SELECT department_id FROM challenges WHERE id = ?", [cid])["department_id"])
    challenges.submit(demo_db, rep, cid, {"problem": "A new problem statement, written after the page was opened."})
    at.button(key=f"review_approve_{cid}").click().run()
    assert not at.exception
    assert "This was changed after you opened the page, so nothing was decided." in texts(at)
    assert storage.one(demo_db, "SELECT status FROM challenges WHERE id = ?", [cid])["status"] == "submitted"
    assert "A new problem statement, written after the page was opened." in [t.value for t in at.text]
    at.button(key=f"review_approve_{cid}").click().run()                          # now the one on screen
    assert storage.one(demo_db, "SELECT status FROM challenges WHERE id = ?", [cid])["status"] == "approved"


def paired_challenge(db):
    """A challenge with a published (or running) pairing, and its department's representative."""
    live, states = lifecycle.states_sql("p.state", lifecycle.PAIRING_LIVE_STATES)
    row = storage.one(db, "SELECT c.id, c.department_id, c.title FROM pairings p "
                          f"JOIN challenges c ON c.id = p.challenge_id WHERE {live} ORDER BY c.id LIMIT 1", states)
    return row, rep_of(db, row["department_id"])


def test_revision_approve_applies_it_and_return_keeps_the_old_text(demo_db):
    publish_demo(demo_db)
    row, rep = paired_challenge(demo_db)
    challenges.propose_revision(demo_db, rep, row["id"], {"title": "A sharper title"}, note="Narrower scope.")
    at = page(demo_db, "views/fac_review.py")
    assert [h.value for h in at.header] == ["Submitted challenges", "Revisions of paired challenges",
                                            "Subject-matter experts"]
    shown = [t.value for t in at.text]
    assert row["title"] in shown and "A sharper title" in shown and "Narrower scope." in shown
    revision_id = challenges.pending_revision(demo_db, facilitator(demo_db), row["id"])["id"]
    at.button(key=f"revision_approve_{revision_id}").click().run()
    assert "Revision approved" in texts(at)
    assert storage.one(demo_db, "SELECT title FROM challenges WHERE id = ?", [row["id"]])["title"] == "A sharper title"
    # A second proposal, returned with comments: the challenge keeps its text.
    second = challenges.propose_revision(demo_db, rep, row["id"], {"title": "Too broad a title"})
    at.run()
    at.button(key=f"revision_return_{second['id']}").click().run()
    assert "This field is required." in texts(at)
    at.text_area(key=f"revision_comments_{second['id']}").input("Keep the narrower scope.")
    at.button(key=f"revision_return_{second['id']}").click().run()
    assert storage.one(demo_db, "SELECT title FROM challenges WHERE id = ?", [row["id"]])["title"] == "A sharper title"
    assert challenges.last_revision(demo_db, rep, row["id"])["state"] == "returned"


def test_revision_changed_after_the_page_loaded_is_not_decided(demo_db):
    publish_demo(demo_db)
    row, rep = paired_challenge(demo_db)
    first = challenges.propose_revision(demo_db, rep, row["id"], {"title": "First idea"})
    at = page(demo_db, "views/fac_review.py")
    challenges.propose_revision(demo_db, rep, row["id"], {"title": "Second idea"})     # replaces the pending one
    at.button(key=f"revision_approve_{first['id']}").click().run()
    assert "nothing was decided" in texts(at)
    assert storage.one(demo_db, "SELECT title FROM challenges WHERE id = ?", [row["id"]])["title"] == row["title"]


def test_change_sme_moves_the_open_feedback_entries(demo_db):
    go_live(demo_db)
    row, _ = paired_challenge(demo_db)
    open_entries = demo_db.execute(
        "SELECT COUNT(*) FROM feedback_entries e JOIN pairings p ON p.id = e.pairing_id "
        "WHERE p.challenge_id = ? AND e.state = 'open'", [row["id"]]).fetchone()[0]
    assert open_entries
    new_expert = accounts.find_user(demo_db, "hannah.kowalski@ec.gc.ca")
    at = page(demo_db, "views/fac_review.py")
    at.selectbox(key="sme_challenge").set_value(row["id"]).run()
    at.text_input(key="sme_name").input(new_expert.name)
    at.text_input(key="sme_email").input(new_expert.email)
    at.button(key="sme_go").click().run()
    assert "This field is required." in texts(at)                                 # the reason
    at.text_input(key="sme_reason").input("The first expert moved to another file.")
    at.button(key="sme_go").click().run()
    assert f"open feedback entries moved to them: {open_entries}" in texts(at)
    experts = {r["expert_id"] for r in demo_db.query(
        "SELECT e.expert_id FROM feedback_entries e JOIN pairings p ON p.id = e.pairing_id WHERE p.challenge_id = ?",
        [row["id"]])}
    assert experts == {new_expert.id}


# --- Assignment on a stale plan; the term a page acts on -------------------------------------

def test_assignment_action_on_a_stale_plan_is_refused(demo_db):
    give_preferences(demo_db)
    term = demo_term(demo_db)
    at = page(demo_db, "views/fac_assignment.py")
    button(at, "Run the assignment").click().run()
    at.radio(key="assign_adjust_kind").set_value("ban").run()
    at.text_input(key="assign_ban_reason").input("Conflict of interest")
    team_id = at.selectbox(key="assign_ban_team").value
    banned = pairings.term_challenges(demo_db, term.id)[0]["id"]
    challenge_box(at, "ban", team_id).set_value(banned)
    # Someone else takes a team off its challenge after this page drew the plan.
    other = next(r for r in pairings.plan(demo_db, facilitator(demo_db), term.id).rows
                 if r["challenge_id"] and r["team_id"] != team_id)
    pairings.unpair(demo_db, facilitator(demo_db), term.id, other["team_id"], "Elsewhere")
    button(at, "Ban").click().run()
    assert not at.exception
    assert "Someone changed the plan after you opened the page" in " ".join(e.value for e in at.error)
    assert pairings.rules(demo_db, facilitator(demo_db), term.id) == []
    # The page now shows the current plan: the same ban goes through.
    at.text_input(key="assign_ban_reason").input("Conflict of interest")
    button(at, "Ban").click().run()
    assert "Banned: " in texts(at)
    assert len(pairings.rules(demo_db, facilitator(demo_db), term.id)) == 1


def test_pages_act_on_the_term_chosen_not_the_newest(demo_db):
    fac = facilitator(demo_db)
    fall = terms.create_term(demo_db, fac, {"name": "Fall 2027"})
    winter = demo_term(demo_db)
    give_preferences(demo_db)
    at = page(demo_db, "views/fac_feedback.py")
    assert at.selectbox(key="rounds_term").value == fall.id                       # starts on the newest open term
    at.text_input(key="rounds_name").input("Kickoff")
    at.text_input(key="rounds_due").input((date.today() + timedelta(days=60)).isoformat())
    button(at, "Create the round").click().run()
    assert [r["name"] for r in feedback.rounds(demo_db, fac, fall.id)] == ["Kickoff"]
    assert feedback.rounds(demo_db, fac, winter.id) == []
    # The choice is kept across pages; the assignment page switches back to Winter and runs there.
    at.switch_page("views/fac_assignment.py").run()
    assert at.selectbox(key="assign_term").value == fall.id
    at.selectbox(key="assign_term").set_value(winter.id).run()
    button(at, "Run the assignment").click().run()
    assert not at.exception and at.metric[0].value == "44 / 44"
    assert pairings.has_proposal(demo_db, winter.id) and not pairings.has_proposal(demo_db, fall.id)
    at.switch_page("views/fac_matrix.py").run()
    assert at.selectbox(key="matrix_term").value == winter.id and len(at.dataframe) == 4
    at.selectbox(key="matrix_term").set_value(fall.id).run()
    assert "There is nothing to compare yet" in texts(at) and not at.dataframe   # no team in Fall yet
    at.switch_page("views/fac_dashboard.py").run()
    assert not at.exception


def test_a_closed_term_shows_read_only(demo_db):
    fac = facilitator(demo_db)
    old = terms.create_term(demo_db, fac, {"name": "Fall 2026"})
    for _ in range(2):
        terms.advance_term(demo_db, fac, old.id)                                  # planning -> intake -> matching
    terms.advance_term(demo_db, fac, old.id, override=True, reason="Archive test")
    terms.advance_term(demo_db, fac, old.id)                                      # -> closed
    at = page(demo_db, "views/fac_assignment.py")
    at.selectbox(key="assign_term").set_value(old.id).run()
    assert "The term Fall 2026 is closed" in texts(at)
    assert not [b for b in at.button if b.key in ("assign_run", "assign_publish")]
    at.switch_page("views/fac_feedback.py").run()
    assert "The term Fall 2026 is closed" in texts(at)
    assert not [b for b in at.button if b.key == "rounds_create"]


def test_data_page_imports_into_the_chosen_term_and_exports_name_a_term(demo_db):
    fac = facilitator(demo_db)
    fall = terms.create_term(demo_db, fac, {"name": "Fall 2027"})
    at = page(demo_db, "views/fac_data.py")
    # Two terms take challenges: the import asks which.
    assert at.selectbox(key="data_import_term_challenges").options
    at.selectbox(key="data_export_kind").set_value("matrix").run()
    assert not at.exception and at.selectbox(key="data_export_term").value in (fall.id, demo_term(demo_db).id)
    at.selectbox(key="data_export_kind").set_value("challenges").run()
    assert at.selectbox(key="data_export_term_all").options[0] == "All terms"
    at.selectbox(key="data_export_kind").set_value("users").run()
    assert "covers the whole portal" in texts(at)


def test_users_import_asks_for_the_term_only_when_two_are_open(demo_db):
    """Students' teams are found by name in one term: with two open terms the page asks which."""
    uvic = terms.resolve_term(demo_db, "UVic Spring 2027")      # the demo's second open term
    terms.advance_term(demo_db, facilitator(demo_db), uvic.id, override=True, reason="closed for this test")
    at = page(demo_db, "views/fac_data.py")
    at.selectbox(key="data_import_kind").set_value("users").run()
    assert not [s for s in at.selectbox if s.key == "data_import_term_users"]
    fall = terms.create_term(demo_db, facilitator(demo_db), {"name": "Fall 2027"})
    at = page(demo_db, "views/fac_data.py")
    at.selectbox(key="data_import_kind").set_value("users").run()
    assert any(o.startswith(fall.name) for o in at.selectbox(key="data_import_term_users").options)
