"""The trust report's numbers, built from the ledger.

Everything that scales with the number of runs is aggregated in the database (one grouped scan of
``runs``, one of ``mistakes`` joined to ``runs``, one per blast-radius dimension for its value
distribution) or streamed in chunks of a few narrow columns (the mistake-rate series); pandas then
works on the small aggregates. A million-run ledger stays far below 2 GB.

The result is one plain dict (see ``docs/reports.md``): the JSON report is that dict, and the HTML
and Markdown reports and their plots are drawn from it alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import String, and_, case, func, literal, or_, select, type_coerce
from sqlalchemy.engine import make_url

from harness import promotion
from harness.errors import NotFoundError, UsageError
from harness.ledger import Ledger, evidence
from harness.ledger._schema import POTENTIAL, REALISED, SEVERITY_COLUMNS, mistakes, plans, runs
from harness.ledger._time import iso, utcnow
from harness.models import BLAST_DIMENSIONS, MISTAKE_TYPES, SEVERITIES
from harness.policy import Gate, Policy
from harness.stats import interval, upper_bound

SCHEMA = "harness.trust-report/1"
INFRA_CAUSES = evidence.INFRA_CAUSES
BASES = ("realised", "potential")
_BASIS_COLUMNS = {"realised": REALISED, "potential": POTENTIAL}
DEFAULT_CONFIDENCE = 0.95
DEFAULT_METHOD = "clopper-pearson"
SERIES_POINTS = 240
"""At most this many points per agent version in the mistake-rate series."""
CHUNK = 100_000
BAD_RUNS = 10
"""Runs listed per workflow as the worst by severity (with their ``audit explain`` command)."""
WORST_PER_DIMENSION = 3
MISTAKES_PER_LISTED_RUN = 5


# -- inputs ---------------------------------------------------------------------------------------------
def parse_since(text: str | None) -> datetime | None:
    """``--since``: an ISO date or date-time (naive = UTC) → naive UTC datetime; UsageError otherwise."""
    if text is None:
        return None
    raw = text.strip()
    try:
        value = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise UsageError(f"--since {text!r} is not a date.",
                         expected="an ISO date or date-time such as 2025-01-31 or 2025-01-31T12:00:00Z") from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


@dataclass(frozen=True)
class Scope:
    """Which runs and plans the report reads."""

    workflows: tuple[str, ...]
    since: datetime | None = None
    agent: str | None = None
    agent_version: str | None = None

    def run_conditions(self) -> list:
        conds = [runs.c.workflow.in_(self.workflows)]
        if self.since is not None:
            conds.append(runs.c.started_at >= self.since)
        if self.agent is not None:
            conds.append(runs.c.agent == self.agent)
        if self.agent_version is not None:
            conds.append(runs.c.agent_version == self.agent_version)
        return conds

    def plan_conditions(self) -> list:
        conds = [plans.c.workflow.in_(self.workflows)]
        if self.since is not None:
            conds.append(plans.c.created_at >= self.since)
        if self.agent is not None:
            conds.append(plans.c.agent == self.agent)
        if self.agent_version is not None:
            conds.append(plans.c.agent_version == self.agent_version)
        return conds


def check_ledger_exists(url: str) -> None:
    """A SQLite ledger file that does not exist is an error (opening it would create an empty one)."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - Ledger() gives the clear error for a malformed URL
        return
    if parsed.get_backend_name() != "sqlite":
        return
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    if not Path(database).expanduser().exists():
        raise NotFoundError(f"there is no ledger at {database}: nothing to report.",
                            expected="--ledger naming an existing ledger (or runs first: `harness run ...`)")


def resolve_scope(ledger: Ledger, policy: Policy, workflows: list[str] | None, since: datetime | None,
                  agent: str | None) -> Scope:
    """Check the request against the ledger: unknown workflows, an empty ledger and unknown agents are errors."""
    known = ledger.workflows()
    if not known:
        raise NotFoundError(
            f"the ledger {_ledger_label(ledger)} has no runs and no stage history: there is no evidence to "
            "report on.", expected="runs first, e.g. `harness run scenarios/ --agent oracle`")
    if workflows:
        chosen: list[str] = []
        for name in workflows:
            if name not in known and name not in policy.workflows:
                listed = ", ".join(known)
                raise NotFoundError(f"unknown workflow {name!r}: it has no runs in the ledger and is not in the "
                                    f"policy.", expected=f"one of the workflows with evidence: {listed}")
            if name not in chosen:
                chosen.append(name)
    else:
        chosen = list(known)
    name = version = None
    if agent:
        name, version = promotion.parse_agent(agent)
        tracks = [t for wf in chosen for t in ledger.tracks(wf)]
        if not any(t["agent"] == name and version in (None, t["agent_version"]) for t in tracks):
            have = ", ".join(sorted({f"{t['agent']}@{t['agent_version']}" for t in tracks})) or "none"
            raise UsageError(f"--agent {agent!r} has no runs in {', '.join(chosen)}.",
                             expected=f"an agent version with runs: {have}")
    return Scope(workflows=tuple(chosen), since=since, agent=name, agent_version=version)


