"""``portal`` commands about academic programs (issue 17.1): list them, create one, create a
term of one, and limit a facilitator to some. Attached by :func:`register_commands`."""
from __future__ import annotations

import click

from . import accounts, programmes, terms
from .cli_common import fail, open_db
from .errors import PortalError
from .i18n import t

LANGUAGE = click.option("--language", type=click.Choice(["en", "fr"]), default="en", show_default=True,
                        help="Language of the output.")
PROGRAMME = click.option("--programme", "programme", metavar="CODE",
                         help="Academic program: its code (see 'portal programmes'), id or name. "
                              "Default: Sheridan College's Bachelor of Interaction Design.")


def cli_programme(database, text: str | None):
    """The programme named by ``--programme`` (the default one when not given); a usage error
    naming the codes otherwise."""
    if not text:
        return programmes.default_programme(database)
    found = programmes.find_programme(database, text)
    if found is None:
        codes = ", ".join(p.code for p in programmes.list_programmes(database))
        raise click.BadParameter(t("programme.unknown", programme=text, codes=codes), param_hint="--programme")
    return found


@click.command("programmes")
@LANGUAGE
@click.pass_context
def programmes_command(ctx, language):
    """List the academic programs: code, institution and program, and their terms."""
    database = open_db(ctx.obj["db_path"])
    for programme in programmes.list_programmes(database):
        click.echo(f"{programme.code}  ·  {programme.label(language)}")
        for term in terms.list_terms(database, programme_id=programme.id):
            click.echo(f"       {term.name}  ·  {t('term_state.' + term.state, language)}")


@click.command("create-programme")
@click.option("--code", required=True, help="Short stable code, e.g. uvic-mpa (lower-case letters, digits, hyphens).")
@click.option("--institution-en", required=True, help="Institution, in English.")
@click.option("--institution-fr", required=True, help="Institution, in French.")
@click.option("--name-en", required=True, help="Program, in English.")
@click.option("--name-fr", required=True, help="Program, in French.")
@LANGUAGE
@click.pass_context
def create_programme_command(ctx, code, institution_en, institution_fr, name_en, name_fr, language):
    """Add an academic program (institution and program name, in English and French)."""
    database = open_db(ctx.obj["db_path"])
    try:
        made = programmes.create_programme(database, accounts.SYSTEM, {
            "code": code, "institution_en": institution_en, "institution_fr": institution_fr,
            "name_en": name_en, "name_fr": name_fr})
    except PortalError as err:
        fail(err)
    click.echo(t("programme.cli.created", language, code=made.code, label=made.label(language)))


@click.command("create-term")
@click.argument("name")
@PROGRAMME
@click.option("--starts", "starts_on", metavar="YYYY-MM-DD", help="First day of the term.")
@click.option("--ends", "ends_on", metavar="YYYY-MM-DD", help="Last day of the term.")
@LANGUAGE
@click.pass_context
def create_term_command(ctx, name, programme, starts_on, ends_on, language):
    """Create the term NAME (in planning) of an academic program."""
    database = open_db(ctx.obj["db_path"])
    chosen = cli_programme(database, programme)
    try:
        term = terms.create_term(database, accounts.SYSTEM, {"name": name, "programme_id": chosen.id,
                                                             "starts_on": starts_on, "ends_on": ends_on})
    except PortalError as err:
        fail(err)
    click.echo(t("programme.cli.term_created", language, term=term.name, label=chosen.label(language)))


@click.command("limit-facilitator")
@click.argument("email")
@click.option("--programme", "codes", metavar="CODE", multiple=True,
              help="An academic program the facilitator acts on (repeat for several; none: every program).")
@click.option("--reason", default="", help="Why (kept in the audit log).")
@LANGUAGE
@click.pass_context
def limit_facilitator_command(ctx, email, codes, reason, language):
    """Limit the facilitator EMAIL to some academic programs, or (no --programme) free them to all."""
    database = open_db(ctx.obj["db_path"])
    user = accounts.find_user(database, email)
    if user is None:
        raise click.BadParameter(f"no account {email!r}", param_hint="EMAIL")
    chosen = [cli_programme(database, code) for code in codes]
    try:
        programmes.limit_facilitator(database, accounts.SYSTEM, user.id, [p.id for p in chosen], reason=reason)
    except PortalError as err:
        fail(err)
    if chosen:
        click.echo(t("programme.cli.limited", language, email=user.email,
                     programmes=", ".join(p.code for p in chosen)))
    else:
        click.echo(t("programme.cli.unlimited", language, email=user.email))


def register_commands(cli: click.Group) -> None:
    """Attach the academic-program commands to the ``portal`` group."""
    for command in (programmes_command, create_programme_command, create_term_command, limit_facilitator_command):
        cli.add_command(command)
