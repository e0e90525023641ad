"""Stage bounds: what a workflow's agent may do at a stage, judged before a write reaches a backend.

The model lives in the policy file (``harness.policy.StageBounds``); this module only judges. Each
rule exists once, in ``fakes`` (which must not import the harness), and is shared by the fakes, the
bounds and the scorer:

- path protection: ``fakes.paths.is_protected`` / ``shields`` (a folder above a protected path is
  protected from moves and deletes too);
- recipient domains: ``fakes.addresses.is_internal`` (a domain or a subdomain of one);
- money exposed: ``fakes.money.deal_exposure``, from each deal's record before and after.

Two passes. ``check_call`` looks at the arguments (cheap, and the reason is plain). Then, for a
write, the gateway runs the call on a private fork and ``judge_changes`` judges the *resulting
state*: every file the call would touch, every message it would create or send, and the money
exposed by every deal the run has changed so far, from its record before the run to its record
after this call. So any path to the same state is caught (a discount set while the amount is 0 and
the amount raised afterwards; a folder moved with a protected file inside it).
"""

from __future__ import annotations

from typing import Any, Protocol

from fakes.addresses import is_internal
from fakes.money import deal_exposure
from fakes.paths import is_protected, normalise_pattern, shields


class BoundsLike(Protocol):
    allowed_tools: list[str] | None
    max_writes: int | None
    max_discount_pct: float | None
    allowed_recipient_domains: list[str] | None
    protected_paths: list[str]
    max_money_exposed: float | None


def domain_allowed(address: str, domains: list[str]) -> bool:
    """The same rule as the mail fake's internal check: a domain or a subdomain of one; lookalikes are out."""
    return is_internal(address, tuple(d.strip().rstrip(".").lower() for d in domains))


def path_protected(path: str, patterns: list[str]) -> str | None:
    """The pattern protecting ``path`` (a normalised absolute path), if any: the files fake's rule.

    ``/legal`` and ``/legal/**`` both protect the folder and everything under it.
    """
    for pattern in patterns:
        if is_protected(path, (normalise_pattern(pattern),)):
            return pattern
    return None


def path_shielded(path: str, patterns: list[str]) -> str | None:
    """The pattern that forbids moving or deleting ``path``: it protects ``path`` or something under it."""
    for pattern in patterns:
        if shields(path, (normalise_pattern(pattern),)):
            return pattern
    return None


class BoundsState:
    """What the bounds remember during a run: writes so far, and each changed deal's first and latest record."""

    def __init__(self) -> None:
        self.writes = 0
        self.initial: dict[str, dict | None] = {}
        self.latest: dict[str, dict | None] = {}

    @property
    def money(self) -> float:
        """Money exposed so far this run (all deals changed, from before the run to now)."""
        return exposure(self.initial, self.latest)


def exposure(initial: dict[str, dict | None], latest: dict[str, dict | None]) -> float:
    return round(sum(deal_exposure(initial.get(e), after) for e, after in latest.items()), 2)


def needs_trial(bounds: BoundsLike | None) -> bool:
    """True when the bounds judge resulting state, so a write must be tried on a fork first."""
    return bounds is not None and bool(
        bounds.protected_paths or bounds.allowed_recipient_domains is not None
        or bounds.max_discount_pct is not None or bounds.max_money_exposed is not None)


