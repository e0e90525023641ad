"""Where runs execute: in this process (asyncio) or on a Dask cluster.

On Dask the suite is cut into chunks of (scenario, trial) jobs; each worker builds its worlds once,
runs its chunk with the same engine and returns the results, which this process records (so the
ledger stays in one place). Audit logs are written by the workers to the configured audit folder:
on a real cluster that folder must be shared storage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from harness.errors import UsageError
from harness.runner import SHARED_WORLDS, RunConfig, SuiteRun, run_one, run_suite
from harness.scenario import Scenario

CHUNK = 50


def _run_chunk(jobs: list[tuple[Scenario, int]], provider: Any, config: RunConfig) -> list[tuple[Any, Any]]:
    """Runs on a worker: the same engine, ``config.concurrency`` runs in flight."""

    async def go() -> list[tuple[Any, Any]]:
        gate = asyncio.Semaphore(max(1, config.concurrency))

        async def one(scenario: Scenario, trial: int):
            async with gate:
                return await run_one(scenario, provider, trial, config, SHARED_WORLDS)

        return list(await asyncio.gather(*(one(s, t) for s, t in jobs)))

    return asyncio.run(go())


def run_on_dask(scenarios: list[Scenario], provider: Any, config: RunConfig, address: str | None = None,
                on_result: Callable | None = None, workers: int = 2) -> SuiteRun:
    """Run the suite on the Dask cluster at ``address`` (a scheduler URL), or on a LocalCluster."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - dask is a dependency
        raise UsageError("Dask is not installed.", expected="pip install 'dask[distributed]'") from None
    jobs = [(s, t) for t in range(config.trials) for s in scenarios]
    chunks = [jobs[i:i + CHUNK] for i in range(0, len(jobs), CHUNK)]
    cluster = None
    if address:
        client = Client(address)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    order = {(s.id, t): i for i, (s, t) in enumerate(jobs)}
    slots: list[Any] = [None] * len(jobs)
    try:
        futures = [client.submit(_run_chunk, chunk, provider, config, pure=False) for chunk in chunks]
        for future in as_completed(futures):
            for result, plan in future.result():
                slots[order[(result.scenario, result.trial)]] = (result, plan)
                if on_result is not None:
                    on_result(result, plan)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    out = SuiteRun()
    for result, plan in slots:
        out.results.append(result)
        if plan is not None:
            out.plans.append(plan)
    return out


def run_with(executor: str, scenarios: list[Scenario], provider: Any, config: RunConfig,
             on_result: Callable | None = None, address: str | None = None) -> SuiteRun:
    if executor == "local":
        return run_suite(scenarios, provider, config, on_result)
    if executor == "dask":
        return run_on_dask(scenarios, provider, config, address, on_result)
    raise UsageError(f"unknown executor {executor!r}.", field="--executor", expected="local or dask")
