"""Stage grants per agent version, transitions, pending sign-offs, pauses and incidents.

The stage belongs to a workflow *and* an agent version: a version without a grant row is at
sandbox. A transition is a compare-and-swap on ``grants.version`` plus an insert of the transition
with the workflow's next ``seq`` (unique per workflow), in one transaction: of two release owners
promoting at the same moment one wins and the other gets ConflictError, and nothing is half-written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from harness.errors import ConflictError
from harness.ledger._schema import grants, incidents, runs, signoffs, transitions, workflow_controls
from harness.ledger._time import iso, utcnow
from harness.models import STAGES


def track_name(agent: str | None, version: str | None) -> str | None:
    return f"{agent}@{version}" if agent and version else None


def _grant_dict(row: Any) -> dict[str, Any]:
    """A grant as stored, except that an expired one holds its fallback stage (``expired`` says so)."""
    d = dict(row._mapping)
    d["expired"] = None
    if d.get("expires_at") is not None and utcnow() >= d["expires_at"] and d.get("fallback_stage"):
        d["expired"] = {"stage": d["stage"], "at": iso(d["expires_at"])}
        d["stage"] = d["fallback_stage"]
    d["entered_at"] = iso(d["entered_at"])
    d["expires_at"] = iso(d.get("expires_at"))
    return d


def get_grant(conn: Connection, workflow: str, agent: str, agent_version: str) -> dict[str, Any]:
    """The grant of one agent version; sandbox (``version`` 0, ``source`` default) when it has none."""
    row = conn.execute(select(grants).where(grants.c.workflow == workflow, grants.c.agent == agent,
                                            grants.c.agent_version == agent_version)).first()
    if row is None:
        return {"workflow": workflow, "agent": agent, "agent_version": agent_version, "stage": "sandbox",
                "version": 0, "entered_at": None, "entered_run_pk": 0, "source": "default",
                "carried_from": None, "expires_at": None, "fallback_stage": None, "expired": None}
    return _grant_dict(row)


def list_grants(conn: Connection, workflow: str | None = None) -> list[dict[str, Any]]:
    stmt = select(grants).order_by(grants.c.workflow, grants.c.entered_at.desc(), grants.c.agent,
                                   grants.c.agent_version)
    if workflow is not None:
        stmt = stmt.where(grants.c.workflow == workflow)
    return [_grant_dict(r) for r in conn.execute(stmt)]


def workflow_summary(conn: Connection, workflow: str) -> dict[str, Any]:
    """The workflow's highest grant (any version): what reports call "the workflow's stage"."""
    best: dict[str, Any] | None = None
    for g in list_grants(conn, workflow):
        if best is None or STAGES.index(g["stage"]) > STAGES.index(best["stage"]):
            best = g
    if best is None:
        return {"workflow": workflow, "stage": "sandbox", "version": 0, "entered_at": None, "entered_run_pk": 0,
                "agent": None, "agent_version": None}
    return {"workflow": workflow, "stage": best["stage"], "version": best["version"],
            "entered_at": best["entered_at"], "entered_run_pk": best["entered_run_pk"], "agent": best["agent"],
            "agent_version": best["agent_version"]}


def granted_workflows(conn: Connection) -> set[str]:
    return set(conn.execute(select(grants.c.workflow).distinct()).scalars())


def _next_seq(conn: Connection, workflow: str) -> int:
    return (conn.execute(select(func.max(transitions.c.seq)).where(transitions.c.workflow == workflow))
            .scalar() or 0) + 1


def _insert_transition(conn: Connection, record: dict[str, Any], moved: Exception) -> dict[str, Any]:
    record = {**record, "seq": _next_seq(conn, record["workflow"])}
    try:
        with conn.begin_nested():
            conn.execute(insert(transitions).values(**record))
    except IntegrityError:
        raise moved from None
    return transition_dict(record)


