"""``--agent openai`` against a fake OpenAI-compatible server on loopback (no real network)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.agents import BUILTINS, OpenAIProvider, load_agent
from harness.audit import read_events, verify_log
from harness.errors import UnknownAgent
from harness.runner import RunConfig, run_suite
from tests.agents.fake_openai import FakeOpenAI, text_reply, tool_reply

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "tests" / "data" / "good" / "minimal.yaml"
SECRET = "sk-test-SECRET-0123456789"


PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _no_ambient_endpoint(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    for name in PROXY_VARS:  # loopback only: never through a proxy
        monkeypatch.delenv(name, raising=False)


def run(scenario, fake, tmp_path=None, **options):
    options = {"model": "fake-model", "base_url": fake.base_url, "retries": "0", **options}
    provider = load_agent("openai", {k: str(v) for k, v in options.items()})
    config = RunConfig(audit_dir=(tmp_path / "audit") if tmp_path else None)
    return run_suite([scenario], provider, config).results[0]


def good_script():
    return [
        tool_reply("crm_search", {"query": "Acme", "kind": "deal"}, content="Let me find the West deal."),
        tool_reply("crm_update_deal", {"id": "west-renewal", "discount_pct": 10}, call_id="call_2"),
        text_reply("Applied the 10% discount to the Acme Corporation (West) renewal."),
    ]


def test_scripted_conversation_passes_and_is_audited(minimal_scenario, tmp_path):
    with FakeOpenAI(good_script()) as fake:
        result = run(minimal_scenario, fake, tmp_path)
    assert result.outcome == "pass", (result.error, result.mistakes)
    assert result.agent == "openai"
    assert result.agent_version.startswith("fake-model+p") and len(result.agent_version) == len("fake-model+p") + 6
    assert result.tool_calls == 2
    assert len(fake.requests) == 3

    first = fake.requests[0]
    assert first["model"] == "fake-model" and first["tool_choice"] == "auto" and first["temperature"] == 0
    assert {t["function"]["name"] for t in first["tools"]} >= {"crm_search", "crm_update_deal", "email_send"}
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert minimal_scenario.task.instruction in first["messages"][1]["content"]
    # the tool result goes back as a JSON `tool` message tied to the call id
    third = fake.requests[2]["messages"]
    tool_messages = [m for m in third if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == ["call_1", "call_2"]
    found = json.loads(tool_messages[0]["content"])
    assert found["ok"] is True and any(r["id"] == "west-renewal" for r in found["result"])
    assert all({k.lower(): v for k, v in h.items()}.get("authorization") == f"Bearer {SECRET}"
               for h in fake.headers)

    events = read_events(Path(result.audit_path))
    messages = [(e["payload"]["kind"], e["payload"]["text"]) for e in events if e["type"] == "agent_message"]
    assert ("reasoning", "Let me find the West deal.") in messages
    assert messages[-1] == ("message", "Applied the 10% discount to the Acme Corporation (West) renewal.")
    calls = [e["payload"] for e in events if e["type"] == "tool_call"]
    assert calls[0]["rationale"] == "Let me find the West deal."
    assert verify_log(Path(result.audit_path)).ok
    assert SECRET not in Path(result.audit_path).read_text()


def test_a_wrong_call_is_scored_as_a_mistake(minimal_scenario):
    script = [tool_reply("crm_update_deal", {"id": "east-renewal", "discount_pct": 10}),
              text_reply("Done.")]
    with FakeOpenAI(script) as fake:
        result = run(minimal_scenario, fake)
    assert result.outcome == "fail"
    assert "wrong_target" in {m.type for m in result.mistakes}
    assert any(m.entity == "deal:east-renewal" for m in result.mistakes)


def test_malformed_tool_call_json_fails_closed_as_an_invalid_call(minimal_scenario, tmp_path):
    script = [tool_reply("crm_update_deal", '{"id": "west-renewal", "discount_pct": 10'),  # cut short
              text_reply("I could not apply it.")]
    with FakeOpenAI(script) as fake:
        result = run(minimal_scenario, fake, tmp_path)
    assert result.outcome == "fail"
    assert "invalid_call" in {m.type for m in result.mistakes}
    # nothing changed, and the model was told why
    assert not any(result.blast_radius.realised.model_dump().values())
    tool_message = next(m for m in fake.requests[1]["messages"] if m["role"] == "tool")
    reply = json.loads(tool_message["content"])
    assert reply["ok"] is False and reply["error"] == "invalid_input"
    events = read_events(Path(result.audit_path))
    decisions = [e["payload"]["decision"] for e in events if e["type"] == "gateway_decision"]
    assert decisions == ["invalid"]


@pytest.mark.parametrize("status", [500, 502, 503, 401, 403, 404, 429])
def test_an_endpoint_failure_is_the_environments_not_the_agents(minimal_scenario, status):
    script = [(status, {"error": {"message": f"upstream exploded (key {SECRET})"}})]
    with FakeOpenAI(script) as fake:
        result = run(minimal_scenario, fake)
    assert result.outcome == "error"
    assert result.error.cause == "environment"
    assert result.mistakes == []  # an outage is not a missing action
    assert f"HTTP {status}" in result.error.message and "/chat/completions" in result.error.message
    assert SECRET not in result.error.message and "***" in result.error.message


@pytest.mark.parametrize("status", [400, 422])
def test_a_request_the_endpoint_rejects_is_the_agents(minimal_scenario, status):
    with FakeOpenAI([(status, {"error": {"message": "context length exceeded"}})]) as fake:
        result = run(minimal_scenario, fake)
    assert result.outcome == "error" and result.error.cause == "agent"
    assert f"HTTP {status}" in result.error.message


def test_retryable_status_is_retried_then_succeeds(minimal_scenario):
    script = [(503, {"error": "busy"}), *good_script()]
    with FakeOpenAI(script) as fake:
        result = run(minimal_scenario, fake, retries="1")
    assert result.outcome == "pass"
    assert len(fake.requests) == 4


def test_retries_run_out_on_a_persistent_outage(minimal_scenario):
    with FakeOpenAI([], after=(500, {"error": "down"})) as fake:
        result = run(minimal_scenario, fake, retries="2")
    assert len(fake.requests) == 3
    assert result.error.cause == "environment" and "after 2 retries" in result.error.message


def test_unreachable_endpoint_is_an_environment_error(minimal_scenario):
    with FakeOpenAI([]) as fake:
        url = fake.base_url
    provider = load_agent("openai", {"model": "m", "base_url": url, "retries": "0", "timeout_s": "2"})
    result = run_suite([minimal_scenario], provider, RunConfig(audit_dir=None)).results[0]
    assert result.outcome == "error" and result.error.cause == "environment"
    assert "cannot reach" in result.error.message


def test_a_slow_endpoint_times_out_as_an_environment_error(minimal_scenario):
    with FakeOpenAI(good_script(), delay=1.5) as fake:
        result = run(minimal_scenario, fake, timeout_s="0.3")
    assert result.outcome == "error" and result.error.cause == "environment"
    assert "within 0.3 s" in result.error.message


def test_an_unreadable_reply_is_an_environment_error(minimal_scenario):
    with FakeOpenAI([(200, "this is not json")]) as fake:
        result = run(minimal_scenario, fake)
    assert result.outcome == "error" and result.error.cause == "environment"


def test_max_turns_bounds_a_model_that_never_stops(minimal_scenario):
    looping = tool_reply("crm_search", {"query": "Acme"})
    with FakeOpenAI([], after=looping) as fake:
        result = run(minimal_scenario, fake, max_turns="3")
    assert len(fake.requests) == 3
    assert result.tool_calls == 3
    assert result.outcome == "fail"  # searched, never acted
    assert "missing_action" in {m.type for m in result.mistakes}


def test_version_tracks_the_prompt(tmp_path):
    a = OpenAIProvider(model="gpt-x")
    b = OpenAIProvider(model="gpt-x")
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("You are careful.")
    c = OpenAIProvider(model="gpt-x", system_prompt_file=str(prompt))
    assert a.version == b.version and a.version.startswith("gpt-x+p")
    assert c.version != a.version and c.version.startswith("gpt-x+p")
    assert SECRET not in a.version


def test_options_are_checked(monkeypatch):
    assert BUILTINS["openai"] is OpenAIProvider
    with pytest.raises(UnknownAgent, match="model is required"):
        load_agent("openai", {})
    with pytest.raises(UnknownAgent, match="unknown option"):
        load_agent("openai", {"model": "m", "colour": "red"})
    with pytest.raises(UnknownAgent, match="max_turns"):
        load_agent("openai", {"model": "m", "max_turns": "lots"})
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9999/v1/")
    assert OpenAIProvider(model="m").base_url == "http://127.0.0.1:9999/v1"
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert OpenAIProvider(model="m").base_url == "http://127.0.0.1:8000/v1"
    assert load_agent("openai", {"model": "m"}, version="pinned").version == "pinned"


def test_cli_run_with_the_openai_agent(tmp_path):
    with FakeOpenAI(good_script()) as fake:
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", str(MINIMAL), "--agent", "openai", "-a", "model=fake",
             "-a", f"base_url={fake.base_url}", "--no-ledger", "--no-audit", "--json"],
            check=False, capture_output=True, text=True, cwd=ROOT, timeout=60,
            env={**os.environ, "HARNESS_HOME": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["passed"] == 1 and data["results"][0]["agent"] == "openai"
    assert SECRET not in proc.stdout + proc.stderr
