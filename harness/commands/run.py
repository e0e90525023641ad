"""``harness run``: run scenario suites against an agent and summarise outcomes and blast radius."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.commands._common import err, load_policy_or_default, open_ledger, out
from harness.config import audit_dir, audit_key
from harness.errors import UsageError
from harness.models import BLAST_DIMENSIONS, SEVERITIES, STAGES, RunResult
from harness.reliability import pass_hat
from harness.safetext import markup

RECORD_BATCH = 500
MAX_TRIALS = 100_000
MAX_RUNS = 1_000_000
"""Larger suites are refused up front (exit 2) rather than left to exhaust memory."""


def run_command(
    paths: list[Path] = typer.Argument(..., help="Scenario files or folders (searched recursively)."),
    agent: str = typer.Option(..., "--agent", help="oracle, simulated, replay, noop, openai, or module:attribute."),
    agent_arg: list[str] = typer.Option([], "--agent-arg", "-a", help="Agent option key=value (repeatable)."),
    agent_version: str | None = typer.Option(None, "--agent-version", help="Record this version."),
    trials: int = typer.Option(1, "--trials", "-n", min=1, max=MAX_TRIALS, help="Runs per scenario."),
    seed: int | None = typer.Option(None, "--seed", help="Base seed for the runs (agents' randomness; default: "
                                    "fresh per invocation, so a re-run is new evidence, not a copy)."),
    concurrency: int = typer.Option(8, "--concurrency", "-j", min=1,
                                    help="Runs in flight (across all worker processes)."),
    workers: int | None = typer.Option(None, "--workers", min=1,
                                       help="Worker processes with --executor local (default: every core)."),
    stage: str | None = typer.Option(None, "--stage", help="sandbox, suggest, approve or autonomous (default: "
                                           "the stage granted to this agent version, per workflow)."),
    rehearse: bool = typer.Option(False, "--rehearse", help="Run above the granted stage on the fakes, as a "
                                  "rehearsal: marked as such and never counted as evidence."),
    policy: Path | None = typer.Option(None, "--policy", help="Policy file (stage bounds, gates)."),
    reviewer: str | None = typer.Option(None, "--reviewer",
                                           help="Decide approve-stage plans: approve-all, reject-all, careful."),
    catch_rate: float | None = typer.Option(None, "--catch-rate", help="For --reviewer careful (0..1)."),
    out_dir: Path | None = typer.Option(None, "--out", help="Write runs.jsonl and audit/ here."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the table."),
    ledger: str | None = typer.Option(None, "--ledger", help="Ledger URL (default: .harness/ledger.db)."),
    no_ledger: bool = typer.Option(False, "--no-ledger", help="Do not record the runs."),
    no_audit: bool = typer.Option(False, "--no-audit", help="Do not write audit logs."),
    in_process: bool = typer.Option(False, "--in-process",
                                    help="Run a module:attribute agent in this process (trusted code and "
                                         "benchmarks only: it can reach the world, ledger and keys)."),
    executor: str = typer.Option("local", "--executor", help="local (this process) or dask."),
    dask_address: str | None = typer.Option(None, "--dask-address",
                                               help="Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                                                    "(default with --executor dask: a local cluster)."),
) -> None:
    """Run scenarios against an agent. Exit 0 when every run passed, 1 when any failed or errored."""
    from harness.agents import load_agent, parse_options
    from harness.grants import stages_for_suite
    from harness.plans import parse_reviewer
    from harness.runner import RunConfig, fresh_seed
    from harness.scenario import load_scenarios

    if stage is not None and stage not in STAGES:
        raise UsageError(f"unknown stage {stage!r}.", field="--stage", expected="one of " + ", ".join(STAGES))
    scenarios = load_scenarios(list(paths))
    if len(scenarios) * trials > MAX_RUNS:
        raise UsageError(f"{len(scenarios)} scenarios × {trials} trials is {len(scenarios) * trials:,} runs; one "
                         f"`harness run` makes at most {MAX_RUNS:,}.", field="--trials",
                         expected="fewer trials, or several runs")
    provider = load_agent(agent, parse_options(agent_arg), agent_version, isolate=not in_process)
    the_policy = load_policy_or_default(str(policy) if policy else None)
    out_dir = out_dir.absolute() if out_dir else None  # stored with each run, shipped to workers
    store = None if no_ledger else open_ledger(ledger)
    grants_from = store if store is not None else _existing_ledger(ledger)
    stages, rehearsals = stages_for_suite(grants_from, the_policy, [s.workflow for s in scenarios], provider.name,
                                          provider.version, stage, rehearse)
    if reviewer and "approve" not in stages.values():
        raise UsageError("--reviewer decides plans, which only exist at stage approve.", field="--reviewer")
    audit_folder = None if no_audit else ((out_dir / "audit") if out_dir else audit_dir())
    for folder in (out_dir, audit_folder):
        if folder is not None:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UsageError(f"cannot create the folder {folder}: {exc.strerror or exc}.",
                                 field="--out", expected="a folder you can write to") from None
    if store is not None:
        store.bind_agent_spec(provider.name, provider.version, provider.spec_digest, provider.spec_description)
    seed = fresh_seed() if seed is None else seed
    config = RunConfig(stage=stage or "sandbox", trials=trials, seed=seed, concurrency=concurrency,
                       policy=the_policy, reviewer=parse_reviewer(reviewer, catch_rate), audit_dir=audit_folder,
                       audit_key=audit_key(), stages=stages, rehearsals=rehearsals)
    if executor not in ("local", "dask"):
        raise UsageError(f"unknown executor {executor!r}.", field="--executor", expected="local or dask")
    suite, demotions = execute(scenarios, provider, config, store, out_dir, progress=not as_json,
                               executor=executor, address=dask_address, workers=workers)
    results = suite.results
    if as_json:
        payload = summary_json(results)
        payload["seed"] = seed
        if demotions:
            payload["demotions"] = demotions
        typer.echo(json.dumps(payload, ensure_ascii=False))
    else:
        print_summary(results, suite.plans, _stage_label(stages, rehearsals))
        for d in demotions:
            err.print(f"[bold red]demoted[/] {markup(d.get('workflow'))}: {d.get('from_stage', d.get('from'))} → "
                      f"{d.get('to_stage', d.get('to'))} ({d.get('reason', '')})")
        if out_dir:
            out.print(f"runs written to {out_dir / 'runs.jsonl'}; audit logs in {audit_folder}")
    if any(r.outcome != "pass" for r in results):
        raise typer.Exit(1)


def register(root: typer.Typer) -> None:
    root.command("run")(run_command)


def _existing_ledger(url: str | None) -> Any:
    """With --no-ledger the grant is still read, from the ledger if there is one (never created)."""
    from harness.config import ledger_url

    resolved = ledger_url(url)
    if resolved.startswith("sqlite:///") and not Path(resolved[len("sqlite:///"):]).exists():
        return None
    return open_ledger(url)


def _stage_label(stages: dict[str, str], rehearsals: frozenset[str]) -> str:
    """``approve`` or ``sandbox/suggest`` (per workflow), with the rehearsals named."""
    names = sorted(set(stages.values()), key=STAGES.index)
    label = "/".join(names) or "sandbox"
    if rehearsals:
        label += f" — REHEARSAL for {', '.join(sorted(rehearsals))} (above the grant; not evidence)"
    return label


def execute(scenarios: list, provider: Any, config: Any, ledger: Any, out_dir: Path | None = None,
            progress: bool = True, executor: str = "local", address: str | None = None,
            workers: int | None = None) -> tuple[Any, list[dict]]:
    """Run the suite, record every result (runs.jsonl, ledger), then check demotion triggers."""
    from harness.executors import run_with

    recorder = _Recorder(ledger, out_dir, signer=_signer(config))
    if recorder.journal is not None:  # worker processes journal their runs too
        config.journal = (recorder.journal.prefix, recorder.journal.out)
    total = len(scenarios) * config.trials
    with Progress(TextColumn("[bold]running"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, disable=not (progress and err.is_terminal), transient=True) as bar_view:
        bar = bar_view.add_task("runs", total=total)

        def on_result(result: RunResult, plan: Any) -> None:
            recorder.add(result, plan)
            bar_view.advance(bar)

        try:
            suite = run_with(executor, scenarios, provider, config, on_result, address, workers)
        finally:
            recorder.flush()
            recorder.settle()
    return suite, recorder.check_demotions(config.policy, suite.results)


def _signer(config: Any) -> Any:
    """The harness's Ed25519 key signs each closed log's digest (in this process only)."""
    if config.audit_dir is None:
        return None
    from harness.audit._sign import Signer

    return Signer.load_or_create()


def _journal(ledger: Any, out_dir: Path | None) -> Any:
    """Replay what an earlier, killed run left unrecorded (and say so); start this run's journal."""
    if ledger is None:
        return None
    from harness._journal import Session, recover

    recorded, appended = recover(ledger, ledger.url)
    if recorded or appended:
        err.print(f"recovered {recorded} finished run(s) of an interrupted `harness run` into the ledger"
                  + (f" and {appended} into its runs.jsonl" if appended else ""))
    return Session(ledger.url, out_dir / "runs.jsonl" if out_dir is not None else None)


