"""The pytest plugin is tested with pytest's own ``pytester`` fixture.

``pytest_plugins = ["pytester"]`` would do, but pytest refuses ``pytest_plugins`` in a conftest
below the top level when the whole suite runs (``pytest tests``): "Defining 'pytest_plugins' in a
non-top-level conftest is no longer supported". So the plugin is loaded when this conftest is.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# pytester's in-process runs (runpytest) forget every module first imported inside them, and the
# libyaml C extension does not survive being imported twice: import what the plugin uses up front.
import harness.agents
import harness.audit
import harness.ledger
import harness.plans
import harness.policy
import harness.promotion
import harness.runner
import harness.scenario
import harness.validate  # noqa: F401

from ._plugin_data import MINIMAL, NOTHING


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


@pytest.fixture
def suite(pytester: pytest.Pytester) -> Path:
    """A folder with two good scenarios: the minimal one (workflow test.discounts, tier medium) and a
    do-nothing one (workflow test.refusals, tier high)."""
    folder = pytester.mkdir("suite")
    (folder / "minimal.yaml").write_text(MINIMAL, encoding="utf-8")
    (folder / "refuse.yaml").write_text(NOTHING, encoding="utf-8")
    return folder
