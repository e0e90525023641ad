"""The ``harness`` command line. Each command group lives in ``harness.commands``.

Commands are mounted lazily: ``harness --help`` lists them from the table below without importing
their modules, and ``harness NAME`` imports only the module that defines NAME. A module that fails
to import is a bug in the harness (an internal error), never a silently missing command.
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from harness.errors import HarnessError
from harness.safetext import clean

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module in harness.commands whose ``register(app)`` adds it, the command's first help line)
    "run": ("run", "Run scenarios against an agent. Exit 0 when every run passed, 1 when any failed or errored."),
    "tools": ("catalogue", "Print the tool catalogue as JSON for OpenAI, Anthropic or MCP tool calling."),
    "status": ("promotion", "Each workflow's stage and, per agent version, the next gate criterion by criterion."),
    "promote": ("promotion", "Promote one agent version of WORKFLOW one stage up when its gate is met (each "
                             "attempt is a recorded look)."),
    "demote": ("promotion", "Demote WORKFLOW (every agent version above --to, or the one named) to a lower stage."),
    "pause": ("promotion", "The kill switch: refuse every write of every agent version of WORKFLOW, from the next "
                           "tool call on."),
    "resume": ("promotion", "Lift a pause: writes follow each agent version's grant again."),
    "incident": ("promotion", "Incidents at work: record one (the demotion rules apply at once), list them."),
    "suite": ("governance", "Declare the scenarios a workflow's coverage is judged against."),
    "history": ("promotion", "Stage transitions with who, when, why, sign-offs and evidence digests."),
    "report": ("report", "Write the trust report: verdicts, mistake rates with confidence bounds, blast radius, "
                         "history."),
    "demo": ("demo", "Tell the whole story on the bundled suites: runs, status, promotion, trust report."),
    "scenarios": ("catalogue", "Validate, list and describe scenario files."),
    "audit": ("audit", "Check and read the hash-chained audit log of a run: `verify` detects any edit, deletion, "
                       "insertion, reordering or truncation; `explain` tells the run as a readable timeline."),
    "plan": ("plan", "Review, approve or reject batched plans of agent actions."),
    "mcp": ("mcp", "Serve a scenario over MCP so that any MCP client (Claude Desktop, an IDE agent) can be the "
                   "agent under test."),
    "suggestions": ("suggestions", "Judge the writes agents suggested at work (stage suggest): evidence for "
                                   "promotion."),
    "gateway": ("gateway", "Stand between an agent and its real tools (upstream MCP servers), enforcing the stage "
                           "the ledger grants the agent version."),
    "init": ("init", "Scaffold a project: harness.toml, policy.yaml, one example scenario per backend, an example "
                     "agent."),
    "policy": ("policy", "Print the policy in force, or check a policy file."),
}
"""Every command of ``harness``. A new command module adds its commands here (a test checks that
each module's ``register`` adds exactly the names listed for it)."""


class LazyGroup(TyperGroup):
    """The root group: imports a command's module the first time the command is used."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands) + [name for name in COMMANDS if name not in self.commands]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        if self._listing:  # --help needs names and one-line help only
            return TyperCommand(cmd_name, help=entry[1])
        self._mount(entry[0])
        if cmd_name not in self.commands:
            raise RuntimeError(f"harness.commands.{entry[0]} does not register the command {cmd_name!r}")
        return self.commands[cmd_name]

    def _mount(self, module_name: str) -> None:
        module = import_module(f"harness.commands.{module_name}")
        holder = typer.Typer()
        module.register(holder)
        for name, command in typer.main.get_group(holder).commands.items():
            self.commands.setdefault(name, command)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        from difflib import get_close_matches

        from typer._click.exceptions import UsageError

        try:
            return self._click_resolve_command(ctx, args)
        except UsageError as exc:  # suggest among every command, mounted or not
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if matches:
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {', '.join(map(repr, matches))}?"
            raise

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(name="harness", cls=LazyGroup, no_args_is_help=True, add_completion=True,
                  pretty_exceptions_enable=False,
                  help="Sandbox simulation and staged rollout for AI agents. Options you repeat can live in "
                       "harness.toml or [tool.harness] in pyproject.toml (docs/configuration.md).")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        from harness import __version__

        try:
            found = version("agent-trust-harness")
        except PackageNotFoundError:  # running from a checkout that is not installed
            found = __version__
        typer.echo(f"harness {found}")
        raise typer.Exit()


@app.callback()
def _root(show_version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                            help="Print the version and exit.")) -> None:
    """Sandbox simulation and staged rollout for AI agents."""


def _defaults(command: Any) -> Any:
    """Option defaults from harness.toml / [tool.harness] (harness.settings); None without a file."""
    from harness import settings

    found = settings.find()
    return settings.default_map(command, found) if found else None


def main() -> None:
    try:
        command = typer.main.get_command(app)
        command.main(prog_name="harness", default_map=_defaults(command))
    except SystemExit as done:
        if done.code == 1 and type(sys.stdout).__name__ == "PacifyFlushWrapper":
            # click's answer to a closed pipe is exit 1, which means "a check failed" here
            from harness.commands._pipes import exit_quietly

            exit_quietly()
        raise
    except BrokenPipeError:  # the reader went away (harness status | head): stop quietly
        from harness.commands._pipes import exit_quietly

        exit_quietly()
    except HarnessError as exc:
        typer.echo(f"error: {clean(str(exc), None, multiline=True)}", err=True)
        sys.exit(exc.exit_code)
    except OSError as exc:  # a path the user gave cannot be read or written
        where = f" {exc.filename}" if exc.filename else ""
        typer.echo(f"error: cannot use{where}: {exc.strerror or exc}. Check the path and its permissions.",
                   err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - a damaged ledger is bad input, anything else a bug
        from sqlalchemy.exc import DBAPIError

        if not isinstance(exc, DBAPIError):
            _internal(exc)
        from harness.ledger._engine import opened, unreadable

        problem = unreadable(opened[-1] if opened else "(unknown)", exc)
        typer.echo(f"error: {clean(problem.render(), None, multiline=True)}", err=True)
        sys.exit(problem.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


def _internal(exc: BaseException) -> None:
    """A bug: one line, not a traceback, unless HARNESS_DEBUG asks for it."""
    if os.environ.get("HARNESS_DEBUG"):
        raise exc
    typer.echo(f"internal error: {type(exc).__name__}: {clean(str(exc), 500)} (a bug in the harness; "
               "set HARNESS_DEBUG=1 for the traceback)", err=True)
    sys.exit(3)


if __name__ == "__main__":
    main()
