"""Promotion and demotion: status, promote, demote, history, and automatic demotion after runs.

A gate is evaluated when someone asks to promote (a declared checkpoint), never continuously; the
transition is a compare-and-swap on the workflow's stage, so of two simultaneous promotions one
wins and the other gets ConflictError.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from harness import _gate
from harness.errors import ConflictError, GateNotMet, UsageError
from harness.ledger import Ledger, evidence
from harness.ledger._time import iso, to_dt, utcnow
from harness.models import STAGES, RunResult, severity_rank
from harness.policy import Policy, RateTrigger, SeverityTrigger, WorkflowPolicy
from harness.stats import burn_rate_exceeded


def parse_agent(text: str) -> tuple[str, str | None]:
    """``NAME@VERSION`` → (name, version); a bare ``NAME`` → (name, None)."""
    name, sep, version = text.rpartition("@")
    if not sep:
        return text, None
    if not name or not version:
        raise UsageError(f"--agent {text!r} is not NAME@VERSION.", expected="e.g. simulated-careful@1.0")
    return name, version


def resolve_agent(ledger: Ledger, workflow: str, agent: str | None) -> tuple[str, str]:
    """The agent version whose track record is judged; ambiguity is an error, never a guess."""
    tracks = ledger.tracks(workflow)
    if agent:
        name, version = parse_agent(agent)
        mine = [t for t in tracks if t["agent"] == name and (version is None or t["agent_version"] == version)]
        if version is not None:
            return name, version
        if len(mine) == 1:
            return name, mine[0]["agent_version"]
        if not mine:
            raise GateNotMet(f"agent {name!r} has no runs of {workflow} in the ledger: there is no evidence, "
                             "so no gate can be met.", expected="runs first: `harness run` with this "
                             "workflow's scenarios, then `harness status`")
        tracks = mine
    if len(tracks) == 1:
        return tracks[0]["agent"], tracks[0]["agent_version"]
    if not tracks:
        raise GateNotMet(f"{workflow} has no runs in the ledger: there is no evidence, so no gate can be met "
                         "(min_runs: measured 0).",
                         expected="runs first: `harness run` with this workflow's scenarios")
    names = ", ".join(f"{t['agent']}@{t['agent_version']} ({t['runs']} runs)" for t in tracks[:6])
    raise UsageError(f"several agent versions have evidence for {workflow}: {names}.",
                     expected="--agent NAME@VERSION naming the one to judge")


def _check_stage(stage: str) -> None:
    if stage not in STAGES:
        raise UsageError(f"{stage!r} is not a stage.", expected=f"one of {', '.join(STAGES)}")


# -- status -------------------------------------------------------------------------------------------
def status(ledger: Ledger, policy: Policy, workflow: str | None = None, agent: str | None = None,
           now: datetime | None = None) -> list[dict[str, Any]]:
    """Each workflow's stage and, per agent version with evidence, the next gate criterion by criterion."""
    now = now or utcnow()
    names = _workflow_names(ledger, policy, workflow)
    tracks_by_wf: dict[str, list[dict]] = defaultdict(list)
    for t in ledger.tracks(workflow):
        tracks_by_wf[t["workflow"]].append(t)
    out = []
    with ledger.read() as conn:
        for name in names:
            out.append(_workflow_status(conn, ledger, policy, name, tracks_by_wf[name], agent, now))
    return out


def _workflow_names(ledger: Ledger, policy: Policy, workflow: str | None) -> list[str]:
    known = set(policy.workflows) | set(ledger.workflows())
    if workflow is None:
        return sorted(known)
    if workflow not in known:
        policy.workflow(workflow)  # raises UsageError naming the policy's workflows
    return [workflow]


