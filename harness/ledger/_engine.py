"""Opening a ledger database: engine set-up, migrations on open, retries on a busy SQLite file.

SQLite gets WAL (readers never wait for the writer), a busy timeout, and real transactions: the
driver's own transaction handling is switched off and we emit ``BEGIN`` ourselves — ``BEGIN
IMMEDIATE`` for writes, so two writers queue on the lock instead of failing when one upgrades.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError, ProgrammingError

from harness.errors import LedgerError

T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000
LOCK_RETRIES = 8
_WRITE = "harness_write"
_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_HEAD: str | None = None
_HEAD_LOCK = threading.Lock()


_EXPECTED_URL = "sqlite:///path/to/ledger.db or postgresql+psycopg://user@host[:port]/db"
opened: list[str] = []
"""Ledgers opened by this process (URLs without passwords): errors on a damaged one name it."""


def shown_url(url: str) -> str:
    """A ledger URL as it may be printed: any password replaced by ``***``."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        why = "" if isinstance(exc, ArgumentError) else f" ({exc})"
        raise LedgerError(f"the ledger URL {shown_url(url)!r} is not a database URL{why}.",
                          field="--ledger", expected=_EXPECTED_URL) from None
    opened.append(parsed.render_as_string(hide_password=True))
    if parsed.get_backend_name() != "sqlite":
        if parsed.drivername in ("postgresql", "postgres"):  # psycopg 3 is the driver we install, not
            # psycopg2; postgres:// is what Heroku, Render, Supabase and libpq tools hand out
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return create_engine(parsed, pool_pre_ping=True, future=True)
        except (ArgumentError, ImportError, NoSuchModuleError) as exc:
            raise LedgerError(f"cannot use the ledger URL {parsed.render_as_string()}: {exc}") from None
    database = parsed.database or ""
    memory = database in ("", ":memory:") or "mode=memory" in str(parsed.query.get("mode", ""))
    if memory:
        raise LedgerError(f"{shown_url(url)!r} is an in-memory ledger: it is gone when the command ends, so "
                          "nothing would be recorded.", field="--ledger",
                          expected="a file (sqlite:///path/to/ledger.db), a server, or --no-ledger to "
                                   "record nothing on purpose")
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict = {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}}
    engine = create_engine(parsed, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see module docstring)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

    return engine


def unreadable(engine: Engine | str, exc: BaseException) -> LedgerError:
    """The error for a ledger that cannot be opened or read: a damaged file, a refused connection."""
    where = engine if isinstance(engine, str) else engine.url.render_as_string(hide_password=True)
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if where.startswith("sqlite"):
        file = where.split("///", 1)[-1]
        return LedgerError(f"cannot read the ledger file {file}: {reason}. The file is damaged (e.g. "
                           "truncated) or is not a ledger; nothing in it was changed.", field="--ledger",
                           expected="a ledger written by harness (restore it from a backup, or point "
                                    "--ledger at another file)")
    return LedgerError(f"cannot open the ledger {where}: {reason}.", field="--ledger", expected=_EXPECTED_URL)


def is_locked(exc: BaseException) -> bool:
    """Worth retrying: SQLite's lock was busy for the whole timeout, or PostgreSQL broke a deadlock."""
    text_ = str(getattr(exc, "orig", exc)).lower()
    return any(s in text_ for s in ("database is locked", "database is busy", "deadlock detected",
                                    "could not serialize access"))


def write(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in one write transaction, retrying when the database is locked or deadlocked.

    ``work`` must be safe to run again: everything it did is rolled back before a retry.
    """
    for attempt in range(LOCK_RETRIES):
        try:
            with engine.connect() as conn:
                conn.execution_options(**{_WRITE: True})
                with conn.begin():
                    return work(conn)
        except DBAPIError as exc:
            if is_locked(exc) and attempt < LOCK_RETRIES - 1:
                time.sleep(min(2.0, 0.05 * 2 ** attempt) * (0.5 + random.random()))
                continue
            if isinstance(exc, OperationalError):
                raise LedgerError(f"cannot write to the ledger: {exc.orig}") from None
            raise
    raise AssertionError("unreachable")


def _alembic_config(conn: Connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    """The newest revision, read from the version files without importing alembic (start-up time)."""
    global _HEAD
    with _HEAD_LOCK:
        if _HEAD is None:
            revs, downs = set(), set()
            for file in (_MIGRATIONS / "versions").glob("*.py"):
                source = file.read_text(encoding="utf-8")
                rev = re.search(r"^revision\s*=\s*['\"]([^'\"]+)", source, re.MULTILINE)
                down = re.search(r"^down_revision\s*=\s*['\"]([^'\"]+)", source, re.MULTILINE)
                if rev:
                    revs.add(rev.group(1))
                if down:
                    downs.add(down.group(1))
            heads = revs - downs
            if len(heads) != 1:
                raise LedgerError(f"the ledger migrations have {len(heads)} heads ({', '.join(sorted(heads))}).")
            _HEAD = heads.pop()
        return _HEAD


def current_revision(conn: Connection) -> str | None:
    try:
        with conn.begin_nested() if conn.in_transaction() else conn.begin():
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):  # no table yet: a fresh database
        return None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; cheap when it is there already, safe when racing."""
    head = head_revision()
    try:
        with engine.connect() as conn:
            if current_revision(conn) == head:
                return
    except DBAPIError as exc:
        raise unreadable(engine, exc) from None

    def upgrade(conn: Connection) -> None:
        if conn.dialect.name == "postgresql":  # one migrator at a time across processes
            conn.execute(text("SELECT pg_advisory_xact_lock(774411)"))
        if current_revision(conn) == head:
            return
        from alembic import command

        command.upgrade(_alembic_config(conn), "head")

    write(engine, upgrade)
