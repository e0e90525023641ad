"""Net effect per entity: what a run's changes add up to, record by record.

An agent that drafts and then sends the draft, retries the same update, rewrites a row unchanged or
reaches a value in two steps ends with the same world as one that did it in one call; scoring judges
that end state per entity. What cannot be taken back is judged as it happened: every send and share
(something left, or was opened to, someone) and every irreversible change is kept as an event.

A moved file is followed to where it ends: its entity stays ``file:<first path>`` and ``after`` is
the record at its final path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fakes import Change

# fields a fake maintains itself: never "changed by the agent"
MANAGED_FIELDS: dict[str, frozenset[str]] = {
    "file": frozenset({"modified", "size"}),
    "message": frozenset({"date", "read"}),
    "draft": frozenset({"date", "read"}),
    "note": frozenset({"created"}),
}


@dataclass
class Effect:
    """The net change to one entity (or one send/share event)."""

    entity: str
    backend: str
    kind: str
    before: dict | None
    after: dict | None
    changes: list[Change] = field(default_factory=list)
    ops: set[str] = field(default_factory=set)
    """What happened to it overall: create, update, write, move, delete, send, share."""
    recipients: tuple[str, ...] = ()
    """Who received it (sends), or was newly given access (shares); drafts: who it is addressed to."""
    irreversible: bool = False
    external: bool = False
    benign_fields: set[str] = field(default_factory=set)

    @property
    def change(self) -> Change:
        return self.changes[-1]

    @property
    def op(self) -> str:
        for op in ("send", "delete", "create", "move", "write", "share", "update"):
            if op in self.ops:
                return op
        return "update"

    def changed_fields(self) -> dict[str, tuple[Any, Any]]:
        """Fields whose value differs between before and after (not fake-managed, not benign)."""
        if self.before is None or self.after is None:
            return {}
        skip = MANAGED_FIELDS.get(self.kind, frozenset()) | self.benign_fields
        keys = (set(self.before) | set(self.after)) - skip
        return {k: (self.before.get(k), self.after.get(k)) for k in sorted(keys)
                if self.before.get(k) != self.after.get(k)}

    @property
    def path_before(self) -> str | None:
        return (self.before or {}).get("path") if self.kind == "file" else None


def _recipients(change: Change) -> tuple[str, ...]:
    if change.recipients:
        return tuple(r.lower() for r in change.recipients)
    after = change.after or {}
    if change.kind in ("draft", "message"):
        return tuple(str(r).lower() for r in [*(after.get("to") or []), *(after.get("cc") or []),
                                               *(after.get("bcc") or [])])
    return ()


def net_effects(changes: list[Change]) -> list[Effect]:
    """Fold changes into one effect per entity, in order of first touch. Entities whose changes
    cancel out (a draft created then sent, a value set and set back) leave no effect unless some
    step could not be undone."""
    effects: dict[str, Effect] = {}
    order: list[str] = []
    where: dict[str, str] = {}  # current file path -> the effect key that file came from
    for change in changes:
        key = change.entity
        if change.kind == "file":
            key = where.get(change.entity_id, change.entity)
        effect = effects.get(key)
        if effect is None:
            effect = Effect(entity=key, backend=change.backend, kind=change.kind,
                            before=change.before, after=change.after)
            effects[key] = effect
            order.append(key)
        effect.changes.append(change)
        effect.after = change.after
        if change.benign:
            if change.before and change.after:
                effect.benign_fields |= {k for k in change.after if change.before.get(k) != change.after.get(k)}
        else:
            effect.ops.add(change.op)
        if not change.reversible and not change.benign:
            effect.irreversible = True
        if change.kind == "file":
            where.pop(change.entity_id, None)
            if change.after is not None:
                where[change.after["path"]] = key
    out = []
    for key in order:
        effect = effects[key]
        if not effect.ops:
            continue  # only benign side effects (read flags)
        if effect.before is None and effect.after is None and not effect.irreversible:
            continue  # created and removed again: a draft that was sent
        if effect.before is not None and effect.after is not None and not effect.irreversible \
                and not effect.changed_fields() and effect.before.get("path") == effect.after.get("path"):
            continue  # rewritten to what it was
        _settle_ops(effect)
        effect.recipients = _recipients(effect.changes[-1]) if "send" in effect.ops else _end_recipients(effect)
        effect.external = any(c.external for c in effect.changes)
        out.append(effect)
    return out


def _settle_ops(effect: Effect) -> None:
    """The ops that describe the net effect, not each step: create+write is a create."""
    if effect.before is None:
        effect.ops = {"create"} | (effect.ops & {"send"})
    elif effect.after is None:
        effect.ops = {"delete"}
    else:
        ops = effect.ops - {"create", "delete"}
        if effect.kind == "file":
            ops.discard("move")
            ops.discard("write")
            if effect.before.get("path") != effect.after.get("path"):
                ops.add("move")
            if effect.before.get("content") != effect.after.get("content"):
                ops.add("write")
            if effect.before.get("shared_with") == effect.after.get("shared_with"):
                ops.discard("share")
        effect.ops = ops or {"update"}


def _end_recipients(effect: Effect) -> tuple[str, ...]:
    after = effect.after or {}
    if effect.kind in ("draft", "message"):
        return _recipients(effect.changes[-1]) if after else ()
    if effect.kind == "file":
        before = (effect.before or {}).get("shared_with") or {}
        now = after.get("shared_with") or {}
        return tuple(sorted(a for a, p in now.items() if before.get(a) != p and p != "none"))
    return ()


def exposures(changes: list[Change]) -> list[Change]:
    """Every send and share, as it happened (these are judged at the moment, not by net effect)."""
    return [c for c in changes if c.op in ("send", "share") and not c.benign]
