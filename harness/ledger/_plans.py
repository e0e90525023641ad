"""Plan storage: the run engine owns what a plan means; this keeps it durable and race-free.

``update_plan`` is a compare-and-swap on ``version``; ``apply_plan_atomically`` changes the plan and
appends the world changes in one transaction and refuses a plan that was applied already.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from harness.errors import ConflictError, LedgerError, PlanRefused
from harness.ledger._schema import plans, world_changes
from harness.ledger._time import iso, to_dt, utcnow

PLAN_STATUSES = ("pending", "approved", "partially_approved", "rejected", "applied", "stale")
DECIDED = ("approved", "partially_approved", "rejected", "applied")
_TIMES = ("created_at", "decided_at", "applied_at")
_FIELDS = ("id", "run_id", "workflow", "scenario", "scenario_path", "agent", "agent_version", "world_key",
           "status", "created_at", "decided_by", "decided_at", "reason", "items", "decision", "applied_at",
           "version")
UPDATABLE = frozenset(_FIELDS) - {"id", "version", "created_at"}


def plan_dict(row: Any) -> dict[str, Any]:
    out = {f: getattr(row, f) for f in _FIELDS}
    for f in _TIMES:
        out[f] = iso(out[f])
    return out


def _check_status(status: str) -> None:
    if status not in PLAN_STATUSES:
        raise LedgerError(f"{status!r} is not a plan status.", expected=" | ".join(PLAN_STATUSES))


def _values(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - UPDATABLE
    if unknown:
        raise LedgerError(f"plans have no field(s) {', '.join(sorted(unknown))}.",
                          expected=f"some of {', '.join(sorted(UPDATABLE))}")
    values = dict(fields)
    for f in _TIMES:
        if f in values:
            values[f] = to_dt(values[f])
    if "status" in values:
        _check_status(values["status"])
        # approve-stage evidence: a full approval, remembered after the plan is applied
        if values["status"] in ("approved", "partially_approved", "rejected"):
            values["approved_unchanged"] = values["status"] == "approved"
    return values


def save_plan(conn: Connection, plan: dict[str, Any]) -> None:
    if not plan.get("id") or not plan.get("workflow"):
        raise LedgerError("a plan needs an `id` and a `workflow`.")
    values = _values({k: v for k, v in plan.items() if k not in ("id", "version", "created_at")})
    values.update(id=plan["id"], version=int(plan.get("version") or 1),
                  created_at=to_dt(plan.get("created_at")) or utcnow())
    values.setdefault("status", "pending")
    values.setdefault("items", [])
    try:
        conn.execute(insert(plans).values(**values))
    except IntegrityError:
        raise ConflictError(f"a plan with id {plan['id']} exists already.") from None


def update_plan(conn: Connection, plan_id: str, expected_version: int, fields: dict[str, Any]) -> None:
    values = _values(fields)
    values["version"] = expected_version + 1
    done = conn.execute(update(plans).where(plans.c.id == plan_id, plans.c.version == expected_version)
                        .values(**values)).rowcount
    if done != 1:
        _explain_miss(conn, plan_id, expected_version)


def _explain_miss(conn: Connection, plan_id: str, expected_version: int) -> None:
    current = conn.execute(select(plans.c.version).where(plans.c.id == plan_id)).scalar()
    if current is None:
        from harness.errors import NotFoundError

        raise NotFoundError(f"no plan {plan_id} in the ledger.")
    raise ConflictError(f"plan {plan_id} changed meanwhile (version {current}, expected {expected_version}); "
                        "show it again and retry.")


def append_world_changes(conn: Connection, world_key: str, changes: list[dict[str, Any]],
                         plan_id: str | None) -> list[int]:
    last = conn.execute(select(func.max(world_changes.c.seq)).where(world_changes.c.world_key == world_key)
                        ).scalar() or 0
    now = utcnow()
    rows = [{"world_key": world_key, "seq": last + i, "change": c, "plan_id": plan_id, "created_at": now}
            for i, c in enumerate(changes, start=1)]
    if rows:
        try:
            conn.execute(insert(world_changes), rows)
        except IntegrityError:
            raise ConflictError(f"world {world_key} was changed concurrently; nothing was applied.") from None
    return [r["seq"] for r in rows]


def apply_plan(conn: Connection, plan_id: str, expected_version: int, changes: list[dict[str, Any]],
               fields: dict[str, Any]) -> None:
    row = conn.execute(select(plans).where(plans.c.id == plan_id)).first()
    if row is None:
        from harness.errors import NotFoundError

        raise NotFoundError(f"no plan {plan_id} in the ledger.")
    if row.status == "applied" or row.applied_at is not None:
        raise PlanRefused(f"plan {plan_id} was applied already (at {iso(row.applied_at)}); "
                          "a plan is applied once.")
    fields = {"status": "applied", "applied_at": utcnow(), **fields}
    update_plan(conn, plan_id, expected_version, fields)
    if changes:
        if not row.world_key:
            raise LedgerError(f"plan {plan_id} has no world_key, so its changes have nowhere to go.")
        append_world_changes(conn, row.world_key, changes, plan_id)


def world_change_dict(row: Any) -> dict[str, Any]:
    return {"world_key": row.world_key, "seq": row.seq, "change": row.change, "plan_id": row.plan_id,
            "created_at": iso(row.created_at)}
