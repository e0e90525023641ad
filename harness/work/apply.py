"""Applying a plan made at work: exactly the approved items, exactly once, never blind after a crash.

Before any item is forwarded, each approved item's probe is read again: a target whose state changed
since the agent proposed the write makes the whole plan stale, and nothing is applied. Then, item by
item, an ``intent`` is committed to the ledger's journal *before* the call is forwarded and its
outcome after. A crash between the two leaves an intent without an outcome: the next ``resume``
marks it ``unknown`` and leaves it for a person (``harness plan settle``) instead of repeating it.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

from harness.errors import PlanRefused, UsageError
from harness.work.session import result_text, state_digest
from harness.work.upstreams import Upstream, UpstreamError, UpstreamRefused, UpstreamSpec

FINISHED = ("done", "failed")


def _audit(plan: dict[str, Any], audit_dir: Any, key: bytes | None, what: str):
    from harness.audit import AuditLog

    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    return AuditLog(audit_dir / f"{plan['id']}-{what}-{stamp}.jsonl", plan["run_id"] or plan["id"], key=key,
                    flush_every=1_000_000)


async def _connect(stack: AsyncExitStack, ledger: Any, plan: dict[str, Any], items: list[dict[str, Any]],
                   timeout_s: float) -> dict[str, Upstream]:
    session = ledger.get_session(plan["run_id"])
    out = {}
    for name in sorted({i["upstream"] for i in items}):
        spec = session["upstreams"].get(name)
        if spec is None:
            raise UsageError(f"session {session['id']} recorded no upstream {name!r}; plan {plan['id']} cannot be "
                             "applied.")
        up = Upstream(UpstreamSpec.from_dict(name, spec), timeout_s)
        try:
            await up.connect(stack)
        except UpstreamError as exc:
            raise PlanRefused(f"{exc}. Nothing was applied; try again when the upstream is back.") from None
        out[name] = up
    return out


async def stale_items(upstreams: dict[str, Upstream], items: list[dict[str, Any]]) -> list[str]:
    """Why each item is stale: its target's state now differs from what the probe showed the agent."""
    stale = []
    for item in items:
        probe = item.get("probe")
        if not probe:
            continue
        if "digest" not in probe:
            stale.append(f"{item['action_id']}: the target's state could not be read when it was proposed "
                         f"({probe.get('error', 'no probe result')}), so it cannot be shown unchanged")
            continue
        try:
            now = await upstreams[item["upstream"]].call(probe["tool"], probe["arguments"])
        except (UpstreamError, UpstreamRefused) as exc:
            stale.append(f"{item['action_id']}: the target's state cannot be read now ({exc})")
            continue
        if state_digest(now) != probe["digest"]:
            targets = ", ".join(t["value"] for t in item.get("targets") or []) or item["tool"]
            stale.append(f"{item['action_id']} ({targets}) changed since the agent proposed it")
    return stale


def _unwrapped(fn):
    """The SDK's task groups wrap our errors in exception groups: give the caller the error itself."""
    import functools

    from harness.errors import HarnessError

    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except BaseExceptionGroup as group:
            leaves = [e for e in _leaves(group) if isinstance(e, HarnessError)]
            if leaves:
                raise leaves[0] from None
            raise
    return run


def _leaves(group: BaseException) -> list[BaseException]:
    if isinstance(group, BaseExceptionGroup):
        return [leaf for e in group.exceptions for leaf in _leaves(e)]
    return [group]


@_unwrapped
async def approve(ledger: Any, plan: dict[str, Any], chosen: list[dict[str, Any]], *, by: str, reason: str,
                  pace_s: float, timeout_s: float, audit_dir: Any, audit_key: bytes | None) -> dict[str, Any]:
    """Check the plan is fresh, record the decision, then forward the chosen items (see ``forward``)."""
    if plan["status"] != "pending":
        hint = (f" Finish applying it with `harness plan resume {plan['id']} --by NAME`."
                if plan["status"] in ("approved", "partially_approved") else "")
        raise PlanRefused(f"plan {plan['id']} is {plan['status']} already (decided by {plan['decided_by']}); a plan "
                          f"is decided once.{hint}")
    now = datetime.now(UTC).isoformat()
    async with AsyncExitStack() as stack:
        upstreams = await _connect(stack, ledger, plan, chosen, timeout_s)
        stale = await stale_items(upstreams, chosen)
        if stale:
            ledger.update_plan(plan["id"], plan["version"], status="stale", decided_by=by, decided_at=now,
                               reason="refused as stale: " + "; ".join(stale))
            log = _audit(plan, audit_dir, audit_key, "decision")
            log.append("plan_decided", {"plan_id": plan["id"], "decision": "stale", "by": by,
                                        "reason": "; ".join(stale)})
            log.close()
            raise PlanRefused(f"plan {plan['id']} is stale: {'; '.join(stale)}. Nothing was applied.",
                              expected="the agent to look again and propose a new plan")
        approved = [i["action_id"] for i in chosen]
        rejected = [i["action_id"] for i in plan["items"] if i["action_id"] not in approved]
        status = "approved" if not rejected else "partially_approved"
        decision = {"by": by, "reason": reason, "approved": approved, "rejected": rejected,
                    "approved_items": [i["index"] for i in chosen]}
        plan = ledger.update_plan(plan["id"], plan["version"], status=status, decided_by=by, decided_at=now,
                                  reason=reason, decision=decision)
        log = _audit(plan, audit_dir, audit_key, "apply")
        log.append("plan_decided", {"plan_id": plan["id"], "decision": status, "by": by, "reason": reason,
                                    "approved_items": approved, "rejected_items": rejected})
        log.flush()
        return await forward(ledger, plan, upstreams, by=by, pace_s=pace_s, log=log)


