"""The first ledger schema: runs, mistakes, run counts, plans, world changes, stages.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(100), nullable=False),
        sa.Column("scenario", sa.String(200), nullable=False),
        sa.Column("scenario_digest", sa.String(100), nullable=False),
        sa.Column("scenario_path", sa.Text(), nullable=False),
        sa.Column("workflow", sa.String(100), nullable=False),
        sa.Column("tier", sa.String(10), nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("agent_version", sa.String(100), nullable=False),
        sa.Column("stage", sa.String(12), nullable=False),
        sa.Column("trial", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("mistakes", sa.Integer(), nullable=False),
        sa.Column("mistakes_low", sa.SmallInteger(), nullable=False),
        sa.Column("mistakes_medium", sa.SmallInteger(), nullable=False),
        sa.Column("mistakes_high", sa.SmallInteger(), nullable=False),
        sa.Column("mistakes_critical", sa.SmallInteger(), nullable=False),
        sa.Column("worst_severity", sa.SmallInteger(), nullable=True),
        sa.Column("error_cause", sa.String(12), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("realised_entities_touched", sa.Integer(), nullable=False),
        sa.Column("realised_irreversible_ops", sa.Integer(), nullable=False),
        sa.Column("realised_external_recipients", sa.Integer(), nullable=False),
        sa.Column("realised_money_exposed", sa.Float(), nullable=False),
        sa.Column("realised_files_lost", sa.Integer(), nullable=False),
        sa.Column("potential_entities_touched", sa.Integer(), nullable=False),
        sa.Column("potential_irreversible_ops", sa.Integer(), nullable=False),
        sa.Column("potential_external_recipients", sa.Integer(), nullable=False),
        sa.Column("potential_money_exposed", sa.Float(), nullable=False),
        sa.Column("potential_files_lost", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("tool_calls", sa.Integer(), nullable=False),
        sa.Column("blocked_calls", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.String(100), nullable=True),
        sa.Column("audit_path", sa.Text(), nullable=True),
        sa.Column("audit_head", sa.String(128), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("run_id"),
    )
    op.create_index("ix_runs_track", "runs", ["workflow", "agent", "agent_version", "pk"])
    op.create_index("ix_runs_workflow_pk", "runs", ["workflow", "pk"])
    op.create_index("ix_runs_workflow_stage_pk", "runs", ["workflow", "stage", "pk"])
    op.create_index("ix_runs_workflow_started", "runs", ["workflow", "started_at"])
    op.create_index("ix_runs_agent_version_pk", "runs", ["agent_version", "pk"])

    op.create_table(
        "mistakes",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("run_pk", PK, sa.ForeignKey("runs.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_mistakes_run_pk", "mistakes", ["run_pk"])

    op.create_table(
        "run_counts",
        sa.Column("workflow", sa.String(100), primary_key=True),
        sa.Column("agent", sa.String(200), primary_key=True),
        sa.Column("agent_version", sa.String(100), primary_key=True),
        sa.Column("scenario", sa.String(200), primary_key=True),
        sa.Column("runs", sa.BigInteger(), nullable=False),
        sa.Column("last_pk", sa.BigInteger(), nullable=False),
    )

    op.create_table(
        "plans",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("run_id", sa.String(100), nullable=True),
        sa.Column("workflow", sa.String(100), nullable=False),
        sa.Column("scenario", sa.String(200), nullable=True),
        sa.Column("scenario_path", sa.Text(), nullable=True),
        sa.Column("agent", sa.String(200), nullable=True),
        sa.Column("agent_version", sa.String(100), nullable=True),
        sa.Column("world_key", sa.String(200), nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("applied_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("approved_unchanged", sa.Boolean(), nullable=True),
    )
    op.create_index("ix_plans_run_id", "plans", ["run_id"])
    op.create_index("ix_plans_workflow_status", "plans", ["workflow", "status"])
    op.create_index("ix_plans_status", "plans", ["status"])

    op.create_table(
        "world_changes",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("world_key", sa.String(200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.Column("plan_id", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("world_key", "seq", name="uq_world_changes_key_seq"),
    )

    op.create_table(
        "workflow_state",
        sa.Column("workflow", sa.String(100), primary_key=True),
        sa.Column("stage", sa.String(12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("entered_run_pk", sa.BigInteger(), nullable=False),
        sa.Column("agent", sa.String(200), nullable=True),
        sa.Column("agent_version", sa.String(100), nullable=True),
    )

    op.create_table(
        "transitions",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("workflow", sa.String(100), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(12), nullable=False),
        sa.Column("to_stage", sa.String(12), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("override", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("agent", sa.String(200), nullable=True),
        sa.Column("agent_version", sa.String(100), nullable=True),
        sa.Column("signoffs", sa.JSON(), nullable=False),
        sa.Column("gate", sa.JSON(), nullable=True),
        sa.Column("evidence_digest", sa.String(64), nullable=True),
        sa.Column("policy_digest", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("workflow", "seq", name="uq_transitions_workflow_seq"),
    )

    op.create_table(
        "signoffs",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("workflow", sa.String(100), nullable=False),
        sa.Column("state_version", sa.Integer(), nullable=False),
        sa.Column("to_stage", sa.String(12), nullable=False),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("agent", sa.String(310), nullable=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence_digest", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("workflow", "state_version", "to_stage", "person", name="uq_signoffs_once"),
    )


def downgrade() -> None:
    for table in ("signoffs", "transitions", "workflow_state", "world_changes", "plans", "run_counts",
                  "mistakes", "runs"):
        op.drop_table(table)
