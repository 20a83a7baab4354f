"""Notifications (issue 13): every event reaches exactly the people concerned, in their language,
in the inbox and through a real SMTP server (aiosmtpd on 127.0.0.1), with the outbox's retry,
crash and de-duplication behaviour, the digest, the reminders, and the permission side."""
from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from matching import accounts, challenges, feedback, mail, notifications, pairings, teams, terms
from matching import db as storage
from matching.errors import IllegalTransition, NotFound, ValidationFailed
from matching.i18n import t
from matching.models import RUBRIC
from tests.conftest import ACCESSIBILITY, FISHERIES, PASSWORD
from tests.smtp_server import html_of, silent_server, smtp_server, text_of

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

SCORES = {criterion: 4 for criterion in RUBRIC}
HOSTILE = "<script>alert(1)</script> [click](http://evil.example) & ![x](http://evil.example/x.png)"


def kinds_for(db, user) -> list[str]:
    return [r["kind"] for r in db.query("SELECT kind FROM notifications WHERE user_id = ? ORDER BY id", [user.id])]


def everyone(w):
    return [w[k] for k in ("rep_esdc", "rep_dfo", "student_a", "student_b", "facilitator", "expert")]


def set_language(db, users, lang):
    with storage.transaction(db):
        for u in users:
            storage.update(db, "users", u.id, {"language": lang})


def run_term(db, w, approved) -> dict:
    """Publish both pairings, start the term, open a round, submit and answer the ESDC entry."""
    fac = w["facilitator"]
    teams.save_preferences(db, w["student_a"], w["team_a"], [{"challenge_id": approved["accessibility"]}])
    teams.save_preferences(db, w["student_b"], w["team_b"], [{"challenge_id": approved["fisheries"]}])
    pairings.run_assignment(db, fac, w["term"])
    terms.advance_term(db, fac, w["term"])
    pairings.publish(db, fac, w["term"])
    terms.advance_term(db, fac, w["term"])
    rnd = feedback.create_round(db, fac, w["term"], "Discovery", "2027-02-01")
    entry = storage.one(db, "SELECT id FROM feedback_entries WHERE expert_id = ?", [w["expert"].id])["id"]
    feedback.submit(db, w["expert"], entry, SCORES, "Talk to screen reader users first.")
    feedback.reply(db, w["student_a"], entry, "We interviewed five of them.")
    return {"round": rnd, "entry": entry}


