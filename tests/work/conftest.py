"""Fixtures for the gateway at work: a policy with a tool map, a ledger, a gateway subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOY = Path(__file__).with_name("_toy_upstream.py")
WORKFLOW = "files.at-work"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def grant(url: str, stage: str, workflow: str = WORKFLOW, agent: str = "bot", version: str = "1") -> None:
    """Give ``agent@version`` the stage ``stage`` in the ledger, as a release owner would."""
    from harness.ledger import Ledger

    with Ledger(url) as led:
        state = led.grant(workflow, agent, version)
        if state["stage"] == stage:
            return
        kind = "promote" if ["sandbox", "suggest", "approve", "autonomous"].index(stage) > \
            ["sandbox", "suggest", "approve", "autonomous"].index(state["stage"]) else "demote"
        led.record_transition(workflow=workflow, expected_version=state["version"], from_stage=state["stage"],
                              to_stage=stage, kind=kind, actor="dana@example.com", reason="test", override=True,
                              agent=agent, agent_version=version)


def write_policy(path: Path, tools: dict, bounds: dict | None = None, workflow: str = WORKFLOW,
                 demotion: list | None = None) -> Path:
    policy = {"version": 1, "people": {"dana@example.com": ["release-owner"]}, "workflows": {workflow: {
        "stages": {"suggest": {"gate": {}}, "approve": {"gate": {}},
                   "autonomous": {"gate": {}, "bounds": bounds or {}}},
        "demotion": demotion or [],
        "tools": tools}}}
    path.write_text(json.dumps(policy), encoding="utf-8")  # JSON is YAML
    return path


TOY_TOOLS = {"toy": {"echo": {"effect": "read"}, "note": {"effect": "write"}, "crash": {"effect": "read"},
                     "hang": {"effect": "read"}, "garbage": {"effect": "read"}, "mutate": {"effect": "read"}}}


class Gateway:
    """``harness gateway serve`` as a subprocess on HTTP (so a test can kill it), spoken to with the SDK."""

    def __init__(self, home: Path, policy: Path, upstreams: list[str], workflow: str = WORKFLOW,
                 agent: str = "bot@1", extra: tuple = (), env: dict | None = None):
        self.home = home
        self.port = free_port()
        self.url = f"sqlite:///{home / 'ledger.db'}"
        args = [sys.executable, "-m", "harness.cli", "gateway", "serve", workflow, "--agent", agent,
                "--policy", str(policy), "--ledger", self.url, "--http", str(self.port), *extra]
        for spec in upstreams:
            args += ["--upstream", spec]
        self.stderr_path = home / f"gateway-{self.port}.err"
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(self.stderr_path, "w"),
                                     env={**os.environ, "HARNESS_HOME": str(home), **(env or {})})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the gateway exited ({self.proc.returncode}): {self.stderr()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise AssertionError(f"the gateway did not start: {self.stderr()}")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def session(self):
        from mcp import Client

        return Client(f"http://127.0.0.1:{self.port}/mcp", mode="legacy", cache=None)


def run(coro):
    return asyncio.run(coro)


def payload(result) -> dict:
    """What the gateway said (its own JSON), or the upstream's text under ``text``."""
    text = result.content[0].text if result.content else ""
    try:
        data = json.loads(text)
    except ValueError:
        return {"text": text, "is_error": bool(result.is_error)}
    return data if isinstance(data, dict) else {"text": text, "is_error": bool(result.is_error)}


@pytest.fixture
def home(tmp_path):
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def toy_upstream(tmp_path):
    log = tmp_path / "notes.log"
    log.write_text("", encoding="utf-8")
    return f"toy={sys.executable} {TOY} {log}", log


class SyncClient:
    """An MCP client session (official SDK) on its own event loop thread, called synchronously, so that
    hypothesis can drive one gateway session through many generated examples."""

    def __init__(self, gateway: Gateway):
        import threading

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client = gateway.session()
        self._submit(self.client.__aenter__())

    def _submit(self, coro, timeout: float = 120):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, name: str, arguments: dict) -> dict:
        return payload(self._submit(self.client.call_tool(name, arguments)))

    def tools(self) -> list[str]:
        return sorted(t.name for t in self._submit(self.client.list_tools()).tools)

    def close(self) -> None:
        try:
            self._submit(self.client.__aexit__(None, None, None), timeout=30)
        except BaseException:  # noqa: BLE001 - the gateway may be gone already
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
