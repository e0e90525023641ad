"""``harness status | promote | demote | history``: the release owner's commands.

``register(app)`` mounts the four commands on the root Typer app. Errors the user can act on are
one paragraph on stderr (``error: ...``) and the HarnessError's exit code: 1 refused, 2 bad input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from harness.commands._common import out
from harness.errors import HarnessError

LedgerOpt = Annotated[str | None, typer.Option("--ledger", help="Ledger URL (default: $HARNESS_LEDGER or "
                                                                "the SQLite file in $HARNESS_HOME).")]
PolicyOpt = Annotated[str | None, typer.Option("--policy", help="Policy YAML (default: $HARNESS_POLICY or "
                                                                "the bundled policy).")]
AgentOpt = Annotated[str | None, typer.Option("--agent", help="NAME@VERSION whose track record to judge.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _run(work: Callable[[], Any]) -> Any:
    try:
        return work()
    except HarnessError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None


def _say_no_ledger(ledger: str | None, as_json: bool) -> bool:
    """Read-only commands never create a ledger: with none here, say so (and print [] for --json)."""
    from harness.commands._common import no_ledger_message

    message = no_ledger_message(ledger)
    if message is None:
        return False
    typer.echo(message, err=True)
    if as_json:
        typer.echo("[]")
    return True


def _open(ledger: str | None, policy: str | None):
    from harness.ledger import Ledger
    from harness.policy import load_policy

    return Ledger(ledger), load_policy(policy)


def status_cmd(workflow: Annotated[str | None, typer.Argument(help="One workflow (default: all).")] = None,
               as_json: JsonOpt = False, ledger: LedgerOpt = None, policy: PolicyOpt = None,
               agent: AgentOpt = None) -> None:
    """Each workflow's stage and, per agent version, the next gate criterion by criterion."""
    from harness import promotion
    from harness.policy import load_policy

    _run(lambda: load_policy(policy))  # a bad policy is bad input even where nothing was recorded yet
    if _say_no_ledger(ledger, as_json):
        return

    def work():
        led, pol = _open(ledger, policy)
        with led:
            return promotion.status(led, pol, workflow, agent)

    report = _run(work)
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    console = out
    for entry in report:
        _print_status(console, entry)


def _print_status(console: Console, entry: dict[str, Any]) -> None:
    head = f"[bold]{entry['workflow']}[/]  stage: [cyan]{entry['stage']}[/]"
    if entry["granted_to"]:
        head += f" (granted to {entry['granted_to']} at {entry['entered_at'][:19].replace('T', ' ')}Z)"
    if entry["owner"]:
        head += f"  owner: {entry['owner']}"
    if entry["next_stage"]:
        head += f"  next: {entry['next_stage']}"
    console.print(head)
    if entry["note"]:
        console.print(f"  {entry['note']}")
    recert = entry.get("recertification")
    if recert and recert["due"]:
        gate = recert["gate"]
        verdict = "" if gate is None else (" — fresh evidence meets the gate" if gate["ready"]
                                           else f" — fresh evidence falls short: {', '.join(gate['unmet'])}")
        console.print(f"  [yellow]recertification due since {recert['due_at']}[/]{verdict}")
    for track in entry["agents"]:
        gate = track["gate"]
        label = f"  {track['agent']}@{track['agent_version']} — {track['runs']} runs recorded"
        if gate is None:
            console.print(label)
            continue
        sign = gate["signoffs"]
        if gate["ready"]:
            verdict = f"[green]READY[/] for {gate['stage']}" + (
                "" if sign["met"] else f"; sign-offs needed: {sign['required']}, have {sign['measured']}")
        else:
            verdict = f"[red]not ready[/] for {gate['stage']}: {len(gate['unmet'])} unmet"
        console.print(f"{label} — {verdict}")
        errors = gate.get("errors") or {}
        if any(errors.values()):
            console.print("        [yellow]errored runs in the window[/]: " + ", ".join(
                f"{n} {cause}" for cause, n in errors.items()) + " [dim](agent errors count as mistakes; "
                "harness and environment errors do not, and block promotion)[/]")
        for c in gate["criteria"] + [sign]:
            ok = "[green]  ok[/]" if c["met"] else "[red]  no[/]"
            console.print(f"  {ok}  {c['name']:<24} required {_fmt(c['required'])}, measured {_fmt(c['measured'])}")
            console.print(f"        [dim]{escape(c['detail'])}[/]")
    console.print()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def promote_cmd(workflow: Annotated[str, typer.Argument(help="The workflow to promote.")],
                by: Annotated[str, typer.Option("--by", help="Who signs off (a name in the policy's people).")],
                reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")],
                to: Annotated[str | None, typer.Option("--to", help="The next stage up (default: the next "
                                                       "stage on the workflow's ladder).")] = None,
                agent: AgentOpt = None,
                override: Annotated[bool, typer.Option("--override", help="Promote although criteria are "
                                                       "unmet; recorded as an override.")] = False,
                ledger: LedgerOpt = None, policy: PolicyOpt = None, as_json: JsonOpt = False) -> None:
    """Promote WORKFLOW one stage up when the gate is met (refused with every unmet criterion)."""
    from harness import promotion

    def work():
        led, pol = _open(ledger, policy)
        with led:
            target = to or _next_stage(led, pol, workflow)
            return promotion.promote(led, pol, workflow, target, by, reason, agent=agent, override=override)

    t = _run(work)
    if as_json:
        typer.echo(json.dumps(t, indent=2, default=str))
        return
    extra = " [OVERRIDE: " + ", ".join(t["gate"]["override"]["unmet"]) + " unmet]" if t["override"] else ""
    typer.echo(f"promoted {t['workflow']}: {t['from_stage']} → {t['to_stage']} for {t['agent']}@"
               f"{t['agent_version']} by {t['actor']} (transition #{t['seq']}, evidence "
               f"{t['evidence_digest'][:12]}){extra}")


