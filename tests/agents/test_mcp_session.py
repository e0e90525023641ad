"""The MCP server in-process, through the official SDK's client: stage, limits and session rules."""

import asyncio

from mcp import Client
from mcp.types import Implementation

from harness.mcp_server import McpSession, build_server, summary_line
from harness.policy import load_policy
from harness.runner import RunConfig


def structured(result):
    return {"is_error": result.is_error, **result.structured_content}


async def drive(session, script):
    server = build_server(session)
    async with Client(server, mode="legacy", client_info=Implementation(name="inproc", version="7")) as client:
        out = await script(client)
    result = await session.close("the client disconnected")
    return out, result


def test_suggest_stage_holds_writes_and_the_step_limit_stops_the_run(minimal_scenario):
    config = RunConfig(stage="suggest", policy=load_policy(None), audit_dir=None, max_steps=2)
    session = McpSession(minimal_scenario, config)

    async def script(client):
        tools = await client.list_tools()
        assert {"crm_update_deal", "get_task", "finish_run"} <= {t.name for t in tools.tools}
        suggested = structured(await client.call_tool("crm_update_deal", {"id": "west-renewal", "discount_pct": 10}))
        assert suggested["ok"] and suggested["status"] == "suggested"
        got = structured(await client.call_tool("crm_get", {"kind": "deal", "id": "west-renewal"}))
        assert got["result"]["discount_pct"] == 0  # nothing changed
        stopped = structured(await client.call_tool("crm_search", {"query": "Acme"}))
        assert stopped["is_error"] and stopped["error"] == "stopped" and "step limit" in stopped["message"]
        again = structured(await client.call_tool("crm_search", {"query": "Acme"}))
        assert again["error"] == "run_ended" and "step limit" in again["message"]

    _, result = asyncio.run(drive(session, script))
    assert result.outcome == "error" and result.error.cause == "agent" and "step limit" in result.error.message
    assert (result.agent, result.agent_version) == ("inproc", "7")
    assert result.stage == "suggest" and result.tool_calls == 2
    assert not any(result.blast_radius.realised.model_dump().values())
    assert "ERROR test-discount" in summary_line(result)


class _Policy:
    """Just enough policy for the gateway: the stage's bounds."""

    def __init__(self, **bounds):
        from harness.policy import StageBounds

        self.bounds = StageBounds(**bounds)

    def bounds_for(self, workflow, stage):
        return self.bounds


def test_bounds_block_calls_outside_the_stage(minimal_scenario):
    config = RunConfig(stage="autonomous", policy=_Policy(max_discount_pct=5.0), audit_dir=None)
    session = McpSession(minimal_scenario, config, name="bounded", version="1")

    async def script(client):
        blocked = structured(await client.call_tool("crm_update_deal", {"id": "west-renewal", "discount_pct": 10}))
        assert blocked["is_error"] and blocked["error"] == "blocked" and "5%" in blocked["message"]
        await client.call_tool("finish_run", {})

    _, result = asyncio.run(drive(session, script))
    assert result.blocked_calls == 1 and result.tool_calls == 1
    assert not any(result.blast_radius.realised.model_dump().values())


def test_time_limit_ends_the_run(minimal_scenario):
    session = McpSession(minimal_scenario, RunConfig(audit_dir=None, timeout_s=0.3), name="slow", version="1")

    async def script(client):
        first = structured(await client.call_tool("crm_search", {"query": "Acme", "kind": "deal"}))
        assert first["ok"]
        await asyncio.sleep(0.6)
        late = structured(await client.call_tool("crm_update_deal", {"id": "west-renewal", "discount_pct": 10}))
        assert late["is_error"] and late["error"] == "run_ended" and "time limit" in late["message"]

    _, result = asyncio.run(drive(session, script))
    assert result.outcome == "error" and "time limit" in result.error.message
    assert result.tool_calls == 1
    assert session.ended_because == "the time limit"


def test_no_tool_call_means_no_run_and_finish_run_alone_records_a_do_nothing(minimal_scenario):
    recorded = []
    idle = McpSession(minimal_scenario, RunConfig(audit_dir=None), on_result=lambda r, p: recorded.append(r))

    async def browse(client):
        await client.list_tools()
        await client.list_prompts()

    _, result = asyncio.run(drive(idle, browse))
    assert result is None and recorded == []
    assert "no run was recorded" in summary_line(None)

    quitter = McpSession(minimal_scenario, RunConfig(audit_dir=None), on_result=lambda r, p: recorded.append(r))

    async def give_up(client):
        task = structured(await client.call_tool("get_task", {}))
        assert "Acme Corporation (West)" in task["result"]["instruction"]
        done = structured(await client.call_tool("finish_run", {"summary": "not doing it"}))
        assert done["result"]["outcome"] == "fail"
        assert "missing_action" in {m["type"] for m in done["result"]["mistakes"]}

    _, result = asyncio.run(drive(quitter, give_up))
    assert recorded == [result] and result.tool_calls == 0
