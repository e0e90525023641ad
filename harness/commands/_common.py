"""Small helpers shared by the command modules."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def open_ledger(url: str | None, create: bool = True) -> Any:
    from harness.config import ledger_url
    from harness.ledger import Ledger

    return Ledger(ledger_url(url))


def load_policy_or_default(path: str | None) -> Any:
    from harness.policy import load_policy

    return load_policy(path)


def isatty() -> bool:
    return sys.stderr.isatty()
