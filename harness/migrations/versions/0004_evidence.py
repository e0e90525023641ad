"""Evidence that cannot be padded or peeked: distinct run instances, declared suites, counted looks,
pinned policies and agent spec digests. A grant may expire (``recertify_days``): after
``grants.expires_at`` the version holds ``fallback_stage`` until it is re-certified.

A run's ``instance`` is the hash of (scenario digest, agent, version, spec digest, seed, trial); a
run whose instance is already in the ledger is kept but marked ``duplicate`` and never counts.
``suites`` holds the scenario files (and their digests) a workflow is judged against. ``looks``
records every gate evaluation made by a promotion attempt. ``policy_pins`` keeps the policy that
governs each workflow. ``agent_specs`` binds a version label to the spec digest it first ran with.

Revision ID: 0004_evidence
Revises: 0003_grants
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_evidence"
down_revision = "0003_grants"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("instance", sa.String(64), nullable=True))
        batch.add_column(sa.Column("duplicate", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("agent_spec", sa.String(64), nullable=True))
        batch.add_column(sa.Column("ran_by", sa.String(200), nullable=True))
    op.create_index("ix_runs_instance", "runs", ["instance"])
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("fallback_stage", sa.String(12), nullable=True))
    op.create_table(
        "suites",
        sa.Column("workflow", sa.String(100), primary_key=True),
        sa.Column("scenario", sa.String(200), primary_key=True),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("registered_by", sa.String(200), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "looks",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("workflow", sa.String(100), nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("agent_version", sa.String(100), nullable=False),
        sa.Column("to_stage", sa.String(12), nullable=False),
        sa.Column("epoch_pk", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint", sa.Integer(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("alpha", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(14), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("evidence_digest", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_looks_track", "looks", ["workflow", "agent", "agent_version", "to_stage", "pk"])
    op.create_table(
        "policy_pins",
        sa.Column("workflow", sa.String(100), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("pinned_by", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("pinned_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "agent_specs",
        sa.Column("agent", sa.String(200), primary_key=True),
        sa.Column("agent_version", sa.String(100), primary_key=True),
        sa.Column("spec_digest", sa.String(64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=True),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("agent_specs")
    op.drop_table("policy_pins")
    op.drop_index("ix_looks_track", table_name="looks")
    op.drop_table("looks")
    op.drop_table("suites")
    with op.batch_alter_table("grants") as batch:
        batch.drop_column("fallback_stage")
        batch.drop_column("expires_at")
    op.drop_index("ix_runs_instance", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("ran_by")
        batch.drop_column("agent_spec")
        batch.drop_column("duplicate")
        batch.drop_column("instance")
