"""Every mutation of a fake is recorded as a ``Change``: what, before, after, and can it be undone."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

BACKENDS = ("crm", "mail", "files")
OPS = ("create", "update", "delete", "send", "move", "write", "read")
KINDS = ("account", "contact", "deal", "note", "message", "draft", "file")

_INVERSE_OP = {"create": "delete", "delete": "create", "send": "delete"}


@dataclass(frozen=True, slots=True)
class Change:
    """One recorded mutation. ``before``/``after`` are full records (``None`` when absent).

    ``seq`` is the change's index in its journal (0-based). ``benign`` marks a side effect that is
    not damage (reading a message flips its ``read`` flag). ``external`` is true when a message left
    the organisation; ``recipients`` lists every recipient, lowercased.
    """

    seq: int
    backend: str
    op: str
    kind: str
    entity_id: str
    before: dict | None
    after: dict | None
    reversible: bool
    external: bool = False
    benign: bool = False
    recipients: tuple[str, ...] = ()
    at: str = ""

    @property
    def entity(self) -> str:
        return f"{self.kind}:{self.entity_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "backend": self.backend,
            "op": self.op,
            "kind": self.kind,
            "entity_id": self.entity_id,
            "entity": self.entity,
            "before": copy.deepcopy(self.before),
            "after": copy.deepcopy(self.after),
            "reversible": self.reversible,
            "external": self.external,
            "benign": self.benign,
            "recipients": list(self.recipients),
            "at": self.at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        """Inverse of ``to_dict`` (the derived ``entity`` key is ignored)."""
        fields = {k: v for k, v in data.items() if k != "entity"}
        fields["recipients"] = tuple(fields.get("recipients", ()))
        for key in ("before", "after"):
            fields[key] = copy.deepcopy(fields.get(key))
        return cls(**fields)

    def inverse(self) -> Change:
        """The change that undoes this one (swapped before/after; create <-> delete; move back).

        The inverse is always reversible; its ``seq`` and ``at`` are set when it is recorded.
        """
        op = _INVERSE_OP.get(self.op, self.op)
        entity_id = self.entity_id
        if self.op == "move" and self.after is not None:
            entity_id = self.after["path"]
        return replace(self, op=op, entity_id=entity_id, before=self.after, after=self.before,
                       reversible=True, external=False, recipients=())


class Journal:
    """The ordered list of changes of one world. Append-only except for ``clear`` on reset."""

    __slots__ = ("_changes",)

    def __init__(self, changes: list[Change] | None = None):
        self._changes: list[Change] = list(changes or ())

    def append(self, change: Change) -> None:
        self._changes.append(change)

    def record(self, **fields: Any) -> Change:
        """Build a change numbered as the next one, append it and return it."""
        change = Change(seq=len(self._changes), **fields)
        self._changes.append(change)
        return change

    def since(self, n: int) -> list[Change]:
        """Changes from index ``n`` on (``journal.since(mark)`` after ``mark = len(journal)``)."""
        return self._changes[n:]

    def all(self) -> list[Change]:
        return list(self._changes)

    def copy(self) -> Journal:
        return Journal(self._changes)

    def clear(self) -> None:
        self._changes.clear()

    def __len__(self) -> int:
        return len(self._changes)

    def __iter__(self) -> Iterator[Change]:
        return iter(list(self._changes))

    def __getitem__(self, index: int) -> Change:
        return self._changes[index]

    def __repr__(self) -> str:
        return f"Journal({len(self._changes)} changes)"