def _workflow_status(conn, ledger: Ledger, policy: Policy, name: str, tracks: list[dict], agent: str | None,
                     now: datetime) -> dict[str, Any]:
    state = ledger.workflow_state(name)
    wf = policy.workflows.get(name)
    entry: dict[str, Any] = {
        "workflow": name, "stage": state["stage"], "entered_at": state["entered_at"],
        "granted_to": f"{state['agent']}@{state['agent_version']}" if state["agent"] else None,
        "owner": wf.owner if wf else None, "in_policy": wf is not None, "next_stage": None,
        "agents": [], "recertification": None, "note": None,
    }
    if agent:
        a_name, a_version = parse_agent(agent)
        tracks = [t for t in tracks if t["agent"] == a_name and a_version in (None, t["agent_version"])]
    if wf is None:
        entry["note"] = "not in the policy: it stays in sandbox until the policy names it"
        entry["agents"] = [_track(t, None) for t in tracks]
        return entry
    nxt = wf.next_stage(state["stage"])
    entry["next_stage"] = nxt
    if nxt is None:
        entry["note"] = "at the top of its ladder"
    gate = wf.gate(nxt) if nxt else None
    for t in tracks:
        evaluation = None
        if gate is not None:
            evaluation = _gate.evaluate(conn, gate, wf, name, nxt, t["agent"], t["agent_version"], now)
            signers = ledger.pending_signoffs(name, state["version"], nxt, f"{t['agent']}@{t['agent_version']}")
            evaluation["signoffs"] = _gate.signoff_criterion(gate.signoffs, signers)
        entry["agents"].append(_track(t, evaluation))
    entry["recertification"] = _recertification(conn, wf, name, state, now)
    if not tracks and nxt:
        entry["note"] = "no runs yet: run its scenarios to build a track record"
    return entry


def _track(t: dict, evaluation: dict | None) -> dict[str, Any]:
    return {"agent": t["agent"], "agent_version": t["agent_version"], "runs": t["runs"], "gate": evaluation}


def _recertification(conn, wf: WorkflowPolicy, name: str, state: dict, now: datetime) -> dict | None:
    gate = wf.gate(state["stage"])
    if gate is None or not gate.recertify_days or not state["entered_at"]:
        return None
    due_at = to_dt(state["entered_at"]) + timedelta(days=gate.recertify_days)
    out: dict[str, Any] = {"every_days": gate.recertify_days, "due_at": iso(due_at), "due": now >= due_at,
                           "gate": None}
    if out["due"] and state["agent"]:
        out["gate"] = _gate.evaluate(conn, gate, wf, name, state["stage"], state["agent"], state["agent_version"],
                                     now)
    return out


