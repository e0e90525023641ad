"""promote / demote / history / status, sign-offs, overrides, races and automatic demotion."""

import hashlib
import threading
from datetime import timedelta

import pytest

from harness import promotion
from harness.errors import ConflictError, GateNotMet, UsageError
from harness.ledger import Ledger
from harness.ledger._synthetic import make_run

from ._promotion_helpers import WF, make_policy, put_at, record

SUGGEST = {"min_runs": 20, "max_mistake_rate": 0.2, "max_errors": 0}


def test_promote_refused_then_granted_after_enough_clean_runs(ledger):
    policy = make_policy(suggest=SUGGEST)
    record(ledger, 10)
    with pytest.raises(GateNotMet) as info:
        promotion.promote(ledger, policy, WF, "suggest", "dana", "first look")
    assert info.value.exit_code == 1
    assert "min_runs: required 20, measured 10" in str(info.value)
    assert "max_mistake_rate" in str(info.value)  # 0 of 10 still bounds the rate above 20%
    assert ledger.stage_of(WF) == "sandbox"
    [pin] = ledger.transitions(WF)  # the refused attempt pinned the policy (and was a recorded look)
    assert pin["kind"] == "policy" and pin["policy_digest"] == policy.digest
    assert [lk["outcome"] for lk in ledger.looks(WF, "sim", "1", "suggest")] == ["inconclusive"]
    runs = record(ledger, 20)
    t = promotion.promote(ledger, policy, WF, "suggest", "dana", "30 clean runs")
    assert (t["from_stage"], t["to_stage"], t["actor"], t["reason"], t["kind"]) == (
        "sandbox", "suggest", "dana", "30 clean runs", "promote")
    assert t["override"] is False and t["gate"]["ready"] and t["created_at"]
    assert [s["person"] for s in t["signoffs"]] == ["dana"]
    assert t["policy_digest"] == policy.digest
    ids = sorted(r["run_id"] for r in ledger.runs(limit=None))
    assert t["evidence_digest"] == hashlib.sha256("\n".join(ids).encode()).hexdigest()
    assert len(runs) == 20 and ledger.stage_of(WF) == "suggest"


def test_refusal_lists_every_unmet_criterion(ledger):
    policy = make_policy(suggest={"min_runs": 50, "max_severity": "medium", "min_consecutive_clean": 3})
    record(ledger, 10, bad_every=10, severity="critical")
    with pytest.raises(GateNotMet) as info:
        promotion.promote(ledger, policy, WF, "suggest", "dana", "try")
    text = str(info.value)
    assert "3 criteria unmet" in text
    for name in ("min_runs", "max_severity", "min_consecutive_clean"):
        assert f"- {name}:" in text


def test_override_is_recorded_as_such(ledger):
    policy = make_policy(suggest=SUGGEST)
    record(ledger, 5)
    t = promotion.promote(ledger, policy, WF, "suggest", "dana", "pilot customer needs it", override=True)
    assert t["override"] is True
    assert t["gate"]["override"] == {"requested": True, "used": True, "unmet": ["min_runs", "max_mistake_rate"]}
    [h] = [t for t in promotion.history(ledger, WF) if t["kind"] != "policy"]
    assert h["override"] is True and h["reason"] == "pilot customer needs it"


@pytest.mark.parametrize("to, message", [("approve", "one stage at a time"), ("production", "not a stage")])
def test_bad_targets_are_usage_errors(ledger, to, message):
    record(ledger, 30)
    with pytest.raises(UsageError, match=message) as info:
        promotion.promote(ledger, make_policy(), WF, to, "dana", "why")
    assert info.value.exit_code == 2


def test_unknown_workflow_and_missing_reason(ledger):
    with pytest.raises(UsageError, match="no workflow 'crm.nope'"):
        promotion.promote(ledger, make_policy(), "crm.nope", "suggest", "dana", "why")
    with pytest.raises(UsageError, match="--reason"):
        promotion.promote(ledger, make_policy(), WF, "suggest", "dana", "  ")


def test_lower_stage_points_to_demote(ledger):
    put_at(ledger, "suggest")
    put_at(ledger, "approve")
    record(ledger, 1)
    with pytest.raises(ConflictError, match="harness demote") as info:
        promotion.promote(ledger, make_policy(), WF, "suggest", "dana", "why", agent="sim@1")
    assert info.value.exit_code == 1


