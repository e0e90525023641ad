"""A simulated clock: time moves only when a mutation ticks it, so runs are reproducible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

DEFAULT_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class SimClock:
    """Deterministic time. ``now()`` reads, ``tick()`` advances by ``step``; never the wall clock."""

    __slots__ = ("start", "step", "_now")

    def __init__(self, start: datetime = DEFAULT_START, step: timedelta = timedelta(seconds=30)):
        if start.tzinfo is None:
            raise ValueError("SimClock start must be timezone-aware, e.g. datetime(..., tzinfo=UTC)")
        if step <= timedelta(0):
            raise ValueError("SimClock step must be positive")
        self.start = start
        self.step = step
        self._now = start

    def now(self) -> datetime:
        return self._now

    def tick(self) -> datetime:
        self._now = self._now + self.step
        return self._now

    def iso(self) -> str:
        """The current time as ISO 8601 (what records and changes carry)."""
        return self._now.isoformat()

    def copy(self) -> SimClock:
        clone = SimClock(self.start, self.step)
        clone._now = self._now
        return clone

    def reset(self) -> None:
        """Back to ``start`` (used when a world is reset)."""
        self._now = self.start

    def __repr__(self) -> str:
        return f"SimClock(now={self._now.isoformat()}, step={self.step})"
