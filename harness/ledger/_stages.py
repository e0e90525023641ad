"""Workflow stages: the current stage per workflow, transitions and pending sign-offs.

A transition is a compare-and-swap on ``workflow_state.version`` plus an insert of the transition
with the next ``seq`` (unique per workflow), in one transaction: of two release owners promoting at
the same moment one wins and the other gets ConflictError, and nothing is half-written.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from harness.errors import ConflictError
from harness.ledger._schema import runs, signoffs, transitions, workflow_state
from harness.ledger._time import iso, utcnow

SANDBOX_STATE = {"stage": "sandbox", "version": 0, "entered_at": None, "entered_run_pk": 0,
                 "agent": None, "agent_version": None}


def get_state(conn: Connection, workflow: str) -> dict[str, Any]:
    row = conn.execute(select(workflow_state).where(workflow_state.c.workflow == workflow)).first()
    if row is None:
        return {"workflow": workflow, **SANDBOX_STATE}
    out = dict(row._mapping)
    out["entered_at"] = iso(out["entered_at"])
    return out


def all_states(conn: Connection) -> dict[str, dict[str, Any]]:
    out = {}
    for row in conn.execute(select(workflow_state)):
        d = dict(row._mapping)
        d["entered_at"] = iso(d["entered_at"])
        out[row.workflow] = d
    return out


def transition(conn: Connection, *, workflow: str, expected_version: int, from_stage: str, to_stage: str,
               kind: str, actor: str, reason: str, override: bool = False, agent: str | None = None,
               agent_version: str | None = None, signoff_list: list[dict] | None = None,
               gate: dict | None = None, evidence_digest: str | None = None,
               policy_digest: str | None = None) -> dict[str, Any]:
    now = utcnow()
    last_pk = conn.execute(select(func.max(runs.c.pk))).scalar() or 0
    new_version = expected_version + 1
    state_values = {"stage": to_stage, "version": new_version, "entered_at": now, "entered_run_pk": last_pk,
                    "agent": agent, "agent_version": agent_version}
    moved = ConflictError(f"{workflow} changed stage meanwhile (someone else promoted or demoted it); "
                          "nothing was recorded. Run `harness status` and decide again.")
    if expected_version == 0:
        try:
            with conn.begin_nested():
                conn.execute(insert(workflow_state).values(workflow=workflow, **state_values))
        except IntegrityError:
            raise moved from None
    else:
        done = conn.execute(update(workflow_state).where(workflow_state.c.workflow == workflow,
                                                         workflow_state.c.version == expected_version)
                            .values(**state_values)).rowcount
        if done != 1:
            raise moved
    record = {"workflow": workflow, "seq": new_version, "from_stage": from_stage, "to_stage": to_stage,
              "kind": kind, "override": override, "actor": actor, "reason": reason, "agent": agent,
              "agent_version": agent_version, "signoffs": signoff_list or [], "gate": gate,
              "evidence_digest": evidence_digest, "policy_digest": policy_digest, "created_at": now}
    try:
        with conn.begin_nested():
            conn.execute(insert(transitions).values(**record))
    except IntegrityError:
        raise moved from None
    conn.execute(delete(signoffs).where(signoffs.c.workflow == workflow))
    return transition_dict(record)


def transition_dict(row: Any) -> dict[str, Any]:
    d = dict(row) if isinstance(row, dict) else dict(row._mapping)
    d.pop("pk", None)
    d["created_at"] = iso(d["created_at"])
    return d


def list_transitions(conn: Connection, workflow: str | None = None) -> list[dict[str, Any]]:
    stmt = select(transitions).order_by(transitions.c.workflow, transitions.c.seq)
    if workflow is not None:
        stmt = stmt.where(transitions.c.workflow == workflow)
    return [transition_dict(r) for r in conn.execute(stmt)]


def add_signoff(conn: Connection, *, workflow: str, state_version: int, to_stage: str, person: str,
                agent: str | None, roles: list[str], reason: str, evidence_digest: str | None) -> None:
    current = conn.execute(select(workflow_state.c.version).where(workflow_state.c.workflow == workflow)
                           ).scalar() or 0
    if current != state_version:
        raise ConflictError(f"{workflow} changed stage meanwhile; your sign-off was not recorded. "
                            "Run `harness status` and decide again.")
    conn.execute(delete(signoffs).where(signoffs.c.workflow == workflow, signoffs.c.state_version == state_version,
                                        signoffs.c.to_stage == to_stage, signoffs.c.person == person))
    conn.execute(insert(signoffs).values(workflow=workflow, state_version=state_version, to_stage=to_stage,
                                         person=person, agent=agent, roles=roles, reason=reason,
                                         evidence_digest=evidence_digest, created_at=utcnow()))


def pending_signoffs(conn: Connection, workflow: str, state_version: int, to_stage: str,
                     agent: str | None = None) -> list[dict]:
    """Sign-offs recorded since the last transition for ``to_stage`` (and ``agent``, if given)."""
    stmt = (select(signoffs).where(signoffs.c.workflow == workflow, signoffs.c.state_version == state_version,
                                   signoffs.c.to_stage == to_stage).order_by(signoffs.c.pk))
    if agent is not None:
        stmt = stmt.where(signoffs.c.agent == agent)
    return [{"person": r.person, "agent": r.agent, "roles": r.roles, "reason": r.reason, "at": iso(r.created_at),
             "evidence_digest": r.evidence_digest} for r in conn.execute(stmt)]