def test_signer_without_the_role_is_refused(ledger):
    policy = make_policy(approve={"min_runs": 1, "signoffs": {"roles": ["release-owner"]}})
    put_at(ledger, "suggest")
    record(ledger, 5)
    with pytest.raises(GateNotMet, match="lee cannot sign off") as info:
        promotion.promote(ledger, policy, WF, "approve", "lee", "I think it is fine")
    assert info.value.exit_code == 1 and ledger.stage_of(WF) == "suggest"
    assert promotion.promote(ledger, policy, WF, "approve", "sam", "fine")["to_stage"] == "approve"


def test_two_signoffs_and_an_incident_while_waiting(ledger):
    policy = make_policy(autonomous={"min_runs": 5, "max_severity": "high",
                                     "signoffs": {"count": 2, "roles": ["release-owner", "risk"]}})
    put_at(ledger, "suggest")
    put_at(ledger, "approve")
    record(ledger, 10, stage="approve")
    with pytest.raises(GateNotMet, match="sign-off .* is recorded"):
        promotion.promote(ledger, policy, WF, "autonomous", "sam", "ready")
    [entry] = promotion.status(ledger, policy, WF)
    assert entry["agents"][0]["gate"]["signoffs"]["measured"] == 1
    with pytest.raises(GateNotMet, match="covering release-owner, risk"):
        promotion.promote(ledger, policy, WF, "autonomous", "sam", "again")  # the same person twice
    record(ledger, 1, bad_every=1, severity="critical", stage="approve")  # an incident lands meanwhile
    with pytest.raises(GateNotMet, match="max_severity"):
        promotion.promote(ledger, policy, WF, "autonomous", "lee", "agreed")
    record(ledger, 1, version="2")  # unrelated; the critical stays in the window, so: override
    # sam signed other evidence: that sign-off lapsed and lee's alone is not enough, even with --override
    with pytest.raises(GateNotMet, match=r"lapsed: sam \(the evidence changed since\)"):
        promotion.promote(ledger, policy, WF, "autonomous", "lee", "accepted risk", override=True, agent="sim@1")
    t = promotion.promote(ledger, policy, WF, "autonomous", "sam", "seen the critical", override=True, agent="sim@1")
    assert {s["person"] for s in t["signoffs"]} == {"sam", "lee"} and t["override"]
    [entry] = promotion.status(ledger, policy, WF)
    track = next(a for a in entry["agents"] if a["agent_version"] == "1")
    assert entry["granted_by_override"] and track["override"]["by"] == "sam"
    assert "max_severity" in track["override"]["overrode"]


def test_an_agent_must_be_named_when_several_have_evidence(ledger):
    record(ledger, 25, agent="careful")
    record(ledger, 25, agent="sloppy", bad_every=3)
    with pytest.raises(UsageError, match="several agent versions"):
        promotion.promote(ledger, make_policy(suggest=SUGGEST), WF, "suggest", "dana", "why")
    with pytest.raises(GateNotMet):
        promotion.promote(ledger, make_policy(suggest=SUGGEST), WF, "suggest", "dana", "why", agent="sloppy@1")
    t = promotion.promote(ledger, make_policy(suggest=SUGGEST), WF, "suggest", "dana", "why", agent="careful")
    assert (t["agent"], t["agent_version"]) == ("careful", "1")


def test_demote_and_history(ledger):
    policy = make_policy()
    put_at(ledger, "suggest")
    put_at(ledger, "approve")
    [t] = promotion.demote(ledger, policy, WF, "sandbox", "dana", "wrong discounts reported")
    assert (t["from_stage"], t["to_stage"], t["kind"]) == ("approve", "sandbox", "demote")
    assert (t["agent"], t["agent_version"]) == ("sim", "1")
    with pytest.raises(UsageError, match="not above suggest"):
        promotion.demote(ledger, policy, WF, "suggest", "dana", "x")
    history = promotion.history(ledger, WF)
    assert [(h["seq"], h["to_stage"]) for h in history] == [(1, "suggest"), (2, "approve"), (3, "sandbox")]


def test_concurrent_promotions_one_wins(ledger_url):
    policy = make_policy(suggest={"min_runs": 5})
    with Ledger(ledger_url) as led:
        record(led, 5)
    barrier, outcomes = threading.Barrier(2, timeout=20), []
    original = Ledger.record_transition

    def racing(self, **kwargs):
        barrier.wait()  # both have evaluated the gate and read the same state version
        return original(self, **kwargs)

    def release_owner(name):
        with Ledger(ledger_url) as led:
            led.record_transition = racing.__get__(led)
            try:
                promotion.promote(led, policy, WF, "suggest", name, f"{name} says go")
                outcomes.append("promoted")
            except ConflictError as exc:
                outcomes.append("conflict")
                assert exc.exit_code == 1

    threads = [threading.Thread(target=release_owner, args=(n,)) for n in ("dana", "sam")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "promoted"]
    with Ledger(ledger_url) as led:
        assert len([t for t in led.transitions(WF) if t["kind"] == "promote"]) == 1
        assert led.workflow_state(WF)["version"] == 1