# --- Who hears about what -------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_event_reaches_exactly_the_people_concerned_in_their_language(db, world, lang):
    w = world
    set_language(db, everyone(w), lang)
    ids = {}
    for key, data, rep in (("accessibility", ACCESSIBILITY, w["rep_esdc"]), ("fisheries", FISHERIES, w["rep_dfo"])):
        draft = challenges.save_draft(db, rep, data)
        challenges.submit(db, rep, draft.id)
        ids[key] = draft.id
    challenges.return_for_changes(db, w["facilitator"], ids["fisheries"], "Say which harbours.")
    challenges.submit(db, w["rep_dfo"], ids["fisheries"])
    for cid in ids.values():
        challenges.approve(db, w["facilitator"], cid, confirm_unclassified=True)
    run_term(db, w, ids)

    assert kinds_for(db, w["facilitator"]) == ["challenge_submitted"] * 3 + ["term_moved"] * 0
    assert kinds_for(db, w["rep_esdc"]) == ["challenge_approved", "term_moved", "pairing_published_department",
                                            "term_moved"]
    assert kinds_for(db, w["rep_dfo"]) == ["challenge_returned", "challenge_approved", "term_moved",
                                           "pairing_published_department", "term_moved"]
    assert kinds_for(db, w["student_a"]) == ["term_moved", "pairing_published_team", "term_moved",
                                             "feedback_submitted"]
    assert kinds_for(db, w["student_b"]) == ["term_moved", "pairing_published_team", "term_moved"]
    # The expert is in the term once a pairing of theirs is published.
    assert kinds_for(db, w["expert"]) == ["pairing_published_expert", "term_moved", "round_opened", "team_replied"]

    # Each notification was queued as an e-mail in the recipient's language, subject first.
    for row in db.query("SELECT n.kind, n.params, o.subject, o.language, o.recipient, u.email FROM notifications n "
                        "JOIN outbox o ON o.id = n.outbox_id JOIN users u ON u.id = n.user_id"):
        params = json.loads(row["params"])
        assert row["language"] == lang and row["recipient"] == row["email"]
        assert row["subject"] == notifications.subject(row["kind"], params, lang)
        assert "{" not in row["subject"]
    assert db.execute("SELECT COUNT(*) FROM notifications WHERE outbox_id IS NULL").fetchone()[0] == 0

    with smtp_server() as (server, env):
        result = mail.send_pending(db, mail.settings(env))
        assert result["sent"] == db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] > 0
        feedback_mail = server.to(w["student_a"].email)[-1]
        assert feedback_mail["Subject"] == t("notify.feedback_submitted.subject", lang, team="Access Crew",
                                             round="Discovery")
        assert feedback_mail["Content-Language"] == lang
        assert notifications.page_url("views/student_feedback.py") in text_of(feedback_mail)
        assert "/student_feedback" in html_of(feedback_mail)
        # Bilingual: the reader's language first, the other after it.
        other = "fr" if lang == "en" else "en"
        body = text_of(feedback_mail)
        assert body.index(t("notify.feedback_submitted.subject", lang, team="Access Crew", round="Discovery")) < \
            body.index(t("notify.feedback_submitted.subject", other, team="Access Crew", round="Discovery"))
        assert "/account" in feedback_mail["List-Unsubscribe"]
        # Nobody else heard about team A's feedback.
        for person in (w["student_b"], w["rep_dfo"], w["rep_esdc"], w["facilitator"]):
            assert not [m for m in server.to(person.email) if "Discovery" in m["Subject"]]
        # Mail and inbox agree: one e-mail per notification, to that person.
        assert sorted(to for _, (to,) in server.envelopes) == sorted(
            r["email"] for r in db.query("SELECT u.email FROM notifications n JOIN users u ON u.id = n.user_id"))
        assert mail.send_pending(db, mail.settings(env))["sent"] == 0   # sending again sends nothing


def test_nobody_is_told_about_another_teams_feedback_or_another_departments_challenge(db, world, approved):
    w = world
    flow = run_term(db, w, approved)
    # Team B's member: no feedback of team A, no ESDC challenge anywhere in their inbox.
    b_inbox = notifications.inbox(db, w["student_b"])
    assert all(n["params"].get("team") in (None, "Blue Water") for n in b_inbox)
    assert not [n for n in b_inbox if n["kind"] == "feedback_submitted"]
    dfo_inbox = notifications.inbox(db, w["rep_dfo"])
    assert all(n["params"].get("title") in (None, FISHERIES["title"]) for n in dfo_inbox)
    assert not [n for n in notifications.inbox(db, w["rep_esdc"]) if n["params"].get("title") == FISHERIES["title"]]
    # A notification is read and marked only by its owner.
    mine = notifications.inbox(db, w["student_a"])[0]
    with pytest.raises(NotFound):
        notifications.mark_read(db, w["student_b"], mine["id"])
    assert notifications.unread_count(db, w["student_a"]) == len(notifications.inbox(db, w["student_a"]))
    assert flow["entry"]


def test_inbox_unread_first_mark_read_and_mark_all(db, world, approved):
    w = world
    run_term(db, w, approved)
    student = w["student_a"]
    items = notifications.inbox(db, student)
    assert [n["unread"] for n in items] == [True] * len(items)
    oldest = items[-1]
    notifications.mark_read(db, student, oldest["id"])
    items = notifications.inbox(db, student)
    assert items[-1]["id"] == oldest["id"] and not items[-1]["unread"]
    assert notifications.unread_count(db, student) == len(items) - 1
    assert notifications.mark_all_read(db, student) == len(items) - 1
    assert notifications.unread_count(db, student) == 0
    assert notifications.mark_all_read(db, student) == 0


