"""Audit logs: an append-only, hash-chained JSON Lines log per run, its verifier and its story.

Write with ``AuditLog`` (``NullAuditLog`` when auditing is off), check with ``verify_log``, read
with ``read_events`` and tell the run with ``explain_run``. ``locate_log`` finds a run's log from a
path, a run id or a run-id prefix. See ``docs/audit.md`` for the format.
"""

from harness.audit._explain import clean, explain_run, explain_run_rich
from harness.audit._locate import locate_log, recorded_head, set_head_lookup, set_locator
from harness.audit._log import (
    CLOSE_EVENT,
    EVENT_TYPES,
    GENESIS,
    TERMINAL_TYPES,
    AuditLog,
    AuditLogError,
    NullAuditLog,
    canonical_bytes,
    log_path_for,
)
from harness.audit._verify import VerifyReport, read_events, verify_bytes, verify_events, verify_log

__all__ = [
    "CLOSE_EVENT",
    "EVENT_TYPES",
    "GENESIS",
    "TERMINAL_TYPES",
    "AuditLog",
    "AuditLogError",
    "NullAuditLog",
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
    "verify_log",
]