class _Recorder:
    """Writes results to runs.jsonl and the ledger in batches, each batch in one transaction."""

    def __init__(self, ledger: Any, out_dir: Path | None, signer: Any = None):
        self.ledger = ledger
        self.signer = signer
        self.pending: list[RunResult] = []
        self.plans: list[Any] = []
        self.file = None
        self.journal = _journal(ledger, out_dir)
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            self.file = open(out_dir / "runs.jsonl", "a", encoding="utf-8")

    def settle(self) -> None:
        """Every run is in the ledger now: the crash journal can go."""
        if self.journal is not None:
            self.journal.close(recorded=not (self.pending or self.plans))

    def add(self, result: RunResult, plan: Any) -> None:
        if self.journal is not None:
            self.journal.journal.add(result)  # first: a kill -9 from here on loses nothing
        if self.signer is not None and result.audit_path and result.audit_head:
            self.signer.sign_log(Path(result.audit_path), result.run_id, result.audit_head)
        if self.file is not None:
            self.file.write(json.dumps(result.public_dict(), ensure_ascii=False) + "\n")
        self.pending.append(result)
        if plan is not None:
            self.plans.append(plan)
        if len(self.pending) >= RECORD_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.file is not None:
            self.file.flush()
        if self.ledger is not None and (self.pending or self.plans):
            self.ledger.record_runs(self.pending)
            for plan in self.plans:
                self._save_plan(plan)
        self.pending, self.plans = [], []

    def _save_plan(self, plan: Any) -> None:
        """A plan decided in the run (simulated reviewer) is stored with its decision; the
        approve/partial/reject status is recorded first, since that is the approval evidence."""
        record = plan.to_record()
        decision = getattr(plan, "decision", None)
        if not decision:
            self.ledger.save_plan(record)
            return
        decided = "rejected" if not decision["approved"] else (
            "approved" if not decision["rejected"] else "partially_approved")
        now = datetime.now(UTC).isoformat()
        record.update(status=decided, decision=decision, decided_by=decision.get("by"),
                      reason=decision.get("reason"), decided_at=now)
        saved = self.ledger.save_plan(record)
        if plan.status in ("applied", "stale"):
            fields = {"status": plan.status}
            if plan.status == "applied":
                fields["applied_at"] = now
            self.ledger.update_plan(plan.plan_id, saved["version"], **fields)

    def check_demotions(self, policy: Any, results: list[RunResult]) -> list[dict]:
        if self.file is not None:
            self.file.close()
        if self.ledger is None or policy is None:
            return []
        from harness.promotion import check_demotions

        return list(check_demotions(self.ledger, policy, results) or [])


