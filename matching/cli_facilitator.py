"""Facilitator commands of the ``portal`` CLI: import, export, assign, publish.

They call the same services as the pages, as the system operator (audited as such).
:func:`register_commands` attaches them to the ``portal`` group (:mod:`matching.cli`).
"""
from __future__ import annotations

from pathlib import Path

import click

from . import accounts, importexport, pairings
from . import db as storage
from .cli_common import fail, open_db
from .errors import PortalError, ValidationFailed
from .i18n import format_number, format_percent, t
from .terms import current_term, get_term

LANGUAGE = click.option("--language", type=click.Choice(["en", "fr"]), default="en", show_default=True,
                        help="Language of the messages and of exported headers.")


def _term(database, name: str | None):
    if name:
        row = storage.one(database, "SELECT id FROM terms WHERE name = ? COLLATE NOCASE", [name.strip()])
        if row is None:
            raise click.BadParameter(f"no term named {name!r}", param_hint="--term")
        return get_term(database, row["id"])
    term = current_term(database)
    if term is None:
        raise click.ClickException("There is no term yet.")
    return term


@click.command("import")
@click.argument("kind", type=click.Choice(importexport.IMPORT_KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report, write nothing.")
@LANGUAGE
@click.pass_context
def import_command(ctx, kind, file, dry_run, language):
    """Import challenges, teams or users from a CSV or Excel file (all rows or none)."""
    database = open_db(ctx.obj["db_path"])
    try:
        rows = importexport.read_upload(file.read_bytes(), file.name)
        if dry_run:
            report = importexport.preview(database, accounts.SYSTEM, kind, rows)
        else:
            report = importexport.commit(database, accounts.SYSTEM, kind, rows)
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
@click.option("--term", "term_name", help="Term name (default: the current term).")
@LANGUAGE
@click.pass_context
def export_command(ctx, kind, file, term_name, language):
    """Export a list to FILE: CSV or Excel, chosen by the extension (.csv or .xlsx)."""
    fmt = file.suffix.lower().lstrip(".")
    if fmt not in ("csv", "xlsx"):
        raise click.BadParameter("the file must end in .csv or .xlsx", param_hint="FILE")
    database = open_db(ctx.obj["db_path"])
    term_id = _term(database, term_name).id if term_name else None
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


def print_summary(result: pairings.RunResult, term_name: str, language: str = "en", *, details: bool = False) -> None:
    s = result.summary
    click.echo(t("assign.cli.title", language, term=term_name, matched=s["n_matched"], total=s["n_teams"]))
    if not s.get("n_with_preferences"):
        click.echo(t("assign.cli.no_preferences", language))
    for key in ("first_choice_share", "top3_share", "any_choice_share"):
        click.echo(f"  {t('assign.summary.' + key, language)}: {_share(s, key, language)}")
    click.echo(f"  {t('assign.summary.mean_similarity', language)}: "
               f"{format_number(s['mean_similarity'], language, digits=3)}")
    if s["worst_off_team"]:
        rank = (t("assign.rank_n", language, rank=s["worst_rank"]) if s["worst_rank"]
                else t("assign.rank_none", language))
        click.echo(f"  {t('assign.summary.worst_off', language)}: {s['worst_off_team']} ({rank})")
    for warning in result.warnings:
        click.echo(t("assign.cli.warning", language, message=t(warning["key"], language, **warning["params"])))
    if details:
        for row in result.matched:
            rank = row["preference_rank"] or "-"
            click.echo(f"  {row['team_name']}  ->  [{row['acronym']}] {row['challenge_title']}  "
                       f"({t('assign.cli.rank', language)} {rank}, {row['score']:.3f})")
    if result.unmatched:
        click.echo(t("assign.cli.unmatched", language, count=len(result.unmatched)))
        for row in result.unmatched:
            click.echo(f"  {row['team_name']}: {t(row['reason'], language)}")
    else:
        click.echo(t("assign.cli.all_matched", language))


@click.command("assign")
@click.option("--term", "term_name", help="Term name (default: the current term).")
@click.option("--details", is_flag=True, help="Also list every team with its challenge.")
@LANGUAGE
@click.pass_context
def assign_command(ctx, term_name, details, language):
    """Run the assignment optimiser and store the result as the proposal; print the summary."""
    database = open_db(ctx.obj["db_path"])
    term = _term(database, term_name)
    try:
        result = pairings.run_assignment(database, accounts.SYSTEM, term.id)
    except pairings.LockProblems as err:
        lines = [t(err.key, language, **err.params)]
        lines += ["  " + t(key, language, **params) for key, params in err.problems]
        raise click.ClickException("\n".join(lines)) from None
    except PortalError as err:
        raise click.ClickException(t(err.key, language, **err.params)) from None
    print_summary(result, term.name, language, details=details)


@click.command("publish")
@click.option("--term", "term_name", help="Term name (default: the current term).")
@LANGUAGE
@click.pass_context
def publish_command(ctx, term_name, language):
    """Publish the proposed pairings (the term must be in matching); print what changed."""
    database = open_db(ctx.obj["db_path"])
    term = _term(database, term_name)
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


def register_commands(cli: click.Group) -> None:
    """Attach the facilitator commands to the ``portal`` group."""
    for command in (import_command, export_command, assign_command, publish_command):
        cli.add_command(command)
