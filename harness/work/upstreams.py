"""The real tools: MCP clients (official ``mcp`` SDK) to upstream servers, stdio commands or HTTP URLs.

``--upstream NAME=COMMAND ARGS...`` starts a stdio server; ``--upstream NAME=https://host/mcp`` speaks
streamable HTTP. A crash, a hang (the per-call timeout) or garbage from an upstream becomes an
``UpstreamError``: the agent is told clearly and the session records an environment error, never an
agent mistake.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from harness.errors import UsageError

_ANSWERS = (-32602, -32601, -32600)  # invalid params, method not found, invalid request
_TIMEOUT, _CLOSED = -32001, -32000
START_TIMEOUT_S = 30.0
"""Time an upstream gets to start and list its tools (interpreters start slowly on a loaded machine)."""
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,30}$")


class UpstreamError(Exception):
    """An upstream did not give a usable answer (exited, hung, spoke garbage, refused to start)."""


class UpstreamRefused(Exception):
    """The upstream answered the call with a protocol error (e.g. invalid arguments): its answer, not a fault."""


@dataclass(frozen=True)
class UpstreamSpec:
    name: str
    command: list[str] | None = None
    url: str | None = None

    @property
    def text(self) -> str:
        return self.url or shlex.join(self.command or [])

    def to_dict(self) -> dict[str, Any]:
        return {"command": self.command} if self.command else {"url": self.url}

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> UpstreamSpec:
        return cls(name=name, command=data.get("command"), url=data.get("url"))


def parse_spec(text: str) -> UpstreamSpec:
    """``NAME=COMMAND ARGS...`` or ``NAME=http(s)://...``; UsageError (exit 2) otherwise."""
    expected = ("NAME=COMMAND ARGS... or NAME=https://host/mcp, "
                "e.g. fs='npx -y @modelcontextprotocol/server-filesystem /srv'")
    name, sep, rest = text.partition("=")
    name, rest = name.strip(), rest.strip()
    if not sep or not rest:
        raise UsageError(f"--upstream {text!r} does not name the upstream.", field="--upstream", expected=expected)
    if not _NAME.match(name):
        raise UsageError(f"--upstream {text!r}: the name {name!r} must be a letter then letters, digits or "
                         "dashes (at most 31): it prefixes the tool names the agent sees.", field="--upstream",
                         expected=expected)
    if re.match(r"^https?://", rest):
        return UpstreamSpec(name=name, url=rest)
    try:
        command = shlex.split(rest)
    except ValueError as exc:
        raise UsageError(f"--upstream {text!r}: the command cannot be split ({exc}).", field="--upstream",
                         expected=expected) from None
    return UpstreamSpec(name=name, command=command)


def definition_of(tool: Any) -> dict[str, Any]:
    """What is pinned of a tool: its name, description and input schema."""
    return {"name": tool.name, "description": tool.description or "", "inputSchema": tool.input_schema or {}}


def definition_hash(definition: dict[str, Any]) -> str:
    data = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


@dataclass
class Upstream:
    """One connected upstream. ``on_tools_changed`` runs when it announces tools/list_changed."""

    spec: UpstreamSpec
    timeout_s: float
    on_tools_changed: Callable[[Upstream], Awaitable[None]] | None = None
    target: Any = None
    """An in-process ``mcp`` server to talk to instead of ``spec`` (tests, benchmarks)."""
    client: Any = None
    down: str | None = None
    garbage: list[str] = field(default_factory=list)
    tools: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    async def connect(self, stack: AsyncExitStack) -> None:
        from mcp import Client
        from mcp.client.stdio import StdioServerParameters

        target: Any
        if self.target is not None:
            target = self.target
        elif self.spec.url:
            target = self.spec.url
        else:
            command = self.spec.command or []
            target = StdioServerParameters(command=command[0], args=command[1:])
        client = Client(target, cache=None, mode="legacy", read_timeout_seconds=max(self.timeout_s, START_TIMEOUT_S),
                        message_handler=self._on_message)
        try:  # the initialize request is bounded by read_timeout_seconds
            self.client = await stack.enter_async_context(client)
        except BaseException as exc:  # noqa: BLE001 - anything at start is the upstream's fault, said clearly
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise UpstreamError(f"the upstream {self.name} ({self.spec.text}) did not start as an MCP server: "
                                f"{_describe(exc)}") from None
        await self.refresh_tools()

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, Exception):
            self.garbage.append(_describe(message)[:200])
            return
        inner = getattr(message, "root", message)
        if type(inner).__name__ == "ToolListChangedNotification" and self.on_tools_changed is not None:
            await self.on_tools_changed(self)

    async def refresh_tools(self) -> dict[str, Any]:
        result = await self._guard("tools/list", self.client.list_tools(), max(self.timeout_s, START_TIMEOUT_S))
        self.tools = {t.name: t for t in result.tools}
        return self.tools

    async def call(self, tool: str, arguments: dict[str, Any], timeout_s: float | None = None) -> Any:
        """The upstream's CallToolResult; UpstreamError when it gave none."""
        timeout = timeout_s or self.timeout_s
        return await self._guard(f"the call to {tool}",
                                 self.client.call_tool(tool, arguments, read_timeout_seconds=timeout), timeout)

    async def _guard(self, what: str, awaitable: Any, timeout_s: float | None = None) -> Any:
        import anyio
        from mcp.shared.exceptions import MCPError

        if self.down:
            awaitable.close()
            raise UpstreamError(f"the upstream {self.name} is down ({self.down}); restart the gateway.")
        try:
            with anyio.fail_after((timeout_s or self.timeout_s) + 0.5):
                return await awaitable
        except TimeoutError:
            noise = f"; it wrote something that is not MCP: {self.garbage[-1]}" if self.garbage else ""
            raise UpstreamError(f"the upstream {self.name} did not answer {what} within "
                                f"{timeout_s or self.timeout_s:g} s"
                                f"{noise}") from None
        except MCPError as exc:
            if exc.code in _ANSWERS:  # the upstream answered: the request itself was not acceptable
                raise UpstreamRefused(f"the upstream {self.name} refused {what}: {exc}") from None
            if exc.code == _TIMEOUT:
                noise = f"; it wrote something that is not MCP: {self.garbage[-1]}" if self.garbage else ""
                raise UpstreamError(f"the upstream {self.name} did not answer {what} within "
                                    f"{timeout_s or self.timeout_s:g} s{noise}") from None
            if exc.code == _CLOSED:
                self.down = f"it exited or closed the connection: {exc}"
            raise UpstreamError(f"the upstream {self.name} failed during {what}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - a crash, a closed pipe, a malformed answer
            text = _describe(exc)
            if any(s in text.lower() for s in ("closed", "broken", "eof", "end of stream", "connection")):
                self.down = f"it exited or closed the connection: {text}"
            raise UpstreamError(f"the upstream {self.name} failed during {what}: {text}") from None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
