"""``harness tools`` and ``harness scenarios``: the tool catalogue and the scenario format."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import typer
from rich.table import Table

from harness.commands._common import out
from harness.errors import HarnessError, UsageError

scenarios_app = typer.Typer(help="Validate, list and describe scenario files.", no_args_is_help=True)


def tools_command(fmt: str = typer.Option("openai", "--format", "-f", help="openai, anthropic or mcp.")) -> None:
    """Print the tool catalogue as JSON for OpenAI, Anthropic or MCP tool calling."""
    from harness.tools import export

    if fmt not in ("openai", "anthropic", "mcp"):
        raise UsageError(f"unknown format {fmt!r}.", field="--format", expected="openai, anthropic or mcp")
    typer.echo(json.dumps(export(fmt), indent=2))


@scenarios_app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the scenario format."""
    from harness.scenario import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


@scenarios_app.command("validate")
def validate_command(paths: list[str] = typer.Argument(..., help="Files, folders or bundled suites (bundled:crm)."),
                     strict: bool = typer.Option(False, "--strict",
                                                 help="Exit 1 when any scenario has a warning."),
                     as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Check scenario files: schema, tools, and that the reference passes while doing nothing fails.

    Reports every bad file (not only the first); exit 2 when any is invalid. Warns about scenarios
    that cannot fail or whose checks any content meets.
    """
    from harness.scenario import find_scenario_files
    from harness.scenario_warnings import scenario_warnings
    from harness.validate import validate_scenario_file

    files = find_scenario_files(list(paths))
    checked: list[dict] = []
    seen: dict[str, str] = {}
    for path in files:
        shown = _shown(path)
        try:
            scenario = validate_scenario_file(path)
        except HarnessError as exc:
            checked.append({"path": shown, "ok": False, "error": exc.render(), "warnings": []})
            continue
        if scenario.id in seen:
            checked.append({"path": shown, "ok": False, "id": scenario.id, "warnings": [],
                            "error": f"{shown}, field `id`: the id {scenario.id!r} is already used by "
                                     f"{seen[scenario.id]}."})
            continue
        seen[scenario.id] = shown
        checked.append({"path": shown, "ok": True, "id": scenario.id,
                        "warnings": [{"field": f, "message": m} for f, m in scenario_warnings(scenario)]})
    bad = sum(not c["ok"] for c in checked)
    warned = sum(len(c["warnings"]) for c in checked)
    if as_json:
        typer.echo(json.dumps({"valid": len(files) - bad, "invalid": bad, "warnings": warned, "files": checked},
                              indent=2))
    else:
        for c in checked:
            if not c["ok"]:
                typer.echo(f"INVALID {c['error']}", err=True)
                continue
            typer.echo(f"ok      {c['path']} ({c['id']})")
            for w in c["warnings"]:
                typer.echo(f"WARNING {c['path']}, field `{w['field']}`: {w['message']}.")
        typer.echo(f"{len(files) - bad} valid, {bad} invalid" + (f", {warned} warning(s)" if warned else ""))
    if bad:
        raise typer.Exit(2)
    if strict and warned:
        raise typer.Exit(1)


def _shown(path: Path) -> str:
    """A path as the user would write it: relative to the current folder when it is under it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@scenarios_app.command("list")
def list_command(paths: list[str] = typer.Argument(None, help="Files, folders or bundled suites "
                                                                "(default: every bundled scenario)."),
                 as_json: bool = typer.Option(False, "--json", help="Print a JSON list.")) -> None:
    """List scenarios with their workflow, tier and title (with no path: the bundled suites)."""
    from harness.scenario import load_scenarios

    scenarios = load_scenarios(list(paths) if paths else ["bundled"])
    if as_json:
        typer.echo(json.dumps([{"id": s.id, "workflow": s.workflow, "tier": s.tier, "title": s.title,
                                "path": _shown(Path(s.path)), "digest": s.digest} for s in scenarios], indent=2))
        return
    table = Table(title=f"{len(scenarios)} scenarios")
    for col in ("id", "workflow", "tier", "title"):
        table.add_column(col)
    for s in scenarios:
        table.add_row(s.id, s.workflow, s.tier, s.title)
    out.print(table)
    counts = Counter(s.workflow for s in scenarios)
    out.print(", ".join(f"{w}: {n}" for w, n in sorted(counts.items())))


def register(root: typer.Typer) -> None:
    root.command("tools")(tools_command)
    root.add_typer(scenarios_app, name="scenarios")
