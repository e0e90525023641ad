"""``harness report``: the trust report of one or more workflows, as HTML, Markdown or JSON.

``register(app)`` mounts the command on the root Typer app. The ``reports`` package (pandas,
matplotlib, Jinja2) is imported only when the command runs, so the rest of the CLI never pays for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.errors import HarnessError
from harness.safetext import clean


def report_cmd(
    out: Annotated[Path, typer.Option("--out", help="Where to write: .html (self-contained page), .md "
                                      "(tables; figures as PNGs in <name>_files/) or .json (the numbers).",
                                      show_default=False)],
    workflow: Annotated[list[str] | None, typer.Option("--workflow", help="A workflow to report on "
                                                       "(repeatable; default: every workflow in the ledger).",
                                                       show_default=False)] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only runs started (and plans created) on or "
                                              "after this ISO date or date-time (UTC).", show_default=False)] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent: NAME@VERSION (or NAME for "
                                              "every version).", show_default=False)] = None,
    ledger: Annotated[str | None, typer.Option("--ledger", help="Ledger URL (default: $HARNESS_LEDGER or the "
                                               "SQLite file in $HARNESS_HOME).", show_default=False)] = None,
    policy: Annotated[str | None, typer.Option("--policy", help="Policy YAML (default: $HARNESS_POLICY or the "
                                               "bundled policy).", show_default=False)] = None,
    no_images: Annotated[bool, typer.Option("--no-images", help="Markdown only: leave the figures out.")] = False,
) -> None:
    """Write the trust report: verdicts, mistake rates with confidence bounds, blast radius, history."""
    try:
        written, report = _build_and_write(out, workflow, since, agent, ledger, policy, not no_images)
    except HarnessError as exc:
        typer.echo(f"error: {clean(exc.render(), None, multiline=True)}", err=True)
        raise typer.Exit(exc.exit_code) from None
    totals = report["overall"]["totals"]
    extra = f" (+{len(written) - 1} figure files)" if len(written) > 1 else ""
    typer.echo(f"wrote {written[0]}{extra}: {len(report['workflows'])} workflow(s), {totals['runs']:,} runs")
    for w in report["overall"]["workflows"]:
        typer.echo(f"  {w['workflow']}: {w['summary']}")


def _build_and_write(out: Path, workflows: list[str] | None, since: str | None, agent: str | None,
                     ledger_url: str | None, policy_path: str | None, images: bool):
    from harness.config import ledger_url as resolve_url
    from harness.ledger import Ledger
    from harness.policy import load_policy
    from reports import build_report, format_for, parse_since, write_report
    from reports.scope import check_ledger_exists

    format_for(out)  # a bad extension fails before any work
    since_dt = parse_since(since)
    pol = load_policy(policy_path)
    url = resolve_url(ledger_url)
    check_ledger_exists(url)
    with Ledger(url) as led:
        report = build_report(led, pol, workflows=workflows or None, since=since_dt, agent=agent)
    return write_report(report, out, images=images), report


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
