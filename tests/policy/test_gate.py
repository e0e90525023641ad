"""Gate evaluation, criterion by criterion, on small synthetic ledgers."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from harness import _gate

from ._promotion_helpers import WF, make_policy, record


def evaluate(ledger, policy, stage="suggest", agent="sim", version="1", now=None):
    wf = policy.workflows[WF]
    with ledger.read() as conn:
        return _gate.evaluate(conn, wf.gate(stage), wf, WF, stage, agent, version, now)


def crit(evaluation, name):
    return next(c for c in evaluation["criteria"] if c["name"] == name)


def test_min_runs(ledger):
    policy = make_policy(suggest={"min_runs": 10})
    record(ledger, 9)
    assert crit(evaluate(ledger, policy), "min_runs") | {"detail": ""} == {
        "name": "min_runs", "required": 10, "measured": 9, "met": False, "detail": "", "verdict": "inconclusive"}
    record(ledger, 1)
    e = evaluate(ledger, policy)
    assert crit(e, "min_runs")["met"] and e["ready"] and e["unmet"] == []


def test_mistake_rate_is_judged_at_checkpoints_with_a_share_of_the_error_budget(ledger):
    """0 in 300 bounds the rate under 1% at 95% for ONE look; the first checkpoint has half the 5%
    budget (97.5%), so it needs 368 clean runs — and until then the gate is inconclusive, not met."""
    policy = make_policy(suggest={"max_mistake_rate": 0.01})
    record(ledger, 300)
    e = evaluate(ledger, policy)
    c = crit(e, "max_mistake_rate")
    assert not c["met"] and c["verdict"] == "inconclusive" and e["outcome"] == "inconclusive"
    assert e["sequential"]["first_checkpoint"] == 368 and "368" in c["detail"]
    record(ledger, 68)
    e = evaluate(ledger, policy)
    c = crit(e, "max_mistake_rate")
    assert c["met"] and c["measured"] == pytest.approx(1 - 0.025 ** (1 / 368), abs=1e-6)
    assert e["sequential"]["checkpoint"] == 1 and e["sequential"]["checkpoint_alpha"] == pytest.approx(0.025)


def test_a_checkpoint_judges_only_its_first_runs(ledger):
    """Between checkpoints the answer cannot change: runs past the checkpoint wait for the next one."""
    policy = make_policy(suggest={"min_runs": 100, "max_mistake_rate": 0.1})
    record(ledger, 100, bad_every=20)  # 5 in the first 100
    record(ledger, 99)
    first = evaluate(ledger, policy)["sequential"]
    assert (first["checkpoint"], first["checkpoint_runs"], first["mistakes"]) == (1, 100, 5)
    record(ledger, 1)
    second = evaluate(ledger, policy)["sequential"]
    assert (second["checkpoint"], second["checkpoint_runs"], second["mistakes"]) == (2, 200, 5)
    assert second["checkpoint_alpha"] == pytest.approx(0.0125)


def test_clearly_worse_than_the_gate_is_not_met_not_inconclusive(ledger):
    record(ledger, 300, bad_every=3)
    e = evaluate(ledger, make_policy(suggest={"max_mistake_rate": 0.02}))
    assert crit(e, "max_mistake_rate")["verdict"] == "not_met" and e["outcome"] == "not_met"
    assert "worse than the gate" in crit(e, "max_mistake_rate")["detail"]


def test_the_gate_method_computes_the_checkpoint_bound(ledger):
    from harness.stats import upper_bound

    record(ledger, 600, bad_every=300)
    cp = crit(evaluate(ledger, make_policy(suggest={"max_mistake_rate": 0.02, "min_runs": 600})),
              "max_mistake_rate")
    wilson = crit(evaluate(ledger, make_policy(suggest={"max_mistake_rate": 0.02, "min_runs": 600,
                                                        "method": "wilson"})), "max_mistake_rate")
    assert "2 with a mistake" in cp["detail"]
    assert cp["measured"] == pytest.approx(upper_bound(2, 600, 0.975, "clopper-pearson"), abs=1e-6)
    assert wilson["measured"] == pytest.approx(upper_bound(2, 600, 0.975, "wilson"), abs=1e-6)


def test_agent_errors_are_mistakes_harness_errors_block_separately(ledger):
    policy = make_policy(suggest={"max_mistake_rate": 0.5, "min_runs": 12})
    record(ledger, 10)
    record(ledger, 2, error="agent")
    e = evaluate(ledger, policy)
    assert "(12 runs): 2 with a mistake" in crit(e, "max_mistake_rate")["detail"] and e["ready"]
    record(ledger, 1, error="harness")
    e = evaluate(ledger, policy)
    errors = crit(e, "max_errors")
    assert errors["measured"] == 1 and not errors["met"] and e["unmet"] == ["max_errors"]
    assert crit(e, "min_runs")["measured"] == 12  # the broken run is not evidence either way
    assert "(12 runs): 2 with a mistake" in crit(e, "max_mistake_rate")["detail"]
    assert evaluate(ledger, make_policy(suggest={"max_errors": 1}))["ready"]


def test_max_severity(ledger):
    policy = make_policy(suggest={"max_severity": "high"})
    record(ledger, 5, bad_every=5, severity="high")
    assert crit(evaluate(ledger, policy), "max_severity") | {"detail": ""} == {
        "name": "max_severity", "required": "high", "measured": "high", "met": True, "detail": "", "verdict": "met"}
    record(ledger, 1, bad_every=1, severity="critical")
    e = evaluate(ledger, policy)
    c = crit(e, "max_severity")
    assert c["measured"] == "critical" and not c["met"] and c["verdict"] == "not_met" and e["outcome"] == "not_met"


def test_count_severities_limits_what_counts_as_a_mistake(ledger):
    record(ledger, 100, bad_every=2, severity="low")
    record(ledger, 1, bad_every=1, severity="high")
    gate = {"max_mistake_rate": 0.1, "min_runs": 101}
    e = evaluate(ledger, make_policy(suggest={**gate, "count_severities": ["high", "critical"]}))
    assert "(101 runs): 1 with a mistake" in crit(e, "max_mistake_rate")["detail"] and e["ready"]
    e = evaluate(ledger, make_policy(suggest=gate))
    assert "(101 runs): 51 with a mistake" in crit(e, "max_mistake_rate")["detail"] and not e["ready"]


def test_blast_radius_potential_by_default_realised_on_request(ledger):
    record(ledger, 10, potential={"entities_touched": 3, "money_exposed": 500.0})
    limits = {"entities_touched": {"max": 0}, "money_exposed": {"max": 100}}
    e = evaluate(ledger, make_policy(suggest={"blast_radius": limits}))
    assert crit(e, "blast_radius.entities_touched")["measured"] == 3
    assert set(e["unmet"]) == {"blast_radius.entities_touched", "blast_radius.money_exposed"}
    e = evaluate(ledger, make_policy(suggest={"blast_radius": {"judged_on": "realised", **limits}}))
    assert e["ready"] and "realised" in crit(e, "blast_radius.money_exposed")["detail"]


def test_blast_radius_percentile(ledger):
    policy = make_policy(suggest={"blast_radius": {"entities_touched": [{"percentile": 95, "max": 0},
                                                                       {"max": 5}]}})
    record(ledger, 96)
    record(ledger, 4, potential={"entities_touched": 2})
    e = evaluate(ledger, policy)
    assert crit(e, "blast_radius.entities_touched.p95")["measured"] == 0 and e["ready"]
    record(ledger, 2, potential={"entities_touched": 2})  # now 6 of 102: the 95th percentile is 2
    e = evaluate(ledger, policy)
    assert crit(e, "blast_radius.entities_touched.p95")["measured"] == 2
    assert e["unmet"] == ["blast_radius.entities_touched.p95"]
    assert crit(e, "blast_radius.entities_touched")["met"]


def test_coverage_is_judged_against_the_registered_suite(ledger):
    policy = make_policy(suggest={"coverage": {"min_runs_per_scenario": 2}})
    record(ledger, 6, scenarios=("s1", "s2", "s3"))
    c = crit(evaluate(ledger, policy), "coverage")
    assert not c["met"] and c["measured"] == "no suite" and "harness suite register" in c["detail"]
    digest = "sha256:" + "0" * 16  # the synthetic runs' scenario digest
    ledger.register_suite(WF, [{"scenario": s, "digest": digest, "path": f"{s}.yaml"}
                               for s in ("s1", "s2", "s3", "s4")], "dana")
    c = crit(evaluate(ledger, policy), "coverage")
    assert not c["met"] and c["measured"] == "3/4" and "s4 (0)" in c["detail"]
    listed = make_policy(suggest={"coverage": {"min_runs_per_scenario": 2, "scenarios": ["s1", "s2"]}})
    assert crit(evaluate(ledger, listed), "coverage")["met"]
    ledger.register_suite(WF, [{"scenario": "s1", "digest": "sha256:edited", "path": "s1.yaml"}], "dana")
    e = evaluate(ledger, make_policy(suggest={"coverage": {}}))
    assert crit(e, "coverage")["measured"] == "0/1"  # runs of the old s1 do not cover the edited one
    assert crit(e, "min_runs")["measured"] == 0  # nor count as evidence at all


def test_consecutive_clean_runs(ledger):
    policy = make_policy(suggest={"min_consecutive_clean": 5})
    record(ledger, 10, bad_every=10)
    c = crit(evaluate(ledger, policy), "min_consecutive_clean")
    assert c["measured"] == 0 and not c["met"]
    record(ledger, 4)
    record(ledger, 1, error="environment")  # neither clean nor a mistake
    record(ledger, 1)
    c = crit(evaluate(ledger, policy), "min_consecutive_clean")
    assert c["measured"] == 5 and c["met"]


def test_old_mistakes_are_not_forgotten_by_a_run_window(ledger):
    record(ledger, 50, bad_every=1)
    record(ledger, 200)
    e = evaluate(ledger, make_policy(suggest={"window_runs": 100, "max_mistake_rate": 0.05}))
    assert not e["ready"] and e["window"]["runs"] == 250
    assert e["sequential"]["mistakes"] == 50


def test_window_days(ledger):
    now = datetime.now(UTC)
    record(ledger, 20, bad_every=1, started_at=now - timedelta(days=40))
    record(ledger, 30, started_at=now - timedelta(days=2))
    e = evaluate(ledger, make_policy(suggest={"window_days": 30, "max_mistake_rate": 0.2}),
                 now=now.replace(tzinfo=None))
    assert "0 with a mistake" in crit(e, "max_mistake_rate")["detail"] and e["window"]["runs"] == 30


def test_track_records_are_per_version_unless_carried_over(ledger):
    record(ledger, 100, version="1")
    record(ledger, 5, version="2")
    assert crit(evaluate(ledger, make_policy(), version="2"), "min_runs")["measured"] == 5
    carried = evaluate(ledger, make_policy(carry=True), version="2")
    assert crit(carried, "min_runs")["measured"] == 105 and carried["versions"].startswith("all versions")


def test_approve_stage_plan_evidence(ledger):
    policy = make_policy(autonomous={"min_plans_reviewed": 3, "min_share_approved_unchanged": 0.6})
    for i, status in enumerate(["approved", "approved", "partially_approved", "pending"]):
        ledger.save_plan({"id": f"p{i}", "workflow": WF, "agent": "sim", "agent_version": "1", "items": []})
        if status != "pending":
            ledger.update_plan(f"p{i}", 1, status=status)
    e = evaluate(ledger, policy, stage="autonomous")
    assert crit(e, "min_plans_reviewed")["measured"] == 3 and crit(e, "min_plans_reviewed")["met"]
    share = crit(e, "min_share_approved_unchanged")
    assert share["measured"] == pytest.approx(0.6667, abs=1e-3) and share["met"]


def test_no_runs_no_promotion(ledger):
    e = evaluate(ledger, make_policy(suggest={"min_runs": 1, "max_mistake_rate": 0.5,
                                              "blast_radius": {"files_lost": {"max": 0}}}))
    assert set(e["unmet"]) == {"min_runs", "max_mistake_rate", "blast_radius.files_lost"}


def test_evaluation_is_json(ledger):
    record(ledger, 30, bad_every=7, potential={"money_exposed": 3.5})
    policy = make_policy(suggest={"max_mistake_rate": 0.3, "max_severity": "high", "min_consecutive_clean": 1,
                                  "coverage": {}, "blast_radius": {"money_exposed": {"percentile": 90, "max": 9}}})
    e = evaluate(ledger, policy)
    assert json.loads(json.dumps(e)) == e
