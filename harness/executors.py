"""Where runs execute: in this process, in a pool of local worker processes, or on a Dask cluster.

The suite is cut into chunks of (scenario, trial) jobs, scenario by scenario, so a worker builds
each scenario's world once (its process-wide ``SHARED_WORLDS``) and forks it per run. Each worker
runs its chunk with the same engine (``run_chunk``) and returns the results, which this process
records in job order (so the ledger stays in one place and the output is the same as one process
gives). Local workers are forked from this process, so agents need not be picklable. Audit logs
are written by the workers to the configured audit folder: on a Dask cluster that folder must be
shared storage.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
from collections.abc import Callable, Iterator
from typing import Any

from harness.errors import UsageError
from harness.runner import SHARED_WORLDS, RunConfig, SuiteRun, run_one, run_suite
from harness.scenario import Scenario

Job = tuple[int, int]
"""(index of the scenario in the suite, trial)."""


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def plan_chunks(n_scenarios: int, trials: int, workers: int, concurrency: int) -> list[list[Job]]:
    """Jobs grouped scenario by scenario, in chunks of about a quarter of a worker's share (to balance
    the load), and at least four times ``concurrency`` (a worker keeps that many runs in flight and
    waits for a chunk's last run before the next chunk, so a short chunk would idle it)."""
    jobs = [(s, t) for s in range(n_scenarios) for t in range(trials)]
    if not jobs:
        return []
    size = max(4 * concurrency, math.ceil(len(jobs) / (workers * 4)))
    return [jobs[i:i + size] for i in range(0, len(jobs), size)]


def run_chunk(scenarios: list[Scenario], provider: Any, config: RunConfig, jobs: list[Job]) -> list[tuple]:
    """Run ``jobs`` here with ``config.concurrency`` in flight; returns (scenario index, trial, result, plan)."""

    async def go() -> list[tuple]:
        out: list[tuple] = []
        pending = iter(jobs)
        journal = None
        if config.journal is not None:  # finished runs survive a kill -9 before the chunk returns
            from harness._journal import RunJournal

            try:
                journal = RunJournal(*config.journal)
            except OSError:  # e.g. a remote Dask worker without the harness's folder
                journal = None

        async def worker() -> None:
            for s, t in pending:
                result, plan = await run_one(scenarios[s], provider, t, config, SHARED_WORLDS)
                if journal is not None:
                    journal.add(result)
                out.append((s, t, result, plan))

        try:
            await asyncio.gather(*(worker() for _ in range(max(1, min(config.concurrency, len(jobs))))))
        finally:
            aclose = getattr(provider, "aclose", None)  # agent worker processes (harness.agents._isolated)
            if aclose is not None:
                await aclose()
            if journal is not None:
                journal.close()
        return out

    return asyncio.run(go())


def _ordered(scenarios: list[Scenario], trials: int, chunks: Iterator[list[tuple]],
             on_result: Callable | None) -> SuiteRun:
    """Collect results as chunks arrive (``on_result`` for each), then lay them out in the order one
    process gives: trial by trial, scenario by scenario."""
    slots: list[Any] = [None] * (len(scenarios) * trials)
    for chunk in chunks:
        for s, t, result, plan in chunk:
            slots[t * len(scenarios) + s] = (result, plan)
            if on_result is not None:
                on_result(result, plan)
    out = SuiteRun()
    for slot in slots:
        if slot is not None:
            out.results.append(slot[0])
            if slot[1] is not None:
                out.plans.append(slot[1])
    return out


# -- local worker processes ------------------------------------------------------------------------
_FORKED: tuple | None = None
"""(scenarios, provider, config) as the parent had them when it forked the pool."""


def _forked_chunk(jobs: list[Job]) -> list[tuple]:
    assert _FORKED is not None
    return run_chunk(*_FORKED, jobs)


def run_in_processes(scenarios: list[Scenario], provider: Any, config: RunConfig, workers: int,
                     on_result: Callable | None = None) -> SuiteRun:
    """Run the suite on ``workers`` forked processes (one process runs it here, in this one)."""
    global _FORKED
    import multiprocessing

    chunks = plan_chunks(len(scenarios), config.trials, workers, max(1, config.concurrency // workers))
    if workers <= 1 or len(chunks) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return run_suite(scenarios, provider, config, on_result)
    per_worker = dataclasses.replace(config, concurrency=max(1, math.ceil(config.concurrency / workers)))
    _FORKED = (scenarios, provider, per_worker)
    try:
        with multiprocessing.get_context("fork").Pool(min(workers, len(chunks))) as pool:
            return _ordered(scenarios, config.trials, pool.imap_unordered(_forked_chunk, chunks), on_result)
    finally:
        _FORKED = None


# -- Dask ------------------------------------------------------------------------------------------
def _dask_chunk(suite: tuple, jobs: list[Job]) -> list[tuple]:
    return run_chunk(*suite, jobs)


def run_on_dask(scenarios: list[Scenario], provider: Any, config: RunConfig, address: str | None = None,
                on_result: Callable | None = None, workers: int = 2) -> SuiteRun:
    """Run the suite on the Dask cluster at ``address`` (a scheduler URL), or on a LocalCluster."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - dask is a dependency
        raise UsageError("Dask is not installed.", expected="pip install 'dask[distributed]'") from None
    cluster = None
    if address:
        client = Client(address)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or workers)
        chunks = plan_chunks(len(scenarios), config.trials, n_workers, config.concurrency)
        # the suite travels to each worker once; tasks carry only their job lists
        [suite] = client.scatter([(scenarios, provider, config)], broadcast=True)
        futures = [client.submit(_dask_chunk, suite, chunk, pure=False) for chunk in chunks]
        return _ordered(scenarios, config.trials, (f.result() for f in as_completed(futures)), on_result)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_with(executor: str, scenarios: list[Scenario], provider: Any, config: RunConfig,
             on_result: Callable | None = None, address: str | None = None, workers: int | None = None) -> SuiteRun:
    """``local``: ``workers`` processes on this machine (default: every core); ``dask``: a cluster."""
    if executor == "local":
        return run_in_processes(scenarios, provider, config, workers or default_workers(), on_result)
    if executor == "dask":
        return run_on_dask(scenarios, provider, config, address, on_result)
    raise UsageError(f"unknown executor {executor!r}.", field="--executor", expected="local or dask")
