"""Faults and governance on a misbehaving upstream: crash, hang, garbage, changed definitions."""

from __future__ import annotations

import json

from harness.audit import read_events, verify_log
from tests.work.conftest import TOY_TOOLS, Gateway, grant, payload, run, write_policy


def _session_row(url):
    from harness.ledger import Ledger

    with Ledger(url) as led:
        return led.list_sessions()[0]


def test_upstream_crash_hang_and_garbage_are_environment_errors(tmp_path, home, toy_upstream):
    spec, log = toy_upstream
    policy = write_policy(tmp_path / "p.yaml", TOY_TOOLS)
    gw = Gateway(home, policy, [spec], extra=("--timeout-s", "1.5"))
    grant(gw.url, "autonomous")
    try:
        async def go():
            async with gw.session() as c:
                said = {}
                for tool in ("hang", "garbage", "crash", "echo"):
                    said[tool] = payload(await c.call_tool(f"toy_{tool}", {"text": "x"}))
                return said
        said = run(go())
    finally:
        gw.stop()
    for tool in ("hang", "garbage", "crash", "echo"):
        assert said[tool]["ok"] is False and said[tool]["cause"] == "environment", said
        assert "not yours" in said[tool]["message"]
    assert "did not answer" in said["hang"]["message"]
    assert "is down" in said["echo"]["message"] or "failed" in said["echo"]["message"]
    row = _session_row(gw.url)
    assert row["env_errors"] == 4 and row["refused"] == 0


def test_unclassified_tools_are_hidden_and_refused_naming_the_policy_field(tmp_path, home, toy_upstream):
    spec, _ = toy_upstream
    tools = {"toy": {"echo": {"effect": "read"}}}
    gw = Gateway(home, write_policy(tmp_path / "p.yaml", tools), [spec])
    grant(gw.url, "autonomous")
    try:
        async def go():
            async with gw.session() as c:
                listed = [t.name for t in (await c.list_tools()).tools]
                return listed, payload(await c.call_tool("toy_note", {"text": "x"}))
        listed, said = run(go())
    finally:
        gw.stop()
    assert listed == ["toy_echo"]
    assert said["ok"] is False and "workflows.files.at-work.tools.toy.note" in said["message"]


def test_a_definition_changed_mid_session_blocks_the_tool_until_a_person_repins_it(tmp_path, home, toy_upstream):
    from harness.ledger import Ledger

    spec, _ = toy_upstream
    gw = Gateway(home, write_policy(tmp_path / "p.yaml", TOY_TOOLS), [spec])
    grant(gw.url, "autonomous")
    try:
        async def go():
            async with gw.session() as c:
                first = payload(await c.call_tool("toy_echo", {"text": "a"}))
                await c.call_tool("toy_mutate", {})
                import asyncio
                for _ in range(50):  # the gateway re-lists the upstream's tools when it announces a change
                    blocked = payload(await c.call_tool("toy_echo", {"text": "b"}))
                    if blocked.get("ok") is False:
                        break
                    await asyncio.sleep(0.1)
                listed = [t.name for t in (await c.list_tools()).tools]
                with Ledger(gw.url) as led:
                    pin = next(p for p in led.pins() if p["tool"] == "echo")
                    assert pin["pending_hash"] and pin["automatic"]
                    led.approve_pin("files.at-work", "toy", "echo", "dana@example.com")
                again = payload(await c.call_tool("toy_echo", {"text": "c"}))
                return first, blocked, listed, again
        first, blocked, listed, again = run(go())
    finally:
        gw.stop()
    assert first["text"] == "echo: a"
    assert blocked["ok"] is False and "definition changed" in blocked["message"]
    assert "harness gateway pins approve files.at-work toy echo" in blocked["message"]
    assert "toy_echo" not in listed
    assert again["text"] == "echo: c"


def test_a_write_acknowledged_before_kill_9_is_in_the_audit_log(tmp_path, home, toy_upstream):
    spec, log = toy_upstream
    gw = Gateway(home, write_policy(tmp_path / "p.yaml", TOY_TOOLS), [spec])
    grant(gw.url, "autonomous")
    try:
        async def go():
            async with gw.session() as c:
                for i in range(5):
                    said = payload(await c.call_tool("toy_note", {"text": f"n{i}"}))
                    assert said["text"] == f"note: n{i}"
                gw.kill()  # kill -9 right after the fifth reply
        try:
            run(go())
        except BaseException:  # noqa: BLE001 - the client notices the connection dropping
            pass
    finally:
        gw.kill()
    row = _session_row(gw.url)
    events = read_events(row["audit_path"], strict=False)
    results = [e for e in events if e["type"] == "tool_result"]
    assert [json.dumps(e["payload"]["call_id"]) for e in results] == ["1", "2", "3", "4", "5"]
    report = verify_log(row["audit_path"], require_terminal=False)
    assert report.ok, report.summary()
    assert log.read_text().split() == ["n0", "n1", "n2", "n3", "n4"]
