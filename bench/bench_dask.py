"""Dask against the local executor: the same 10,000 oracle runs of the bundled scenarios on a
LocalCluster that is already up, and on the local worker processes (as ``harness run`` does), with
one worker per core on both sides [target: Dask within 1.5x of local].

Rounds alternate between the two so that a change in the machine's load hits both. The first Dask
round builds each scenario's world once per worker; later rounds reuse them (workers live on), so
both the first round and the median of all rounds are printed. Wall time, and CPU time of every
process involved (this one, which also hosts the LocalCluster's scheduler, plus the workers: local
ones by rusage, Dask's by ``time.process_time`` on each worker), which a loaded machine disturbs far
less. Results are checked identical to the local executor's (ids and timings aside).

Run: python bench/bench_dask.py [--runs 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.agents import load_agent  # noqa: E402
from harness.executors import default_workers, run_in_processes, run_on_dask  # noqa: E402
from harness.runner import RunConfig  # noqa: E402
from harness.scenario import load_scenarios  # noqa: E402

VARYING = {"run_id", "started_at", "duration_ms", "audit_path", "audit_head", "plan_id"}


def comparable(results) -> list[dict]:
    return [{k: v for k, v in r.public_dict().items() if k not in VARYING} for r in results]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from dask.distributed import Client, LocalCluster

    scenarios = load_scenarios([ROOT / "scenarios"])
    provider = load_agent("oracle")
    config = RunConfig(trials=math.ceil(args.runs / len(scenarios)), audit_dir=None)
    workers = default_workers()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    print(f"{len(scenarios) * config.trials} oracle runs, {workers} workers each side; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    local_times, dask_times, local_cpu, dask_cpu, same = [], [], [], [], True
    client = Client(cluster)
    try:
        for i in range(args.rounds):
            t0, c0, k0 = time.perf_counter(), time.process_time(), _children_cpu()
            local = run_in_processes(scenarios, provider, config, workers).results
            local_times.append(time.perf_counter() - t0)
            local_cpu.append(time.process_time() - c0 + _children_cpu() - k0)
            w0 = sum(client.run(time.process_time).values())
            t0, c0 = time.perf_counter(), time.process_time()
            remote = run_on_dask(scenarios, provider, config, address=cluster.scheduler_address).results
            dask_times.append(time.perf_counter() - t0)
            dask_cpu.append(time.process_time() - c0 + sum(client.run(time.process_time).values()) - w0)
            same = same and comparable(remote) == comparable(local)
            print(f"  round {i + 1}: local {local_times[-1]:.2f} s ({local_cpu[-1]:.2f} CPU-s), "
                  f"dask {dask_times[-1]:.2f} s ({dask_cpu[-1]:.2f} CPU-s)")
    finally:
        client.close()
        cluster.close()
    for label, d, loc in (("wall", dask_times, local_times), ("CPU", dask_cpu, local_cpu)):
        print(f"dask / local, {label}: first round {d[0] / loc[0]:.2f}x (worlds built), median of {args.rounds} "
              f"rounds {statistics.median(d) / statistics.median(loc):.2f}x [target <= 1.5x]")
    print(f"results identical: {same}")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
