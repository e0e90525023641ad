"""What the agent sees when a call goes wrong: one family under ``FakeError``.

These are returned to the agent as data (``to_dict()``), the way a real service answers a bad request.
Each message says what went wrong and what to do next.
"""

from __future__ import annotations


class FakeError(Exception):
    """Base of every error a fake backend raises for bad input or a refused operation."""

    code: str = "error"

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)

    def to_dict(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


class NotFound(FakeError):
    """The record, message or path does not exist."""

    code = "not_found"


class InvalidInput(FakeError):
    """An argument has the wrong type, range or format."""

    code = "invalid_input"


class PermissionDenied(FakeError):
    """The operation touches something the world protects (e.g. a protected path)."""

    code = "permission_denied"


class Conflict(FakeError):
    """The operation clashes with the current state (target exists, record changed since, irreversible)."""

    code = "conflict"
