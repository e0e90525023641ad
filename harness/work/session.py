"""One agent session at work: every call classified, judged at the granted stage, audited, recorded.

The grant is read from the ledger at every call, so a demotion, a pause or an incident takes effect
at the next call. A ledger that cannot be read means fail closed: nothing reaches an upstream. Each
call's audit events are flushed before the reply goes back, so killing the gateway loses no event
the agent was answered for.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from harness.work.decide import Counters, Decision, decide
from harness.work.toolmap import ArgumentError, ToolRule, probe_arguments
from harness.work.upstreams import Upstream, UpstreamError, UpstreamRefused

MAX_LOGGED = 4000
COUNTS_EVERY_S = 1.0
"""How often a session's counters are written to the ledger (and at its end)."""


@dataclass
class ExposedTool:
    name: str
    upstream: Upstream
    tool: str
    rule: ToolRule


def read_grant(ledger: Any, workflow: str, agent: str, version: str) -> dict[str, Any]:
    """The stage granted to ``agent@version`` and the workflow's pause, read at every call."""
    return ledger.grant(workflow, agent, version)


class GrantReader:
    """Reads the grant at every call, cheaply: on a SQLite ledger it first asks the database whether anything
    was committed since the last read (``PRAGMA data_version`` on a connection of its own, a few µs) and
    reads the grant again only then, or when a second has passed (grants can expire with time)."""

    def __init__(self, ledger: Any, workflow: str, agent: str, version: str, max_age_s: float = 1.0):
        import sqlite3
        import time

        self.ledger, self.args = ledger, (workflow, agent, version)
        self.max_age_s, self._clock = max_age_s, time.monotonic
        self.raw = None
        self.cached: tuple[int, float, dict[str, Any]] | None = None
        url = getattr(getattr(ledger, "engine", None), "url", None)
        if url is not None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            try:
                self.raw = sqlite3.connect(f"file:{url.database}?mode=ro", uri=True, check_same_thread=False)
            except sqlite3.Error:
                self.raw = None

    def read(self) -> dict[str, Any]:
        if self.raw is None:
            return read_grant(self.ledger, *self.args)
        version = self.raw.execute("PRAGMA data_version").fetchone()[0]  # before the read: nothing slips by
        now = self._clock()
        if self.cached is not None and self.cached[0] == version and now - self.cached[1] < self.max_age_s:
            return self.cached[2]
        grant = read_grant(self.ledger, *self.args)
        self.cached = (version, now, grant)
        return grant


def result_text(result: Any) -> str:
    parts = [getattr(c, "text", None) or f"<{getattr(c, 'type', 'content')}>" for c in result.content or []]
    return "\n".join(parts)


