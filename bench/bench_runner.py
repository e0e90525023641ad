"""Benchmarks of the run engine (targets in brackets):

- a tool call through the gateway, median [< 50 µs], with the audit log on and off (off is what
  ``--no-audit`` gives the gateway: no log at all) [audit on < 1.3x audit off];
- oracle runs of the bundled scenarios per CPU-second in one process [> 5,000 runs/s per core];
- the same through the local executor's worker processes (every core, as ``harness run`` does),
  with the results checked identical to one process;
- fan-out: 1,000 runs of an async agent awaiting a 0.25 s "model call" at concurrency 256, in one
  process and on the worker processes [>= 0.9 of ideal, ideal = 1000 x 0.25 / 256 s].

CPU figures use ``time.process_time`` (plus the worker processes' rusage), which a loaded machine
disturbs far less than wall time; fan-out is wall time by nature. Each figure is a median.

Run: python bench/bench_runner.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.agents import CallableProvider, load_agent  # noqa: E402
from harness.audit import AuditLog  # noqa: E402
from harness.gateway import Gateway  # noqa: E402
from harness.runner import SHARED_WORLDS, RunConfig, run_suite  # noqa: E402
from harness.scenario import load_scenario_file, load_scenarios  # noqa: E402

MINIMAL = ROOT / "tests" / "data" / "good" / "minimal.yaml"


def tool_call_cost(repeats: int) -> dict[str, float]:
    """Median per-call cost over logs of 500 calls (a log's file creation is a per-run cost)."""
    scenario = load_scenario_file(MINIMAL)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label in ("audit off", "audit on"):
            samples = []
            for batch in range(repeats):
                world = SHARED_WORLDS.fork(scenario)
                audit = AuditLog(Path(tmp) / f"{label}-{batch}.jsonl", "bench", fsync=False) if label == "audit on" \
                    else None
                gateway = Gateway(world, "autonomous", audit=audit, max_steps=10_000)
                calls = [("crm_get", {"kind": "deal", "id": "west-renewal"}),
                         ("crm_update_deal", {"id": "west-renewal", "discount_pct": 5}),
                         ("files_read", {"path": "/tmp/keep.csv"}),
                         ("crm_create_note", {"entity": "deal:west-renewal", "body": "applied"})] * 125
                t0 = time.process_time_ns()
                for tool, args in calls:
                    gateway.call(tool, args, "bench")
                if audit is not None:
                    audit.close()
                samples.append((time.process_time_ns() - t0) / len(calls) / 1000)
            out[label] = statistics.median(samples)
    return out


def identical(a, b) -> bool:
    varying = {"run_id", "started_at", "duration_ms", "audit_path", "audit_head", "plan_id"}
    strip = lambda rs: [{k: v for k, v in r.public_dict().items() if k not in varying} for r in rs]  # noqa: E731
    return strip(a) == strip(b)


def oracle_throughput(trials: int, rounds: int) -> tuple[int, float, list]:
    """Runs per CPU-second of this process, one process, concurrency 1 (median of ``rounds``)."""
    scenarios = load_scenarios([ROOT / "scenarios"])
    provider = load_agent("oracle")
    config = RunConfig(trials=trials, audit_dir=None, concurrency=1)
    run_suite(scenarios, provider, RunConfig(trials=1, audit_dir=None))  # worlds built: the steady state
    rates, results = [], []
    for _ in range(rounds):
        t0 = time.process_time()
        results = run_suite(scenarios, provider, config).results
        rates.append(len(results) / (time.process_time() - t0))
    assert all(r.outcome == "pass" for r in results)
    return len(results), statistics.median(rates), results


def oracle_on_workers(trials: int, reference: list) -> tuple[int, float, float, float, bool] | None:
    """(workers, runs/s wall, runs per CPU-second of all processes, worker CPU share, identical)."""
    try:
        from harness.executors import default_workers, run_in_processes
    except ImportError:
        return None
    scenarios = load_scenarios([ROOT / "scenarios"])
    provider = load_agent("oracle")
    workers = default_workers()
    config = RunConfig(trials=trials, audit_dir=None)
    self0, kids0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    results = run_in_processes(scenarios, provider, config, workers).results
    wall = time.perf_counter() - t0
    self1, kids1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_self = self1.ru_utime + self1.ru_stime - self0.ru_utime - self0.ru_stime
    cpu_kids = kids1.ru_utime + kids1.ru_stime - kids0.ru_utime - kids0.ru_stime
    return (workers, len(results) / wall, len(results) / (cpu_self + cpu_kids), cpu_kids / (cpu_self + cpu_kids),
            identical(results, reference))


def oracle_throughput_with_audit(trials: int) -> float:
    scenarios = load_scenarios([ROOT / "scenarios"])
    provider = load_agent("oracle")
    with tempfile.TemporaryDirectory() as tmp:
        config = RunConfig(trials=trials, audit_dir=Path(tmp), concurrency=1)
        t0 = time.process_time()
        results = run_suite(scenarios, provider, config).results
        return len(results) / (time.process_time() - t0)


def waiting_agents(runs: int, concurrency: int, wait: float, workers: int) -> float:
    """Wall seconds for ``runs`` runs that each await ``wait`` s, ``concurrency`` in flight."""
    scenario = load_scenario_file(MINIMAL)

    async def slow_agent(task, tools):
        await asyncio.sleep(wait)  # the model call
        tools.call("crm_update_deal", id="west-renewal", discount_pct=10)

    provider = CallableProvider(slow_agent, name="slow", version="1")
    config = RunConfig(trials=runs, concurrency=concurrency, audit_dir=None)
    t0 = time.perf_counter()
    if workers == 1:
        results = run_suite([scenario], provider, config).results
    else:
        from harness.executors import run_in_processes

        results = run_in_processes([scenario], provider, config, workers).results
    assert len(results) == runs and all(r.outcome == "pass" for r in results)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller numbers, for a smoke run")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    cost = tool_call_cost(10 if args.quick else 60)
    ratio = cost["audit on"] / cost["audit off"]
    print(f"tool call through the gateway, median CPU: {cost['audit off']:.1f} µs (audit off), "
          f"{cost['audit on']:.1f} µs (audit on) -> ratio {ratio:.2f}x [targets: < 50 µs; ratio <= 1.3x]")
    trials = 5 if args.quick else 40
    runs, rate, reference = oracle_throughput(trials, 3 if args.quick else 5)
    print(f"oracle runs, bundled scenarios, one process: {runs} runs at {rate:,.0f} runs per CPU-second "
          f"[target > 5,000 per core]")
    pooled = oracle_on_workers(trials, reference)
    if pooled is not None:
        workers, wall_rate, cpu_rate, share, same = pooled
        print(f"oracle runs on {workers} worker processes (the default): {wall_rate:,.0f} runs/s wall, "
              f"{cpu_rate:,.0f} runs per CPU-second of all processes, {share:.0%} of the CPU in the workers; "
              f"results identical to one process: {same}")
    rate_audit = oracle_throughput_with_audit(2 if args.quick else 10)
    print(f"oracle runs with audit logs written, one process: {rate_audit:,.0f} runs per CPU-second")
    n = 200 if args.quick else 1000
    ideal = n * 0.25 / 256
    for workers in (1, 2):
        if workers > 1 and pooled is None:
            break
        elapsed = statistics.median(waiting_agents(n, 256, 0.25, workers) for _ in range(3))
        print(f"fan-out: {n} runs awaiting a 0.25 s model call, concurrency 256, {workers} process(es): "
              f"{elapsed:.2f} s, ideal {ideal:.2f} s -> {ideal / elapsed:.2f} of ideal [target >= 0.9]")


if __name__ == "__main__":
    main()
