"""The same report from a PostgreSQL ledger (runs only when HARNESS_TEST_POSTGRES_URL names a test database).

The report streams runs through the driver's server-side cursor there; its numbers must equal the
SQLite ledger's for the same runs.
"""

import pytest

from harness.ledger import Ledger
from reports import build_report
from tests.conftest import needs_postgres

from ._report_ledger import NOW, build

pytestmark = needs_postgres


def _strip(report):
    report = dict(report)
    report.pop("ledger")
    return report


@pytest.mark.parametrize("since", [None, "2025-01-01T00:00:00Z"])
def test_postgres_report_equals_sqlite_report(pg_url, ledger, policy, since):
    with Ledger(pg_url) as pg:
        build(pg)
        on_pg = build_report(pg, policy, now=NOW, since=since)
    on_sqlite = build_report(ledger, policy, now=NOW, since=since)
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
