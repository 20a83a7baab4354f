"""``portal backup``, ``portal restore``, and ``portal purge-term`` (the audit log is exported with ``portal export audit``).

Registered on the ``portal`` group by the import at the end of :mod:`matching.cli`. The
commands act as the system operator and are audited under that name.
"""
from __future__ import annotations


import click

from . import accounts, maintenance
from .cli import _fail, _open, main
from .errors import PortalError
from .i18n import t


@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@click.pass_context
def backup_command(ctx, path, force):
    """Copy the database to PATH (safe while the app runs)."""
    try:
        result = maintenance.backup(_open(ctx.obj["db_path"]), accounts.SYSTEM, path, overwrite=force)
    except PortalError as err:
        _fail(err)
    click.echo(f"Backed up to {result['path']} ({result['bytes']:,} bytes, schema {result['schema_version']}).")


@main.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def restore_command(ctx, path, yes):
    """Replace the database's content with the backup at PATH (the current one is kept aside)."""
    try:
        found = maintenance.inspect_backup(path)
    except PortalError as err:
        _fail(err)
    rows = sum(n for name, n in found["tables"].items() if name != "schema_migrations")
    click.echo(f"{path}: portal database, schema {found['schema_version']}, {rows:,} rows.")
    if not yes:
        click.confirm("Replace the current database with it?", abort=True)
    try:
        result = maintenance.restore(_open(ctx.obj["db_path"]), accounts.SYSTEM, path)
    except PortalError as err:
        _fail(err)
    click.echo(t("db.restored", path=path, version=result["schema_version"], previous=result["previous"]))


@main.command("purge-term")
@click.argument("term")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def purge_term_command(ctx, term, yes):
    """Anonymise the personal data of a closed TERM (name or id); figures are kept."""
    database = _open(ctx.obj["db_path"])
    try:
        term_id = maintenance.find_term(database, term)
        if not yes:
            click.confirm(f"Erase the names, e-mails and comments of term {term!r}? This cannot be undone",
                          abort=True)
        counts = maintenance.purge_term(database, accounts.SYSTEM, term_id)
    except PortalError as err:
        _fail(err)
    click.echo("Purged: " + ", ".join(f"{n} {name}" for name, n in counts.items()) + ".")
