"""The four commands as a user runs them: exit codes, stderr, JSON."""

import json

import pytest
import typer
from typer.testing import CliRunner

from harness.commands.promotion import register
from harness.ledger import Ledger

from ._promotion_helpers import WF, record

POLICY = """
people: {dana: [release-owner], lee: [risk]}
workflows:
  crm.renewal-discounts:
    owner: dana
    ladder: [sandbox, suggest, approve]
    stages:
      suggest: {gate: {min_runs: 20, max_mistake_rate: 0.2}}
      approve: {gate: {min_runs: 40, signoffs: {roles: [release-owner]}}}
"""


@pytest.fixture
def cli(tmp_path, ledger_url):
    app = typer.Typer(add_completion=False)
    register(app)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    runner = CliRunner()

    def invoke(*args):
        extra = [] if args[0] == "history" else ["--policy", str(policy)]  # history needs no policy
        return runner.invoke(app, [*args, "--ledger", ledger_url, *extra])

    return invoke


def test_status_promote_history_demote(cli, ledger_url):
    with Ledger(ledger_url) as led:
        record(led, 10)
    result = cli("status", WF, "--json")
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.stdout)
    assert entry["stage"] == "sandbox" and entry["agents"][0]["gate"]["ready"] is False

    refused = cli("promote", WF, "--to", "suggest", "--by", "dana", "--reason", "try")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: ") and "min_runs: required 20, measured 10" in refused.stderr

    with Ledger(ledger_url) as led:
        record(led, 20)
    table = cli("status", WF)
    assert table.exit_code == 0 and "READY" in table.stdout and "max_mistake_rate" in table.stdout
    done = cli("promote", WF, "--to", "suggest", "--by", "dana", "--reason", "30 clean runs")
    assert done.exit_code == 0, done.output
    assert "promoted crm.renewal-discounts: sandbox → suggest" in done.stdout

    history = cli("history", WF, "--json")
    pin, t = json.loads(history.stdout)
    assert pin["kind"] == "policy" and pin["actor"] == "dana"  # the first promote attempt pinned the policy
    assert t["actor"] == "dana" and t["reason"] == "30 clean runs" and len(t["evidence_digest"]) == 64
    assert "sandbox → suggest" in cli("history", WF).stdout

    demoted = cli("demote", WF, "--to", "sandbox", "--by", "dana", "--reason", "incident 42")
    assert demoted.exit_code == 0 and "suggest → sandbox" in demoted.stdout


@pytest.mark.parametrize("args, message", [
    (("promote", "crm.nope", "--to", "suggest", "--by", "dana", "--reason", "x"), "no workflow 'crm.nope'"),
    (("promote", WF, "--to", "approve", "--by", "dana", "--reason", "x"), "one stage at a time"),
    (("promote", WF, "--to", "prod", "--by", "dana", "--reason", "x"), "not a stage"),
    (("demote", WF, "--to", "sandbox", "--by", "dana", "--reason", "x"), "nothing to demote"),
    (("status", "crm.nope"), "no workflow"),
])
def test_bad_input_exits_2_with_one_clear_line(cli, ledger_url, args, message):
    with Ledger(ledger_url) as led:
        record(led, 25)
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.output


def test_bad_policy_file_exits_2_naming_the_field(cli, tmp_path, ledger_url):
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICY.replace("min_runs: 20", "min_runs: -20"))
    app = typer.Typer(add_completion=False)
    register(app)
    result = CliRunner().invoke(app, ["status", "--ledger", ledger_url, "--policy", str(bad)])
    assert result.exit_code == 2
    assert "stages.suggest.gate.min_runs" in result.stderr and "an integer between 0 and" in result.stderr
