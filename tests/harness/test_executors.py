"""One process, many processes and Dask give the same runs (ids and timings aside), in the same order."""

import json
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.agents import load_agent
from harness.executors import plan_chunks, run_in_processes, run_on_dask
from harness.runner import RunConfig, run_suite
from harness.scenario import load_scenarios

ROOT = Path(__file__).resolve().parents[2]
VARYING = {"run_id", "started_at", "duration_ms", "audit_path", "audit_head", "plan_id"}


def comparable(results) -> list[dict]:
    return [{k: v for k, v in r.public_dict().items() if k not in VARYING} for r in results]


def suite():
    scenarios = load_scenarios([ROOT / "scenarios" / "crm", ROOT / "scenarios" / "files"])
    provider = load_agent("simulated", {"mistake_rate": "0.5", "seed": "3"})
    return scenarios, provider


def test_many_processes_and_dask_match_one_process(tmp_path):
    scenarios, provider = suite()
    config = RunConfig(trials=3, stage="approve", audit_dir=tmp_path / "audit")
    one = run_suite(scenarios, provider, config)
    seen = []
    many = run_in_processes(scenarios, provider, config, workers=3, on_result=lambda r, p: seen.append(r.run_id))
    remote = run_on_dask(scenarios, provider, config, workers=2)
    expected = comparable(one.results)
    assert any(r["outcome"] == "fail" for r in expected) and any(r["outcome"] == "pass" for r in expected)
    assert comparable(many.results) == expected
    assert comparable(remote.results) == expected
    assert sorted(seen) == sorted(r.run_id for r in many.results)  # every result reported once
    assert len({r.run_id for r in one.results + many.results + remote.results}) == 3 * len(one.results)
    assert [p.items for p in many.plans] == [p.items for p in one.plans] == [p.items for p in remote.plans]
    assert len(list((tmp_path / "audit").glob("*.jsonl"))) == 3 * len(one.results)


def test_cli_results_do_not_depend_on_the_number_of_workers(tmp_path):
    outputs = []
    for workers in ("1", "2"):
        proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(ROOT / "scenarios" / "email"),
                               "--agent", "simulated", "-a", "mistake_rate=0.4", "--trials", "2", "--json",
                               "--seed", "5",
                               "--no-ledger", "--no-audit", "--workers", workers],
                              capture_output=True, text=True)
        assert proc.returncode in (0, 1), proc.stderr
        payload = json.loads(proc.stdout)
        payload["results"] = [{k: v for k, v in r.items() if k not in VARYING} for r in payload["results"]]
        outputs.append(payload)
    assert outputs[0] == outputs[1]
    assert outputs[0]["failed"] > 0


def test_a_bad_world_in_a_worker_is_the_same_clear_error(tmp_path):
    bad = ROOT / "tests" / "data" / "malformed" / "24-world-unbuildable.yaml"
    scenarios = load_scenarios([bad, ROOT / "scenarios" / "email"])
    provider = load_agent("oracle")
    try:
        run_in_processes(scenarios, provider, RunConfig(trials=4, audit_dir=None), workers=2)
    except Exception as exc:  # noqa: BLE001 - the type and fields are what is checked
        assert type(exc).__name__ == "InvalidScenario"
        assert exc.file == str(bad) and exc.field == "world"
    else:
        raise AssertionError("the unbuildable world was not reported")


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 40), st.integers(1, 30), st.integers(1, 16), st.integers(1, 300))
def test_chunks_cover_every_job_once_scenario_by_scenario(n_scenarios, trials, workers, concurrency):
    chunks = plan_chunks(n_scenarios, trials, workers, concurrency)
    flat = [job for chunk in chunks for job in chunk]
    assert sorted(flat) == [(s, t) for s in range(n_scenarios) for t in range(trials)]
    assert flat == sorted(flat)  # a scenario's runs are contiguous: its world is built by few workers
    assert all(len(c) >= min(concurrency, len(flat)) for c in chunks[:-1])  # enough to keep runs in flight