def transition(conn: Connection, *, workflow: str, agent: str, agent_version: str, expected_version: int,
               from_stage: str, to_stage: str, kind: str, actor: str, reason: str, override: bool = False,
               signoff_list: list[dict] | None = None, gate: dict | None = None,
               evidence_digest: str | None = None, policy_digest: str | None = None,
               source: str = "granted", carried_from: str | None = None,
               expires_at: datetime | None = None, fallback_stage: str | None = None) -> dict[str, Any]:
    """Move one agent version's grant from ``from_stage`` to ``to_stage`` (compare-and-swap)."""
    now = utcnow()
    last_pk = conn.execute(select(func.max(runs.c.pk))).scalar() or 0
    new_version = expected_version + 1
    values = {"stage": to_stage, "version": new_version, "entered_at": now, "entered_run_pk": last_pk,
              "source": source, "carried_from": carried_from, "expires_at": expires_at,
              "fallback_stage": fallback_stage}
    moved = ConflictError(f"{workflow} ({agent}@{agent_version}) changed stage meanwhile (someone else promoted "
                          "or demoted it); nothing was recorded. Run `harness status` and decide again.")
    if expected_version == 0:
        try:
            with conn.begin_nested():
                conn.execute(insert(grants).values(workflow=workflow, agent=agent, agent_version=agent_version,
                                                   **values))
        except IntegrityError:
            raise moved from None
    else:
        done = conn.execute(update(grants).where(
            grants.c.workflow == workflow, grants.c.agent == agent, grants.c.agent_version == agent_version,
            grants.c.version == expected_version).values(**values)).rowcount
        if done != 1:
            raise moved
    record = {"workflow": workflow, "from_stage": from_stage, "to_stage": to_stage, "kind": kind,
              "override": override, "actor": actor, "reason": reason, "agent": agent,
              "agent_version": agent_version, "signoffs": signoff_list or [], "gate": gate,
              "evidence_digest": evidence_digest, "policy_digest": policy_digest, "created_at": now}
    out = _insert_transition(conn, record, moved)
    conn.execute(delete(signoffs).where(signoffs.c.workflow == workflow,
                                        signoffs.c.agent == track_name(agent, agent_version)))
    return out


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
                agent: str, roles: list[str], reason: str, evidence_digest: str | None) -> None:
    """Record a pending sign-off for the track ``agent`` (NAME@VERSION) at its grant ``state_version``."""
    name, _, version = agent.rpartition("@")
    current = get_grant(conn, workflow, name, version)["version"]
    if current != state_version:
        raise ConflictError(f"{workflow} ({agent}) changed stage meanwhile; your sign-off was not recorded. "
                            "Run `harness status` and decide again.")
    conn.execute(delete(signoffs).where(signoffs.c.workflow == workflow, signoffs.c.agent == agent,
                                        signoffs.c.state_version == state_version,
                                        signoffs.c.to_stage == to_stage, signoffs.c.person == person))
    conn.execute(insert(signoffs).values(workflow=workflow, state_version=state_version, to_stage=to_stage,
                                         person=person, agent=agent, roles=roles, reason=reason,
                                         evidence_digest=evidence_digest, created_at=utcnow()))


def pending_signoffs(conn: Connection, workflow: str, state_version: int, to_stage: str,
                     agent: str | None = None) -> list[dict]:
    """Sign-offs recorded since the track's last transition for ``to_stage`` (and ``agent``, if given)."""
    stmt = (select(signoffs).where(signoffs.c.workflow == workflow, signoffs.c.state_version == state_version,
                                   signoffs.c.to_stage == to_stage).order_by(signoffs.c.pk))
    if agent is not None:
        stmt = stmt.where(signoffs.c.agent == agent)
    return [{"person": r.person, "agent": r.agent, "roles": r.roles, "reason": r.reason, "at": iso(r.created_at),
             "evidence_digest": r.evidence_digest} for r in conn.execute(stmt)]


# -- the kill switch --------------------------------------------------------------------------------
def get_control(conn: Connection, workflow: str) -> dict[str, Any] | None:
    """The workflow's pause, or None when it is not paused."""
    row = conn.execute(select(workflow_controls).where(workflow_controls.c.workflow == workflow)).first()
    if row is None or not row.paused:
        return None
    return {"by": row.actor, "reason": row.reason, "at": iso(row.changed_at)}


def set_paused(conn: Connection, *, workflow: str, paused: bool, actor: str, reason: str) -> dict[str, Any]:
    """Pause or resume a workflow (every agent version); recorded as a transition in its history."""
    now = utcnow()
    was = get_control(conn, workflow) is not None
    if was == paused:
        state = "paused" if paused else "not paused"
        raise ConflictError(f"{workflow} is already {state}; nothing was recorded.")
    values = {"paused": paused, "actor": actor, "reason": reason, "changed_at": now}
    if conn.execute(update(workflow_controls).where(workflow_controls.c.workflow == workflow)
                    .values(**values)).rowcount != 1:
        conn.execute(insert(workflow_controls).values(workflow=workflow, **values))
    summary = workflow_summary(conn, workflow)
    record = {"workflow": workflow, "from_stage": summary["stage"], "to_stage": summary["stage"],
              "kind": "pause" if paused else "resume", "override": False, "actor": actor, "reason": reason,
              "agent": None, "agent_version": None, "signoffs": [], "gate": None, "evidence_digest": None,
              "policy_digest": None, "created_at": now}
    return _insert_transition(conn, record, ConflictError(f"{workflow} changed meanwhile; try again."))


# -- incidents --------------------------------------------------------------------------------------
def insert_incident(conn: Connection, **values: Any) -> int:
    return conn.execute(insert(incidents).values(created_at=utcnow(), **values)).inserted_primary_key[0]


def set_incident_demotion(conn: Connection, pk: int, seq: int) -> None:
    conn.execute(update(incidents).where(incidents.c.pk == pk).values(demotion_seq=seq))


def list_incidents(conn: Connection, workflow: str | None = None, agent: str | None = None,
                   agent_version: str | None = None) -> list[dict[str, Any]]:
    stmt = select(incidents).order_by(incidents.c.pk)
    for col, value in (("workflow", workflow), ("agent", agent), ("agent_version", agent_version)):
        if value is not None:
            stmt = stmt.where(incidents.c[col] == value)
    out = []
    for r in conn.execute(stmt):
        d = dict(r._mapping)
        d["created_at"] = iso(d["created_at"])
        d["id"] = d.pop("pk")
        out.append(d)
    return out
