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
from harness.ledger import Ledger
from harness.ledger._time import iso, to_dt, utcnow
from harness.models import STAGES, RunResult, severity_rank
from harness.policy import IncidentTrigger, Policy, RateTrigger, SeverityTrigger, WorkflowPolicy
from harness.signoffs import check_signer, overrides_of, valid_signoffs


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
    """Each workflow and, per agent version, its granted stage and the next gate criterion by criterion."""
    now = now or utcnow()
    names = _workflow_names(ledger, policy, workflow)
    tracks_by_wf: dict[str, list[dict]] = defaultdict(list)
    for t in ledger.tracks(workflow):
        tracks_by_wf[t["workflow"]].append(t)
    grants_by_wf: dict[str, list[dict]] = defaultdict(list)
    for g in ledger.grants(workflow):
        grants_by_wf[g["workflow"]].append(g)
    work = {(w["workflow"], w["agent"], w["agent_version"]): w for w in ledger.work_summary(workflow)}
    incidents: dict[tuple, list[dict]] = defaultdict(list)
    for i in ledger.incidents(workflow):
        incidents[(i["workflow"], i["agent"], i["agent_version"])].append(i)
    out = []
    with ledger.read() as conn:
        for name in names:
            entry = _workflow_status(conn, ledger, policy, name, tracks_by_wf[name] + _work_tracks(work, name),
                                     grants_by_wf[name], agent, now)
            for t in entry["agents"]:
                key = (name, t["agent"], t["agent_version"])
                t["production"] = work.get(key)
                t["incidents"] = incidents.get(key, [])
            out.append(entry)
    return out


def _work_tracks(work: dict, workflow: str) -> list[dict]:
    """Versions seen only at work (sessions through ``harness gateway serve``) still get a status line."""
    return [{"workflow": w, "agent": a, "agent_version": v, "runs": 0} for (w, a, v) in work if w == workflow]


def _workflow_names(ledger: Ledger, policy: Policy, workflow: str | None) -> list[str]:
    known = set(policy.workflows) | set(ledger.workflows())
    if workflow is None:
        return sorted(known)
    if workflow not in known:
        policy.workflow(workflow)  # raises UsageError naming the policy's workflows
    return [workflow]


def _merge_tracks(tracks: list[dict], grants: list[dict]) -> list[dict]:
    """Versions with runs and versions with a grant (a carried-over grant may have no runs yet)."""
    seen: dict[tuple, dict] = {}
    for t in tracks:
        seen.setdefault((t["agent"], t["agent_version"]), dict(t))
    for g in grants:
        seen.setdefault((g["agent"], g["agent_version"]), {"workflow": g["workflow"], "agent": g["agent"],
                                                           "agent_version": g["agent_version"], "runs": 0})
    return list(seen.values())


def _workflow_status(conn, ledger: Ledger, policy: Policy, name: str, tracks: list[dict], grants: list[dict],
                     agent: str | None, now: datetime) -> dict[str, Any]:
    from harness.governance import governing_policy

    summary = ledger.workflow_state(name)
    pin = ledger.policy_pin(name)
    policy = governing_policy(ledger, policy, name)
    wf = policy.workflows.get(name)
    pause = ledger.paused(name)
    entry: dict[str, Any] = {
        "workflow": name, "stage": summary["stage"], "entered_at": summary["entered_at"],
        "granted_to": f"{summary['agent']}@{summary['agent_version']}" if summary["agent"] else None,
        "owner": wf.owner if wf else None, "in_policy": wf is not None, "next_stage": None,
        "paused": pause, "agents": [], "recertification": None, "note": None,
        "policy": {"pinned": pin is not None, "digest": policy.digest, "path": policy.path,
                   "pinned_by": pin["pinned_by"] if pin else None, "pinned_at": pin["pinned_at"] if pin else None},
    }
    tracks = _merge_tracks(tracks, grants)
    if agent:
        a_name, a_version = parse_agent(agent)
        tracks = [t for t in tracks if t["agent"] == a_name and a_version in (None, t["agent_version"])]
    by_track = {(g["agent"], g["agent_version"]): g for g in grants}
    overrides = overrides_of(ledger, name, by_track)
    if wf is None:
        entry["note"] = "not in the policy: every version stays in sandbox until the policy names it"
        entry["agents"] = [_track(t, by_track.get((t["agent"], t["agent_version"])), None, None) for t in tracks]
        return entry
    entry["next_stage"] = wf.next_stage(summary["stage"])
    for t in tracks:
        grant = by_track.get((t["agent"], t["agent_version"]))
        stage = grant["stage"] if grant else "sandbox"
        nxt = wf.next_stage(stage)
        gate = wf.gate(nxt) if nxt else None
        evaluation = None
        if gate is not None:
            evaluation = _gate.evaluate(conn, gate, wf, name, nxt, t["agent"], t["agent_version"], now)
            epoch = evaluation["window"]["epoch_after_run"]
            evaluation["looks"] = looks_summary(ledger, gate, name, t["agent"], t["agent_version"], nxt, epoch)
            digest = _gate.evidence_digest(conn, gate, wf, name, t["agent"], t["agent_version"], now, epoch)
            signers, lapsed = valid_signoffs(ledger, policy, gate, name, grant["version"] if grant else 0, nxt,
                                             f"{t['agent']}@{t['agent_version']}", digest, now, evaluation)
            evaluation["signoffs"] = _gate.signoff_criterion(gate.signoffs, signers)
            if lapsed:
                evaluation["signoffs"]["detail"] += "; lapsed: " + ", ".join(lapsed)
        entry["agents"].append(_track(t, grant, evaluation, _recertification(conn, wf, name, grant, now)))
        entry["agents"][-1]["override"] = overrides.get((t["agent"], t["agent_version"]))
    entry["granted_by_override"] = bool(summary["agent"] and overrides.get((summary["agent"],
                                                                             summary["agent_version"])))
    if not tracks:
        entry["note"] = "no runs yet: run its scenarios to build a track record"
    return entry


