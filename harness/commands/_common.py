"""Small helpers shared by the command modules."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console


def _console(stderr: bool) -> Console:
    probe = Console(stderr=stderr)
    # CI logs and pipes are not terminals: give tables room instead of rich's 80-column default
    return Console(stderr=stderr, highlight=False, soft_wrap=True,
                   width=None if probe.is_terminal else 160)


out = _console(False)
err = _console(True)


def open_ledger(url: str | None, create: bool = True) -> Any:
    from harness.config import ledger_url
    from harness.ledger import Ledger

    return Ledger(ledger_url(url))


def load_policy_or_default(path: str | None) -> Any:
    from harness.policy import load_policy

    return load_policy(path)


def isatty() -> bool:
    return sys.stderr.isatty()
