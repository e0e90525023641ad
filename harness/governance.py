"""What a workflow is judged on (its registered suite) and by (its pinned policy).

The policy that governs a workflow is kept in the ledger, content and digest. The first promotion
attempt pins the policy it was given; from then on a command given a different policy is refused
(``promote --policy lax.yaml`` cannot loosen the gate), and the only way to change it is
``harness policy pin``, by a person holding a role the pinned policy lists in ``policy_admins``,
recorded in the workflow's history with who and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import UsageError


def register_suite(ledger: Any, workflow: str, paths: list[str], by: str) -> list[dict[str, Any]]:
    """Declare the workflow's suite: the scenario files found under ``paths``, at their current digests."""
    from harness.scenario import load_scenarios

    if not by or not by.strip():
        raise UsageError("--by must name who declares the suite.", expected="a name, e.g. dana@example.com")
    scenarios = load_scenarios(list(paths))
    other = [s for s in scenarios if s.workflow != workflow]
    if other:
        names = ", ".join(f"{s.path} ({s.workflow})" for s in other[:4])
        raise UsageError(f"these scenarios belong to another workflow than {workflow}: {names}.",
                         field="PATH", expected=f"scenario files whose `workflow` is {workflow}")
    ids = [s.id for s in scenarios]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise UsageError(f"the scenario id(s) {', '.join(dupes)} appear in more than one file.", field="PATH",
                         expected="each scenario once")
    if not scenarios:
        raise UsageError(f"no scenario files found in {', '.join(paths)}.", field="PATH")
    entries = [{"scenario": s.id, "digest": s.digest, "path": str(s.path)} for s in scenarios]
    return ledger.register_suite(workflow, entries, by.strip())


def suite_state(ledger: Any, workflow: str) -> list[dict[str, Any]]:
    """The registered suite, each file marked ``ok``, ``edited`` (digest differs) or ``missing``."""
    from harness.errors import HarnessError
    from harness.scenario import load_scenario_file

    out = []
    for e in ledger.suite(workflow):
        state = "ok"
        if not Path(e["path"]).exists():
            state = "missing"
        else:
            try:
                if load_scenario_file(Path(e["path"])).digest != e["digest"]:
                    state = "edited"
            except HarnessError:
                state = "edited"
        out.append({**e, "state": state})
    return out


def _roles(policy: Any, person: str) -> set[str]:
    return set(policy.roles_of(person))


def pin_policy(ledger: Any, policy: Any, workflow: str, by: str, reason: str) -> dict[str, Any]:
    """Make ``policy`` the one that governs ``workflow``: needs a role the *pinned* policy names."""
    from harness.policy import policy_from_text

    if not by or not by.strip():
        raise UsageError("--by must name who changes the policy.", expected="a person in the policy's `people`")
    if not reason or not reason.strip():
        raise UsageError("--reason must say why the policy changes.", expected="a sentence a later reader will "
                                                                            "understand")
    policy.workflow(workflow)  # the new policy must govern the workflow
    current = ledger.policy_pin(workflow)
    judge = policy_from_text(current["content"], f"pinned policy of {workflow}") if current else policy
    allowed = set(judge.policy_admins)
    if not _roles(judge, by) & allowed:
        raise UsageError(f"{by} cannot change the policy of {workflow}: it takes a role in "
                         f"{', '.join(sorted(allowed))} per the {'pinned' if current else 'new'} policy's "
                         f"`people`, and {by} has {', '.join(sorted(_roles(judge, by))) or 'none'}.",
                         field="--by", expected="a person holding a policy_admins role")
    if current and current["digest"] == policy.digest:
        raise UsageError(f"{workflow} is already governed by this policy ({policy.digest[:12]}); nothing changed.")
    return ledger.pin_policy(workflow=workflow, digest=policy.digest, content=policy.content, path=policy.path,
                             by=by.strip(), reason=reason.strip(),
                             expected_digest=current["digest"] if current else None)


def governing_policy(ledger: Any, policy: Any, workflow: str) -> Any:
    """The pinned policy of ``workflow`` (or ``policy`` when none is pinned yet)."""
    from harness.policy import policy_from_text

    pin = ledger.policy_pin(workflow)
    if pin is None or pin["digest"] == policy.digest:
        return policy
    pinned = policy_from_text(pin["content"], pin["path"] or f"pinned policy of {workflow}")
    return pinned


def require_pinned(ledger: Any, policy: Any, workflow: str, by: str) -> Any:
    """For a promotion: pin ``policy`` if the workflow has none; refuse a policy other than the pinned one."""
    pin = ledger.policy_pin(workflow)
    if pin is None:
        from harness.errors import ConflictError

        try:
            ledger.pin_policy(workflow=workflow, digest=policy.digest, content=policy.content, path=policy.path,
                              by=by, reason="pinned by the first promotion attempt", expected_digest=None)
        except ConflictError:
            return require_pinned(ledger, policy, workflow, by)
        return policy
    if pin["digest"] != policy.digest:
        raise UsageError(
            f"{workflow} is governed by the policy pinned in the ledger ({pin['digest'][:12]}…, from "
            f"{pin['path']}, pinned by {pin['pinned_by']} at {pin['pinned_at']}); the policy given "
            f"({policy.path}, {policy.digest[:12]}…) is different, so the promotion is refused.",
            field="--policy",
            expected=f"the pinned policy, or change it first: `harness policy pin {workflow} --policy FILE "
                     "--by NAME --reason TEXT` (by a person with a policy_admins role)")
    return policy
