"""What an instructor action refuses, with the message a person can act on."""
from __future__ import annotations


class ActionError(Exception):
    """Bad input (HTTP 400): `field` names the form field the message belongs to."""

    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class ActionConflict(ActionError):
    """The attempt's state does not allow the action (HTTP 409)."""

    status = 409


class ActionNotFound(ActionError):
    """No such exam, attempt or allowance (HTTP 404)."""

    status = 404
