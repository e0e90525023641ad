"""The same runs on a Dask cluster (a LocalCluster here) give the same outcomes as in-process."""

from pathlib import Path

from harness.agents import load_agent
from harness.executors import run_on_dask
from harness.runner import RunConfig, run_suite
from harness.scenario import load_scenarios

ROOT = Path(__file__).resolve().parents[2]


def test_dask_matches_local(tmp_path):
    scenarios = load_scenarios([ROOT / "scenarios" / "crm"])
    provider = load_agent("simulated", {"mistake_rate": "0.5", "seed": "3"})
    config = RunConfig(trials=3, audit_dir=tmp_path / "audit")
    local = run_suite(scenarios, provider, config).results
    remote = run_on_dask(scenarios, provider, config, workers=2).results
    key = lambda r: (r.scenario, r.trial, r.outcome, [m.model_dump() for m in r.mistakes],  # noqa: E731
                     r.blast_radius.model_dump())
    assert [key(r) for r in remote] == [key(r) for r in local]
    assert len(list((tmp_path / "audit").glob("*.jsonl"))) == 2 * len(local)
