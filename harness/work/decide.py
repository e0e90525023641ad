"""What the gateway does with one call, given the granted stage, the tool map and the stage's bounds.

Pure: no I/O. ``decide`` returns one of ``forward``, ``suggest``, ``plan`` or ``refuse`` with the
reason; the session carries out the verdict and records it. Bounds reuse ``harness.bounds`` (the
recipient-domain and protected-path rules of the sandbox gateway).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from harness.bounds import domain_allowed, path_protected
from harness.work.toolmap import WRITES, ArgumentError, ToolRule, analyse_sql, money_of, targets_of

Verdict = Literal["forward", "suggest", "plan", "refuse"]


@dataclass
class Decision:
    verdict: Verdict
    reason: str
    effect: str
    targets: list[dict[str, str]] = field(default_factory=list)
    money: float | None = None
    cause: str | None = None
    """For a refusal: ``agent`` (its call is out of bounds or malformed), ``policy`` (the stage, a pause,
    an unclassified or blocked tool) or ``environment`` (the ledger cannot be read)."""


@dataclass
class Counters:
    """What a session has done so far that the bounds limit."""

    writes: int = 0
    money: float = 0.0


def effect_of(rule: ToolRule, arguments: dict[str, Any]) -> str:
    """The rule's effect, raised to irreversible for SQL that drops, deletes or alters."""
    if rule.sql is not None and rule.effect == "write":
        from harness.work.toolmap import resolve

        if analyse_sql(resolve(rule.sql, arguments))["irreversible"]:
            return "irreversible"
    return rule.effect


def decide(grant: dict[str, Any], rule: ToolRule, arguments: dict[str, Any], bounds: Any,
           counters: Counters, tool: str) -> Decision:
    stage = grant["stage"]
    if stage == "sandbox":
        return Decision("refuse", "the agent version is granted sandbox: the gateway talks to no real tool. "
                        "Evidence from sandbox runs earns suggest (harness promote).", rule.effect, cause="policy")
    if rule.effect == "read":
        if bounds.allowed_tools is not None and tool not in bounds.allowed_tools:
            return Decision("refuse", f"the tool {tool} is not allowed at {stage} (allowed: "
                            f"{', '.join(bounds.allowed_tools) or 'none'})", "read", cause="policy")
        return Decision("forward", f"a read at {stage}", "read")
    if grant.get("paused"):
        pause = grant.get("pause") or {}
        return Decision("refuse", f"the workflow is paused by {pause.get('by', 'someone')}"
                        f"{' (' + str(pause.get('reason')) + ')' if pause.get('reason') else ''}: no write is "
                        "forwarded, planned or suggested until it is resumed.", rule.effect, cause="policy")
    try:
        effect = effect_of(rule, arguments)
        targets = targets_of(rule, arguments)
    except ArgumentError as exc:
        return Decision("refuse", f"{exc}, so the gateway cannot tell what this write touches; it is refused "
                        "(fail closed).", rule.effect, cause="agent")
    if effect == "write" and any(t["kind"] == "recipient" for t in targets):
        effect = "external"  # a write that names a recipient leaves the organisation
    money = None
    if rule.money is not None:
        try:
            money = money_of(rule.money, arguments)
        except ArgumentError as exc:
            if bounds.max_money_exposed is not None:
                return Decision("refuse", f"{exc}, so the money this call moves is unknown and the stage bounds "
                                "money; refused (fail closed).", effect, targets, cause="agent")
    why = out_of_bounds(bounds, counters, tool, targets, money)
    if why:
        return Decision("refuse", why, effect, targets, money, cause="agent")
    verdict: Verdict = {"suggest": "suggest", "approve": "plan"}.get(stage, "forward")  # type: ignore[assignment]
    reason = {"suggest": "stage suggest: writes are recorded as suggestions for a person to judge",
              "plan": "stage approve: writes wait in the session's plan for a person's approval",
              "forward": "stage autonomous: the write is within the stage's bounds"}[verdict]
    return Decision(verdict, reason, effect, targets, money)


def out_of_bounds(bounds: Any, counters: Counters, tool: str, targets: list[dict[str, str]],
                  money: float | None) -> str | None:
    if bounds.allowed_tools is not None and tool not in bounds.allowed_tools:
        return f"the tool {tool} is not allowed at this stage (allowed: {', '.join(bounds.allowed_tools) or 'none'})"
    if bounds.max_writes is not None and counters.writes + 1 > bounds.max_writes:
        return (f"this would be write #{counters.writes + 1} of the session; the stage allows at most "
                f"{bounds.max_writes}")
    for target in targets:
        if target["kind"] == "path" and bounds.protected_paths:
            path = target["value"]
            if not path.startswith("/"):
                return (f"the path {path!r} is relative, so the gateway cannot check it against the protected "
                        "paths; give an absolute path")
            pattern = path_protected(path, bounds.protected_paths)
            if pattern:
                return f"{path} is protected at this stage ({pattern})"
        if target["kind"] == "recipient" and bounds.allowed_recipient_domains is not None:
            if not domain_allowed(target["value"], bounds.allowed_recipient_domains):
                return (f"the recipient {target['value']} is outside the allowed domains "
                        f"({', '.join(bounds.allowed_recipient_domains)})")
    if money is not None and bounds.max_money_exposed is not None and counters.money + money > bounds.max_money_exposed:
        return (f"this call moves {money:,.2f}; with {counters.money:,.2f} already this session that exceeds the "
                f"stage bound of {bounds.max_money_exposed:,.2f}")
    return None


def is_write(rule: ToolRule) -> bool:
    return rule.effect in WRITES