def test_automatic_demotion_on_a_critical_mistake_at_autonomous(ledger):
    policy = make_policy(demotion=[{"on": "severity", "at_least": "critical", "at_stages": ["autonomous"],
                                    "to": "approve"}])
    for stage in ("suggest", "approve", "autonomous"):
        put_at(ledger, stage)
    sandbox_runs = record(ledger, 3, bad_every=1, severity="critical", stage="sandbox")  # a test, not production
    high = record(ledger, 3, bad_every=1, severity="high", stage="autonomous")
    assert promotion.check_demotions(ledger, policy, sandbox_runs + high) == []
    bad = [make_run(stage="autonomous", severities=("critical",), run_id="run-incident")]
    ledger.record_runs(bad)
    [t] = promotion.check_demotions(ledger, policy, bad)
    assert (t["from_stage"], t["to_stage"], t["kind"]) == ("autonomous", "approve", "demote")
    assert t["actor"].startswith("rule:") and "run-incident" in t["reason"]
    assert t["gate"]["runs"] == ["run-incident"]
    assert ledger.stage_of(WF) == "approve"
    assert promotion.check_demotions(ledger, policy, bad) == []  # already demoted: nothing more to do


BURN = [{"on": "mistake_rate", "window_runs": 50, "short_window_runs": 10, "max_rate": 0.1, "to": "suggest"}]


@pytest.mark.parametrize("pattern, demoted", [
    ([0] * 45 + [1] * 5, False),          # a short spike: 50% short, 10% long (not above)
    ([1] * 20 + [0] * 30, True),          # a burst inside the batch demotes, even with a clean tail
    ([1, 0, 0] * 16 + [1, 1], True),      # sustained: high over both windows
    ([1] * 9, False),                     # too few runs to judge
])
def test_two_window_burn_rate(ledger, pattern, demoted):
    policy = make_policy(demotion=BURN)
    put_at(ledger, "suggest")
    record(ledger, 30, bad_every=1, stage="approve")  # before the stage was entered: not counted
    put_at(ledger, "approve")
    runs = [make_run(stage="approve", severities=("low",) if bad else ()) for bad in pattern]
    ledger.record_runs(runs)
    out = promotion.check_demotions(ledger, policy, runs)
    assert bool(out) is demoted
    assert ledger.stage_of(WF) == ("suggest" if demoted else "approve")
    if demoted:
        assert out[0]["actor"].startswith("rule:mistake rate") and out[0]["gate"]["short_rate"] > 0.1


def test_status_shows_next_gate_per_agent_version(ledger):
    policy = make_policy(suggest=SUGGEST)
    record(ledger, 30, agent="careful")
    record(ledger, 30, agent="sloppy", bad_every=2)
    [entry] = promotion.status(ledger, policy, WF)
    assert entry["stage"] == "sandbox" and entry["next_stage"] == "suggest" and entry["owner"] == "dana"
    verdict = {a["agent"]: a["gate"]["ready"] for a in entry["agents"]}
    assert verdict == {"careful": True, "sloppy": False}
    [only] = promotion.status(ledger, policy, WF, agent="sloppy@1")
    assert [a["agent"] for a in only["agents"]] == ["sloppy"]
    everything = promotion.status(ledger, policy)
    assert [e["workflow"] for e in everything] == [WF]
    with pytest.raises(UsageError):
        promotion.status(ledger, policy, "crm.nope")


def test_status_of_a_workflow_outside_the_policy(ledger):
    record(ledger, 3, workflow="custom.flow")
    entries = {e["workflow"]: e for e in promotion.status(ledger, make_policy())}
    assert entries["custom.flow"]["in_policy"] is False and "not in the policy" in entries["custom.flow"]["note"]


def test_recertification_due_is_shown(ledger):
    policy = make_policy(suggest={"min_runs": 5, "recertify_days": 30})
    record(ledger, 5)
    promotion.promote(ledger, policy, WF, "suggest", "dana", "go")
    [entry] = promotion.status(ledger, policy, WF)
    assert entry["agents"][0]["recertification"]["due"] is False
    from harness.ledger._time import utcnow

    [later] = promotion.status(ledger, policy, WF, now=utcnow() + timedelta(days=31))
    recert = later["agents"][0]["recertification"]
    assert recert["due"] is True and recert["gate"]["stage"] == "suggest"
