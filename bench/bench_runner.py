"""Benchmarks of the run engine (issue targets in brackets):

- a tool call through the toolbox and gateway, median [< 50 µs], with and without the audit log
  (audit on must cost < 2x audit off);
- oracle runs of the bundled scenarios per second on one core [> 1,000 runs/s];
- 1,000 runs of an async agent that awaits a 1 s "model call", at --concurrency 64
  [little more than 1000/64 ≈ 15.6 s].

Run: python bench/bench_runner.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.agents import CallableProvider, load_agent  # noqa: E402
from harness.audit import AuditLog, NullAuditLog  # noqa: E402
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
                    else NullAuditLog()
                gateway = Gateway(world, "autonomous", audit=audit, max_steps=10_000)
                calls = [("crm_get", {"kind": "deal", "id": "west-renewal"}),
                         ("crm_update_deal", {"id": "west-renewal", "discount_pct": 5}),
                         ("files_read", {"path": "/tmp/keep.csv"}),
                         ("crm_create_note", {"entity": "deal:west-renewal", "body": "applied"})] * 125
                t0 = time.perf_counter_ns()
                for tool, args in calls:
                    gateway.call(tool, args, "bench")
                audit.close()
                samples.append((time.perf_counter_ns() - t0) / len(calls) / 1000)
            out[label] = statistics.median(samples)
    return out


def oracle_throughput(trials: int) -> tuple[int, float]:
    scenarios = load_scenarios([ROOT / "scenarios"])
    provider = load_agent("oracle")
    config = RunConfig(trials=trials, audit_dir=None, concurrency=1)
    run_suite(scenarios, provider, RunConfig(trials=1, audit_dir=None))  # warm the world cache
    t0 = time.perf_counter()
    results = run_suite(scenarios, provider, config).results
    elapsed = time.perf_counter() - t0
    assert all(r.outcome == "pass" for r in results)
    return len(results), len(results) / elapsed


def oracle_throughput_with_audit(trials: int) -> float:
    scenarios = load_scenarios([ROOT / "scenarios"])
    provider = load_agent("oracle")
    with tempfile.TemporaryDirectory() as tmp:
        config = RunConfig(trials=trials, audit_dir=Path(tmp), concurrency=1)
        t0 = time.perf_counter()
        results = run_suite(scenarios, provider, config).results
        return len(results) / (time.perf_counter() - t0)


def waiting_agents(runs: int, concurrency: int, wait: float) -> float:
    scenario = load_scenario_file(MINIMAL)

    async def slow_agent(task, tools):
        await asyncio.sleep(wait)  # the model call
        tools.call("crm_update_deal", id="west-renewal", discount_pct=10)

    provider = CallableProvider(slow_agent, name="slow", version="1")
    t0 = time.perf_counter()
    results = run_suite([scenario], provider, RunConfig(trials=runs, concurrency=concurrency, audit_dir=None)).results
    assert len(results) == runs and all(r.outcome == "pass" for r in results)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller numbers, for a smoke run")
    args = parser.parse_args()
    cost = tool_call_cost(10 if args.quick else 60)
    print(f"tool call through the gateway, median: {cost['audit off']:.1f} µs (audit off), "
          f"{cost['audit on']:.1f} µs (audit on) -> ratio {cost['audit on'] / cost['audit off']:.2f}x "
          "[targets: < 50 µs; ratio < 2x]")
    runs, rate = oracle_throughput(5 if args.quick else 40)
    print(f"oracle runs, bundled scenarios, one core, no audit: {runs} runs at {rate:,.0f} runs/s [target > 1,000]")
    rate_audit = oracle_throughput_with_audit(2 if args.quick else 10)
    print(f"oracle runs with audit logs written: {rate_audit:,.0f} runs/s")
    n = 200 if args.quick else 1000
    elapsed = waiting_agents(n, 64, 1.0)
    print(f"{n} async runs awaiting a 1 s model call at concurrency 64: {elapsed:.1f} s "
          f"(ideal {n / 64:.1f} s)")


if __name__ == "__main__":
    main()
