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

from harness import sequential
from harness.ledger import Window, evidence
from harness.ledger._time import iso, utcnow
from harness.models import SEVERITIES
from harness.policy import Gate, Signoffs, WorkflowPolicy


def window_for(gate: Gate, wf: WorkflowPolicy, workflow: str, agent: str, agent_version: str,
               now: datetime | None = None, epoch_pk: int = 0, digests: tuple[str, ...] | None = None) -> Window:
    """Every distinct run of the evidence epoch (no sliding run window: old mistakes are not forgotten)."""
    since = (now or utcnow()) - timedelta(days=gate.window_days) if gate.window_days else None
    return Window(workflow=workflow, agent=agent,
                  agent_version=None if wf.carry_over_versions else agent_version,
                  since=since, counted=tuple(gate.count_severities), after_pk=epoch_pk, digests=digests)


def _criterion(name: str, required: Any, measured: Any, met: bool, detail: str,
               verdict: str | None = None) -> dict[str, Any]:
    """``verdict``: met, not_met (more runs cannot fix it) or inconclusive (keep collecting)."""
    verdict = verdict or ("met" if met else "inconclusive")
    return {"name": name, "required": required, "measured": measured, "met": bool(met), "detail": detail,
            "verdict": verdict}


def last_demotion(conn: Connection, workflow: str, agent: str, agent_version: str) -> datetime | None:
    from sqlalchemy import func, select

    from harness.ledger._schema import transitions

    return conn.execute(select(func.max(transitions.c.created_at)).where(
        transitions.c.workflow == workflow, transitions.c.agent == agent,
        transitions.c.agent_version == agent_version, transitions.c.kind == "demote")).scalar()


def epoch_of(conn: Connection, workflow: str, agent: str, agent_version: str) -> tuple[int, datetime | None]:
    """Evidence for a promotion counts from after the version's last demotion: (run pk, demoted at)."""
    demoted = last_demotion(conn, workflow, agent, agent_version)
    return evidence.epoch_after(conn, workflow, agent, agent_version, demoted), demoted


def suite_digests(conn: Connection, gate: Gate, workflow: str) -> tuple[list[dict], tuple[str, ...] | None]:
    from harness.ledger._governance import get_suite

    suite = get_suite(conn, workflow)
    if gate.coverage is not None and gate.coverage.scenarios:
        suite = [e for e in suite if e["scenario"] in gate.coverage.scenarios]
    return suite, (tuple(e["digest"] for e in get_suite(conn, workflow)) or None)


def evaluate(conn: Connection, gate: Gate, wf: WorkflowPolicy, workflow: str, stage: str, agent: str,
             agent_version: str, now: datetime | None = None, epoch_pk: int | None = None) -> dict[str, Any]:
    """The gate to enter ``stage``, judged on the evidence in the ledger now (see harness.sequential).

    ``epoch_pk``: count runs after this pk (default: after the version's last demotion).
    """
    now = now or utcnow()
    since_demotion, demoted_at = epoch_of(conn, workflow, agent, agent_version)
    if epoch_pk is None:
        epoch_pk = since_demotion
    suite, digests = suite_digests(conn, gate, workflow)
    window = window_for(gate, wf, workflow, agent, agent_version, now, epoch_pk, digests)
    basis = gate.blast_radius.judged_on if gate.blast_radius else "potential"
    s = evidence.summary(conn, window, basis)
    n = s["runs"]
    recent = evidence.summary(conn, Window(**{**window.__dict__, "last_runs": gate.window_runs or 100}), basis)
    crit = [_criterion("min_runs", gate.min_runs, n, n >= gate.min_runs,
                       f"{n} distinct runs in the evidence{_scope(epoch_pk, digests)}")]
    sequential = None
    if gate.max_mistake_rate is not None:
        rate, sequential = _rate(conn, gate, window, n)
        crit.append(rate)
    crit.append(_criterion("max_errors", gate.max_errors, recent["infra_errors"],
                           recent["infra_errors"] <= gate.max_errors,
                           f"{recent['infra_errors']} of the last {gate.window_runs or 100} runs broken by the harness "
                           f"({recent['harness_errors']}) or the environment ({recent['environment_errors']}, e.g. a "
                           "model endpoint down): not agent mistakes, but they block promotion: fix and re-run"))
    if gate.max_severity is not None:
        worst = None if s["worst_severity"] is None else SEVERITIES[s["worst_severity"]]
        ok = worst is None or SEVERITIES.index(worst) <= SEVERITIES.index(gate.max_severity)
        crit.append(_criterion("max_severity", gate.max_severity, worst or "none", ok,
                               f"worst mistake in the evidence: {worst or 'none'}", None if ok else "not_met"))
    if gate.blast_radius is not None:
        crit += _blast(conn, gate, window, s)
    if gate.coverage is not None:
        crit.append(_coverage(conn, gate, window, suite))
    if gate.min_consecutive_clean:
        crit.append(_criterion("min_consecutive_clean", gate.min_consecutive_clean, s["clean_streak"],
                               s["clean_streak"] >= gate.min_consecutive_clean,
                               f"{s['clean_streak']} clean runs since the last one with a mistake"))
    if gate.min_plans_reviewed is not None or gate.min_share_approved_unchanged is not None:
        crit += _plans(conn, gate, window)
    if demoted_at is not None and wf.cooldown_days:
        until = demoted_at + timedelta(days=wf.cooldown_days)
        crit.append(_criterion("cooldown", f"{wf.cooldown_days:g} days after a demotion", iso(demoted_at),
                               now >= until, f"demoted at {iso(demoted_at)}; promotion possible from {iso(until)}"))
    unmet = [c["name"] for c in crit if not c["met"]]
    outcome = "met" if not unmet else ("not_met" if any(c["verdict"] == "not_met" for c in crit)
                                       else "inconclusive")
    return {
        "workflow": workflow, "stage": stage, "agent": agent, "agent_version": agent_version,
        "versions": "all versions (carry-over)" if wf.carry_over_versions else "this version only",
        "window": {"epoch_after_run": epoch_pk, "days": gate.window_days, "runs": s["total"],
                   "first_started": s["first_started"], "last_started": s["last_started"],
                   "demoted_at": iso(demoted_at), "suite": len(suite) if digests else None,
                   "ran_by": evidence.runners(conn, window)},
        "errors": {"agent": s["agent_errors"], "harness": recent["harness_errors"],
                   "environment": recent["environment_errors"]},
        "criteria": crit, "ready": not unmet, "unmet": unmet, "outcome": outcome, "sequential": sequential,
        "evaluated_at": iso(now),
    }


