"""pandas views of the ledger, read in chunks so a million runs stays well under 2 GB.

Repeated strings (workflow, agent, scenario, outcome …) become categoricals chunk by chunk and are
unified at the end; pandas is imported only here, so the CLI's status path never pays for it.
"""

from __future__ import annotations

from sqlalchemy import Connection, Select, Table, select

from harness.ledger._schema import mistakes, plans, runs, transitions

CHUNK = 100_000
_CATEGORICAL = {"scenario", "scenario_digest", "workflow", "tier", "agent", "agent_version", "stage",
                "outcome", "error_cause", "type", "severity", "status", "from_stage", "to_stage", "kind",
                "actor", "world_key", "scenario_path"}
RUN_COLUMNS_DEFAULT = tuple(c.name for c in runs.columns if c.name not in ("error_message", "audit_path",
                                                                             "audit_head", "scenario_path"))


def read(conn: Connection, stmt: Select):
    """A DataFrame of ``stmt``'s rows, fetched ``CHUNK`` rows at a time."""
    import pandas as pd

    names = [c.name for c in stmt.selected_columns]
    result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(stmt)
    parts = []
    for chunk in result.partitions(CHUNK):
        columns = list(zip(*chunk))  # column-wise: much faster than DataFrame.from_records on Row objects
        parts.append(pd.DataFrame({n: pd.Categorical(c) if n in _CATEGORICAL else c
                                   for n, c in zip(names, columns)}))
    if not parts:
        return pd.DataFrame({n: pd.Series(dtype="category" if n in _CATEGORICAL else "object") for n in names})
    if len(parts) == 1:
        return parts[0]
    for n in names:  # one set of categories for every chunk, so concatenating keeps them categorical
        if n in _CATEGORICAL:
            categories = sorted(set().union(*(p[n].cat.categories for p in parts)))
            for p in parts:
                p[n] = p[n].cat.set_categories(categories)
    return pd.concat(parts, ignore_index=True)


def _columns(table: Table, columns) -> list:
    names = list(columns) if columns else [c.name for c in table.columns]
    unknown = [n for n in names if n not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(unknown)}; "
                         f"known: {', '.join(c.name for c in table.columns)}")
    return [table.c[n] for n in names]


def runs_frame(conn: Connection, *, workflow=None, agent=None, agent_version=None, columns=None):
    stmt = select(*_columns(runs, columns or RUN_COLUMNS_DEFAULT)).order_by(runs.c.pk)
    for col, value in (("workflow", workflow), ("agent", agent), ("agent_version", agent_version)):
        if value is not None:
            stmt = stmt.where(runs.c[col] == value)
    return read(conn, stmt)


def mistakes_frame(conn: Connection, *, workflow=None):
    """One row per mistake, with its run's id, workflow, agent, version, stage, scenario and start."""
    stmt = (select(mistakes.c.run_pk, runs.c.run_id, runs.c.workflow, runs.c.agent, runs.c.agent_version,
                   runs.c.stage, runs.c.scenario, runs.c.started_at, mistakes.c.type, mistakes.c.severity,
                   mistakes.c.entity, mistakes.c.detail)
            .join_from(mistakes, runs, mistakes.c.run_pk == runs.c.pk).order_by(mistakes.c.pk))
    if workflow is not None:
        stmt = stmt.where(runs.c.workflow == workflow)
    return read(conn, stmt)


def transitions_frame(conn: Connection, *, workflow=None):
    stmt = select(*_columns(transitions, None)).order_by(transitions.c.pk)
    if workflow is not None:
        stmt = stmt.where(transitions.c.workflow == workflow)
    return read(conn, stmt)


def plans_frame(conn: Connection, *, workflow=None, status=None):
    stmt = select(*_columns(plans, None)).order_by(plans.c.created_at)
    if workflow is not None:
        stmt = stmt.where(plans.c.workflow == workflow)
    if status is not None:
        stmt = stmt.where(plans.c.status == status)
    return read(conn, stmt)
