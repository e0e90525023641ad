"""Evidence from work: gateway sessions, suggestions, pinned tool definitions, the apply journal.

Revision ID: 0002_work
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_work"
down_revision = "0001"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(100), nullable=False, unique=True),
        sa.Column("workflow", sa.String(100), nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("agent_version", sa.String(100), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("stage_at_start", sa.String(12), nullable=False),
        sa.Column("upstreams", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("audit_path", sa.Text(), nullable=True),
        sa.Column("audit_head", sa.String(128), nullable=True),
        sa.Column("plan_id", sa.String(100), nullable=True),
        *[sa.Column(c, sa.Integer(), nullable=False) for c in
          ("calls", "forwarded_reads", "forwarded_writes", "refused", "suggestions", "planned", "env_errors")],
    )
    op.create_index("ix_sessions_track", "sessions", ["workflow", "agent", "agent_version"])
    op.create_table(
        "suggestions",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(100), nullable=False, unique=True),
        sa.Column("session_id", sa.String(100), nullable=False),
        sa.Column("workflow", sa.String(100), nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("agent_version", sa.String(100), nullable=False),
        sa.Column("tool", sa.String(200), nullable=False),
        sa.Column("upstream", sa.String(100), nullable=False),
        sa.Column("upstream_tool", sa.String(200), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("effect", sa.String(14), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("money", sa.Float(), nullable=True),
        sa.Column("probe", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_suggestions_session_id", "suggestions", ["session_id"])
    op.create_index("ix_suggestions_workflow_status", "suggestions", ["workflow", "status"])
    op.create_table(
        "tool_pins",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("workflow", sa.String(100), nullable=False),
        sa.Column("upstream", sa.String(100), nullable=False),
        sa.Column("tool", sa.String(200), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("pinned_by", sa.String(200), nullable=False),
        sa.Column("pinned_at", sa.DateTime(), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("pending_hash", sa.String(64), nullable=True),
        sa.Column("pending_definition", sa.JSON(), nullable=True),
        sa.Column("pending_seen_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("workflow", "upstream", "tool", name="uq_tool_pins"),
    )
    op.create_table(
        "work_journal",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("plan_id", sa.String(100), nullable=False),
        sa.Column("action_id", sa.String(100), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("settled_by", sa.String(200), nullable=True),
        sa.Column("settle_reason", sa.Text(), nullable=True),
        sa.UniqueConstraint("plan_id", "action_id", name="uq_work_journal_item"),
    )


def downgrade() -> None:
    for table in ("work_journal", "tool_pins", "suggestions", "sessions"):
        op.drop_table(table)
