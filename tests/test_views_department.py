"""AppTest: the department representative's pages (my challenges, the form, teams for my challenges)."""
import pytest
from streamlit.testing.v1.element_tree import Error

from matching import accounts, challenges
from tests.conftest import ACCESSIBILITY
from tests.test_app_smoke import signed_in

# Page tests run on SQLite in the suite: every domain call they make runs on both backends in the
# domain test files, and their PostgreSQL cases (all passing at 4ece603) cost CI about 5 minutes.
# `pytest THIS_FILE --backends=sqlite,postgresql` runs them on both (docs/POSTGRES.md).

#: How a term of the demo's main academic program is labelled once the demo has two programs.
SHERIDAN = " · Sheridan College · Bachelor of Interaction Design"

LIST, FORM, TEAMS = "views/dept_challenges.py", "views/dept_challenge_form.py", "views/dept_teams.py"


def rep(demo_db):
    return accounts.find_user(demo_db, "rep@demo.gc.ca")


def facilitator(demo_db):
    return accounts.find_user(demo_db, "facilitator@demo.gc.ca")


def open_page(demo_db, page, lang="en", **state):
    at = signed_in(demo_db, "department_rep", lang)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def leaves(node):
    """Every element under ``node`` in page order (blocks flattened)."""
    children = getattr(node, "children", None)
    if children is None:
        yield node
        return
    for index in sorted(children):
        yield from leaves(children[index])


def error_right_after(at, widget_key):
    """The error message shown directly under the widget with ``widget_key`` (None if none)."""
    elements = list(leaves(at.main))
    for i, element in enumerate(elements):
        if getattr(element, "key", None) == widget_key:
            following = elements[i + 1] if i + 1 < len(elements) else None
            return following.value if isinstance(following, Error) else None
    raise AssertionError(f"no widget {widget_key}")


def shown_text(at):
    return " ".join([t.value for t in at.text] + [m.value for m in at.markdown] + [c.value for c in at.caption]
                    + [i.value for i in at.info] + [s.value for s in at.success] + [w.value for w in at.warning])


def fill(at, **values):
    for field, value in values.items():
        key = f"cf_{field}"
        if field == "themes":
            at.multiselect(key=key).set_value(value)
        elif field == "unclassified":
            at.checkbox(key=key).check() if value else at.checkbox(key=key).uncheck()
        elif field in ("problem", "outcomes"):
            at.text_area(key=key).input(value)
        elif field == "capacity":
            at.number_input(key=key).set_value(value)
        elif field == "language":
            at.selectbox(key=key).set_value(value)
        else:
            at.text_input(key=key).input(value)
    return at


@pytest.mark.parametrize("lang, title, badge", [("en", "My challenges", "Approved"), ("fr", "Mes défis", "Approuvé")])
def test_my_challenges_lists_the_departments_challenges_with_badges(demo_db, lang, title, badge):
    at = open_page(demo_db, LIST, lang)
    assert at.title[0].value == title
    badges = [m.value for m in at.markdown if "-badge[" in m.value]
    # ESDC's three approved demo challenges, and no other department's; the one also offered to
    # UVic's program lists both programs with their states (approved at home, submitted at UVic).
    assert badges.count(f":green-badge[:material/check_circle: {badge}]") == 4
    assert len(badges) == 5 and len([s for s in at.subheader]) == 3
    assert "Climate adaptation" not in " ".join(s.value for s in at.subheader)
    assert "screen" in " ".join(s.value for s in at.subheader)


def test_each_status_says_what_to_do_next_and_returned_shows_the_comments(demo_db):
    user, fac = rep(demo_db), facilitator(demo_db)
    challenges.save_draft(demo_db, user, {"title": "Half an idea"})
    returned = challenges.save_draft(demo_db, user, {**ACCESSIBILITY, "title": "Returned one"})
    challenges.submit(demo_db, user, returned.id)
    challenges.return_for_changes(demo_db, fac, returned.id, "Please name the *SME's* branch <b>now</b>.")
    at = open_page(demo_db, LIST)
    infos = [i.value for i in at.info]
    assert "Next: finish the draft and submit it for review." in infos
    assert any("read the facilitator's comments" in i for i in infos)
    # The comment is user text: shown verbatim, never as Markdown or HTML.
    assert "Please name the *SME's* branch <b>now</b>." in [t.value for t in at.text]
    # Returned work comes first: it is what needs the representative now.
    assert [s.value for s in at.subheader][:2] == ["Returned one", "Half an idea"]


