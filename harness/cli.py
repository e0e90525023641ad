"""The ``harness`` command line. Each command group lives in ``harness.commands``."""

from __future__ import annotations

import os
import sys

import typer

from harness.commands import catalogue, run
from harness.errors import HarnessError

app = typer.Typer(name="harness", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Sandbox simulation and staged rollout for AI agents.")
app.command("run")(run.run_command)
app.command("tools")(catalogue.tools_command)
app.add_typer(catalogue.scenarios_app, name="scenarios")


def _mount_optional() -> None:
    """Command groups that live in their own modules."""
    from harness.commands import audit as audit_commands

    app.add_typer(audit_commands.app, name="audit")
    try:
        from harness.commands import plan as plan_commands
        app.add_typer(plan_commands.app, name="plan")
    except ImportError:
        pass
    for name in ("promotion", "report", "demo", "mcp"):
        try:
            module = __import__(f"harness.commands.{name}", fromlist=["register"])
        except ImportError:
            continue
        module.register(app)


_mount_optional()


def _ledger_lookups() -> None:
    """Let ``harness audit`` find logs written with ``--out DIR`` and check heads the ledger recorded."""
    from pathlib import Path

    from harness.audit import set_head_lookup, set_locator
    from harness.errors import NotFoundError

    def run_row(ref: str):
        from harness.config import ledger_url
        from harness.ledger import Ledger

        url = ledger_url()
        if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
            return None
        try:
            return Ledger(url).get_run(ref)
        except NotFoundError:
            return None

    def locate(ref: str):
        row = run_row(ref)
        return Path(row["audit_path"]) if row and row.get("audit_path") else None

    def head(run_id: str):
        row = run_row(run_id)
        return row.get("audit_head") if row else None

    set_locator(locate)
    set_head_lookup(head)


_ledger_lookups()


def main() -> None:
    try:
        app()
    except HarnessError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except OSError as exc:  # a path the user gave cannot be read or written
        where = f" {exc.filename}" if exc.filename else ""
        typer.echo(f"error: cannot use{where}: {exc.strerror or exc}. Check the path and its permissions.",
                   err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - a bug: one line, not a traceback, unless asked
        if os.environ.get("HARNESS_DEBUG"):
            raise
        typer.echo(f"internal error: {type(exc).__name__}: {exc} (a bug in the harness; "
                   "set HARNESS_DEBUG=1 for the traceback)", err=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