def test_the_notification_is_written_with_its_change_or_not_at_all(db, world, monkeypatch):
    w = world
    draft = challenges.save_draft(db, w["rep_esdc"], ACCESSIBILITY)

    def crash(*args, **kwargs):
        raise RuntimeError("power cut while writing the notification")
    monkeypatch.setattr(notifications, "notify", crash)
    with pytest.raises(RuntimeError):
        challenges.submit(db, w["rep_esdc"], draft.id)
    assert challenges.get_challenge(db, w["rep_esdc"], draft.id).status == "draft"
    assert db.execute("SELECT COUNT(*) FROM notifications").fetchone()[0] == 0
    monkeypatch.undo()
    challenges.submit(db, w["rep_esdc"], draft.id)
    assert db.execute("SELECT COUNT(*) FROM notifications").fetchone()[0] == 1
    with pytest.raises(RuntimeError, match="inside the transaction"):
        notifications.notify(db, "challenge_submitted", [w["facilitator"].id])


def test_user_text_is_escaped_in_the_html_and_kept_verbatim_in_the_text(db, world):
    w = world
    draft = challenges.save_draft(db, w["rep_esdc"], {**ACCESSIBILITY, "title": "Access <b>bold</b> & co"})
    challenges.submit(db, w["rep_esdc"], draft.id)
    challenges.return_for_changes(db, w["facilitator"], draft.id, HOSTILE)
    with smtp_server() as (server, env):
        mail.send_pending(db, mail.settings(env))
        returned = [m for m in server.to(w["rep_esdc"].email)][-1]
    html = html_of(returned)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html and "Access &lt;b&gt;bold&lt;/b&gt; &amp; co" in html
    assert 'href="http://evil' not in html
    assert HOSTILE in text_of(returned)
    assert returned["Subject"] == "Challenge returned for changes: Access <b>bold</b> & co"


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("kind", sorted(notifications.KINDS))
def test_every_kind_has_its_words_in_both_languages(kind, lang):
    params = {"title": "T", "department": "ESDC", "comments": "C", "term": "Winter 2027", "team": "Access Crew",
              "round": "Discovery", "due_on": "2027-02-01", "old_due_on": "2027-01-25", "count": 2, "teams": "A, B", "rounds": "Discovery",
              "state": "active", "closes_on": "2027-05-26", "months": 3}   # the last two: outcomes (issue 17)
    for part in ("subject", "body"):
        text = t(f"notify.{kind}.{part}", lang, **notifications.localised(params, lang))
        assert text != f"notify.{kind}.{part}" and "{" not in text
    rendered = notifications.render_email([(kind, params, notifications.KINDS[kind])], lang)
    assert rendered["subject"] in rendered["text"]
    assert notifications.page_url(notifications.KINDS[kind]) in rendered["text"]
    assert notifications.page_url("views/account.py") in rendered["text"]
    if lang == "fr":
        assert "1er févr. 2027" in notifications.body("round_opened", params, "fr")
        french = notifications.body("challenge_submitted", {**params, "department_fr": "EDSC"}, "fr")
        assert "EDSC" in french and "ESDC" not in french


# --- Delivery choices -----------------------------------------------------------------------

def test_daily_digest_and_in_app_only(db, world, approved):
    w = world
    notifications.set_delivery(db, w["student_a"], "digest")
    notifications.set_delivery(db, w["student_b"], "in_app")
    with pytest.raises(ValidationFailed):
        notifications.set_delivery(db, w["student_a"], "hourly")
    run_term(db, w, approved)
    queued_to = {r["recipient"] for r in db.query("SELECT recipient FROM outbox")}
    assert w["student_a"].email not in queued_to and w["student_b"].email not in queued_to
    assert notifications.unread_count(db, w["student_b"]) == 3      # the inbox still fills
    assert notifications.queue_digests(db) == 1                     # one digest: student A's
    assert notifications.queue_digests(db) == 0                     # idempotent
    with smtp_server() as (server, env):
        mail.send_pending(db, mail.settings(env))
        digest, = server.to(w["student_a"].email)
        assert digest["Subject"] == t("notify.digest.subject", "en", count=4)
        assert text_of(digest).count("/student_pairing") == 2 * 1   # EN and FR parts
        assert not server.to(w["student_b"].email)
    assert db.execute("SELECT action FROM audit_events WHERE action = 'user.set_delivery'").fetchall()


