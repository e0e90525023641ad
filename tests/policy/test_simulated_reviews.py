"""Approval evidence for `autonomous` comes from people unless the policy says otherwise."""

from harness.ledger import Ledger, evidence


def _plan(led, plan_id, by, status):
    led.save_plan({"id": plan_id, "workflow": "crm.renewal-discounts", "agent": "sim", "agent_version": "1",
                   "status": status, "decided_by": by, "items": []})


def test_simulated_reviewer_decisions_are_not_a_persons(ledger_url):
    with Ledger(ledger_url) as led:
        _plan(led, "p1", "dana@example.com", "approved")
        _plan(led, "p2", "reviewer:careful@0.8", "approved")
        _plan(led, "p3", "reviewer:careful@0.8", "partially_approved")
        with led.read() as conn:
            people = evidence.plan_review(conn, "crm.renewal-discounts", "sim", "1")
            everyone = evidence.plan_review(conn, "crm.renewal-discounts", "sim", "1", include_simulated=True)
    assert people == {"reviewed": 1, "approved_unchanged": 1}
    assert everyone == {"reviewed": 3, "approved_unchanged": 2}