def summary_json(results: list[RunResult]) -> dict:
    return {
        "runs": len(results),
        "reliability": pass_hat(results),
        "passed": sum(r.outcome == "pass" for r in results),
        "failed": sum(r.outcome == "fail" for r in results),
        "errored": sum(r.outcome == "error" for r in results),
        "results": [{
            "run_id": r.run_id, "scenario": r.scenario, "workflow": r.workflow, "agent": r.agent,
            "agent_version": r.agent_version, "stage": r.stage, "rehearsal": r.rehearsal, "trial": r.trial,
            "outcome": r.outcome,
            "mistakes": [m.model_dump() for m in r.mistakes],
            "blast_radius": r.blast_radius.model_dump(),
            "error": r.error.model_dump() if r.error else None,
            "plan_id": r.plan_id, "audit_path": r.audit_path,
        } for r in results],
    }


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


SHORT = {"entities_touched": "touched", "irreversible_ops": "irreversible", "external_recipients": "external",
         "money_exposed": "money", "files_lost": "files lost"}


def print_summary(results: list[RunResult], plans: list[Any], stage: str) -> None:

    by_workflow: dict[str, list[RunResult]] = defaultdict(list)
    for r in results:
        by_workflow[r.workflow].append(r)
    table = Table(title=f"{len(results)} runs at stage {stage}", title_justify="left")
    table.add_column("workflow")
    table.add_column("runs", justify="right")
    table.add_column("pass", justify="right")
    table.add_column("fail", justify="right")
    table.add_column("error", justify="right")
    trials = max((r.trial for r in results), default=0) + 1
    if trials > 1:
        table.add_column(f"pass^{trials}", justify="right")
    table.add_column("mistakes (L/M/H/C)", justify="right")
    for dim in BLAST_DIMENSIONS:
        table.add_column(SHORT[dim], justify="right")
    for workflow in sorted(by_workflow):
        rs = by_workflow[workflow]
        sev = {s: sum(1 for r in rs for m in r.mistakes if m.severity == s) for s in SEVERITIES}
        cells = []
        for dim in BLAST_DIMENSIONS:
            real = sum(getattr(r.blast_radius.realised, dim) for r in rs)
            pot = sum(getattr(r.blast_radius.potential, dim) for r in rs)
            cells.append(f"{_fmt(real)}/{_fmt(pot)}")
        passed = sum(r.outcome == "pass" for r in rs)
        reliability = [f"{pass_hat(rs, (trials,)).get(f'pass^{trials}', 0):.0%}"] if trials > 1 else []
        table.add_row(workflow, str(len(rs)), f"{passed} ({passed / len(rs):.0%})",
                      str(sum(r.outcome == "fail" for r in rs)), str(sum(r.outcome == "error" for r in rs)),
                      *reliability, "/".join(str(sev[s]) for s in SEVERITIES), *cells)
    out.print(table)
    out.print("[dim]blast radius columns: realised/potential (what changed / what would have changed "
              "unsupervised)" + (f"; pass^{trials}: share of scenarios whose {trials} repeats all passed"
                                 if trials > 1 else "") + "[/]")
    contained = _containment(results)
    if contained:
        out.print(contained)
    if plans:
        out.print(_plan_summary(plans))
    failing = [r for r in results if r.outcome != "pass"]
    for r in failing[:10]:
        what = r.error.message if r.error else "; ".join(f"{m.type} ({m.severity}) {m.entity}"
                                                          for m in r.mistakes[:3])
        # entities and error messages come from agents: no markup, no control characters
        out.print(f"[red]{r.outcome.upper()}[/] {markup(r.scenario)} \\[t{r.trial}] {markup(what, 300)}  "
                  f"[dim]harness audit explain {r.run_id}[/]", markup=True)
    if len(failing) > 10:
        out.print(f"… and {len(failing) - 10} more runs that did not pass (use --json for all).")


def _containment(results: list[RunResult]) -> str:
    parts = []
    for dim in BLAST_DIMENSIONS:
        real = sum(getattr(r.blast_radius.realised, dim) for r in results)
        pot = sum(getattr(r.blast_radius.potential, dim) for r in results)
        if pot > 0:
            parts.append(f"{dim.replace('_', ' ')} {_fmt(pot - real)} of {_fmt(pot)} ({(pot - real) / pot:.0%})")
    return ("The stage contained: " + "; ".join(parts) + ".") if parts else ""


def _plan_summary(plans: list[Any]) -> str:
    decided = [p for p in plans if getattr(p, "decision", None)]
    if not decided:
        return (f"{len(plans)} plan(s) await review: harness plan list; "
                "harness plan approve PLAN_ID --by NAME")
    wrong = sum(len(p.decision["wrong"]) for p in decided)
    caught = sum(len(p.decision["caught"]) for p in decided)
    items = sum(len(p.items) for p in decided)
    share = f" ({caught / wrong:.0%})" if wrong else ""
    return (f"Plans: {len(decided)} reviewed, {items} actions; the reviewer caught {caught} of {wrong} "
            f"wrong actions{share}; {sum(p.status == 'applied' for p in decided)} plans applied.")