# --- The sender: no SMTP, refusals, timeouts, crashes ----------------------------------------

def test_without_smtp_nothing_tries_to_send_and_the_inbox_fills(db, world, monkeypatch):
    for name in ("PORTAL_SMTP_HOST", "PORTAL_SMTP_PORT"):
        monkeypatch.delenv(name, raising=False)
    draft = challenges.save_draft(db, world["rep_esdc"], ACCESSIBILITY)
    challenges.submit(db, world["rep_esdc"], draft.id)
    assert mail.settings() is None
    assert mail.send_pending(db) == {"sent": 0, "retry": 0, "failed": 0, "waiting": 1}
    assert db.execute("SELECT status, attempts FROM outbox").fetchall() == [("queued", 0)]
    assert notifications.unread_count(db, world["facilitator"]) == 1


def _submit_one(db, w):
    draft = challenges.save_draft(db, w["rep_esdc"], ACCESSIBILITY)
    challenges.submit(db, w["rep_esdc"], draft.id)
    return storage.one(db, "SELECT * FROM outbox")


def test_a_crash_between_queueing_and_sending_loses_nothing_and_sends_once(db, db_target, world):
    queued = _submit_one(db, world)
    db.close()                      # the page's process dies before any sender ran
    again = storage.connect(db_target)
    with smtp_server() as (server, env):
        assert mail.send_pending(again, mail.settings(env))["sent"] == 1
        assert mail.send_pending(again, mail.settings(env))["sent"] == 0
        assert len(server.raw) == 1 and server.raw[0]["Message-ID"] == queued["message_id"]
    again.close()


def test_a_crash_after_claiming_resends_once_after_the_lease(db, world, monkeypatch):
    _submit_one(db, world)
    now = datetime.now(timezone.utc)
    mail.claim(db, now=now)                        # the sender claimed, then died before SMTP
    with smtp_server() as (server, env):
        config = mail.settings(env)
        assert mail.send_pending(db, config, now=now + timedelta(minutes=1))["sent"] == 0   # lease holds
        assert mail.send_pending(db, config, now=now + mail.LEASE + timedelta(seconds=1))["sent"] == 1
        assert len(server.raw) == 1


@pytest.mark.parametrize("dedupe", [True, False])
def test_a_crash_between_send_and_mark_resends_with_the_same_message_id(db, world, monkeypatch, dedupe):
    queued = _submit_one(db, world)
    now = datetime.now(timezone.utc)

    def die(*args, **kwargs):
        raise KeyboardInterrupt("killed after the server accepted")
    with smtp_server(dedupe=dedupe) as (server, env):
        config = mail.settings(env)
        monkeypatch.setattr(mail, "_mark_sent", die)
        with pytest.raises(KeyboardInterrupt):
            mail.send_pending(db, config, now=now)
        monkeypatch.undo()
        assert storage.one(db, "SELECT status FROM outbox")["status"] == "sending"
        assert mail.send_pending(db, config, now=now + mail.LEASE + timedelta(seconds=1))["sent"] == 1
        assert [m["Message-ID"] for m in server.raw] == [queued["message_id"]] * 2
        # A server that de-duplicates on Message-ID delivers it once; otherwise (documented in
        # matching/mail.py) the copy carries the same Message-ID.
        assert len(server.messages) == (1 if dedupe else 2)
    assert storage.one(db, "SELECT status FROM outbox")["status"] == "sent"