def test_archive_asks_for_confirmation(demo_db):
    draft = challenges.save_draft(demo_db, rep(demo_db), {"title": "To be archived"})
    at = open_page(demo_db, LIST)
    at.button(key=f"archive_{draft.id}").click().run()
    assert challenges.get_challenge(demo_db, rep(demo_db), draft.id).status == "draft"
    assert any("Archive this challenge?" in w.value for w in at.warning)
    at.button(key=f"confirm_{draft.id}").click().run()
    assert not at.exception
    assert challenges.get_challenge(demo_db, rep(demo_db), draft.id).status == "archived"
    assert "The challenge was archived." in [s.value for s in at.success]


def test_cancel_leaves_the_challenge_alone(demo_db):
    at = open_page(demo_db, LIST)
    at.button(key="reopen_1").click().run()
    at.button(key="cancel_1").click().run()
    assert challenges.get_challenge(demo_db, rep(demo_db), 1).status == "approved"
    assert not at.warning


def test_reopen_an_approved_challenge_from_the_list(demo_db):
    at = open_page(demo_db, LIST)
    at.button(key="reopen_1").click().run()
    at.button(key="confirm_1").click().run()
    assert challenges.get_challenge(demo_db, rep(demo_db), 1).status == "draft"
    assert any("draft again" in s.value for s in at.success)


def test_edit_button_opens_the_form_on_that_challenge(demo_db):
    draft = challenges.save_draft(demo_db, rep(demo_db), {"title": "Open me"})
    at = open_page(demo_db, LIST)
    at.button(key=f"edit_{draft.id}").click().run()
    assert not at.exception
    assert at.title[0].value == "Edit challenge"
    assert at.text_input(key="cf_title").value == "Open me"


def test_submit_shows_every_problem_under_its_field_then_succeeds(demo_db):
    at = open_page(demo_db, FORM)
    assert at.title[0].value == "New challenge"
    fill(at, title="Plain-language EI letters", problem=ACCESSIBILITY["problem"],
         outcomes=ACCESSIBILITY["outcomes"], themes=["accessibility", "plain language"],
         sme_name="Priya Raman", unclassified=True)
    at.button(key="cf_submit").click().run()
    assert not at.exception
    assert error_right_after(at, "cf_sme_email") == "This field is required."
    assert error_right_after(at, "cf_title") is None
    assert "1 field needs attention" in at.error[0].value
    # Nothing typed is lost, and the refused attempt saved nothing (issue 14.5: no junk draft).
    assert at.text_input(key="cf_title").value == "Plain-language EI letters"
    assert challenges.list_challenges(demo_db, rep(demo_db), status="draft") == []
    fill(at, sme_email="priya.raman@hrsdc-rhdcc.gc.ca")
    at.button(key="cf_submit").click().run()
    assert not at.exception and not at.error
    assert any("Submitted for review" in s.value for s in at.success)
    saved = [r for r in challenges.list_challenges(demo_db, rep(demo_db), status="submitted")
             if r["offered_from"] is None]                     # (the demo's offer to UVic is submitted too)
    assert [r["title"] for r in saved] == ["Plain-language EI letters"]
    row = challenges.get_challenge(demo_db, rep(demo_db), saved[0]["id"])
    assert row.status == "submitted" and row.themes == ["accessibility", "plain language"]
    assert any("waiting for review" in i.value for i in at.info)  # now read-only


def test_submit_an_empty_form_lists_every_missing_field(demo_db):
    at = open_page(demo_db, FORM, "fr")
    at.button(key="cf_submit").click().run()
    for key in ("cf_title", "cf_problem", "cf_outcomes", "cf_sme_name", "cf_sme_email"):
        assert error_right_after(at, key) == "Ce champ est obligatoire.", key
    assert error_right_after(at, "cf_themes") == "Ajoutez au moins un thème ou une compétence."
    assert error_right_after(at, "cf_unclassified") == "Confirmez que le défi est non classifié."


def test_save_draft_at_any_time_and_free_theme_entry(demo_db):
    at = open_page(demo_db, FORM)
    assert "accessibility" in at.multiselect(key="cf_themes").options
    fill(at, title="Draft with a new theme", themes=["accessibility", "tide pools"])
    at.button(key="cf_save").click().run()
    assert not at.exception
    assert "Draft saved." in [s.value for s in at.success]
    saved = challenges.list_challenges(demo_db, rep(demo_db), status="draft")[0]
    assert saved["themes"] == ["accessibility", "tide pools"]
    fill(at, outcomes="A prototype.")
    at.button(key="cf_save").click().run()  # a second save updates the same draft
    assert [r["outcomes"] for r in challenges.list_challenges(demo_db, rep(demo_db), status="draft")] == ["A prototype."]


