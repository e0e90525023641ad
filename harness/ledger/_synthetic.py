"""Synthetic RunResults for tests and benchmarks: seeded, cheap, and shaped like real runs."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from harness.models import BlastRadii, BlastRadius, Mistake, RunError, RunResult

_COUNTER = itertools.count(1)


def make_run(*, workflow: str = "crm.renewal-discounts", agent: str = "sim", version: str = "1",
             scenario: str = "s1", stage: str = "sandbox", severities: tuple[str, ...] = (),
             error: str | None = None, started_at: datetime | str | None = None, run_id: str | None = None,
             realised: dict | None = None, potential: dict | None = None, trial: int = 0) -> RunResult:
    """One run; ``severities`` gives one mistake per entry, ``error`` a cause (agent/harness/environment)."""
    n = next(_COUNTER)
    mistakes = [Mistake(type="wrong_value", severity=s, entity=f"deal:d{i}", detail=f"synthetic {s} mistake")
                for i, s in enumerate(severities)]
    when = started_at or datetime.now(UTC)
    outcome = "error" if error else ("fail" if mistakes else "pass")
    return RunResult(
        run_id=run_id or f"run-{n:08d}-{random.getrandbits(32):08x}", scenario=scenario,
        scenario_digest="sha256:" + "0" * 16, scenario_path=f"scenarios/{scenario}.yaml", workflow=workflow,
        tier="medium", agent=agent, agent_version=version, stage=stage, trial=trial, seed=n, outcome=outcome,
        mistakes=mistakes, blast_radius=BlastRadii(realised=BlastRadius(**(realised or {})),
                                                   potential=BlastRadius(**(potential or {}))),
        error=RunError(cause=error, message=f"synthetic {error} error") if error else None,
        started_at=when if isinstance(when, str) else when.isoformat(), duration_ms=12.5, tool_calls=4,
        audit_path=f"audit/run-{n}.jsonl", audit_head="0" * 64)


def synthetic_runs(count: int, *, mistake_rate: float, seed: int = 0, workflow: str = "crm.renewal-discounts",
                   agent: str = "sim", version: str = "1", scenarios: tuple[str, ...] = ("s1", "s2", "s3"),
                   stage: str = "sandbox", start: datetime | None = None,
                   severity: str = "medium") -> Iterator[RunResult]:
    """``count`` runs cycling through ``scenarios``; each has a mistake with probability ``mistake_rate``."""
    rng = random.Random(seed)
    start = start or datetime.now(UTC) - timedelta(seconds=count)
    for i in range(count):
        bad = rng.random() < mistake_rate
        yield make_run(workflow=workflow, agent=agent, version=version, scenario=scenarios[i % len(scenarios)],
                       stage=stage, severities=(severity,) if bad else (), trial=i // len(scenarios),
                       started_at=start + timedelta(seconds=i), potential={"entities_touched": 1} if bad else None)
