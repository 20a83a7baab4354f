"""``portal backup``, ``portal restore``, ``portal copy-db`` and ``portal purge-term`` (the audit log is exported with ``portal export audit``).

Attached to the ``portal`` group by :func:`register_commands` (called in :mod:`matching.cli`). The
commands act as the system operator and are audited under that name.
"""
from __future__ import annotations

import click

from . import accounts, maintenance
from .cli_common import fail, open_db
from .errors import PortalError
from .i18n import t


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@click.pass_context
def backup_command(ctx, path, force):
    """Copy the database to PATH (safe while the app runs; pg_dump's custom format on PostgreSQL)."""
    try:
        result = maintenance.backup(open_db(ctx.obj["db_path"]), accounts.SYSTEM, path, overwrite=force)
    except PortalError as err:
        fail(err)
    click.echo(f"Backed up to {result['path']} ({result['bytes']:,} bytes, schema {result['schema_version']}).")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def restore_command(ctx, path, yes):
    """Replace the database's content with the backup at PATH (the current one is kept aside)."""
    database = open_db(ctx.obj["db_path"])
    try:
        found = maintenance.inspect_backup(path, database)
    except PortalError as err:
        fail(err)
    rows = sum(n for name, n in found["tables"].items() if name != "schema_migrations")
    click.echo(f"{path}: portal database, schema {found['schema_version']}, {rows:,} rows.")
    if not yes:
        click.confirm("Replace the current database with it?", abort=True)
    try:
        result = maintenance.restore(database, accounts.SYSTEM, path)
    except PortalError as err:
        fail(err)
    click.echo(t("db.restored", path=path, version=result["schema_version"], previous=result["previous"]))


@click.command("purge-term")
@click.argument("term")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def purge_term_command(ctx, term, yes):
    """Anonymise the personal data of a closed TERM (name or id); figures are kept."""
    database = open_db(ctx.obj["db_path"])
    try:
        term_id = maintenance.find_term(database, term)
        if not yes:
            click.confirm(f"Erase the names, e-mails and comments of term {term!r}? This cannot be undone",
                          abort=True)
        counts = maintenance.purge_term(database, accounts.SYSTEM, term_id)
    except PortalError as err:
        fail(err)
    click.echo("Purged: " + ", ".join(f"{n} {name}" for name, n in counts.items()) + ".")


@click.command("copy-db")
@click.argument("source")
@click.argument("target")
def copy_db_command(source, target):
    """Copy the portal at SOURCE into the empty database TARGET, verified table by table.

    Made to move an SQLite portal to PostgreSQL (portal copy-db data/portal.db
    postgresql://user@host/portal); PostgreSQL to SQLite works too. SOURCE must be at this
    portal's schema (run init-db on it first); TARGET must be empty (it is migrated if needed).
    All or nothing: row counts and checksums are compared per table before it commits.
    """
    from . import copydb
    try:
        result = copydb.copy_database(accounts.SYSTEM, source, target)
    except PortalError as err:
        fail(err)
    width = max(len(row["table"]) for row in result["tables"])
    click.echo(f"{'table':<{width}}  {'rows':>8}  sha256 of the rows (same on both sides)")
    for row in result["tables"]:
        click.echo(f"{row['table']:<{width}}  {row['rows']:>8,}  {row['checksum']}")
    click.echo(f"Copied {result['rows']:,} rows in {len(result['tables'])} tables from {result['source']} "
               f"to {result['target']} (schema {result['schema_version']}); every count and checksum matches.")


def register_commands(cli: click.Group) -> None:
    """Attach ``backup``, ``restore``, ``copy-db`` and ``purge-term`` to the ``portal`` group."""
    for command in (backup_command, restore_command, copy_db_command, purge_term_command):
        cli.add_command(command)
