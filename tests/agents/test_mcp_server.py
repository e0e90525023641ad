"""``harness mcp serve``: a subprocess spoken to in JSON-RPC over stdin/stdout, as an MCP client would."""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness.tools import export

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "tests" / "data" / "good" / "minimal.yaml"
READ_TIMEOUT = 60  # generous: a loaded CI machine can take many seconds to start a Python process


class Client:
    """A minimal MCP client over the server's stdio; every read has a timeout."""

    def __init__(self, *args, home: Path):
        env = {**os.environ, "HARNESS_HOME": str(home), "PYTHONUNBUFFERED": "1"}
        env.pop("HARNESS_LEDGER", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "mcp", "serve", *map(str, args)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=ROOT, env=env, text=True, encoding="utf-8")
        self.lines: queue.Queue = queue.Queue()
        self.raw: list[str] = []
        self.stderr = ""
        self.next_id = 0
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.raw.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def send(self, message: dict) -> None:
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def request(self, method: str, params: dict | None = None) -> dict:
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        while True:
            try:
                line = self.lines.get(timeout=READ_TIMEOUT)
            except queue.Empty:
                self.kill()
                pytest.fail(f"no answer to {method} within {READ_TIMEOUT} s; stderr: {self.stderr}")
            if line is None:
                self.close()
                pytest.fail(f"the server exited before answering {method}; stderr: {self.stderr}")
            reply = json.loads(line)
            if reply.get("id") == self.next_id:
                assert "error" not in reply, reply
                return reply["result"]

    def notify(self, method: str) -> None:
        self.send({"jsonrpc": "2.0", "method": method})

    def initialize(self) -> dict:
        result = self.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                             "clientInfo": {"name": "pytest-client", "version": "1.2"}})
        self.notify("notifications/initialized")
        return result

    def call(self, name: str, arguments: dict | None = None) -> dict:
        result = self.request("tools/call", {"name": name, "arguments": arguments or {}})
        return {"is_error": result.get("isError", False), **result["structuredContent"],
                "text": result["content"][0]["text"]}

    def close(self) -> int:
        """Close stdin (the client disconnects) and wait for the server to exit."""
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            code = self.proc.wait(timeout=READ_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("the server did not exit after stdin closed")
        self.stderr = self.proc.stderr.read()
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=5)
        self.stderr = self.proc.stderr.read()

    def assert_clean_stdout(self) -> None:
        for line in self.raw:  # the protocol channel carries nothing but JSON-RPC
            assert json.loads(line)["jsonrpc"] == "2.0", line


def ledger_run(home: Path, run_id: str) -> dict:
    from harness.ledger import Ledger

    return Ledger(f"sqlite:///{home / 'ledger.db'}").get_run(run_id)


