"""A failed submit saves nothing, and a department deletes its own never-submitted drafts
(issue 14.5): the domain rules, then the challenge form and My challenges as a person uses them.

Two terms throughout: Winter 2027 (the world's term, in intake) and Fall 2027 (planning).
"""
from __future__ import annotations

import pytest

from matching import accounts, audit, challenges, terms
from matching import db as storage
from matching.errors import IllegalTransition, NotFound, PermissionDenied, StaleRecord, ValidationFailed
from tests.conftest import ACCESSIBILITY
from tests.test_views_department import FORM, LIST, fill, open_page, rep, shown_text

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends


def count(db, sql, params=()):
    return db.execute(sql, list(params)).fetchone()[0]


def row_of(db, actor, challenge_id) -> dict:
    return next(r for r in challenges.list_challenges(db, actor) if r["id"] == challenge_id)


def challenge_ids(db) -> set[int]:
    return {r[0] for r in db.execute("SELECT id FROM challenges").fetchall()}


@pytest.fixture
def fall(db, world):
    return terms.create_term(db, world["facilitator"], {"name": "Fall 2027", "starts_on": "2027-09-07",
                                                         "ends_on": "2027-12-17"})


# --- A refused submission saves nothing -----------------------------------------------------

@pytest.mark.parametrize("data", [{}, {"title": "Only a title"}, {**ACCESSIBILITY, "sme_email": "not-an-email"}],
                         ids=["empty", "incomplete", "invalid"])
def test_a_refused_first_submission_saves_nothing(db, world, data):
    before, events = challenge_ids(db), count(db, "SELECT COUNT(*) FROM audit_events")
    with pytest.raises(ValidationFailed):
        challenges.submit_new(db, world["rep_esdc"], data, term_id=world["term"])
    assert challenge_ids(db) == before
    assert count(db, "SELECT COUNT(*) FROM audit_events") == events


def test_a_complete_first_submission_is_created_and_submitted_in_its_term(db, world, fall):
    done = challenges.submit_new(db, world["rep_esdc"], ACCESSIBILITY, term_id=fall.id)
    assert (done.status, done.term_id) == ("submitted", fall.id)
    actions = [e["action"] for e in audit.events(db) if (e["target_type"], e["target_id"]) == ("challenge", str(done.id))]
    assert sorted(actions) == ["challenge.create", "challenge.submit"]


def test_an_empty_new_draft_is_not_saved(db, world):
    before = challenge_ids(db)
    with pytest.raises(ValidationFailed) as refused:
        challenges.save_draft(db, world["rep_esdc"], {"title": "  ", "language": "fr", "capacity": 2,
                                                      "unclassified": True})
    assert refused.value.errors == {"title": "challenge.draft_empty"}
    assert challenge_ids(db) == before
    assert challenges.save_draft(db, world["rep_esdc"], {"problem": "Half a thought"}).status == "draft"


# --- Deleting a draft ---------------------------------------------------------------------

def test_a_never_submitted_draft_is_deleted_with_its_audit_event(db, world, fall):
    winter = challenges.save_draft(db, world["rep_esdc"], {"title": "Winter draft"}, term_id=world["term"])
    autumn = challenges.save_draft(db, world["rep_esdc"], {"title": "Fall draft"}, term_id=fall.id)
    assert challenges.deletable(row_of(db, world["rep_esdc"], autumn.id))
    challenges.delete_draft(db, world["rep_esdc"], autumn.id, expected_version=autumn.version)
    with pytest.raises(NotFound):
        challenges.get_challenge(db, world["rep_esdc"], autumn.id)
    assert challenges.get_challenge(db, world["rep_esdc"], winter.id).title == "Winter draft"  # the other term's stays
    event = audit.events(db, action="challenge.delete_draft")[0]
    assert (event["target_id"], event["actor_id"]) == (str(autumn.id), world["rep_esdc"].id)
    assert "Fall draft" in event["detail"]


