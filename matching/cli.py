"""The ``portal`` command: the same services the pages use, from a terminal.

The CLI acts as the system operator (see :data:`matching.accounts.SYSTEM`); its writes are
audited under that name.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from . import accounts, cli_facilitator, cli_maintenance, cli_notify, cli_programmes, demo
from . import db as storage
from .cli_common import PortalGroup, fail, open_db
from .errors import PortalError
from .i18n import t
from .models import CONTROL_CHARS, ROLES, findable


@click.group(cls=PortalGroup)
@click.option("--db", "db_path", envvar="PORTAL_DB", type=click.Path(dir_okay=False),
              help="Database file, or a postgresql:// URI (default: $PORTAL_DB or data/portal.db).")
@click.pass_context
def main(ctx: click.Context, db_path: str | None) -> None:
    """Challenge Portal: GC challenges, Sheridan student teams, IIU facilitators, SMEs."""
    ctx.obj = {"db_path": db_path}


@main.command("init-db")
@click.pass_context
def init_db(ctx):
    """Create the database or upgrade its schema in place."""
    database = storage.connect(ctx.obj["db_path"], migrate_schema=False)
    applied = storage.migrate(database)
    version = storage.schema_version(database)
    shown = storage.display_target(ctx.obj["db_path"] or storage.default_path())
    click.echo(f"Database {shown}: "
               f"schema version {version}" + (f" (applied {applied})" if applied else " (up to date)"))


@main.command("load-demo")
@click.pass_context
def load_demo(ctx):
    """Load the bundled demo data (departments, challenges, teams, demo accounts)."""
    counts = demo.load_demo(open_db(ctx.obj["db_path"]))
    if not counts:
        click.echo("Demo data is already loaded.")
        return
    click.echo("Loaded " + ", ".join(f"{n} {name}" for name, n in counts.items()) + ".")
    click.echo(f"Every demo account signs in with the password: {demo.DEMO_PASSWORD}")


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--department", "department", help="Department acronym, English or French (department representatives, experts).")
@click.option("--team", "team", help="Team name (students); capitals and accents do not count.")
@click.option("--term", "term_name", metavar="NAME",
              help="Term of the team (needed only when several terms have a team of that name).")
@click.option("--language", type=click.Choice(["en", "fr"]), default="en", show_default=True)
@click.password_option(help="At least 12 characters, not a common password, not the e-mail or name "
                            "(prompted when omitted).")
@click.pass_context
def create_user(ctx, email, name, role, department, team, term_name, language, password):
    """Create an account."""
    database = open_db(ctx.obj["db_path"])
    data = {"email": email, "name": name, "role": role, "language": language}
    if department:
        from .departments import find_by_acronym
        data["department_id"] = find_by_acronym(database, department)  # English or French acronym
        if data["department_id"] is None:
            raise click.BadParameter(f"unknown department {department!r}", param_hint="--department")
    if team:
        data["team_id"] = _team_for_new_member(database, team, term_name)
    try:
        user = accounts.create_user(database, accounts.SYSTEM, data, password)
    except PortalError as err:
        fail(err)
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


def _team_for_new_member(database, team: str, term_name: str | None) -> int:
    """The id of the team named ``team`` (in ``--term``); never a guess between two terms."""
    from .cli_common import cli_term
    from .teams import find_team
    if not findable(team):
        raise click.BadParameter(t(CONTROL_CHARS), param_hint="--team")
    term_id = cli_term(database, term_name).id if term_name else None
    if term_id is None:
        terms = database.execute(f"SELECT DISTINCT term_id FROM teams WHERE name_key = "
                                 f"({storage.team_name_key_query()})", [team]).fetchall()
        if len(terms) > 1:
            raise click.BadParameter(f"teams named {team!r} exist in {len(terms)} terms: name one with --term",
                                     param_hint="--team")
    found = find_team(database, team, term_id)
    if found is None:
        raise click.BadParameter(f"unknown team {team!r}", param_hint="--team")
    return found.id


@main.command("rank")
@click.option("--team", "team_name", required=True, help="Team name.")
@click.option("--term", "term_name", metavar="NAME", help="Term of the team (default: the newest team of that name).")
@click.option("-k", "--top", "k", type=int, default=10, show_default=True)
@click.option("--language", type=click.Choice(["en", "fr"]), default="en")
@click.pass_context
def rank(ctx, team_name, term_name, k, language):
    """The approved challenges of the team's term ranked for it, with label and reasons."""
    from .cli_common import cli_term
    from .departments import acronym
    from .matches import ranked_challenges_for_team, standing_words
    from .teams import find_team
    database = open_db(ctx.obj["db_path"])
    term_id = cli_term(database, term_name).id if term_name else None
    team = find_team(database, team_name, term_id)
    if team is None:
        raise click.BadParameter(f"no team named {team_name!r}", param_hint="--team")
    try:
        ranked = ranked_challenges_for_team(database, accounts.SYSTEM, team.id, k=k)
    except (PortalError, ValueError) as err:
        raise click.ClickException(t(getattr(err, "key", "error.generic"), language)) from None
    click.echo(t("matches.cli.title", language, team=team.name))
    for i, match in enumerate(ranked, start=1):
        reasons = ", ".join(term for term, _ in match["reasons"]) or "-"
        click.echo(f"{i:>2}. [{acronym(database, match['acronym'], language)}] {match['title']}")
        click.echo(f"    {standing_words(match, language, 'team')['line']}")
        click.echo(f"    {t('matches.why', language, terms=reasons)}")


@main.command("serve")
@click.option("--address", default="127.0.0.1", show_default=True,
              help="Interface to listen on; only this machine by default. Use 0.0.0.0 only behind "
                   "a reverse proxy or firewall.")
@click.option("--port", type=int, default=8501, show_default=True)
@click.option("--headless/--no-headless", default=True, show_default=True)
def serve(address, port, headless):
    """Start the web app (Streamlit).

    The server replaces this process (exec): a service manager's SIGTERM or Ctrl-C reaches the
    server itself, and nothing is left running behind it.
    """
    app = Path(__file__).resolve().parent.parent / "app.py"
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", address,
               "--server.port", str(port), "--server.headless", str(headless).lower(),
               "--browser.gatherUsageStats", "false"]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)


cli_maintenance.register_commands(main)
cli_facilitator.register_commands(main)
cli_notify.register_commands(main)
cli_programmes.register_commands(main)


if __name__ == "__main__":
    main()
