"""A closed pipe (``harness status | head``) ends the command quietly, as it does for Unix tools."""

from __future__ import annotations

import os
import sys

CLOSED_PIPE_EXIT = 141
"""128 + SIGPIPE: what a shell reports for ``yes | head``, ``git log | head`` and the like."""


def exit_quietly() -> None:
    """Point stdout at /dev/null (so the interpreter's final flush cannot fail) and exit 141."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    os._exit(CLOSED_PIPE_EXIT)
