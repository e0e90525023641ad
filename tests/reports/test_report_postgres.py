"""The same report from a PostgreSQL ledger (runs only when HARNESS_TEST_POSTGRES_URL names a test database).

The report streams runs through the driver's server-side cursor there; its numbers must equal the
SQLite ledger's for the same runs.
"""

import os
import uuid

import pytest
from ._report_ledger import NOW, build
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from harness.ledger import Ledger
from reports import build_report

PG_URL = os.environ.get("HARNESS_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="set HARNESS_TEST_POSTGRES_URL to a PostgreSQL test database "
                                          "(e.g. postgresql+psycopg://postgres@localhost/harness_test)"),
]


@pytest.fixture
def pg_url():
    schema = f"harness_report_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).set(drivername="postgresql+psycopg").update_query_dict(
        {"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _strip(report):
    report = dict(report)
    report.pop("ledger")
    return report


def test_postgres_report_equals_sqlite_report(pg_url, ledger, policy):
    with Ledger(pg_url) as pg:
        build(pg)
        on_pg = build_report(pg, policy, now=NOW, since="2025-01-01T00:00:00Z")
    on_sqlite = build_report(ledger, policy, now=NOW, since="2025-01-01T00:00:00Z")
    # run ids (a counter) and transition times (the clock) differ between the two; nothing else may
    for r in (on_pg, on_sqlite):
        for w in r["workflows"]:
            for run in w["bad_runs"] + [x for d in w["blast_radius"]["worst_runs"].values() for x in d]:
                run.pop("run_id"), run.pop("explain")
            w["verdict"].pop("entered_at")
            for h in w["stage_history"]:
                h.pop("at")
    assert on_pg["overall"]["totals"]["runs"] == 672
    assert _strip(on_pg) == _strip(on_sqlite)