def _track(t: dict, grant: dict | None, evaluation: dict | None, recert: dict | None) -> dict[str, Any]:
    return {"agent": t["agent"], "agent_version": t["agent_version"], "runs": t["runs"],
            "stage": grant["stage"] if grant else "sandbox",
            "granted_at": grant["entered_at"] if grant else None,
            "grant_source": grant["source"] if grant else "default",
            "carried_from": grant.get("carried_from") if grant else None,
            "next_stage": evaluation["stage"] if evaluation else None,
            "gate": evaluation, "recertification": recert}


def _recertification(conn, wf: WorkflowPolicy, name: str, grant: dict | None, now: datetime) -> dict | None:
    if grant is None:
        return None
    stage = (grant.get("expired") or {}).get("stage") or grant["stage"]
    gate = wf.gate(stage)
    if gate is None or not gate.recertify_days or not grant["entered_at"]:
        return None
    due_at = to_dt(grant["entered_at"]) + timedelta(days=gate.recertify_days)
    out: dict[str, Any] = {"every_days": gate.recertify_days, "due_at": iso(due_at), "due": now >= due_at,
                           "gate": None, "expired": bool(grant.get("expired")), "stage": stage,
                           "holds_meanwhile": grant["stage"] if grant.get("expired") else None}
    if out["due"]:
        out["gate"] = _gate.evaluate(conn, gate, wf, name, stage, grant["agent"], grant["agent_version"],
                                     now, epoch_pk=grant.get("entered_run_pk") or 0)
    return out