def _ledger_label(ledger: Ledger) -> str:
    return ledger.engine.url.render_as_string(hide_password=True)


# -- the report -----------------------------------------------------------------------------------------
def build_report(ledger: Ledger, policy: Policy, *, workflows: list[str] | None = None,
                 since: datetime | str | None = None, agent: str | None = None,
                 now: datetime | None = None) -> dict[str, Any]:
    """The trust report's numbers as one JSON-ready dict (structure in ``docs/reports.md``)."""
    if isinstance(since, str):
        since = parse_since(since)
    now = now or utcnow()
    scope = resolve_scope(ledger, policy, workflows, since, agent)
    states = {wf: ledger.workflow_state(wf) for wf in scope.workflows}
    gates = {wf: _threshold_gate(policy, wf, states[wf]["stage"]) for wf in scope.workflows}
    counted = {wf: tuple(g[1].count_severities) if g else SEVERITIES for wf, g in gates.items()}

    with ledger.read() as conn:
        groups = _grouped_runs(conn, scope, counted)
        mistake_groups = _grouped_mistakes(conn, scope)
        distributions = {(basis, dim): _value_counts(conn, scope, basis, dim)
                         for basis in BASES for dim in BLAST_DIMENSIONS}
        listed_bad = _bad_runs(conn, scope)
        listed_worst = {dim: _worst_runs(conn, scope, dim) for dim in BLAST_DIMENSIONS}
        run_details = _run_details(conn, set(listed_bad["pk"]).union(*(set(d["pk"]) for d in listed_worst.values())))
        plan_groups = _grouped_plans(conn, scope)
        series = {wf: _series(conn, scope, wf, counted[wf]) for wf in scope.workflows}

    report_workflows = []
    for wf in scope.workflows:
        status = promotion.status(ledger, policy, wf, _agent_text(scope), now=now)[0]
        g = gates[wf]
        stats = {"confidence": g[1].confidence if g else DEFAULT_CONFIDENCE,
                 "method": g[1].method if g else DEFAULT_METHOD}
        report_workflows.append(_workflow_section(
            wf, status, g, counted[wf], stats, groups[groups["workflow"] == wf],
            mistake_groups[mistake_groups["workflow"] == wf],
            {k: v[v["workflow"] == wf] for k, v in distributions.items()},
            listed_bad[listed_bad["workflow"] == wf], {d: v[v["workflow"] == wf] for d, v in listed_worst.items()},
            run_details, plan_groups[plan_groups["workflow"] == wf], series[wf], ledger.scenarios(wf),
            ledger.transitions(wf)))

    overall = _overall(groups, mistake_groups, plan_groups, report_workflows)
    return {
        "schema": SCHEMA,
        "generated_at": iso(now),
        "ledger": _ledger_label(ledger),
        "policy": {"path": policy.path, "digest": policy.digest},
        "filters": {"workflows": list(scope.workflows), "since": iso(scope.since),
                    "agent": _agent_text(scope)},
        "definitions": {
            "counted_run": "a run not broken by the harness or the environment (those are reported as "
                           "infra_errors and never count for or against the agent)",
            "with_mistake": "a counted run with a mistake of a counted severity (the gate's count_severities; "
                            "all severities when no gate applies) or an agent error",
            "mistake_rate": "with_mistake / counted runs",
            "upper_bound": "one-sided upper confidence bound of the mistake rate (the gate's confidence and "
                           "method; 95% Clopper-Pearson when no gate applies)",
            "band": "two-sided confidence interval (same confidence, Clopper-Pearson) of the rolling rate",
            "verdict": "the next stage's gate evaluated now over the gate's own window (not --since)",
        },
        "overall": overall,
        "workflows": report_workflows,
    }


def _agent_text(scope: Scope) -> str | None:
    if scope.agent is None:
        return None
    return scope.agent if scope.agent_version is None else f"{scope.agent}@{scope.agent_version}"


def _threshold_gate(policy: Policy, workflow: str, stage: str) -> tuple[str, Gate, str] | None:
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


# -- queries --------------------------------------------------------------------------------------------
def _severity_sum(severities) -> Any:
    cols = [runs.c[SEVERITY_COLUMNS[s]] for s in severities]
    return sum(cols[1:], cols[0])


def _counted_mistakes(counted: dict[str, tuple[str, ...]]):
    """Per run, the number of mistakes of the severities its workflow's gate counts."""
    default = _severity_sum(SEVERITIES)
    special = [(wf, sev) for wf, sev in counted.items() if set(sev) != set(SEVERITIES)]
    if not special:
        return default
    return case(*((runs.c.workflow == wf, _severity_sum(sev)) for wf, sev in special), else_=default)