def _scope(epoch_pk: int, digests: tuple[str, ...] | None) -> str:
    parts = []
    if epoch_pk:
        parts.append("recorded after the last demotion or grant")
    if digests is not None:
        parts.append("of the registered suite's scenario versions")
    return (" (" + ", ".join(parts) + ")") if parts else ""


def _rate(conn: Connection, gate: Gate, window: Window, n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The mistake rate, judged at the last checkpoint reached, with its slice of the error budget."""
    assert gate.max_mistake_rate is not None
    n0 = sequential.first_checkpoint(gate.min_runs, gate.max_mistake_rate, gate.confidence, gate.method)
    index = sequential.checkpoint_index(n, n0)
    k = 0
    if index is not None:
        sample = Window(**{**window.__dict__, "first_runs": sequential.checkpoint_size(index, n0)})
        k = evidence.summary(conn, sample)["with_mistake"]
    v = sequential.judge_rate(k, index, n0, gate.max_mistake_rate, gate.confidence, gate.method)
    counted = "any severity" if len(gate.count_severities) == len(SEVERITIES) else "/".join(gate.count_severities)
    if index is None:
        detail = (f"{n} distinct runs; the rate is first judged at the checkpoint of {n0} runs "
                  f"(then {2 * n0}, {4 * n0}, …)")
        measured = None
    else:
        detail = (f"checkpoint {index + 1} ({v.sample} runs): {k} with a mistake ({counted}, or an agent error); "
                  f"raw {k / v.sample:.1%}; upper bound {v.upper:.2%} at {1 - v.alpha:.3%} confidence "
                  f"({gate.method}, this checkpoint's share {v.alpha:.3%} of the {1 - gate.confidence:.0%} "
                  f"error budget) vs {gate.max_mistake_rate:.2%}")
        if v.outcome == "not_met":
            detail += f"; lower bound {v.lower:.2%} is over the gate: this version is worse than the gate"
        elif v.outcome == "inconclusive":
            detail += f"; inconclusive: keep collecting, next checkpoint at {v.next_at} runs"
        measured = round(v.upper, 6)
    crit = _criterion("max_mistake_rate", gate.max_mistake_rate, measured, v.outcome == "met", detail, v.outcome)
    info = {"design": "alpha spending over a doubling schedule", "alpha": round(1 - gate.confidence, 6),
            "first_checkpoint": n0, "checkpoint": None if index is None else index + 1,
            "checkpoint_runs": v.sample, "checkpoint_alpha": v.alpha, "mistakes": k,
            "upper_bound": v.upper, "lower_bound": v.lower, "next_checkpoint_runs": v.next_at, "outcome": v.outcome}
    return crit, info


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


def _coverage(conn: Connection, gate: Gate, window: Window, suite: list[dict]) -> dict[str, Any]:
    """Judged against the workflow's registered suite: a scenario counts only with runs of its
    registered digest, so an edited or missing scenario shows as uncovered."""
    need = gate.coverage.min_runs_per_scenario
    names = list(gate.coverage.scenarios or [e["scenario"] for e in suite])
    if not names:
        return _criterion("coverage", f"{need} per scenario of the registered suite", "no suite", False,
                          f"no suite is registered for {window.workflow}: declare the scenarios it is judged on "
                          f"with `harness suite register {window.workflow} PATH...`")
    digest_of = {e["scenario"]: e["digest"] for e in suite}
    seen = evidence.coverage(conn, window)
    short = []
    for sc in names:
        got = seen.get((sc, digest_of[sc]), 0) if sc in digest_of else 0
        if got < need:
            short.append(f"{sc} ({got})" if sc in digest_of else f"{sc} (not registered)")
    covered = len(names) - len(short)
    detail = f"{covered} of {len(names)} registered scenarios run at least {need}× at their registered digest"
    if short:
        detail += "; short: " + ", ".join(short[:8]) + (" …" if len(short) > 8 else "")
    return _criterion("coverage", f"{need} per scenario × {len(names)}", f"{covered}/{len(names)}",
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
                    agent_version: str, now: datetime | None = None, epoch_pk: int | None = None) -> str:
    """sha256 over the sorted ids of the runs the gate counted."""
    if epoch_pk is None:
        epoch_pk = epoch_of(conn, workflow, agent, agent_version)[0]
    _, digests = suite_digests(conn, gate, workflow)
    ids = evidence.run_ids(conn, window_for(gate, wf, workflow, agent, agent_version, now, epoch_pk, digests))
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
