"""What running agents out of process costs (targets in brackets):

- added time per tool call: a pipe round trip and two JSON encodings [< 1 ms];
- added time per run, with a warm worker (the worker is reused between runs) [< 5 ms];
- starting a worker (a fresh interpreter importing the agent), paid once per run in flight [< 2 s].

Each figure compares the same agent (``bench/_isolation_agent.py``: N ``crm_get`` calls per run) run
in a worker process (the default for ``--agent module:attr``) and ``--in-process``, through the same
run engine, one run at a time so the differences are latency, not contention. Wall time, medians of
several rounds: on a loaded machine the figures are noisy (say so next to them).

Run: python bench/bench_isolation.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.agents import load_agent  # noqa: E402
from harness.runner import RunConfig, run_suite  # noqa: E402
from harness.scenario import load_scenario_file  # noqa: E402

MINIMAL = ROOT / "tests" / "data" / "good" / "minimal.yaml"
SPEC = "_isolation_agent:build"


def _suite_seconds(provider, scenario, runs: int) -> float:
    config = RunConfig(trials=runs, concurrency=1, audit_dir=None)
    start = time.perf_counter()
    suite = run_suite([scenario], provider, config)
    elapsed = time.perf_counter() - start
    errors = [r.error for r in suite.results if r.error is not None]
    assert not errors, errors[:1]
    return elapsed


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs, calls, rounds = (20, 20, 3) if args.quick else (100, 50, 5)
    scenario = load_scenario_file(MINIMAL)

    start = time.perf_counter()
    isolated_0 = load_agent(SPEC, {"calls": "0"}, isolate=True)  # loads the agent once in a worker
    probe_s = time.perf_counter() - start
    isolated_n = load_agent(SPEC, {"calls": str(calls)}, isolate=True)
    local_0 = load_agent(SPEC, {"calls": "0"})
    local_n = load_agent(SPEC, {"calls": str(calls)})

    # each suite starts its worker afresh: (suite of N runs) - (suite of 1 run) leaves N-1 warm runs
    first = _suite_seconds(isolated_0, scenario, 1)
    keys = ("iso1", "iso0", "ison", "loc1", "loc0", "locn")
    t: dict[str, list[float]] = {key: [] for key in keys}
    for _ in range(rounds):
        t["iso1"].append(_suite_seconds(isolated_0, scenario, 1))
        t["iso0"].append(_suite_seconds(isolated_0, scenario, runs))
        t["ison"].append(_suite_seconds(isolated_n, scenario, runs))
        t["loc1"].append(_suite_seconds(local_0, scenario, 1))
        t["loc0"].append(_suite_seconds(local_0, scenario, runs))
        t["locn"].append(_suite_seconds(local_n, scenario, runs))
    m = {k: _median(v) for k, v in t.items()}
    iso_run = (m["iso0"] - m["iso1"]) / (runs - 1)
    loc_run = (m["loc0"] - m["loc1"]) / (runs - 1)
    iso_call = (m["ison"] - m["iso0"]) / (runs * calls)
    loc_call = (m["locn"] - m["loc0"]) / (runs * calls)
    start_s = m["iso1"] - m["loc1"]
    per_run_ms, per_call_ms = (iso_run - loc_run) * 1000, (iso_call - loc_call) * 1000
    print(f"runs per suite {runs}, tool calls per run {calls}, rounds {rounds} "
          "(wall time, medians; noisy on a loaded machine)")
    print(f"in process:     {loc_run * 1000:8.3f} ms/run  {loc_call * 1000:8.3f} ms/call")
    print(f"worker process: {iso_run * 1000:8.3f} ms/run  {iso_call * 1000:8.3f} ms/call")
    print(f"added per tool call   {per_call_ms:8.3f} ms  [target < 1 ms]  {'ok' if per_call_ms < 1 else 'MISSED'}")
    print(f"added per run (warm)  {per_run_ms:8.3f} ms  [target < 5 ms]  {'ok' if per_run_ms < 5 else 'MISSED'}")
    print(f"worker start          {start_s:8.3f} s   [target < 2 s]   {'ok' if start_s < 2 else 'MISSED'}"
          f"  (loading the agent at start-up: {probe_s:.3f} s; first suite {first:.3f} s)")


if __name__ == "__main__":
    main()