def test_a_refusing_server_is_retried_later_and_a_permanent_refusal_fails(db, world):
    _submit_one(db, world)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with smtp_server(refuse=["451 4.3.0 Mailbox busy, try later"]) as (server, env):
        config = mail.settings(env)
        assert mail.send_pending(db, config, now=now)["retry"] == 1
        row = storage.one(db, "SELECT * FROM outbox")
        assert row["status"] == "queued" and row["attempts"] == 1 and "451" in row["last_error"]
        assert datetime.fromisoformat(row["next_attempt_at"]) == now + mail.BACKOFF[0]
        assert mail.send_pending(db, config, now=now)["sent"] == 0            # not before its time
        assert mail.send_pending(db, config, now=now + mail.BACKOFF[0])["sent"] == 1
        assert len(server.messages) == 1
    challenges.save_draft(db, world["rep_dfo"], FISHERIES)
    draft = challenges.save_draft(db, world["rep_dfo"], FISHERIES)
    challenges.submit(db, world["rep_dfo"], draft.id)
    with smtp_server(refuse=["550 5.1.1 No such user"]) as (server, env):
        assert mail.send_pending(db, mail.settings(env))["failed"] == 1
        assert storage.one(db, "SELECT status, last_error FROM outbox ORDER BY id DESC LIMIT 1")["status"] == "failed"


def test_a_server_that_times_out_is_retried_and_no_page_waits_on_it(db, world, monkeypatch):
    with silent_server() as port:
        env = {"PORTAL_SMTP_HOST": "127.0.0.1", "PORTAL_SMTP_PORT": str(port), "PORTAL_SMTP_SECURITY": "none",
               "PORTAL_SMTP_FROM": "portal@pco-bcp.gc.ca"}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        started = time.monotonic()
        _submit_one(db, world)                      # what a page does: the change and its queueing
        assert time.monotonic() - started < 1.0
        config = mail.SmtpSettings(**{**mail.settings().__dict__, "timeout": 0.5})
        result = mail.send_pending(db, config)
        assert result["retry"] == 1
        row = storage.one(db, "SELECT * FROM outbox")
        assert row["status"] == "queued" and "timed out" in row["last_error"].lower()


def test_settings_come_from_the_environment_only():
    assert mail.settings({}) is None
    config = mail.settings({"PORTAL_SMTP_HOST": "smtp.example.gc.ca", "PORTAL_SMTP_FROM": "p@x.gc.ca",
                            "PORTAL_SMTP_SECURITY": "ssl", "PORTAL_SMTP_USER": "u", "PORTAL_SMTP_PASSWORD": "s3cret"})
    assert (config.port, config.security) == (465, "ssl") and "s3cret" not in config.describe()
    with pytest.raises(mail.SettingsError):
        mail.settings({"PORTAL_SMTP_HOST": "h", "PORTAL_SMTP_FROM": "p@x.gc.ca", "PORTAL_SMTP_SECURITY": "tls"})
    with pytest.raises(mail.SettingsError):
        mail.settings({"PORTAL_SMTP_HOST": "h"})


# --- Reminders ------------------------------------------------------------------------------

def test_due_and_overdue_reminders_are_idempotent(db, world, approved):
    w = world
    fac = w["facilitator"]
    run_term(db, w, approved)
    concept = feedback.create_round(db, fac, w["term"], "Concept", "2027-03-01")
    open_entry = storage.one(db, "SELECT id FROM feedback_entries WHERE round_id = ? AND expert_id = ?",
                             [concept["id"], w["expert"].id])
    assert notifications.due_reminders(db, today=date(2027, 2, 1)) == {"due_soon": 0, "overdue": 0, "digests": 0}
    # Discovery's DFO entry (its SME has no account) is overdue from Feb 2: the facilitators' digest.
    assert notifications.due_reminders(db, today=date(2027, 2, 25)) == {"due_soon": 1, "overdue": 0, "digests": 1}
    assert notifications.due_reminders(db, today=date(2027, 2, 25)) == {"due_soon": 0, "overdue": 0, "digests": 0}
    assert notifications.due_reminders(db, today=date(2027, 3, 2)) == {"due_soon": 0, "overdue": 1, "digests": 1}
    assert notifications.due_reminders(db, today=date(2027, 3, 2)) == {"due_soon": 0, "overdue": 0, "digests": 0}
    # A new day, still overdue: the facilitators' digest again, the expert not again.
    assert notifications.due_reminders(db, today=date(2027, 3, 3)) == {"due_soon": 0, "overdue": 0, "digests": 1}
    digest = [n for n in notifications.inbox(db, fac) if n["kind"] == "overdue_digest"][0]
    assert digest["params"]["count"] == 3   # Discovery's DFO entry, Concept's ESDC and DFO entries
    assert digest["params"]["rounds"] == "Concept, Discovery"
    assert [n["kind"] for n in notifications.inbox(db, w["expert"])][:2] == ["entry_overdue", "entry_due_soon"]
    # Other people hear nothing of it.
    for person in (w["student_a"], w["student_b"], w["rep_esdc"], w["rep_dfo"]):
        assert not [n for n in notifications.inbox(db, person) if n["kind"].startswith(("entry_", "overdue"))]
    assert open_entry