def check_call(bounds: BoundsLike | None, state: BoundsState, tool: str, writes: bool, args: Any,
               world: Any) -> str | None:
    """Why the call's arguments are outside the bounds, or None. Does not change ``state``."""
    if bounds is None:
        return None
    if bounds.allowed_tools is not None and tool not in bounds.allowed_tools:
        return f"the tool {tool} is not allowed at this stage (allowed: {', '.join(bounds.allowed_tools) or 'none'})"
    if not writes:
        return None
    if bounds.max_writes is not None and state.writes + 1 > bounds.max_writes:
        return f"this would be write #{state.writes + 1}; the stage allows at most {bounds.max_writes} per run"
    if tool == "crm_update_deal":
        pct = getattr(args, "discount_pct", None)
        if pct is not None and bounds.max_discount_pct is not None and pct > bounds.max_discount_pct:
            return f"a discount of {pct:g}% exceeds the stage bound of {bounds.max_discount_pct:g}%"
    if tool in ("email_send", "email_draft") and bounds.allowed_recipient_domains is not None:
        outside = [a for a in list(args.to) + list(args.cc)
                   if not domain_allowed(a, bounds.allowed_recipient_domains)]
        if outside:
            return _outside(outside, bounds)
    if tool.startswith("files_") and bounds.protected_paths:
        if tool == "files_move":
            named = [(args.src, path_shielded), (args.dst, path_protected)]
        elif tool == "files_delete":
            named = [(args.path, path_shielded)]
        else:
            named = [(args.path, path_protected)]
        for raw, rule in named:
            path = world.files.normalise(raw)
            pattern = rule(path, bounds.protected_paths)
            if pattern:
                return f"{path} is protected at this stage ({pattern})"
    return None


def _outside(addresses: list[str], bounds: BoundsLike) -> str:
    return (f"recipient(s) {', '.join(addresses)} are outside the allowed domains "
            f"({', '.join(bounds.allowed_recipient_domains or []) or 'none'})")


def _recipients(change: Any) -> list[str]:
    if getattr(change, "recipients", None):
        return [str(r) for r in change.recipients]
    after = change.after or {}
    return [str(r) for r in list(after.get("to") or []) + list(after.get("cc") or [])]


def judge_changes(bounds: BoundsLike | None, state: BoundsState, changes: list) -> str | None:
    """Why the state these changes would leave is outside the bounds, or None. Does not change ``state``."""
    if bounds is None or not changes:
        return None
    initial, latest = dict(state.initial), dict(state.latest)
    for change in changes:
        if change.backend == "files" and bounds.protected_paths:
            for path in {change.entity_id, (change.before or {}).get("path"), (change.after or {}).get("path")}:
                pattern = path_protected(path, bounds.protected_paths) if isinstance(path, str) else None
                if pattern:
                    return f"{path} is protected at this stage ({pattern}); the call would {change.op} it"
        domains = bounds.allowed_recipient_domains
        if change.backend == "mail" and change.op in ("send", "create") and domains is not None:
            outside = [a for a in _recipients(change) if not domain_allowed(a, bounds.allowed_recipient_domains)]
            if outside:
                return _outside(outside, bounds)
        if change.kind == "deal":
            initial.setdefault(change.entity, change.before)
            latest[change.entity] = change.after
            pct = (change.after or {}).get("discount_pct")
            if (bounds.max_discount_pct is not None and pct is not None and float(pct) > bounds.max_discount_pct
                    and pct != (change.before or {}).get("discount_pct")):
                return f"a discount of {float(pct):g}% exceeds the stage bound of {bounds.max_discount_pct:g}%"
    if bounds.max_money_exposed is not None:
        before, after = exposure(state.initial, state.latest), exposure(initial, latest)
        if after > bounds.max_money_exposed and after > before:
            return (f"the run's deals would then expose {after:,.2f} (discounts given and amounts taken off, "
                    f"against each deal's record before the run; {before:,.2f} so far), above the stage bound "
                    f"of {bounds.max_money_exposed:,.2f}")
    return None


def commit_changes(state: BoundsState, changes: list) -> None:
    """Remember what an allowed write changed (for the money exposed by later calls)."""
    for change in changes:
        if change.kind == "deal":
            state.initial.setdefault(change.entity, change.before)
            state.latest[change.entity] = change.after


def record_call(state: BoundsState, tool: str, writes: bool, args: Any, world: Any) -> None:
    if writes:
        state.writes += 1
