"""The schema comes from alembic migrations, applied on open: fresh files, idempotence, no drift."""

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from harness.errors import LedgerError
from harness.ledger import Ledger
from harness.ledger._engine import head_revision
from harness.ledger._schema import Base

TABLES = {"runs", "mistakes", "run_counts", "plans", "world_changes", "grants", "workflow_controls", "incidents",
          "transitions",
          "signoffs", "alembic_version"}


def test_fresh_file_is_created_with_the_schema(tmp_path):
    path = tmp_path / "deep" / "folder" / "ledger.db"
    Ledger(f"sqlite:///{path}").close()
    con = sqlite3.connect(path)
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert TABLES <= names
    assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(head_revision(),)]
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"ix_runs_track", "ix_runs_workflow_pk", "ix_runs_workflow_started", "ix_mistakes_run_pk"} <= indexes


def test_opening_again_is_idempotent_and_keeps_data(tmp_path):
    from harness.ledger._synthetic import make_run

    url = f"sqlite:///{tmp_path / 'l.db'}"
    with Ledger(url) as first:
        first.record_runs([make_run(run_id="keep-me")])
    for _ in range(3):
        with Ledger(url) as again:
            assert again.get_run("keep-me")["run_id"] == "keep-me"
    con = sqlite3.connect(tmp_path / "l.db")
    assert con.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1


def test_migrations_match_the_models(tmp_path):
    """No drift: the migrated database and the SQLAlchemy models describe the same schema."""
    url = f"sqlite:///{tmp_path / 'l.db'}"
    Ledger(url).close()
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_a_bad_url_is_a_clear_error():
    with pytest.raises(LedgerError, match="not a database URL"):
        Ledger("not a url at all")


def test_ledger_url_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_LEDGER", f"sqlite:///{tmp_path / 'env.db'}")
    with Ledger() as led:
        assert led.url.endswith("env.db")
    assert (tmp_path / "env.db").exists()


def test_default_ledger_lives_in_harness_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HARNESS_LEDGER", raising=False)
    Ledger().close()
    assert (tmp_path / "home" / "ledger.db").exists()


def test_a_ledger_from_before_grants_keeps_its_stage_as_the_grant_of_that_version(tmp_path):
    """Upgrading 0001 → head: a workflow's stage becomes the grant of the version it was granted to."""
    from alembic import command
    from sqlalchemy import text

    from harness.ledger._engine import _alembic_config, make_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
        conn.execute(text("INSERT INTO workflow_state (workflow, stage, version, entered_at, entered_run_pk, agent, "
                          "agent_version) VALUES ('wf.a', 'approve', 2, '2026-01-01 00:00:00', 0, 'bot', '3')"))
    engine.dispose()
    with Ledger(url) as ledger:
        assert ledger.grant("wf.a", "bot", "3")["stage"] == "approve"
        assert ledger.grant("wf.a", "bot", "4")["stage"] == "sandbox"  # a new version starts at sandbox
        assert ledger.workflow_state("wf.a")["stage"] == "approve"
