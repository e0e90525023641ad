import os
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# A loaded 2-core CI machine must not turn slow examples into failures: no per-example deadline.
settings.register_profile("harness", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "harness"))

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Every test gets its own data folder: no test reads or writes the user's ledger."""
    monkeypatch.setenv("HARNESS_HOME", str(tmp_path / "harness-home"))
    monkeypatch.delenv("HARNESS_LEDGER", raising=False)
    monkeypatch.delenv("HARNESS_AUDIT_KEY", raising=False)
    yield


@pytest.fixture
def minimal_scenario():
    from harness.scenario import load_scenario_file

    return load_scenario_file(DATA / "good" / "minimal.yaml")


PG_URL = os.environ.get("HARNESS_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
needs_postgres = [
    pytest.mark.postgres,
    # in CI `.ci/run` starts a server: a missing one fails these tests (in the pg_url fixture), never skips them
    pytest.mark.skipif(not PG_URL and not IN_CI, reason="set HARNESS_TEST_POSTGRES_URL to a PostgreSQL test database "
                                          "(e.g. postgresql+psycopg://postgres@localhost/harness_test); "
                                          ".ci/run starts one"),
]


@pytest.fixture
def pg_url():
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards (the database is left as found)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if not PG_URL:
        pytest.fail("CI must run the PostgreSQL tests, but HARNESS_TEST_POSTGRES_URL is not set: `.ci/run` could "
                    "not start PostgreSQL (see its warnings).")
    schema = f"harness_test_{uuid.uuid4().hex[:10]}"
    base = make_url(PG_URL).set(drivername="postgresql+psycopg")
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def ledger_url(tmp_path):
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def ledger(ledger_url):
    from harness.ledger import Ledger

    with Ledger(ledger_url) as led:
        yield led
