"""Evidence for gates, aggregated in the database over a window of one agent's runs.

Every query reads at most the window (the last N runs of a track, via ``ix_runs_track``), so a gate
costs the same on a ledger of a thousand runs or a million.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, exists, false, func, literal, or_, select, true

from harness.ledger._schema import POTENTIAL, REALISED, SEVERITY_COLUMNS, plans, run_counts, runs
from harness.ledger._time import iso

INFRA_CAUSES = ("harness", "environment")


@dataclass(frozen=True)
class Window:
    """Which runs are evidence: one agent on one workflow, the last ``last_runs`` and/or since ``since``."""

    workflow: str
    agent: str
    agent_version: str | None = None
    """None: every version of the agent (the policy's ``carry_over_versions``)."""
    last_runs: int | None = None
    since: datetime | None = None
    counted: tuple[str, ...] = tuple(SEVERITY_COLUMNS)
    """Severities whose mistakes make a run count as one 'with a mistake'."""
    after_pk: int = 0
    """Only runs recorded after this pk (the evidence epoch: after the last demotion or grant)."""
    digests: tuple[str, ...] | None = None
    """Only runs of these scenario digests (the workflow's registered suite); None: any."""
    first_runs: int | None = None
    """The first N runs of the epoch, harness/environment errors left out (a checkpoint sample)."""

    def subquery(self, *columns):
        # duplicates (an instance already recorded) and rehearsals are never evidence
        stmt = select(*columns).where(runs.c.workflow == self.workflow, runs.c.agent == self.agent,
                                      runs.c.rehearsal == false(), runs.c.duplicate == false())
        if self.agent_version is not None:
            stmt = stmt.where(runs.c.agent_version == self.agent_version)
        if self.after_pk:
            stmt = stmt.where(runs.c.pk > self.after_pk)
        if self.digests is not None:
            stmt = stmt.where(runs.c.scenario_digest.in_(self.digests or ("",)))
        if self.since is not None:
            stmt = stmt.where(runs.c.started_at >= self.since)
        if self.first_runs:
            stmt = (stmt.where(func.coalesce(runs.c.error_cause, literal("none")).not_in(INFRA_CAUSES))
                    .order_by(runs.c.pk.asc()).limit(self.first_runs))
        elif self.last_runs:
            stmt = stmt.order_by(runs.c.pk.desc()).limit(self.last_runs)
        return stmt.subquery("w")


def _flags(w, counted: tuple[str, ...]):
    cause = func.coalesce(w.c.error_cause, literal("none"))
    infra = cause.in_(INFRA_CAUSES)
    counted_cols = [w.c[SEVERITY_COLUMNS[s]] for s in counted]
    has_counted = (sum(counted_cols[1:], counted_cols[0]) > 0) if counted_cols else literal(False)
    dirty = and_(~infra, or_(has_counted, cause == "agent"))
    return infra, dirty


def summary(conn: Connection, window: Window, basis: str = "potential") -> dict[str, Any]:
    """Counts, worst severity, clean streak and per-dimension maxima of the window."""
    dims = POTENTIAL if basis == "potential" else REALISED
    cols = [runs.c.pk, runs.c.error_cause, runs.c.worst_severity, runs.c.started_at,
            *(runs.c[c] for c in SEVERITY_COLUMNS.values()), *(runs.c[c] for c in dims.values())]
    w = window.subquery(*cols)
    infra, dirty = _flags(w, window.counted)
    row = conn.execute(select(
        func.count().label("total"),
        func.coalesce(func.sum(case((infra, 1), else_=0)), 0).label("infra_errors"),
        func.coalesce(func.sum(case((dirty, 1), else_=0)), 0).label("with_mistake"),
        func.coalesce(func.sum(case((w.c.error_cause == "agent", 1), else_=0)), 0).label("agent_errors"),
        func.coalesce(func.sum(case((w.c.error_cause == "environment", 1), else_=0)), 0).label("environment_errors"),
        func.max(w.c.worst_severity).label("worst"),
        func.max(case((dirty, w.c.pk))).label("last_dirty_pk"),
        func.min(w.c.started_at).label("first_started"),
        func.max(w.c.started_at).label("last_started"),
        *(func.max(w.c[col]).label(dim) for dim, col in dims.items()),
    ).select_from(w)).one()
    last_dirty = row.last_dirty_pk or 0
    w2 = window.subquery(runs.c.pk, runs.c.error_cause)
    infra2 = func.coalesce(w2.c.error_cause, literal("none")).in_(INFRA_CAUSES)
    streak = conn.execute(select(func.count()).select_from(w2).where(w2.c.pk > last_dirty, ~infra2)).scalar()
    return {
        "total": row.total, "infra_errors": int(row.infra_errors), "runs": row.total - int(row.infra_errors),
        "with_mistake": int(row.with_mistake), "agent_errors": int(row.agent_errors),
        "environment_errors": int(row.environment_errors),
        "harness_errors": int(row.infra_errors) - int(row.environment_errors),
        "worst_severity": row.worst, "clean_streak": int(streak or 0),
        "first_started": iso(row.first_started), "last_started": iso(row.last_started),
        "blast_max": {dim: getattr(row, dim) or 0 for dim in dims},
    }


def percentile(conn: Connection, window: Window, dimension: str, pct: float, basis: str = "potential",
               total: int | None = None) -> float | None:
    """Nearest-rank percentile of one blast dimension over the window (None when it is empty)."""
    col = (POTENTIAL if basis == "potential" else REALISED)[dimension]
    w = window.subquery(runs.c[col].label("v"))
    if total is None:
        total = conn.execute(select(func.count()).select_from(w)).scalar() or 0
    if not total:
        return None
    rank = max(1, math.ceil(pct / 100.0 * total))
    return conn.execute(select(w.c.v).order_by(w.c.v.asc()).offset(rank - 1).limit(1)).scalar()


def coverage(conn: Connection, window: Window) -> dict[tuple[str, str], int]:
    """Runs per (scenario, scenario digest) in the window (harness and environment errors excluded)."""
    w = window.subquery(runs.c.scenario, runs.c.scenario_digest, runs.c.error_cause)
    infra = func.coalesce(w.c.error_cause, literal("none")).in_(INFRA_CAUSES)
    stmt = select(w.c.scenario, w.c.scenario_digest, func.count()).where(~infra).group_by(
        w.c.scenario, w.c.scenario_digest)
    return {(s, d): n for s, d, n in conn.execute(stmt)}


def epoch_after(conn: Connection, workflow: str, agent: str, agent_version: str, at: datetime | None) -> int:
    """The highest run pk of this version recorded at or before ``at`` (0 when ``at`` is None)."""
    if at is None:
        return 0
    stmt = select(func.max(runs.c.pk)).where(runs.c.workflow == workflow, runs.c.agent == agent,
                                             runs.c.agent_version == agent_version, runs.c.recorded_at <= at)
    return int(conn.execute(stmt).scalar() or 0)


def runners(conn: Connection, window: Window) -> list[str]:
    """Who ran the evidence (``ran_by``), for separation of duties at sign-off."""
    w = window.subquery(runs.c.ran_by)
    return sorted(x for x in conn.execute(select(w.c.ran_by).distinct()).scalars() if x)


def run_ids(conn: Connection, window: Window) -> list[str]:
    w = window.subquery(runs.c.run_id)
    return sorted(conn.execute(select(w.c.run_id)).scalars())


def known_scenarios(conn: Connection, workflow: str) -> list[str]:
    stmt = select(run_counts.c.scenario).where(run_counts.c.workflow == workflow).distinct()
    return sorted(conn.execute(stmt).scalars())


def tracks(conn: Connection, workflow: str | None = None) -> list[dict[str, Any]]:
    """Agent versions with evidence, newest first: workflow, agent, agent_version, runs, last_pk."""
    stmt = (select(run_counts.c.workflow, run_counts.c.agent, run_counts.c.agent_version,
                   func.sum(run_counts.c.runs).label("runs"), func.max(run_counts.c.last_pk).label("last_pk"))
            .group_by(run_counts.c.workflow, run_counts.c.agent, run_counts.c.agent_version))
    if workflow is not None:
        stmt = stmt.where(run_counts.c.workflow == workflow)
    rows = [dict(r._mapping) for r in conn.execute(stmt)]
    for r in rows:
        r["runs"] = int(r["runs"])
    return sorted(rows, key=lambda r: (r["workflow"], -r["last_pk"]))


SIMULATED_REVIEWER = "reviewer:"
"""``decided_by`` prefix of plans decided inside a run by a simulated reviewer."""


def plan_review(conn: Connection, workflow: str, agent: str, agent_version: str | None,
                since: datetime | None = None, include_simulated: bool = False) -> dict[str, int]:
    """Plans a person decided on (and, if asked, a simulated reviewer), and how many were approved unchanged."""
    stmt = select(func.count(), func.coalesce(func.sum(case((plans.c.approved_unchanged, 1), else_=0)), 0)).where(
        plans.c.workflow == workflow, plans.c.agent == agent, plans.c.approved_unchanged.is_not(None))
    if not include_simulated:
        stmt = stmt.where(~func.coalesce(plans.c.decided_by, "").startswith(SIMULATED_REVIEWER))
    rehearsed = exists().where(runs.c.run_id == plans.c.run_id, runs.c.rehearsal == true())
    stmt = stmt.where(~rehearsed)
    if agent_version is not None:
        stmt = stmt.where(plans.c.agent_version == agent_version)
    if since is not None:
        stmt = stmt.where(plans.c.created_at >= since)
    reviewed, unchanged = conn.execute(stmt).one()
    return {"reviewed": int(reviewed), "approved_unchanged": int(unchanged)}


def recent_flags(conn: Connection, workflow: str, stage: str, after_pk: int, last_runs: int,
                 counted: tuple[str, ...], agent: str | None = None, agent_version: str | None = None
                 ) -> list[bool]:
    """Newest first: did each of the last runs of this agent version at ``stage`` (after ``after_pk``)
    have a mistake? Harness and environment errors and rehearsals are left out: they say nothing
    about the agent at its grant.
    """
    track = [] if agent is None else [runs.c.agent == agent]
    if agent_version is not None:
        track.append(runs.c.agent_version == agent_version)
    w = (select(runs.c.pk, runs.c.error_cause, *(runs.c[SEVERITY_COLUMNS[s]] for s in SEVERITY_COLUMNS))
         .where(runs.c.workflow == workflow, runs.c.stage == stage, runs.c.pk > after_pk,
                runs.c.rehearsal == false(), *track,
                func.coalesce(runs.c.error_cause, literal("none")).not_in(INFRA_CAUSES))
         .order_by(runs.c.pk.desc()).limit(last_runs).subquery("w"))
    _, dirty = _flags(w, counted)
    return [bool(x) for x in conn.execute(select(case((dirty, 1), else_=0)).order_by(w.c.pk.desc())).scalars()]


def flags_in_order(conn: Connection, workflow: str, stage: str, after_pk: int, last_runs: int,
                   counted: tuple[str, ...], agent: str, agent_version: str) -> list[tuple[str, bool]]:
    """Oldest first: (run id, had a mistake) for the last ``last_runs`` runs of this version at ``stage``
    after ``after_pk`` (harness/environment errors and rehearsals left out), so demotion triggers can
    be replayed run by run."""
    w = (select(runs.c.pk, runs.c.run_id, runs.c.error_cause, *(runs.c[SEVERITY_COLUMNS[s]] for s in SEVERITY_COLUMNS))
         .where(runs.c.workflow == workflow, runs.c.stage == stage, runs.c.pk > after_pk,
                runs.c.rehearsal == false(), runs.c.agent == agent, runs.c.agent_version == agent_version,
                func.coalesce(runs.c.error_cause, literal("none")).not_in(INFRA_CAUSES))
         .order_by(runs.c.pk.desc()).limit(last_runs).subquery("w"))
    _, dirty = _flags(w, counted)
    rows = conn.execute(select(w.c.run_id, case((dirty, 1), else_=0)).order_by(w.c.pk.asc())).all()
    return [(run_id, bool(flag)) for run_id, flag in rows]
