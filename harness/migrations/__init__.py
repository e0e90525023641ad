"""Alembic migrations of the ledger, applied programmatically when a ledger is opened."""
