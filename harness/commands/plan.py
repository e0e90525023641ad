"""``harness plan``: review batched plans of agent-proposed actions and apply them once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from harness.commands._common import no_ledger_message, open_ledger, out
from harness.config import audit_dir, audit_key
from harness.errors import PlanRefused, UsageError
from harness.safetext import clean, markup

app = typer.Typer(help="Review, approve or reject batched plans of agent actions.", no_args_is_help=True)

LedgerOpt = typer.Option(None, "--ledger", help="Ledger URL (default: .harness/ledger.db).")


@app.command("list")
def list_plans(status: str | None = typer.Option(None, "--status", help="pending, applied, rejected, …"),
               workflow: str | None = typer.Option(None, "--workflow"),
               as_json: bool = typer.Option(False, "--json"), ledger: str | None = LedgerOpt) -> None:
    """List plans (newest last)."""
    missing = no_ledger_message(ledger)
    if missing:
        typer.echo(missing, err=True)
        if as_json:
            typer.echo("[]")
        return
    plans = open_ledger(ledger).list_plans(status=status, workflow=workflow)
    if as_json:
        typer.echo(json.dumps(plans, default=str))
        return
    table = Table(title=f"{len(plans)} plans")
    for col in ("plan", "status", "workflow", "scenario", "agent", "items", "decided by", "created"):
        table.add_column(col)
    for p in plans:
        table.add_row(markup(p["id"]), markup(p["status"]), markup(p["workflow"]), markup(p["scenario"] or ""),
                      markup(f"{p['agent']}@{p['agent_version']}"), str(len(p["items"] or [])),
                      markup(p["decided_by"] or ""), (p["created_at"] or "")[:19])
    out.print(table)


BOOKKEEPING = frozenset({"id", "mailbox", "folder", "date", "read", "modified", "created_at", "updated_at",
                         "version"})
"""Fields the backend fills in itself (ids, timestamps, read flags): not what a reviewer decides on."""


def _reviewable(fields: dict) -> list[tuple[str, Any, Any]]:
    """The fields a reviewer approves: no bookkeeping, and on a create or delete no empty values."""
    shown = []
    for name, (before, after) in fields.items():
        if name in BOOKKEEPING or (_empty(before) and _empty(after)):
            continue
        shown.append((name, before, after))
    return shown


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _value(v: Any, colour: str) -> str:
    """The whole value — a reviewer approves the full text, never a truncated one — escaped."""
    if isinstance(v, str) and ("\n" in v or len(v) > 60):
        block = "\n".join("       │ " + clean(line, None) for line in v.split("\n"))
        return f"\n[{colour}]{escape(block)}[/]"  # lines already cleaned
    text = "—" if v is None else (json.dumps(v, ensure_ascii=False, default=str) if not isinstance(v, str) else v)
    return f"[{colour}]{markup(text)}[/]"


def _field_line(name: str, before: Any, after: Any) -> str:
    if _empty(before):
        return f"     {markup(name)}: {_value(after, 'green')}"
    if _empty(after):
        return f"     {markup(name)}: {_value(before, 'red')} → [red](removed)[/]"
    return f"     {markup(name)}: {_value(before, 'red')} → {_value(after, 'green')}"


@app.command("show")
def show(plan_id: str = typer.Argument(..., help="Plan id or a unique prefix."),
         as_json: bool = typer.Option(False, "--json"), ledger: str | None = LedgerOpt) -> None:
    """Show a plan as a readable diff: each action, its effect, the agent's rationale, what it changes."""
    plan = open_ledger(ledger, create=False).get_plan(plan_id)
    if as_json:
        typer.echo(json.dumps(plan, default=str, indent=2))
        return
    out.print(f"[bold]Plan {markup(plan['id'])}[/] — {markup(plan['status'])}  ({markup(plan['workflow'])}, "
              f"scenario {markup(plan['scenario'] or '')}, agent "
              f"{markup(plan['agent'] or '')}@{markup(plan['agent_version'] or '')})")
    out.print(f"from run {markup(plan['run_id'])}; created {markup(plan['created_at'])}")
    if plan.get("decided_by"):
        out.print(f"decided by {markup(plan['decided_by'])} at {markup(plan['decided_at'])}: "
                  f"{markup(plan['reason'] or '')}")
    for item in plan["items"] or []:
        flag = {"irreversible": "[red]irreversible[/]", "external": "[red]external[/]"}.get(
            item["effect"], markup(item["effect"]))
        out.print(f"\n[bold]{markup(item['index'])}.[/] {markup(item['tool'])}  ({flag})  "
                  f"[dim]{markup(item['action_id'])}[/]")
        if item.get("rationale"):
            out.print(f"   why: {escape(clean(str(item['rationale']), None))}")
        if item.get("upstream"):  # a plan made at work: exactly what would be forwarded
            args = json.dumps(item.get("arguments"), ensure_ascii=False, default=str)
            where = clean(f"{item['upstream']}/{item['upstream_tool']}", None)
            out.print(f"   forwards {escape(where)} "
                      f"{escape(clean(args[:600] + ('…' if len(args) > 600 else ''), None))}")
            probe = item.get("probe") or {}
            if probe.get("excerpt") is not None:
                out.print(f"   target when proposed: {escape(clean(probe['excerpt'][:300], None))}")
        for diff in item.get("diff") or []:
            out.print(f"   {markup(diff['op'])} {markup(diff['entity'])}")
            if diff.get("external"):
                out.print("   [bold red]leaves the organisation[/] — check the recipients before approving")
            elif not diff.get("reversible", True):
                out.print("   [bold red]cannot be undone[/]")
            for field, before, after in _reviewable(diff.get("fields") or {}):
                out.print(_field_line(field, before, after))
        if item.get("versions"):
            out.print("   computed against: " + ", ".join(f"{markup(k)} v{markup(v)}"
                                                         for k, v in item["versions"].items()))


