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
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals
from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.engine import make_url

from harness import promotion
from harness.errors import NotFoundError, UsageError
from harness.ledger import Ledger, evidence
from harness.ledger._schema import POTENTIAL, REALISED, SEVERITY_COLUMNS, mistakes, plans, runs
from harness.ledger._time import iso, utcnow
from harness.models import BLAST_DIMENSIONS, MISTAKE_TYPES, SEVERITIES
from harness.policy import Gate, Policy
from harness.stats import upper_bound

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
PASS_K = (1, 2, 4, 8)
"""The k of pass^k: the chance that k repeats of the same scenario all pass."""
CELL_KEYS = ("workflow", "agent", "agent_version", "scenario")
"""What "the same scenario" means for pass^k: one scenario of one workflow, run by one agent version."""


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
        frame = _read_runs(conn, scope, counted)
        blast = _read_blast(conn, scope)
        mistake_groups = _read_mistakes(conn, frame)
        plan_groups = _grouped_plans(conn, scope)
        groups = _grouped_runs(frame, blast)
        distributions = {(basis, dim): _value_counts(frame, blast, basis, dim)
                         for basis in BASES for dim in BLAST_DIMENSIONS}
        listed_bad = _bad_runs(frame)
        listed_worst = {dim: _worst_runs(frame, blast, dim) for dim in BLAST_DIMENSIONS}
        wanted = set(listed_bad["pk"]).union(*(set(d["pk"]) for d in listed_worst.values()))
        run_details = _run_details(conn, wanted)
    series = {wf: _series(frame, wf) for wf in scope.workflows}
    del frame, blast

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
            "pass_k": "pass^k: the chance that k repeats of the same scenario all pass; per scenario and agent "
                      "version with c passes in n runs (every run in scope, errored ones as not passed) "
                      "C(c,k)/C(n,k), averaged over the scenarios with at least k runs",
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


# -- reading the ledger ---------------------------------------------------------------------------------
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


DIRTY, INFRA, AGENT_ERROR = 1, 2, 4
"""Bits of a run's ``flags``: counted run with a mistake (or agent error); harness/environment error;
agent error."""


def _flags_column(counted: dict[str, tuple[str, ...]]):
    infra = func.coalesce(runs.c.error_cause, literal("none")).in_(INFRA_CAUSES)
    dirty = and_(~infra, or_(_counted_mistakes(counted) > 0, runs.c.error_cause == "agent"))
    return (case((dirty, DIRTY), else_=0) + case((infra, INFRA), else_=0)
            + case((runs.c.error_cause == "agent", AGENT_ERROR), else_=0)).label("flags")


def _stream(conn, stmt, size: int = CHUNK):
    """The rows of ``stmt`` as lists of plain tuples, ``size`` at a time.

    On SQLite and PostgreSQL this reads through the driver's own cursor (a server-side one on
    PostgreSQL): SQLAlchemy's Row objects cost two to three times as much for a million rows.
    """
    dialect = conn.dialect
    if dialect.name not in ("sqlite", "postgresql"):  # pragma: no cover - any other database
        result = conn.execution_options(stream_results=True, yield_per=size).execute(stmt)
        for part in result.partitions(size):
            yield [tuple(r) for r in part]
        return
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = dict(compiled.params)
    for name, bind in compiled.binds.items():
        if name in params and params[name] is not None:
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                params[name] = process(params[name])
    args = tuple(params[k] for k in compiled.positiontup) if compiled.positional else params
    raw = conn.connection.driver_connection
    cursor = raw.cursor(name="harness_report") if dialect.name == "postgresql" else raw.cursor()
    try:
        cursor.execute(str(compiled), args)
        while True:
            rows = cursor.fetchmany(size)
            if not rows:
                break
            yield rows
    finally:
        cursor.close()


def _frame(chunks, names: list[str], categorical: tuple[str, ...], dtypes: dict[str, str]) -> pd.DataFrame:
    """Chunks of tuples → one DataFrame: strings as categoricals, numbers in small dtypes."""
    parts = []
    for rows in chunks:
        df = pd.DataFrame.from_records(rows, columns=names)
        for n in categorical:
            df[n] = df[n].astype("category")
        if "started_at" in names:
            df["started_at"] = _timestamps(df["started_at"])
        parts.append(df.astype(dtypes))
    if not parts:
        empty = {n: pd.Series(dtype="category" if n in categorical else dtypes.get(n, "object")) for n in names}
        if "started_at" in names:
            empty["started_at"] = pd.Series(dtype="datetime64[us]")
        return pd.DataFrame(empty)
    if len(parts) == 1:
        return parts[0]
    return pd.DataFrame({n: (pd.Series(union_categoricals([p[n] for p in parts])) if n in categorical
                             else pd.concat([p[n] for p in parts], ignore_index=True)) for n in names})


