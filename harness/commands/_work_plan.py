"""``harness plan approve|resume|settle`` for plans made at work (by ``harness gateway serve`` at approve).

These forward the approved items to the real upstreams recorded with the session, exactly once, through
the ledger's intent journal (see ``harness.work.apply``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import typer
from rich.markup import escape

from harness.commands._common import open_ledger, out
from harness.errors import UsageError

LedgerOpt = typer.Option(None, "--ledger", help="Ledger URL (default: .harness/ledger.db).")


def _print(report: dict[str, Any], by: str) -> None:
    done, failed, unknown = report["done"], report["failed"], report["unknown"]
    out.print(f"plan {report['plan_id']}: forwarded {len(done)} item(s)"
              + (f" ({', '.join(done)})" if done else "")
              + (f"; {len(failed)} failed upstream ({', '.join(failed)})" if failed else "")
              + (f"; {len(report['skipped'])} finished earlier, not repeated" if report["skipped"] else "")
              + f"; by {escape(by)}.")
    if unknown:
        out.print(f"[bold red]outcome unknown[/] for {', '.join(unknown)}: they are not retried. Check the real "
                  f"system, then `harness plan settle {report['plan_id']} ACTION_ID --as done|failed --by NAME "
                  "--reason TEXT`.")
    elif not report["open"]:
        out.print(f"plan {report['plan_id']} is applied.")
    if unknown or report["open"]:
        raise typer.Exit(1)


def approve_at_work(store: Any, plan: dict[str, Any], by: str, only: str | None, reason: str, pace_s: float,
                    timeout_s: float) -> None:
    from harness.config import audit_dir, audit_key
    from harness.work import apply
    from harness.work.plans import choose

    chosen = choose(plan, only)
    report = asyncio.run(apply.approve(store, plan, chosen, by=by, reason=reason, pace_s=pace_s,
                                       timeout_s=timeout_s, audit_dir=audit_dir(), audit_key=audit_key()))
    _print(report, by)


def resume_command(plan_id: str = typer.Argument(..., help="Plan id or a unique prefix."),
                   by: str = typer.Option(..., "--by", help="Who resumes (recorded)."),
                   pace_s: float = typer.Option(0.0, "--pace", min=0.0, help="Seconds to wait between items."),
                   timeout_s: float = typer.Option(30.0, "--timeout-s", min=0.01, help="Per-call timeout."),
                   ledger: str | None = LedgerOpt) -> None:
    """Finish applying an approved plan made at work after an interruption. Items already forwarded are
    never forwarded again; an item begun but not finished is flagged as unknown, not retried."""
    from harness.config import audit_dir, audit_key
    from harness.work import apply
    from harness.work.plans import is_work_plan

    if not by.strip():
        raise UsageError("--by must name the person resuming.", field="--by")
    store = open_ledger(ledger)
    plan = store.get_plan(plan_id)
    if not is_work_plan(plan):
        raise UsageError(f"plan {plan['id']} was made in a sandbox run; it is applied whole by `harness plan "
                         "approve`, so there is nothing to resume.")
    report = asyncio.run(apply.resume(store, plan, by=by, pace_s=pace_s, timeout_s=timeout_s,
                                      audit_dir=audit_dir(), audit_key=audit_key()))
    _print(report, by)


def settle_command(plan_id: str = typer.Argument(..., help="Plan id or a unique prefix."),
                   action_id: str = typer.Argument(..., help="The item whose outcome was unknown."),
                   as_: str = typer.Option(..., "--as", help="done or failed: what the real system shows."),
                   by: str = typer.Option(..., "--by", help="Who checked (recorded)."),
                   reason: str = typer.Option(..., "--reason", help="What was checked (recorded)."),
                   ledger: str | None = LedgerOpt) -> None:
    """Record what happened to an item whose outcome was unknown; it is never forwarded again."""
    from harness.work import apply

    if not by.strip() or not reason.strip():
        raise UsageError("--by and --reason must not be empty.", field="--by/--reason")
    store = open_ledger(ledger)
    plan = store.get_plan(plan_id)
    report = apply.settle(store, plan, action_id, as_, by, reason)
    out.print(f"item {escape(action_id)} of plan {plan['id']} settled as {as_} by {escape(by)}."
              + (" The plan is applied." if not report["open"] else
                 f" Still open: {', '.join(report['open'])}."))


def register(plan_app: typer.Typer) -> None:
    plan_app.command("resume")(resume_command)
    plan_app.command("settle")(settle_command)
