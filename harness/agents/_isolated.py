"""User agents out of process: the harness side of the worker channel (``harness.agents._worker``).

A ``module:attribute`` agent runs in a worker process started with a fresh interpreter (never a fork
of the harness: the world, the ledger, the audit keys and the base worlds are not in its memory), an
environment without ``HARNESS_*`` variables, and only a pipe to the harness. Each tool call arrives
as one message, goes through the run's real toolbox (the gateway, the audit log) and the reply goes
back. A worker serves one run at a time and is reused for the next; a worker whose run hit the time
or step limit is killed (a blocked event loop cannot stop that), and one that died is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import sys
from typing import Any

from harness.errors import UnknownAgent

_LIMIT = 64 * 1024 * 1024
"""Largest message on the channel (a tool call's arguments)."""


class AgentFailed(Exception):
    """The agent raised (in its process) or its process died; the run ends as ``error``."""


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    paths = [p for p in sys.path if p] + [os.getcwd()]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


class _Worker:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def send(self, message: dict) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message, ensure_ascii=False, default=str).encode("utf-8") + b"\n")
        await self.proc.stdin.drain()

    async def receive(self) -> dict:
        assert self.proc.stdout is not None
        try:
            line = await self.proc.stdout.readline()
        except (ValueError, asyncio.LimitOverrunError):
            raise AgentFailed(f"the agent sent a message over {_LIMIT // 2**20} MiB") from None
        if not line:
            code = await self.proc.wait()
            raise AgentFailed(f"the agent's process exited (status {code}) during the run")
        try:
            message = json.loads(line)
        except ValueError:
            raise AgentFailed("the agent's process sent something that is not a message") from None
        if not isinstance(message, dict):
            raise AgentFailed("the agent's process sent something that is not a message")
        return message

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()

    async def discard(self) -> None:
        """Kill the process and wait for it, so its pipes close inside the event loop."""
        self.kill()
        with contextlib.suppress(Exception):
            await asyncio.shield(self.proc.wait())


async def _start(spec: str, options: dict, version: str | None) -> tuple[_Worker, dict]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "harness.agents._worker", spec, json.dumps(options), version or "",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=_environment(), limit=_LIMIT)
    worker = _Worker(proc)
    try:
        hello = await worker.receive()
    except AgentFailed:
        hello = {"op": "fail", "message": "the agent's process exited while loading the agent"}
    return worker, hello


class IsolatedProvider:
    """``--agent module:attr`` run in worker processes. ``name``/``version`` come from the worker."""

    trusted = True  # the coroutine the runner awaits is the harness's own; the agent is elsewhere

    def __init__(self, spec: str, options: dict | None = None, version: str | None = None):
        self.spec, self.options, self._version = spec, dict(options or {}), version
        self._idle: list[_Worker] = []
        hello = self._probe()
        if hello.get("op") != "ready":
            raise UnknownAgent(str(hello.get("message") or "the agent could not be loaded"),
                               field=hello.get("field") or "--agent", expected=hello.get("expected"))
        self.name, self.version = hello["name"], version or hello["version"]

    def _probe(self) -> dict:
        """Load the agent once in a worker, for its name and version (and a clear error if it is bad)."""
        import subprocess

        with subprocess.Popen([sys.executable, "-m", "harness.agents._worker", self.spec,
                               json.dumps(self.options), self._version or ""],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_environment()) as proc:
            assert proc.stdout is not None and proc.stdin is not None
            line = proc.stdout.readline()
            proc.stdin.close()
            proc.kill()
        try:
            hello = json.loads(line)
        except ValueError:
            hello = None
        if not isinstance(hello, dict):
            return {"op": "fail", "message": f"the agent {self.spec!r} could not be loaded: its process exited "
                                             f"(status {proc.returncode}) before it was ready"}
        return hello

    def __getstate__(self) -> dict:  # e.g. sent to Dask workers: processes do not travel
        state = dict(self.__dict__)
        state["_idle"] = []
        return state

    async def _acquire(self) -> _Worker:
        loop = asyncio.get_running_loop()
        while self._idle:
            worker = self._idle.pop()
            if worker.proc.returncode is None and getattr(worker, "loop", None) is loop:
                return worker
            worker.kill()
        worker, hello = await _start(self.spec, self.options, self._version)
        if hello.get("op") != "ready":
            await worker.discard()
            raise AgentFailed(f"the agent could not be loaded: {hello.get('message')}")
        worker.loop = loop  # type: ignore[attr-defined]
        return worker

    def bind(self, scenario: Any, seed: int):
        provider = self

        async def isolated(task: Any, toolbox: Any) -> None:
            worker = await provider._acquire()
            reusable = False
            try:
                await worker.send({"op": "run", "task": dataclasses.asdict(task), "seed": seed,
                                   "scenario": scenario.model_dump(mode="json") if scenario is not None else None})
                reusable = await _serve(worker, toolbox)
            finally:
                if reusable:
                    provider._idle.append(worker)
                else:  # its run was stopped, or it failed: it may be stuck, so it goes
                    await worker.discard()

        return isolated

    async def aclose(self) -> None:
        """Stop the idle workers (at the end of a suite, inside its event loop)."""
        idle, self._idle = self._idle, []
        for worker in idle:
            await worker.discard()


async def _serve(worker: _Worker, toolbox: Any) -> bool:
    """Answer the agent's calls until its run ends. True when the worker can serve another run."""
    while True:
        message = await worker.receive()
        op = message.get("op")
        if op == "call":
            tool = message.get("tool")
            reply = toolbox.call_json(tool if isinstance(tool, str) else str(tool), message.get("args"),
                                      message.get("rationale"))
            await worker.send({"op": "reply", "value": reply})
        elif op == "note":
            (toolbox.say if message.get("kind") == "message" else toolbox.think)(str(message.get("text", "")))
        elif op == "done":
            return True
        elif op == "error":
            if message.get("environment"):  # e.g. its model endpoint is down: not the agent's mistake
                from harness.agents._api import EnvironmentFailure

                raise EnvironmentFailure(str(message.get("message")))
            raise AgentFailed(f"the agent raised {message.get('type')}: {message.get('message')}")
        else:
            raise AgentFailed(f"the agent's process sent an unknown message {str(op)[:40]!r}")
