"""Sign-offs bound to evidence and time; signers the policy knows; separation of duties; grants that
expire and are re-certified only on evidence newer than the grant."""

from datetime import timedelta

import pytest

from harness import promotion
from harness.errors import GateNotMet
from harness.ledger._time import utcnow

from ._promotion_helpers import WF, make_policy, record

TWO = {"min_runs": 5, "signoffs": {"count": 2, "roles": ["release-owner", "risk"]}}


def test_a_name_not_in_people_cannot_sign(ledger):
    record(ledger, 10)
    with pytest.raises(GateNotMet, match="not one of them"):
        promotion.promote(ledger, make_policy(suggest={"min_runs": 5}), WF, "suggest", "mallory", "me")
    assert ledger.stage_of(WF) == "sandbox"


def test_a_pending_signoff_expires(ledger):
    policy = make_policy(suggest={**TWO, "signoffs": {**TWO["signoffs"], "valid_days": 7}})
    record(ledger, 10)
    with pytest.raises(GateNotMet, match="is recorded"):
        promotion.promote(ledger, policy, WF, "suggest", "sam", "ok")
    later = utcnow() + timedelta(days=8)
    with pytest.raises(GateNotMet, match=r"lapsed: sam \(older than 7 days\)"):
        promotion.promote(ledger, policy, WF, "suggest", "lee", "ok", now=later)
    assert promotion.promote(ledger, policy, WF, "suggest", "sam", "again")["to_stage"] == "suggest"


def test_an_incident_after_a_signoff_voids_it(ledger):
    policy = make_policy(suggest=TWO)
    record(ledger, 10)
    with pytest.raises(GateNotMet, match="is recorded"):
        promotion.promote(ledger, policy, WF, "suggest", "sam", "ok")
    ledger.record_incident(workflow=WF, agent="sim", agent_version="1", session_id=None, stage="sandbox",
                           severity="low", reason="odd email", actor="dana", demotion_seq=None)
    with pytest.raises(GateNotMet, match=r"lapsed: sam \(an incident was recorded after it\)"):
        promotion.promote(ledger, policy, WF, "suggest", "lee", "ok")


def test_separation_of_duties_refuses_whoever_ran_the_evidence(ledger, monkeypatch):
    from harness.ledger._synthetic import make_run

    policy = make_policy(suggest={"min_runs": 5, "signoffs": {"count": 1, "separate_from_runners": True}})
    ledger.record_runs([make_run(scenario=f"s{i}").model_copy(update={"ran_by": "sam"}) for i in range(6)])
    with pytest.raises(GateNotMet, match="ran part of the evidence"):
        promotion.promote(ledger, policy, WF, "suggest", "sam", "my own runs")
    assert promotion.promote(ledger, policy, WF, "suggest", "dana", "reviewed")["to_stage"] == "suggest"


def test_a_grant_expires_and_recertification_needs_evidence_newer_than_the_grant(ledger):
    policy = make_policy(suggest={"min_runs": 5, "recertify_days": 30})
    record(ledger, 10)
    promotion.promote(ledger, policy, WF, "suggest", "dana", "first")
    assert ledger.grant(WF, "sim", "1")["stage"] == "suggest"
    from sqlalchemy import update

    from harness.ledger._schema import grants
    ledger.write(lambda conn: conn.execute(update(grants).values(expires_at=utcnow() - timedelta(seconds=1))))
    g = ledger.grant(WF, "sim", "1")
    assert g["stage"] == "sandbox" and g["expired"]["stage"] == "suggest"
    with pytest.raises(GateNotMet, match="min_runs: required 5, measured 0"):  # the old runs do not re-certify
        promotion.promote(ledger, policy, WF, "suggest", "dana", "recertify")
    record(ledger, 5)
    t = promotion.promote(ledger, policy, WF, "suggest", "dana", "recertify on fresh runs")
    assert t["to_stage"] == "suggest" and ledger.grant(WF, "sim", "1")["expired"] is None
