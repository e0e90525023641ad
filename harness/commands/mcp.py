"""``harness mcp serve``: offer a scenario's world to any MCP client, which then acts as the agent.

stdout carries the MCP protocol (JSON-RPC over stdio): this command writes nothing else there.
Errors before serving and the one-line run summary go to stderr.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from harness.errors import UsageError

app = typer.Typer(help="Serve a scenario over MCP so that any MCP client (Claude Desktop, an IDE agent) "
                       "can be the agent under test.", no_args_is_help=True)


@app.command("serve")
def serve_command(
    scenario_file: Path = typer.Argument(..., help="One scenario YAML file."),
    stage: str | None = typer.Option(None, "--stage", help="sandbox, suggest, approve or autonomous (default: "
                                     "the stage granted to the agent version)."),
    rehearse: bool = typer.Option(False, "--rehearse", help="Run above the grant as a rehearsal (on the fakes; "
                                  "marked, never evidence)."),
    policy: Path | None = typer.Option(None, "--policy", help="Policy file (stage bounds)."),
    agent_name: str | None = typer.Option(None, "--agent-name",
                                             help="Record the run under this agent name "
                                                  "(default: the name the client announces)."),
    agent_version: str | None = typer.Option(None, "--agent-version",
                                                help="Record this agent version "
                                                     "(default: the version the client announces)."),
    out_dir: Path | None = typer.Option(None, "--out", help="Write runs.jsonl and audit/ here."),
    ledger: str | None = typer.Option(None, "--ledger", help="Ledger URL (default: .harness/ledger.db)."),
    no_ledger: bool = typer.Option(False, "--no-ledger", help="Do not record the run in the ledger."),
    seed: int = typer.Option(0, "--seed", help="Base seed of the run."),
    trial: int = typer.Option(0, "--trial", min=0, help="Trial number recorded with the run."),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1,
                                            help="Tool calls allowed (default: the scenario's limit)."),
    timeout_s: float = typer.Option(3600.0, "--timeout-s", min=0.001,
                                    help="Wall-clock limit of the run in seconds, from the first tool call "
                                         "(default one hour: a person may be driving the client)."),
) -> None:
    """Serve SCENARIO_FILE over MCP on stdin/stdout; score and record the run when the client calls
    finish_run or disconnects. Exit 0 when the run passed (or no tool was called), 1 otherwise."""
    from harness.commands._common import load_policy_or_default, open_ledger
    from harness.commands.run import _existing_ledger, _Recorder
    from harness.config import audit_dir, audit_key
    from harness.grants import stages_for_suite
    from harness.mcp_server import McpSession, serve_stdio, summary_line
    from harness.models import STAGES
    from harness.runner import RunConfig
    from harness.scenario import load_scenario_file

    if stage is not None and stage not in STAGES:
        raise UsageError(f"unknown stage {stage!r}.", field="--stage", expected="one of " + ", ".join(STAGES))
    if not scenario_file.is_file():
        raise UsageError(f"{scenario_file} is not a file.", field="SCENARIO_FILE",
                         expected="the path of one scenario YAML file")
    try:
        import mcp  # noqa: F401
    except ImportError:  # pragma: no cover - a dependency
        raise UsageError("the MCP SDK is not installed.", expected="pip install 'mcp>=2.3'") from None
    scenario = load_scenario_file(scenario_file)
    the_policy = load_policy_or_default(str(policy) if policy else None)
    audit_folder = (out_dir / "audit") if out_dir else audit_dir()
    config = RunConfig(stage=stage or "sandbox", seed=seed, concurrency=1, policy=the_policy,
                       audit_dir=audit_folder, audit_key=audit_key(), max_steps=max_steps, timeout_s=timeout_s)
    store = None if no_ledger else open_ledger(ledger)
    grants_from = store if store is not None else _existing_ledger(ledger)

    def choose_stage(name: str, version: str) -> None:
        """At run start (the agent's name and version may come from the client): the grant rules."""
        stages, rehearsals = stages_for_suite(grants_from, the_policy, [scenario.workflow], name, version, stage,
                                              rehearse)
        config.stages, config.rehearsals = stages, rehearsals

    def watch(name: str, version: str):
        g = grants_from.grant(scenario.workflow, name, version)
        pause = g["pause"]
        return g["stage"], (f"paused by {pause['by']}: {pause['reason']}" if pause else None)

    if agent_name and agent_version:  # known now: refuse before serving
        choose_stage(agent_name, agent_version)
    recorder = _Recorder(store, out_dir)
    demotions: list[dict] = []
    record_errors: list[str] = []

    def on_result(result, plan) -> None:
        try:
            recorder.add(result, plan)
            recorder.flush()
            demotions.extend(recorder.check_demotions(the_policy, [result]))
        except Exception as exc:  # noqa: BLE001 - reported on stderr; the audit log is already written
            record_errors.append(f"{type(exc).__name__}: {exc}")

    session = McpSession(scenario, config, name=agent_name, version=agent_version, trial=trial,
                         on_result=on_result, choose_stage=choose_stage,
                         watch=watch if grants_from is not None else None)

    def report(result, ended_because) -> int:
        typer.echo(summary_line(result, ended_because), err=True)
        if result is not None and result.audit_path:
            typer.echo(f"  audit log: {result.audit_path}  (harness audit explain {result.run_id})", err=True)
        for d in demotions:
            typer.echo(f"  demoted {d.get('workflow')}: {d.get('from_stage', d.get('from'))} → "
                       f"{d.get('to_stage', d.get('to'))} ({d.get('reason', '')})", err=True)
        for problem in record_errors:
            typer.echo(f"error: the run could not be recorded: {problem}", err=True)
        if record_errors:
            return 3
        return 0 if result is None or result.outcome == "pass" else 1

    result = asyncio.run(serve_stdio(session, on_signal_exit=lambda r, why: report(r, why)))
    code = report(result, session.ended_because)
    if code:
        raise typer.Exit(code)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="mcp")
