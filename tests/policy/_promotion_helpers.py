"""Small policies and ledgers for gate and promotion tests."""

from harness.ledger._synthetic import make_run
from harness.policy import policy_from_dict

WF = "crm.renewal-discounts"
PEOPLE = {"dana": ["release-owner", "risk"], "sam": ["release-owner"], "lee": ["risk"], "max": []}


def make_policy(suggest=None, approve=None, autonomous=None, demotion=None, carry=False, ladder=None):
    wf = {"owner": "dana", "carry_over_versions": carry, "demotion": demotion or [],
          "stages": {"suggest": {"gate": suggest if suggest is not None else {"min_runs": 20}},
                     "approve": {"gate": approve if approve is not None else {"min_runs": 30}},
                     "autonomous": {"gate": autonomous if autonomous is not None else {"min_runs": 40}}}}
    if ladder:
        wf["ladder"] = ladder
    return policy_from_dict({"people": PEOPLE, "workflows": {WF: wf}}, name="test-policy.yaml")


def record(ledger, n, *, bad_every=0, severity="medium", agent="sim", version="1", stage="sandbox",
           scenarios=("s1", "s2"), error=None, **kwargs):
    """Record ``n`` runs; every ``bad_every``-th has a mistake of ``severity``. Returns their ids."""
    runs = []
    for i in range(n):
        bad = bad_every and (i + 1) % bad_every == 0
        runs.append(make_run(workflow=kwargs.get("workflow", WF), agent=agent, version=version, stage=stage,
                             scenario=scenarios[i % len(scenarios)], severities=(severity,) if bad else (),
                             error=error, realised=kwargs.get("realised"), potential=kwargs.get("potential"),
                             started_at=kwargs.get("started_at")))
    ledger.record_runs(runs)
    return runs


def put_at(ledger, stage, workflow=WF):
    """Move a workflow straight to ``stage`` (test set-up, bypassing gates)."""
    state = ledger.grant(workflow, "sim", "1")
    return ledger.record_transition(workflow=workflow, expected_version=state["version"],
                                    from_stage=state["stage"], to_stage=stage, kind="promote", actor="test",
                                    reason="test set-up", agent="sim", agent_version="1")
