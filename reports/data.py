"""The trust report's numbers, built from the ledger as one plain dict (see ``docs/reports.md``).

The ledger streams one narrow row per selected run and filters or groups everything sparse itself
(``harness.ledger.report_queries``); ``runs_table`` turns the rows into small arrays and one grouped
table; ``tables``, ``series`` and ``verdicts`` shape the sections. The JSON report is this dict, and
the HTML and Markdown reports and their figures are drawn from it alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from harness import promotion
from harness.ledger import Ledger, report_queries
from harness.ledger._time import iso, utcnow
from harness.models import BLAST_DIMENSIONS, SEVERITIES
from harness.policy import Policy
from reports import runs_table, series, tables, verdicts
from reports.scope import agent_text, ledger_label, parse_since, policy_label, resolve_scope

SCHEMA = "harness.trust-report/2"
DEFAULT_CONFIDENCE = 0.95
DEFAULT_METHOD = "clopper-pearson"
BAD_RUNS = 10
"""Runs listed per workflow as the worst by severity (with their ``audit explain`` command)."""
WORST_PER_DIMENSION = 3
MISTAKES_PER_LISTED_RUN = 5
MISTAKE_KEYS = ["workflow", "agent", "agent_version", "scenario", "type", "severity", "count"]
PLAN_KEYS = ["workflow", "agent", "agent_version", "status", "approved_unchanged", "count"]
DEFINITIONS = {
    "counted_run": "a run not broken by the harness or the environment (those are reported as infra_errors and "
                   "never count for or against the agent)",
    "with_mistake": "a counted run with a mistake of a counted severity (the gate's count_severities; all "
                    "severities when no gate applies) or an agent error",
    "mistake_rate": "with_mistake / counted runs",
    "upper_bound": "one-sided upper confidence bound of the mistake rate (the gate's confidence and method; 95% "
                   "Clopper-Pearson when no gate applies)",
    "band": "two-sided confidence interval (same confidence, Clopper-Pearson) of the rolling rate",
    "verdict": "the next stage's gate evaluated now over the gate's own window (not --since), per agent version",
    "production": "sessions at work through the governing gateway (harness gateway serve), counted apart from the "
                  "sandbox runs: they are not runs and never enter a mistake rate",
    "pooled": "figures over every agent version of a workflow together; a gate never judges pooled figures",
    "pass_k": "pass^k: the chance that k repeats of the same scenario all pass; per scenario and agent version "
              "with c passes in n runs (every run in scope, errored ones as not passed) C(c,k)/C(n,k), averaged "
              "over the scenarios with at least k runs",
}


def build_report(ledger: Ledger, policy: Policy, *, workflows: list[str] | None = None,
                 since: datetime | str | None = None, agent: str | None = None,
                 now: datetime | None = None) -> dict[str, Any]:
    """The trust report's numbers as one JSON-ready dict (structure in ``docs/reports.md``)."""
    if isinstance(since, str):
        since = parse_since(since)
    now = now or utcnow()
    selection = resolve_scope(ledger, policy, workflows, since, agent)
    states = {wf: ledger.workflow_state(wf) for wf in selection.workflows}
    gates = {wf: verdicts.threshold_gate(policy, wf, states[wf]["stage"]) for wf in selection.workflows}
    counted = {wf: tuple(g[1].count_severities) if g else SEVERITIES for wf, g in gates.items()}

    with ledger.read() as conn:
        table = runs_table.read_runs(report_queries.run_rows(conn, selection, counted))
        blast = runs_table.read_blast(report_queries.blast_rows(conn, selection))
        mistakes = pd.DataFrame(report_queries.mistake_counts(conn, selection), columns=MISTAKE_KEYS)
        plans = pd.DataFrame(report_queries.plan_counts(conn, selection), columns=PLAN_KEYS)
        production = report_queries.production_sessions(conn, selection)
        groups = runs_table.grouped(table, blast)
        listed_bad = runs_table.bad_runs(table, BAD_RUNS)
        listed_worst = {dim: runs_table.worst_runs(table, blast, dim, WORST_PER_DIMENSION)
                        for dim in BLAST_DIMENSIONS}
        wanted = set(listed_bad).union(*listed_worst.values())
        details = {pk: _listed_run(d) for pk, d in
                   report_queries.run_details(conn, wanted, MISTAKES_PER_LISTED_RUN).items()}
    mistakes["count"] = mistakes["count"].astype("int64")
    plans["count"] = plans["count"].astype("int64")
    distributions = {name: runs_table.value_counts(table, blast, name) for name in report_queries.BLAST_NAMES}

    sections = []
    for wf in selection.workflows:
        status = promotion.status(ledger, policy, wf, agent_text(selection), now=now)[0]
        g = gates[wf]
        stats = {"confidence": g[1].confidence if g else DEFAULT_CONFIDENCE,
                 "method": g[1].method if g else DEFAULT_METHOD}
        listed = {"bad": [details[pk] for pk in listed_bad if details.get(pk, {}).get("workflow") == wf],
                  "worst": {dim: [details[pk] for pk in pks if details.get(pk, {}).get("workflow") == wf]
                            for dim, pks in listed_worst.items()}}
        sections.append(_workflow_section(
            wf, status, g, counted[wf], stats, groups[groups["workflow"] == wf], mistakes[mistakes["workflow"] == wf],
            {k: v[v["workflow"] == wf] for k, v in distributions.items()}, listed, plans[plans["workflow"] == wf],
            series.series(table, wf), ledger.scenarios(wf), ledger.transitions(wf)))
        sections[-1]["production"] = tables.production([p for p in production if p["workflow"] == wf])
    return {
        "schema": SCHEMA,
        "generated_at": iso(now),
        "ledger": ledger_label(ledger),
        "policy": {"path": policy_label(policy.path), "digest": policy.digest},
        "filters": {"workflows": list(selection.workflows), "since": iso(selection.since),
                    "agent": agent_text(selection)},
        "definitions": DEFINITIONS,
        "overall": {**_overall(groups, mistakes, plans, sections), "production": tables.production(production)},
        "workflows": sections,
    }


