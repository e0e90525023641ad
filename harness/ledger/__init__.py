"""The ledger: the durable track record of runs, plans and stage transitions.

SQLite by default (``harness.config.ledger_url()``), any SQLAlchemy URL otherwise; the schema is
migrated with alembic when a ledger is opened.
"""

from harness.ledger import _evidence as evidence
from harness.ledger import _report_queries as report_queries
from harness.ledger._evidence import Window
from harness.ledger._plans import PLAN_STATUSES
from harness.ledger._store import Ledger

__all__ = ["PLAN_STATUSES", "Ledger", "Window", "evidence", "report_queries"]
