"""The release owner's story, end to end: refused on a fresh ledger, promoted after enough clean runs,
history with sign-off and evidence, demoted by a critical incident at autonomous."""

import json

from tests.e2e.conftest import ROOT

SUITE = ROOT / "scenarios" / "crm" / "renewal-discounts"
WF = "crm.renewal-discounts"

POLICY = """
people:
  dana@example.com: [release-owner]
workflows:
  crm.renewal-discounts:
    owner: dana@example.com
    stages:
      suggest:
        gate: {min_runs: 12, window_runs: 100, max_mistake_rate: 0.3, confidence: 0.95}
      approve:
        gate: {min_runs: 12, window_runs: 100, max_mistake_rate: 0.3, signoffs: {count: 1, roles: [release-owner]}}
      autonomous:
        gate: {min_runs: 12, window_runs: 100, max_mistake_rate: 0.3}
        bounds: {max_discount_pct: 15}
    demotion:
      - {on: severity, at_least: critical, at_stages: [autonomous], to: approve}
"""


def test_refused_then_promoted_then_demoted(cli, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    p = ("--policy", policy)

    code, _, err = cli("promote", WF, "--to", "suggest", "--by", "dana@example.com", "--reason", "try", *p)
    assert code == 1 and "no evidence" in err

    code, _, _ = cli("run", SUITE, "--agent", "oracle", "--trials", "1", *p)
    assert code == 0
    code, _, err = cli("promote", WF, "--to", "suggest", "--by", "dana@example.com", "--reason", "try", *p)
    assert code == 1 and "min_runs" in err  # 6 runs of 12

    cli("run", SUITE, "--agent", "oracle", "--trials", "2", *p, check=0)
    _, out, _ = cli("status", WF, "--json", *p, check=0)
    [entry] = json.loads(out)
    assert entry["stage"] == "sandbox" and entry["agents"][0]["gate"]["ready"]

    cli("promote", WF, "--to", "suggest", "--by", "dana@example.com", "--reason", "18 clean runs", *p, check=0)
    code, _, err = cli("promote", WF, "--to", "autonomous", "--by", "dana@example.com", "--reason", "skip", *p)
    assert code == 2 and "one stage at a time" in err
    code, _, err = cli("promote", WF, "--to", "approve", "--by", "nobody@example.com", "--reason", "x", *p)
    assert code == 1 and "people" in err  # not a person the policy knows, so not a signer
    cli("promote", WF, "--to", "approve", "--by", "dana@example.com", "--reason", "signed", *p, check=0)
    cli("promote", WF, "--to", "autonomous", "--by", "dana@example.com", "--reason", "go", *p, check=0)

    _, out, _ = cli("history", WF, "--json", check=0)
    history = json.loads(out)
    assert [t["to_stage"] for t in history][-3:] == ["suggest", "approve", "autonomous"]
    assert history[0]["kind"] == "policy"  # the first promotion attempt pinned the policy
    assert all(t["actor"] == "dana@example.com" and t["evidence_digest"] for t in history if t["kind"] != "policy")

    # an incident at work: a critical one recorded by a person demotes the version at once
    code, out, err = cli("incident", "record", WF, "--agent", "oracle@1", "--severity", "critical",
                         "--reason", "sent a quote to the wrong customer", "--by", "dana@example.com", *p)
    assert code == 0, err
    assert "demoted" in out
    _, out, _ = cli("status", WF, "--json", *p, check=0)
    assert json.loads(out)[0]["agents"][0]["stage"] == "approve"
    _, out, _ = cli("history", WF, "--json", check=0)
    last = json.loads(out)[-1]
    assert last["to_stage"] == "approve" and last["actor"].startswith("rule:")