def _flags(counted: dict[str, tuple[str, ...]]):
    infra = func.coalesce(runs.c.error_cause, literal("none")).in_(INFRA_CAUSES)
    dirty = and_(~infra, or_(_counted_mistakes(counted) > 0, runs.c.error_cause == "agent"))
    return infra, dirty


def _count(cond) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


GROUP_KEYS = ("workflow", "agent", "agent_version", "stage", "scenario", "outcome")


def _grouped_runs(conn, scope: Scope, counted) -> pd.DataFrame:
    """One grouped scan: counts, flags, severities and blast radius per (workflow, agent, version, stage,
    scenario, outcome). Every other run-level table is a roll-up of this one."""
    infra, dirty = _flags(counted)
    cols = [runs.c[k] for k in GROUP_KEYS] + [
        func.count().label("runs"), _count(infra).label("infra_errors"), _count(dirty).label("with_mistake"),
        _count(runs.c.error_cause == "agent").label("agent_errors"),
        func.coalesce(func.sum(runs.c.mistakes), 0).label("mistakes"),
        func.max(runs.c.worst_severity).label("worst"),
        func.min(runs.c.started_at).label("first_started"), func.max(runs.c.started_at).label("last_started")]
    for basis in BASES:
        for dim, col in _BASIS_COLUMNS[basis].items():
            c = runs.c[col]
            cols += [func.coalesce(func.sum(c), 0).label(f"{basis}.{dim}.total"),
                     func.coalesce(func.max(c), 0).label(f"{basis}.{dim}.max"),
                     _count(c > 0).label(f"{basis}.{dim}.nonzero")]
    stmt = select(*cols).where(*scope.run_conditions()).group_by(*(runs.c[k] for k in GROUP_KEYS))
    rows = conn.execute(stmt).all()
    names = [c.name for c in stmt.selected_columns]
    df = pd.DataFrame.from_records(rows, columns=names)
    for n in names:
        if n in GROUP_KEYS or n in ("first_started", "last_started"):
            continue
        if n == "worst":
            df[n] = pd.to_numeric(df[n], errors="coerce").astype("float64")
        elif n.endswith("money_exposed.total") or n.endswith("money_exposed.max"):
            df[n] = df[n].astype("float64")
        else:
            df[n] = df[n].astype("int64")
    return df


def _grouped_mistakes(conn, scope: Scope) -> pd.DataFrame:
    keys = [runs.c.workflow, runs.c.agent, runs.c.agent_version, runs.c.scenario, mistakes.c.type,
            mistakes.c.severity]
    stmt = (select(*keys, func.count().label("count")).join_from(mistakes, runs, mistakes.c.run_pk == runs.c.pk)
            .where(*scope.run_conditions()).group_by(*keys))
    df = pd.DataFrame.from_records(conn.execute(stmt).all(),
                                   columns=["workflow", "agent", "agent_version", "scenario", "type", "severity",
                                            "count"])
    df["count"] = df["count"].astype("int64")
    return df


def _value_counts(conn, scope: Scope, basis: str, dim: str) -> pd.DataFrame:
    """How many runs have each non-zero value of one dimension (the zero count follows from the totals)."""
    col = runs.c[_BASIS_COLUMNS[basis][dim]]
    stmt = (select(runs.c.workflow, col.label("value"), func.count().label("count"))
            .where(*scope.run_conditions(), col > 0).group_by(runs.c.workflow, col))
    df = pd.DataFrame.from_records(conn.execute(stmt).all(), columns=["workflow", "value", "count"])
    return df.astype({"value": "float64", "count": "int64"})


_LISTED = [runs.c.pk, runs.c.workflow]


def _ranked(conn, scope: Scope, where, order_by: list, per_workflow: int, extra=()) -> pd.DataFrame:
    rank = func.row_number().over(partition_by=runs.c.workflow, order_by=order_by).label("rank")
    inner = select(*_LISTED, *extra, rank).where(*scope.run_conditions(), where).subquery("ranked")
    stmt = select(inner).where(inner.c.rank <= per_workflow).order_by(inner.c.workflow, inner.c.rank)
    names = ["pk", "workflow", *(c.name for c in extra), "rank"]
    return pd.DataFrame.from_records(conn.execute(stmt).all(), columns=names)


def _bad_runs(conn, scope: Scope) -> pd.DataFrame:
    """The worst runs per workflow: most severe mistake first, then the newest."""
    where = or_(runs.c.worst_severity.is_not(None), runs.c.error_cause == "agent")
    order = [func.coalesce(runs.c.worst_severity, -1).desc(), runs.c.pk.desc()]
    return _ranked(conn, scope, where, order, BAD_RUNS)


