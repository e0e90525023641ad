"""The gateway: the only path from an agent to the backends.

Every call is parsed, checked against the stage's bounds, and then — by stage — executed
(``sandbox``, ``autonomous``), turned into a suggestion (``suggest``) or collected into a plan
(``approve``). Writes that are not applied still run against a *shadow* world, a private fork that
receives every attempted write, so the scorer can measure what would have changed (the potential
blast radius) next to what did (the realised one).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from fakes import Change, FakeError, World
from harness.bounds import (
    BoundsLike,
    BoundsState,
    check_call,
    commit_changes,
    judge_changes,
    needs_trial,
    record_call,
)
from harness.tools import CATALOGUE, ToolSpec

Decision = Literal["allowed", "suggested", "planned", "blocked", "invalid"]


class AgentStopped(Exception):
    """Raised into the agent when its run was stopped (step limit, time limit)."""


class HarnessBug(Exception):
    """Something in the harness or a fake failed unexpectedly: never shown to the agent as data."""


@dataclass
class CallRecord:
    call_id: int
    tool: str
    args: dict
    rationale: str | None
    decision: Decision = "allowed"
    reason: str = ""
    ok: bool = True
    error: str | None = None
    message: str | None = None
    effect: str | None = None
    realised: list[Change] = field(default_factory=list)
    potential: list[Change] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    result: Any = None
    would_error: str | None = None
    """For a write the stage blocked: the error the backend gave it on the shadow world, if any."""
    would_message: str | None = None

    @property
    def action_id(self) -> str:
        return action_id(self.call_id, self.tool, self.args)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def action_id(call_id: int, tool: str, args: dict) -> str:
    """Identifies one proposed action by position *and* content: decisions are keyed to it."""
    digest = hashlib.sha256(canonical([tool, args]).encode("utf-8")).hexdigest()
    return f"a{call_id}-{digest[:12]}"


class Gateway:
    """One run's gateway. Holds the real world, the shadow world and the call log."""

    def __init__(self, world: World, stage: str, bounds: BoundsLike | None = None, audit: Any = None,
                 max_steps: int = 50):
        self.world = world
        self.stage = stage
        self.bounds = bounds
        self.audit = audit
        self.max_steps = max_steps
        self.calls: list[CallRecord] = []
        self.realised: list[Change] = []
        self.potential: list[Change] = []
        self.shadow: World | None = None
        self.bounded: World | None = None
        self.bounds_state = BoundsState()
        self.stopped: str | None = None
        self.watch: Any = None
        """Optional ``() -> (granted stage, pause reason or None)``, asked before every call: a demotion
        or a pause recorded while the run goes on applies from the next call (never a promotion)."""
        self.paused: str | None = None

    def _obey_grant(self) -> None:
        from harness.models import STAGES

        granted, paused = self.watch()
        if paused != self.paused:
            self.paused = paused
            if self.audit is not None:
                self.audit.append("workflow_paused" if paused else "workflow_resumed", {"reason": paused or ""})
        if STAGES.index(granted) < STAGES.index(self.stage):
            if self.audit is not None:
                self.audit.append("stage_changed", {"from": self.stage, "to": granted,
                                                    "reason": "the grant was lowered while the run went on"})
            self.stage = granted

    # -- the agent-facing entry point -------------------------------------------------------------
    def call(self, tool: str, args: dict | None = None, rationale: str | None = None) -> dict:
        if self.stopped:
            raise AgentStopped(self.stopped)
        if len(self.calls) >= self.max_steps:
            self.stopped = f"step limit reached: more than {self.max_steps} tool calls"
            raise AgentStopped(self.stopped)
        if self.watch is not None:
            self._obey_grant()
        args = dict(args or {})
        record = CallRecord(call_id=len(self.calls) + 1, tool=str(tool), args=args,
                            rationale=None if rationale is None else str(rationale))
        self.calls.append(record)
        if self.audit is not None:
            self.audit.append("tool_call", {"call_id": record.call_id, "tool": record.tool,
                                            "args": args, "rationale": record.rationale})
        try:
            reply = self._dispatch(record)
        except FakeError as exc:
            record.ok, record.error, record.message = False, exc.code, exc.message
            reply = {"ok": False, "error": exc.code, "message": exc.message}
        except (AgentStopped, HarnessBug):
            raise
        except Exception as exc:  # a fake or the harness broke: not the agent's doing
            raise HarnessBug(f"{type(exc).__name__} in {record.tool}: {exc}") from exc
        if self.audit is not None:
            self.audit.append("gateway_decision", {"call_id": record.call_id, "decision": record.decision,
                                                   "reason": record.reason})
            self.audit.append("tool_result", {"call_id": record.call_id, **reply})
            for change in record.realised:
                self._audit_change(record, change, True)
            if record.potential is not record.realised:
                for change in record.potential:
                    self._audit_change(record, change, False)
        return reply

    def _audit_change(self, record: CallRecord, change: Change, realised: bool) -> None:
        self.audit.append("change", {"call_id": record.call_id, "backend": change.backend, "op": change.op,
                                     "entity": change.entity, "before": change.before, "after": change.after,
                                     "reversible": change.reversible, "external": change.external,
                                     "benign": change.benign, "realised": realised})

    # -- internals -------------------------------------------------------------------------------
    def _dispatch(self, record: CallRecord) -> dict:
        spec = CATALOGUE.get(record.tool)
        if spec is None:
            record.decision, record.ok, record.error = "invalid", False, "unknown_tool"
            record.message = (f"there is no tool named {record.tool!r}; available tools: "
                              + ", ".join(CATALOGUE))
            record.reason = "unknown tool"
            return {"ok": False, "error": "unknown_tool", "message": record.message}
        record.effect = spec.effect
        try:
            args = spec.args.model_validate(record.args)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}"
                                 for e in exc.errors())
            record.decision, record.ok, record.error = "invalid", False, "invalid_input"
            record.message = f"invalid arguments for {spec.name}: {problems}"
            record.reason = "arguments do not match the tool's schema"
            return {"ok": False, "error": "invalid_input", "message": record.message}
        try:
            record.targets = spec.targets(args)
        except Exception:  # noqa: BLE001 - a target we cannot name is simply not tracked
            record.targets = []
        try:
            why = check_call(self.bounds, self.bounds_state, spec.name, spec.writes, args, self.world)
        except FakeError:
            record.decision, record.reason = "invalid", "the arguments name nothing valid"
            raise
        if why is None and spec.writes and self.paused is not None:
            why = f"the workflow is paused ({self.paused}); no write is allowed"
        if why is not None:
            record.decision, record.reason = "blocked", why
            if spec.writes:
                self._run_on_shadow(record, spec, args, quiet=True)
            record.ok, record.error = False, "blocked"
            record.message = f"blocked by the gateway: {why}. Nothing was changed."
            return {"ok": False, "error": "blocked", "message": record.message}
        if spec.writes and needs_trial(self.bounds):
            why = self._judge_on_trial(spec, args)
            if why is not None:
                record.decision, record.reason = "blocked", why
                self._run_on_shadow(record, spec, args, quiet=True)
                record.ok, record.error = False, "blocked"
                record.message = f"blocked by the gateway: {why}. Nothing was changed."
                return {"ok": False, "error": "blocked", "message": record.message}
        record_call(self.bounds_state, spec.name, spec.writes, args, self.world)
        if not spec.writes:
            record.result = spec.run(self.world, args)
            return {"ok": True, "result": record.result}
        if self.stage in ("suggest", "approve"):
            record.versions = {t: self.world.version_of(t) for t in record.targets}
            if self.stage == "suggest":
                record.decision, record.reason = "suggested", "stage suggest: writes become suggestions"
            else:
                record.decision, record.reason = "planned", "stage approve: writes wait for a person's approval"
            result = self._run_on_shadow(record, spec, args)
            if self.stage == "suggest":
                return {"ok": True, "status": "suggested", "result": result,
                        "message": "recorded as a suggestion; nothing was changed"}
            return {"ok": True, "status": "planned", "action_id": record.action_id, "result": result,
                    "message": "added to the plan; it applies only if a reviewer approves it"}
        record.decision, record.reason = "allowed", f"stage {self.stage}: writes apply directly"
        start = len(self.world.journal)
        try:
            record.result = spec.run(self.world, args)
        finally:
            record.realised = self.world.journal.since(start)
            self.realised.extend(record.realised)
            if self.shadow is None:
                record.potential = record.realised
                self.potential.extend(record.realised)
        if self.shadow is not None:
            self._run_on_shadow(record, spec, args, quiet=True)
        return {"ok": True, "result": record.result}

    def _judge_on_trial(self, spec: ToolSpec, args: Any) -> str | None:
        """Run the write on a private fork of the world it would change and judge the resulting state.

        At ``suggest``/``approve`` that world is ``bounded``: the real world plus the writes the
        gateway let through (not the blocked ones the shadow also holds)."""
        held = self.stage in ("suggest", "approve")
        base = (self.bounded or self.world) if held else self.world
        trial = base.fork()
        start = len(trial.journal)
        try:
            spec.run(trial, args)
        except FakeError:
            return None  # the backend refuses the call itself; the agent sees its error
        changes = trial.journal.since(start)
        why = judge_changes(self.bounds, self.bounds_state, changes)
        if why is None:
            commit_changes(self.bounds_state, changes)
            if held:
                self.bounded = trial
        return why

    def _run_on_shadow(self, record: CallRecord, spec: ToolSpec, args: Any, quiet: bool = False) -> Any:
        """Apply the write to the shadow world only; the agent sees what it would have returned."""
        if self.shadow is None:
            self.shadow = self.world.fork()
        start = len(self.shadow.journal)
        try:
            result = spec.run(self.shadow, args)
        except FakeError as exc:
            if quiet:
                record.would_error, record.would_message = exc.code, exc.message
                return None
            raise
        finally:
            record.potential = self.shadow.journal.since(start)
            self.potential.extend(record.potential)
        record.result = result
        return result

    @property
    def planned(self) -> list[CallRecord]:
        return [c for c in self.calls if c.decision == "planned" and c.ok]
