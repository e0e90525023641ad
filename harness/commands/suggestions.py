"""``harness suggestions list|show|accept|reject``: people judge the writes an agent suggested at work.

At ``suggest`` the gateway forwards no write; each one is recorded here. A person's verdict is evidence
for the agent version (``harness status`` shows it); accepting does not apply anything.
"""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from harness.commands._common import open_ledger, out
from harness.errors import UsageError

app = typer.Typer(help="Judge the writes agents suggested at work (stage suggest): evidence for promotion.",
                  no_args_is_help=True)
LedgerOpt = typer.Option(None, "--ledger", help="Ledger URL (default: $HARNESS_LEDGER or .harness/ledger.db).")


@app.command("list")
def list_command(workflow: str | None = typer.Argument(None, help="One workflow (default: all)."),
                 status: str | None = typer.Option(None, "--status", help="pending, accepted or rejected."),
                 session: str | None = typer.Option(None, "--session", help="One session id."),
                 as_json: bool = typer.Option(False, "--json"), ledger: str | None = LedgerOpt) -> None:
    """Suggestions, oldest first."""
    if status is not None and status not in ("pending", "accepted", "rejected"):
        raise UsageError(f"--status {status!r} is not a suggestion status.", field="--status",
                         expected="pending, accepted or rejected")
    rows = open_ledger(ledger).list_suggestions(workflow=workflow, status=status, session=session)
    if as_json:
        typer.echo(json.dumps(rows, default=str, indent=2))
        return
    table = Table(title=f"{len(rows)} suggestions")
    for col in ("id", "status", "workflow", "agent", "tool", "effect", "targets", "created"):
        table.add_column(col)
    for r in rows:
        targets = ", ".join(t["value"] for t in r["targets"] or [])
        table.add_row(r["id"], r["status"], escape(r["workflow"]), escape(f"{r['agent']}@{r['agent_version']}"),
                      escape(r["tool"]), r["effect"], escape(targets[:60]), (r["created_at"] or "")[:19])
    out.print(table)


@app.command("show")
def show_command(suggestion_id: str = typer.Argument(..., help="Suggestion id or a unique prefix."),
                 as_json: bool = typer.Option(False, "--json"), ledger: str | None = LedgerOpt) -> None:
    """One suggestion: the call, its targets, the state of the target when it was suggested."""
    r = open_ledger(ledger).get_suggestion(suggestion_id)
    if as_json:
        typer.echo(json.dumps(r, default=str, indent=2))
        return
    out.print(f"[bold]Suggestion {r['id']}[/] — {r['status']}  ({escape(r['workflow'])}, "
              f"{escape(r['agent'])}@{escape(r['agent_version'])}, session {r['session_id']})")
    out.print(f"{escape(r['tool'])} ({escape(r['upstream'])}/{escape(r['upstream_tool'])}), effect {r['effect']}"
              + (f", money {r['money']:,.2f}" if r["money"] is not None else ""))
    out.print("arguments: " + escape(json.dumps(r["arguments"], ensure_ascii=False)[:2000]))
    for t in r["targets"] or []:
        out.print(f"  target {t['kind']}: {escape(t['value'])}")
    probe = r.get("probe")
    if probe and "excerpt" in probe:
        out.print(f"state when suggested ({escape(probe['tool'])}): {escape(probe['excerpt'][:500])}")
    if r["decided_by"]:
        out.print(f"{r['status']} by {escape(r['decided_by'])} at {r['decided_at']}: {escape(r['reason'] or '')}")


def _decide(suggestion_id: str, status: str, by: str, reason: str, ledger: str | None) -> None:
    if not by.strip():
        raise UsageError("--by must name the person judging.", field="--by")
    r = open_ledger(ledger).decide_suggestion(suggestion_id, status, by, reason)
    out.print(f"suggestion {r['id']} {status} by {escape(by)}; nothing was applied.")


@app.command("accept")
def accept_command(suggestion_id: str = typer.Argument(..., help="Suggestion id or a unique prefix."),
                   by: str = typer.Option(..., "--by", help="Who judges (recorded)."),
                   reason: str = typer.Option("", "--reason", help="Why (recorded)."),
                   ledger: str | None = LedgerOpt) -> None:
    """Say the suggested write was right (evidence for the agent version; nothing is applied)."""
    _decide(suggestion_id, "accepted", by, reason, ledger)


@app.command("reject")
def reject_command(suggestion_id: str = typer.Argument(..., help="Suggestion id or a unique prefix."),
                   by: str = typer.Option(..., "--by", help="Who judges (recorded)."),
                   reason: str = typer.Option(..., "--reason", help="What was wrong (recorded)."),
                   ledger: str | None = LedgerOpt) -> None:
    """Say the suggested write was wrong (evidence against the agent version)."""
    if not reason.strip():
        raise UsageError("--reason must say what was wrong.", field="--reason")
    _decide(suggestion_id, "rejected", by, reason, ledger)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="suggestions")
