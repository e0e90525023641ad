"""``harness init [DIR]``: scaffold a project that runs, with a policy that names its workflows.

The files come from ``harness/defaults/project`` (package data): ``harness.toml`` (the options
people repeat), ``policy.yaml`` (one entry per workflow), ``scenarios/`` (one example per backend)
and ``agent.py`` (an example agent that passes them). Existing files are never overwritten.
"""

from __future__ import annotations

from pathlib import Path

import typer

TEMPLATE = Path(__file__).resolve().parent.parent / "defaults" / "project"


def init_command(folder: Path = typer.Argument(Path("."), help="The project folder (created if missing)."),
                 as_json: bool = typer.Option(False, "--json", help="Print the files written as JSON.")) -> None:
    """Scaffold a project: harness.toml, policy.yaml, one example scenario per backend, an example agent."""
    from harness.errors import UsageError

    files = sorted(p.relative_to(TEMPLATE) for p in TEMPLATE.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts)
    clashes = [str(rel) for rel in files if (folder / rel).exists()]
    if clashes:
        raise UsageError(f"{folder} already has {', '.join(clashes)}; nothing was written.",
                         file=str(folder), expected="a new or empty folder (init never overwrites files)")
    if folder.exists() and not folder.is_dir():
        raise UsageError("exists and is not a folder.", file=str(folder), expected="a folder")
    written = []
    for rel in files:
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((TEMPLATE / rel).read_bytes())
        written.append(str(target))
    if as_json:
        import json

        typer.echo(json.dumps({"folder": str(folder.absolute()), "written": written}))
        return
    for target in written:
        typer.echo(f"  wrote {target}")
    where = "" if folder.absolute() == Path.cwd() else f"cd {folder} && "
    typer.echo(f"\nNext: {where}harness scenarios validate && harness run && harness status\n"
               "Then replace agent.py with your agent and add scenarios under scenarios/ "
               "(harness scenarios schema prints the format).")


def register(app: typer.Typer) -> None:
    app.command("init")(init_command)