def _timestamps(col: pd.Series) -> pd.Series:
    """SQLite hands back text, PostgreSQL datetimes: either way naive UTC datetime64."""
    out = pd.to_datetime(col, format="ISO8601", utc=True)
    return out.dt.tz_localize(None).astype("datetime64[us]")


RUN_KEYS = ("workflow", "agent", "agent_version", "stage", "scenario", "outcome")


def _read_runs(conn, scope: Scope, counted) -> pd.DataFrame:
    """Every run in scope, oldest first: keys as categoricals, flags and severity as int8 (~30 bytes a run)."""
    stmt = (select(runs.c.pk, *(runs.c[k] for k in RUN_KEYS), _flags_column(counted),
                   func.coalesce(runs.c.worst_severity, -1).label("worst"), runs.c.mistakes, runs.c.started_at)
            .where(*scope.run_conditions()).order_by(runs.c.pk))
    names = ["pk", *RUN_KEYS, "flags", "worst", "mistakes", "started_at"]
    return _frame(_stream(conn, stmt), names, RUN_KEYS,
                  {"pk": "int64", "flags": "int8", "worst": "int8", "mistakes": "int32"})


BLAST_COLUMNS = [f"{basis}.{dim}" for basis in BASES for dim in BLAST_DIMENSIONS]


def _read_blast(conn, scope: Scope) -> pd.DataFrame:
    """The runs in scope with any non-zero blast radius (usually few): pk and the ten dimensions."""
    cols = [runs.c[_BASIS_COLUMNS[b][d]] for b in BASES for d in BLAST_DIMENSIONS]
    stmt = (select(runs.c.pk, *cols).where(*scope.run_conditions(), or_(*(c > 0 for c in cols)))
            .order_by(runs.c.pk))
    dtypes = {"pk": "int64", **{n: ("float64" if n.endswith("money_exposed") else "int64") for n in BLAST_COLUMNS}}
    return _frame(_stream(conn, stmt), ["pk", *BLAST_COLUMNS], (), dtypes)


def _read_mistakes(conn, frame: pd.DataFrame) -> pd.DataFrame:
    """Mistakes of the runs in ``frame`` (joined by pk in memory), grouped by run keys, type and severity."""
    keys = ["workflow", "agent", "agent_version", "scenario", "type", "severity"]
    stmt = select(mistakes.c.run_pk, mistakes.c.type, mistakes.c.severity)
    if len(frame):
        stmt = stmt.where(mistakes.c.run_pk >= int(frame["pk"].iloc[0]),
                          mistakes.c.run_pk <= int(frame["pk"].iloc[-1]))
    parts = []
    pks = frame["pk"].to_numpy()
    for rows in _stream(conn, stmt):
        m = pd.DataFrame.from_records(rows, columns=["run_pk", "type", "severity"])
        idx = np.searchsorted(pks, m["run_pk"].to_numpy())
        inside = idx < len(pks)
        inside[inside] = pks[idx[inside]] == m["run_pk"].to_numpy()[inside]
        m, idx = m[inside], idx[inside]
        if not len(m):
            continue
        part = frame.iloc[idx][["workflow", "agent", "agent_version", "scenario"]].reset_index(drop=True)
        part["type"] = m["type"].to_numpy()
        part["severity"] = m["severity"].to_numpy()
        parts.append(part.groupby(keys, observed=True).size().rename("count").reset_index())
    if not parts:
        return pd.DataFrame({k: pd.Series(dtype="object") for k in keys} | {"count": pd.Series(dtype="int64")})
    out = pd.concat(parts, ignore_index=True)
    for k in keys:
        out[k] = out[k].astype("object")
    return out.groupby(keys, sort=False)["count"].sum().astype("int64").reset_index()