def _listed_run(d: dict[str, Any]) -> dict[str, Any]:
    """A run listed by name (worst runs): its keys, blast radius, mistakes and the command that explains it."""
    worst = d["worst_severity"]
    return {**d, "started_at": iso(d["started_at"]), "worst_severity": None if worst is None else SEVERITIES[worst],
            "realised": {k: tables.num(v) for k, v in d["realised"].items()},
            "potential": {k: tables.num(v) for k, v in d["potential"].items()},
            "explain": f"harness audit explain {d['run_id']}"}


def _workflow_section(wf: str, status: dict, gate_info, counted: tuple[str, ...], stats: dict, df: pd.DataFrame,
                      mdf: pd.DataFrame, dists: dict, listed: dict, pdf: pd.DataFrame, runs: series.Series,
                      known_scenarios: list[str], transitions: list[dict]) -> dict[str, Any]:
    conf, method = stats["confidence"], stats["method"]
    totals = tables.totals(df, conf, method)
    blast: dict[str, Any] = {"dimensions": {}, "by_stage": tables.by_stage(df, conf, method), "worst_runs": {}}
    for dim in BLAST_DIMENSIONS:
        vcs = {basis: dists[f"{basis}.{dim}"] for basis in tables.BASES}
        blast["dimensions"][dim] = {
            basis: {**totals["blast_radius"][basis][dim], **tables.distribution(vcs[basis], totals["runs"])}
            for basis in tables.BASES}
        blast["dimensions"][dim]["histogram"] = tables.histogram(vcs, {b: totals["runs"] for b in tables.BASES})
        blast["worst_runs"][dim] = [{**run, "value": run["potential"][dim]} for run in listed["worst"][dim]]
    return {
        "workflow": wf,
        "verdict": verdicts.verdict(status, gate_info),
        "counted_severities": list(counted),
        "totals": totals,
        "mistake_rate_series": {**series.rolling(runs, conf, method), "confidence": conf, "method": method,
                                "band_method": "clopper-pearson",
                                "threshold": None if gate_info is None else gate_info[1].max_mistake_rate,
                                "threshold_label": None if gate_info is None else gate_info[2]},
        "daily": series.daily(runs, conf),
        "blast_radius": blast,
        "mistakes": tables.mistake_tables(mdf),
        "scenarios": tables.scenarios(df, mdf, known_scenarios, gate_info),
        "plans": tables.plans_section(pdf),
        "agents": tables.agents_table(df, conf, method),
        "stage_history": [verdicts.transition_entry(t) for t in transitions],
        "bad_runs": listed["bad"],
    }


def _overall(df: pd.DataFrame, mdf: pd.DataFrame, pdf: pd.DataFrame, sections: list[dict]) -> dict[str, Any]:
    workflows = []
    for s in sections:
        v, t = s["verdict"], s["totals"]
        workflows.append({
            "workflow": s["workflow"], "stage": v["stage"], "next_stage": v["next_stage"],
            "next_gate_met": v["next_gate_met"], "summary": v["summary"], "ready_tracks": v["ready_tracks"],
            "closest_track": v["closest_track"], "unmet": v["closest_unmet"],
            "threshold": s["mistake_rate_series"]["threshold"],
            "versions": verdicts.version_rows(s),
            "pooled": {"runs": t["runs"], "counted_runs": t["counted_runs"], "with_mistake": t["with_mistake"],
                       "mistake_rate": t["mistake_rate"], "upper_bound": t["upper_bound"],
                       "worst_severity": t["worst_severity"]}})
    return {
        "totals": tables.totals(df, DEFAULT_CONFIDENCE, DEFAULT_METHOD),
        "mistakes": tables.mistake_tables(mdf),
        "plans": tables.plans_summary(pdf),
        "agents": tables.agents_table(df, DEFAULT_CONFIDENCE, DEFAULT_METHOD, workflows_of={}),
        "workflows": workflows,
    }
