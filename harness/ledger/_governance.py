"""Declared suites, counted looks, pinned policies and agent spec digests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from harness.errors import UsageError
from harness.ledger._schema import agent_specs, looks, policy_pins, suites
from harness.ledger._time import iso, utcnow


# -- suites ----------------------------------------------------------------------------------------
def register_suite(conn: Connection, workflow: str, entries: list[dict[str, str]], by: str) -> list[dict]:
    """Replace the workflow's declared suite with ``entries`` (scenario, digest, path)."""
    now = utcnow()
    conn.execute(delete(suites).where(suites.c.workflow == workflow))
    rows = [{"workflow": workflow, "scenario": e["scenario"], "digest": e["digest"], "path": e["path"],
             "registered_by": by, "registered_at": now} for e in entries]
    if rows:
        conn.execute(insert(suites), rows)
    return get_suite(conn, workflow)


def get_suite(conn: Connection, workflow: str) -> list[dict[str, Any]]:
    stmt = select(suites).where(suites.c.workflow == workflow).order_by(suites.c.scenario)
    out = []
    for r in conn.execute(stmt):
        d = dict(r._mapping)
        d["registered_at"] = iso(d["registered_at"])
        out.append(d)
    return out


# -- looks -----------------------------------------------------------------------------------------
def add_look(conn: Connection, **values: Any) -> None:
    conn.execute(insert(looks).values(created_at=utcnow(), **values))


def list_looks(conn: Connection, workflow: str, agent: str, agent_version: str, to_stage: str,
               epoch_pk: int | None = None) -> list[dict[str, Any]]:
    stmt = select(looks).where(looks.c.workflow == workflow, looks.c.agent == agent,
                               looks.c.agent_version == agent_version, looks.c.to_stage == to_stage)
    if epoch_pk is not None:
        stmt = stmt.where(looks.c.epoch_pk == epoch_pk)
    out = []
    for r in conn.execute(stmt.order_by(looks.c.pk)):
        d = dict(r._mapping)
        d.pop("pk")
        d["created_at"] = iso(d["created_at"])
        out.append(d)
    return out


# -- pinned policies -------------------------------------------------------------------------------
def get_pin(conn: Connection, workflow: str) -> dict[str, Any] | None:
    row = conn.execute(select(policy_pins).where(policy_pins.c.workflow == workflow)).first()
    if row is None:
        return None
    d = dict(row._mapping)
    d["pinned_at"] = iso(d["pinned_at"])
    return d


def set_pin(conn: Connection, *, workflow: str, digest: str, content: str, path: str | None, by: str,
            reason: str, expected_digest: str | None) -> dict[str, Any]:
    """Pin (or re-pin) a workflow's policy; ``expected_digest`` is the pin the caller saw (None: none)."""
    current = get_pin(conn, workflow)
    if (current["digest"] if current else None) != expected_digest:
        from harness.errors import ConflictError

        raise ConflictError(f"the policy pinned for {workflow} changed meanwhile; nothing was recorded.")
    now = utcnow()
    values = {"digest": digest, "content": content, "path": path, "pinned_by": by, "reason": reason,
              "pinned_at": now}
    if current is None:
        from sqlalchemy.exc import IntegrityError

        try:
            with conn.begin_nested():
                conn.execute(insert(policy_pins).values(workflow=workflow, **values))
        except IntegrityError:  # someone pinned at the same moment (two first promotions racing)
            raced = get_pin(conn, workflow)
            if raced is not None and raced["digest"] == digest:
                return raced  # the same policy: nothing to record twice
            from harness.errors import ConflictError

            raise ConflictError(f"the policy pinned for {workflow} changed meanwhile; nothing was recorded.") from None
    else:
        conn.execute(update(policy_pins).where(policy_pins.c.workflow == workflow).values(**values))
    from harness.errors import ConflictError
    from harness.ledger._stages import _insert_transition, workflow_summary

    stage = workflow_summary(conn, workflow)["stage"]
    was = f"policy {current['digest'][:12]}" if current else "no pinned policy"
    _insert_transition(conn, {
        "workflow": workflow, "from_stage": stage, "to_stage": stage, "kind": "policy", "override": False,
        "actor": by, "reason": f"{was} → policy {digest[:12]} ({path}): {reason}", "agent": None,
        "agent_version": None, "signoffs": [], "gate": None, "evidence_digest": None, "policy_digest": digest,
        "created_at": now}, ConflictError(f"{workflow} changed meanwhile; try again."))
    return get_pin(conn, workflow)  # type: ignore[return-value]


# -- agent spec digests ----------------------------------------------------------------------------
def bind_spec(conn: Connection, agent: str, version: str, digest: str, spec: dict | None) -> None:
    """Bind ``agent@version`` to ``digest`` the first time; a different digest later is refused."""
    row = conn.execute(select(agent_specs).where(agent_specs.c.agent == agent,
                                                 agent_specs.c.agent_version == version)).first()
    if row is None:
        conn.execute(insert(agent_specs).values(agent=agent, agent_version=version, spec_digest=digest, spec=spec,
                                                first_seen=utcnow()))
        return
    if row.spec_digest != digest:
        raise UsageError(
            f"the version label {agent}@{version} is already bound to another agent spec "
            f"(digest {row.spec_digest[:12]}…, first seen {iso(row.first_seen)}); this agent's spec is "
            f"{digest[:12]}… (different model, prompt, options or code). Evidence cannot be filed under "
            "another agent's record.", field="--agent-version",
            expected="a new version label for the changed agent (or leave --agent-version out)")