# -- promote / demote ---------------------------------------------------------------------------------
def promote(ledger: Ledger, policy: Policy, workflow: str, to: str | None, by: str, reason: str,
            agent: str | None = None, override: bool = False, now: datetime | None = None) -> dict[str, Any]:
    """Promote one agent version one stage up. Returns the transition; raises GateNotMet with every
    unmet criterion.

    When the gate asks for more sign-offs than this one, the sign-off is recorded and GateNotMet
    says who else must sign; the last signer's request re-evaluates the gate and promotes.
    """
    wf = policy.workflow(workflow)
    if to is not None:
        _check_stage(to)
    if not by or not by.strip():
        raise UsageError("--by must name who signs off.", expected="a name, e.g. dana@example.com")
    if not reason or not reason.strip():
        raise UsageError("--reason must say why.", expected="a sentence a later reader will understand")
    from harness.governance import require_pinned

    policy = require_pinned(ledger, policy, workflow, by.strip())
    wf = policy.workflow(workflow)
    name, version = resolve_agent(ledger, workflow, agent)
    track = f"{name}@{version}"
    grant = ledger.grant(workflow, name, version)
    current = grant["stage"]
    to = to or wf.next_stage(current)
    if to is None:
        raise UsageError(f"{workflow} is already at the top of its ladder for {track} ({current}).")
    _check_step_up(wf, workflow, current, to, track)
    gate = wf.gate(to)
    assert gate is not None  # the policy check guarantees a gate for every stage after sandbox
    if gate.signoffs.roles and not set(policy.roles_of(by)) & set(gate.signoffs.roles):
        check_signer(policy, gate, workflow, to, by, {"window": {}})  # refused before it counts as a look
    now = now or utcnow()
    with ledger.read() as conn:
        # re-certifying an expired grant: only evidence recorded after that grant counts
        recert_epoch = (grant.get("entered_run_pk") or 0) if (grant.get("expired") or {}).get("stage") == to else None
        evaluation = _gate.evaluate(conn, gate, wf, workflow, to, name, version, now, recert_epoch)
        epoch = evaluation["window"]["epoch_after_run"]
        digest = _gate.evidence_digest(conn, gate, wf, workflow, name, version, now, epoch)
    evaluation["looks"] = record_look(ledger, gate, evaluation, epoch, to, by, digest)
    unmet = [c for c in evaluation["criteria"] if not c["met"]]
    if unmet and not override:
        lines = "\n".join(f"  - {c['name']}: required {c['required']}, measured {c['measured']} ({c['detail']})"
                          for c in unmet)
        noun = "criterion" if len(unmet) == 1 else "criteria"
        verdict = ("NOT MET: more runs of this version will not change that" if evaluation["outcome"] == "not_met"
                   else "INCONCLUSIVE: keep collecting evidence")
        raise GateNotMet(f"{workflow} cannot enter {to} for {track} — {verdict}. {len(unmet)} {noun} unmet:\n"
                         f"{lines}\n{_looks_line(evaluation['looks'])}\n"
                         "Run more scenarios, or use --override with a reason to take responsibility.")
    roles = check_signer(policy, gate, workflow, to, by, evaluation)
    me = {"person": by, "roles": roles, "reason": reason, "at": iso(now), "evidence_digest": digest}
    others, lapsed = valid_signoffs(ledger, policy, gate, workflow, grant["version"], to, track, digest, now,
                                    evaluation)
    signers = [s for s in others if s["person"] != by] + [me]
    evaluation["signoffs"] = _gate.signoff_criterion(gate.signoffs, signers)
    if lapsed:
        evaluation["signoffs"]["detail"] += "; lapsed: " + ", ".join(lapsed)
    evaluation["override"] = {"requested": override, "used": bool(unmet and override),
                              "unmet": [c["name"] for c in unmet]}
    if not evaluation["signoffs"]["met"]:
        ledger.add_signoff(workflow=workflow, state_version=grant["version"], to_stage=to, person=by,
                           agent=track, roles=roles, reason=reason, evidence_digest=digest)
        raise GateNotMet(f"your sign-off for {workflow} → {to} ({track}) is recorded, but the promotion "
                         f"waits: {evaluation['signoffs']['detail']}. The last signer's `harness promote` "
                         "re-checks the gate and promotes.")
    return ledger.record_transition(
        workflow=workflow, agent=name, agent_version=version, expected_version=grant["version"],
        from_stage=current, to_stage=to, kind="promote", actor=by, reason=reason, override=bool(unmet and override),
        signoff_list=signers, gate=evaluation, evidence_digest=digest, policy_digest=policy.digest,
        expires_at=now + timedelta(days=gate.recertify_days) if gate.recertify_days else None,
        fallback_stage=current if gate.recertify_days else None)


def record_look(ledger: Ledger, gate: Any, evaluation: dict[str, Any], epoch: int, to: str, by: str,
                digest: str | None) -> dict[str, Any]:
    """Every promotion attempt is a look, recorded whatever its outcome; returns the looks so far."""
    seq = evaluation.get("sequential") or {}
    checkpoint = seq.get("checkpoint")
    ledger.record_look(workflow=evaluation["workflow"], agent=evaluation["agent"],
                       agent_version=evaluation["agent_version"], to_stage=to, epoch_pk=epoch,
                       checkpoint=None if checkpoint is None else checkpoint - 1,
                       runs=next(c["measured"] for c in evaluation["criteria"] if c["name"] == "min_runs"),
                       alpha=float(seq.get("checkpoint_alpha") or 0.0), outcome=evaluation["outcome"], actor=by,
                       evidence_digest=digest)
    return looks_summary(ledger, gate, evaluation["workflow"], evaluation["agent"], evaluation["agent_version"],
                         to, epoch)