def _parse_only(only: str | None) -> list[int] | None:
    """``None`` when ``--only`` is not given; otherwise at least one item number (never "all")."""
    if only is None:
        return None
    try:
        wanted = [int(x) for x in only.replace(" ", "").split(",") if x]
    except ValueError:
        wanted = []
    if not wanted:
        raise UsageError(f"--only {only!r} is not a list of item numbers.", field="--only",
                         expected="comma-separated numbers, e.g. --only 1,3 (leave --only out to approve "
                                  "every item)")
    return wanted


def _world_for(plan: dict, ledger: Any):
    from fakes import Change, build_world
    from harness.scenario import load_scenario_file

    scenario = load_scenario_file(plan["scenario_path"])
    if scenario.world_key != plan["world_key"]:
        raise PlanRefused(f"the scenario file {plan['scenario_path']} changed since plan {plan['id']} was made "
                          f"(world {plan['world_key']}, file now {scenario.world_key}); the plan is stale.")
    world = build_world(scenario.seed, scenario.world.generate.model_dump(), scenario.world.records())
    for row in ledger.world_changes(plan["world_key"]):
        world.apply_change(Change.from_dict(row["change"]))
    return world


def _audit_decision(store: Any, plan: dict, events: list[tuple[str, dict]]) -> str:
    """Write the decision's own audit log (``<plan>-decision-<time>``), sign it and anchor its head
    in the plan's ledger record, so ``harness audit verify`` can check it like a run's log."""
    from harness.audit import AuditLog
    from harness.audit._sign import Signer

    log_id = f"{plan['id']}-decision-{datetime.now(UTC):%Y%m%d%H%M%S%f}"
    path = audit_dir() / f"{log_id}.jsonl"
    log = AuditLog(path, log_id, key=audit_key())
    for kind, payload in events:
        log.append(kind, {**payload, "run_id": plan["run_id"]})
    head = log.close()
    Signer.load_or_create().sign_log(path, log_id, head)
    current = store.get_plan(plan["id"])
    decision = dict(current.get("decision") or {})
    decision["audit_logs"] = [*decision.get("audit_logs", []), {"id": log_id, "head": head, "path": str(path)}]
    store.update_plan(plan["id"], current["version"], decision=decision)
    return head


