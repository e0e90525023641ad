"""Batched approval plans: an agent's writes at the ``approve`` stage, reviewed as a whole.

A plan lists its actions in order, each with the diff it would make, its effect class, the agent's
rationale and the version of every record it was computed against. A decision is keyed to each
action's id (position *and* content hash), never to a list position alone. Applying is
all-or-nothing, happens at most once, and is refused as stale when a record changed since.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any, Literal

from fakes import Change, FakeError, World
from harness.errors import PlanRefused, UsageError
from harness.gateway import CallRecord, action_id
from harness.tools import CATALOGUE

PlanStatus = Literal["pending", "approved", "partially_approved", "rejected", "applied", "stale"]


class StalePlan(PlanRefused):
    """A record the plan was computed against changed since: applying it would act on stale data."""


def change_diff(change: Change) -> dict:
    """The part of a change a reviewer needs: which fields go from what to what."""
    before, after = change.before or {}, change.after or {}
    if change.op == "update" or change.op == "write":
        fields = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    elif change.op == "delete":
        fields = {k: [v, None] for k, v in before.items()}
    else:
        fields = {k: [None, v] for k, v in after.items()}
    return {"entity": change.entity, "op": change.op, "reversible": change.reversible,
            "external": change.external, "fields": fields}


@dataclass
class PlanItem:
    index: int
    action_id: str
    tool: str
    args: dict
    rationale: str | None
    effect: str
    diff: list[dict]
    versions: dict[str, int]

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Plan:
    plan_id: str
    run_id: str
    workflow: str
    scenario: str
    scenario_path: str
    scenario_digest: str
    world_key: str
    agent: str
    agent_version: str
    items: list[PlanItem] = field(default_factory=list)
    status: PlanStatus = "pending"

    def to_record(self) -> dict:
        return {"id": self.plan_id, "run_id": self.run_id, "workflow": self.workflow, "scenario": self.scenario,
                "scenario_path": self.scenario_path, "agent": self.agent, "agent_version": self.agent_version,
                "world_key": self.world_key, "status": self.status,
                "items": [i.to_dict() for i in self.items]}


def item_from_dict(data: dict) -> PlanItem:
    return PlanItem(**{k: data[k] for k in PlanItem.__dataclass_fields__})


def make_plan(run_id: str, scenario: Any, agent: Any, calls: list[CallRecord]) -> Plan:
    planned = [c for c in calls if c.decision == "planned" and c.ok]
    items = [PlanItem(index=i + 1, action_id=c.action_id, tool=c.tool, args=c.args, rationale=c.rationale,
                      effect=c.effect or "write", diff=[change_diff(ch) for ch in c.potential],
                      versions=dict(c.versions)) for i, c in enumerate(planned)]
    plan_id = "plan-" + hashlib.sha256(f"{run_id}".encode()).hexdigest()[:12]
    return Plan(plan_id=plan_id, run_id=run_id, workflow=scenario.workflow, scenario=scenario.id,
                scenario_path=scenario.path, scenario_digest=scenario.digest, world_key=scenario.world_key,
                agent=agent.name, agent_version=agent.version, items=items)


def altered_items(items: list[PlanItem]) -> list[str]:
    """Items whose tool or arguments no longer hash to their ``action_id`` (edited after planning)."""
    out = []
    for item in items:
        call_id = item.action_id[1:].split("-", 1)[0]
        if not call_id.isdigit() or action_id(int(call_id), item.tool, item.args) != item.action_id:
            out.append(str(item.index))
    return out


def stale_items(world: World, items: list[PlanItem]) -> list[str]:
    """Records that changed since the plan was computed, as readable lines."""
    out = []
    for item in items:
        for entity, version in item.versions.items():
            now = world.version_of(entity)
            if now != version:
                out.append(f"{entity} (item {item.index}: version {version} when planned, {now} now)")
    return out


def apply_items(world: World, items: list[PlanItem]) -> list[Change]:
    """Apply items in order, all or nothing. Returns the changes made to ``world``."""
    stale = stale_items(world, items)
    if stale:
        raise StalePlan("the plan is stale: records changed since it was made: " + "; ".join(stale) + ".",
                          expected="a fresh run to produce a new plan")
    trial = world.fork()
    start = len(trial.journal)
    for item in items:
        spec = CATALOGUE[item.tool]
        try:
            spec.run(trial, spec.args.model_validate(item.args))
        except FakeError as exc:
            raise PlanRefused(f"item {item.index} ({item.tool}) cannot be applied: {exc.message}; "
                              "nothing was applied.") from None
    changes = trial.journal.since(start)
    for change in changes:
        world.apply_change(change)
    return changes


def select_items(plan: Plan, only: list[int] | None) -> list[PlanItem]:
    if not only:
        return list(plan.items)
    by_index = {i.index: i for i in plan.items}
    unknown = [n for n in only if n not in by_index]
    if unknown:
        raise UsageError(f"plan {plan.plan_id} has no item(s) {', '.join(map(str, unknown))}; "
                         f"it has items 1–{len(plan.items)}.", field="--only")
    return [by_index[n] for n in sorted(set(only))]


# -- simulated reviewers ------------------------------------------------------------------------

REVIEWERS = ("approve-all", "reject-all", "careful")


@dataclass
class ReviewDecision:
    approved: list[int]
    rejected: list[int]
    by: str
    reason: str

    @property
    def decision(self) -> str:
        if not self.approved:
            return "rejected"
        return "approved" if not self.rejected else "partially_approved"


class Reviewer:
    """A simulated person deciding plans, so a suite measures what the approval stage catches.

    ``careful`` rejects each item the scenario's expectations mark wrong with probability
    ``catch_rate`` (seeded) and approves the rest.
    """

    def __init__(self, kind: str, catch_rate: float = 0.9):
        if kind not in REVIEWERS:
            raise UsageError(f"unknown reviewer {kind!r}.", field="--reviewer",
                             expected=f"one of {', '.join(REVIEWERS)}")
        if not 0.0 <= catch_rate <= 1.0:
            raise UsageError(f"catch rate {catch_rate} is not a probability.", field="--catch-rate",
                             expected="a number between 0 and 1")
        self.kind = kind
        self.catch_rate = catch_rate

    @property
    def name(self) -> str:
        return f"reviewer:{self.kind}" + (f"@{self.catch_rate:g}" if self.kind == "careful" else "")

    def decide(self, plan: Plan, wrong_items: set[int], seed: int) -> ReviewDecision:
        indexes = [i.index for i in plan.items]
        if self.kind == "approve-all":
            return ReviewDecision(indexes, [], self.name, "approve-all reviewer")
        if self.kind == "reject-all":
            return ReviewDecision([], indexes, self.name, "reject-all reviewer")
        rng = random.Random(seed)
        caught = {i for i in indexes if i in wrong_items and rng.random() < self.catch_rate}
        approved = [i for i in indexes if i not in caught]
        reason = (f"careful reviewer (catch rate {self.catch_rate:g}): rejected items "
                  f"{', '.join(map(str, sorted(caught)))}" if caught else "careful reviewer: nothing looked wrong")
        return ReviewDecision(approved, sorted(caught), self.name, reason)


def parse_reviewer(text: str | None, catch_rate: float | None = None) -> Reviewer | None:
    if not text:
        return None
    kind, _, rate = text.partition(":")
    if rate:
        try:
            catch_rate = float(rate)
        except ValueError:
            raise UsageError(f"reviewer {text!r}: {rate!r} is not a number.", field="--reviewer",
                             expected="careful:0.8 or careful with --catch-rate 0.8") from None
    return Reviewer(kind, 0.9 if catch_rate is None else catch_rate)


def apply_plan(plan: Plan, world: World, only: list[int] | None = None) -> list[Change]:
    """Apply a pending plan's items (or the ``only`` ones) to ``world``, exactly once.

    A plan that was applied, rejected or found stale is refused: replaying it never re-executes
    its side effects.
    """
    if plan.status in ("applied", "rejected", "stale"):
        raise PlanRefused(f"plan {plan.plan_id} is {plan.status} already; a plan is applied at most once.")
    try:
        changes = apply_items(world, select_items(plan, only))
    except StalePlan:
        plan.status = "stale"
        raise
    plan.status = "applied"
    return changes
