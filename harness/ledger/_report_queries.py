"""Read-side queries behind the trust report: what it selects, counts and streams from the ledger.

The report never loads whole runs. Per run it reads one narrow row (keys, a few small integers
computed by the database: the flags below, the worst severity, the start in milliseconds) through
the driver's own cursor; everything sparse (blast radius, mistakes, plans) is filtered or grouped
by the database first. No pandas here: ``reports`` shapes what these return.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, and_, case, cast, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from harness.ledger._evidence import INFRA_CAUSES
from harness.ledger._schema import POTENTIAL, REALISED, SEVERITY_COLUMNS, mistakes, plans, runs
from harness.ledger._work import COUNTERS, sessions, suggestions
from harness.models import BLAST_DIMENSIONS, SEVERITIES

CHUNK = 100_000
DIRTY, INFRA, AGENT_ERROR = 1, 2, 4
"""Bits of a run's ``flags``: a counted run with a mistake of a counted severity (or an agent error);
broken by the harness or the environment (not counted); ended in an agent error."""
BASES = ("realised", "potential")
BASIS_COLUMNS = {"realised": REALISED, "potential": POTENTIAL}
BLAST_NAMES = tuple(f"{basis}.{dim}" for basis in BASES for dim in BLAST_DIMENSIONS)
RUN_ROW = ("pk", "workflow", "agent", "agent_version", "stage", "scenario", "outcome", "flags", "worst",
           "mistakes", "started_ms")
"""The columns of one row of ``run_rows``: ``worst`` is -1 without a mistake, ``started_ms`` is
milliseconds since the epoch (UTC)."""
DETAIL_COLUMNS = ("pk", "run_id", "workflow", "scenario", "agent", "agent_version", "stage", "outcome",
                  "worst_severity", "error_cause", "started_at", "plan_id")


@dataclass(frozen=True)
class Selection:
    """Which runs and plans a report reads: workflows, and optionally a start time and an agent."""

    workflows: tuple[str, ...]
    since: datetime | None = None
    agent: str | None = None
    agent_version: str | None = None

    def run_conditions(self, *, table_order: bool = False) -> list[ColumnElement[bool]]:
        """``table_order``: read the runs in the table's own (pk) order, not through a workflow index:
        SQLite would otherwise sort every selected run again (seconds at a million runs). Only
        without a time filter, where most of the table is read anyway."""
        conds = self._conditions(runs, runs.c.started_at)
        if table_order and self.since is None:
            conds[0] = (runs.c.workflow + literal("")).in_(self.workflows)  # an expression: no index applies
        return conds

    def plan_conditions(self) -> list[ColumnElement[bool]]:
        return self._conditions(plans, plans.c.created_at)

    def session_conditions(self) -> list[ColumnElement[bool]]:
        return self._conditions(sessions, sessions.c.started_at)

    def _conditions(self, table: Any, when: Any) -> list[ColumnElement[bool]]:
        conds = [table.c.workflow.in_(self.workflows)]
        if self.since is not None:
            conds.append(when >= self.since)
        if self.agent is not None:
            conds.append(table.c.agent == self.agent)
        if self.agent_version is not None:
            conds.append(table.c.agent_version == self.agent_version)
        return conds


# -- per-run flags, computed by the database ------------------------------------------------------------
def _severity_sum(severities: Iterable[str]) -> Any:
    cols = [runs.c[SEVERITY_COLUMNS[s]] for s in severities]
    return sum(cols[1:], cols[0])


def _counted_mistakes(counted: dict[str, tuple[str, ...]]) -> Any:
    """Per run, its mistakes of the severities its workflow's gate counts."""
    default = _severity_sum(SEVERITIES)
    special = [(wf, sev) for wf, sev in counted.items() if set(sev) != set(SEVERITIES)]
    if not special:
        return default
    return case(*((runs.c.workflow == wf, _severity_sum(sev)) for wf, sev in special), else_=default)


def flags_column(counted: dict[str, tuple[str, ...]]) -> Any:
    """``DIRTY | INFRA | AGENT_ERROR`` bits of each run, for the severities each workflow counts."""
    infra = func.coalesce(runs.c.error_cause, literal("none")).in_(INFRA_CAUSES)
    dirty = and_(~infra, or_(_counted_mistakes(counted) > 0, runs.c.error_cause == "agent"))
    return (case((dirty, DIRTY), else_=0) + case((infra, INFRA), else_=0)
            + case((runs.c.error_cause == "agent", AGENT_ERROR), else_=0))


def _started_ms(dialect: str) -> Any:
    if dialect == "sqlite":  # julianday() keeps milliseconds
        return cast(func.round((func.julianday(runs.c.started_at) - 2440587.5) * 86_400_000.0), BigInteger)
    return cast(func.round(func.extract("epoch", runs.c.started_at) * 1000), BigInteger)


# -- streaming ------------------------------------------------------------------------------------------
def stream(conn: Connection, stmt: Any, size: int = CHUNK) -> Iterator[list[tuple]]:
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


