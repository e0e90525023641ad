"""Pinned tool definitions: a tool whose name, description or schema changed is blocked until a person
re-pins it (``harness gateway pins approve``). The first sight of a tool pins it automatically, and
that is recorded (``pinned_by: gateway (first sight)``) so a person can review it.
"""

from __future__ import annotations

from typing import Any

from harness.work.upstreams import definition_hash, definition_of


class Pins:
    """The gateway's view of the pins of one workflow; the ledger is the truth."""

    def __init__(self, ledger: Any, workflow: str):
        self.ledger = ledger
        self.workflow = workflow
        self.current: dict[tuple[str, str], str] = {}
        self.blocked: dict[tuple[str, str], str] = {}

    def check(self, upstream: str, tools: dict[str, Any], names: set[str]) -> list[dict[str, Any]]:
        """Pin or compare the definitions of ``names`` (the classified tools); returns what happened."""
        pinned = {(p["upstream"], p["tool"]): p for p in self.ledger.pins(self.workflow) if p["upstream"] == upstream}
        events = []
        for name in sorted(names & set(tools)):
            definition = definition_of(tools[name])
            digest = definition_hash(definition)
            key = (upstream, name)
            self.current[key] = digest
            pin = pinned.get(key)
            if pin is None and self.ledger.pin_first_sight(self.workflow, upstream, name, digest, definition):
                events.append({"tool": name, "upstream": upstream, "pin": "pinned at first sight", "hash": digest})
                self.blocked.pop(key, None)
                continue
            if pin is None:  # another gateway pinned it a moment ago
                pin = next(p for p in self.ledger.pins(self.workflow) if (p["upstream"], p["tool"]) == key)
            if pin["hash"] == digest:
                self.blocked.pop(key, None)
                continue
            self.ledger.note_changed_definition(self.workflow, upstream, name, digest, definition)
            self.blocked[key] = (f"its definition changed since it was pinned ({pin['hash'][:12]} → {digest[:12]}); "
                                 f"a person must review and re-pin it: harness gateway pins approve "
                                 f"{self.workflow} {upstream} {name} --by NAME")
            events.append({"tool": name, "upstream": upstream, "pin": "blocked: definition changed",
                           "pinned": pin["hash"], "now": digest})
        return events

    def why_blocked(self, upstream: str, tool: str) -> str | None:
        """Why the tool is blocked, re-reading the ledger so a re-pin by a person takes effect at once."""
        key = (upstream, tool)
        if key not in self.blocked:
            return None
        pin = next((p for p in self.ledger.pins(self.workflow) if (p["upstream"], p["tool"]) == key), None)
        if pin is not None and pin["hash"] == self.current.get(key):
            del self.blocked[key]
            return None
        return self.blocked[key]