def test_remind_the_experts_with_open_entries_once_a_day(db, world, approved):
    w = world
    fac = w["facilitator"]
    flow = run_term(db, w, approved)
    concept = feedback.create_round(db, fac, w["term"], "Concept", "2027-03-01")
    with pytest.raises(ValidationFailed):        # Discovery: the only expert with an account has answered
        notifications.remind_round(db, fac, flow["round"]["id"])
    with pytest.raises(Exception):
        notifications.remind_round(db, w["student_a"], concept["id"])
    now = datetime.now(timezone.utc).replace(microsecond=0)
    result = notifications.remind_round(db, fac, concept["id"], now=now)
    assert result == {"experts": 1, "entries": 1, "without_account": 1}
    reminder = notifications.inbox(db, w["expert"])[0]
    assert reminder["kind"] == "entry_reminder" and reminder["params"]["teams"] == "Access Crew"
    with pytest.raises(IllegalTransition) as info:
        notifications.remind_round(db, fac, concept["id"], now=now + timedelta(hours=23))
    assert info.value.key == "notify.remind.too_soon"
    assert notifications.remind_round(db, fac, concept["id"], now=datetime.now(timezone.utc) + timedelta(days=1, minutes=1))
    assert db.execute("SELECT COUNT(*) FROM audit_events WHERE action = 'feedback.remind'").fetchone()[0] == 2


def test_test_message_goes_through_the_settings():
    with smtp_server() as (server, env):
        message_id = mail.send_test("someone@example.gc.ca", mail.settings(env), lang="fr")
        received, = server.messages
        assert received["Message-ID"] == message_id
        assert received["Subject"] == t("notify.mail.test_subject", "fr")
        assert received["To"] == "someone@example.gc.ca"


def test_an_expert_account_created_later_is_told_only_from_then_on(db, world, approved):
    w = world
    run_term(db, w, approved)
    fay = accounts.create_user(db, accounts.SYSTEM, {"email": "fay.fisher@dfo-mpo.gc.ca", "name": "Fay",
                                                     "role": "expert", "department_id": w["dfo"]}, PASSWORD)
    feedback.create_round(db, w["facilitator"], w["term"], "Concept", "2027-03-01")
    assert kinds_for(db, fay) == ["round_opened"]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_reminders_withdrawals_and_digests_are_mailed_in_both_languages(db, world, approved, lang):
    """The events the main flow does not reach (a withdrawn pairing, due-soon, overdue, the
    facilitators' overdue digest, a facilitator's reminder): in the inbox and received by SMTP,
    each subject in the recipient's language."""
    w = world
    fac = w["facilitator"]
    set_language(db, everyone(w), lang)
    teams.save_preferences(db, w["student_a"], w["team_a"], [{"challenge_id": approved["accessibility"]}])
    teams.save_preferences(db, w["student_b"], w["team_b"], [{"challenge_id": approved["fisheries"]}])
    pairings.run_assignment(db, fac, w["term"])
    terms.advance_term(db, fac, w["term"])
    pairings.publish(db, fac, w["term"])
    pairings.unpair(db, fac, w["term"], w["team_b"], "The team split up.")
    pairings.publish(db, fac, w["term"])
    terms.advance_term(db, fac, w["term"])
    rnd = feedback.create_round(db, fac, w["term"], "Discovery", "2027-02-01")
    notifications.due_reminders(db, today=date(2027, 1, 28))
    notifications.due_reminders(db, today=date(2027, 2, 3))
    notifications.remind_round(db, fac, rnd["id"])
    fac_two = accounts.create_user(db, accounts.SYSTEM, {"email": "fac2@pco.gc.ca", "name": "Fac Two",
                                                         "role": "facilitator", "language": lang}, PASSWORD)
    notifications.due_reminders(db, today=date(2027, 2, 4))      # the next day's digest reaches the new one
    expected = {"pairing_withdrawn_team": w["student_b"], "entry_due_soon": w["expert"],
                "entry_overdue": w["expert"], "entry_reminder": w["expert"], "overdue_digest": fac_two}
    with smtp_server() as (server, env):
        mail.send_pending(db, mail.settings(env))
        for kind, person in expected.items():
            note = next(n for n in notifications.inbox(db, person) if n["kind"] == kind)
            subject = notifications.subject(kind, note["params"], lang)
            assert [m["Content-Language"] for m in server.to(person.email) if m["Subject"] == subject] == [lang], kind
            assert "{" not in subject