def state_digest(result: Any) -> str:
    data = json.dumps([c.model_dump(mode="json") for c in result.content or []], sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()


class Gateway:
    """What every session of one ``harness gateway serve`` shares: upstreams, tool map, pins, ledger."""

    def __init__(self, *, workflow: str, agent: str, version: str, policy: Any, ledger: Any,
                 upstreams: dict[str, Upstream], pins: Any, audit_dir: Any, audit_key: bytes | None):
        self.workflow, self.agent, self.version = workflow, agent, version
        self.policy = policy
        self.tool_map: dict[str, dict[str, ToolRule]] = policy.workflow(workflow).tools
        self.ledger = ledger
        self.upstreams = upstreams
        self.pins = pins
        self.audit_dir = audit_dir
        self.audit_key = audit_key
        self.exposed: dict[str, ExposedTool] = {}
        self.pin_events: list[dict[str, Any]] = []
        self.grants = GrantReader(ledger, workflow, agent, version)
        self.rebuild()

    def rebuild(self) -> None:
        exposed = {}
        for up in self.upstreams.values():
            rules = self.tool_map.get(up.name, {})
            self.pin_events += self.pins.check(up.name, up.tools, set(rules))
            for tool in up.tools:
                if tool in rules:
                    exposed[f"{up.name}_{tool}"] = ExposedTool(f"{up.name}_{tool}", up, tool, rules[tool])
        self.exposed = exposed

    def unclassified(self) -> list[str]:
        return [f"{up.name}/{t}" for up in self.upstreams.values() for t in up.tools
                if t not in self.tool_map.get(up.name, {})]

    def listed_tools(self) -> list[dict[str, Any]]:
        out = []
        for name, ex in sorted(self.exposed.items()):
            if self.pins.why_blocked(ex.upstream.name, ex.tool):
                continue
            definition = ex.upstream.tools[ex.tool]
            out.append({"name": name, "description": (f"[{ex.rule.effect}; via {ex.upstream.name}] "
                                                      + (definition.description or "")),
                        "inputSchema": definition.input_schema or {"type": "object"}})
        return out

    def grant(self) -> dict[str, Any]:
        return self.grants.read()


class Session:
    """One client connection: its audit log, its session row, its plan, its bounds counters."""

    def __init__(self, gateway: Gateway, stage_at_start: str = "unknown"):
        from harness.audit import AuditLog

        self.gw = gateway
        self.id = f"ses-{uuid.uuid4().hex[:16]}"
        self.counters = Counters()
        self.plan: dict[str, Any] | None = None
        self.calls = 0
        self.audit_path = gateway.audit_dir / f"{self.id}.jsonl"
        self.audit = AuditLog(self.audit_path, self.id, key=gateway.audit_key, flush_every=1_000_000)
        upstreams = {n: u.spec.to_dict() for n, u in gateway.upstreams.items()}
        gateway.ledger.open_session({"id": self.id, "workflow": gateway.workflow, "agent": gateway.agent,
                                     "agent_version": gateway.version, "stage_at_start": stage_at_start,
                                     "upstreams": upstreams, "audit_path": str(self.audit_path)})
        self.audit.append("run_started", {"session": self.id, "source": "production", "workflow": gateway.workflow,
                                          "scenario": "(a session at work)", "stage": stage_at_start,
                                          "instruction": f"work through harness gateway serve {gateway.workflow}",
                                          "agent": gateway.agent, "agent_version": gateway.version,
                                          "stage_at_start": stage_at_start, "upstreams": upstreams,
                                          "pins": gateway.pin_events})
        self.audit.flush()
        self.closed = False

    # -- a call -----------------------------------------------------------------------------------
    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """The reply for the agent: ``{"result": CallToolResult}`` (forwarded) or ``{"payload": dict}``."""
        self.calls += 1
        n = self.calls
        self.audit.append("tool_call", {"call_id": n, "tool": name, "args": arguments})
        try:
            reply, record = await self._handle(name, arguments)
        except Exception as exc:  # noqa: BLE001 - a harness bug: logged and refused, never forwarded blind
            reply = {"payload": _refusal(f"the gateway failed on this call ({type(exc).__name__}); nothing was "
                                         "forwarded.", "harness")}
            record = {"decision": "refused", "cause": "harness", "reason": repr(exc)[:300]}
        after = record.pop("after", [])
        self.audit.append("gateway_decision", {"call_id": n, "tool": name, **record})
        self.audit.append("tool_result", {"call_id": n, "tool": name, **_logged(reply)})
        for kind, payload in after:
            self.audit.append(kind, payload)
        self.audit.flush()  # before the reply goes back: an acknowledged call is on disk
        self._count(record)
        return reply

    async def _handle(self, name: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        ex = self.gw.exposed.get(name)
        if ex is None:
            return self._unknown(name)
        blocked = self.gw.pins.why_blocked(ex.upstream.name, ex.tool)
        if blocked:
            return _refused(f"the tool {name} is blocked: {blocked}.", "policy")
        try:
            grant = self.gw.grant()
        except Exception as exc:  # noqa: BLE001 - any failure to read the ledger
            return _refused(f"the ledger cannot be read ({type(exc).__name__}: {str(exc)[:200]}), so the gateway "
                            "does not know the stage granted to this agent version; nothing is forwarded "
                            "(fail closed).", "environment")
        bounds = self.gw.policy.bounds_for(self.gw.workflow, grant["stage"])
        decision = decide(grant, ex.rule, arguments, bounds, self.counters, name)
        record = {"decision": decision.verdict if decision.verdict != "refuse" else "refused",
                  "stage": grant["stage"], "grant": grant.get("source"), "effect": decision.effect,
                  "upstream": ex.upstream.name, "upstream_tool": ex.tool, "reason": decision.reason,
                  "targets": decision.targets, "money": decision.money, "cause": decision.cause}
        if decision.verdict == "refuse":
            return {"payload": _refusal(decision.reason, decision.cause or "policy")}, record
        if decision.verdict == "forward":
            try:
                result = await ex.upstream.call(ex.tool, arguments)
            except UpstreamError as exc:
                record.update(decision="failed", cause="environment", reason=str(exc))
                return {"payload": _refusal(f"{exc}. Nothing is known to have changed; this is the environment's "
                                            "fault, not yours.", "environment")}, record
            except UpstreamRefused as exc:
                record.update(decision="forwarded", upstream_error=str(exc))
                return {"payload": _refusal(str(exc), "upstream")}, record
            if decision.effect != "read":
                self.counters.writes += 1
                self.counters.money += decision.money or 0.0
            record["decision"] = "forwarded"
            return {"result": result}, record
        probe = await self._probe(ex, arguments)
        self.counters.writes += 1
        self.counters.money += decision.money or 0.0
        if decision.verdict == "suggest":
            return self._suggest(ex, arguments, decision, probe, record)
        return self._plan(ex, arguments, decision, probe, record)

    def _unknown(self, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        for up in self.gw.upstreams.values():
            prefix = f"{up.name}_"
            if name.startswith(prefix) and name[len(prefix):] in up.tools:
                field = f"workflows.{self.gw.workflow}.tools.{up.name}.{name[len(prefix):]}"
                return _refused(f"the tool {name} is not classified by the policy, so it is refused (default deny). "
                                f"A person can classify it by adding `{field}` with an `effect` "
                                "(read, write, irreversible or external).", "policy")
        return _refused(f"there is no tool {name}; call tools/list for the tools this gateway offers.", "agent")

    async def _probe(self, ex: ExposedTool, arguments: dict[str, Any]) -> dict[str, Any] | None:
        """The target's current state, read through the rule's probe (for stale-plan checks)."""
        try:
            probe_args = probe_arguments(ex.rule, arguments)
        except ArgumentError as exc:
            return {"error": str(exc)}
        if probe_args is None or ex.rule.probe is None:
            return None
        try:
            result = await ex.upstream.call(ex.rule.probe.tool, probe_args)
        except (UpstreamError, UpstreamRefused) as exc:
            return {"tool": ex.rule.probe.tool, "arguments": probe_args, "error": str(exc)}
        return {"tool": ex.rule.probe.tool, "arguments": probe_args, "digest": state_digest(result),
                "excerpt": result_text(result)[:500], "is_error": bool(result.is_error)}

    def _suggest(self, ex, arguments, decision: Decision, probe, record):
        sid = f"sug-{uuid.uuid4().hex[:12]}"
        self.gw.ledger.add_suggestion({
            "id": sid, "session_id": self.id, "workflow": self.gw.workflow, "agent": self.gw.agent,
            "agent_version": self.gw.version, "tool": ex.name, "upstream": ex.upstream.name, "upstream_tool": ex.tool,
            "arguments": arguments, "effect": decision.effect, "targets": decision.targets, "money": decision.money,
            "probe": probe})
        record.update(decision="suggested", suggestion=sid)
        return {"payload": {"ok": True, "status": "suggested", "suggestion_id": sid,
                            "message": "Recorded as a suggestion for a person to judge; nothing was changed. "
                                       "Carry on as if it will be considered, and do not retry it."}}, record

    def _plan(self, ex, arguments, decision: Decision, probe, record):
        from harness.work.plans import add_item

        self.plan, item = add_item(self.gw, self, ex, arguments, decision, probe)
        record.update(decision="planned", plan_id=self.plan["id"], action_id=item["action_id"])
        record["after"] = [("plan_created", {"plan_id": self.plan["id"], "session": self.id,
                                             "items": self.plan["items"]})] if item["index"] == 1 else []
        return {"payload": {"ok": True, "status": "planned", "plan_id": self.plan["id"],
                            "action_id": item["action_id"],
                            "message": "Added to this session's plan; nothing was changed. It is applied only if "
                                       "a person approves it (harness plan approve)."}}, record

    def _count(self, record: dict[str, Any]) -> None:
        decision = record.get("decision")
        add = {"calls": 1}
        if decision == "forwarded":
            add["forwarded_writes" if record.get("effect") not in (None, "read") else "forwarded_reads"] = 1
        elif decision == "refused":
            add["refused"] = 1
        elif decision == "suggested":
            add["suggestions"] = 1
        elif decision == "planned":
            add["planned"] = 1
        elif decision == "failed":
            add["env_errors"] = 1
        if record.get("cause") == "environment" and decision == "refused":
            add["env_errors"] = 1
        import time

        self._pending = getattr(self, "_pending", {})
        for k, v in add.items():
            self._pending[k] = self._pending.get(k, 0) + v
        # the audit log (flushed per call) is the record; the session's counters follow within a second
        if time.monotonic() - getattr(self, "_flushed_at", 0.0) >= COUNTS_EVERY_S:
            self.flush_counts()

    def flush_counts(self) -> None:
        import time

        self._flushed_at = time.monotonic()
        pending, self._pending = getattr(self, "_pending", {}), {}
        if pending:
            try:
                self.gw.ledger.update_session(self.id, add=pending,
                                              plan_id=self.plan["id"] if self.plan else None)
            except Exception:  # noqa: BLE001 - the ledger is down: keep the counts for the next try
                for k, v in pending.items():
                    self._pending[k] = self._pending.get(k, 0) + v

    def close(self, why: str) -> None:
        if self.closed:
            return
        self.closed = True
        from harness.ledger._time import utcnow

        self.audit.append("run_finished", {"session": self.id, "ended_because": why, "calls": self.calls,
                                           "outcome": "session closed",
                                           "plan_id": self.plan["id"] if self.plan else None})
        head = self.audit.close()
        self.flush_counts()
        try:
            self.gw.ledger.update_session(self.id, status="closed", ended_at=utcnow(), audit_head=head)
        except Exception:  # noqa: BLE001 - recorded in the audit log; the ledger may be down
            pass


def _refusal(message: str, cause: str) -> dict[str, Any]:
    return {"ok": False, "error": "refused" if cause in ("policy", "agent") else f"{cause}_error",
            "cause": cause, "message": message}


def _refused(message: str, cause: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"payload": _refusal(message, cause)}, {"decision": "refused", "cause": cause, "reason": message}


def _logged(reply: dict[str, Any]) -> dict[str, Any]:
    if "payload" in reply:
        return dict(reply["payload"])
    result = reply["result"]
    text = result_text(result)
    return {"ok": not result.is_error, "result": text[:MAX_LOGGED], "truncated": len(text) > MAX_LOGGED}
