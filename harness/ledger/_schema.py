"""The ledger's tables (SQLAlchemy 2 declarative). Migrations in ``harness/migrations`` create them.

Runs keep one column per blast-radius dimension (realised and potential) and a mistake count per
severity, so a gate aggregates in SQL over a window of runs without touching the mistakes table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from harness.models import BLAST_DIMENSIONS, SEVERITIES

# SQLite only aliases the rowid (and so autoincrements) for a column declared exactly INTEGER.
PK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Run(Base):
    __tablename__ = "runs"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(100), unique=True)
    scenario: Mapped[str] = mapped_column(String(200))
    scenario_digest: Mapped[str] = mapped_column(String(100))
    scenario_path: Mapped[str] = mapped_column(Text, default="")
    workflow: Mapped[str] = mapped_column(String(100))
    tier: Mapped[str] = mapped_column(String(10))
    agent: Mapped[str] = mapped_column(String(200))
    agent_version: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(12))
    trial: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(8))
    mistakes: Mapped[int] = mapped_column(Integer, default=0)
    mistakes_low: Mapped[int] = mapped_column(SmallInteger, default=0)
    mistakes_medium: Mapped[int] = mapped_column(SmallInteger, default=0)
    mistakes_high: Mapped[int] = mapped_column(SmallInteger, default=0)
    mistakes_critical: Mapped[int] = mapped_column(SmallInteger, default=0)
    worst_severity: Mapped[int | None] = mapped_column(SmallInteger)
    """0 (low) … 3 (critical); NULL when the run has no mistake."""
    error_cause: Mapped[str | None] = mapped_column(String(12))
    error_message: Mapped[str | None] = mapped_column(Text)
    realised_entities_touched: Mapped[int] = mapped_column(Integer, default=0)
    realised_irreversible_ops: Mapped[int] = mapped_column(Integer, default=0)
    realised_external_recipients: Mapped[int] = mapped_column(Integer, default=0)
    realised_money_exposed: Mapped[float] = mapped_column(Float, default=0.0)
    realised_files_lost: Mapped[int] = mapped_column(Integer, default=0)
    potential_entities_touched: Mapped[int] = mapped_column(Integer, default=0)
    potential_irreversible_ops: Mapped[int] = mapped_column(Integer, default=0)
    potential_external_recipients: Mapped[int] = mapped_column(Integer, default=0)
    potential_money_exposed: Mapped[float] = mapped_column(Float, default=0.0)
    potential_files_lost: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    tool_calls: Mapped[int] = mapped_column(Integer, default=0)
    blocked_calls: Mapped[int] = mapped_column(Integer, default=0)
    plan_id: Mapped[str | None] = mapped_column(String(100))
    audit_path: Mapped[str | None] = mapped_column(Text)
    audit_head: Mapped[str | None] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    rehearsal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """A run above the agent version's grant, on the fakes: shown, never counted as evidence."""
    instance: Mapped[str | None] = mapped_column(String(64))
    """sha256 of (scenario digest, agent, version, spec digest, seed, trial): what makes a run distinct."""
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """An instance already in the ledger: kept for the record, never counted as evidence."""
    agent_spec: Mapped[str | None] = mapped_column(String(64))
    ran_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_runs_instance", "instance"),
        Index("ix_runs_track", "workflow", "agent", "agent_version", "pk"),
        Index("ix_runs_workflow_pk", "workflow", "pk"),
        Index("ix_runs_workflow_stage_pk", "workflow", "stage", "pk"),
        Index("ix_runs_workflow_started", "workflow", "started_at"),
        Index("ix_runs_agent_version_pk", "agent_version", "pk"),
    )


class MistakeRow(Base):
    __tablename__ = "mistakes"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    entity: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)


