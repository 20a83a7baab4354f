"""What the ``portal`` command groups share: opening the database and reporting a refusal.

:mod:`matching.cli` builds the group; :mod:`matching.cli_maintenance` and
:mod:`matching.cli_facilitator` attach their commands with ``register_commands(cli)``. All of
them import this module and none imports :mod:`matching.cli`, so there is no import cycle.
"""
from __future__ import annotations

from typing import NoReturn

import click
import sqlite_utils

from . import db as storage
from .errors import Busy, PortalError, ValidationFailed
from .i18n import t

__all__ = ["TERM", "PortalGroup", "cli_term", "fail", "open_db"]

#: ``--term NAME``: the term a command acts on. Left out, the command takes the single term in
#: the state it needs and refuses to guess when there are several.
TERM = click.option("--term", "term_name", metavar="NAME",
                    help="Term name or id (default: the only term in the state this command needs).")


def open_db(path: str | None) -> sqlite_utils.Database:
    """The database at ``path`` (``--db``), or the default one; created or upgraded as needed."""
    return storage.connect(path)


def fail(err: PortalError) -> NoReturn:
    """Stop the command with ``err``'s message as a clean click error instead of a traceback."""
    if isinstance(err, ValidationFailed):
        details = "; ".join(f"{field}: {t(key)}" for field, key in sorted(err.errors.items()))
        raise click.ClickException(details)
    raise click.ClickException(t(err.key, **err.params))


class PortalGroup(click.Group):
    """The ``portal`` group: a command whose database stayed busy through every retry (another
    writer held the write lock, see :func:`matching.db.transaction`) ends with the busy
    sentence and exit status 1, never a traceback, whichever command it was."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Busy as err:
            fail(err)


def cli_term(database: sqlite_utils.Database, name: str | None, states=None, move: str = ""):
    """The term named by ``--term``, else the single term in ``states``; a clean error otherwise."""
    from .terms import resolve_term
    try:
        return resolve_term(database, name, states=states, move=move)
    except PortalError as err:
        if err.key == "term.unknown":  # a wrong --term is a usage error (exit 2), like click's own
            raise click.BadParameter(f"no term named {name!r}", param_hint="--term") from None
        fail(err)