def _grouped_runs(frame: pd.DataFrame, blast: pd.DataFrame) -> pd.DataFrame:
    """Counts, flags, severities and blast radius per (workflow, agent, version, stage, scenario, outcome).
    Every run-level table of the report is a roll-up of this one."""
    keys = list(RUN_KEYS)
    flags = frame["flags"].to_numpy()
    work = frame[keys].copy()
    work["runs"] = 1
    work["infra_errors"] = ((flags & INFRA) > 0).astype(np.int64)
    work["with_mistake"] = ((flags & DIRTY) > 0).astype(np.int64)
    work["agent_errors"] = ((flags & AGENT_ERROR) > 0).astype(np.int64)
    work["mistakes"] = frame["mistakes"].astype(np.int64)
    work["worst"] = frame["worst"].where(frame["worst"] >= 0).astype("float64")
    work["first_started"] = frame["started_at"]
    work["last_started"] = frame["started_at"]
    g = work.groupby(keys, observed=True, sort=False).agg(
        runs=("runs", "sum"), infra_errors=("infra_errors", "sum"), with_mistake=("with_mistake", "sum"),
        agent_errors=("agent_errors", "sum"), mistakes=("mistakes", "sum"), worst=("worst", "max"),
        first_started=("first_started", "min"), last_started=("last_started", "max"))
    if len(blast):
        idx = np.searchsorted(frame["pk"].to_numpy(), blast["pk"].to_numpy())
        b = frame.iloc[idx][keys].reset_index(drop=True)
        aggs = {}
        for col in BLAST_COLUMNS:
            values = blast[col].reset_index(drop=True)
            b[col + ".total"] = values
            b[col + ".max"] = values
            b[col + ".nonzero"] = (values > 0).astype(np.int64)
            aggs.update({col + ".total": "sum", col + ".max": "max", col + ".nonzero": "sum"})
        g = g.join(b.groupby(keys, observed=True, sort=False).agg(aggs), how="left")
    for col in BLAST_COLUMNS:
        for stat in (".total", ".max", ".nonzero"):
            name = col + stat
            if name not in g:
                g[name] = 0
            kind = "float64" if col.endswith("money_exposed") and stat != ".nonzero" else "int64"
            g[name] = g[name].fillna(0).astype(kind)
    out = g.reset_index()
    for k in keys:
        out[k] = out[k].astype("object")
    return out


def _value_counts(frame: pd.DataFrame, blast: pd.DataFrame, basis: str, dim: str) -> pd.DataFrame:
    """How many runs have each non-zero value of one dimension (the zero count follows from the totals)."""
    col = f"{basis}.{dim}"
    nz = blast[blast[col] > 0]
    if not len(nz):
        return pd.DataFrame({"workflow": pd.Series(dtype="object"), "value": pd.Series(dtype="float64"),
                             "count": pd.Series(dtype="int64")})
    idx = np.searchsorted(frame["pk"].to_numpy(), nz["pk"].to_numpy())
    df = pd.DataFrame({"workflow": frame["workflow"].to_numpy()[idx].astype(object),
                       "value": nz[col].to_numpy(dtype="float64")})
    return df.groupby(["workflow", "value"]).size().rename("count").reset_index()


def _top(df: pd.DataFrame, order: list[str], ascending: list[bool], per_workflow: int) -> pd.DataFrame:
    ranked = df.sort_values(["workflow", *order], ascending=[True, *ascending], kind="stable")
    return ranked.groupby("workflow", observed=True, sort=False).head(per_workflow)[["pk", "workflow"]]


def _bad_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """The worst runs per workflow: most severe mistake first, then the newest."""
    bad = frame.loc[(frame["worst"] >= 0) | ((frame["flags"] & AGENT_ERROR) > 0), ["pk", "workflow", "worst"]]
    return _top(bad, ["worst", "pk"], [False, False], BAD_RUNS)


def _worst_runs(frame: pd.DataFrame, blast: pd.DataFrame, dim: str) -> pd.DataFrame:
    """The runs with the largest potential value of ``dim`` (ties: the larger realised value, the newest)."""
    pot, real = f"potential.{dim}", f"realised.{dim}"
    nz = blast.loc[(blast[pot] > 0) | (blast[real] > 0), ["pk", pot, real]]
    if not len(nz):
        return pd.DataFrame({"pk": pd.Series(dtype="int64"), "workflow": pd.Series(dtype="object")})
    idx = np.searchsorted(frame["pk"].to_numpy(), nz["pk"].to_numpy())
    nz = nz.assign(workflow=frame["workflow"].to_numpy()[idx].astype(object))
    return _top(nz, [pot, real, "pk"], [False, False, False], WORST_PER_DIMENSION)


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


