"""User agents run out of process: they cannot reach the world, the ledger or the keys, cannot stop the
suite, and cannot outrun the time limit, whatever they raise or block on."""

import json

import pytest

from tests.e2e.conftest import GOOD

LIMITED = GOOD / "minimal.yaml"


def _one(cli, agent, *extra, scenario=GOOD, check=None):
    code, out, err = cli("run", scenario, "--agent", f"tests.integrity._agents:{agent}", "--json", *extra)
    assert check is None or code == check, (code, out, err)
    return code, json.loads(out)["results"][0]


@pytest.mark.parametrize("agent, raised", [("exits", "SystemExit"), ("interrupts", "KeyboardInterrupt"),
                                           ("cancels", "CancelledError")])
@pytest.mark.parametrize("mode", [[], ["--in-process"]], ids=["worker", "in-process"])
def test_any_base_exception_ends_that_run_as_error_and_nothing_else(cli, agent, raised, mode):
    code, run = _one(cli, agent, "--trials", "2", *mode)
    assert code == 1 and run["outcome"] == "error" and raised in run["error"]["message"]
    _, out, _ = cli("status", "--json", check=0)  # both runs were recorded
    assert sum(a["runs"] for w in json.loads(out) for a in w["agents"]) == 2


@pytest.mark.parametrize("mode", [[], ["--in-process"]], ids=["worker", "in-process"])
def test_a_blocked_event_loop_cannot_outrun_the_time_limit(cli, tmp_path, mode):
    scenario = tmp_path / "limited.yaml"
    scenario.write_text(LIMITED.read_text(encoding="utf-8") + "limits: {timeout_s: 2}\n", encoding="utf-8")
    code, run = _one(cli, "blocks_the_loop", *mode, scenario=scenario)
    assert code == 1 and run["outcome"] == "error" and "time limit" in run["error"]["message"], run


def test_an_agent_in_its_worker_finds_nothing_of_the_harness(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_AUDIT_KEY", "secret-key")
    code, run = _one(cli, "snoops", "--out", tmp_path, check=0)
    log = (tmp_path / "audit" / f"{run['run_id']}.jsonl").read_text(encoding="utf-8")
    [said] = [json.loads(e["payload"]["text"]) for e in map(json.loads, log.splitlines())
              if e["type"] == "agent_message"]
    assert said["found"] == {} and said["env"] == [] and said["toolbox"] == "RemoteToolbox"
    assert "_gateway" not in said["attrs"] and "_audit" not in said["attrs"]


def test_in_process_is_trusted_and_says_so(cli, tmp_path):
    """The same agent with --in-process reaches the harness's objects: the flag is for trusted code."""
    code, run = _one(cli, "snoops", "--in-process", "--out", tmp_path)
    log = (tmp_path / "audit" / f"{run['run_id']}.jsonl").read_text(encoding="utf-8")
    [said] = [json.loads(e["payload"]["text"]) for e in map(json.loads, log.splitlines())
              if e["type"] == "agent_message"]
    assert said["found"].get("World", 0) > 0
    _, help_text, _ = cli("run", "--help", check=0)
    assert "--in-process" in help_text and "trusted" in help_text


def test_a_bad_agent_spec_is_still_a_clear_usage_error(cli):
    code, _, err = cli("run", GOOD, "--agent", "tests.integrity._agents:nothing_here")
    assert code == 2 and "has no attribute" in err