def test_a_draft_that_was_ever_submitted_cannot_be_deleted_only_archived(db, world):
    rep_ = world["rep_esdc"]
    draft = challenges.save_draft(db, rep_, ACCESSIBILITY)
    submitted = challenges.submit(db, rep_, draft.id, expected_version=draft.version)
    with pytest.raises(IllegalTransition) as refused:
        challenges.delete_draft(db, rep_, draft.id, expected_version=submitted.version)
    assert refused.value.key == "challenge.delete_not_draft"
    reopened = challenges.reopen(db, rep_, draft.id, expected_version=submitted.version)
    assert reopened.status == "draft"
    assert not challenges.deletable(row_of(db, rep_, draft.id))
    with pytest.raises(IllegalTransition) as refused:
        challenges.delete_draft(db, rep_, draft.id, expected_version=reopened.version)
    assert refused.value.key == "challenge.delete_was_submitted"
    assert challenges.archive(db, rep_, draft.id, expected_version=reopened.version).status == "archived"
    assert not audit.events(db, action="challenge.delete_draft")


@pytest.mark.parametrize("who, refusal", [("rep_dfo", NotFound), ("student_a", NotFound),
                                          ("expert", NotFound), ("facilitator", PermissionDenied)])
def test_only_its_own_department_deletes_a_draft(db, world, who, refusal):
    draft = challenges.save_draft(db, world["rep_esdc"], {"title": "ESDC's own draft"})
    with pytest.raises(refusal):
        challenges.delete_draft(db, world[who], draft.id, expected_version=draft.version)
    assert challenges.get_challenge(db, world["rep_esdc"], draft.id).title == "ESDC's own draft"
    assert not audit.events(db, action="challenge.delete_draft")


def test_a_delete_over_a_newer_save_is_refused(db, world):
    draft = challenges.save_draft(db, world["rep_esdc"], {"title": "First words"})
    challenges.save_draft(db, world["rep_esdc"], {"title": "A colleague's words"}, challenge_id=draft.id)
    with pytest.raises(StaleRecord):
        challenges.delete_draft(db, world["rep_esdc"], draft.id, expected_version=draft.version)
    assert challenges.get_challenge(db, world["rep_esdc"], draft.id).title == "A colleague's words"


def test_a_closed_terms_draft_is_kept_for_the_record(db, world, fall):
    fac = world["facilitator"]
    old = challenges.save_draft(db, world["rep_esdc"], {"title": "Left unfinished"}, term_id=world["term"])
    terms.advance_term(db, fac, world["term"])  # intake -> matching
    terms.advance_term(db, fac, world["term"], override=True, reason="No pairings this time")  # -> active
    terms.advance_term(db, fac, world["term"], reason="Term over")  # -> closed
    with pytest.raises(IllegalTransition) as refused:
        challenges.delete_draft(db, world["rep_esdc"], old.id, expected_version=old.version)
    assert refused.value.key == "term.closed_read_only"
    autumn = challenges.save_draft(db, world["rep_esdc"], {"title": "Next term"}, term_id=fall.id)
    challenges.delete_draft(db, world["rep_esdc"], autumn.id, expected_version=autumn.version)  # the open term's: fine


# --- The pages ----------------------------------------------------------------------------

def ids_of(demo_db) -> set[int]:
    return {c["id"] for c in challenges.list_challenges(demo_db, rep(demo_db))}


@pytest.mark.parametrize("typed", [{}, {"title": "Half-written challenge", "problem": "Too short."}],
                         ids=["empty", "invalid"])
