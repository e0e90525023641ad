"""The ledger: the durable track record of runs, plans and stage transitions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self

from sqlalchemy import Connection, Engine, func, select

from harness import config
from harness.errors import NotFoundError, UsageError
from harness.ledger import _evidence, _frames, _governance, _plans, _runs, _stages
from harness.ledger._engine import make_engine, migrate, write
from harness.ledger._schema import mistakes, plans, runs, world_changes
from harness.ledger._time import iso
from harness.ledger._work import WorkLedger
from harness.models import SEVERITIES, RunResult


class Ledger(WorkLedger):
    """Open (and create or migrate) the ledger at ``url``; default ``harness.config.ledger_url()``.

    Use as a context manager or call ``close()``. Every write is one transaction.
    """

    def __init__(self, url: str | None = None, *, engine: Engine | None = None):
        self.url = config.ledger_url(url)
        self.engine = engine or make_engine(self.url)
        migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({self.engine.url.render_as_string(hide_password=True)!r})"

    # -- plumbing ----------------------------------------------------------------------------------
    def read(self):
        """A connection for reading (``with ledger.read() as conn``)."""
        return self.engine.connect()

    def write(self, work):
        """Run ``work(conn)`` in one write transaction, retried while the database is locked."""
        return write(self.engine, work)

    # -- runs --------------------------------------------------------------------------------------
    def record_runs(self, results: Iterable[RunResult]) -> int:
        """Record every result in one transaction (all or nothing). Returns how many."""
        batch = list(results)
        return self.write(lambda conn: _runs.insert_runs(conn, batch)) if batch else 0

    # -- suites, looks, pinned policies, agent specs --------------------------------------------------
    def register_suite(self, workflow: str, entries: list[dict[str, str]], by: str) -> list[dict[str, Any]]:
        return self.write(lambda conn: _governance.register_suite(conn, workflow, entries, by))

    def suite(self, workflow: str) -> list[dict[str, Any]]:
        with self.read() as conn:
            return _governance.get_suite(conn, workflow)

    def record_look(self, **values: Any) -> None:
        self.write(lambda conn: _governance.add_look(conn, **values))

    def looks(self, workflow: str, agent: str, agent_version: str, to_stage: str,
              epoch_pk: int | None = None) -> list[dict[str, Any]]:
        with self.read() as conn:
            return _governance.list_looks(conn, workflow, agent, agent_version, to_stage, epoch_pk)

    def policy_pin(self, workflow: str) -> dict[str, Any] | None:
        with self.read() as conn:
            return _governance.get_pin(conn, workflow)

    def pin_policy(self, **values: Any) -> dict[str, Any]:
        return self.write(lambda conn: _governance.set_pin(conn, **values))

    def bind_agent_spec(self, agent: str, version: str, digest: str, spec: dict | None = None) -> None:
        self.write(lambda conn: _governance.bind_spec(conn, agent, version, digest, spec))

    def get_run(self, run_id: str) -> dict[str, Any]:
        """One run by id or unique id prefix, with its mistakes."""
        with self.read() as conn:
            row = _unique(conn, runs, runs.c.run_id, run_id, "run")
            out = _run_dict(row)
            out["mistakes"] = [{"type": m.type, "severity": m.severity, "entity": m.entity, "detail": m.detail}
                               for m in conn.execute(select(mistakes).where(mistakes.c.run_pk == row.pk)
                                                     .order_by(mistakes.c.pk))]
            return out

    def runs(self, workflow: str | None = None, agent: str | None = None, agent_version: str | None = None,
             stage: str | None = None, limit: int | None = 100) -> list[dict[str, Any]]:
        """The newest runs first (without their mistakes: see ``get_run`` or ``mistakes_frame``)."""
        stmt = select(runs).order_by(runs.c.pk.desc()).limit(limit)
        for col, value in (("workflow", workflow), ("agent", agent), ("agent_version", agent_version),
                           ("stage", stage)):
            if value is not None:
                stmt = stmt.where(runs.c[col] == value)
        with self.read() as conn:
            return [_run_dict(r) for r in conn.execute(stmt)]

    def count_runs(self, workflow: str | None = None) -> int:
        stmt = select(func.count()).select_from(runs)
        if workflow is not None:
            stmt = stmt.where(runs.c.workflow == workflow)
        with self.read() as conn:
            return conn.execute(stmt).scalar() or 0

    def tracks(self, workflow: str | None = None) -> list[dict[str, Any]]:
        """Agent versions with evidence per workflow, newest first: workflow, agent, agent_version, runs."""
        with self.read() as conn:
            return _evidence.tracks(conn, workflow)

    def workflows(self) -> list[str]:
        """Workflows with runs or a stage in the ledger."""
        with self.read() as conn:
            seen = {t["workflow"] for t in _evidence.tracks(conn)}
            seen.update(_stages.granted_workflows(conn))
        return sorted(seen)

    def scenarios(self, workflow: str) -> list[str]:
        with self.read() as conn:
            return _evidence.known_scenarios(conn, workflow)

    # -- plans -------------------------------------------------------------------------------------
    def save_plan(self, plan: dict[str, Any]) -> dict[str, Any]:
        self.write(lambda conn: _plans.save_plan(conn, plan))
        return self.get_plan(plan["id"])

    def get_plan(self, plan_id: str) -> dict[str, Any]:
        """One plan by id or unique id prefix."""
        with self.read() as conn:
            return _plans.plan_dict(_unique(conn, plans, plans.c.id, plan_id, "plan"))

    def list_plans(self, status: str | None = None, workflow: str | None = None) -> list[dict[str, Any]]:
        stmt = select(plans).order_by(plans.c.created_at, plans.c.id)
        if status is not None:
            stmt = stmt.where(plans.c.status == status)
        if workflow is not None:
            stmt = stmt.where(plans.c.workflow == workflow)
        with self.read() as conn:
            return [_plans.plan_dict(r) for r in conn.execute(stmt)]

    def update_plan(self, plan_id: str, expected_version: int, **fields: Any) -> dict[str, Any]:
        """Compare-and-swap: ConflictError when the plan's version is no longer ``expected_version``."""
        self.write(lambda conn: _plans.update_plan(conn, plan_id, expected_version, fields))
        return self.get_plan(plan_id)

    def append_world_changes(self, world_key: str, changes: list[dict[str, Any]],
                             plan_id: str | None = None) -> list[int]:
        """Append changes to a persisted world; returns their sequence numbers."""
        return self.write(lambda conn: _plans.append_world_changes(conn, world_key, changes, plan_id))

    def world_changes(self, world_key: str) -> list[dict[str, Any]]:
        stmt = select(world_changes).where(world_changes.c.world_key == world_key).order_by(world_changes.c.seq)
        with self.read() as conn:
            return [_plans.world_change_dict(r) for r in conn.execute(stmt)]

    def apply_plan_atomically(self, plan_id: str, expected_version: int, changes: list[dict[str, Any]],
                              fields: dict[str, Any] | None = None) -> dict[str, Any]:
        """Mark the plan applied (plus ``fields``) and append its world changes, in one transaction.

        PlanRefused if it was applied already; ConflictError if its version moved.
        """
        self.write(lambda conn: _plans.apply_plan(conn, plan_id, expected_version, changes, dict(fields or {})))
        return self.get_plan(plan_id)

    # -- stages ----------------------------------------------------------------------------------
    def grant(self, workflow: str, agent: str, version: str) -> dict[str, Any]:
        """What one agent version may do now: its granted ``stage`` (sandbox without a grant), whether
        the workflow is ``paused`` (and the ``pause``: by, reason, at), ``granted_at`` and ``source``
        (``granted``, ``carried-over`` or ``default``). Read at every call by the gateway at work."""
        with self.read() as conn:
            g = _stages.get_grant(conn, workflow, agent, version)
            pause = _stages.get_control(conn, workflow)
        return {**g, "granted_at": g["entered_at"], "paused": pause is not None, "pause": pause}

    def grants(self, workflow: str | None = None) -> list[dict[str, Any]]:
        """Every agent version's grant (versions without one are at sandbox and not listed)."""
        with self.read() as conn:
            return _stages.list_grants(conn, workflow)

    def stage_of(self, workflow: str, agent: str | None = None, version: str | None = None) -> str:
        """The stage of one agent version; without one, the workflow's highest grant."""
        if agent is not None and version is not None:
            return self.grant(workflow, agent, version)["stage"]
        return self.workflow_state(workflow)["stage"]

    def workflow_state(self, workflow: str) -> dict[str, Any]:
        """The workflow's highest grant over all agent versions (stage, agent, agent_version, ...)."""
        with self.read() as conn:
            return _stages.workflow_summary(conn, workflow)

    def transitions(self, workflow: str | None = None) -> list[dict[str, Any]]:
        with self.read() as conn:
            return _stages.list_transitions(conn, workflow)

    def record_transition(self, **kwargs: Any) -> dict[str, Any]:
        """Compare-and-swap one version's grant and insert the transition (see ``_stages.transition``)."""
        return self.write(lambda conn: _stages.transition(conn, **kwargs))

    def add_signoff(self, **kwargs: Any) -> None:
        self.write(lambda conn: _stages.add_signoff(conn, **kwargs))

    def pending_signoffs(self, workflow: str, state_version: int, to_stage: str,
                         agent: str | None = None) -> list[dict[str, Any]]:
        with self.read() as conn:
            return _stages.pending_signoffs(conn, workflow, state_version, to_stage, agent)

    def pause(self, workflow: str, by: str, reason: str) -> dict[str, Any]:
        """Stop every write of every agent version of ``workflow`` (recorded in its history)."""
        return self.write(lambda conn: _stages.set_paused(conn, workflow=workflow, paused=True, actor=by,
                                                          reason=reason))

    def resume(self, workflow: str, by: str, reason: str) -> dict[str, Any]:
        return self.write(lambda conn: _stages.set_paused(conn, workflow=workflow, paused=False, actor=by,
                                                          reason=reason))

    def paused(self, workflow: str) -> dict[str, Any] | None:
        """The workflow's pause (by, reason, at), or None."""
        with self.read() as conn:
            return _stages.get_control(conn, workflow)

    def record_incident(self, **values: Any) -> int:
        return self.write(lambda conn: _stages.insert_incident(conn, **values))

    def link_incident(self, incident_id: int, seq: int) -> None:
        self.write(lambda conn: _stages.set_incident_demotion(conn, incident_id, seq))

    def incidents(self, workflow: str | None = None, agent: str | None = None,
                  agent_version: str | None = None) -> list[dict[str, Any]]:
        with self.read() as conn:
            return _stages.list_incidents(conn, workflow, agent, agent_version)

    # -- pandas ------------------------------------------------------------------------------------
    def runs_frame(self, workflow: str | None = None, agent: str | None = None,
                   agent_version: str | None = None, columns: list[str] | None = None):
        """One row per run (long text columns left out unless named in ``columns``)."""
        with self.read() as conn:
            return _frames.runs_frame(conn, workflow=workflow, agent=agent, agent_version=agent_version,
                                      columns=columns)

    def mistakes_frame(self, workflow: str | None = None):
        with self.read() as conn:
            return _frames.mistakes_frame(conn, workflow=workflow)

    def transitions_frame(self, workflow: str | None = None):
        with self.read() as conn:
            return _frames.transitions_frame(conn, workflow=workflow)

    def plans_frame(self, workflow: str | None = None, status: str | None = None):
        with self.read() as conn:
            return _frames.plans_frame(conn, workflow=workflow, status=status)