def _series(frame: pd.DataFrame, workflow: str) -> _Series:
    part = frame[frame["workflow"] == workflow]
    agents, versions = part["agent"].cat, part["agent_version"].cat
    width = max(1, len(versions.categories))
    keys = agents.codes.to_numpy().astype(np.int64) * width + versions.codes.to_numpy()
    unique, codes = np.unique(keys, return_inverse=True)
    tracks = [f"{agents.categories[k // width]}@{versions.categories[k % width]}" for k in unique]
    flags = part["flags"].to_numpy()
    return _Series(track=codes.astype(np.int32), stage=part["stage"].cat.codes.to_numpy(),
                   dirty=((flags & DIRTY) > 0).astype(np.int8), infra=((flags & INFRA) > 0).astype(np.int8),
                   day=part["started_at"].to_numpy().astype("datetime64[D]"),
                   tracks=tracks, stages=[str(c) for c in part["stage"].cat.categories])


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


def _totals(df: pd.DataFrame, confidence: float, method: str, *, reliability: bool = True) -> dict[str, Any]:
    total = int(df["runs"].sum()) if len(df) else 0
    infra = int(df["infra_errors"].sum()) if len(df) else 0
    dirty = int(df["with_mistake"].sum()) if len(df) else 0
    outcomes = {o: int(df.loc[df["outcome"] == o, "runs"].sum()) if len(df) else 0 for o in ("pass", "fail", "error")}
    return {
        "runs": total, "infra_errors": infra, "agent_errors": int(df["agent_errors"].sum()) if len(df) else 0,
        "outcomes": outcomes, "pass_rate": (outcomes["pass"] / total) if total else None,
        "pass_k": pass_k(df) if reliability else [],
        **rate_entry(dirty, total - infra, confidence, method),
        "mistakes": int(df["mistakes"].sum()) if len(df) else 0,
        "worst_severity": _worst_name(df["worst"].max()) if len(df) else None,
        "first_started": iso(_dt(df["first_started"].min())) if len(df) else None,
        "last_started": iso(_dt(df["last_started"].max())) if len(df) else None,
        "blast_radius": _blast_totals(df),
    }


def pass_k(df: pd.DataFrame, ks: tuple[int, ...] = PASS_K) -> list[dict[str, Any]]:
    """Reliability over repeats: per k, the mean over scenarios of C(c,k)/C(n,k).

    ``df`` holds grouped run counts with the ``CELL_KEYS``, ``outcome`` and ``runs`` columns (the
    report's grouped table or any slice of it). A scenario is one (workflow, agent, agent_version,
    scenario) cell with n runs of which c passed; every run counts, so errored runs (the agent's,
    the harness's or the environment's) count as not passed. Cells with n < k are left out of that k
    (C(c,k) = 0 when c < k), and a k no cell supports is left out. Each entry: ``{k, value,
    scenarios}`` with ``scenarios`` the number of cells the mean covers.
    """
    if not len(df):
        return []
    from scipy.special import comb

    passed = df["runs"].where(df["outcome"] == "pass", 0)
    cells = (df.assign(passed=passed).groupby(list(CELL_KEYS), observed=True, sort=False)
             .agg(n=("runs", "sum"), passed=("passed", "sum")))
    n, c = cells["n"].to_numpy(dtype=np.int64), cells["passed"].to_numpy(dtype=np.int64)
    out = []
    for k in ks:
        supported = n >= k
        count = int(supported.sum())
        if not count:
            continue
        ratios = comb(c[supported], k) / comb(n[supported], k)
        out.append({"k": k, "value": float(ratios.mean()), "scenarios": count})
    return out


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
    out: dict[str, Any] = {"runs": total_runs, "zero": zeros}
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
                     for lo, hi in pairwise(edges)]
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


