"""``harness demo``: the whole story on the bundled suites, from a fresh ledger to a trust report.

Two versions of the simulated agent — a sloppy one and a careful one — build track records at
sandbox; ``status`` shows the careful version meets the gate to the next stage and the sloppy one
does not; the careful one is promoted with a demo sign-off and builds evidence at the stages it is
granted (suggest, then approve with a careful reviewer), while the sloppy one only rehearses them:
marked, and never counted as evidence. A trust report is written.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from harness.commands._common import out
from harness.errors import GateNotMet, UsageError
from harness.safetext import markup

MARKER = ".harness-demo"
SIGNER = "dana@example.com"
AGENTS = {
    "sloppy": {"mistake_rate": "0.3", "seed": "11"},
    "careful": {"mistake_rate": "0.02", "seed": "12"},
}


def bundled_scenarios() -> Path:
    """The suites shipped with the package (the same in a checkout and an installed wheel)."""
    from harness.bundled import root

    return root()


def _fresh_dir(folder: Path) -> None:
    if folder.exists():
        if not (folder / MARKER).exists() and any(folder.iterdir()):
            raise UsageError(f"{folder} exists and was not made by `harness demo`; refusing to overwrite it.",
                             field="--dir", expected="a new or empty folder, or a previous demo folder")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("made by harness demo; safe to delete\n")


def _step(n: int, title: str) -> None:
    out.print(f"\n[bold cyan]{n}. {title}[/]")


def demo_command(
    folder: Path = typer.Option(Path("harness-demo"), "--dir", help="Demo folder (recreated each time)."),
    trials: int = typer.Option(6, "--trials", min=1, help="Sandbox runs per scenario and agent."),
) -> None:
    """Tell the whole story on the bundled suites: runs, status, promotion, trust report."""
    started = time.perf_counter()
    scenarios_dir = bundled_scenarios()
    _fresh_dir(folder)
    os.environ["HARNESS_HOME"] = str(folder)
    os.environ.pop("HARNESS_LEDGER", None)

    from harness import promotion
    from harness.agents import load_agent
    from harness.commands.run import execute
    from harness.config import audit_dir, ledger_url
    from harness.ledger import Ledger
    from harness.models import STAGES
    from harness.plans import Reviewer
    from harness.policy import load_policy
    from harness.runner import RunConfig, fresh_seed
    from harness.scenario import load_scenarios

    scenarios = load_scenarios([scenarios_dir])
    policy = load_policy(None)
    ledger = Ledger(ledger_url())
    providers = {label: load_agent("simulated", dict(options)) for label, options in AGENTS.items()}
    label_of = {p.version: label for label, p in providers.items()}
    workflows = sorted({s.workflow for s in scenarios})
    out.print(f"[bold]Demo[/] in {folder}/ — {len(scenarios)} scenarios in {len(workflows)} workflows; "
              f"two versions of the simulated agent:")
    for label, p in providers.items():
        out.print(f"  {label:8} simulated@{markup(p.version)}")

    def run(stage: str, n: int, reviewer: Reviewer | None = None) -> dict[str, Any]:
        """Each version at ``stage`` where it is granted it, and as a marked rehearsal where it is not."""
        figures = {}
        for label, provider in providers.items():
            stages = {wf: stage for wf in workflows}
            rehearsals = frozenset(wf for wf in workflows if STAGES.index(
                ledger.stage_of(wf, provider.name, provider.version)) < STAGES.index(stage))
            config = RunConfig(stage=stage, trials=n, seed=fresh_seed(), policy=policy, reviewer=reviewer,
                               audit_dir=audit_dir(),
                               concurrency=16, stages=stages, rehearsals=rehearsals)
            suite, _ = execute(scenarios, provider, config, ledger, progress=False)
            figures[label] = _figures(suite)
            figures[label]["rehearsed"] = len(rehearsals)
        return figures

    for wf in workflows:  # what coverage is judged against: the bundled files at their current digests
        ledger.register_suite(wf, [{"scenario": sc.id, "digest": sc.digest, "path": str(sc.path)}
                                   for sc in scenarios if sc.workflow == wf], SIGNER)
    out.print(f"  suites registered for {len(workflows)} workflows (`harness suite register`)")

    _step(1, f"Sandbox: every scenario × {trials} trials, for both versions (nothing is bounded)")
    _print_runs(run("sandbox", trials), "sandbox")

    _step(2, "Status: is each version ready for the next stage? (gate: upper bound at the last checkpoint reached)")
    ready = _print_status(promotion.status(ledger, policy), label_of)

    _step(3, f"Promotion: the careful version, signed off by {SIGNER}; the sloppy one is refused")
    careful = providers["careful"]
    sloppy = providers["sloppy"]
    refused_shown = False
    for wf in workflows:
        if not refused_shown:
            try:
                promotion.promote(ledger, policy, wf, "suggest", SIGNER, "demo", agent=f"simulated@{sloppy.version}")
            except GateNotMet as exc:
                first = str(exc).splitlines()
                out.print(f"  [red]refused[/] {wf} for sloppy: " + markup(" ".join(x.strip() for x in first[:3])))
                refused_shown = True
        if (wf, careful.version) in ready:
            _promote(promotion, ledger, policy, wf, "suggest", careful.version,
                     "demo: the careful version's sandbox record meets the gate")

    _step(4, "Suggest: writes become suggestions — realised blast radius stays zero (the sloppy version, "
             "not granted suggest, runs it only as a rehearsal that never counts as evidence)")
    _print_runs(run("suggest", 3 * trials), "suggest")

    _step(5, "Status again, and promotion to approve where the evidence is there")
    ready = _print_status(promotion.status(ledger, policy), label_of)
    for wf in workflows:
        if (wf, careful.version) in ready and ledger.stage_of(wf, careful.name, careful.version) == "suggest":
            _promote(promotion, ledger, policy, wf, "approve", careful.version,
                     "demo: suggest-stage and sandbox evidence meet the approve gate")

    _step(6, "Approve: writes are batched into plans; a careful reviewer (catch rate 0.8) decides them")
    figures = run("approve", max(2, trials // 2), Reviewer("careful", 0.8))
    _print_runs(figures, "approve")
    for label, f in figures.items():
        out.print(f"  {label:8} {f['plans']} plans reviewed; the reviewer caught {f['caught']} of {f['wrong']} "
                  f"wrong actions")

    _step(7, "Trust report")
    report_paths = _write_reports(folder, ledger, policy)
    for p in report_paths:
        out.print(f"  wrote {p}")
    first = report_paths[0] if report_paths else folder
    out.print(f"\nDone in {time.perf_counter() - started:.1f} s. Next: open {first}; "
              f"`HARNESS_HOME={folder} harness status`; `HARNESS_HOME={folder} harness history "
              f"{workflows[0]}`.")


def _promote(promotion: Any, ledger: Any, policy: Any, wf: str, to: str, version: str, reason: str) -> None:
    try:
        promotion.promote(ledger, policy, wf, to, SIGNER, reason, agent=f"simulated@{version}")
    except GateNotMet as exc:
        out.print(f"  [yellow]not promoted[/] {wf} → {to}: {markup(str(exc).splitlines()[0])}")
        return
    out.print(f"  [green]promoted[/] {wf} → {to} (careful), signed off by {SIGNER}")


def _figures(suite: Any) -> dict[str, Any]:
    results = suite.results
    real = sum(sum(r.blast_radius.realised.model_dump().values()) > 0 for r in results)
    pot = sum(sum(r.blast_radius.potential.model_dump().values()) > 0 for r in results)
    decided = [p for p in suite.plans if getattr(p, "decision", None)]
    return {"runs": len(results), "passed": sum(r.outcome == "pass" for r in results),
            "realised": real, "potential": pot, "plans": len(decided),
            "wrong": sum(len(p.decision["wrong"]) for p in decided),
            "caught": sum(len(p.decision["caught"]) for p in decided)}


def _print_runs(figures: dict[str, Any], stage: str) -> None:
    table = Table(show_edge=False)
    for col in ("agent", "runs", "passed", "runs with realised harm", "runs with potential harm", "note"):
        table.add_column(col, justify="left" if col in ("agent", "note") else "right")
    for label, f in figures.items():
        note = f"rehearsal in {f['rehearsed']} workflow(s): not evidence" if f.get("rehearsed") else ""
        table.add_row(label, str(f["runs"]), f"{f['passed']} ({f['passed'] / max(1, f['runs']):.0%})",
                      str(f["realised"]), str(f["potential"]), note)
    out.print(table)


def _print_status(entries: list[dict], label_of: dict[str, str]) -> set[tuple[str, str]]:
    table = Table(show_edge=False)
    for col in ("workflow", "granted", "agent", "next", "mistake rate (bound at checkpoint vs max)", "ready?"):
        table.add_column(col)
    ready: set[tuple[str, str]] = set()
    for entry in entries:
        for agent in entry.get("agents", []):
            gate = agent.get("gate") or {}
            label = label_of.get(agent["agent_version"], agent["agent_version"])
            rate = next((c for c in gate.get("criteria", []) if c["name"] == "max_mistake_rate"), None)
            rate_text = "-" if not rate else (
                f"{rate['measured']:.1%} vs {rate['required']:.0%}" if rate["measured"] is not None
                else f"first checkpoint not reached (gate {rate['required']:.0%})")
            unmet = gate.get("unmet") or []
            if gate.get("ready"):
                ready.add((entry["workflow"], agent["agent_version"]))
            verdict = "[green]yes[/]" if gate.get("ready") else f"[red]no[/] ({', '.join(unmet) or 'no gate'})"
            table.add_row(entry["workflow"], agent.get("stage", "sandbox"), label, str(agent.get("next_stage") or "-"),
                          rate_text, verdict)
    out.print(table)
    return ready


def _write_reports(folder: Path, ledger: Any, policy: Any) -> list[Path]:
    from reports import build_report, write_report

    report = build_report(ledger, policy)
    paths = []
    for suffix in (".html", ".md", ".json"):
        target = folder / f"trust-report{suffix}"
        write_report(report, target)
        paths.append(target)
    return paths


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)


_ = Optional
