"""``portal notify test|send|due`` against a real SMTP server on 127.0.0.1 (issue 13 point 4)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from matching import challenges, feedback, notifications, pairings, teams, terms
from matching import db as storage
from matching.cli import main
from tests.conftest import ACCESSIBILITY
from tests.smtp_server import smtp_server, text_of

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

SMTP_VARS = ("PORTAL_SMTP_HOST", "PORTAL_SMTP_PORT", "PORTAL_SMTP_USER", "PORTAL_SMTP_PASSWORD",
             "PORTAL_SMTP_FROM", "PORTAL_SMTP_SECURITY")


@pytest.fixture(autouse=True)
def _no_smtp(monkeypatch):
    for name in SMTP_VARS:
        monkeypatch.delenv(name, raising=False)


def run(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_notify_test_sends_one_message_and_says_so():
    assert run("notify", "test", "--to", "ops@pco-bcp.gc.ca").exit_code == 1
    assert "PORTAL_SMTP_HOST is not set" in run("notify", "test", "--to", "ops@pco-bcp.gc.ca").output
    with smtp_server() as (server, env):
        result = run("notify", "test", "--to", "ops@pco-bcp.gc.ca", env=env)
        assert result.exit_code == 0, result.output
        assert "Accepted by the server" in result.output and "127.0.0.1" in result.output
        received, = server.messages
        assert received["To"] == "ops@pco-bcp.gc.ca" and received["From"] == "portal@pco-bcp.gc.ca"
        assert "test message" in text_of(received)
    port = env["PORTAL_SMTP_PORT"]   # the server is gone now: a clear failure, not a traceback
    result = run("notify", "test", "--to", "ops@pco-bcp.gc.ca", env={**env, "PORTAL_SMTP_PORT": port})
    assert result.exit_code == 1 and "Error: Not sent: ConnectionRefusedError" in result.output


def test_notify_send_delivers_once_and_without_smtp_sends_nothing(db, world):
    draft = challenges.save_draft(db, world["rep_esdc"], ACCESSIBILITY)
    challenges.submit(db, world["rep_esdc"], draft.id)
    result = run("notify", "send")
    assert result.exit_code == 0 and "E-mail is off" in result.output and "1 message(s) wait" in result.output
    with smtp_server() as (server, env):
        first = run("notify", "send", env=env)
        assert "Sent 1," in first.output, first.output
        second = run("notify", "send", env=env)
        assert "Sent 0," in second.output and "0 message(s) still waiting" in second.output
        assert [m["To"] for m in server.messages] == [world["facilitator"].email]
    bad = run("notify", "send", env={**env, "PORTAL_SMTP_SECURITY": "tls"})
    assert bad.exit_code == 1 and "PORTAL_SMTP_SECURITY" in bad.output


def test_notify_due_is_idempotent_and_queues_digests(db, world, approved):
    w = world
    fac = w["facilitator"]
    teams.save_preferences(db, w["student_a"], w["team_a"], [{"challenge_id": approved["accessibility"]}])
    pairings.run_assignment(db, fac, w["term"])
    terms.advance_term(db, fac, w["term"])
    pairings.publish(db, fac, w["term"])
    terms.advance_term(db, fac, w["term"])
    feedback.create_round(db, fac, w["term"], "Discovery", "2027-02-01")
    notifications.set_delivery(db, fac, "digest")
    first = run("notify", "due", "--today", "2027-02-03")
    assert first.exit_code == 0, first.output
    assert "0 due-soon and 1 overdue reminder(s), 1 overdue digest(s) for facilitators, 1 daily digest" in first.output
    again = run("notify", "due", "--today", "2027-02-03")
    assert "0 due-soon and 0 overdue reminder(s), 0 overdue digest(s) for facilitators, 0 daily digest" in again.output
    soon = run("notify", "due", "--today", "2027-01-20", "--days", "14")
    assert "1 due-soon" in soon.output   # an earlier day: the due-soon reminder is another reminder
    assert db.execute("SELECT COUNT(*) FROM notifications WHERE kind = 'entry_due_soon'").fetchone()[0] == 1
    digests = storage.one(db, "SELECT COUNT(*) AS n FROM outbox WHERE recipient = ? AND subject LIKE ?",
                          [fac.email, "Challenge Portal: % today"])
    assert digests["n"] == 1