def _worst_runs(conn, scope: Scope, dim: str) -> pd.DataFrame:
    """The runs with the largest potential value of ``dim`` (ties: the larger realised value, the newest)."""
    pot, real = runs.c[POTENTIAL[dim]], runs.c[REALISED[dim]]
    order = [pot.desc(), real.desc(), runs.c.pk.desc()]
    return _ranked(conn, scope, or_(pot > 0, real > 0), order, WORST_PER_DIMENSION)


_DETAIL_COLUMNS = ("pk", "run_id", "workflow", "scenario", "agent", "agent_version", "stage", "outcome",
                   "worst_severity", "error_cause", "started_at", "plan_id")


def _run_details(conn, pks: set[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    ordered = sorted(int(p) for p in pks)
    blast_cols = [runs.c[c] for m in (REALISED, POTENTIAL) for c in m.values()]
    for i in range(0, len(ordered), 500):
        part = ordered[i:i + 500]
        stmt = select(*(runs.c[c] for c in _DETAIL_COLUMNS), *blast_cols).where(runs.c.pk.in_(part))
        for row in conn.execute(stmt):
            d = dict(row._mapping)
            worst = d.pop("worst_severity")
            entry = {k: d[k] for k in _DETAIL_COLUMNS if k not in ("pk", "worst_severity", "started_at")}
            entry["started_at"] = iso(d["started_at"])
            entry["worst_severity"] = None if worst is None else SEVERITIES[worst]
            for basis in BASES:
                entry[basis] = {dim: _num(d[col]) for dim, col in _BASIS_COLUMNS[basis].items()}
            entry["mistakes"] = []
            entry["mistakes_total"] = 0
            entry["explain"] = f"harness audit explain {d['run_id']}"
            out[d["pk"]] = entry
        mstmt = (select(mistakes.c.run_pk, mistakes.c.type, mistakes.c.severity, mistakes.c.entity,
                        mistakes.c.detail).where(mistakes.c.run_pk.in_(part)).order_by(mistakes.c.pk))
        for m in conn.execute(mstmt):
            entry = out[m.run_pk]
            entry["mistakes_total"] += 1
            if len(entry["mistakes"]) < MISTAKES_PER_LISTED_RUN:
                entry["mistakes"].append({"type": m.type, "severity": m.severity, "entity": m.entity,
                                          "detail": m.detail})
    return out


def _grouped_plans(conn, scope: Scope) -> pd.DataFrame:
    keys = [plans.c.workflow, plans.c.agent, plans.c.agent_version, plans.c.status, plans.c.approved_unchanged]
    stmt = select(*keys, func.count().label("count")).where(*scope.plan_conditions()).group_by(*keys)
    df = pd.DataFrame.from_records(conn.execute(stmt).all(),
                                   columns=["workflow", "agent", "agent_version", "status", "approved_unchanged",
                                            "count"])
    df["count"] = df["count"].astype("int64")
    return df


@dataclass
class _Series:
    """One workflow's runs in order, as small arrays (codes into ``tracks`` and ``stages``)."""

    track: np.ndarray
    stage: np.ndarray
    dirty: np.ndarray
    infra: np.ndarray
    day: np.ndarray
    tracks: list[str]
    stages: list[str]


def _series(conn, scope: Scope, workflow: str, counted: tuple[str, ...]) -> _Series:
    """Stream one workflow's runs (a few narrow columns, in pk order) into int8/int32 arrays."""
    infra, dirty = _flags({workflow: counted})
    track = (runs.c.agent + literal("@") + runs.c.agent_version).label("track")
    started = type_coerce(runs.c.started_at, String).label("started")  # skip per-row datetime parsing
    conds = [c for c in scope.run_conditions()[1:]]
    stmt = (select(track, runs.c.stage, case((dirty, 1), else_=0).label("dirty"),
                   case((infra, 1), else_=0).label("infra"), started)
            .where(runs.c.workflow == workflow, *conds).order_by(runs.c.pk))
    track_codes: dict[str, int] = {}
    stage_codes: dict[str, int] = {}
    parts: dict[str, list[np.ndarray]] = {"track": [], "stage": [], "dirty": [], "infra": [], "day": []}
    result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(stmt)
    for chunk in result.partitions(CHUNK):
        df = pd.DataFrame.from_records(chunk, columns=["track", "stage", "dirty", "infra", "started"])
        for name, codes in (("track", track_codes), ("stage", stage_codes)):
            cat = df[name].astype("category")
            mapping = np.array([codes.setdefault(v, len(codes)) for v in cat.cat.categories], dtype=np.int16)
            parts[name].append(mapping[cat.cat.codes.to_numpy()] if len(mapping) else
                               np.zeros(len(df), dtype=np.int16))
        parts["dirty"].append(df["dirty"].to_numpy(dtype=np.int8))
        parts["infra"].append(df["infra"].to_numpy(dtype=np.int8))
        days = pd.to_datetime(df["started"], format="ISO8601", utc=True).dt.tz_localize(None)
        parts["day"].append(days.to_numpy(dtype="datetime64[D]"))
    cat = {k: (np.concatenate(v) if v else np.zeros(0, dtype=np.int8)) for k, v in parts.items()}
    return _Series(track=cat["track"], stage=cat["stage"], dirty=cat["dirty"], infra=cat["infra"],
                   day=cat["day"] if parts["day"] else np.zeros(0, dtype="datetime64[D]"),
                   tracks=list(track_codes), stages=list(stage_codes))


# -- shaping --------------------------------------------------------------------------------------------
def _num(value: Any) -> int | float:
    if value is None:
        return 0
    f = float(value)
    return int(f) if f.is_integer() and abs(f) < 2 ** 53 else f


def rate_entry(with_mistake: int, counted: int, confidence: float, method: str) -> dict[str, Any]:
    """Counts with the raw rate and its one-sided upper confidence bound (None when nothing counted)."""
    k, n = int(with_mistake), int(counted)
    return {"counted_runs": n, "with_mistake": k, "mistake_rate": (k / n) if n else None,
            "upper_bound": upper_bound(k, n, confidence, method) if n else None,
            "confidence": confidence, "method": method}


def _blast_totals(df: pd.DataFrame) -> dict[str, dict[str, dict[str, int | float]]]:
    out: dict[str, dict[str, dict[str, int | float]]] = {}
    for basis in BASES:
        out[basis] = {}
        for dim in BLAST_DIMENSIONS:
            p = f"{basis}.{dim}."
            out[basis][dim] = {"total": _num(df[p + "total"].sum()) if len(df) else 0,
                               "max": _num(df[p + "max"].max()) if len(df) else 0,
                               "runs_nonzero": _num(df[p + "nonzero"].sum()) if len(df) else 0}
    return out


def _worst_name(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return SEVERITIES[int(value)]


def _totals(df: pd.DataFrame, confidence: float, method: str) -> dict[str, Any]:
    total = int(df["runs"].sum()) if len(df) else 0
    infra = int(df["infra_errors"].sum()) if len(df) else 0
    dirty = int(df["with_mistake"].sum()) if len(df) else 0
    outcomes = {o: int(df.loc[df["outcome"] == o, "runs"].sum()) if len(df) else 0 for o in ("pass", "fail", "error")}
    return {
        "runs": total, "infra_errors": infra, "agent_errors": int(df["agent_errors"].sum()) if len(df) else 0,
        "outcomes": outcomes, "pass_rate": (outcomes["pass"] / total) if total else None,
        **rate_entry(dirty, total - infra, confidence, method),
        "mistakes": int(df["mistakes"].sum()) if len(df) else 0,
        "worst_severity": _worst_name(df["worst"].max()) if len(df) else None,
        "first_started": iso(_dt(df["first_started"].min())) if len(df) else None,
        "last_started": iso(_dt(df["last_started"].max())) if len(df) else None,
        "blast_radius": _blast_totals(df),
    }


def _dt(value: Any) -> datetime | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def _agents_table(df: pd.DataFrame, confidence: float, method: str, keys=("agent", "agent_version"),
                  workflows_of: dict | None = None) -> list[dict[str, Any]]:
    out = []
    if not len(df):
        return out
    for key, part in df.groupby(list(keys), observed=True, sort=False):
        entry = dict(zip(keys, key))
        entry.update(_totals(part, confidence, method))
        if workflows_of is not None:
            entry["workflows"] = sorted(part["workflow"].unique().tolist())
        out.append(entry)
    out.sort(key=lambda e: (e["agent"], _version_key(e["agent_version"])))
    return out


def _version_key(version: str) -> tuple:
    parts = []
    for p in str(version).replace("-", ".").split("."):
        parts.append((0, int(p), "") if p.isdigit() else (1, 0, p))
    return tuple(parts)


def _mistake_tables(mdf: pd.DataFrame) -> dict[str, Any]:
    present = [t for t in MISTAKE_TYPES if len(mdf) and (mdf["type"] == t).any()]
    present += sorted(set(mdf["type"]) - set(MISTAKE_TYPES)) if len(mdf) else []
    matrix = []
    for t in present:
        part = mdf[mdf["type"] == t]
        row = {"type": t, **{s: int(part.loc[part["severity"] == s, "count"].sum()) for s in SEVERITIES}}
        row["total"] = int(part["count"].sum())
        matrix.append(row)
    by_severity = {s: int(mdf.loc[mdf["severity"] == s, "count"].sum()) if len(mdf) else 0 for s in SEVERITIES}
    return {"total": int(mdf["count"].sum()) if len(mdf) else 0, "by_type_severity": matrix,
            "by_type": {r["type"]: r["total"] for r in matrix}, "by_severity": by_severity}


def _distribution(vc: pd.DataFrame, total_runs: int) -> dict[str, Any]:
    """Percentiles (nearest rank) of one dimension over all runs, from its non-zero value counts."""
    nonzero = int(vc["count"].sum()) if len(vc) else 0
    zeros = max(0, total_runs - nonzero)
    out: dict[str, Any] = {"runs": total_runs, "zero": zeros, "nonzero": nonzero}
    if not total_runs:
        out.update({"p50": None, "p90": None, "p95": None, "p99": None, "max": None})
        return out
    values = vc.sort_values("value")
    cum = zeros + values["count"].cumsum().to_numpy()
    vals = values["value"].to_numpy()
    for p in (50, 90, 95, 99):
        rank = max(1, math.ceil(p / 100.0 * total_runs))
        out[f"p{p}"] = 0 if rank <= zeros else _num(vals[int(np.searchsorted(cum, rank))])
    out["max"] = _num(vals[-1]) if len(vals) else 0
    return out


def _histogram(vcs: dict[str, pd.DataFrame], totals: dict[str, int]) -> list[dict[str, Any]]:
    """Shared bins for realised and potential: zero on its own, then the non-zero values."""
    top = max((float(v["value"].max()) for v in vcs.values() if len(v)), default=0.0)
    bins: list[dict[str, Any]] = [{"lo": 0, "hi": 0, "label": "0"}]
    integral = all(bool((v["value"] % 1 == 0).all()) for v in vcs.values() if len(v))
    if top > 0:
        if integral and top <= 15:
            bins += [{"lo": int(x), "hi": int(x), "label": str(int(x))} for x in range(1, int(top) + 1)]
        else:
            edges = np.linspace(0, top, 13)
            if integral:
                edges = np.unique(np.ceil(edges))
            bins += [{"lo": _num(lo), "hi": _num(hi), "label": f"{_short(lo)}–{_short(hi)}"}
                     for lo, hi in zip(edges[:-1], edges[1:])]
    for basis in BASES:
        vc = vcs[basis]
        nonzero = int(vc["count"].sum()) if len(vc) else 0
        counts = [max(0, totals[basis] - nonzero)]
        if len(bins) > 1:
            vals, cnt = vc["value"].to_numpy(), vc["count"].to_numpy()
            if bins[1]["lo"] == bins[1]["hi"]:  # one bin per integer value
                counts += [int(cnt[vals == b["hi"]].sum()) for b in bins[1:]]
            else:  # (lo, hi] ranges
                his = np.array([b["hi"] for b in bins[1:]], dtype=float)
                idx = np.minimum(np.searchsorted(his, vals, side="left"), len(his) - 1)
                counts += np.bincount(idx, weights=cnt, minlength=len(his)).astype(int).tolist()
        for b, c in zip(bins, counts):
            b[basis] = int(c)
    return bins


def _short(x: float) -> str:
    x = float(x)
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def _rolling(series: _Series, confidence: float, method: str) -> dict[str, Any]:
    """Per agent version: the mistake rate over a rolling window of its counted runs, with a band."""
    n_all = len(series.dirty)
    tracks = []
    for code, label in enumerate(series.tracks):
        mask = (series.track == code) & (series.infra == 0)
        positions = np.flatnonzero(mask)
        n = len(positions)
        if n == 0:
            continue
        window = n if n < 20 else int(min(500, max(20, n // 10)))
        flags = series.dirty[positions].astype(np.int64)
        cum = np.concatenate([[0], np.cumsum(flags)])
        ends = np.unique(np.linspace(window - 1, n - 1, min(SERIES_POINTS, n - window + 1)).round().astype(int))
        points = []
        for e in ends:
            k = int(cum[e + 1] - cum[e + 1 - window])
            lo, hi = interval(k, window, confidence, "clopper-pearson")
            points.append({"run_index": int(positions[e]) + 1, "runs_in_window": window, "with_mistake": k,
                           "rate": k / window, "lower": lo, "upper": hi,
                           "upper_bound": upper_bound(k, window, confidence, method)})
        agent, _, version = label.rpartition("@")
        tracks.append({"agent": agent, "agent_version": version, "window_runs": window, "points": points})
    stages = []
    if n_all:
        change = np.flatnonzero(np.diff(series.stage)) + 1
        starts = np.concatenate([[0], change])
        if len(starts) <= 60:
            ends_ = np.concatenate([change, [n_all]])
            stages = [{"stage": series.stages[int(series.stage[s])], "from_run": int(s) + 1, "to_run": int(e)}
                      for s, e in zip(starts, ends_)]
    return {"x": "run_index: position of the run among the workflow's runs in the report, oldest first",
            "runs": n_all, "tracks": tracks, "stage_spans": stages}


def _daily(series: _Series, confidence: float) -> list[dict[str, Any]]:
    if not len(series.day):
        return []
    counted = series.infra == 0
    df = pd.DataFrame({"day": series.day, "counted": counted.astype(np.int64),
                       "dirty": (series.dirty.astype(np.int64) * counted)})
    g = df.groupby("day", sort=True).agg(runs=("counted", "size"), counted=("counted", "sum"),
                                         with_mistake=("dirty", "sum"))
    out = []
    for day, row in g.iterrows():
        n, k = int(row["counted"]), int(row["with_mistake"])
        lo, hi = interval(k, n, confidence, "clopper-pearson") if n else (None, None)
        out.append({"date": pd.Timestamp(day).date().isoformat(), "runs": int(row["runs"]), "counted_runs": n,
                    "with_mistake": k, "rate": (k / n) if n else None, "lower": lo, "upper": hi})
    return out


def _plans_summary(pdf: pd.DataFrame) -> dict[str, Any]:
    def count(mask) -> int:
        return int(pdf.loc[mask, "count"].sum()) if len(pdf) else 0

    if not len(pdf):
        out = dict.fromkeys(("total", "reviewed", "approved_unchanged", "partially_approved", "rejected",
                             "pending", "stale", "applied"), 0)
        out["share_approved_unchanged"] = None
        return out
    reviewed_mask = pdf["approved_unchanged"].notna()
    unchanged_mask = reviewed_mask & (pdf["approved_unchanged"] == True)  # noqa: E712 - SQL booleans
    rejected_mask = pdf["status"] == "rejected"
    total = count(slice(None))
    reviewed, unchanged, rejected = count(reviewed_mask), count(unchanged_mask), count(rejected_mask)
    return {"total": total, "reviewed": reviewed, "approved_unchanged": unchanged,
            "partially_approved": count(reviewed_mask & ~(pdf["approved_unchanged"] == True) & ~rejected_mask),  # noqa: E712
            "rejected": rejected, "pending": count(pdf["status"] == "pending"),
            "stale": count(pdf["status"] == "stale"), "applied": count(pdf["status"] == "applied"),
            "share_approved_unchanged": (unchanged / reviewed) if reviewed else None}


def _plans_section(pdf: pd.DataFrame) -> dict[str, Any]:
    out = _plans_summary(pdf)
    by_agent = []
    if len(pdf):
        keyed = pdf.assign(agent=pdf["agent"].fillna("(unknown)"), agent_version=pdf["agent_version"].fillna("?"))
        for (a, v), part in keyed.groupby(["agent", "agent_version"], sort=True):
            by_agent.append({"agent": a, "agent_version": v, **_plans_summary(part)})
    out["by_agent"] = by_agent
    return out


def _verdict(status: dict[str, Any], gate_info) -> dict[str, Any]:
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
            "next_gate_met": bool(ready_tracks) if (nxt and tracks) else None, "ready_tracks": ready_tracks,
            "summary": summary, "note": status["note"], "recertification": recert, "tracks": tracks,
            "threshold": None if gate_info is None else {
                "label": gate_info[2], "stage": gate_info[0], "max_mistake_rate": gate_info[1].max_mistake_rate,
                "confidence": gate_info[1].confidence, "method": gate_info[1].method,
                "count_severities": list(gate_info[1].count_severities), "window_runs": gate_info[1].window_runs}}


def _transition_entry(t: dict[str, Any]) -> dict[str, Any]:
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


def _scenarios(df: pd.DataFrame, mdf: pd.DataFrame, known: list[str], gate_info) -> dict[str, Any]:
    required = list(gate_info[1].coverage.scenarios or []) if gate_info and gate_info[1].coverage else []
    min_runs = gate_info[1].coverage.min_runs_per_scenario if gate_info and gate_info[1].coverage else None
    names = sorted(set(known) | set(required) | (set(df["scenario"]) if len(df) else set()))
    types = [t for t in MISTAKE_TYPES if len(mdf) and (mdf["type"] == t).any()]
    by_sc = df.groupby(["scenario", "outcome"], observed=True)["runs"].sum() if len(df) else pd.Series(dtype=int)
    dirty = df.groupby("scenario", observed=True)["with_mistake"].sum() if len(df) else pd.Series(dtype=int)
    infra = df.groupby("scenario", observed=True)["infra_errors"].sum() if len(df) else pd.Series(dtype=int)
    mt = mdf.groupby(["scenario", "type"], observed=True)["count"].sum() if len(mdf) else pd.Series(dtype=int)
    rows = []
    for sc in names:
        outcomes = {o: int(by_sc.get((sc, o), 0)) for o in ("pass", "fail", "error")}
        runs_ = sum(outcomes.values())
        k = int(dirty.get(sc, 0))
        counted = runs_ - int(infra.get(sc, 0))
        rows.append({"scenario": sc, "runs": runs_, **outcomes, "with_mistake": k,
                     "mistake_rate": (k / counted) if counted else None,
                     "mistakes": {t: int(mt.get((sc, t), 0)) for t in types},
                     "covered": runs_ >= (min_runs or 1)})
    rows.sort(key=lambda r: (-r["with_mistake"], -r["fail"] - r["error"], r["scenario"]))
    return {"mistake_types": types, "min_runs_per_scenario": min_runs, "known": len(names),
            "covered": sum(r["covered"] for r in rows), "rows": rows}


def _by_stage(df: pd.DataFrame, confidence: float, method: str) -> list[dict[str, Any]]:
    out = []
    if not len(df):
        return out
    for stage, part in df.groupby("stage", observed=True, sort=False):
        t = _totals(part, confidence, method)
        contained = {dim: _num(t["blast_radius"]["potential"][dim]["total"] - t["blast_radius"]["realised"][dim]["total"])
                     for dim in BLAST_DIMENSIONS}
        out.append({"stage": stage, "runs": t["runs"], "counted_runs": t["counted_runs"],
                    "with_mistake": t["with_mistake"], "mistake_rate": t["mistake_rate"],
                    "realised": {d: v["total"] for d, v in t["blast_radius"]["realised"].items()},
                    "potential": {d: v["total"] for d, v in t["blast_radius"]["potential"].items()},
                    "contained": contained})
    order = {"sandbox": 0, "suggest": 1, "approve": 2, "autonomous": 3}
    out.sort(key=lambda e: order.get(e["stage"], 9))
    return out


def _workflow_section(wf: str, status: dict, gate_info, counted: tuple[str, ...], stats: dict, df: pd.DataFrame,
                      mdf: pd.DataFrame, dists: dict, bad: pd.DataFrame, worst: dict, details: dict,
                      pdf: pd.DataFrame, series: _Series, known_scenarios: list[str],
                      transitions: list[dict]) -> dict[str, Any]:
    conf, method = stats["confidence"], stats["method"]
    totals = _totals(df, conf, method)
    blast: dict[str, Any] = {"dimensions": {}, "by_stage": _by_stage(df, conf, method), "worst_runs": {}}
    for dim in BLAST_DIMENSIONS:
        vcs = {basis: dists[(basis, dim)] for basis in BASES}
        blast["dimensions"][dim] = {
            basis: {**totals["blast_radius"][basis][dim], **_distribution(vcs[basis], totals["runs"])}
            for basis in BASES}
        blast["dimensions"][dim]["histogram"] = _histogram(vcs, {b: totals["runs"] for b in BASES})
        blast["worst_runs"][dim] = [{**details[int(pk)], "value": details[int(pk)]["potential"][dim]}
                                    for pk in worst[dim]["pk"] if int(pk) in details]
    return {
        "workflow": wf,
        "verdict": _verdict(status, gate_info),
        "counted_severities": list(counted),
        "totals": totals,
        "mistake_rate_series": {**_rolling(series, conf, method), "confidence": conf, "method": method,
                                "band_method": "clopper-pearson",
                                "threshold": None if gate_info is None else gate_info[1].max_mistake_rate,
                                "threshold_label": None if gate_info is None else gate_info[2]},
        "daily": _daily(series, conf),
        "blast_radius": blast,
        "mistakes": _mistake_tables(mdf),
        "scenarios": _scenarios(df, mdf, known_scenarios, gate_info),
        "plans": _plans_section(pdf),
        "agents": _agents_table(df, conf, method),
        "stage_history": [_transition_entry(t) for t in transitions],
        "bad_runs": [details[int(pk)] for pk in bad["pk"] if int(pk) in details],
    }


def _overall(df: pd.DataFrame, mdf: pd.DataFrame, pdf: pd.DataFrame, sections: list[dict]) -> dict[str, Any]:
    return {
        "totals": _totals(df, DEFAULT_CONFIDENCE, DEFAULT_METHOD),
        "mistakes": _mistake_tables(mdf),
        "plans": _plans_summary(pdf),
        "agents": _agents_table(df, DEFAULT_CONFIDENCE, DEFAULT_METHOD, workflows_of={}),
        "workflows": [{
            "workflow": s["workflow"], "stage": s["verdict"]["stage"], "next_stage": s["verdict"]["next_stage"],
            "next_gate_met": s["verdict"]["next_gate_met"], "summary": s["verdict"]["summary"],
            "unmet": sorted({u for t in s["verdict"]["tracks"] for u in t["unmet"]}),
            "runs": s["totals"]["runs"], "mistake_rate": s["totals"]["mistake_rate"],
            "upper_bound": s["totals"]["upper_bound"], "worst_severity": s["totals"]["worst_severity"],
            "threshold": s["mistake_rate_series"]["threshold"]} for s in sections],
    }