class RunCount(Base):
    """Runs per (workflow, agent, version, scenario): lists tracks and scenarios without a scan."""

    __tablename__ = "run_counts"

    workflow: Mapped[str] = mapped_column(String(100), primary_key=True)
    agent: Mapped[str] = mapped_column(String(200), primary_key=True)
    agent_version: Mapped[str] = mapped_column(String(100), primary_key=True)
    scenario: Mapped[str] = mapped_column(String(200), primary_key=True)
    runs: Mapped[int] = mapped_column(BigInteger, default=0)
    last_pk: Mapped[int] = mapped_column(BigInteger, default=0)


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    run_id: Mapped[str | None] = mapped_column(String(100), index=True)
    workflow: Mapped[str] = mapped_column(String(100))
    scenario: Mapped[str | None] = mapped_column(String(200))
    scenario_path: Mapped[str | None] = mapped_column(Text)
    agent: Mapped[str | None] = mapped_column(String(200))
    agent_version: Mapped[str | None] = mapped_column(String(100))
    world_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    applied_at: Mapped[datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    approved_unchanged: Mapped[bool | None] = mapped_column(Boolean)
    """Set when a decision is recorded: True for a full approval (approve-stage evidence)."""

    __table_args__ = (
        Index("ix_plans_workflow_status", "workflow", "status"),
        Index("ix_plans_status", "status"),
    )


class WorldChange(Base):
    __tablename__ = "world_changes"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    world_key: Mapped[str] = mapped_column(String(200))
    seq: Mapped[int] = mapped_column(Integer)
    change: Mapped[dict[str, Any]] = mapped_column(JSON)
    plan_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("world_key", "seq", name="uq_world_changes_key_seq"),)


class Grant(Base):
    """The stage granted to one agent version of a workflow; ``version`` moves on every transition
    (compare-and-swap). No row: the version is at sandbox."""

    __tablename__ = "grants"

    workflow: Mapped[str] = mapped_column(String(100), primary_key=True)
    agent: Mapped[str] = mapped_column(String(200), primary_key=True)
    agent_version: Mapped[str] = mapped_column(String(100), primary_key=True)
    stage: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer)
    entered_at: Mapped[datetime] = mapped_column(DateTime)
    entered_run_pk: Mapped[int] = mapped_column(BigInteger, default=0)
    """The highest run pk when the stage was entered: runs after it are runs *at* this stage."""
    source: Mapped[str] = mapped_column(String(16))
    """``granted`` (a promotion or demotion) or ``carried-over`` (inherited per the policy)."""
    carried_from: Mapped[str | None] = mapped_column(String(310))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    """The policy's ``recertify_days`` after the grant: from then on the version holds ``fallback_stage``."""
    fallback_stage: Mapped[str | None] = mapped_column(String(12))


class WorkflowControl(Base):
    """The kill switch: a paused workflow has every write refused, whatever the grant."""

    __tablename__ = "workflow_controls"

    workflow: Mapped[str] = mapped_column(String(100), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(DateTime)


class Incident(Base):
    """A real incident a person recorded against an agent version (usually from a session at work)."""

    __tablename__ = "incidents"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    workflow: Mapped[str] = mapped_column(String(100))
    agent: Mapped[str] = mapped_column(String(200))
    agent_version: Mapped[str] = mapped_column(String(100))
    session_id: Mapped[str | None] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(12))
    """The stage the version held when the incident was recorded."""
    severity: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    demotion_seq: Mapped[int | None] = mapped_column(Integer)
    """The transition it caused, if any."""

    __table_args__ = (Index("ix_incidents_track", "workflow", "agent", "agent_version", "pk"),)


