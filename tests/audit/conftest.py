"""Fixtures for the audit-log tests: an isolated data folder and a realistic run log."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.audit import set_head_lookup, set_locator

from ._audit_helpers import RUN_ID, write_log


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HARNESS_AUDIT_KEY", raising=False)
    set_locator(None)
    set_head_lookup(None)
    yield
    set_locator(None)
    set_head_lookup(None)


@pytest.fixture
def log_path(tmp_path) -> Path:
    path = tmp_path / "out" / "audit" / f"{RUN_ID}.jsonl"
    write_log(path)
    return path
