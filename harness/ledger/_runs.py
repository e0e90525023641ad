"""Recording runs: a RunResult becomes one ``runs`` row, its mistakes ``mistakes`` rows."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from harness.errors import LedgerError
from harness.ledger._schema import POTENTIAL, REALISED, SEVERITY_COLUMNS, mistakes, run_counts, runs
from harness.ledger._time import to_dt, utcnow
from harness.models import BLAST_DIMENSIONS, SEVERITIES, RunResult

_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def run_row(result: RunResult, recorded_at: datetime) -> dict[str, Any]:
    counts = dict.fromkeys(SEVERITIES, 0)
    for m in result.mistakes:
        counts[m.severity] += 1
    worst = max((_RANK[m.severity] for m in result.mistakes), default=None)
    row: dict[str, Any] = {
        "run_id": result.run_id, "scenario": result.scenario, "scenario_digest": result.scenario_digest,
        "scenario_path": result.scenario_path, "workflow": result.workflow, "tier": result.tier,
        "agent": result.agent, "agent_version": result.agent_version, "stage": result.stage,
        "trial": result.trial, "seed": result.seed, "outcome": result.outcome,
        "mistakes": len(result.mistakes), "worst_severity": worst,
        "error_cause": result.error.cause if result.error else None,
        "error_message": result.error.message if result.error else None,
        "started_at": to_dt(result.started_at), "duration_ms": result.duration_ms,
        "tool_calls": result.tool_calls, "blocked_calls": result.blocked_calls, "plan_id": result.plan_id,
        "audit_path": result.audit_path, "audit_head": result.audit_head, "recorded_at": recorded_at,
        "rehearsal": result.rehearsal, "instance": instance_key(result), "duplicate": False,
        "agent_spec": result.agent_spec, "ran_by": result.ran_by,
    }
    for severity, column in SEVERITY_COLUMNS.items():
        row[column] = counts[severity]
    realised, potential = result.blast_radius.realised, result.blast_radius.potential
    for dim in BLAST_DIMENSIONS:
        row[REALISED[dim]] = getattr(realised, dim)
        row[POTENTIAL[dim]] = getattr(potential, dim)
    return row


def instance_key(result: RunResult) -> str:
    """What makes a run distinct evidence: scenario digest, agent version and spec, seed, trial."""
    parts = (result.scenario_digest, result.agent, result.agent_version, result.agent_spec or "",
             str(result.seed), str(result.trial))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _mark_duplicates(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """A run whose instance is already in the ledger (or earlier in the batch) is kept, marked duplicate."""
    keys = sorted({r["instance"] for r in rows})
    seen = {k for i in range(0, len(keys), 900) for k in conn.execute(
        select(runs.c.instance).where(runs.c.instance.in_(keys[i:i + 900]))).scalars()}
    for r in rows:
        if r["instance"] in seen:
            r["duplicate"] = True
        seen.add(r["instance"])


def insert_runs(conn: Connection, results: Iterable[RunResult]) -> int:
    """Insert runs, their mistakes and the per-scenario counts. The caller owns the transaction."""
    batch = list(results)
    if not batch:
        return 0
    now = utcnow()
    rows = [run_row(r, now) for r in batch]
    ids = [r.run_id for r in batch]
    if len(set(ids)) != len(ids):
        raise LedgerError("the batch records the same run id twice; nothing was recorded.",
                          expected="a fresh run id for every run")
    known = [k for i in range(0, len(ids), 900) for k in conn.execute(
        select(runs.c.run_id).where(runs.c.run_id.in_(ids[i:i + 900])).limit(3)).scalars()]
    if known:
        raise LedgerError(f"run(s) {', '.join(known[:3])} are already in the ledger; nothing was recorded.",
                          expected="a fresh run id for every run")
    _mark_duplicates(conn, rows)
    try:
        conn.execute(insert(runs), rows)  # executemany: RETURNING would go row by row on SQLite
    except IntegrityError:  # a concurrent writer recorded one of these ids a moment ago
        raise LedgerError("a run of this batch was recorded concurrently; nothing was recorded.",
                          expected="a fresh run id for every run") from None
    with_mistakes = [r.run_id for r in batch if r.mistakes]
    pk_of = dict(_pks(conn, with_mistakes)) if with_mistakes else {}
    mistake_rows = [{"run_pk": pk_of[r.run_id], "type": m.type, "severity": m.severity, "entity": m.entity,
                     "detail": m.detail} for r in batch if r.mistakes for m in r.mistakes]
    if mistake_rows:
        conn.execute(insert(mistakes), mistake_rows)
    last = conn.execute(select(func.max(runs.c.pk))).scalar() or 0
    bump_counts(conn, [(r.workflow, r.agent, r.agent_version, r.scenario) for r in batch], [last] * len(batch))
    return len(batch)


def _pks(conn: Connection, run_ids: list[str]):
    for i in range(0, len(run_ids), 900):
        yield from conn.execute(select(runs.c.run_id, runs.c.pk).where(runs.c.run_id.in_(run_ids[i:i + 900])))


def bump_counts(conn: Connection, keys: list[tuple[str, str, str, str]], pks: list[int]) -> None:
    """Add to ``run_counts`` (an upsert; keys sorted so concurrent writers lock rows in one order)."""
    tally: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for key, pk in zip(keys, pks):
        entry = tally[key]
        entry[0] += 1
        entry[1] = max(entry[1], pk)
    values = [{"workflow": k[0], "agent": k[1], "agent_version": k[2], "scenario": k[3],
               "runs": n, "last_pk": last} for k, (n, last) in sorted(tally.items())]
    dialect = conn.dialect.name
    if dialect == "sqlite":
        stmt = sqlite.insert(run_counts)
    elif dialect == "postgresql":
        stmt = postgresql.insert(run_counts)
    else:  # pragma: no cover - other databases: read-modify-write inside the transaction
        _bump_portable(conn, values)
        return
    stmt = stmt.on_conflict_do_update(
        index_elements=["workflow", "agent", "agent_version", "scenario"],
        set_={"runs": run_counts.c.runs + stmt.excluded.runs, "last_pk": stmt.excluded.last_pk})
    conn.execute(stmt, values)


def _bump_portable(conn: Connection, values: list[dict]) -> None:  # pragma: no cover
    for v in values:
        key = (run_counts.c.workflow == v["workflow"]) & (run_counts.c.agent == v["agent"]) & (
            run_counts.c.agent_version == v["agent_version"]) & (run_counts.c.scenario == v["scenario"])
        updated = conn.execute(run_counts.update().where(key).values(
            runs=run_counts.c.runs + v["runs"], last_pk=v["last_pk"])).rowcount
        if not updated:
            conn.execute(insert(run_counts), v)
