"""Evidence from work: gateway sessions, suggestions, pinned tool definitions and the apply journal.

Sessions are recorded with ``source = "production"`` so that status, gates and reports can show them
next to sandbox runs, never mixed with them. The journal makes applying a plan at work exactly-once:
an ``intent`` row is committed before an item is forwarded and settled after; an intent without an
outcome after a crash is ``unknown`` and waits for a person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from harness.errors import ConflictError, NotFoundError, PlanRefused
from harness.ledger._schema import PK, Base
from harness.ledger._time import iso, utcnow

COUNTERS = ("calls", "forwarded_reads", "forwarded_writes", "refused", "suggestions", "planned", "env_errors")
JOURNAL_STATES = ("intent", "done", "failed", "unknown")


class WorkSession(Base):
    __tablename__ = "sessions"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(100), unique=True)
    workflow: Mapped[str] = mapped_column(String(100))
    agent: Mapped[str] = mapped_column(String(200))
    agent_version: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20))
    stage_at_start: Mapped[str] = mapped_column(String(12))
    upstreams: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    audit_path: Mapped[str | None] = mapped_column(Text)
    audit_head: Mapped[str | None] = mapped_column(String(128))
    plan_id: Mapped[str | None] = mapped_column(String(100))
    calls: Mapped[int] = mapped_column(Integer, default=0)
    forwarded_reads: Mapped[int] = mapped_column(Integer, default=0)
    forwarded_writes: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    suggestions: Mapped[int] = mapped_column(Integer, default=0)
    planned: Mapped[int] = mapped_column(Integer, default=0)
    env_errors: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_sessions_track", "workflow", "agent", "agent_version"),)


class Suggestion(Base):
    __tablename__ = "suggestions"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(100), unique=True)
    session_id: Mapped[str] = mapped_column(String(100), index=True)
    workflow: Mapped[str] = mapped_column(String(100))
    agent: Mapped[str] = mapped_column(String(200))
    agent_version: Mapped[str] = mapped_column(String(100))
    tool: Mapped[str] = mapped_column(String(200))
    upstream: Mapped[str] = mapped_column(String(100))
    upstream_tool: Mapped[str] = mapped_column(String(200))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON)
    effect: Mapped[str] = mapped_column(String(14))
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    money: Mapped[float | None] = mapped_column(Float)
    probe: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_suggestions_workflow_status", "workflow", "status"),)


class ToolPin(Base):
    __tablename__ = "tool_pins"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    workflow: Mapped[str] = mapped_column(String(100))
    upstream: Mapped[str] = mapped_column(String(100))
    tool: Mapped[str] = mapped_column(String(200))
    hash: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    pinned_by: Mapped[str] = mapped_column(String(200))
    pinned_at: Mapped[datetime] = mapped_column(DateTime)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    pending_hash: Mapped[str | None] = mapped_column(String(64))
    pending_definition: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pending_seen_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("workflow", "upstream", "tool", name="uq_tool_pins"),)


class JournalEntry(Base):
    __tablename__ = "work_journal"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(String(100))
    action_id: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(10))
    by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    settled_by: Mapped[str | None] = mapped_column(String(200))
    settle_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("plan_id", "action_id", name="uq_work_journal_item"),)


sessions = WorkSession.__table__
suggestions = Suggestion.__table__
tool_pins = ToolPin.__table__
work_journal = JournalEntry.__table__


def _dict(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out.pop("pk", None)
    for key, value in out.items():
        if isinstance(value, datetime):
            out[key] = iso(value)
    return out


def _one(conn, table, key: str, what: str) -> Any:
    """The row whose id is ``key`` or the only one whose id starts with it."""
    row = conn.execute(select(table).where(table.c.id == key)).first()
    if row is not None:
        return row
    rows = conn.execute(select(table).where(table.c.id.startswith(key, autoescape=True)).limit(3)).all() \
        if key else []
    if len(rows) == 1:
        return rows[0]
    if not rows:
        raise NotFoundError(f"no {what} {key!r} in the ledger.")
    raise NotFoundError(f"{key!r} matches several {what}s ({', '.join(r.id for r in rows)}); type more of it.")


class WorkLedger:
    """The ledger's methods for the gateway at work (mixed into ``Ledger``)."""

    # -- sessions ---------------------------------------------------------------------------------
    def open_session(self, session: dict[str, Any]) -> None:
        values = {c: 0 for c in COUNTERS} | dict(session)
        values.setdefault("source", "production")
        values.setdefault("status", "open")
        values.setdefault("started_at", utcnow())
        self.write(lambda conn: conn.execute(insert(sessions).values(**values)))

    def update_session(self, session_id: str, add: dict[str, int] | None = None, **fields: Any) -> None:
        """Add to counters (``add``) and set fields, in one statement."""
        values: dict[str, Any] = dict(fields)
        for name, n in (add or {}).items():
            if n:
                values[name] = sessions.c[name] + n
        if values:
            self.write(lambda conn: conn.execute(update(sessions).where(sessions.c.id == session_id)
                                                 .values(**values)))

    def get_session(self, session_id: str) -> dict[str, Any]:
        with self.read() as conn:
            return _dict(_one(conn, sessions, session_id, "session"))

    def list_sessions(self, workflow: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        stmt = select(sessions).order_by(sessions.c.pk.desc()).limit(limit)
        if workflow is not None:
            stmt = stmt.where(sessions.c.workflow == workflow)
        with self.read() as conn:
            return [_dict(r) for r in conn.execute(stmt)]

    def work_summary(self, workflow: str | None = None) -> list[dict[str, Any]]:
        """Per workflow and agent version: sessions at work and what happened in them."""
        cols = [sessions.c.workflow, sessions.c.agent, sessions.c.agent_version]
        stmt = select(*cols, func.count().label("sessions"),
                      *[func.coalesce(func.sum(sessions.c[c]), 0).label(c) for c in COUNTERS]).group_by(*cols)
        if workflow is not None:
            stmt = stmt.where(sessions.c.workflow == workflow)
        judged = select(suggestions.c.workflow, suggestions.c.agent, suggestions.c.agent_version,
                        suggestions.c.status, func.count().label("n")).group_by(
            suggestions.c.workflow, suggestions.c.agent, suggestions.c.agent_version, suggestions.c.status)
        with self.read() as conn:
            out = {(r.workflow, r.agent, r.agent_version): dict(r._mapping) for r in conn.execute(stmt)}
            for r in conn.execute(judged):
                entry = out.get((r.workflow, r.agent, r.agent_version))
                if entry is not None:
                    entry[f"suggestions_{r.status}"] = r.n
        for entry in out.values():
            for status in ("pending", "accepted", "rejected"):
                entry.setdefault(f"suggestions_{status}", 0)
            entry["source"] = "production"
        return sorted(out.values(), key=lambda e: (e["workflow"], e["agent"], e["agent_version"]))

    # -- suggestions ------------------------------------------------------------------------------
    def add_suggestion(self, suggestion: dict[str, Any]) -> None:
        values = {"status": "pending", "created_at": utcnow(), **suggestion}
        self.write(lambda conn: conn.execute(insert(suggestions).values(**values)))

    def get_suggestion(self, suggestion_id: str) -> dict[str, Any]:
        with self.read() as conn:
            return _dict(_one(conn, suggestions, suggestion_id, "suggestion"))

    def list_suggestions(self, workflow: str | None = None, status: str | None = None,
                         session: str | None = None) -> list[dict[str, Any]]:
        stmt = select(suggestions).order_by(suggestions.c.pk)
        for col, value in (("workflow", workflow), ("status", status), ("session_id", session)):
            if value is not None:
                stmt = stmt.where(suggestions.c[col] == value)
        with self.read() as conn:
            return [_dict(r) for r in conn.execute(stmt)]

    def decide_suggestion(self, suggestion_id: str, status: str, by: str, reason: str) -> dict[str, Any]:
        """Accept or reject a pending suggestion, once (ConflictError if someone decided it first)."""
        full = self.get_suggestion(suggestion_id)
        if full["status"] != "pending":
            raise PlanRefused(f"suggestion {full['id']} was {full['status']} already by {full['decided_by']} "
                              f"at {full['decided_at']}; a suggestion is judged once.")

        def work(conn):
            done = conn.execute(update(suggestions).where(suggestions.c.id == full["id"],
                                                          suggestions.c.status == "pending")
                                .values(status=status, decided_by=by, decided_at=utcnow(), reason=reason)).rowcount
            if done != 1:
                raise ConflictError(f"suggestion {full['id']} was judged by someone else meanwhile.")
        self.write(work)
        return self.get_suggestion(full["id"])

    # -- pins -------------------------------------------------------------------------------------
    def pins(self, workflow: str | None = None) -> list[dict[str, Any]]:
        stmt = select(tool_pins).order_by(tool_pins.c.workflow, tool_pins.c.upstream, tool_pins.c.tool)
        if workflow is not None:
            stmt = stmt.where(tool_pins.c.workflow == workflow)
        with self.read() as conn:
            return [_dict(r) for r in conn.execute(stmt)]

    def pin_first_sight(self, workflow: str, upstream: str, tool: str, hash_: str, definition: dict) -> bool:
        """Pin a definition never seen before (automatic, recorded). False if a pin existed already."""
        def work(conn):
            try:
                with conn.begin_nested():
                    conn.execute(insert(tool_pins).values(
                        workflow=workflow, upstream=upstream, tool=tool, hash=hash_, definition=definition,
                        pinned_by="gateway (first sight)", pinned_at=utcnow(), automatic=True))
                return True
            except IntegrityError:
                return False
        return self.write(work)

    def note_changed_definition(self, workflow: str, upstream: str, tool: str, hash_: str,
                                definition: dict) -> None:
        self.write(lambda conn: conn.execute(
            update(tool_pins).where(tool_pins.c.workflow == workflow, tool_pins.c.upstream == upstream,
                                    tool_pins.c.tool == tool, tool_pins.c.hash != hash_)
            .values(pending_hash=hash_, pending_definition=definition, pending_seen_at=utcnow())))

    def approve_pin(self, workflow: str, upstream: str, tool: str, by: str) -> dict[str, Any]:
        """Pin the changed definition a gateway saw; NotFoundError when there is none waiting."""
        def work(conn):
            row = conn.execute(select(tool_pins).where(tool_pins.c.workflow == workflow,
                                                       tool_pins.c.upstream == upstream,
                                                       tool_pins.c.tool == tool)).first()
            if row is None:
                raise NotFoundError(f"no pinned tool {upstream}/{tool} for {workflow}.")
            if row.pending_hash is None:
                raise NotFoundError(f"{upstream}/{tool} ({workflow}) has no changed definition waiting; "
                                    f"it is pinned at {row.hash[:12]}.")
            conn.execute(update(tool_pins).where(tool_pins.c.pk == row.pk).values(
                hash=row.pending_hash, definition=row.pending_definition, pinned_by=by, pinned_at=utcnow(),
                automatic=False, pending_hash=None, pending_definition=None, pending_seen_at=None))
            return row.pending_hash
        new = self.write(work)
        return next(p for p in self.pins(workflow) if p["upstream"] == upstream and p["tool"] == tool
                    and p["hash"] == new)

    # -- the apply journal ------------------------------------------------------------------------
    def journal(self, plan_id: str) -> dict[str, dict[str, Any]]:
        with self.read() as conn:
            rows = conn.execute(select(work_journal).where(work_journal.c.plan_id == plan_id))
            return {r.action_id: _dict(r) for r in rows}

    def journal_intent(self, plan_id: str, action_id: str, by: str) -> None:
        """Commit the intent to forward an item; ConflictError if it was begun before (by anyone)."""
        def work(conn):
            try:
                with conn.begin_nested():
                    conn.execute(insert(work_journal).values(plan_id=plan_id, action_id=action_id, state="intent",
                                                             by=by, started_at=utcnow()))
            except IntegrityError:
                raise ConflictError(f"item {action_id} of plan {plan_id} was begun already; "
                                    "it is never forwarded twice.") from None
        self.write(work)

    def journal_finish(self, plan_id: str, action_id: str, state: str, result: dict[str, Any],
                       from_states: tuple[str, ...] = ("intent",), by: str | None = None,
                       reason: str | None = None) -> None:
        values: dict[str, Any] = {"state": state, "finished_at": utcnow(), "result": result}
        if by is not None:
            values.update(settled_by=by, settle_reason=reason)

        def work(conn):
            done = conn.execute(update(work_journal).where(
                work_journal.c.plan_id == plan_id, work_journal.c.action_id == action_id,
                work_journal.c.state.in_(from_states)).values(**values)).rowcount
            if done != 1:
                raise ConflictError(f"item {action_id} of plan {plan_id} is not in state "
                                    f"{' or '.join(from_states)}; nothing was changed.")
        self.write(work)
