"""Evidence from work in ``harness status``: per agent version, what its sessions through the gateway did.

Shown apart from sandbox runs (source ``production``), never mixed into their rates.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape


def attach(ledger: Any, report: list[dict[str, Any]]) -> None:
    by_workflow: dict[str, list[dict[str, Any]]] = {}
    for row in ledger.work_summary():
        by_workflow.setdefault(row["workflow"], []).append(row)
    for entry in report:
        entry["at_work"] = by_workflow.get(entry["workflow"], [])


def print_at_work(console: Console, entry: dict[str, Any]) -> None:
    rows = entry.get("at_work") or []
    if not rows:
        return
    console.print("  [bold]at work[/] (source: production, separate from sandbox runs)")
    for r in rows:
        console.print(f"    {escape(r['agent'])}@{escape(r['agent_version'])}: {r['sessions']} session(s), "
                      f"{r['forwarded_writes']} forwarded writes, {r['refused']} refused calls, suggestions "
                      f"{r['suggestions_accepted']} accepted / {r['suggestions_rejected']} rejected / "
                      f"{r['suggestions_pending']} pending, {r['planned']} planned, "
                      f"{r['env_errors']} environment errors"
                      + (f", {r['incidents']} incidents" if r.get("incidents") is not None else ""))