class Transition(Base):
    __tablename__ = "transitions"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    workflow: Mapped[str] = mapped_column(String(100))
    seq: Mapped[int] = mapped_column(Integer)
    from_stage: Mapped[str] = mapped_column(String(12))
    to_stage: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(10))
    """promote or demote."""
    override: Mapped[bool] = mapped_column(Boolean, default=False)
    actor: Mapped[str] = mapped_column(String(200))
    """A person, or ``rule:<description>`` for an automatic demotion."""
    reason: Mapped[str] = mapped_column(Text)
    agent: Mapped[str | None] = mapped_column(String(200))
    agent_version: Mapped[str | None] = mapped_column(String(100))
    signoffs: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    gate: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    evidence_digest: Mapped[str | None] = mapped_column(String(64))
    policy_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("workflow", "seq", name="uq_transitions_workflow_seq"),)


class Signoff(Base):
    """A sign-off waiting for others; void once the agent version's grant moves."""

    __tablename__ = "signoffs"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    workflow: Mapped[str] = mapped_column(String(100))
    state_version: Mapped[int] = mapped_column(Integer)
    to_stage: Mapped[str] = mapped_column(String(12))
    person: Mapped[str] = mapped_column(String(200))
    agent: Mapped[str | None] = mapped_column(String(310))
    """NAME@VERSION whose evidence was signed off."""
    roles: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    evidence_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("workflow", "agent", "state_version", "to_stage", "person",
                                       name="uq_signoffs_once"),)


class SuiteScenario(Base):
    """A scenario file declared as part of a workflow's suite, with the digest it must have."""

    __tablename__ = "suites"

    workflow: Mapped[str] = mapped_column(String(100), primary_key=True)
    scenario: Mapped[str] = mapped_column(String(200), primary_key=True)
    digest: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(Text)
    registered_by: Mapped[str] = mapped_column(String(200))
    registered_at: Mapped[datetime] = mapped_column(DateTime)


class Look(Base):
    """One gate evaluation made by a promotion attempt (met, not met or inconclusive)."""

    __tablename__ = "looks"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    workflow: Mapped[str] = mapped_column(String(100))
    agent: Mapped[str] = mapped_column(String(200))
    agent_version: Mapped[str] = mapped_column(String(100))
    to_stage: Mapped[str] = mapped_column(String(12))
    epoch_pk: Mapped[int] = mapped_column(BigInteger)
    """Evidence counts from runs after this pk (the last demotion or grant of the version)."""
    checkpoint: Mapped[int | None] = mapped_column(Integer)
    runs: Mapped[int] = mapped_column(Integer)
    alpha: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(14))
    actor: Mapped[str] = mapped_column(String(200))
    evidence_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_looks_track", "workflow", "agent", "agent_version", "to_stage", "pk"),)


class PolicyPin(Base):
    """The policy that governs a workflow (content and digest); changed only by `harness policy pin`."""

    __tablename__ = "policy_pins"

    workflow: Mapped[str] = mapped_column(String(100), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    path: Mapped[str | None] = mapped_column(Text)
    pinned_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    pinned_at: Mapped[datetime] = mapped_column(DateTime)


class AgentSpec(Base):
    """The spec digest a version label first ran with: the label cannot be reused for another spec."""

    __tablename__ = "agent_specs"

    agent: Mapped[str] = mapped_column(String(200), primary_key=True)
    agent_version: Mapped[str] = mapped_column(String(100), primary_key=True)
    spec_digest: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    first_seen: Mapped[datetime] = mapped_column(DateTime)


SEVERITY_COLUMNS = {s: f"mistakes_{s}" for s in SEVERITIES}
REALISED = {d: f"realised_{d}" for d in BLAST_DIMENSIONS}
POTENTIAL = {d: f"potential_{d}" for d in BLAST_DIMENSIONS}

runs = Run.__table__
mistakes = MistakeRow.__table__
run_counts = RunCount.__table__
plans = Plan.__table__
world_changes = WorldChange.__table__
grants = Grant.__table__
workflow_controls = WorkflowControl.__table__
incidents = Incident.__table__
transitions = Transition.__table__
signoffs = Signoff.__table__
suites = SuiteScenario.__table__
looks = Look.__table__
policy_pins = PolicyPin.__table__
agent_specs = AgentSpec.__table__