def looks_summary(ledger: Ledger, gate: Any, workflow: str, agent: str, version: str, to: str,
                  epoch: int) -> dict[str, Any]:
    """Looks at this gate in the current evidence epoch and the error they spent (see harness.sequential)."""
    from harness import sequential

    looks = ledger.looks(workflow, agent, version, to, epoch)
    alpha = round(1 - gate.confidence, 9)
    checkpoints = {lk["checkpoint"] for lk in looks if lk["checkpoint"] is not None}
    return {"looks": len(looks), "checkpoints_judged": sorted(i + 1 for i in checkpoints),
            "error_spent": round(sequential.spent(checkpoints, alpha), 9), "error_budget": alpha,
            "last": looks[-1] if looks else None}


def _looks_line(looks: dict[str, Any]) -> str:
    return (f"Looks at this gate so far: {looks['looks']} (this one included), error spent "
            f"{looks['error_spent']:.3%} of {looks['error_budget']:.0%}: every promote attempt is recorded.")


def _check_step_up(wf: WorkflowPolicy, workflow: str, current: str, to: str, track: str) -> None:
    if to not in wf.ladder:
        raise UsageError(f"{to} is not on the ladder of {workflow} ({' → '.join(wf.ladder)}).",
                         expected="a stage of the ladder")
    # the state, not the request, is the problem (e.g. a concurrent promotion won): refused, exit 1
    if to == current:
        raise ConflictError(f"{workflow} is already at {to} for {track} (someone may have promoted it a moment "
                            "ago); nothing was recorded. Run `harness history` to see who.")
    if STAGES.index(to) < STAGES.index(current):
        raise ConflictError(f"{workflow} is at {current} for {track}; {to} is lower, so nothing was recorded. "
                            "Use `harness demote` to step down.")
    nxt = wf.next_stage(current)
    if to != nxt:
        raise UsageError(f"{workflow} is at {current} for {track}: promotion goes one stage at a time, and the "
                         f"next is {nxt}.", expected=f"--to {nxt}")


def demote(ledger: Ledger, policy: Policy, workflow: str, to: str, by: str, reason: str,
           agent: str | None = None) -> list[dict[str, Any]]:
    """Demote to a lower stage (no gate: stepping back is always allowed, but recorded).

    With ``agent`` (NAME@VERSION or NAME) only those versions; without, every version of the
    workflow granted more than ``to``. Returns the transitions.
    """
    _check_stage(to)
    if not by or not by.strip():
        raise UsageError("--by must name who demotes.", expected="a name, e.g. dana@example.com")
    if not reason or not reason.strip():
        raise UsageError("--reason must say why.", expected="a sentence a later reader will understand")
    wf = policy.workflows.get(workflow)
    grants = ledger.grants(workflow)
    if wf is None and not grants:
        policy.workflow(workflow)  # unknown everywhere: UsageError
    if wf is not None and to not in wf.ladder:
        raise UsageError(f"{to} is not on the ladder of {workflow} ({' → '.join(wf.ladder)}).",
                         expected="a stage of the ladder")
    if agent:
        a_name, a_version = parse_agent(agent)
        grants = [g for g in grants if g["agent"] == a_name and a_version in (None, g["agent_version"])]
    above = [g for g in grants if STAGES.index(g["stage"]) > STAGES.index(to)]
    if not above:
        who = agent or "any agent version"
        stages = ", ".join(sorted({g["stage"] for g in grants})) or "sandbox"
        raise UsageError(f"{workflow} is not above {to} for {who} (granted: {stages}); nothing to demote.",
                         expected="a stage lower than the current grant")
    out = []
    for g in above:
        out.append(ledger.record_transition(
            workflow=workflow, agent=g["agent"], agent_version=g["agent_version"], expected_version=g["version"],
            from_stage=g["stage"], to_stage=to, kind="demote", actor=by, reason=reason,
            policy_digest=policy.digest))
    return out


def history(ledger: Ledger, workflow: str | None = None) -> list[dict[str, Any]]:
    return ledger.transitions(workflow)


# -- pause, incidents -----------------------------------------------------------------------------------
def _person(by: str, what: str) -> None:
    if not by or not by.strip():
        raise UsageError(f"--by must name who {what}.", expected="a name, e.g. dana@example.com")


