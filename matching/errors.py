"""Errors the services raise. Each carries a message *key* the pages translate.

A page never shows a traceback: it catches :class:`PortalError` and renders
``t(err.key, lang, **err.params)`` next to what caused it.
"""
from __future__ import annotations


class PortalError(Exception):
    """Base of every expected failure; ``key`` is a message-catalogue key."""

    key = "error.generic"

    def __init__(self, key: str | None = None, message: str | None = None, **params):
        self.key = key or self.key
        self.params = params
        super().__init__(message or self.key)


class NotFound(PortalError):
    key = "error.not_found"


class PermissionDenied(PortalError):
    key = "error.permission_denied"


class IllegalTransition(PortalError):
    """A lifecycle move that the current state does not allow."""

    key = "error.illegal_transition"


class ValidationFailed(PortalError):
    """Every field's problem at once: ``errors`` maps field -> message key."""

    key = "error.validation"

    def __init__(self, errors: dict[str, str], **params):
        self.errors = dict(errors)
        super().__init__(self.key, "invalid fields: " + ", ".join(sorted(errors)), **params)


class StaleRecord(PortalError):
    """Someone else saved the record since it was loaded (optimistic concurrency)."""

    key = "error.stale_record"

    def __init__(self, current: dict, **params):
        self.current = current
        super().__init__(self.key, **params)


class Busy(PortalError):
    """The database stayed busy after bounded retries (other writers held the write lock past
    the timeout, or PostgreSQL broke a deadlock or a serialization conflict): nothing was
    changed, and trying again in a moment will most likely work.

    ``retryable``: the failed transaction was rolled back and a rerun of the whole call may
    succeed (a deadlock, a serialization failure, a row lock wait); False once the write lock
    itself was waited for through every retry (:func:`matching.db.retrying` does not wait again).
    """

    key = "error.busy"

    def __init__(self, *, retryable: bool = False, **params):
        self.retryable = retryable
        super().__init__(self.key, **params)


class AuthenticationFailed(PortalError):
    key = "auth.failed"