def _run_dict(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    d.pop("pk", None)
    d["started_at"], d["recorded_at"] = iso(d["started_at"]), iso(d["recorded_at"])
    worst = d.pop("worst_severity")
    d["worst_severity"] = None if worst is None else SEVERITIES[worst]
    return d


def _unique(conn: Connection, table, column, key: str, what: str):
    """The row whose ``column`` equals ``key``, or else the only one it starts with."""
    row = conn.execute(select(table).where(column == key)).first()
    if row is not None:
        return row
    if not key:
        raise UsageError(f"give a {what} id.")
    if conn.dialect.name == "sqlite":  # a range scan uses the index (SQLite's LIKE would not)
        upper = key[:-1] + chr(ord(key[-1]) + 1)
        cond = (column >= key) & (column < upper)
    else:
        escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        cond = column.like(escaped + "%", escape="\\")
    rows = conn.execute(select(table).where(cond).limit(6)).all()
    if not rows:
        raise NotFoundError(f"no {what} {key!r} in the ledger.")
    if len(rows) > 1:
        ids = ", ".join(getattr(r, column.name) for r in rows[:5])
        raise UsageError(f"{key!r} matches several {what}s ({ids}{', …' if len(rows) > 5 else ''}).",
                         expected=f"a longer prefix of the {what} id")
    return rows[0]
