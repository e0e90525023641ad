"""``harness policy show | validate | pin | pinned``: print the policy in force, check a policy file,
pin the policy that governs a workflow (a recorded change), print the pinned one.

``show`` prints what the gateway and the gates will use — every workflow, its ladder, each stage's
gate and bounds, with defaults filled in and anchors expanded — so a reviewer reads one resolved
document. ``validate`` loads a file with every check the harness applies at run time and, given
scenarios, checks that each of their workflows is named (a workflow the policy does not name stays
at sandbox).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from harness.commands._common import out

app = typer.Typer(help="Print the policy in force, or check a policy file.", no_args_is_help=True)

PolicyOpt = typer.Option(None, "--policy", help="Policy YAML (default: $HARNESS_POLICY or the bundled policy).")


def _describe(policy) -> dict:
    return {"path": policy.path, "digest": policy.digest,
            **policy.model_dump(mode="json", exclude_none=True)}


@app.command("show")
def show_command(workflow: str | None = typer.Argument(None, help="One workflow (default: all)."),
                 policy: str | None = PolicyOpt,
                 as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Print the policy in force: workflows, ladders, gates and bounds, defaults filled in."""
    import yaml

    from harness.policy import load_policy

    loaded = load_policy(policy)
    data = _describe(loaded)
    if workflow is not None:
        loaded.workflow(workflow)  # a clear error naming the known workflows
        data["workflows"] = {workflow: data["workflows"][workflow]}
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(f"# policy {data.pop('path')} (sha256 {data.pop('digest')[:12]})")
    typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None).rstrip())


@app.command("validate")
def validate_command(file: Path | None = typer.Argument(None, help="The policy file (default: --policy, "
                                                                   "$HARNESS_POLICY or the bundled one)."),
                     policy: str | None = PolicyOpt,
                     scenarios: list[str] = typer.Option([], "--scenarios", help="Scenario files, folders or "
                                                         "bundled suites whose workflows the policy must name "
                                                         "(repeatable)."),
                     as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Check a policy file. Exit 0 when valid, 2 when it is not, 1 when scenarios use unnamed workflows."""
    from harness.policy import load_policy

    loaded = load_policy(str(file) if file else policy)
    missing: list[str] = []
    if scenarios:
        from harness.scenario import load_scenarios

        used = sorted({s.workflow for s in load_scenarios(scenarios)})
        missing = [w for w in used if w not in loaded.workflows]
    result = {"path": loaded.path, "valid": True, "workflows": sorted(loaded.workflows),
              "unnamed_workflows": missing}
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        typer.echo(f"ok      {loaded.path}: {len(loaded.workflows)} workflows "
                   f"({', '.join(sorted(loaded.workflows)) or 'none'})")
        for w in missing:
            typer.echo(f"MISSING {w}: used by the scenarios but not named in the policy, so it stays at "
                       "sandbox (no gate to promote it)", err=True)
    if missing:
        raise typer.Exit(1)


ByOpt = Annotated[str, typer.Option("--by", help="Who makes the change (a person in the policy's `people`).")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the history).")]
LedgerOpt = Annotated[str | None, typer.Option("--ledger", help="Ledger URL (default: $HARNESS_LEDGER or "
                                                                "the SQLite file in $HARNESS_HOME).")]
PinPolicyOpt = Annotated[str | None, typer.Option("--policy", help="The policy file to pin (default: "
                                                                   "$HARNESS_POLICY or the bundled policy).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _run(work):
    from harness.commands.promotion import _run as run

    return run(work)


@app.command("pin")
def policy_pin_cmd(workflow: Annotated[str, typer.Argument(help="The workflow.")], by: ByOpt, reason: ReasonOpt,
                   policy: PinPolicyOpt = None, ledger: LedgerOpt = None, as_json: JsonOpt = False) -> None:
    """Make --policy the policy that governs WORKFLOW (needs the role the pinned policy names)."""
    from harness import governance

    def work():
        from harness.ledger import Ledger
        from harness.policy import load_policy

        with Ledger(ledger) as led:
            return governance.pin_policy(led, load_policy(policy), workflow, by, reason)

    pin = _run(work)
    if as_json:
        typer.echo(json.dumps(pin, indent=2, default=str))
        return
    out.print(f"{escape(workflow)} is governed by policy {pin['digest'][:16]} ({escape(str(pin['path']))}), "
              f"pinned by {escape(pin['pinned_by'])}")


@app.command("pinned")
def policy_pinned_cmd(workflow: Annotated[str, typer.Argument(help="The workflow.")], ledger: LedgerOpt = None,
                    as_json: JsonOpt = False, content: bool = typer.Option(False, "--content",
                                                                           help="Print the pinned policy file.")
                    ) -> None:
    """The policy pinned for WORKFLOW: digest, who pinned it, when and why."""
    def work():
        from harness.ledger import Ledger

        with Ledger(ledger) as led:
            return led.policy_pin(workflow)

    pin = _run(work)
    if as_json:
        typer.echo(json.dumps(pin, indent=2, default=str))
        return
    if pin is None:
        out.print(f"{escape(workflow)}: no policy pinned yet (the first promotion pins the policy it uses)")
        return
    if content:
        typer.echo(pin["content"])
        return
    out.print(f"{escape(workflow)}: policy {pin['digest'][:16]} from {escape(str(pin['path']))}, pinned by "
              f"{escape(pin['pinned_by'])} at {pin['pinned_at']}: {escape(pin['reason'])}")



def register(root: typer.Typer) -> None:
    root.add_typer(app, name="policy")