def run_rows(conn: Connection, selection: Selection, counted: dict[str, tuple[str, ...]]) -> Iterator[list[tuple]]:
    """Every selected run, oldest first, as ``RUN_ROW`` tuples (chunks of ``CHUNK``)."""
    stmt = (select(runs.c.pk, runs.c.workflow, runs.c.agent, runs.c.agent_version, runs.c.stage, runs.c.scenario,
                   runs.c.outcome, flags_column(counted), func.coalesce(runs.c.worst_severity, -1),
                   runs.c.mistakes, _started_ms(conn.dialect.name))
            .where(*selection.run_conditions(table_order=True)).order_by(runs.c.pk))
    return stream(conn, stmt)


def blast_rows(conn: Connection, selection: Selection) -> Iterator[list[tuple]]:
    """The selected runs with any non-zero blast radius (usually few): pk, then ``BLAST_NAMES``."""
    cols = [runs.c[BASIS_COLUMNS[b][d]] for b in BASES for d in BLAST_DIMENSIONS]
    stmt = (select(runs.c.pk, *cols).where(*selection.run_conditions(table_order=True), or_(*(c > 0 for c in cols)))
            .order_by(runs.c.pk))
    return stream(conn, stmt)


def mistake_counts(conn: Connection, selection: Selection) -> list[tuple]:
    """Mistakes of the selected runs grouped by (workflow, agent, agent_version, scenario, type, severity)."""
    keys = [runs.c.workflow, runs.c.agent, runs.c.agent_version, runs.c.scenario, mistakes.c.type,
            mistakes.c.severity]
    stmt = (select(*keys, func.count()).select_from(mistakes.join(runs, mistakes.c.run_pk == runs.c.pk))
            .where(*selection.run_conditions()).group_by(*keys))
    return [tuple(r) for r in conn.execute(stmt)]


def plan_counts(conn: Connection, selection: Selection) -> list[tuple]:
    """Plans grouped by (workflow, agent, agent_version, status, approved_unchanged), with a count."""
    keys = [plans.c.workflow, plans.c.agent, plans.c.agent_version, plans.c.status, plans.c.approved_unchanged]
    stmt = select(*keys, func.count()).where(*selection.plan_conditions()).group_by(*keys)
    return [tuple(r) for r in conn.execute(stmt)]


def run_details(conn: Connection, pks: Iterable[int], mistakes_per_run: int) -> dict[int, dict[str, Any]]:
    """A few runs by pk: their keys, blast radius and first ``mistakes_per_run`` mistakes (with the total)."""
    out: dict[int, dict[str, Any]] = {}
    ordered = sorted({int(p) for p in pks})
    blast_cols = [runs.c[c] for basis in BASES for c in BASIS_COLUMNS[basis].values()]
    for i in range(0, len(ordered), 500):
        part = ordered[i:i + 500]
        stmt = select(*(runs.c[c] for c in DETAIL_COLUMNS), *blast_cols).where(runs.c.pk.in_(part))
        for row in conn.execute(stmt):
            d = dict(row._mapping)
            entry = {k: d[k] for k in DETAIL_COLUMNS if k != "pk"}
            for basis in BASES:
                entry[basis] = {dim: d[col] for dim, col in BASIS_COLUMNS[basis].items()}
            entry["mistakes"] = []
            entry["mistakes_total"] = 0
            out[d["pk"]] = entry
        mstmt = (select(mistakes.c.run_pk, mistakes.c.type, mistakes.c.severity, mistakes.c.entity,
                        mistakes.c.detail).where(mistakes.c.run_pk.in_(part)).order_by(mistakes.c.pk))
        for m in conn.execute(mstmt):
            entry = out[m.run_pk]
            entry["mistakes_total"] += 1
            if len(entry["mistakes"]) < mistakes_per_run:
                entry["mistakes"].append({"type": m.type, "severity": m.severity, "entity": m.entity,
                                          "detail": m.detail})
    return out


def production_sessions(conn: Connection, selection: Selection) -> list[dict[str, Any]]:
    """Sessions at work (through the gateway) per workflow and agent version, with their counters and
    what became of their suggestions: never mixed with the sandbox runs above."""
    keys = [sessions.c.workflow, sessions.c.agent, sessions.c.agent_version]
    stmt = (select(*keys, func.count().label("sessions"),
                   *(func.coalesce(func.sum(sessions.c[c]), 0).label(c) for c in COUNTERS),
                   func.min(sessions.c.started_at).label("first_started"),
                   func.max(sessions.c.started_at).label("last_started"))
            .where(*selection.session_conditions()).group_by(*keys))
    out = {(r.workflow, r.agent, r.agent_version): {**dict(r._mapping), "suggestions_pending": 0,
                                                     "suggestions_accepted": 0, "suggestions_rejected": 0}
           for r in conn.execute(stmt)}
    if out:
        skeys = [suggestions.c.workflow, suggestions.c.agent, suggestions.c.agent_version, suggestions.c.status]
        judged = (select(*skeys, func.count()).select_from(suggestions.join(
                      sessions, suggestions.c.session_id == sessions.c.id))
                  .where(*selection.session_conditions()).group_by(*skeys))
        for wf, agent, version, status, n in conn.execute(judged):
            entry = out.get((wf, agent, version))
            if entry is not None and f"suggestions_{status}" in entry:
                entry[f"suggestions_{status}"] = int(n)
    return sorted(out.values(), key=lambda e: (e["workflow"], e["agent"], e["agent_version"]))
