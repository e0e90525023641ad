"""Stage bounds: what a workflow's agent may do at a stage, checked before a call reaches a backend.

The model lives in the policy file (``harness.policy.StageBounds``); this module only judges calls.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any, Protocol

from fakes.addresses import is_internal


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
    """The pattern protecting ``path`` (a normalised absolute path), if any.

    ``/legal`` and ``/legal/**`` both protect the folder and everything under it.
    """
    for pattern in patterns:
        base = pattern[:-3] if pattern.endswith("/**") else pattern.rstrip("/")
        if path == base or path.startswith(base.rstrip("/") + "/") or fnmatchcase(path, pattern):
            return pattern
    return None


class BoundsState:
    """Per-run counters the bounds need (writes so far, money exposed so far)."""

    def __init__(self) -> None:
        self.writes = 0
        self.money = 0.0


def check_call(bounds: BoundsLike | None, state: BoundsState, tool: str, writes: bool, args: Any,
               world: Any) -> str | None:
    """Why the call is outside the bounds, or None when it is inside. Does not change ``state``."""
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
        if pct is not None and bounds.max_money_exposed is not None:
            exposure = money_for_discount(world, args)
            if state.money + exposure > bounds.max_money_exposed:
                return (f"this discount exposes {exposure:,.2f}; with {state.money:,.2f} already exposed "
                        f"this run, that exceeds the stage bound of {bounds.max_money_exposed:,.2f}")
    if tool in ("email_send", "email_draft") and bounds.allowed_recipient_domains is not None:
        outside = [a for a in list(args.to) + list(args.cc)
                   if not domain_allowed(a, bounds.allowed_recipient_domains)]
        if outside:
            return (f"recipient(s) {', '.join(outside)} are outside the allowed domains "
                    f"({', '.join(bounds.allowed_recipient_domains)})")
    if tool.startswith("files_") and bounds.protected_paths:
        paths = [args.src, args.dst] if tool == "files_move" else [args.path]
        for raw in paths:
            path = world.files.normalise(raw)
            pattern = path_protected(path, bounds.protected_paths)
            if pattern:
                return f"{path} is protected at this stage ({pattern})"
    return None


def money_for_discount(world: Any, args: Any) -> float:
    """Money a discount change exposes: discount × amount (the deal's amount if not changed)."""
    deal = world.crm.deals.get(args.id)
    if deal is None:
        return 0.0
    amount = args.amount if getattr(args, "amount", None) is not None else float(deal.get("amount", 0) or 0)
    return amount * float(args.discount_pct) / 100.0


def record_call(state: BoundsState, tool: str, writes: bool, args: Any, world: Any) -> None:
    if not writes:
        return
    state.writes += 1
    if tool == "crm_update_deal" and getattr(args, "discount_pct", None) is not None:
        state.money += money_for_discount(world, args)
