"""Helpers: variants of the minimal scenario written to a temporary file, and runs at several stages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.agents import CallableProvider
from harness.policy import StageBounds as Bounds
from harness.runner import RunConfig, run_suite
from harness.scenario import load_scenario_file

MINIMAL = Path(__file__).resolve().parent.parent / "data" / "good" / "minimal.yaml"
STAGES = ("sandbox", "suggest", "approve")


def variant(tmp_path: Path, name: str = "variant", **changes: Any):
    """The minimal scenario with top-level keys replaced (``expect``, ``world``, ``reference`` …)."""
    data = yaml.safe_load(MINIMAL.read_text())
    data.update(changes)
    data["id"] = f"test-{name}"
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_scenario_file(path)


class StageBounds:
    """Bounds as a policy would set them at suggest and approve: protected /legal, 20% discounts."""

    def bounds_for(self, workflow: str, stage: str):
        if stage == "sandbox":
            return None
        return Bounds(max_writes=20, max_discount_pct=20.0, protected_paths=["/legal/**"])


def run(scenario, fn, stage: str = "sandbox", policy: Any = None, **kw: Any):
    provider = CallableProvider(fn, name=getattr(fn, "__name__", "agent"), version="test")
    config = RunConfig(stage=stage, audit_dir=None, policy=policy, **kw)
    return run_suite([scenario], provider, config).results[0]


def verdict(result) -> tuple:
    """What must not depend on the stage: outcome, mistakes, potential blast radius."""
    return (result.outcome, sorted((m.type, m.severity, m.entity, m.detail) for m in result.mistakes),
            result.blast_radius.potential.model_dump())


def at_every_stage(scenario, fn, policy: Any = None) -> list:
    results = [run(scenario, fn, stage, policy=policy or StageBounds()) for stage in STAGES]
    first = verdict(results[0])
    for stage, result in zip(STAGES, results, strict=True):
        assert verdict(result) == first, f"{stage} differs from sandbox: {verdict(result)} != {first}"
    return results