def test_language_switch_keeps_the_typed_input(demo_db):
    at = open_page(demo_db, FORM)
    fill(at, title="Typed before switching", problem="Half a sentence", themes=["youth"], capacity=3,
         language="bilingual", unclassified=True)
    at.run()
    at.button_group(key="language_choice").set_value("fr").run()
    assert not at.exception
    assert at.title[0].value == "Nouveau défi"
    assert at.text_input(key="cf_title").label == "Titre"
    assert at.text_input(key="cf_title").value == "Typed before switching"
    assert at.text_area(key="cf_problem").value == "Half a sentence"
    assert at.multiselect(key="cf_themes").value == ["youth"]
    assert at.number_input(key="cf_capacity").value == 3
    assert at.selectbox(key="cf_language").value == "bilingual"
    assert at.checkbox(key="cf_unclassified").value is True


def test_a_save_over_someone_elses_save_shows_both_versions(demo_db):
    user = rep(demo_db)
    draft = challenges.save_draft(demo_db, user, {"title": "Original title"})
    at = open_page(demo_db, FORM, edit_challenge_id=draft.id)
    fill(at, title="My title")
    challenges.save_draft(demo_db, user, {"title": "Their title"}, challenge_id=draft.id)  # a colleague
    at.button(key="cf_save").click().run()
    assert not at.exception
    assert any("Someone else saved" in w.value for w in at.warning)
    texts = [t.value for t in at.text]
    assert "Their title" in texts and "My title" in texts
    assert challenges.get_challenge(demo_db, user, draft.id).title == "Their title"  # nothing overwritten
    at.button(key="cf_keep_mine").click().run()
    assert at.text_input(key="cf_title").value == "My title"
    at.button(key="cf_save").click().run()
    assert "Draft saved." in [s.value for s in at.success]
    assert challenges.get_challenge(demo_db, user, draft.id).title == "My title"


def test_taking_their_version_loads_it_into_the_form(demo_db):
    user = rep(demo_db)
    draft = challenges.save_draft(demo_db, user, {"title": "Original title"})
    at = open_page(demo_db, FORM, edit_challenge_id=draft.id)
    fill(at, title="My title")
    challenges.save_draft(demo_db, user, {"title": "Their title"}, challenge_id=draft.id)
    at.button(key="cf_save").click().run()
    at.button(key="cf_take_theirs").click().run()
    assert at.text_input(key="cf_title").value == "Their title"
    assert not at.warning


def test_a_submitted_challenge_is_read_only_with_a_reopen_action(demo_db):
    user = rep(demo_db)
    draft = challenges.save_draft(demo_db, user, ACCESSIBILITY)
    challenges.submit(demo_db, user, draft.id)
    at = open_page(demo_db, FORM, "fr", edit_challenge_id=draft.id)
    assert not at.text_input
    assert ACCESSIBILITY["problem"] in [t.value for t in at.text]
    at.button(key="cf_reopen").click().run()
    assert not at.exception
    assert challenges.get_challenge(demo_db, user, draft.id).status == "draft"
    assert at.text_input(key="cf_title").value == ACCESSIBILITY["title"]


@pytest.mark.parametrize("lang, label", [("en", "Strong match"), ("fr", "Très bonne correspondance")])
def test_teams_page_ranks_teams_with_label_score_and_reasons(demo_db, lang, label):
    at = open_page(demo_db, TEAMS, lang)
    markdown = [m.value for m in at.markdown]
    assert any(label in m for m in markdown)
    assert any(m.startswith(":violet-badge[") for m in markdown)  # shared terms as chips
    assert at.get("progress")
    assert len(at.expander) == 3  # one per approved ESDC challenge
    assert any(c.value in ("Pairings are not published yet. You will see the teams paired with your "
                           "challenges here.",
                           "Les jumelages ne sont pas encore publiés. Les équipes jumelées à vos défis "
                           "apparaîtront ici.") for c in at.caption)


def test_a_student_cannot_open_department_pages(demo_db):
    at = signed_in(demo_db, "student").run()
    for page in (LIST, FORM, TEAMS):
        with pytest.raises(Exception):
            at.switch_page(page).run()


def test_the_form_does_not_open_another_departments_challenge(demo_db):
    at = open_page(demo_db, FORM, edit_challenge_id=4)  # ECCC's approved challenge
    assert at.title[0].value == "New challenge"
    assert "This record does not exist or you do not have access to it." in [e.value for e in at.error]
    assert at.text_input(key="cf_title").value == ""