@_unwrapped
async def resume(ledger: Any, plan: dict[str, Any], *, by: str, pace_s: float, timeout_s: float, audit_dir: Any,
                 audit_key: bytes | None) -> dict[str, Any]:
    """Continue an approved plan whose apply was interrupted; finished items are never forwarded again."""
    if plan["status"] not in ("approved", "partially_approved") or plan["applied_at"]:
        raise PlanRefused(f"plan {plan['id']} is {plan['status']}; only an approved plan that is not fully applied "
                          "can be resumed.")
    journal = ledger.journal(plan["id"])
    wanted = set((plan.get("decision") or {}).get("approved") or [])
    remaining = [i for i in plan["items"] if i["action_id"] in wanted and i["action_id"] not in journal]
    async with AsyncExitStack() as stack:
        upstreams = await _connect(stack, ledger, plan, remaining, timeout_s) if remaining else {}
        touched = {t["value"] for i in plan["items"] if i["action_id"] in journal for t in i.get("targets") or []}
        untouched = [i for i in remaining if not touched & {t["value"] for t in i.get("targets") or []}]
        stale = await stale_items(upstreams, untouched)
        if stale:
            raise PlanRefused(f"plan {plan['id']} cannot be resumed: {'; '.join(stale)}. Nothing more was applied; "
                              "settle the rest by hand.")
        log = _audit(plan, audit_dir, audit_key, "resume")
        return await forward(ledger, plan, upstreams, by=by, pace_s=pace_s, log=log)


async def forward(ledger: Any, plan: dict[str, Any], upstreams: dict[str, Upstream], *, by: str, pace_s: float,
                  log: Any) -> dict[str, Any]:
    wanted = (plan.get("decision") or {}).get("approved") or []
    items = [i for i in plan["items"] if i["action_id"] in wanted]
    journal = ledger.journal(plan["id"])
    report: dict[str, list[str]] = {"done": [], "failed": [], "unknown": [], "skipped": []}
    try:
        for n, item in enumerate(items):
            aid = item["action_id"]
            entry = journal.get(aid)
            if entry is not None:
                if entry["state"] == "intent":  # begun before a crash, outcome never recorded
                    ledger.journal_finish(plan["id"], aid, "unknown", {"note": "begun before an interruption; the "
                                                                       "upstream may or may not have done it"})
                    report["unknown"].append(aid)
                else:
                    report["skipped" if entry["state"] in FINISHED else "unknown"].append(aid)
                continue
            if n and pace_s:
                await asyncio.sleep(pace_s)
            ledger.journal_intent(plan["id"], aid, by)  # committed before the call leaves
            log.append("tool_call", {"call_id": aid, "tool": item["tool"], "args": item["arguments"]})
            log.flush()
            try:
                result = await upstreams[item["upstream"]].call(item["upstream_tool"], item["arguments"])
                state = "failed" if result.is_error else "done"
                outcome = {"text": result_text(result)[:2000], "is_error": bool(result.is_error)}
            except UpstreamRefused as exc:
                state, outcome = "failed", {"error": str(exc)}
            except UpstreamError as exc:
                state, outcome = "unknown", {"error": str(exc)}
            ledger.journal_finish(plan["id"], aid, state, outcome)
            report[state].append(aid)
            log.append("tool_result", {"call_id": aid, "ok": state == "done", "status": state,
                                       "result": outcome.get("text"), "message": outcome.get("error")})
            log.flush()
        return finish(ledger, plan["id"], report, log)
    finally:
        log.close()


def finish(ledger: Any, plan_id: str, report: dict[str, list[str]], log: Any = None) -> dict[str, Any]:
    """Mark the plan applied once every approved item has a known outcome."""
    plan = ledger.get_plan(plan_id)
    wanted = (plan.get("decision") or {}).get("approved") or []
    journal = ledger.journal(plan_id)
    open_items = [a for a in wanted if journal.get(a, {}).get("state") not in FINISHED]
    if not open_items and not plan["applied_at"]:
        ledger.apply_plan_atomically(plan_id, plan["version"], [])
        if log is not None:
            log.append("plan_applied", {"plan_id": plan_id, "items": wanted,
                                        "outcomes": {a: journal[a]["state"] for a in wanted}})
    report["open"] = open_items
    report["plan_id"] = plan_id  # type: ignore[assignment]
    return report


def settle(ledger: Any, plan: dict[str, Any], action_id: str, state: str, by: str, reason: str) -> dict[str, Any]:
    """A person says what happened to an item whose outcome was unknown (checked on the real system)."""
    if state not in FINISHED:
        raise UsageError(f"--as {state!r} is not an outcome.", field="--as", expected="done or failed")
    entry = ledger.journal(plan["id"]).get(action_id)
    if entry is None or entry["state"] != "unknown":
        raise UsageError(f"item {action_id} of plan {plan['id']} is "
                         f"{'not begun' if entry is None else entry['state']}; only an item whose outcome is unknown "
                         "is settled by hand.", field="ACTION_ID")
    ledger.journal_finish(plan["id"], action_id, state, {"settled": state}, from_states=("unknown",), by=by,
                          reason=reason)
    return finish(ledger, plan["id"], {"done": [], "failed": [], "unknown": [], "skipped": []})
