"""The MCP server side of ``harness gateway serve`` (official ``mcp`` SDK, low-level API).

stdio by default (one client, one session); ``--http PORT`` serves streamable HTTP on 127.0.0.1,
one session per MCP session. stdout carries the protocol in stdio mode: nothing else is written there.
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import AsyncExitStack
from typing import Any

from harness.work.session import Gateway, Session
from harness.work.upstreams import Upstream, UpstreamSpec

SERVER_NAME = "agent-trust-harness-gateway"


class Sessions:
    """The gateway's sessions. Over stdio there is one client, so one session for the process; over HTTP
    one per MCP session id (clients that send none share one). Each opens at its first request."""

    def __init__(self, gateway: Gateway, single: bool = True):
        self.gateway = gateway
        self.single = single
        self.by_connection: dict[str, tuple[Any, Session]] = {}

    def _key(self, ctx: Any) -> str:
        if self.single:
            return "stdio"
        request = getattr(ctx, "request", None)
        headers = getattr(request, "headers", None)
        return (headers.get("mcp-session-id") if headers is not None else None) or "shared"

    def for_context(self, ctx: Any) -> Session:
        key = self._key(ctx)
        entry = self.by_connection.get(key)
        if entry is None:
            try:
                stage = self.gateway.grant()["stage"]
            except Exception:  # noqa: BLE001 - the ledger is down: the session still opens, calls fail closed
                stage = "unknown"
            session = Session(self.gateway, stage)
            print(f"harness gateway: session {session.id} opened (audit: harness audit explain {session.id})",
                  file=sys.stderr, flush=True)
        else:
            session = entry[1]
        self.by_connection[key] = (ctx.session, session)  # the newest channel, for change notifications
        return session

    async def tools_changed(self, events: list[dict[str, Any]]) -> None:
        for connection, session in list(self.by_connection.values()):
            if not session.closed:
                session.audit.append("gateway_decision", {"decision": "tool_definitions_changed", "pins": events})
                session.audit.flush()
            try:
                await connection.send_tool_list_changed()
            except Exception:  # noqa: BLE001 - a client that went away
                pass

    def close_all(self, why: str) -> list[Session]:
        closed = []
        for _, session in self.by_connection.values():
            if not session.closed:
                session.close(why)
                closed.append(session)
        return closed


def build_server(sessions: Sessions) -> Any:
    from mcp import types
    from mcp.server.lowlevel import Server

    from harness import __version__

    gw = sessions.gateway

    async def list_tools(ctx: Any, params: Any) -> Any:
        sessions.for_context(ctx)
        return types.ListToolsResult(tools=[types.Tool.model_validate(t) for t in gw.listed_tools()])

    async def call_tool(ctx: Any, params: Any) -> Any:
        session = sessions.for_context(ctx)
        args = params.arguments if isinstance(params.arguments, dict) else {}
        reply = await session.call(params.name, args)
        if "result" in reply:
            return reply["result"]
        payload = reply["payload"]
        return types.CallToolResult(content=[types.TextContent(text=json.dumps(payload, ensure_ascii=False))],
                                    structured_content=payload, is_error=not payload.get("ok", False))

    instructions = (f"Tools of the workflow {gw.workflow}, governed by the agent trust harness for "
                    f"{gw.agent}@{gw.version}: each call is checked against the stage the ledger grants and "
                    "recorded. \"status\": \"suggested\" or \"planned\" means a person will judge the write; "
                    "\"ok\": false means nothing was done (see \"message\").")
    return Server(SERVER_NAME, version=str(__version__), instructions=instructions,
                  on_list_tools=list_tools, on_call_tool=call_tool)


async def connect_upstreams(stack: AsyncExitStack, specs: list[UpstreamSpec], timeout_s: float,
                            on_change: Any = None) -> dict[str, Upstream]:
    upstreams = {}
    for spec in specs:
        up = Upstream(spec, timeout_s, on_tools_changed=on_change)
        await up.connect(stack)
        upstreams[spec.name] = up
    return upstreams


async def serve(*, specs: list[UpstreamSpec], make_gateway: Any, timeout_s: float, http_port: int | None,
                on_ready: Any = None) -> list[Session]:
    """Connect the upstreams, serve until the client goes away (stdio) or the process is stopped."""
    import signal

    holder: dict[str, Sessions] = {}
    loop = asyncio.get_running_loop()

    async def changed(up: Upstream) -> None:
        async def refresh() -> None:
            await up.refresh_tools()
            gw = holder["sessions"].gateway
            before = len(gw.pin_events)
            gw.rebuild()
            await holder["sessions"].tools_changed(gw.pin_events[before:])
        loop.create_task(refresh())

    async with AsyncExitStack() as stack:
        upstreams = await connect_upstreams(stack, specs, timeout_s, changed)
        sessions = Sessions(make_gateway(upstreams), single=http_port is None)
        holder["sessions"] = sessions
        server = build_server(sessions)
        if on_ready is not None:
            on_ready(sessions.gateway)

        def stop(signum: int) -> None:
            import os

            sessions.close_all(f"the gateway was stopped ({signal.Signals(signum).name})")
            sys.stderr.flush()
            os._exit(0)

        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(signum, stop, signum)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        if http_port is None:
            from mcp.server.lowlevel import NotificationOptions
            from mcp.server.stdio import stdio_server

            async with stdio_server() as (read_stream, write_stream):
                await server.run(read_stream, write_stream,
                                 server.create_initialization_options(NotificationOptions(tools_changed=True)))
        else:
            import uvicorn

            app = server.streamable_http_app(host="127.0.0.1")
            config = uvicorn.Config(app, host="127.0.0.1", port=http_port, log_level="warning", lifespan="on")
            await uvicorn.Server(config).serve()
        return sessions.close_all("the client disconnected" if http_port is None else "the gateway stopped")
