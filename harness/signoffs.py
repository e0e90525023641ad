"""Sign-offs bound to evidence and time, separation of duties, and overrides shown with the stage.

A pending sign-off approves the evidence it saw (its digest): it counts only while the evidence is
the same, for the gate's ``signoffs.valid_days``, and not after an incident recorded against the
version. Signers must be people the (pinned) policy names, with the role the gate asks for; with
``separate_from_runners`` they must not have run any of the evidence.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from harness.errors import GateNotMet
from harness.ledger import Ledger
from harness.ledger._time import to_dt
from harness.policy import Policy


def overrides_of(ledger: Ledger, workflow: str, grants: dict) -> dict[tuple[str, str], dict[str, Any]]:
    """Per agent version whose current grant came from ``--override``: who, when, why, what it overrode."""
    last: dict[tuple[str, str], dict] = {}
    for t in ledger.transitions(workflow):
        if t["agent"] and t["kind"] != "policy":
            last[(t["agent"], t["agent_version"])] = t
    out = {}
    for key, t in last.items():
        grant = grants.get(key)
        if t["override"] and grant and t["to_stage"] == grant["stage"]:
            unmet = ((t.get("gate") or {}).get("override") or {}).get("unmet", [])
            out[key] = {"by": t["actor"], "at": t["created_at"], "reason": t["reason"], "stage": t["to_stage"],
                        "overrode": unmet}
    return out



def check_signer(policy: Policy, gate: Any, workflow: str, to: str, by: str, evaluation: dict[str, Any]) -> list[str]:
    """The signer's roles; GateNotMet when the policy does not know them, they lack the role, or
    separation of duties forbids them (they ran the evidence)."""
    if by not in policy.people:
        raise GateNotMet(f"{by} cannot sign off {workflow} into {to}: only people named in the policy's `people` "
                         f"can sign off, and {by} is not one of them.",
                         expected="a person listed under `people` in the pinned policy")
    roles = policy.roles_of(by)
    if gate.signoffs.roles and not set(roles) & set(gate.signoffs.roles):
        raise GateNotMet(f"{by} cannot sign off {workflow} into {to}: it needs someone with the role "
                         f"{' or '.join(gate.signoffs.roles)}, and {by} has "
                         f"{', '.join(roles) if roles else 'no role'} in the policy `people`.")
    if gate.signoffs.separate_from_runners and by in (evaluation["window"].get("ran_by") or []):
        raise GateNotMet(f"{by} cannot sign off {workflow} into {to}: {by} ran part of the evidence, and the policy "
                         "requires sign-offs from people who did not (separate_from_runners).",
                         expected="a signer who ran none of the evidence")
    return roles


def valid_signoffs(ledger: Ledger, policy: Policy, gate: Any, workflow: str, state_version: int, to: str,
                   track: str, digest: str | None, now: datetime,
                   evaluation: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Pending sign-offs that still count, and why the others lapsed: a sign-off approves the evidence
    it saw (its digest), for ``valid_days``, and is void once an incident lands after it."""
    name, _, version = track.rpartition("@")
    incidents = [to_dt(i["created_at"]) for i in ledger.incidents(workflow, name, version)]
    ran_by = set(evaluation["window"].get("ran_by") or [])
    keep, lapsed = [], []
    for s in ledger.pending_signoffs(workflow, state_version, to, track):
        at = to_dt(s["at"])
        why = None
        if s.get("evidence_digest") != digest:
            why = "the evidence changed since"
        elif now - at > timedelta(days=gate.signoffs.valid_days):
            why = f"older than {gate.signoffs.valid_days:g} days"
        elif any(t > at for t in incidents):
            why = "an incident was recorded after it"
        elif s["person"] not in policy.people:
            why = "no longer in the policy's people"
        elif gate.signoffs.separate_from_runners and s["person"] in ran_by:
            why = "the signer ran part of the evidence"
        if why:
            lapsed.append(f"{s['person']} ({why})")
        else:
            keep.append({**s, "roles": policy.roles_of(s["person"])})
    return keep, lapsed
