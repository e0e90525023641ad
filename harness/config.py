"""Where the harness keeps its data: one folder, overridable by environment.

``HARNESS_HOME`` (default ``./.harness``) holds the SQLite ledger and audit logs of runs made
without ``--out``. ``HARNESS_LEDGER`` overrides the ledger URL (e.g. a PostgreSQL URL for a team).
``HARNESS_AUDIT_KEY`` (optional) turns on HMAC signing of audit events.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """Absolute: it is stored with runs (audit paths) and shipped to workers with other working folders."""
    return Path(os.environ.get("HARNESS_HOME") or ".harness").expanduser().absolute()


def audit_dir() -> Path:
    return data_dir() / "audit"


def ledger_url(explicit: str | None = None) -> str:
    if explicit:
        return explicit
    env = os.environ.get("HARNESS_LEDGER")
    if env:
        return env
    return f"sqlite:///{(data_dir() / 'ledger.db').as_posix()}"


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for in-memory databases and other backends)."""
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    try:
        database = make_url(url).database or ""
    except Exception:  # noqa: BLE001 - opening the ledger gives the clear error for a malformed URL
        return None
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def ledger_missing(url: str) -> Path | None:
    """The SQLite file a read-only command would create by opening ``url``, when it does not exist yet."""
    file = sqlite_file(url)
    return file if file is not None and not file.exists() else None


def audit_key() -> bytes | None:
    key = os.environ.get("HARNESS_AUDIT_KEY")
    return key.encode("utf-8") if key else None


def default_policy_path() -> Path:
    return Path(__file__).parent / "defaults" / "policy.yaml"


BUNDLED_WORKFLOWS: tuple[str, ...] = (
    "crm.renewal-discounts",
    "crm.record-updates",
    "email.customer-replies",
    "email.inbox-triage",
    "files.cleanup",
    "ops.cross-backend",
)
