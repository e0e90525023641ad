"""The agent worker process: runs a user's agent, reaching the harness only through a narrow channel.

Started by ``harness.agents._isolated`` as ``python -m harness.agents._worker SPEC``. It holds no
world, gateway, ledger, audit log or key: its toolbox turns each call into one JSON line on the
channel (the process's original stdout) and waits for the harness's reply on stdin. The agent's own
prints go to stderr, so they cannot forge a message. Every ``BaseException`` the agent raises
(``SystemExit``, ``KeyboardInterrupt``, ``CancelledError`` …) is reported as the run's error and the
worker carries on with the next run.

Messages, one JSON object per line:
  harness → worker: ``{"op": "run", "task": {...}, "scenario": {...}, "seed": n}``, ``{"op": "reply", "value": ...}``
  worker → harness: ``{"op": "ready", "name", "version"}`` or ``{"op": "fail", "message"}`` at start;
  ``{"op": "call", "tool", "args", "rationale"}``, ``{"op": "note", "kind", "text"}``,
  ``{"op": "done"}`` or ``{"op": "error", "type", "message"}`` per run.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any


class ChannelClosed(Exception):
    """The harness ended the run (time or step limit) or went away."""


class Channel:
    def __init__(self, rfile: Any, wfile: Any) -> None:
        self._r, self._w = rfile, wfile

    def send(self, message: dict) -> None:
        self._w.write(json.dumps(message, ensure_ascii=False, default=repr).encode("utf-8") + b"\n")
        self._w.flush()

    def receive(self) -> dict:
        line = self._r.readline()
        if not line:
            raise ChannelClosed("the harness closed the channel")
        return json.loads(line)


class RemoteToolbox:
    """The same interface as ``harness.agents.Toolbox``; every call crosses the channel."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    def _call(self, tool: Any, args: Any, rationale: Any) -> dict:
        self._channel.send({"op": "call", "tool": tool, "args": args,
                            "rationale": None if rationale is None else str(rationale)})
        reply = self._channel.receive()
        if reply.get("op") == "stopped":
            raise ChannelClosed(reply.get("message") or "the run was stopped")
        return reply.get("value")

    def call(self, tool: str, /, rationale: str | None = None, **args: Any) -> dict:
        return self._call(tool, args, rationale)

    async def acall(self, tool: str, /, rationale: str | None = None, **args: Any) -> dict:
        return self._call(tool, args, rationale)

    def call_json(self, tool: str, args: dict | None, rationale: str | None = None) -> dict:
        return self._call(tool, args if isinstance(args, dict) else {"__invalid__": args}, rationale)

    def think(self, text: str) -> None:
        self._channel.send({"op": "note", "kind": "reasoning", "text": str(text)})

    def say(self, text: str) -> None:
        self._channel.send({"op": "note", "kind": "message", "text": str(text)})

    @property
    def names(self) -> list[str]:
        from harness.tools import CATALOGUE

        return list(CATALOGUE)

    def specs(self, fmt: str = "openai") -> Any:
        from harness.tools import export

        return export(fmt)


def _run(provider: Any, channel: Channel, request: dict) -> None:
    from harness.agents._api import Task, is_async

    scenario = None
    if request.get("scenario") is not None:
        from harness.scenario import Scenario

        scenario = Scenario.model_validate(request["scenario"])
    task = Task(**request["task"])
    toolbox = RemoteToolbox(channel)
    agent = provider.bind(scenario, request["seed"])
    if is_async(agent):
        asyncio.run(agent(task, toolbox))
    else:
        result = agent(task, toolbox)
        if asyncio.iscoroutine(result):
            asyncio.run(result)


def main(argv: list[str]) -> None:
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # the agent's prints go to stderr, never onto the channel
    sys.stdout = sys.stderr
    proto_in = os.fdopen(os.dup(0), "rb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    channel = Channel(proto_in, proto_out)
    spec, options, version = argv[0], json.loads(argv[1]), (argv[2] or None)
    try:
        from harness.agents._loader import load_agent

        provider = load_agent(spec, options, version)
    except BaseException as exc:  # noqa: BLE001 - reported to the harness as a bad --agent
        channel.send({"op": "fail", "message": getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}",
                      "field": getattr(exc, "field", None), "expected": getattr(exc, "expected", None)})
        return
    channel.send({"op": "ready", "name": str(provider.name), "version": str(provider.version)})
    while True:
        try:
            request = channel.receive()
        except ChannelClosed:
            return
        if request.get("op") != "run":
            continue
        try:
            _run(provider, channel, request)
        except ChannelClosed:
            return  # the harness stopped this run and will not read from us again
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt, CancelledError too
            from harness.agents._api import EnvironmentFailure

            try:
                channel.send({"op": "error", "type": type(exc).__name__, "message": str(exc)[:2000],
                              "environment": isinstance(exc, EnvironmentFailure)})
            except (OSError, ValueError):
                return
            continue
        channel.send({"op": "done"})


if __name__ == "__main__":
    main(sys.argv[1:])