def pause(ledger: Ledger, policy: Policy, workflow: str, by: str, reason: str) -> dict[str, Any]:
    """The kill switch: every write of every version of ``workflow`` is refused until ``resume``."""
    _person(by, "pauses")
    if not reason or not reason.strip():
        raise UsageError("--reason must say why.", expected="a sentence a later reader will understand")
    if workflow not in policy.workflows and workflow not in ledger.workflows():
        policy.workflow(workflow)
    return ledger.pause(workflow, by, reason)


def resume(ledger: Ledger, policy: Policy, workflow: str, by: str, reason: str) -> dict[str, Any]:
    _person(by, "resumes")
    if not reason or not reason.strip():
        raise UsageError("--reason must say why.", expected="a sentence a later reader will understand")
    return ledger.resume(workflow, by, reason)


def record_incident(ledger: Ledger, policy: Policy, workflow: str, *, agent: str, severity: str, reason: str,
                    by: str, session: str | None = None) -> dict[str, Any]:
    """Record a real incident against ``agent`` (NAME@VERSION) and apply the demotion rules at once.

    Severity triggers and incident triggers of the workflow's policy apply to the version's current
    stage; when several fire, the lowest target wins. Returns the incident and the demotion (or None).
    """
    from harness.models import SEVERITIES

    _person(by, "records the incident")
    if severity not in SEVERITIES:
        raise UsageError(f"unknown severity {severity!r}.", field="--severity", expected=", ".join(SEVERITIES))
    if not reason or not reason.strip():
        raise UsageError("--reason must say what happened.", expected="a sentence a later reader will understand")
    name, version = parse_agent(agent)
    if version is None:
        raise UsageError(f"--agent {agent!r} must name the version.", expected="NAME@VERSION")
    from harness.governance import governing_policy

    policy = governing_policy(ledger, policy, workflow)
    wf = policy.workflows.get(workflow)
    if wf is None and workflow not in ledger.workflows():
        policy.workflow(workflow)
    for _ in range(3):
        grant = ledger.grant(workflow, name, version)
        fired = []
        for trigger in (wf.demotion if wf else []):
            if not isinstance(trigger, SeverityTrigger | IncidentTrigger):
                continue
            if STAGES.index(grant["stage"]) <= STAGES.index(trigger.to):
                continue
            if trigger.at_stages is not None and grant["stage"] not in trigger.at_stages:
                continue
            if severity_rank(severity) >= severity_rank(trigger.at_least):
                fired.append(trigger)
        incident_id = None
        try:
            demotion = None
            if fired:
                trigger = min(fired, key=lambda t: STAGES.index(t.to))
                demotion = ledger.record_transition(
                    workflow=workflow, agent=name, agent_version=version, expected_version=grant["version"],
                    from_stage=grant["stage"], to_stage=trigger.to, kind="demote",
                    actor=f"rule:{describe_trigger(trigger)}",
                    reason=f"{severity} incident recorded by {by}: {reason}",
                    gate={"trigger": trigger.model_dump(), "incident": {"session": session, "severity": severity}},
                    policy_digest=policy.digest)
            incident_id = ledger.record_incident(
                workflow=workflow, agent=name, agent_version=version, session_id=session, stage=grant["stage"],
                severity=severity, reason=reason, actor=by, demotion_seq=demotion["seq"] if demotion else None)
            return {"incident": next(i for i in ledger.incidents(workflow, name, version) if i["id"] == incident_id),
                    "demotion": demotion}
        except ConflictError:
            continue
    raise ConflictError(f"{workflow} ({agent}) kept changing stage; the incident was not recorded. Try again.")


# -- automatic demotion (see harness.demotion) ----------------------------------------------------------
def check_demotions(ledger: Ledger, policy: Policy, results: Iterable[RunResult]) -> list[dict[str, Any]]:
    from harness.demotion import check_demotions as check

    return check(ledger, policy, results)


def describe_trigger(trigger: SeverityTrigger | RateTrigger | IncidentTrigger) -> str:
    if trigger.name:
        return trigger.name
    if isinstance(trigger, SeverityTrigger):
        return f"{trigger.at_least}+ mistake → {trigger.to}"
    if isinstance(trigger, IncidentTrigger):
        return f"{trigger.at_least}+ incident → {trigger.to}"
    return (f"mistake rate > {trigger.max_rate:g} over {trigger.window_runs} and {trigger.short_window_runs} "
            f"runs → {trigger.to}")
