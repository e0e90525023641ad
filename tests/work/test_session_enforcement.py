"""A session's enforcement against the ledger's grant, in process: fail closed, pauses, counts."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import mcp_types as types
from mcp.server.lowlevel import Server
from sqlalchemy.exc import OperationalError

from harness.ledger import Ledger
from harness.policy import policy_from_dict
from harness.work.pins import Pins
from harness.work.session import Gateway, Session
from harness.work.upstreams import Upstream, UpstreamSpec

WORKFLOW = "w.at-work"


def upstream(arrived: list) -> Server:
    async def list_tools(ctx, params):
        obj = {"type": "object", "properties": {"text": {"type": "string"}}}
        return types.ListToolsResult(tools=[types.Tool(name=n, description=n, input_schema=obj)
                                            for n in ("look", "send")])

    async def call_tool(ctx, params):
        arrived.append((params.name, dict(params.arguments or {})))
        return types.CallToolResult(content=[types.TextContent(text="ok")])

    return Server("up", on_list_tools=list_tools, on_call_tool=call_tool)


class Ledgers(Ledger):
    """A real ledger whose grant can be made to fail or to say "paused", as the lead's grant() does."""

    mode = "ok"

    def grant(self, workflow, agent, version):
        if self.mode == "down":
            raise OperationalError("SELECT …", {}, Exception("unable to open database file"))
        pause = {"by": "dana@example.com", "reason": "incident 7", "at": None} if self.mode == "paused" else None
        return {"stage": "autonomous", "paused": pause is not None, "pause": pause, "granted_at": None,
                "source": "granted"}


def _run(tmp_path, mode_by_call: list[str]) -> tuple[list, list, Ledger]:
    arrived: list = []
    ledger = Ledgers(f"sqlite:///{tmp_path / 'l.db'}")
    policy = policy_from_dict({"workflows": {WORKFLOW: {
        "stages": {"suggest": {"gate": {}}, "approve": {"gate": {}}, "autonomous": {"gate": {}}},
        "tools": {"up": {"look": {"effect": "read"},
                         "send": {"effect": "external", "targets": [{"pointer": "/text", "kind": "recipient"}]}}}}}})

    async def go():
        async with AsyncExitStack() as stack:
            up = Upstream(UpstreamSpec("up", ["-"]), 5, target=upstream(arrived))
            await up.connect(stack)
            gw = Gateway(workflow=WORKFLOW, agent="bot", version="1", policy=policy, ledger=ledger,
                         upstreams={"up": up}, pins=Pins(ledger, WORKFLOW), audit_dir=tmp_path / "audit",
                         audit_key=None)
            session = Session(gw, "autonomous")
            said = []
            for i, mode in enumerate(mode_by_call):
                ledger.mode = mode
                gw.grants.cached = None  # the grant changed (a real change is a commit the reader notices)
                said.append((await session.call("up_look", {"text": f"r{i}"}))
                            | {"_write": await session.call("up_send", {"text": f"a{i}@x.org"})})
            session.close("done")
            return said

    return asyncio.run(go()), arrived, ledger


def test_an_unreadable_ledger_fails_closed_and_nothing_reaches_the_upstream(tmp_path):
    said, arrived, ledger = _run(tmp_path, ["ok", "down", "ok"])
    assert [a[0] for a in arrived] == ["look", "send", "look", "send"]  # the first and last call only
    down = said[1]
    assert down["payload"]["ok"] is False and "fail closed" in down["payload"]["message"]
    assert down["_write"]["payload"]["cause"] == "environment"
    row = ledger.list_sessions()[0]
    assert row["env_errors"] == 2 and row["forwarded_writes"] == 2


def test_a_pause_refuses_writes_with_its_reason_and_reads_go_on(tmp_path):
    said, arrived, _ = _run(tmp_path, ["paused", "ok"])
    assert [a[0] for a in arrived] == ["look", "look", "send"]
    assert "paused by dana@example.com (incident 7)" in said[0]["_write"]["payload"]["message"]
