"""The same ledger on PostgreSQL (runs only when HARNESS_TEST_POSTGRES_URL names a test database).

Each test works in its own schema, dropped afterwards, so the database is left as found.
"""

import threading

import pytest

from harness.errors import ConflictError, PlanRefused
from harness.ledger import Ledger
from harness.ledger._synthetic import make_run, synthetic_runs
from tests.conftest import needs_postgres

pytestmark = needs_postgres


def test_migrations_and_runs(pg_url):
    with Ledger(pg_url) as led:
        led.record_runs([make_run(run_id="pg-run-1", severities=("critical",), potential={"money_exposed": 9.5})])
        led.record_runs(synthetic_runs(50, mistake_rate=0.2, seed=1))
    with Ledger(pg_url) as led:  # idempotent on reopen
        got = led.get_run("pg-run")
        assert got["worst_severity"] == "critical" and got["mistakes"][0]["severity"] == "critical"
        assert got["potential_money_exposed"] == 9.5
        assert led.count_runs() == 51 and sum(t["runs"] for t in led.tracks()) == 51
        assert len(led.runs_frame()) == 51


def test_plans_on_postgres(pg_url):
    with Ledger(pg_url) as led:
        led.save_plan({"id": "plan-pg", "workflow": "crm.renewal-discounts", "world_key": "w", "items": []})
        v = led.update_plan("plan-pg", 1, status="approved")["version"]
        with pytest.raises(ConflictError):
            led.update_plan("plan-pg", 1, status="rejected")
        led.apply_plan_atomically("plan-pg", v, [{"x": 1}, {"x": 2}])
        with pytest.raises(PlanRefused):
            led.apply_plan_atomically("plan-pg", v + 1, [{"x": 3}])
        assert [c["seq"] for c in led.world_changes("w")] == [1, 2]


def test_concurrent_writers_and_promotions_on_postgres(pg_url):
    from harness import promotion
    from harness.policy import policy_from_dict

    Ledger(pg_url).close()

    def writer(tag):
        with Ledger(pg_url) as led:
            for b in range(5):
                led.record_runs([make_run(run_id=f"{tag}-{b}-{i}", scenario=f"s{i % 2}") for i in range(40)])

    threads = [threading.Thread(target=writer, args=(f"t{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    policy = policy_from_dict({"people": {"dana": ["release-owner"], "sam": ["release-owner"]},
                               "workflows": {"crm.renewal-discounts": {"stages": {
        "suggest": {"gate": {"min_runs": 100}}, "approve": {"gate": {}}, "autonomous": {"gate": {}}}}}},
        name="test-policy.yaml")
    barrier, outcomes = threading.Barrier(2, timeout=20), []
    original = Ledger.record_transition

    def racing(self, **kwargs):
        barrier.wait()
        return original(self, **kwargs)

    def promote(name):
        with Ledger(pg_url) as led:
            led.record_transition = racing.__get__(led)
            try:
                promotion.promote(led, policy, "crm.renewal-discounts", "suggest", name, "go")
                outcomes.append("won")
            except ConflictError:
                outcomes.append("conflict")

    racers = [threading.Thread(target=promote, args=(n,)) for n in ("dana", "sam")]
    for t in racers:
        t.start()
    for t in racers:
        t.join()
    with Ledger(pg_url) as led:
        assert led.count_runs() == 800 and sum(t["runs"] for t in led.tracks()) == 800
        assert sorted(outcomes) == ["conflict", "won"]
        assert len([t for t in led.transitions() if t["kind"] == "promote"]) == 1  # the first also pins the policy
