"""Replay a recorded session: from the scenario's ``sessions`` or from a run's audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.agents._api import Task, Toolbox


class ReplayProvider:
    """Options: ``session=K`` (index into the scenario's recorded sessions; default: trial modulo
    their number) or ``log=PATH`` (an audit log: its tool calls are replayed in order)."""

    name = "replay"

    def __init__(self, **options: Any):
        self.session = options.pop("session", None)
        self.log = options.pop("log", None)
        if options:
            raise ValueError(f"unknown option(s) {', '.join(options)}; options are session and log")
        if self.session is not None:
            try:
                self.session = int(self.session)
            except ValueError:
                raise ValueError(f"option session must be an integer, got {self.session!r}") from None
        self.calls_from_log: list[tuple[str, dict, str | None]] | None = None
        if self.log is not None:
            path = Path(self.log)
            if not path.is_file():
                raise ValueError(f"option log: no such file {path}")
            self.calls_from_log = []
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    raise ValueError(f"option log: {path} is not a JSON Lines audit log") from None
                if event.get("type") == "tool_call":
                    p = event.get("payload", {})
                    self.calls_from_log.append((p.get("tool", ""), p.get("args") or {}, p.get("rationale")))
        self.version = "1" + (f"+log={Path(self.log).name}" if self.log else "")

    def bind(self, scenario: Any, seed: int):
        if self.calls_from_log is not None:
            calls = self.calls_from_log
        else:
            sessions = scenario.sessions
            if not sessions:
                calls = []
            else:
                index = self.session if self.session is not None else seed % len(sessions)
                calls = [(c.tool, dict(c.args), c.rationale) for c in sessions[index % len(sessions)]]

        async def replay(task: Task, tools: Toolbox) -> None:
            if not calls:
                tools.think("no recorded session for this scenario")
            for tool, args, why in calls:
                tools.call_json(tool, dict(args), why)

        return replay
