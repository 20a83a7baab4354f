"""Facilitator commands of the ``portal`` CLI: import, export, assign, publish.

They call the same services as the pages, as the system operator (audited as such).
:func:`register_commands` attaches them to the ``portal`` group (:mod:`matching.cli`).
"""
from __future__ import annotations

from pathlib import Path

import click

from . import accounts, departments, importexport, pairings, programmes, terms
from .cli_common import TERM, cli_term, fail, open_db
from .errors import PortalError, ValidationFailed
from .i18n import format_number, format_percent, label_value, t
from .lifecycle import TERM_STATES_PLANNING_PAIRINGS, TERM_STATES_PUBLISHING

LANGUAGE = click.option("--language", type=click.Choice(["en", "fr"]), default="en", show_default=True,
                        help="Language of the messages and of exported headers.")


@click.command("import")
@click.argument("kind", type=click.Choice(importexport.IMPORT_KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report, write nothing.")
@TERM
@LANGUAGE
@click.pass_context
def import_command(ctx, kind, file, dry_run, term_name, language):
    """Import challenges, teams or users from a CSV or Excel file (all rows or none).

    Challenges go to the term taking challenges, teams to the open term (name one with --term
    when there are several); users find their team by name in that term.
    """
    database = open_db(ctx.obj["db_path"])
    term_id = cli_term(database, term_name).id if term_name else None
    try:
        rows = importexport.read_upload(file.read_bytes(), file.name)
        if dry_run:
            report = importexport.preview(database, accounts.SYSTEM, kind, rows, term_id=term_id)
        else:
            report = importexport.commit(database, accounts.SYSTEM, kind, rows, term_id=term_id)
    except importexport.ImportRejected as err:
        report = err.report
    except ValidationFailed as err:
        raise click.ClickException("; ".join(t(key, language) for key in err.errors.values())) from None
    except PortalError as err:
        fail(err)
    for problem in report.problems:
        click.echo(importexport.problem_text(problem, language))
    if report.problems:
        click.echo(t("data.cli.rejected", language, count=len(report.problems), rows=len(report.bad_rows())))
        raise SystemExit(1)
    if dry_run:
        click.echo(t("data.cli.checked", language, count=len(report.records)))
        return
    click.echo(t("data.cli.imported", language, count=report.written, kind=t(f"data.kind.{kind}", language)))
    for item in report.passwords:
        click.echo(f"  {item['email']}  {item['password']}")
    if report.passwords:
        click.echo(t("data.passwords_note", language))


@click.command("export")
@click.argument("kind", type=click.Choice(importexport.EXPORT_KINDS))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@TERM
@LANGUAGE
@click.pass_context
def export_command(ctx, kind, file, term_name, language):
    """Export a list to FILE: CSV or Excel, chosen by the extension (.csv or .xlsx).

    The matrix, pairings and feedback are one term's (--term, or the only open term);
    challenges and teams are one term's with --term, else every term's; users and the audit
    log are the whole portal's.
    """
    fmt = file.suffix.lower().lstrip(".")
    if fmt not in ("csv", "xlsx"):
        raise click.BadParameter("the file must end in .csv or .xlsx", param_hint="FILE")
    database = open_db(ctx.obj["db_path"])
    needs_term = kind in importexport.TERM_EXPORTS
    term_id = cli_term(database, term_name, move="export").id if term_name or needs_term else None
    try:
        data = importexport.export_bytes(database, accounts.SYSTEM, kind, fmt, language, term_id)
    except PortalError as err:
        fail(err)
    file.write_bytes(data)
    click.echo(t("data.cli.exported", language, kind=t(f"data.kind.{kind}", language), file=str(file)))


def _share(summary: dict, key: str, language: str) -> str:
    n = round(summary[key] * summary["n_teams"])
    return t("assign.cli.share", language, percent=format_percent(summary[key], language), count=n,
             total=summary["n_teams"])


def print_summary(result: pairings.RunResult, term_name: str, language: str = "en", *, details: bool = False,
                  acronyms: dict[str, str] | None = None) -> None:
    s = result.summary
    click.echo(t("assign.cli.title", language, term=term_name, matched=s["n_matched"], total=s["n_teams"]))
    if not s.get("n_with_preferences"):
        click.echo(t("assign.cli.no_preferences", language))
    for key in ("first_choice_share", "top3_share", "any_choice_share"):
        click.echo("  " + label_value(t("assign.summary." + key, language), _share(s, key, language), language))
    click.echo("  " + label_value(t("assign.summary.mean_similarity", language),
                                  format_number(s["mean_similarity"], language, digits=3), language))
    if s["worst_off_team"]:
        rank = (t("assign.rank_n", language, rank=s["worst_rank"]) if s["worst_rank"]
                else t("assign.rank_none", language))
        click.echo("  " + label_value(t("assign.summary.worst_off", language), f"{s['worst_off_team']} ({rank})", language))
    for warning in result.warnings:
        click.echo(t("assign.cli.warning", language, message=t(warning["key"], language, **warning["params"])))
    if details:
        for row in result.matched:
            rank = row["preference_rank"] or "-"
            click.echo(f"  {row['team_name']}  ->  [{(acronyms or {}).get(row['acronym'], row['acronym'])}] {row['challenge_title']}  "
                       f"({t('assign.cli.rank', language)} {rank}, {row['score']:.3f})")
    if result.unmatched:
        click.echo(t("assign.cli.unmatched", language, count=len(result.unmatched)))
        for row in result.unmatched:
            click.echo("  " + label_value(row["team_name"], t(row["reason"], language), language))
    else:
        click.echo(t("assign.cli.all_matched", language))


@click.command("assign")
@TERM
@click.option("--details", is_flag=True, help="Also list every team with its challenge.")
@LANGUAGE
@click.pass_context
def assign_command(ctx, term_name, details, language):
    """Run the assignment optimiser and store the result as the proposal; print the summary."""
    database = open_db(ctx.obj["db_path"])
    term = cli_term(database, term_name, TERM_STATES_PLANNING_PAIRINGS, "assign")
    try:
        result = pairings.run_assignment(database, accounts.SYSTEM, term.id)
    except pairings.LockProblems as err:
        lines = [t(err.key, language, **err.params)]
        lines += ["  " + t(key, language, **params) for key, params in err.problems]
        raise click.ClickException("\n".join(lines)) from None
    except PortalError as err:
        raise click.ClickException(t(err.key, language, **err.params)) from None
    print_summary(result, term.name, language, details=details, acronyms=departments.acronyms(database, language))


@click.command("publish")
@TERM
@LANGUAGE
@click.pass_context
def publish_command(ctx, term_name, language):
    """Publish the proposed pairings (the term must be in matching); print what changed."""
    database = open_db(ctx.obj["db_path"])
    term = cli_term(database, term_name, TERM_STATES_PUBLISHING, "publish")
    try:
        report = pairings.publish(database, accounts.SYSTEM, term.id)
    except PortalError as err:
        raise click.ClickException(t(err.key, language, **err.params)) from None
    click.echo(t("assign.cli.published", language, term=term.name,
                 count=len(report["added"]) + len(report["moved"]) + report["unchanged"]))
    for kind in ("added", "moved", "removed"):
        for item in report[kind]:
            click.echo("  " + t(f"assign.change.{kind}", language, team=item["team_name"],
                                from_title=item["from_title"], to_title=item["to_title"]))
    if not (report["added"] or report["moved"] or report["removed"]):
        click.echo("  " + t("assign.change.none", language))


@click.command("terms")
@LANGUAGE
@click.pass_context
def terms_command(ctx, language):
    """List the terms, newest first, with their state and what the next move would meet."""
    database = open_db(ctx.obj["db_path"])
    labels = programmes.labels(database, language)
    for term in terms.list_terms(database):
        click.echo(f"{term.id:>3}  {term.name}  ·  {t('term_state.' + term.state, language)}  ·  "
                   f"{labels.get(term.programme_id, '')}")
        check = terms.advance_check(database, term.id)
        for blocker in check["blockers"]:
            click.echo("       " + t(blocker["key"], language, **blocker["params"]))
        if check["needs_reason"]:
            click.echo("       " + t("term.guard.open_feedback", language, count=check["open_feedback"]))


@click.command("advance-term")
@click.argument("term_name", metavar="TERM")
@click.option("--reason", default="", help="Why (kept in the audit log); required to override or to close "
                                           "with feedback still open.")
@click.option("--override", is_flag=True, help="Start the term without published pairings (needs --reason).")
@LANGUAGE
@click.pass_context
def advance_term_command(ctx, term_name, reason, override, language):
    """Move TERM one step forward (planning, intake, matching, active, closed)."""
    database = open_db(ctx.obj["db_path"])
    term = cli_term(database, term_name)
    try:
        moved = terms.advance_term(database, accounts.SYSTEM, term.id, reason=reason, override=override)
    except PortalError as err:
        fail(err)
    click.echo(t("term.acts_on", language, name=moved.name, state=t("term_state." + moved.state, language)))


def register_commands(cli: click.Group) -> None:
    """Attach the facilitator commands to the ``portal`` group."""
    for command in (import_command, export_command, assign_command, publish_command, terms_command,
                    advance_term_command):
        cli.add_command(command)
