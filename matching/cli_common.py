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
from .errors import PortalError, ValidationFailed
from .i18n import t

__all__ = ["fail", "open_db"]


def open_db(path: str | None) -> sqlite_utils.Database:
    """The database at ``path`` (``--db``), or the default one; created or upgraded as needed."""
    return storage.connect(path)


def fail(err: PortalError) -> NoReturn:
    """Stop the command with ``err``'s message as a clean click error instead of a traceback."""
    if isinstance(err, ValidationFailed):
        details = "; ".join(f"{field}: {t(key)}" for field, key in sorted(err.errors.items()))
        raise click.ClickException(details)
    raise click.ClickException(t(err.key, **err.params))
