"""Stages are granted per agent version; rehearsal runs; pauses; incidents.

The stage belongs to a workflow *and* an agent version (``grants``), so a new version starts at
sandbox. Existing ``workflow_state`` rows become grants of the version they named. Runs made as a
rehearsal (above the grant, on the fakes) are marked and never count as evidence. A workflow can be
paused (every write refused) and people record incidents from work.

Revision ID: 0003_grants
Revises: 0002_work
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_grants"
down_revision = "0002_work"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "grants",
        sa.Column("workflow", sa.String(100), primary_key=True),
        sa.Column("agent", sa.String(200), primary_key=True),
        sa.Column("agent_version", sa.String(100), primary_key=True),
        sa.Column("stage", sa.String(12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("entered_run_pk", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("carried_from", sa.String(310), nullable=True),
    )
    conn = op.get_bind()
    old = sa.table("workflow_state", sa.column("workflow"), sa.column("stage"), sa.column("version"),
                   sa.column("entered_at"), sa.column("entered_run_pk"), sa.column("agent"),
                   sa.column("agent_version"))
    grants = sa.table("grants", sa.column("workflow"), sa.column("agent"), sa.column("agent_version"),
                      sa.column("stage"), sa.column("version"), sa.column("entered_at"),
                      sa.column("entered_run_pk"), sa.column("source"), sa.column("carried_from"))
    for row in conn.execute(sa.select(old)).mappings():
        if row["agent"] and row["agent_version"] and row["stage"] != "sandbox":
            conn.execute(sa.insert(grants).values(
                workflow=row["workflow"], agent=row["agent"], agent_version=row["agent_version"],
                stage=row["stage"], version=row["version"], entered_at=row["entered_at"],
                entered_run_pk=row["entered_run_pk"], source="granted", carried_from=None))
    op.drop_table("workflow_state")

    op.create_table(
        "workflow_controls",
        sa.Column("workflow", sa.String(100), primary_key=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "incidents",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("workflow", sa.String(100), nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("agent_version", sa.String(100), nullable=False),
        sa.Column("session_id", sa.String(100), nullable=True),
        sa.Column("stage", sa.String(12), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("demotion_seq", sa.Integer(), nullable=True),
    )
    op.create_index("ix_incidents_track", "incidents", ["workflow", "agent", "agent_version", "pk"])

    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("rehearsal", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("signoffs") as batch:
        batch.drop_constraint("uq_signoffs_once", type_="unique")
        batch.create_unique_constraint("uq_signoffs_once", ["workflow", "agent", "state_version", "to_stage",
                                                            "person"])


def downgrade() -> None:
    with op.batch_alter_table("signoffs") as batch:
        batch.drop_constraint("uq_signoffs_once", type_="unique")
        batch.create_unique_constraint("uq_signoffs_once", ["workflow", "state_version", "to_stage", "person"])
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("rehearsal")
    op.drop_index("ix_incidents_track", table_name="incidents")
    op.drop_table("incidents")
    op.drop_table("workflow_controls")
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
    op.drop_table("grants")
