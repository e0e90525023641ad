"""What every fake backend shares: the world's clock and journal, and per-world id counters."""

from __future__ import annotations

from typing import Any

from fakes.clock import SimClock
from fakes.journal import Change, Journal
from fakes.table import Table, copy_record


class Backend:
    """Base of ``CRM``, ``Mail`` and ``Files``. Subclasses name their tables in ``TABLES``."""

    NAME = ""
    TABLES: tuple[str, ...] = ()

    def __init__(self, clock: SimClock | None, journal: Journal | None):
        self.clock = clock if clock is not None else SimClock()
        self.journal = journal if journal is not None else Journal()
        self._counters: dict[str, int] = {}

    # -- tables ----------------------------------------------------------------------------------
    def tables(self) -> dict[str, Table]:
        return {name: getattr(self, name) for name in self.TABLES}

    def fork(self, clock: SimClock, journal: Journal) -> Backend:
        """A copy over the same bases, with its own overlays, bound to the given clock and journal."""
        clone = self.__class__.__new__(self.__class__)
        clone.__dict__.update(self.__dict__)
        clone.clock = clock
        clone.journal = journal
        clone._counters = dict(self._counters)
        for name, table in self.tables().items():
            setattr(clone, name, table.fork())
        return clone

    def reset(self) -> None:
        self._counters.clear()
        for table in self.tables().values():
            table.reset()

    # -- helpers for operations ------------------------------------------------------------------
    def _next_id(self, prefix: str, table: Table) -> str:
        """``{prefix}-rNNNN`` from this world's counter, skipping ids that already exist."""
        n = self._counters.get(prefix, 0)
        while True:
            n += 1
            rid = f"{prefix}-r{n:04d}"
            if rid not in table:
                self._counters[prefix] = n
                return rid

    def _tick(self) -> str:
        """Advance the clock for a mutation; returns the ISO time stamped on records and changes."""
        return self.clock.tick().isoformat()

    def _log(self, op: str, kind: str, entity_id: str, before: dict | None, after: dict | None, *,
             reversible: bool, at: str, **extra: Any) -> Change:
        """Record a change; its before/after are private copies (callers may keep their dicts)."""
        return self.journal.record(backend=self.NAME, op=op, kind=kind, entity_id=entity_id,
                                   before=None if before is None else copy_record(before),
                                   after=None if after is None else copy_record(after),
                                   reversible=reversible, at=at, **extra)
