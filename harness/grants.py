"""The granted stage is the law: which stage an agent version may run at, and rehearsals above it.

A stage belongs to a workflow *and* an agent version (``NAME@VERSION``). A version without a grant
is at sandbox, unless the workflow's policy carries evidence over between versions
(``carry_over_versions``): then it inherits the stage of the agent's most recently granted version,
and the carry-over is recorded as a transition. Every command that runs an agent (``harness run``,
``harness mcp serve``, the pytest plugin, ``harness gateway serve``) asks :func:`resolve_stage`;
asking for more than the grant is refused unless it is an explicit rehearsal, which runs on the
fakes, is marked as such everywhere and never counts as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.errors import ConflictError, UsageError
from harness.models import STAGES


@dataclass(frozen=True)
class StageChoice:
    stage: str
    granted: str
    rehearsal: bool


def current_grant(ledger: Any, policy: Any, workflow: str, agent: str, version: str,
                  record: bool = True) -> dict[str, Any]:
    """The grant of ``agent@version`` (see ``Ledger.grant``), applying the policy's carry-over.

    ``ledger`` None means no track record to read: sandbox.
    """
    if ledger is None:
        return {"workflow": workflow, "agent": agent, "agent_version": version, "stage": "sandbox", "version": 0,
                "source": "default", "paused": False, "pause": None, "granted_at": None, "carried_from": None}
    grant = ledger.grant(workflow, agent, version)
    if grant["source"] != "default" or not record:
        return grant
    wf = policy.workflows.get(workflow) if policy is not None else None
    if wf is None or not wf.carry_over_versions:
        return grant
    earlier = [g for g in ledger.grants(workflow) if g["agent"] == agent and g["agent_version"] != version]
    if not earlier:
        return grant
    source = max(earlier, key=lambda g: g["entered_at"] or "")
    if source["stage"] == "sandbox":
        return grant
    try:
        ledger.record_transition(
            workflow=workflow, agent=agent, agent_version=version, expected_version=0, from_stage="sandbox",
            to_stage=source["stage"], kind="carry-over", actor="policy:carry_over_versions",
            reason=f"new version {version} inherits {source['stage']} from {agent}@{source['agent_version']} "
                   "(the policy carries evidence over between versions)",
            policy_digest=getattr(policy, "digest", None), source="carried-over",
            carried_from=f"{agent}@{source['agent_version']}")
    except ConflictError:
        pass  # someone recorded it at the same moment
    return ledger.grant(workflow, agent, version)


def how_to_get_next(workflow: str, agent: str, version: str, granted: str) -> str:
    nxt = STAGES[STAGES.index(granted) + 1] if granted != STAGES[-1] else None
    if nxt is None:
        return ""
    return (f"to earn {nxt}: run its scenarios at {granted} to build evidence, check `harness status {workflow}`, "
            f"then `harness promote {workflow} --to {nxt} --agent {agent}@{version} --by NAME --reason TEXT`")


def resolve_stage(requested: str | None, granted: str, *, rehearse: bool, workflow: str, agent: str,
                  version: str, flag: str = "--stage") -> StageChoice:
    """The stage to run at: the grant by default; lower on request; higher only as a rehearsal."""
    if requested is None:
        if rehearse:
            raise UsageError("a rehearsal needs the stage to rehearse.", field="--rehearse",
                             expected=f"{flag} STAGE above the grant ({granted})")
        return StageChoice(granted, granted, False)
    if requested not in STAGES:
        raise UsageError(f"unknown stage {requested!r}.", field=flag, expected="one of " + ", ".join(STAGES))
    above = STAGES.index(requested) > STAGES.index(granted)
    if above and not rehearse:
        nxt = how_to_get_next(workflow, agent, version, granted)
        raise UsageError(
            f"{workflow} is granted {granted} for {agent}@{version}; running it at {requested} is refused. "
            f"{nxt[0].upper() + nxt[1:] if nxt else ''}. To try {requested} on the fakes without it counting "
            "as evidence, add --rehearse.", field=flag, expected=f"a stage up to {granted}, or --rehearse")
    return StageChoice(requested, granted, above)


def stages_for_suite(ledger: Any, policy: Any, workflows: list[str], agent: str, version: str,
                     requested: str | None, rehearse: bool, flag: str = "--stage"
                     ) -> tuple[dict[str, str], frozenset[str]]:
    """Per workflow of a suite: the stage to run at, and which workflows run as a rehearsal.

    Every workflow is checked before anything runs, so a refusal never leaves half a suite recorded.
    """
    stages: dict[str, str] = {}
    rehearsals = set()
    for wf in sorted(set(workflows)):
        granted = current_grant(ledger, policy, wf, agent, version)
        choice = resolve_stage(requested, granted["stage"], rehearse=rehearse, workflow=wf, agent=agent,
                               version=version, flag=flag)
        stages[wf] = choice.stage
        if choice.rehearsal:
            rehearsals.add(wf)
    if rehearse and requested is not None and not rehearsals:
        raise UsageError(f"--rehearse asks to run above the grant, but {requested} is within the grant of every "
                         "workflow in this suite.", field="--rehearse", expected="drop --rehearse")
    return stages, frozenset(rehearsals)
