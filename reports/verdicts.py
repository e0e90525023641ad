"""Verdicts: the gate a workflow is judged against, what ``harness.promotion`` says of it, its history.

The overall verdict table has one row per workflow *and* agent version, each with that version's
own runs, rate, bound and worst severity; the workflow's pooled figures are labelled as pooled.
"""

from __future__ import annotations

from typing import Any

from harness.policy import Gate, Policy
from reports.tables import version_key


def threshold_gate(policy: Policy, workflow: str, stage: str) -> tuple[str, Gate, str] | None:
    """The gate whose threshold the report draws: the next stage's, else the current stage's."""
    wf = policy.workflows.get(workflow)
    if wf is None:
        return None
    nxt = wf.next_stage(stage)
    if nxt and wf.gate(nxt) is not None:
        return nxt, wf.gate(nxt), f"gate to enter {nxt}"
    if wf.gate(stage) is not None:
        return stage, wf.gate(stage), f"gate of {stage} (the current stage, top of the ladder)"
    return None




def verdict(status: dict[str, Any], gate_info) -> dict[str, Any]:
    tracks = []
    for t in status["agents"]:
        gate = t["gate"]
        entry = {"agent": t["agent"], "agent_version": t["agent_version"], "runs_recorded": t["runs"],
                 "ready": None, "unmet": [], "criteria": [], "signoffs": None, "window": None}
        if gate is not None:
            entry.update(ready=bool(gate["ready"]), unmet=list(gate["unmet"]), criteria=gate["criteria"],
                         signoffs=gate.get("signoffs"), window=gate.get("window"), versions=gate.get("versions"))
        tracks.append(entry)
    ready_tracks = [f"{t['agent']}@{t['agent_version']}" for t in tracks if t["ready"]]
    judged = [t for t in tracks if t["ready"] is not None]
    best = min(judged, key=lambda t: (not t["ready"], len(t["unmet"]), -t["runs_recorded"])) if judged else None
    nxt = status["next_stage"]
    if not status["in_policy"]:
        summary = f"stays in {status['stage']}: the policy does not name this workflow"
    elif nxt is None:
        summary = f"at {status['stage']}, the top of its ladder"
    elif not tracks:
        summary = f"at {status['stage']}; no runs to judge for {nxt}"
    elif ready_tracks:
        summary = f"at {status['stage']}; the gate to {nxt} is met by {', '.join(ready_tracks)}"
        pending = [t for t in tracks if t["ready"] and t["signoffs"] and not t["signoffs"]["met"]]
        if pending:
            summary += " (sign-off still needed)"
    else:
        summary = f"at {status['stage']}; the gate to {nxt} is not met"
    recert = status.get("recertification")
    return {"stage": status["stage"], "entered_at": status["entered_at"], "granted_to": status["granted_to"],
            "owner": status["owner"], "in_policy": status["in_policy"], "next_stage": nxt,
            "next_gate_met": bool(ready_tracks) if (nxt and judged) else None, "ready_tracks": ready_tracks,
            "closest_track": None if best is None else f"{best['agent']}@{best['agent_version']}",
            "closest_unmet": [] if best is None else list(best["unmet"]),
            "summary": summary, "note": status["note"], "recertification": recert, "tracks": tracks,
            "threshold": None if gate_info is None else {
                "label": gate_info[2], "stage": gate_info[0], "max_mistake_rate": gate_info[1].max_mistake_rate,
                "confidence": gate_info[1].confidence, "method": gate_info[1].method,
                "count_severities": list(gate_info[1].count_severities), "window_runs": gate_info[1].window_runs}}


def transition_entry(t: dict[str, Any]) -> dict[str, Any]:
    gate = t.get("gate") or {}
    override = gate.get("override") or {}
    return {"seq": t["seq"], "at": t["created_at"], "kind": t["kind"], "from_stage": t["from_stage"],
            "to_stage": t["to_stage"], "actor": t["actor"], "reason": t["reason"], "override": bool(t["override"]),
            "overridden_criteria": list(override.get("unmet") or []),
            "agent": t.get("agent"), "agent_version": t.get("agent_version"),
            "signoffs": [{"person": s.get("person"), "roles": list(s.get("roles") or []), "reason": s.get("reason"),
                          "at": s.get("at"), "evidence_digest": s.get("evidence_digest")}
                         for s in (t.get("signoffs") or [])],
            "evidence_digest": t.get("evidence_digest"), "policy_digest": t.get("policy_digest")}




def version_rows(section: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per agent version of a workflow: the gate's judgement next to the version's own figures."""
    v = section["verdict"]
    threshold = section["mistake_rate_series"]["threshold"]
    judged = {(t["agent"], t["agent_version"]): t for t in v["tracks"]}
    figures = {(a["agent"], a["agent_version"]): a for a in section["agents"]}
    keys = list(figures) + [k for k in judged if k not in figures]
    rows = []
    for key in keys:
        track, own = judged.get(key), figures.get(key)
        ready = None if track is None or v["next_stage"] is None else track["ready"]
        rows.append({
            "agent": key[0], "agent_version": key[1], "stage": v["stage"], "next_stage": v["next_stage"],
            "next_gate_met": ready, "unmet": list(track["unmet"]) if track else [],
            "runs": own["runs"] if own else 0, "counted_runs": own["counted_runs"] if own else 0,
            "with_mistake": own["with_mistake"] if own else 0,
            "mistake_rate": own["mistake_rate"] if own else None, "upper_bound": own["upper_bound"] if own else None,
            "confidence": section["totals"]["confidence"],
            "worst_severity": own["worst_severity"] if own else None, "threshold": threshold})
    rows.sort(key=lambda r: (r["next_gate_met"] is not True, r["next_gate_met"] is None, r["agent"],
                             version_key(r["agent_version"])))
    return rows
