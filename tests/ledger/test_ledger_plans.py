"""Plan storage: compare-and-swap updates, applying exactly once, world changes in the same transaction."""

import threading

import pytest

from harness.errors import ConflictError, LedgerError, NotFoundError, PlanRefused, UsageError


def _plan(pid="plan-1234abcd", **extra):
    return {"id": pid, "run_id": "run-1", "workflow": "crm.renewal-discounts", "scenario": "renew-acme",
            "scenario_path": "scenarios/crm/renew.yaml", "agent": "sim", "agent_version": "1",
            "world_key": "w-1", "status": "pending", "items": [{"index": 1, "tool": "crm_update_deal"}], **extra}


def test_save_get_by_prefix_and_list(ledger):
    saved = ledger.save_plan(_plan())
    assert saved["version"] == 1 and saved["status"] == "pending" and saved["created_at"].endswith("Z")
    assert ledger.get_plan("plan-12")["items"] == [{"index": 1, "tool": "crm_update_deal"}]
    ledger.save_plan(_plan("plan-99", workflow="files.cleanup"))
    assert [p["id"] for p in ledger.list_plans(workflow="files.cleanup")] == ["plan-99"]
    assert len(ledger.list_plans(status="pending")) == 2
    with pytest.raises(UsageError):
        ledger.get_plan("plan-")
    with pytest.raises(NotFoundError):
        ledger.get_plan("zzz")
    with pytest.raises(ConflictError):
        ledger.save_plan(_plan())


def test_update_is_compare_and_swap(ledger):
    ledger.save_plan(_plan())
    updated = ledger.update_plan("plan-1234abcd", 1, status="approved", decided_by="dana",
                                 decided_at="2024-05-01T10:00:00+00:00", decision={"approved": [1]})
    assert updated["version"] == 2 and updated["decided_at"] == "2024-05-01T10:00:00Z"
    with pytest.raises(ConflictError, match="changed meanwhile"):
        ledger.update_plan("plan-1234abcd", 1, status="rejected")
    assert ledger.get_plan("plan-1234abcd")["status"] == "approved"
    with pytest.raises(LedgerError, match="no field"):
        ledger.update_plan("plan-1234abcd", 2, colour="red")
    with pytest.raises(LedgerError, match="not a plan status"):
        ledger.update_plan("plan-1234abcd", 2, status="maybe")
    with pytest.raises(NotFoundError):
        ledger.update_plan("missing", 1, status="approved")


def test_only_one_of_two_racing_reviewers_wins(ledger_url):
    from harness.ledger import Ledger

    Ledger(ledger_url).save_plan(_plan())
    barrier, outcomes = threading.Barrier(2), []

    def review(status):
        led = Ledger(ledger_url)
        version = led.get_plan("plan-1234abcd")["version"]
        barrier.wait()
        try:
            led.update_plan("plan-1234abcd", version, status=status)
            outcomes.append("won")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=review, args=(s,)) for s in ("approved", "rejected")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "won"]


def test_apply_atomically_once_with_world_changes(ledger):
    ledger.save_plan(_plan())
    v = ledger.update_plan("plan-1234abcd", 1, status="approved")["version"]
    changes = [{"entity": "deal:1", "after": {"discount_pct": 5}}, {"entity": "deal:2", "after": {"stage": "won"}}]
    applied = ledger.apply_plan_atomically("plan-1234abcd", v, changes)
    assert applied["status"] == "applied" and applied["applied_at"] and applied["version"] == v + 1
    rows = ledger.world_changes("w-1")
    assert [r["seq"] for r in rows] == [1, 2] and rows[0]["change"] == changes[0]
    assert all(r["plan_id"] == "plan-1234abcd" for r in rows)
    with pytest.raises(PlanRefused, match="applied already"):
        ledger.apply_plan_atomically("plan-1234abcd", applied["version"], changes)
    assert len(ledger.world_changes("w-1")) == 2


def test_failed_apply_leaves_plan_and_world_untouched(ledger):
    ledger.save_plan(_plan())
    with pytest.raises(ConflictError):
        ledger.apply_plan_atomically("plan-1234abcd", 7, [{"entity": "deal:1"}])
    assert ledger.world_changes("w-1") == []
    assert ledger.get_plan("plan-1234abcd")["status"] == "pending"


def test_world_changes_continue_their_sequence(ledger):
    assert ledger.append_world_changes("w-2", [{"a": 1}], plan_id=None) == [1]
    assert ledger.append_world_changes("w-2", [{"b": 2}, {"c": 3}], plan_id="p") == [2, 3]
    assert [r["change"] for r in ledger.world_changes("w-2")] == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert ledger.world_changes("other") == []


def test_full_approval_is_remembered_after_apply(ledger):
    """Approve-stage evidence: 'approved unchanged' survives the plan becoming applied."""
    from harness.ledger import evidence

    ledger.save_plan(_plan("p-full"))
    ledger.save_plan(_plan("p-part"))
    ledger.save_plan(_plan("p-untouched"))
    v = ledger.update_plan("p-full", 1, status="approved")["version"]
    ledger.apply_plan_atomically("p-full", v, [])
    v = ledger.update_plan("p-part", 1, status="partially_approved")["version"]
    ledger.apply_plan_atomically("p-part", v, [])
    with ledger.read() as conn:
        review = evidence.plan_review(conn, "crm.renewal-discounts", "sim", "1")
    assert review == {"reviewed": 2, "approved_unchanged": 1}
