"""Automatic demotion, replayed run by run in recording order, under the workflow's pinned policy.

A batch is not judged on its final state: a burst of mistakes in the middle of a 200-run suite with
a clean tail demotes, because the triggers are evaluated after every run, exactly as if the runs
had been recorded one at a time. The first run at which any trigger fires decides; when several
fire at that run, the lowest target wins.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from harness.errors import ConflictError
from harness.ledger import Ledger, evidence
from harness.models import STAGES, RunResult, severity_rank
from harness.policy import IncidentTrigger, Policy, RateTrigger, SeverityTrigger, WorkflowPolicy


def check_demotions(ledger: Ledger, policy: Policy, results: Iterable[RunResult]) -> list[dict[str, Any]]:
    """After recording ``results``: demote any agent version whose demotion trigger fires on one of them.

    The triggers come from the workflow's pinned policy (``harness policy pin``), not from the policy
    the run was given. Only runs at the version's granted stage count (rehearsals never do), and a
    rate trigger only looks at runs since that stage was entered.
    """
    from harness.governance import governing_policy
    from harness.promotion import describe_trigger

    by_track: dict[tuple[str, str, str], list[RunResult]] = defaultdict(list)
    for r in results:
        if not r.rehearsal:
            by_track[(r.workflow, r.agent, r.agent_version)].append(r)
    out = []
    for (name, agent, version), batch in sorted(by_track.items()):
        governing = governing_policy(ledger, policy, name)
        wf = governing.workflows.get(name)
        if wf is None or not wf.demotion:
            continue
        for _ in range(3):  # a concurrent transition moves the grant: look again
            grant = ledger.grant(name, agent, version)
            found = first_firing(ledger, wf, name, grant, batch)
            if found is None:
                break
            trigger, finding = found
            try:
                out.append(ledger.record_transition(
                    workflow=name, agent=agent, agent_version=version, expected_version=grant["version"],
                    from_stage=grant["stage"], to_stage=trigger.to, kind="demote",
                    actor=f"rule:{describe_trigger(trigger)}", reason=finding["summary"],
                    gate={"trigger": trigger.model_dump(), **finding}, policy_digest=governing.digest))
                break
            except ConflictError:
                continue
    return out


def _applies(trigger: Any, current: str) -> bool:
    if isinstance(trigger, IncidentTrigger):
        return False
    if STAGES.index(current) <= STAGES.index(trigger.to):
        return False
    return trigger.at_stages is None or current in trigger.at_stages


def first_firing(ledger: Ledger, wf: WorkflowPolicy, name: str, grant: dict, batch: list[RunResult]
                 ) -> tuple[Any, dict[str, Any]] | None:
    """The trigger (and what it saw) that fires at the earliest run of ``batch``, or None."""
    current = grant["stage"]
    triggers = [t for t in wf.demotion if _applies(t, current)]
    at_stage = [r for r in batch if r.stage == current]
    if not triggers or not at_stage:
        return None
    position = {r.run_id: i for i, r in enumerate(at_stage)}
    firing: dict[int, list[tuple[Any, dict[str, Any]]]] = defaultdict(list)
    for trigger in triggers:
        if isinstance(trigger, SeverityTrigger):
            hit = _severity(trigger, at_stage, current)
        else:
            hit = _rate(ledger, trigger, name, grant, at_stage, position)
        if hit is not None:
            firing[hit[0]].append((trigger, hit[1]))
    if not firing:
        return None
    first = min(firing)
    return min(firing[first], key=lambda f: STAGES.index(f[0].to))


def _severity(trigger: SeverityTrigger, at_stage: list[RunResult], current: str) -> tuple[int, dict] | None:
    for i, r in enumerate(at_stage):
        for m in r.mistakes:
            if severity_rank(m.severity) >= severity_rank(trigger.at_least):
                return i, {"summary": f"{m.severity} mistake at {current} in run {r.run_id}: {m.type} on {m.entity} "
                                      f"({m.detail})", "runs": [r.run_id], "run": r.run_id}
    return None


def _rate(ledger: Ledger, trigger: RateTrigger, name: str, grant: dict, at_stage: list[RunResult],
          position: dict[str, int]) -> tuple[int, dict] | None:
    """Replay the two-window burn rate after each run of the batch (prefix sums over the ordered flags)."""
    with ledger.read() as conn:
        flags = evidence.flags_in_order(conn, name, grant["stage"], grant["entered_run_pk"],
                                        trigger.window_runs + len(at_stage), tuple(trigger.count_severities),
                                        grant["agent"], grant["agent_version"])
    prefix = [0]
    for _, bad in flags:
        prefix.append(prefix[-1] + bad)
    long_w, short_w = trigger.window_runs, trigger.short_window_runs
    for j, (run_id, _) in enumerate(flags):
        if run_id not in position or j + 1 < short_w:
            continue
        long_n = min(long_w, j + 1)
        long_rate = (prefix[j + 1] - prefix[j + 1 - long_n]) / long_n
        short_rate = (prefix[j + 1] - prefix[j + 1 - short_w]) / short_w
        if long_rate > trigger.max_rate and short_rate > trigger.max_rate:
            return position[run_id], {
                "summary": f"mistake rate at {grant['stage']} reached {long_rate:.0%} over {long_n} runs and "
                           f"{short_rate:.0%} over the last {short_w} at run {run_id} (limit "
                           f"{trigger.max_rate:.0%} on both)",
                "long_rate": long_rate, "short_rate": short_rate, "runs_seen": long_n, "run": run_id}
    return None
