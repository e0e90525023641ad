"""``harness gateway serve`` and ``harness gateway pins``: the governing MCP gateway in front of real tools."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from harness.commands._common import open_ledger, out
from harness.errors import UsageError

app = typer.Typer(help="Stand between an agent and its real tools (upstream MCP servers), enforcing the stage "
                       "the ledger grants the agent version.", no_args_is_help=True)
pins_app = typer.Typer(help="Pinned tool definitions: a changed definition blocks the tool until re-pinned.",
                       no_args_is_help=True)
app.add_typer(pins_app, name="pins")

LedgerOpt = typer.Option(None, "--ledger", help="Ledger URL (default: $HARNESS_LEDGER or .harness/ledger.db).")


def parse_agent(text: str) -> tuple[str, str]:
    name, sep, version = text.rpartition("@")
    if not sep or not name or not version:
        raise UsageError(f"--agent {text!r} must name the agent and its version.", field="--agent",
                         expected="NAME@VERSION, e.g. support-bot@1.4.2")
    return name, version


@app.command("serve")
def serve_command(
    workflow: str = typer.Argument(..., help="The workflow whose granted stage and tool map apply."),
    agent: str = typer.Option(..., "--agent", help="NAME@VERSION of the agent behind the MCP client."),
    upstream: list[str] = typer.Option(..., "--upstream", help="NAME=COMMAND ARGS... (stdio) or NAME=URL "
                                                               "(streamable HTTP); repeatable."),
    http: int | None = typer.Option(None, "--http", min=1, max=65535,
                                    help="Serve streamable HTTP on 127.0.0.1:PORT/mcp instead of stdio."),
    policy: Path | None = typer.Option(None, "--policy", help="Policy YAML with the workflow's `tools:` map."),
    ledger: str | None = LedgerOpt,
    timeout_s: float = typer.Option(30.0, "--timeout-s", min=0.01, help="Per-call timeout for upstreams."),
) -> None:
    """Serve WORKFLOW's tools over MCP (stdio, or HTTP with --http): reads pass at suggest and above; writes
    become suggestions (suggest), a plan (approve) or are forwarded within bounds (autonomous)."""
    from harness.commands._common import err, load_policy_or_default
    from harness.config import audit_dir, audit_key
    from harness.work.pins import Pins
    from harness.work.server import serve
    from harness.work.session import Gateway
    from harness.work.upstreams import UpstreamError, parse_spec

    name, version = parse_agent(agent)
    specs = [parse_spec(u) for u in upstream]
    seen = [s.name for s in specs]
    if len(set(seen)) != len(seen):
        raise UsageError(f"--upstream names must differ (got {', '.join(seen)}).", field="--upstream")
    the_policy = load_policy_or_default(str(policy) if policy else None)
    wf = the_policy.workflow(workflow)
    if not wf.tools:
        raise UsageError(f"the policy {the_policy.path} has no tool map for {workflow}, so every upstream tool "
                         "would be refused.", field=f"workflows.{workflow}.tools",
                         expected="a mapping UPSTREAM → TOOL → {effect: read|write|irreversible|external, ...}")
    unknown = sorted(set(wf.tools) - set(seen))
    if unknown:
        err.print(f"note: the tool map names upstream(s) {', '.join(unknown)} that no --upstream gives.")
    store = open_ledger(ledger)
    from harness.grants import current_grant

    current_grant(store, the_policy, workflow, name, version)  # a new version may carry a grant over (recorded)

    def make_gateway(upstreams):
        return Gateway(workflow=workflow, agent=name, version=version, policy=the_policy, ledger=store,
                       upstreams=upstreams, pins=Pins(store, workflow), audit_dir=audit_dir(),
                       audit_key=audit_key())

    def ready(gw) -> None:
        where = f"http://127.0.0.1:{http}/mcp" if http else "stdio"
        err.print(f"harness gateway: {escape(workflow)} for {escape(agent)} on {where}; "
                  f"{len(gw.exposed)} tools offered")
        for event in gw.pin_events:
            err.print(f"  {escape(event['upstream'])}/{escape(event['tool'])}: {escape(event['pin'])}")
        hidden = gw.unclassified()
        if hidden:
            err.print(f"  hidden (not in workflows.{escape(workflow)}.tools): {escape(', '.join(hidden))}")

    try:
        sessions = asyncio.run(serve(specs=specs, make_gateway=make_gateway, timeout_s=timeout_s, http_port=http,
                                     on_ready=ready))
    except UpstreamError as exc:
        raise UsageError(str(exc), field="--upstream", expected="a command or URL that serves MCP") from None
    for session in sessions:
        err.print(f"harness gateway: session {session.id} closed after {session.calls} calls "
                  f"(harness audit explain {session.id})")


@pins_app.command("list")
def pins_list(workflow: str | None = typer.Argument(None, help="One workflow (default: all)."),
              as_json: bool = typer.Option(False, "--json"), ledger: str | None = LedgerOpt) -> None:
    """Pinned tool definitions, and changed ones waiting for a person."""
    pins = open_ledger(ledger).pins(workflow)
    if as_json:
        typer.echo(json.dumps(pins, default=str, indent=2))
        return
    table = Table(title=f"{len(pins)} pinned tools")
    for col in ("workflow", "upstream", "tool", "pinned", "by", "at", "changed definition waiting"):
        table.add_column(col)
    for p in pins:
        waiting = f"[red]{p['pending_hash'][:12]} (seen {p['pending_seen_at'][:19]})[/]" if p["pending_hash"] else ""
        table.add_row(escape(p["workflow"]), escape(p["upstream"]), escape(p["tool"]), p["hash"][:12],
                      escape(p["pinned_by"]), (p["pinned_at"] or "")[:19], waiting)
    out.print(table)


@pins_app.command("approve")
def pins_approve(workflow: str = typer.Argument(...), upstream: str = typer.Argument(...),
                 tool: str = typer.Argument(..., help="The upstream's tool name."),
                 by: str = typer.Option(..., "--by", help="Who reviewed the changed definition (recorded)."),
                 show: bool = typer.Option(False, "--show", help="Print the old and new definitions first."),
                 ledger: str | None = LedgerOpt) -> None:
    """Re-pin a tool whose definition changed, after reading it: the tool works again at the next call."""
    if not by.strip():
        raise UsageError("--by must name the person re-pinning.", field="--by")
    store = open_ledger(ledger)
    if show:
        for p in store.pins(workflow):
            if p["upstream"] == upstream and p["tool"] == tool:
                typer.echo(json.dumps({"pinned": p["definition"], "changed": p["pending_definition"]}, indent=2))
    pin = store.approve_pin(workflow, upstream, tool, by)
    out.print(f"re-pinned {escape(upstream)}/{escape(tool)} for {escape(workflow)} at {pin['hash'][:12]}; "
              f"approved by {escape(by)}.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="gateway")
