"""Recording runs and reading them back: rows, mistakes, counts, prefixes, all-or-nothing batches."""

import pytest

from harness.errors import LedgerError, NotFoundError, UsageError
from harness.ledger._synthetic import make_run, synthetic_runs


def test_record_and_read_back_every_field(ledger):
    run = make_run(run_id="run-abc123", scenario="renew-acme", severities=("high", "low"),
                   realised={"entities_touched": 1, "money_exposed": 12.5},
                   potential={"entities_touched": 3, "money_exposed": 250.0, "external_recipients": 2})
    assert ledger.record_runs([run]) == 1
    got = ledger.get_run("run-abc123")
    assert got["scenario"] == "renew-acme" and got["workflow"] == run.workflow
    assert got["scenario_digest"] == run.scenario_digest and got["seed"] == run.seed
    assert got["outcome"] == "fail" and got["mistakes"] and len(got["mistakes"]) == 2
    assert got["mistakes_high"] == 1 and got["mistakes_low"] == 1 and got["worst_severity"] == "high"
    assert got["realised_money_exposed"] == 12.5 and got["potential_external_recipients"] == 2
    assert got["potential_entities_touched"] == 3 and got["realised_entities_touched"] == 1
    assert got["audit_path"] == run.audit_path and got["audit_head"] == run.audit_head
    assert got["started_at"].endswith("Z") and got["duration_ms"] == 12.5
    assert {m["severity"] for m in got["mistakes"]} == {"high", "low"}


def test_error_cause_is_recorded(ledger):
    ledger.record_runs([make_run(run_id="r-err", error="environment")])
    got = ledger.get_run("r-err")
    assert got["outcome"] == "error" and got["error_cause"] == "environment"
    assert "environment" in got["error_message"]


def test_get_run_by_unique_prefix_and_clear_errors(ledger):
    ledger.record_runs([make_run(run_id="abc-1"), make_run(run_id="abc-2"), make_run(run_id="xyz-1")])
    assert ledger.get_run("xyz")["run_id"] == "xyz-1"
    with pytest.raises(UsageError, match="several"):
        ledger.get_run("abc")
    with pytest.raises(NotFoundError):
        ledger.get_run("nope")


def test_duplicate_run_id_records_nothing_of_the_batch(ledger):
    ledger.record_runs([make_run(run_id="dup")])
    with pytest.raises(LedgerError, match="already in the ledger"):
        ledger.record_runs([make_run(run_id="fresh-1"), make_run(run_id="dup")])
    with pytest.raises(LedgerError, match="twice"):
        ledger.record_runs([make_run(run_id="twice"), make_run(run_id="twice")])
    assert ledger.count_runs() == 1


def test_runs_listing_filters_and_orders_newest_first(ledger):
    ledger.record_runs(synthetic_runs(10, mistake_rate=0, agent="a", version="1"))
    ledger.record_runs(synthetic_runs(5, mistake_rate=0, agent="a", version="2", workflow="files.cleanup"))
    assert len(ledger.runs(limit=None)) == 15
    v2 = ledger.runs(agent_version="2")
    assert len(v2) == 5 and all(r["workflow"] == "files.cleanup" for r in v2)
    latest = ledger.runs(workflow="crm.renewal-discounts", limit=3)
    assert [r["trial"] for r in latest] == [3, 2, 2]
    assert ledger.count_runs("files.cleanup") == 5


def test_tracks_and_scenarios_come_from_counts(ledger):
    ledger.record_runs(synthetic_runs(9, mistake_rate=0, agent="a", version="1", scenarios=("s1", "s2", "s3")))
    ledger.record_runs(synthetic_runs(4, mistake_rate=0, agent="b", version="7", scenarios=("s4",)))
    tracks = ledger.tracks("crm.renewal-discounts")
    assert [(t["agent"], t["agent_version"], t["runs"]) for t in tracks] == [("b", "7", 4), ("a", "1", 9)]
    assert ledger.scenarios("crm.renewal-discounts") == ["s1", "s2", "s3", "s4"]
    assert ledger.workflows() == ["crm.renewal-discounts"]


def test_empty_batch_is_a_no_op(ledger):
    assert ledger.record_runs([]) == 0
    assert ledger.count_runs() == 0


def test_frames_one_row_per_run_with_categoricals(ledger):
    ledger.record_runs(synthetic_runs(30, mistake_rate=0.5, seed=3, agent="a"))
    df = ledger.runs_frame()
    assert len(df) == 30 and str(df["workflow"].dtype) == "category"
    assert "potential_entities_touched" in df and "error_message" not in df
    narrow = ledger.runs_frame(columns=["run_id", "outcome"])
    assert list(narrow.columns) == ["run_id", "outcome"]
    mistakes = ledger.mistakes_frame()
    assert len(mistakes) == int((df["mistakes"] > 0).sum())
    assert set(mistakes.columns) >= {"run_id", "workflow", "type", "severity"}
    assert len(ledger.transitions_frame()) == 0 and len(ledger.plans_frame()) == 0
    with pytest.raises(ValueError, match="no column"):
        ledger.runs_frame(columns=["bogus"])


def test_frames_are_read_in_chunks(ledger, monkeypatch):
    from harness.ledger import _frames

    monkeypatch.setattr(_frames, "CHUNK", 7)
    ledger.record_runs(synthetic_runs(50, mistake_rate=0.3, seed=4, agent="a", scenarios=("s1", "s2")))
    ledger.record_runs(synthetic_runs(20, mistake_rate=0.3, seed=5, agent="b", scenarios=("s9",)))
    ledger.record_runs([make_run(error="harness")])  # the only chunk with an error cause
    df = ledger.runs_frame()
    assert len(df) == 71 and str(df["scenario"].dtype) == "category"
    assert str(df["error_cause"].dtype) == "category" and df["error_cause"].notna().sum() == 1
    assert df["scenario"].value_counts().to_dict() == {"s1": 26, "s2": 25, "s9": 20}
    assert df["pk"].is_monotonic_increasing
