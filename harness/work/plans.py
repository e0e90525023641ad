"""Plans at work: at ``approve`` a session's writes form one plan in the ledger's plans table.

Each item is keyed by an action id and the hash of exactly what will be forwarded (tool and
arguments), and carries the probe of its target taken when the agent proposed it. A plan decided
meanwhile (approved while the agent kept working) is closed to new items: they start a new plan.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from harness.errors import ConflictError

WORK_MARK = "work"
"""``plans.scenario`` of a plan made at work (the run engine's plans name a scenario)."""


def is_work_plan(plan: dict[str, Any]) -> bool:
    return plan.get("scenario") == WORK_MARK and not plan.get("world_key")


def action_hash(upstream: str, tool: str, arguments: dict[str, Any]) -> str:
    data = json.dumps({"upstream": upstream, "tool": tool, "arguments": arguments}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _diff(effect: str, targets: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [{"op": effect, "entity": f"{t['kind']}:{t['value']}", "external": effect == "external",
             "reversible": effect == "write", "fields": {}} for t in targets] or \
        [{"op": effect, "entity": "(no target named)", "external": effect == "external",
          "reversible": effect == "write", "fields": {}}]


def add_item(gw: Any, session: Any, ex: Any, arguments: dict[str, Any], decision: Any,
             probe: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Append the write to the session's open plan (or start one); returns (plan, item)."""
    plan = session.plan
    if plan is not None:
        plan = gw.ledger.get_plan(plan["id"])
    for _ in range(3):
        if plan is None or plan["status"] != "pending":
            number = int(plan["id"].rsplit("-", 1)[1]) + 1 if plan else 1
            item = _item(1, session, ex, arguments, decision, probe)
            plan = gw.ledger.save_plan({"id": f"plan-{session.id[4:]}-{number}", "run_id": session.id,
                                        "workflow": gw.workflow, "scenario": WORK_MARK, "agent": gw.agent,
                                        "agent_version": gw.version, "status": "pending", "items": [item]})
            return plan, item
        item = _item(len(plan["items"]) + 1, session, ex, arguments, decision, probe)
        try:
            return gw.ledger.update_plan(plan["id"], plan["version"], items=[*plan["items"], item]), item
        except ConflictError:
            plan = gw.ledger.get_plan(plan["id"])
    raise ConflictError(f"plan {plan['id']} keeps changing; the write was not planned.")


def _item(index: int, session: Any, ex: Any, arguments: dict[str, Any], decision: Any,
          probe: dict[str, Any] | None) -> dict[str, Any]:
    return {"index": index, "action_id": f"{session.id[4:12]}-{session.calls}", "tool": ex.name,
            "upstream": ex.upstream.name, "upstream_tool": ex.tool, "arguments": arguments,
            "effect": decision.effect, "targets": decision.targets, "money": decision.money, "probe": probe,
            "hash": action_hash(ex.upstream.name, ex.tool, arguments), "rationale": None,
            "diff": _diff(decision.effect, decision.targets)}


def choose(plan: dict[str, Any], only: str | None) -> list[dict[str, Any]]:
    """The items ``--only`` names (action ids or item numbers); every item when it is empty."""
    from harness.errors import UsageError

    items = plan["items"] or []
    if not only:
        return list(items)
    wanted = [w for w in only.replace(" ", "").split(",") if w]
    by_key = {str(i["index"]): i for i in items} | {i["action_id"]: i for i in items}
    unknown = [w for w in wanted if w not in by_key]
    if unknown:
        raise UsageError(f"plan {plan['id']} has no item(s) {', '.join(unknown)}.", field="--only",
                         expected="action ids or item numbers from `harness plan show " + plan["id"] + "`")
    chosen = {by_key[w]["action_id"] for w in wanted}
    return [i for i in items if i["action_id"] in chosen]