@app.command("approve")
def approve(plan_id: str = typer.Argument(..., help="Plan id or a unique prefix."),
            by: str = typer.Option(..., "--by", help="Who approves (recorded)."),
            only: str | None = typer.Option(None, "--only", help="Approve only these items, e.g. 1,3."),
            reason: str = typer.Option("", "--reason", help="Why (recorded)."),
            pace_s: float = typer.Option(0.0, "--pace", min=0.0,
                                         help="Plans made at work: seconds to wait between forwarded items."),
            timeout_s: float = typer.Option(30.0, "--timeout-s", min=0.01,
                                            help="Plans made at work: per-call timeout of the upstream."),
            ledger: str | None = LedgerOpt,
            as_json: bool = typer.Option(False, "--json", help="Print the decision as JSON.")) -> None:
    """Approve a plan (or some of its items) and apply it exactly once. A plan made in a sandbox run is
    applied all or nothing; a plan made at work forwards each approved item to the real tool once,
    recorded in the ledger's journal (`--only` also takes action ids)."""
    from harness.plans import altered_items, apply_items, item_from_dict, stale_items
    from harness.work.plans import is_work_plan

    if not by.strip():
        raise UsageError("--by must name the person approving.", field="--by")
    store = open_ledger(ledger, create=False)
    plan = store.get_plan(plan_id)
    if is_work_plan(plan):
        from harness.commands._work_plan import approve_at_work

        return approve_at_work(store, plan, by, only, reason, pace_s, timeout_s)
    if plan["status"] not in ("pending",):
        raise PlanRefused(f"plan {plan['id']} is {plan['status']} already"
                          + (f" (decided by {plan['decided_by']} at {plan['decided_at']})"
                             if plan["decided_by"] else "")
                          + "; a plan is decided and applied once.")
    items = [item_from_dict(i) for i in plan["items"] or []]
    wanted = _parse_only(only)
    by_index = {i.index: i for i in items}
    if wanted:
        unknown = [n for n in wanted if n not in by_index]
        if unknown:
            raise UsageError(f"plan {plan['id']} has no item(s) {', '.join(map(str, unknown))}.", field="--only",
                             expected=f"numbers between 1 and {len(items)}")
    chosen = [by_index[n] for n in sorted(set(wanted))] if wanted else items
    altered = altered_items(chosen)
    if altered:
        raise PlanRefused(f"plan {plan['id']} was altered after it was made: item(s) {', '.join(altered)} no "
                          "longer match the action the agent proposed (its content hash). Nothing was "
                          "applied.", expected="a fresh run to produce a new plan")
    world = _world_for(plan, store)
    stale = stale_items(world, chosen)
    now = datetime.now(UTC).isoformat()
    if stale:
        store.update_plan(plan["id"], plan["version"], status="stale", decided_by=by, decided_at=now,
                          reason="refused as stale: " + "; ".join(stale))
        _audit_decision(store, plan, [("plan_decided", {"plan_id": plan["id"], "decision": "stale", "by": by,
                                                 "reason": "; ".join(stale)})])
        raise PlanRefused(f"plan {plan['id']} is stale: records changed since it was made: {'; '.join(stale)}. "
                          "Nothing was applied.", expected="a fresh run to produce a new plan")
    changes = apply_items(world, chosen)
    approved = [i.index for i in chosen]
    rejected = [i.index for i in items if i.index not in approved]
    status = "approved" if not rejected else "partially_approved"
    decision = {"by": by, "reason": reason, "approved": approved, "rejected": rejected}
    updated = store.update_plan(plan["id"], plan["version"], status=status, decided_by=by, decided_at=now,
                                reason=reason, decision=decision)
    store.apply_plan_atomically(plan["id"], updated["version"], [c.to_dict() for c in changes])
    head = _audit_decision(store, plan, [
        ("plan_decided", {"plan_id": plan["id"], "decision": status, "by": by, "reason": reason,
                          "approved_items": approved, "rejected_items": rejected}),
        ("plan_applied", {"plan_id": plan["id"], "items": approved, "changes": [c.to_dict() for c in changes]})])
    if as_json:
        typer.echo(json.dumps({"plan_id": plan["id"], "status": status, "by": by, "reason": reason,
                               "approved_items": approved, "rejected_items": rejected,
                               "changes": [c.to_dict() for c in changes], "audit_head": head}, default=str))
        return
    out.print(f"applied plan {plan['id']}: items {', '.join(map(str, approved))} "
              f"({len(changes)} change{'s' if len(changes) != 1 else ''}); approved by {markup(by)}. "
              f"[dim]audit {head[:12]}[/]")


@app.command("reject")
def reject(plan_id: str = typer.Argument(..., help="Plan id or a unique prefix."),
           by: str = typer.Option(..., "--by", help="Who rejects (recorded)."),
           reason: str = typer.Option(..., "--reason", help="Why (recorded)."),
           ledger: str | None = LedgerOpt,
           as_json: bool = typer.Option(False, "--json", help="Print the decision as JSON.")) -> None:
    """Reject a plan: nothing is applied."""
    if not by.strip() or not reason.strip():
        raise UsageError("--by and --reason must not be empty.", field="--by/--reason")
    store = open_ledger(ledger, create=False)
    plan = store.get_plan(plan_id)
    if plan["status"] != "pending":
        raise PlanRefused(f"plan {plan['id']} is {plan['status']} already; a plan is decided once.")
    now = datetime.now(UTC).isoformat()
    store.update_plan(plan["id"], plan["version"], status="rejected", decided_by=by, decided_at=now,
                      reason=reason, decision={"by": by, "reason": reason, "approved": [],
                                               "rejected": [i["index"] for i in plan["items"] or []]})
    items = [i["index"] for i in plan["items"] or []]
    head = _audit_decision(store, plan, [("plan_decided", {"plan_id": plan["id"], "decision": "rejected", "by": by,
                                                    "reason": reason, "approved_items": [],
                                                    "rejected_items": items})])
    if as_json:
        typer.echo(json.dumps({"plan_id": plan["id"], "status": "rejected", "by": by, "reason": reason,
                               "approved_items": [], "rejected_items": items, "changes": [],
                               "audit_head": head}))
        return
    out.print(f"rejected plan {plan['id']}; nothing was applied.")


def _mount_work_commands() -> None:
    from harness.commands import _work_plan

    _work_plan.register(app)


_mount_work_commands()


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="plan")
