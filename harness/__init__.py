"""agent-trust-harness: sandbox simulation and staged rollout for AI agents.

The public API, imported lazily so that loading the pytest plugin stays cheap::

    from harness import load_scenarios, load_agent, RunConfig, run_suite, Task, Toolbox
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Scenario": "harness.scenario",
    "load_scenarios": "harness.scenario",
    "load_scenario_file": "harness.scenario",
    "Task": "harness.agents",
    "Toolbox": "harness.agents",
    "load_agent": "harness.agents",
    "RunConfig": "harness.runner",
    "run_suite": "harness.runner",
    "RunResult": "harness.models",
    "Mistake": "harness.models",
    "BlastRadius": "harness.models",
    "Ledger": "harness.ledger",
    "load_policy": "harness.policy",
    "HarnessError": "harness.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    return getattr(import_module(module), name)
