import os
from pathlib import Path

import pytest

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


_ = os
