"""Small helpers shared by the command modules."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console


class _Console(Console):
    def on_broken_pipe(self) -> None:  # rich exits 1 (a failed check, to us); a closed pipe is not one
        from harness.commands._pipes import exit_quietly

        exit_quietly()


def _console(stderr: bool) -> Console:
    probe = Console(stderr=stderr)
    # CI logs and pipes are not terminals: give tables room instead of rich's 80-column default
    return _Console(stderr=stderr, highlight=False, soft_wrap=True,
                    width=None if probe.is_terminal else 160)


out = _console(False)
err = _console(True)


def open_ledger(url: str | None, create: bool = True) -> Any:
    """The ledger at ``url``; with ``create=False`` (read-only commands) a missing SQLite file is a
    NotFoundError instead of a new, empty ledger."""
    from harness.config import ledger_url
    from harness.ledger import Ledger

    if not create:
        message = no_ledger_message(url)
        if message:
            from harness.errors import NotFoundError

            raise NotFoundError(message)
    return Ledger(ledger_url(url))


def no_ledger_message(url: str | None) -> str | None:
    """For read-only commands: a sentence saying there is no ledger yet, or None when there is one.
    Opening a missing SQLite ledger would create it, in whatever folder the command ran."""
    from harness.config import ledger_missing, ledger_url

    missing = ledger_missing(ledger_url(url))
    if missing is None:
        return None
    return (f"no ledger at {missing}: nothing has been recorded here yet (`harness run` records runs; "
            "HARNESS_HOME, --ledger or a harness.toml point at an existing one).")


def load_policy_or_default(path: str | None) -> Any:
    from harness.policy import load_policy

    return load_policy(path)


def isatty() -> bool:
    return sys.stderr.isatty()