def test_a_failed_submit_on_the_form_saves_nothing_and_keeps_what_was_typed(demo_db, typed):
    before = ids_of(demo_db)
    at = open_page(demo_db, FORM)
    fill(at, **typed)
    at.button(key="cf_submit").click().run()
    assert not at.exception
    assert ids_of(demo_db) == before, "a refused submission must not leave an 'Untitled draft'"
    assert at.title[0].value == "New challenge"
    assert "need attention" in " ".join(e.value for e in at.error)
    assert "This field is required." in [e.value for e in at.error]
    for field, value in typed.items():
        assert at.text_input(key=f"cf_{field}").value == value if field == "title" else \
            at.text_area(key=f"cf_{field}").value == value
    at.button(key="cf_save").click().run()  # the same text, kept as a draft only when asked
    assert not at.exception
    if typed:
        assert len(ids_of(demo_db) - before) == 1
    else:
        assert ids_of(demo_db) == before
        assert "Type at least a title before saving a draft." in [e.value for e in at.error]


def test_my_challenges_deletes_a_never_submitted_draft_after_a_confirmation(demo_db):
    user = rep(demo_db)
    fac = accounts.find_user(demo_db, "facilitator@demo.gc.ca")
    fall = terms.create_term(demo_db, fac, {"name": "Fall 2027"})
    winter_id = terms.list_terms(demo_db, ("intake",))[0].id
    keep = challenges.save_draft(demo_db, user, {"title": "Winter idea"}, term_id=winter_id)
    doomed = challenges.save_draft(demo_db, user, {"title": "Fall idea"}, term_id=fall.id)
    once = challenges.save_draft(demo_db, user, ACCESSIBILITY, term_id=fall.id)
    once = challenges.reopen(demo_db, user, once.id,
                             expected_version=challenges.submit(demo_db, user, once.id).version)
    at = open_page(demo_db, LIST)
    assert at.button(key=f"delete_{keep.id}") and at.button(key=f"delete_{doomed.id}")
    assert not [b for b in at.button if b.key == f"delete_{once.id}"], "an ever-submitted draft is archived, not deleted"
    assert [b for b in at.button if b.key == f"archive_{once.id}"]

    at.button(key=f"delete_{doomed.id}").click().run()
    assert "Delete this draft for good?" in " ".join(w.value for w in at.warning)
    at.button(key=f"cancel_{doomed.id}").click().run()
    assert doomed.id in ids_of(demo_db)
    at.button(key=f"delete_{doomed.id}").click().run()
    at.button(key=f"confirm_{doomed.id}").click().run()
    assert not at.exception
    assert "The draft was deleted." in [s.value for s in at.success]
    assert doomed.id not in ids_of(demo_db) and keep.id in ids_of(demo_db) and once.id in ids_of(demo_db)
    assert "Fall idea" not in shown_text(at) + " ".join(s.value for s in at.subheader)


def test_a_delete_confirmed_after_someone_else_saved_is_refused_in_french(demo_db):
    user = rep(demo_db)
    draft = challenges.save_draft(demo_db, user, {"title": "Brouillon partagé"})
    at = open_page(demo_db, LIST, "fr")
    at.button(key=f"delete_{draft.id}").click().run()
    challenges.save_draft(demo_db, user, {"title": "Brouillon partagé, complété"}, challenge_id=draft.id)  # a colleague
    at.button(key=f"confirm_{draft.id}").click().run()
    assert not at.exception
    assert draft.id in ids_of(demo_db)
    assert at.error or at.warning
    assert not audit.events(demo_db, action="challenge.delete_draft")


def test_a_deleted_draft_open_in_the_form_is_forgotten(demo_db):
    user = rep(demo_db)
    draft = challenges.save_draft(demo_db, user, {"title": "Open in the form"})
    at = open_page(demo_db, FORM, edit_challenge_id=draft.id)
    assert at.title[0].value == "Edit challenge"
    at.switch_page(LIST).run()
    at.button(key=f"delete_{draft.id}").click().run()
    at.button(key=f"confirm_{draft.id}").click().run()
    at.switch_page(FORM).run()
    assert not at.exception
    assert at.title[0].value == "New challenge"
    assert not at.error, [e.value for e in at.error]
    assert at.text_input(key="cf_title").value == ""
    assert storage.one(demo_db, "SELECT id FROM challenges WHERE id = ?", [draft.id]) is None