def cp_interval(k, n, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided Clopper-Pearson intervals for arrays of k of n (== ``harness.stats.interval``, vectorised)."""
    from scipy.special import betaincinv

    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    alpha = 1 - confidence
    safe_lo = np.where(k > 0, k, 1.0)
    safe_hi = np.where(k < n, n - k, 1.0)
    lo = np.where((k > 0) & (n > 0), betaincinv(safe_lo, n - safe_lo + 1, alpha / 2), 0.0)
    hi = np.where((k < n) & (n > 0), betaincinv(k + 1, safe_hi, 1 - alpha / 2), 1.0)
    return lo, hi


def upper_bounds(k, n, confidence: float, method: str) -> np.ndarray:
    """One-sided upper bounds for arrays of k of n (== ``harness.stats.upper_bound``, vectorised)."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    if method != "clopper-pearson":
        return np.array([upper_bound(int(a), int(b), confidence, method) for a, b in zip(k, n)])
    from scipy.special import betaincinv

    safe = np.where(k < n, n - k, 1.0)
    return np.where((k < n) & (n > 0), betaincinv(k + 1, safe, confidence), 1.0)


def _rolling(series: _Series, confidence: float, method: str) -> dict[str, Any]:
    """Per agent version: the mistake rate over a rolling window of its counted runs, with a band."""
    n_all = len(series.dirty)
    tracks = []
    for code, label in enumerate(series.tracks):
        positions = np.flatnonzero((series.track == code) & (series.infra == 0))
        n = len(positions)
        if n == 0:
            continue
        window = n if n < 20 else int(min(500, max(20, n // 10)))
        cum = np.concatenate([[0], np.cumsum(series.dirty[positions], dtype=np.int64)])
        ends = np.unique(np.linspace(window - 1, n - 1, min(SERIES_POINTS, n - window + 1)).round().astype(int))
        k = cum[ends + 1] - cum[ends + 1 - window]
        lo, hi = cp_interval(k, np.full(len(k), window), confidence)
        ub = upper_bounds(k, np.full(len(k), window), confidence, method)
        points = [{"run_index": int(positions[e]) + 1, "runs_in_window": window, "with_mistake": int(kk),
                   "rate": float(kk) / window, "lower": float(a), "upper": float(b), "upper_bound": float(u)}
                  for e, kk, a, b, u in zip(ends, k, lo, hi, ub)]
        agent, _, version = label.rpartition("@")
        tracks.append({"agent": agent, "agent_version": version, "window_runs": window, "points": points})
    stages = []
    if n_all:
        change = np.flatnonzero(np.diff(series.stage)) + 1
        starts = np.concatenate([[0], change])
        if len(starts) <= 60:
            ends_ = np.concatenate([change, [n_all]])
            stages = [{"stage": series.stages[int(series.stage[s])], "from_run": int(s) + 1, "to_run": int(e)}
                      for s, e in zip(starts, ends_, strict=True)]
    return {"x": "run_index: position of the run among the workflow's runs in the report, oldest first",
            "runs": n_all, "tracks": tracks, "stage_spans": stages}


def _daily(series: _Series, confidence: float) -> list[dict[str, Any]]:
    """Per calendar day (UTC): runs, counted runs, runs with a mistake, the rate and its band."""
    if not len(series.day):
        return []
    counted = (series.infra == 0).astype(np.int64)
    df = pd.DataFrame({"day": series.day, "counted": counted, "dirty": series.dirty.astype(np.int64) * counted})
    g = df.groupby("day", sort=True).agg(runs=("counted", "size"), counted=("counted", "sum"),
                                         with_mistake=("dirty", "sum"))
    n, k = g["counted"].to_numpy(), g["with_mistake"].to_numpy()
    lo, hi = cp_interval(k, n, confidence)
    return [{"date": pd.Timestamp(day).date().isoformat(), "runs": int(r), "counted_runs": int(nn),
             "with_mistake": int(kk), "rate": (kk / nn) if nn else None,
             "lower": float(a) if nn else None, "upper": float(b) if nn else None}
            for day, r, nn, kk, a, b in zip(g.index, g["runs"], n, k, lo, hi)]


def _plans_summary(pdf: pd.DataFrame) -> dict[str, Any]:
    def count(mask) -> int:
        return int(pdf.loc[mask, "count"].sum()) if len(pdf) else 0

    if not len(pdf):
        out = dict.fromkeys(("total", "reviewed", "approved_unchanged", "partially_approved", "rejected",
                             "pending", "stale", "applied"), 0)
        out["share_approved_unchanged"] = None
        return out
    reviewed_mask = pdf["approved_unchanged"].notna()
    full = pdf["approved_unchanged"].map(lambda v: isinstance(v, bool | int | np.bool_) and bool(v)).astype(bool)
    unchanged_mask = reviewed_mask & full
    rejected_mask = pdf["status"] == "rejected"
    total = count(slice(None))
    reviewed, unchanged, rejected = count(reviewed_mask), count(unchanged_mask), count(rejected_mask)
    return {"total": total, "reviewed": reviewed, "approved_unchanged": unchanged,
            "partially_approved": count(reviewed_mask & ~full & ~rejected_mask),
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
        t = _totals(part, confidence, method, reliability=False)  # by_stage does not list pass^k
        radius = t["blast_radius"]
        contained = {dim: _num(radius["potential"][dim]["total"] - radius["realised"][dim]["total"])
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
            "closest_track": s["verdict"]["closest_track"], "unmet": s["verdict"]["closest_unmet"],
            "runs": s["totals"]["runs"], "mistake_rate": s["totals"]["mistake_rate"],
            "upper_bound": s["totals"]["upper_bound"], "worst_severity": s["totals"]["worst_severity"],
            "threshold": s["mistake_rate_series"]["threshold"]} for s in sections],
    }
