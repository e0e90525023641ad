"""Audit logs: an append-only, hash-chained JSON Lines log per run, its verifier and its story.

Write with ``AuditLog`` (``NullAuditLog`` when auditing is off), check with ``verify_log``, read
with ``read_events`` and tell the run with ``explain_run``. ``locate_log`` finds a run's log from a
path, a run id or a run-id prefix. See ``docs/audit.md`` for the format.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {  # imported on first use: running suites needs the log, not its verifier or explainer
    **dict.fromkeys(("Verdict", "verify_anchored"), "harness.audit._anchor"),
    **dict.fromkeys(("clean", "explain_run", "explain_run_rich"), "harness.audit._explain"),
    **dict.fromkeys(("locate_log", "recorded_head", "set_head_lookup", "set_locator"), "harness.audit._locate"),
    **dict.fromkeys(("CLOSE_EVENT", "EVENT_TYPES", "GENESIS", "TERMINAL_TYPES", "AuditLog", "AuditLogError",
                     "NullAuditLog", "canonical_bytes", "log_path_for"), "harness.audit._log"),
    **dict.fromkeys(("VerifyReport", "read_events", "verify_bytes", "verify_events", "verify_log"),
                    "harness.audit._verify"),
}

__all__ = [
    "CLOSE_EVENT",
    "EVENT_TYPES",
    "GENESIS",
    "TERMINAL_TYPES",
    "AuditLog",
    "AuditLogError",
    "NullAuditLog",
    "Verdict",
    "VerifyReport",
    "canonical_bytes",
    "clean",
    "explain_run",
    "explain_run_rich",
    "locate_log",
    "log_path_for",
    "read_events",
    "recorded_head",
    "set_head_lookup",
    "set_locator",
    "verify_bytes",
    "verify_events",
    "verify_anchored",
    "verify_log",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harness.audit' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