def _next_stage(led: Any, pol: Any, workflow: str) -> str:
    from harness.errors import UsageError

    current = led.stage_of(workflow)
    target = pol.workflow(workflow).next_stage(current)
    if target is None:
        raise UsageError(f"{workflow} is at {current}, the top of its ladder: there is no stage to promote to.",
                         field="--to")
    return target


def demote_cmd(workflow: Annotated[str, typer.Argument(help="The workflow to demote.")],
               to: Annotated[str, typer.Option("--to", help="A lower stage.")],
               by: Annotated[str, typer.Option("--by", help="Who demotes.")],
               reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")],
               ledger: LedgerOpt = None, policy: PolicyOpt = None, as_json: JsonOpt = False) -> None:
    """Demote WORKFLOW to a lower stage."""
    from harness import promotion

    def work():
        led, pol = _open(ledger, policy)
        with led:
            return promotion.demote(led, pol, workflow, to, by, reason)

    t = _run(work)
    if as_json:
        typer.echo(json.dumps(t, indent=2, default=str))
        return
    typer.echo(f"demoted {t['workflow']}: {t['from_stage']} → {t['to_stage']} by {t['actor']} "
               f"(transition #{t['seq']})")


def history_cmd(workflow: Annotated[str | None, typer.Argument(help="One workflow (default: all).")] = None,
                as_json: JsonOpt = False, ledger: LedgerOpt = None) -> None:
    """Stage transitions with who, when, why, sign-offs and evidence digests."""
    from harness import promotion
    from harness.ledger import Ledger

    if _say_no_ledger(ledger, as_json):
        return

    def work():
        with Ledger(ledger) as led:
            return promotion.history(led, workflow)

    rows = _run(work)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        typer.echo(f"no stage transitions{f' for {workflow}' if workflow else ''} yet "
                   "(every workflow starts at sandbox).")
        return
    console = out
    for t in rows:
        change = f"{t['from_stage']} → {t['to_stage']}" + (" [bold red](override)[/]" if t["override"] else "")
        signed = ", ".join(s["person"] for s in t["signoffs"])
        console.print(f"[bold]{t['workflow']}[/] #{t['seq']}  {t['created_at'][:19].replace('T', ' ')}Z  "
                      f"{change}  by {escape(t['actor'])}" + (f" (signed off: {escape(signed)})" if signed else ""))
        facts = [f"agent {t['agent']}@{t['agent_version']}" if t["agent"] else None,
                 f"evidence {t['evidence_digest'][:12]}" if t["evidence_digest"] else None,
                 f"policy {t['policy_digest'][:12]}" if t["policy_digest"] else None]
        if any(facts):
            console.print("    " + " · ".join(f for f in facts if f))
        console.print(f"    reason: {escape(t['reason'])}")


def register(app: typer.Typer) -> None:
    """Add ``status``, ``promote``, ``demote`` and ``history`` to the root app."""
    app.command("status")(status_cmd)
    app.command("promote")(promote_cmd)
    app.command("demote")(demote_cmd)
    app.command("history")(history_cmd)


def main() -> None:  # pragma: no cover - for running this module alone
    app = typer.Typer(add_completion=False)
    register(app)
    app(sys.argv[1:])