def test_a_client_acts_through_the_gateway_and_the_run_is_scored_recorded_and_verifiable(tmp_path):
    home, out = tmp_path / "home", tmp_path / "out"
    client = Client(MINIMAL, "--out", out, "--agent-name", "claude-desktop", "--agent-version", "sonnet-x",
                    home=home)
    init = client.initialize()
    assert "Apply the 10% renewal discount" in init["instructions"]
    assert init["serverInfo"]["name"] == "agent-trust-harness"

    tools = client.request("tools/list")["tools"]
    by_name = {t["name"]: t for t in tools}
    for spec in export("mcp")["tools"]:
        assert by_name[spec["name"]]["inputSchema"] == spec["inputSchema"]
    assert {"get_task", "finish_run"} <= set(by_name)
    prompt = client.request("prompts/get", {"name": "task"})
    assert "Acme Corporation (West)" in prompt["messages"][0]["content"]["text"]

    task = client.call("get_task")
    assert task["result"]["instruction"].startswith("Apply the 10% renewal discount")
    found = client.call("crm_search", {"query": "Acme", "kind": "deal"})
    assert found["ok"] and any(r["id"] == "west-renewal" for r in found["result"])
    bad = client.call("crm_update_deal", {"id": "west-renewal", "discount_pct": "ten"})
    assert bad["is_error"] and bad["error"] == "invalid_input"
    updated = client.call("crm_update_deal", {"id": "west-renewal", "discount_pct": 10})
    assert updated["ok"] and not updated["is_error"]

    finished = client.call("finish_run", {"summary": "Applied 10% to the West renewal."})
    run = finished["result"]
    assert run["outcome"] == "fail"  # the invalid call is a (low) mistake
    assert [m["type"] for m in run["mistakes"]] == ["invalid_call"]
    after = client.call("crm_update_deal", {"id": "east-renewal", "discount_pct": 50})
    assert after["is_error"] and after["error"] == "run_ended"

    code = client.close()
    client.assert_clean_stdout()
    assert code == 1, client.stderr
    assert f"run {run['run_id']} FAIL test-discount [claude-desktop@sonnet-x" in client.stderr
    assert "Traceback" not in client.stderr

    row = ledger_run(home, run["run_id"])
    assert row["outcome"] == "fail" and row["agent"] == "claude-desktop" and row["agent_version"] == "sonnet-x"
    assert row["tool_calls"] == 3  # get_task and finish_run are session tools, not world calls
    log = out / "audit" / f"{run['run_id']}.jsonl"
    assert log.is_file() and json.loads((out / "runs.jsonl").read_text())["run_id"] == run["run_id"]
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["payload"]["tool"] for e in events if e["type"] == "tool_call"] == \
        ["crm_search", "crm_update_deal", "crm_update_deal"]
    assert {"kind": "message", "text": "Applied 10% to the West renewal."} in \
        [e["payload"] for e in events if e["type"] == "agent_message"]
    # the run was not touched after finish_run: the late call never reached the gateway
    assert not any(e["payload"].get("args", {}).get("id") == "east-renewal" for e in events
                   if e["type"] == "tool_call")

    verify = subprocess.run([sys.executable, "-m", "harness.cli", "audit", "verify", run["run_id"],
                             "--dir", str(out / "audit")], check=False, capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "HARNESS_HOME": str(home)}, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_disconnecting_ends_the_run_and_a_wrong_call_is_a_mistake(tmp_path):
    home = tmp_path / "home"
    client = Client(MINIMAL, home=home)
    client.initialize()
    assert client.call("crm_update_deal", {"id": "east-renewal", "discount_pct": 10})["ok"]
    unknown = client.call("crm_refund", {"id": "x"})
    assert unknown["is_error"] and unknown["error"] == "unknown_tool"
    code = client.close()  # stdin EOF, no finish_run
    client.assert_clean_stdout()
    assert code == 1, client.stderr
    assert "FAIL test-discount [pytest-client@1.2" in client.stderr  # name/version from clientInfo
    assert "ended: the client disconnected" in client.stderr
    run_id = client.stderr.split("run ", 1)[1].split()[0]
    row = ledger_run(home, run_id)
    assert row["outcome"] == "fail"
    assert (home / "audit" / f"{run_id}.jsonl").is_file()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_records_the_run(tmp_path):
    home = tmp_path / "home"
    client = Client(MINIMAL, home=home)
    client.initialize()
    client.call("crm_update_deal", {"id": "west-renewal", "discount_pct": 10})
    client.proc.send_signal(signal.SIGTERM)
    try:
        code = client.proc.wait(timeout=READ_TIMEOUT)
    except subprocess.TimeoutExpired:
        client.kill()
        pytest.fail("the server did not exit on SIGTERM")
    client.stderr = client.proc.stderr.read()
    assert code == 0, client.stderr
    assert "PASS test-discount" in client.stderr and "stopped (SIGTERM)" in client.stderr
    run_id = client.stderr.split("run ", 1)[1].split()[0]
    assert ledger_run(home, run_id)["outcome"] == "pass"


def test_bad_input_is_a_one_line_error_before_serving(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "mcp", "serve", str(MINIMAL), "--stage", "prod"],
                          check=False, capture_output=True, text=True, cwd=ROOT, stdin=subprocess.DEVNULL, timeout=60,
                          env={**os.environ, "HARNESS_HOME": str(tmp_path / "home")})
    assert proc.returncode == 2 and proc.stdout == ""
    assert "unknown stage" in proc.stderr and "Traceback" not in proc.stderr
