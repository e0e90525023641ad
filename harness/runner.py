"""Runs scenarios × trials against an agent, concurrently, and scores every run.

Worlds are built once per scenario and *forked* per run (copy-on-write: the cost is the run's
changes, never the world's size). Agents may be sync or async: async agents overlap while they
wait on model calls; sync agents run in their own threads. A step limit and a wall-clock limit
end a run that loops or stalls as ``error``, and the rest of the suite goes on.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fakes import World, build_world
from harness.agents._api import EnvironmentFailure, Task, Toolbox, is_async
from harness.agents._isolated import AgentFailed
from harness.audit import AuditLog, NullAuditLog
from harness.errors import InvalidScenario, PlanRefused
from harness.gateway import AgentStopped, Gateway, HarnessBug
from harness.models import RunError, RunResult
from harness.plans import Plan, Reviewer, StalePlan, apply_plan, make_plan
from harness.scenario import Scenario
from harness.scoring import bad_changes, score

ResultSink = Callable[[RunResult, "Plan | None"], None]


@dataclass
class RunConfig:
    stage: str = "sandbox"
    trials: int = 1
    seed: int = 0
    concurrency: int = 8
    policy: Any = None
    """A ``harness.policy.Policy`` (stage bounds come from it) or None for no bounds."""
    reviewer: Reviewer | None = None
    audit_dir: Path | None = None
    """Where audit logs go; None disables them."""
    audit_key: bytes | None = None
    audit_fsync: bool = field(default_factory=lambda: os.environ.get("HARNESS_AUDIT_FSYNC", "") == "1")
    """fsync each log when it closes (survives power loss, costs ~ms per run). A killed process
    loses nothing either way: the OS has the bytes."""
    max_steps: int | None = None
    timeout_s: float | None = None
    stages: dict[str, str] = field(default_factory=dict)
    """Per-workflow stage (the agent version's grant, see ``harness.grants``); ``stage`` otherwise."""
    rehearsals: frozenset[str] = frozenset()
    """Workflows run above their grant as a rehearsal: marked, never evidence."""
    journal: tuple[str, str | None] | None = None
    """(session prefix, runs.jsonl) of ``harness._journal``: worker processes journal each finished run."""
    ran_by: str | None = field(default_factory=lambda: current_user())
    """Who ran the suite (recorded with every run: separation of duties at sign-off)."""

    def stage_for(self, workflow: str) -> str:
        return self.stages.get(workflow, self.stage)


def current_user() -> str | None:
    """``$HARNESS_USER``, else the login name (None when there is none)."""
    import getpass

    try:
        return os.environ.get("HARNESS_USER") or getpass.getuser()
    except (OSError, KeyError):  # no login name (some containers)
        return None


def fresh_seed() -> int:
    """A new base seed per invocation: re-running a command gathers new evidence, not copies."""
    return int.from_bytes(os.urandom(4), "big") >> 1


def run_seed(base: int, scenario_id: str, trial: int) -> int:
    digest = hashlib.sha256(f"{base}:{scenario_id}:{trial}".encode()).hexdigest()
    return int(digest[:8], 16)


_STAMP: list = [0, ""]
"""The current second and its ``%Y%m%d%H%M%S`` text, so run ids do not format a date per run."""


def new_run_id() -> str:
    """``YYYYMMDDHHMMSS-`` (UTC) and 10 random hex digits."""
    now = int(time.time())
    if now != _STAMP[0]:
        _STAMP[0], _STAMP[1] = now, datetime.fromtimestamp(now, UTC).strftime("%Y%m%d%H%M%S")
    return f"{_STAMP[1]}-{os.urandom(5).hex()}"


class WorldCache:
    """Builds each scenario's world once, on its first run; every run gets a fork."""

    def __init__(self) -> None:
        self._worlds: dict[str, World] = {}

    def base(self, scenario: Scenario) -> World:
        world = self._worlds.get(scenario.digest)
        if world is None:
            try:
                world = build_world(scenario.seed, scenario.world.generate.model_dump(), scenario.world.records())
            except Exception as exc:  # noqa: BLE001 - bad explicit records surface as a fake's error
                raise InvalidScenario(f"the world cannot be built: {getattr(exc, 'message', exc)}.",
                                      file=scenario.path, field="world") from None
            self._worlds[scenario.digest] = world
        return world

    def fork(self, scenario: Scenario) -> World:
        return self.base(scenario).fork()


SHARED_WORLDS = WorldCache()
"""One cache per process: validating a scenario and then running it builds its world once."""


class AgentRaised(Exception):
    """An agent raised a ``BaseException`` that is not an ``Exception`` (``SystemExit``,
    ``KeyboardInterrupt``, ``CancelledError``): it ends that run as ``error`` and nothing else."""


def _thread_future(fn: Callable, *args: Any) -> asyncio.Future:
    """Run a sync agent in a daemon thread, so a stalled one never blocks the process from exiting."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future = loop.create_future()

    def target() -> None:
        try:
            value = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting run
            if not isinstance(exc, Exception):
                carried = AgentRaised(f"the agent raised {type(exc).__name__}: {exc}")
                exc = carried
            loop.call_soon_threadsafe(lambda e=exc: future.done() or future.set_exception(e))
        else:
            loop.call_soon_threadsafe(lambda v=value: future.done() or future.set_result(v))

    threading.Thread(target=target, daemon=True, name="harness-agent").start()
    return future


def _own_loop(agent: Any, task: Task, toolbox: Toolbox) -> None:
    asyncio.run(agent(task, toolbox))


async def _drive(agent: Any, task: Task, toolbox: Toolbox, timeout: float, trusted: bool = False) -> None:
    # asyncio.timeout, not wait_for: no extra task per run, one timer
    async with asyncio.timeout(timeout):
        if is_async(agent) and not trusted:
            # an untrusted async agent gets its own thread and event loop: one that blocks its loop (or
            # raises SystemExit) cannot stall the harness's loop, so the time limit still holds
            await _thread_future(_own_loop, agent, task, toolbox)
        elif is_async(agent):
            await agent(task, toolbox)
        else:
            result = await _thread_future(agent, task, toolbox)
            if asyncio.iscoroutine(result):
                await result


async def run_one(scenario: Scenario, provider: Any, trial: int, config: RunConfig,
                  worlds: WorldCache) -> tuple[RunResult, Plan | None]:
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    run_id = new_run_id()
    seed = run_seed(config.seed, scenario.id, trial)
    world = worlds.fork(scenario)
    if config.audit_dir is not None:
        audit: Any = AuditLog(config.audit_dir / f"{run_id}.jsonl", run_id, key=config.audit_key,
                              fsync=config.audit_fsync)
    else:
        audit = NullAuditLog()
    stage = config.stage_for(scenario.workflow)
    rehearsal = scenario.workflow in config.rehearsals
    bounds = config.policy.bounds_for(scenario.workflow, stage) if config.policy is not None else None
    if config.audit_dir is not None:
        audit.append("run_started", {
            "scenario": scenario.id, "scenario_digest": scenario.digest, "scenario_path": scenario.path,
            "workflow": scenario.workflow, "tier": scenario.tier, "title": scenario.title,
            "instruction": scenario.task.instruction, "inputs": scenario.task.inputs,
            "agent": provider.name, "agent_version": provider.version, "stage": stage, "rehearsal": rehearsal,
            "bounds": bounds.model_dump() if bounds is not None else None, "seed": seed, "trial": trial,
            "world_digest": world.digest()})
    max_steps = config.max_steps or scenario.limits.max_steps
    timeout = config.timeout_s or scenario.limits.timeout_s
    events = audit if config.audit_dir is not None else None  # audit off: no event is even built
    gateway = Gateway(world, stage, bounds, events, max_steps)
    toolbox = Toolbox(gateway, events)
    task = Task(instruction=scenario.task.instruction, inputs=dict(scenario.task.inputs), scenario=scenario.id,
                workflow=scenario.workflow, seed=seed)
    error: RunError | None = None
    try:
        agent = provider.bind(scenario, seed)
        await _drive(agent, task, toolbox, timeout, bool(getattr(provider, "trusted", True)))
    except TimeoutError:
        gateway.stopped = f"time limit reached: the agent ran longer than {timeout:g} s"
        error = RunError(cause="agent", message=gateway.stopped)
    except AgentStopped as exc:
        error = RunError(cause="agent", message=str(exc))
    except HarnessBug as exc:
        error = RunError(cause="harness", message=str(exc))
    except MemoryError as exc:
        error = RunError(cause="environment", message=f"out of memory: {exc}")
    except EnvironmentFailure as exc:  # e.g. the model endpoint is down: not the agent's mistake
        error = RunError(cause="environment", message=str(exc))
    except (AgentRaised, AgentFailed) as exc:
        error = RunError(cause="agent", message=str(exc))
    except Exception as exc:  # noqa: BLE001 - the agent's own failure
        error = RunError(cause="agent", message=f"the agent raised {type(exc).__name__}: {exc}")
    except BaseException as exc:  # SystemExit etc. from a trusted in-process agent
        current = asyncio.current_task()
        if isinstance(exc, asyncio.CancelledError) and current is not None and current.cancelling():
            raise  # the suite itself is being cancelled
        error = RunError(cause="agent", message=f"the agent raised {type(exc).__name__}: {exc}")
    if error is None and gateway.stopped:
        error = RunError(cause="agent", message=gateway.stopped)
    if error is not None:
        audit.append("run_error", error.model_dump())
    gateway.stopped = "the run has ended: tool calls after it are refused"  # a thread left behind, too

    plan = None
    potential = gateway.potential
    realised = potential if gateway.shadow is None else gateway.realised
    if stage == "approve" and gateway.planned:
        plan = make_plan(run_id, scenario, provider, gateway.calls)
        audit.append("plan_created", {"plan_id": plan.plan_id, "items": [i.to_dict() for i in plan.items]})
        if config.reviewer is not None and error is None:
            realised = list(gateway.realised)
            _review_in_run(plan, config.reviewer, scenario, gateway, world, seed, audit, realised)

    try:
        mistakes, radii = score(scenario, gateway.calls, potential, realised, world, answer=toolbox.answer,
                                potential_world=gateway.shadow)
    except Exception as exc:  # noqa: BLE001 - a scorer bug is the harness's, never the agent's
        mistakes, radii = [], None
        error = error or RunError(cause="harness", message=f"scoring failed: {type(exc).__name__}: {exc}")
    if error is not None and error.cause != "agent":
        # the run was cut short by the harness or the environment: what the agent did is still judged,
        # but what it did not get to do is not its mistake
        mistakes = [m for m in mistakes if m.type != "missing_action"]
    outcome = "error" if error is not None else ("fail" if mistakes else "pass")
    duration_ms = round((time.perf_counter() - started) * 1000, 3)
    if config.audit_dir is not None:
        audit.append("run_finished", {"outcome": outcome, "mistakes": [m.model_dump() for m in mistakes],
                                      "blast_radius": radii.model_dump() if radii else None,
                                      "duration_ms": duration_ms})
    head = audit.close()
    result = RunResult(
        run_id=run_id, scenario=scenario.id, scenario_digest=scenario.digest, scenario_path=scenario.path,
        workflow=scenario.workflow, tier=scenario.tier, agent=provider.name, agent_version=provider.version,
        agent_spec=getattr(provider, "spec_digest", None), ran_by=config.ran_by,
        stage=stage, rehearsal=rehearsal, trial=trial, seed=seed, outcome=outcome, mistakes=mistakes,
        **({"blast_radius": radii} if radii else {}), error=error, started_at=started_at,
        duration_ms=duration_ms, tool_calls=len(gateway.calls),
        blocked_calls=sum(1 for c in gateway.calls if c.decision == "blocked"),
        plan_id=plan.plan_id if plan else None,
        audit_path=str(config.audit_dir / f"{run_id}.jsonl") if config.audit_dir is not None else None,
        audit_head=head)
    return result, plan


def _review_in_run(plan: Plan, reviewer: Reviewer, scenario: Scenario, gateway: Gateway, world: World,
                   seed: int, audit: Any, realised: list) -> None:
    bad = bad_changes(scenario, gateway.potential)
    planned = [c for c in gateway.calls if c.decision == "planned" and c.ok]
    wrong = {i + 1 for i, call in enumerate(planned) if any(id(ch) in bad for ch in call.potential)}
    decision = reviewer.decide(plan, wrong, seed)
    plan.status = decision.decision  # type: ignore[assignment]
    plan.decision = {"by": decision.by, "reason": decision.reason, "approved": decision.approved,  # type: ignore[attr-defined]
                     "rejected": decision.rejected, "caught": sorted(wrong & set(decision.rejected)),
                     "wrong": sorted(wrong)}
    audit.append("plan_decided", {"plan_id": plan.plan_id, "decision": decision.decision, "by": decision.by,
                                  "reason": decision.reason, "approved_items": decision.approved,
                                  "rejected_items": decision.rejected})
    if not decision.approved:
        return
    plan.status = "pending"
    try:
        changes = apply_plan(plan, world, decision.approved)
    except PlanRefused as exc:
        plan.status = "stale" if isinstance(exc, StalePlan) else "rejected"
        audit.append("plan_applied", {"plan_id": plan.plan_id, "items": [], "changes": [],
                                      "refused": exc.message})
        return
    realised.extend(changes)
    audit.append("plan_applied", {"plan_id": plan.plan_id, "items": decision.approved,
                                  "changes": [c.to_dict() for c in changes]})


@dataclass(repr=False)
class SuiteRun:
    results: list[RunResult] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)

    def __repr__(self) -> str:  # asyncio.run takes the repr of what it returns: keep it short
        return f"SuiteRun({len(self.results)} results, {len(self.plans)} plans)"


async def run_suite_async(scenarios: list[Scenario], provider: Any, config: RunConfig,
                          on_result: ResultSink | None = None, worlds: WorldCache | None = None) -> SuiteRun:
    worlds = worlds or SHARED_WORLDS
    total = config.trials * len(scenarios)
    jobs = enumerate((s, t) for t in range(config.trials) for s in scenarios)  # made as runs start
    out = SuiteRun()
    slots: list[tuple[RunResult, Plan | None] | None] = [None] * total

    async def worker() -> None:
        for index, (scenario, trial) in jobs:
            result, plan = await run_one(scenario, provider, trial, config, worlds)
            slots[index] = (result, plan)
            if on_result is not None:
                on_result(result, plan)

    workers = [asyncio.create_task(worker()) for _ in range(max(1, min(config.concurrency, total or 1)))]
    try:
        await asyncio.gather(*workers)
    finally:
        aclose = getattr(provider, "aclose", None)
        if aclose is not None:
            await aclose()
    for slot in slots:
        if slot is not None:
            out.results.append(slot[0])
            if slot[1] is not None:
                out.plans.append(slot[1])
    return out


def run_suite(scenarios: list[Scenario], provider: Any, config: RunConfig,
              on_result: ResultSink | None = None) -> SuiteRun:
    return asyncio.run(run_suite_async(scenarios, provider, config, on_result))
