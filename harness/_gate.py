"""Evaluate one stage's gate for one agent version, criterion by criterion.

Each criterion says what the policy requires, what the ledger measured, and whether it is met. The
evaluation is a plain dict, so it prints as a table, serialises as JSON and is stored verbatim with
the transition it allowed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from harness.ledger import Window, evidence
from harness.ledger._time import iso, utcnow
from harness.models import SEVERITIES
from harness.policy import Gate, Signoffs, WorkflowPolicy
from harness.stats import upper_bound


def window_for(gate: Gate, wf: WorkflowPolicy, workflow: str, agent: str, agent_version: str,
               now: datetime | None = None) -> Window:
    since = (now or utcnow()) - timedelta(days=gate.window_days) if gate.window_days else None
    return Window(workflow=workflow, agent=agent,
                  agent_version=None if wf.carry_over_versions else agent_version,
                  last_runs=gate.window_runs, since=since, counted=tuple(gate.count_severities))


def _criterion(name: str, required: Any, measured: Any, met: bool, detail: str) -> dict[str, Any]:
    return {"name": name, "required": required, "measured": measured, "met": bool(met), "detail": detail}


def evaluate(conn: Connection, gate: Gate, wf: WorkflowPolicy, workflow: str, stage: str, agent: str,
             agent_version: str, now: datetime | None = None) -> dict[str, Any]:
    """The gate to enter ``stage``, judged on the evidence in the ledger now (a declared checkpoint)."""
    now = now or utcnow()
    window = window_for(gate, wf, workflow, agent, agent_version, now)
    s = evidence.summary(conn, window, gate.blast_radius.judged_on if gate.blast_radius else "potential")
    n, k = s["runs"], s["with_mistake"]
    left_out = f"; {s['infra_errors']} broken by the harness/environment left out" if s["infra_errors"] else ""
    crit = [_criterion("min_runs", gate.min_runs, n, n >= gate.min_runs, f"{n} runs in the window{left_out}")]
    if gate.max_mistake_rate is not None:
        ub = upper_bound(k, n, gate.confidence, gate.method)
        raw = f"{k / n:.1%}" if n else "n/a"
        counted = "any severity" if len(gate.count_severities) == len(SEVERITIES) else \
            "/".join(gate.count_severities)
        crit.append(_criterion(
            "max_mistake_rate", gate.max_mistake_rate, round(ub, 6), ub <= gate.max_mistake_rate,
            f"{k} of {n} runs with a mistake ({counted}, or an agent error: {s['agent_errors']}); raw {raw}; "
            f"{gate.confidence:.0%} upper bound {ub:.2%} ({gate.method}) vs {gate.max_mistake_rate:.2%}"))
    crit.append(_criterion("max_errors", gate.max_errors, s["infra_errors"], s["infra_errors"] <= gate.max_errors,
                           f"{s['infra_errors']} runs broken by the harness ({s['harness_errors']}) or the "
                           f"environment ({s['environment_errors']}, e.g. a model endpoint down): not agent "
                           "mistakes, but they block promotion: fix and re-run"))
    if gate.max_severity is not None:
        worst = None if s["worst_severity"] is None else SEVERITIES[s["worst_severity"]]
        ok = worst is None or SEVERITIES.index(worst) <= SEVERITIES.index(gate.max_severity)
        crit.append(_criterion("max_severity", gate.max_severity, worst or "none", ok,
                               f"worst mistake in the window: {worst or 'none'}"))
    if gate.blast_radius is not None:
        crit += _blast(conn, gate, window, s)
    if gate.coverage is not None:
        crit.append(_coverage(conn, gate, window, workflow))
    if gate.min_consecutive_clean:
        crit.append(_criterion("min_consecutive_clean", gate.min_consecutive_clean, s["clean_streak"],
                               s["clean_streak"] >= gate.min_consecutive_clean,
                               f"{s['clean_streak']} clean runs since the last one with a mistake"))
    if gate.min_plans_reviewed is not None or gate.min_share_approved_unchanged is not None:
        crit += _plans(conn, gate, window)
    unmet = [c["name"] for c in crit if not c["met"]]
    return {
        "workflow": workflow, "stage": stage, "agent": agent, "agent_version": agent_version,
        "versions": "all versions (carry-over)" if wf.carry_over_versions else "this version only",
        "window": {"last_runs": gate.window_runs, "days": gate.window_days, "runs": s["total"],
                   "first_started": s["first_started"], "last_started": s["last_started"]},
        "errors": {"agent": s["agent_errors"], "harness": s["harness_errors"],
                   "environment": s["environment_errors"]},
        "criteria": crit, "ready": not unmet, "unmet": unmet, "evaluated_at": iso(now),
    }


def _blast(conn: Connection, gate: Gate, window: Window, s: dict) -> list[dict[str, Any]]:
    basis = gate.blast_radius.judged_on
    out = []
    for dim, limit in gate.blast_radius.limits():
        if limit.percentile is None:
            value = s["blast_max"][dim] if s["total"] else None
            name, what = f"blast_radius.{dim}", "largest"
        else:
            value = evidence.percentile(conn, window, dim, limit.percentile, basis, s["total"])
            name, what = f"blast_radius.{dim}.p{limit.percentile:g}", f"{limit.percentile:g}th percentile"
        met = value is not None and value <= limit.max
        shown = "no runs" if value is None else f"{value:g}"
        out.append(_criterion(name, limit.max, value, met, f"{what} {basis} {dim} in the window: {shown}"))
    return out


def _coverage(conn: Connection, gate: Gate, window: Window, workflow: str) -> dict[str, Any]:
    need = gate.coverage.min_runs_per_scenario
    scenarios = gate.coverage.scenarios or evidence.known_scenarios(conn, workflow)
    seen = evidence.coverage(conn, window)
    short = [f"{sc} ({seen.get(sc, 0)})" for sc in scenarios if seen.get(sc, 0) < need]
    covered = len(scenarios) - len(short)
    detail = f"{covered} of {len(scenarios)} scenarios run at least {need}× in the window"
    if short:
        detail += "; short: " + ", ".join(short[:8]) + (" …" if len(short) > 8 else "")
    return _criterion("coverage", f"{need} per scenario × {len(scenarios)}", f"{covered}/{len(scenarios)}",
                      not short, detail)


def _plans(conn: Connection, gate: Gate, window: Window) -> list[dict[str, Any]]:
    review = evidence.plan_review(conn, window.workflow, window.agent, window.agent_version, window.since,
                                  include_simulated=gate.count_simulated_reviews)
    who = "a person or a simulated reviewer" if gate.count_simulated_reviews else "a person"
    reviewed, unchanged = review["reviewed"], review["approved_unchanged"]
    out = []
    if gate.min_plans_reviewed is not None:
        out.append(_criterion("min_plans_reviewed", gate.min_plans_reviewed, reviewed,
                              reviewed >= gate.min_plans_reviewed, f"{reviewed} plans decided by {who}"))
    if gate.min_share_approved_unchanged is not None:
        share = unchanged / reviewed if reviewed else None
        out.append(_criterion("min_share_approved_unchanged", gate.min_share_approved_unchanged,
                              None if share is None else round(share, 4),
                              share is not None and share >= gate.min_share_approved_unchanged,
                              f"{unchanged} of {reviewed} reviewed plans approved unchanged"))
    return out


def evidence_digest(conn: Connection, gate: Gate, wf: WorkflowPolicy, workflow: str, agent: str,
                    agent_version: str, now: datetime | None = None) -> str:
    """sha256 over the sorted ids of the runs the gate counted."""
    ids = evidence.run_ids(conn, window_for(gate, wf, workflow, agent, agent_version, now))
    return hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()


def signoff_criterion(rule: Signoffs, signers: list[dict[str, Any]]) -> dict[str, Any]:
    """Are ``signers`` (each {person, roles}) enough? Each must hold a listed role; all roles covered."""
    people = {s["person"]: set(s["roles"]) for s in signers}
    if rule.roles:
        people = {p: r & set(rule.roles) for p, r in people.items() if r & set(rule.roles)}
    covered = set().union(*people.values()) if people else set()
    missing_roles = [r for r in rule.roles if r not in covered]
    met = len(people) >= rule.count and not missing_roles
    need = f"{rule.count}" + (f" ({', '.join(rule.roles)})" if rule.roles else "")
    have = ", ".join(sorted(people)) or "none"
    detail = f"needs {rule.count} sign-off{'s' if rule.count > 1 else ''}" + (
        f" covering {', '.join(rule.roles)}" if rule.roles else "") + f"; signed: {have}"
    if missing_roles and people:
        detail += f"; no sign-off yet from: {', '.join(missing_roles)}"
    return _criterion("signoffs", need, len(people), met, detail)