# -- promote / demote ---------------------------------------------------------------------------------
def promote(ledger: Ledger, policy: Policy, workflow: str, to: str, by: str, reason: str,
            agent: str | None = None, override: bool = False, now: datetime | None = None) -> dict[str, Any]:
    """Promote one stage up. Returns the transition; raises GateNotMet with every unmet criterion.

    When the gate asks for more sign-offs than this one, the sign-off is recorded and GateNotMet
    says who else must sign; the last signer's request re-evaluates the gate and promotes.
    """
    wf = policy.workflow(workflow)
    _check_stage(to)
    if not by or not by.strip():
        raise UsageError("--by must name who signs off.", expected="a name, e.g. dana@example.com")
    if not reason or not reason.strip():
        raise UsageError("--reason must say why.", expected="a sentence a later reader will understand")
    state = ledger.workflow_state(workflow)
    current = state["stage"]
    _check_step_up(wf, workflow, current, to)
    gate = wf.gate(to)
    assert gate is not None  # the policy check guarantees a gate for every stage after sandbox
    roles = policy.roles_of(by)
    if gate.signoffs.roles and not set(roles) & set(gate.signoffs.roles):
        raise GateNotMet(f"{by} cannot sign off {workflow} into {to}: it needs someone with the role "
                         f"{' or '.join(gate.signoffs.roles)}, and {by} has "
                         f"{', '.join(roles) if roles else 'no role'} in the policy `people`.")
    name, version = resolve_agent(ledger, workflow, agent)
    now = now or utcnow()
    with ledger.read() as conn:
        evaluation = _gate.evaluate(conn, gate, wf, workflow, to, name, version, now)
        digest = _gate.evidence_digest(conn, gate, wf, workflow, name, version, now)
    unmet = [c for c in evaluation["criteria"] if not c["met"]]
    if unmet and not override:
        lines = "\n".join(f"  - {c['name']}: required {c['required']}, measured {c['measured']} ({c['detail']})"
                          for c in unmet)
        noun = "criterion" if len(unmet) == 1 else "criteria"
        raise GateNotMet(f"{workflow} cannot enter {to} for {name}@{version}: {len(unmet)} {noun} unmet:\n"
                         f"{lines}\nRun more scenarios, or use --override with a reason to take responsibility.")
    me = {"person": by, "roles": roles, "reason": reason, "at": iso(now), "evidence_digest": digest}
    track = f"{name}@{version}"
    signers = [s for s in ledger.pending_signoffs(workflow, state["version"], to, track) if s["person"] != by]
    signers.append(me)
    evaluation["signoffs"] = _gate.signoff_criterion(gate.signoffs, signers)
    evaluation["override"] = {"requested": override, "used": bool(unmet and override),
                              "unmet": [c["name"] for c in unmet]}
    if not evaluation["signoffs"]["met"]:
        ledger.add_signoff(workflow=workflow, state_version=state["version"], to_stage=to, person=by,
                           agent=track, roles=roles, reason=reason, evidence_digest=digest)
        raise GateNotMet(f"your sign-off for {workflow} → {to} ({track}) is recorded, but the promotion "
                         f"waits: {evaluation['signoffs']['detail']}. The last signer's `harness promote` "
                         "re-checks the gate and promotes.")
    return ledger.record_transition(
        workflow=workflow, expected_version=state["version"], from_stage=current, to_stage=to, kind="promote",
        actor=by, reason=reason, override=bool(unmet and override), agent=name, agent_version=version,
        signoff_list=signers, gate=evaluation, evidence_digest=digest, policy_digest=policy.digest)


def _check_step_up(wf: WorkflowPolicy, workflow: str, current: str, to: str) -> None:
    if to not in wf.ladder:
        raise UsageError(f"{to} is not on the ladder of {workflow} ({' → '.join(wf.ladder)}).",
                         expected="a stage of the ladder")
    if to == current:
        raise UsageError(f"{workflow} is already at {to}.")
    if STAGES.index(to) < STAGES.index(current):
        raise UsageError(f"{workflow} is at {current}; {to} is lower. Use `harness demote`.")
    nxt = wf.next_stage(current)
    if to != nxt:
        raise UsageError(f"{workflow} is at {current}: promotion goes one stage at a time, and the next is {nxt}.",
                         expected=f"--to {nxt}")


def demote(ledger: Ledger, policy: Policy, workflow: str, to: str, by: str, reason: str) -> dict[str, Any]:
    """Demote to any lower stage (no gate: stepping back is always allowed, but recorded)."""
    _check_stage(to)
    if not by or not by.strip():
        raise UsageError("--by must name who demotes.", expected="a name, e.g. dana@example.com")
    if not reason or not reason.strip():
        raise UsageError("--reason must say why.", expected="a sentence a later reader will understand")
    wf = policy.workflows.get(workflow)
    state = ledger.workflow_state(workflow)
    if wf is None and state["version"] == 0:
        policy.workflow(workflow)  # unknown everywhere: UsageError
    current = state["stage"]
    if wf is not None and to not in wf.ladder:
        raise UsageError(f"{to} is not on the ladder of {workflow} ({' → '.join(wf.ladder)}).",
                         expected="a stage of the ladder")
    if STAGES.index(to) >= STAGES.index(current):
        raise UsageError(f"{workflow} is at {current}; demoting goes to a lower stage.",
                         expected=f"one of {', '.join(STAGES[:STAGES.index(current)]) or '(none: at sandbox)'}")
    return ledger.record_transition(
        workflow=workflow, expected_version=state["version"], from_stage=current, to_stage=to, kind="demote",
        actor=by, reason=reason, agent=state["agent"], agent_version=state["agent_version"],
        policy_digest=policy.digest)


