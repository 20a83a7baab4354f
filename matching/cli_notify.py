"""``portal notify test|send|due``: the e-mail side of notifications, run by hand or from cron.

Attached to the ``portal`` group by :func:`register_commands` (called in :mod:`matching.cli`).
SMTP settings come from the environment only (``PORTAL_SMTP_*``, see :mod:`matching.mail`).
"""
from __future__ import annotations

import smtplib
from datetime import date

import click

from . import mail, notifications, outcomes
from .cli_common import open_db


@click.group("notify")
def notify_group():
    """E-mail notifications: a test message, the outbox, due and overdue reminders."""


@notify_group.command("test")
@click.option("--to", "to", required=True, metavar="ADDRESS", help="Where to send the test message.")
@click.option("--language", type=click.Choice(["en", "fr"]), default="en", show_default=True)
def test_command(to, language):
    """Send one test message through the PORTAL_SMTP_* settings and say what happened."""
    try:
        config = mail.settings()
    except mail.SettingsError as err:
        raise click.ClickException(str(err)) from None
    if config is None:
        raise click.ClickException("E-mail is off: PORTAL_SMTP_HOST is not set (see README, Configuration).")
    click.echo(f"Sending a test message to {to} through {config.describe()} ...")
    try:
        message_id = mail.send_test(to, config, lang=language)
    except smtplib.SMTPAuthenticationError as err:
        raise click.ClickException(f"The server refused the user name or password: {err.smtp_code}") from None
    except (OSError, smtplib.SMTPException) as err:
        raise click.ClickException(f"Not sent: {type(err).__name__}: {err}") from None
    click.echo(f"Accepted by the server (Message-ID {message_id}).")


@notify_group.command("send")
@click.option("--limit", type=int, default=mail.BATCH, show_default=True, help="At most this many messages.")
@click.pass_context
def send_command(ctx, limit):
    """Deliver the outbox's due messages (run it every minute from cron; a second run sends nothing new)."""
    database = open_db(ctx.obj["db_path"])
    try:
        config = mail.settings()
    except mail.SettingsError as err:
        raise click.ClickException(str(err)) from None
    result = mail.send_pending(database, config, limit=limit)
    if config is None:
        click.echo(f"E-mail is off (PORTAL_SMTP_HOST is not set): nothing sent; {result['waiting']} message(s) "
                   "wait in the outbox.")
        return
    click.echo(f"Sent {result['sent']}, to retry later {result['retry']}, failed {result['failed']}; "
               f"{result['waiting']} message(s) still waiting.")


@notify_group.command("due")
@click.option("--days", type=int, default=None, help="Remind this many days before the due date "
              "(default: the feedback pages' due-soon window).")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Take this date as today (YYYY-MM-DD).")
@click.pass_context
def due_command(ctx, days, today):
    """Due-soon and overdue feedback reminders, outcome reports due or overdue, final summaries and
    assessments to write, then the daily digests (run daily; a second run creates nothing)."""
    database = open_db(ctx.obj["db_path"])
    day = today.date() if today else date.today()
    counts = notifications.due_reminders(database, today=day, days=days)
    outcome = outcomes.due_reminders(database, today=day)
    digests = notifications.queue_digests(database)
    click.echo(f"{day.isoformat()}: {counts['due_soon']} due-soon and {counts['overdue']} overdue reminder(s), "
               f"{counts['digests']} overdue digest(s) for facilitators, {digests} daily digest e-mail(s) queued.")
    click.echo(f"Outcomes: {outcome['reports_due']} outcome report(s) due and {outcome['reports_overdue']} overdue, "
               f"{outcome['summaries']} final summary and {outcome['assessments']} final assessment reminder(s).")


def register_commands(cli: click.Group) -> None:
    cli.add_command(notify_group)
