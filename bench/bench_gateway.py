"""The gateway's cost: added latency per forwarded call, and calls per second through one gateway.

1. Added latency: the same upstream tool called directly (an MCP client → the upstream over stdio)
   and through the gateway (an MCP client → the gateway → the same upstream over stdio), audit on,
   the grant read from a SQLite ledger at every call. The gateway runs in this process (the SDK's
   in-memory transport between client and gateway), so the figure is the gateway's own work: the
   grant lookup, classification, the decision, four audit events hashed and flushed to disk before
   the reply. Target: median under 1 ms.
2. Throughput: calls per second through one gateway to an in-process upstream, audit on.
   Target: over 1,000 calls/s.

    python bench/bench_gateway.py [--calls 2000] [--json]

Figures are noisy on a shared, loaded machine; run it twice and read the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.server.lowlevel import Server

from harness.ledger import Ledger
from harness.policy import policy_from_dict
from harness.work.pins import Pins
from harness.work.server import Sessions, build_server
from harness.work.session import Gateway
from harness.work.upstreams import Upstream, UpstreamSpec

UPSTREAM = Path(__file__).resolve().parents[1] / "tests" / "work" / "_toy_upstream.py"
WORKFLOW = "bench.at-work"


def policy():
    return policy_from_dict({"workflows": {WORKFLOW: {
        "stages": {"suggest": {"gate": {}}, "approve": {"gate": {}}, "autonomous": {"gate": {}}},
        "tools": {"up": {"echo": {"effect": "read"}, "note": {"effect": "write"}}}}}}, "bench-policy")


def in_process_upstream() -> Server:
    async def list_tools(ctx, params):
        obj = {"type": "object", "properties": {"text": {"type": "string"}}}
        return types.ListToolsResult(tools=[types.Tool(name="echo", description="Echo.", input_schema=obj),
                                            types.Tool(name="note", description="Note.", input_schema=obj)])

    async def call_tool(ctx, params):
        return types.CallToolResult(content=[types.TextContent(text=str((params.arguments or {}).get("text")))])

    return Server("bench-upstream", on_list_tools=list_tools, on_call_tool=call_tool)


async def gateway_client(stack: AsyncExitStack, tmp: Path, upstream: Upstream) -> Client:
    ledger = Ledger(f"sqlite:///{tmp / 'ledger.db'}")
    state = ledger.workflow_state(WORKFLOW)
    ledger.record_transition(workflow=WORKFLOW, expected_version=state["version"], from_stage="sandbox",
                             to_stage="autonomous", kind="promote", actor="bench", reason="bench", override=True,
                             agent="bench", agent_version="1")
    await upstream.connect(stack)
    gw = Gateway(workflow=WORKFLOW, agent="bench", version="1", policy=policy(), ledger=ledger,
                 upstreams={"up": upstream}, pins=Pins(ledger, WORKFLOW), audit_dir=tmp / "audit", audit_key=None)
    sessions = Sessions(gw)
    client = await stack.enter_async_context(Client(build_server(sessions), cache=None, mode="legacy"))
    return client, sessions


async def timed(client: Client, tool: str, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        result = await client.call_tool(tool, {"text": f"x{i}"})
        out.append(time.perf_counter() - t0)
        assert not result.is_error, result
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


async def main(calls: int) -> dict:
    stdio = StdioServerParameters(command=sys.executable, args=[str(UPSTREAM), "/dev/null"])
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        async with AsyncExitStack() as stack:
            direct = await stack.enter_async_context(Client(stdio, cache=None, mode="legacy"))
            await timed(direct, "echo", 50)
            direct_s = await timed(direct, "echo", calls)
            same = Upstream(UpstreamSpec("up", [sys.executable, str(UPSTREAM), "/dev/null"]), 30)
            via, sessions = await gateway_client(stack, tmp / "a", same)
            await timed(via, "up_echo", 50)
            via_s = await timed(via, "up_echo", calls)
            sessions.close_all("bench done")
        async with AsyncExitStack() as stack:  # the SDK's own cost: a client straight to the same upstream
            bare = await stack.enter_async_context(Client(in_process_upstream(), cache=None, mode="legacy"))
            await timed(bare, "note", 50)
            t0 = time.perf_counter()
            await timed(bare, "note", calls)
            bare_rate = calls / (time.perf_counter() - t0)
        async with AsyncExitStack() as stack:
            inproc, sessions = await gateway_client(stack, tmp / "b", Upstream(UpstreamSpec("up", ["-"]), 30,
                                                                                target=in_process_upstream()))
            await timed(inproc, "up_note", 50)
            t0 = time.perf_counter()
            await timed(inproc, "up_note", calls)
            rate = calls / (time.perf_counter() - t0)
            session = next(iter(sessions.by_connection.values()))[1]
            sessions.close_all("bench done")
            events = len(session.audit)
    return {"calls": calls, "direct_median_ms": statistics.median(direct_s) * 1e3,
            "gateway_median_ms": statistics.median(via_s) * 1e3,
            "added_median_ms": (statistics.median(via_s) - statistics.median(direct_s)) * 1e3,
            "added_p99_ms": (pct(via_s, 99) - pct(direct_s, 99)) * 1e3,
            "direct_p99_ms": pct(direct_s, 99) * 1e3, "gateway_p99_ms": pct(via_s, 99) * 1e3,
            "writes_per_s_in_process": rate, "sdk_calls_per_s_without_gateway": bare_rate,
            "audit_events_in_throughput_session": events}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with contextlib.redirect_stderr(io.StringIO()):  # the gateway's per-session notes
        r = asyncio.run(main(args.calls))
    if args.json:
        print(json.dumps(r, indent=2))
        sys.exit(0)
    print(f"direct call to the upstream (stdio):  median {r['direct_median_ms']:.3f} ms, "
          f"p99 {r['direct_p99_ms']:.3f} ms")
    print(f"same call through the gateway:        median {r['gateway_median_ms']:.3f} ms, "
          f"p99 {r['gateway_p99_ms']:.3f} ms")
    print(f"added latency, audit on:              median {r['added_median_ms']:.3f} ms, "
          f"p99 {r['added_p99_ms']:.3f} ms   (target: median < 1 ms)")
    print(f"throughput to an in-process upstream: {r['writes_per_s_in_process']:,.0f} forwarded writes/s "
          f"(audit on, {r['audit_events_in_throughput_session']} events)   (target: > 1,000/s)")
    print(f"  for scale: the same SDK client straight to that upstream: "
          f"{r['sdk_calls_per_s_without_gateway']:,.0f} calls/s (one SDK hop; through the gateway there are two)")