def history(ledger: Ledger, workflow: str | None = None) -> list[dict[str, Any]]:
    return ledger.transitions(workflow)


# -- automatic demotion -------------------------------------------------------------------------------
def check_demotions(ledger: Ledger, policy: Policy, results: Iterable[RunResult]) -> list[dict[str, Any]]:
    """After recording ``results``: demote any workflow whose demotion trigger fires. Returns transitions.

    Only runs made at the workflow's current stage count, and a rate trigger only looks at runs since
    that stage was entered. When several triggers fire, the lowest target wins.
    """
    by_wf: dict[str, list[RunResult]] = defaultdict(list)
    for r in results:
        by_wf[r.workflow].append(r)
    out = []
    for name, batch in sorted(by_wf.items()):
        wf = policy.workflows.get(name)
        if wf is None or not wf.demotion:
            continue
        for _ in range(3):  # a concurrent transition moves the state: look again
            state = ledger.workflow_state(name)
            fired = _fired(ledger, wf, name, state, batch)
            if not fired:
                break
            trigger, finding = min(fired, key=lambda f: STAGES.index(f[0].to))
            try:
                out.append(ledger.record_transition(
                    workflow=name, expected_version=state["version"], from_stage=state["stage"],
                    to_stage=trigger.to, kind="demote", actor=f"rule:{describe_trigger(trigger)}",
                    reason=finding["summary"], agent=state["agent"], agent_version=state["agent_version"],
                    gate={"trigger": trigger.model_dump(), **finding}, policy_digest=policy.digest))
                break
            except ConflictError:
                continue
    return out


def describe_trigger(trigger: SeverityTrigger | RateTrigger) -> str:
    if trigger.name:
        return trigger.name
    if isinstance(trigger, SeverityTrigger):
        return f"{trigger.at_least}+ mistake → {trigger.to}"
    return (f"mistake rate > {trigger.max_rate:g} over {trigger.window_runs} and {trigger.short_window_runs} "
            f"runs → {trigger.to}")


def _fired(ledger: Ledger, wf: WorkflowPolicy, name: str, state: dict, batch: list[RunResult]) -> list:
    current = state["stage"]
    fired = []
    for trigger in wf.demotion:
        if STAGES.index(current) <= STAGES.index(trigger.to):
            continue
        if trigger.at_stages is not None and current not in trigger.at_stages:
            continue
        if isinstance(trigger, SeverityTrigger):
            hits = [(r, m) for r in batch if r.stage == current for m in r.mistakes
                    if severity_rank(m.severity) >= severity_rank(trigger.at_least)]
            if hits:
                r, m = hits[0]
                fired.append((trigger, {
                    "summary": f"{m.severity} mistake at {current} in run {r.run_id}: {m.type} on {m.entity} "
                               f"({m.detail})",
                    "runs": sorted({r.run_id for r, _ in hits})}))
        else:
            with ledger.read() as conn:
                flags = evidence.recent_flags(conn, name, current, state["entered_run_pk"], trigger.window_runs,
                                              tuple(trigger.count_severities))
            exceeded, long_rate, short_rate = burn_rate_exceeded(flags, trigger.window_runs,
                                                                 trigger.short_window_runs, trigger.max_rate)
            if exceeded:
                fired.append((trigger, {
                    "summary": f"mistake rate at {current} is {long_rate:.0%} over the last "
                               f"{min(len(flags), trigger.window_runs)} runs and {short_rate:.0%} over the last "
                               f"{trigger.short_window_runs} (limit {trigger.max_rate:.0%} on both)",
                    "long_rate": long_rate, "short_rate": short_rate, "runs_seen": len(flags)}))
    return fired
