"""Alembic environment: runs on the connection the ledger hands over (no alembic.ini needed)."""

from __future__ import annotations

from alembic import context

from harness.ledger._schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    raise RuntimeError("open the ledger with harness.ledger.Ledger(url): it applies migrations itself")

context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