# --- Threads and moved due dates (issue 13: the words after the reply) ------------------------

@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_thread_message_reaches_the_other_side_only_in_its_language(db, world, approved, lang):
    w = world
    flow = run_term(db, w, approved)
    set_language(db, everyone(w), lang)
    before = {u.id: kinds_for(db, u) for u in everyone(w)}
    feedback.post_message(db, w["expert"], flow["entry"], "Which five? " + HOSTILE)
    feedback.post_message(db, w["student_a"], flow["entry"], "Two were screen-reader users.")
    added = {u.id: kinds_for(db, u)[len(before[u.id]):] for u in everyone(w)}
    assert added[w["student_a"].id] == ["thread_message_team"]
    assert added[w["expert"].id] == ["thread_message_expert"]
    assert not any(added[u.id] for u in (w["student_b"], w["rep_esdc"], w["rep_dfo"], w["facilitator"]))
    with smtp_server() as (server, env):
        mail.send_pending(db, mail.settings(env))
        to_team = server.to(w["student_a"].email)[-1]
        assert to_team["Subject"] == t("notify.thread_message_team.subject", lang, team="Access Crew",
                                       round="Discovery")
        assert notifications.page_url("views/student_feedback.py") in text_of(to_team)
        assert "evil.example" not in text_of(to_team)        # the message text itself is not mailed
        to_expert = server.to(w["expert"].email)[-1]
        assert to_expert["Subject"] == t("notify.thread_message_expert.subject", lang, team="Access Crew",
                                         round="Discovery")
        assert notifications.page_url("views/expert_teams.py") in text_of(to_expert)


def test_a_moved_due_date_reaches_the_experts_who_still_owe_an_entry(db, world, approved):
    w = world
    fac = w["facilitator"]
    flow = run_term(db, w, approved)                  # the expert has given the Discovery entry
    rnd = feedback.create_round(db, fac, w["term"], "Prototype", "2027-03-01")
    renamed = feedback.update_round(db, fac, rnd["id"], "Prototype test", "2027-03-01",
                                    expected_version=rnd["version"])
    assert kinds_for(db, w["expert"]).count("round_due_moved") == 0      # a new name alone tells nobody
    feedback.update_round(db, fac, rnd["id"], "Prototype test", "2027-03-08", expected_version=renamed["version"])
    moved = [n for n in notifications.inbox(db, w["expert"]) if n["kind"] == "round_due_moved"]
    assert len(moved) == 1 and moved[0]["params"]["old_due_on"] == "2027-03-01"
    assert moved[0]["params"]["due_on"] == "2027-03-08"
    french = notifications.body("round_due_moved", moved[0]["params"], "fr")
    assert "dû le 8 mars 2027 (il était dû le 1er mars 2027)" in french
    # The round the expert already answered: moving it tells nobody.
    discovery = storage.one(db, "SELECT * FROM feedback_rounds WHERE name = 'Discovery'")
    feedback.update_round(db, fac, discovery["id"], "Discovery", "2027-02-03", expected_version=discovery["version"])
    assert kinds_for(db, w["expert"]).count("round_due_moved") == 1
    assert not [n for n in notifications.inbox(db, w["student_a"]) if n["kind"] == "round_due_moved"]
    assert flow["entry"]
