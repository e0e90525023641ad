"""What an agent receives: a task and a toolbox. See docs/agents.md."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.tools import CATALOGUE, export


class EnvironmentFailure(Exception):
    """Raise it from an agent when something outside the agent and the harness failed: the model
    endpoint answered 5xx, timed out or could not be reached. The run ends as ``error`` with cause
    ``environment``: it is not counted against the agent (gates count it under ``max_errors``)."""


@dataclass(frozen=True)
class Task:
    """The instruction an agent is given, with the scenario's inputs."""

    instruction: str
    inputs: dict = field(default_factory=dict)
    scenario: str = ""
    workflow: str = ""
    seed: int = 0


class Toolbox:
    """The agent's only way to act. Every call goes through the gateway.

    ``call`` returns plain data: ``{"ok": True, "result": ...}`` (with ``"status": "suggested"`` or
    ``"planned"`` when the stage holds writes back), or ``{"ok": False, "error": code, "message": ...}``.
    """

    def __init__(self, gateway: Any, audit: Any = None):
        self._gateway = gateway
        self._audit = audit
        self.answer: str | None = None
        """The last message the agent addressed to the user (``say``): its answer, for scoring."""

    def call(self, tool: str, /, rationale: str | None = None, **args: Any) -> dict:
        """Call ``tool`` with keyword arguments; ``rationale`` says why (it goes to the audit log)."""
        return self._gateway.call(tool, args, rationale)

    async def acall(self, tool: str, /, rationale: str | None = None, **args: Any) -> dict:
        """The same as :meth:`call`, for async agents."""
        return self._gateway.call(tool, args, rationale)

    def call_json(self, tool: str, args: dict | None, rationale: str | None = None) -> dict:
        """Call with an argument mapping (for adapters that receive JSON tool calls)."""
        return self._gateway.call(tool, args if isinstance(args, dict) else {"__invalid__": args}, rationale)

    def think(self, text: str) -> None:
        """Record free-form reasoning in the audit log."""
        if self._audit is not None:
            self._audit.append("agent_message", {"kind": "reasoning", "text": str(text)})

    def say(self, text: str) -> None:
        """Record a message the agent addresses to the user; the last one is its answer."""
        self.answer = str(text)
        if self._audit is not None:
            self._audit.append("agent_message", {"kind": "message", "text": str(text)})

    @property
    def names(self) -> list[str]:
        return list(CATALOGUE)

    def specs(self, fmt: str = "openai") -> Any:
        return export(fmt)


AgentCallable = Callable[[Task, Toolbox], None | Awaitable[None]]


class AgentProvider(Protocol):
    """Something ``--agent`` names: knows its name and version and makes an agent per run."""

    name: str
    version: str

    def bind(self, scenario: Any, seed: int) -> AgentCallable: ...


@dataclass
class CallableProvider:
    """Wraps a user's callable ``agent(task, tools)`` (sync or async)."""

    fn: AgentCallable
    name: str
    version: str
    trusted: bool = False
    """False: the runner gives an async agent its own thread and event loop (see ``harness.runner``)."""

    def bind(self, scenario: Any, seed: int) -> AgentCallable:
        return self.fn


def is_async(fn: Any) -> bool:
    method = type(fn).__call__ if callable(fn) and not isinstance(fn, type) else None
    return asyncio.iscoroutinefunction(fn) or asyncio.iscoroutinefunction(method)
