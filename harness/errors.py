"""What the user sees when something is wrong: one family under ``HarnessError``.

Errors the *agent* sees (not found, invalid input, permission denied) are not here: they are
``fakes.errors.FakeError`` and are returned to the agent as data.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base of every error the user sees. ``exit_code`` is what the CLI exits with."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None,
                 line: int | None = None, expected: str | None = None):
        self.message = message
        self.file = file
        self.field = field
        self.line = line
        self.expected = expected
        super().__init__(self.render())

    def __reduce__(self):  # keep the fields when the error crosses a process boundary (worker pools)
        return (_rebuild, (type(self), self.message, self.file, self.field, self.line, self.expected))

    def render(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file) + (f", line {self.line}" if self.line else ""))
        if self.field:
            where.append(f"field `{self.field}`")
        text = (": ".join([", ".join(where), self.message]) if where else self.message)
        if self.expected:
            text += f" Expected {self.expected}."
        return text


def _rebuild(cls: type, message: str, file: str | None, field: str | None, line: int | None,
             expected: str | None) -> HarnessError:
    return cls(message, file=file, field=field, line=line, expected=expected)


class InvalidScenario(HarnessError):
    """A scenario file is malformed or inconsistent."""


class InvalidPolicy(HarnessError):
    """A policy file is malformed."""


class UnknownAgent(HarnessError):
    """``--agent`` names nothing that can be loaded."""


class UsageError(HarnessError):
    """The command line asks for something that cannot be done."""


class NotFoundError(HarnessError):
    """A run, plan or workflow named on the command line does not exist."""


class GateNotMet(HarnessError):
    """A promotion was refused: the evidence does not meet the policy."""

    exit_code = 1


class ConflictError(HarnessError):
    """Someone else changed the same thing at the same moment (e.g. two promotions)."""

    exit_code = 1


class PlanRefused(HarnessError):
    """A plan cannot be applied: already decided, or stale."""

    exit_code = 1


class LedgerError(HarnessError):
    """The ledger cannot be opened or written."""
