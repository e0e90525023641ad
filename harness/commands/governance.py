"""``harness suite register|show`` (and ``harness policy pin|pinned``): what a workflow is judged on and by.

A workflow's suite is the set of scenario files (and their digests) its coverage is judged against;
its pinned policy is the one the ledger applies to it (gates, demotion rules), whatever ``--policy``
a later command is given. Changing either is recorded: who, when, why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from harness.commands._common import out
from harness.commands.promotion import JsonOpt, LedgerOpt, PolicyOpt, _run  # noqa: F401 - reused by policy pin

suite_app = typer.Typer(help="Declare the scenarios a workflow's coverage is judged against.", no_args_is_help=True)

ByOpt = Annotated[str, typer.Option("--by", help="Who makes the change (a person in the policy's `people`).")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the history).")]


@suite_app.command("register")
def suite_register_cmd(workflow: Annotated[str, typer.Argument(help="The workflow.")],
                       paths: Annotated[list[Path], typer.Argument(help="Scenario files or folders.")],
                       by: ByOpt, ledger: LedgerOpt = None, as_json: JsonOpt = False) -> None:
    """Declare WORKFLOW's suite: these scenario files at their current digests (replaces the old suite)."""
    from harness import governance

    def work():
        from harness.ledger import Ledger

        with Ledger(ledger) as led:
            return governance.register_suite(led, workflow, [str(p) for p in paths], by)

    suite = _run(work)
    if as_json:
        typer.echo(json.dumps(suite, indent=2, default=str))
        return
    out.print(f"{escape(workflow)}: suite of {len(suite)} scenarios registered by {escape(by)}")
    for e in suite:
        out.print(f"  {escape(e['scenario'])}  {e['digest'][:16]}  {escape(e['path'])}")


@suite_app.command("show")
def suite_show_cmd(workflow: Annotated[str, typer.Argument(help="The workflow.")], ledger: LedgerOpt = None,
                   as_json: JsonOpt = False) -> None:
    """The registered suite, and whether each file still has its registered digest."""
    from harness import governance

    def work():
        from harness.ledger import Ledger

        with Ledger(ledger) as led:
            return governance.suite_state(led, workflow)

    suite = _run(work)
    if as_json:
        typer.echo(json.dumps(suite, indent=2, default=str))
        return
    if not suite:
        out.print(f"{escape(workflow)}: no suite registered (`harness suite register {escape(workflow)} PATH...`)")
    for e in suite:
        out.print(f"  {escape(e['scenario'])}  {e['digest'][:16]}  {e['state']}  {escape(e['path'])}")


def register(app: typer.Typer) -> None:
    app.add_typer(suite_app, name="suite")