def test_teams_page_shows_the_paired_teams_profiles_once_published(demo_db):
    from matching import db as storage, terms
    now = storage.now_iso()
    with storage.transaction(demo_db):
        storage.insert(demo_db, "pairings", {"term_id": terms.default_term(demo_db).id, "team_id": 1,
                                             "challenge_id": 1, "state": "approved", "created_at": now,
                                             "updated_at": now})
    at = open_page(demo_db, TEAMS)
    assert "**Open Door Collective**" in [m.value for m in at.markdown]
    assert any(c.value.startswith("Paired with: Making the Employment Insurance") for c in at.caption)
    assert any("accessibility testing" in t.value for t in at.text)  # the team's skills


# --- Terms, paired challenges and revisions -------------------------------------------------

def pair_with_student_team(demo_db, challenge_id=1):
    """Publish a pairing of the demo student's team with the challenge (the facilitator's work)."""
    from matching import db as storage
    from tests.test_views_expert import winter
    student = accounts.find_user(demo_db, "student@demo.sheridancollege.ca")
    now = storage.now_iso()
    with storage.transaction(demo_db):
        storage.insert(demo_db, "pairings", {"term_id": winter(demo_db).id, "team_id": student.team_id,
                                             "challenge_id": challenge_id, "state": "approved", "created_at": now,
                                             "updated_at": now})
    return student


FROZEN = ("A team is paired with this challenge, so it can no longer be reopened or archived. "
          "Propose a revision instead; a facilitator will review it.")


def test_a_paired_challenge_cannot_be_reopened_or_archived_from_the_list(demo_db):
    pair_with_student_team(demo_db)
    at = open_page(demo_db, LIST)
    keys = {b.key for b in at.button}
    assert "reopen_1" not in keys and "archive_1" not in keys
    assert "revise_1" in keys and "reopen_2" in keys           # an unpaired approved one keeps them
    assert any("propose a revision" in i.value for i in at.info)
    # Forced anyway (a confirmation left from before the pairing): the domain refuses, in one sentence.
    version = challenges.get_challenge(demo_db, rep(demo_db), 1).version
    for action in ("reopen", "archive"):
        at.session_state["dept_pending"] = {"action": action, "id": 1, "version": version}
        at.run()
        at.button(key="confirm_1").click().run()
        assert not at.exception
        assert [e.value for e in at.error] == [FROZEN]
        assert challenges.get_challenge(demo_db, rep(demo_db), 1).status == "approved"
    at.button(key="revise_1").click().run()
    assert at.title[0].value == "Edit challenge" and at.button(key="cf_propose")


def test_a_revision_leaves_the_teams_view_unchanged_until_a_facilitator_approves(demo_db):
    student = pair_with_student_team(demo_db)
    original = challenges.get_challenge(demo_db, rep(demo_db), 1)
    at = open_page(demo_db, FORM, edit_challenge_id=1)
    assert not at.exception
    # The SME is not editable here: a facilitator changes it.
    assert not [w for w in at.text_input if w.key in ("cf_sme_name", "cf_sme_email")]
    assert "The subject-matter expert of a paired challenge is changed by a facilitator" in shown_text(at)
    assert "keep seeing the approved text" in shown_text(at)
    assert not [b for b in at.button if b.key in ("cf_reopen", "cf_save", "cf_submit")]
    at.button(key="cf_propose").click().run()                  # nothing changed yet
    assert error_right_after(at, "cf_title") == "Nothing has changed: edit at least one field before proposing a revision."
    fill(at, title="EI applications that work with *every* screen reader")
    at.text_area(key="cf_note").input("The pilot showed the title was too narrow.")
    at.button(key="cf_propose").click().run()
    assert not at.exception
    assert any("sent to a facilitator" in s.value for s in at.success)
    assert any("is waiting for a facilitator" in i.value for i in at.info)
    assert at.text_input(key="cf_title").value == "EI applications that work with *every* screen reader"

    def team_sees():
        st_at = signed_in(demo_db, "student")
        st_at.session_state["user_id"] = student.id
        st_at.run()
        st_at.switch_page("views/student_pairing.py").run()
        assert not st_at.exception
        return st_at.header[0].value

    assert challenges.get_challenge(demo_db, rep(demo_db), 1).title == original.title
    assert team_sees() == ui_plain(original.title)
    revision = challenges.pending_revision(demo_db, facilitator(demo_db), 1)
    challenges.decide_revision(demo_db, facilitator(demo_db), revision["id"], "approve")
    assert team_sees() == ui_plain("EI applications that work with *every* screen reader")
    at.run()
    assert any("was approved" in c.value for c in at.caption)


def ui_plain(text):
    import ui
    return ui.plain(text)


def test_a_returned_revision_shows_the_facilitators_comments(demo_db):
    pair_with_student_team(demo_db)
    revision = challenges.propose_revision(demo_db, rep(demo_db), 1, {"capacity": 3}, note="More teams")
    challenges.decide_revision(demo_db, facilitator(demo_db), revision["id"], "return",
                               comments="Capacity <b>3</b> is too many for one expert.")
    at = open_page(demo_db, FORM, "fr", edit_challenge_id=1)
    assert any("a renvoyé votre dernière révision" in w.value for w in at.warning)
    assert "Capacity <b>3</b> is too many for one expert." in [t.value for t in at.text]
    assert at.number_input(key="cf_capacity").value == 3       # the returned proposal, to fix


def test_a_new_challenge_asks_which_term_when_two_take_challenges(demo_db):
    from tests.test_views_expert import fall_term, winter
    fall = fall_term(demo_db)                                  # planning: takes challenges, like Winter (intake)
    at = open_page(demo_db, FORM)
    picker = at.selectbox(key="cf_term")
    # The demo has two academic programs: each term names its own.
    assert set(picker.options) == {f"Fall 2027 · planning{SHERIDAN}", f"Winter 2027 · intake{SHERIDAN}"}
    assert picker.value is None
    fill(at, title="Filed under the next term")
    at.button(key="cf_save").click().run()
    assert error_right_after(at, "cf_term") == "Choose the term this challenge is for."
    assert at.text_input(key="cf_title").value == "Filed under the next term"
    assert not challenges.list_challenges(demo_db, rep(demo_db), status="draft")
    at.selectbox(key="cf_term").set_value(fall.id).run()
    at.button(key="cf_save").click().run()
    assert "Draft saved." in [s.value for s in at.success]
    saved = challenges.list_challenges(demo_db, rep(demo_db), status="draft")
    assert [(r["title"], r["term_id"]) for r in saved] == [("Filed under the next term", fall.id)]
    assert "Term: Fall 2027 · planning" in [c.value for c in at.caption]   # the saved challenge names its term
    assert winter(demo_db).id != fall.id


def test_a_new_challenge_names_its_only_term_or_says_none_takes_challenges(demo_db):
    from tests.test_views_expert import facilitator as fac, winter
    at = open_page(demo_db, FORM)
    assert f"This challenge will be filed under the term Winter 2027 · intake{SHERIDAN}." in [c.value for c in at.caption]
    assert not [s for s in at.selectbox if s.key == "cf_term"]
    fill(at, title="Typed while terms move")
    for _ in range(2):  # intake -> matching -> active: no term takes challenges any more
        terms_module().advance_term(demo_db, fac(demo_db), winter(demo_db).id, reason="Test", override=True)
    at.run()
    assert any("No term can take this now" in w.value for w in at.warning)
    assert at.button(key="cf_save").disabled and at.button(key="cf_submit").disabled
    assert at.text_input(key="cf_title").value == "Typed while terms move"


def terms_module():
    from matching import terms
    return terms


def test_a_closed_terms_challenge_is_read_only(demo_db):
    from tests.test_views_expert import close_term, winter
    close_term(demo_db, winter(demo_db).id)
    at = open_page(demo_db, FORM, edit_challenge_id=1)
    assert not at.text_input and not [b for b in at.button if b.key in ("cf_reopen", "cf_propose")]
    assert any("closed term" in i.value for i in at.info)
    at = open_page(demo_db, LIST)
    assert {b.key for b in at.button if b.key and b.key.endswith("_1")} == {"view_1"}
    assert f"Term: Winter 2027 · closed{SHERIDAN}" in [h.value for h in at.header]


def test_home_lists_the_open_terms_and_names_the_term_of_each_step(demo_db):
    from tests.test_views_expert import fall_term
    fall_term(demo_db)
    pair_with_student_team(demo_db)
    at = signed_in(demo_db, "department_rep", "fr").run()
    assert not at.exception
    assert ("Sessions ouvertes\u00a0: Fall 2027 · planification, Winter 2027 · réception, UVic Spring 2027 · en cours"
            in [c.value for c in at.caption])
    assert any(i.value.startswith("Winter 2027\u00a0: 1 équipe est jumelée à vos défis") for i in at.info)
