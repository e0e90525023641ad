"""The mistake rate over time: per agent version a rolling window over its counted runs, per day a rate.

Both come from one workflow's runs in order (small arrays cut from the ``RunTable``); bands are
two-sided Clopper-Pearson intervals and bounds one-sided, both vectorised in ``harness.stats``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from harness.stats import intervals, upper_bounds
from reports.runs_table import DIRTY, INFRA, RunTable

SERIES_POINTS = 240
"""At most this many points per agent version in the mistake-rate series."""
MS_PER_DAY = 86_400_000


@dataclass
class Series:
    """One workflow's runs in order: ``track`` indexes ``tracks`` ((agent, version)), ``stage`` ``stages``."""

    track: np.ndarray
    stage: np.ndarray
    dirty: np.ndarray
    infra: np.ndarray
    day: np.ndarray
    tracks: list[tuple[str, str]]
    stages: list[str]


def series(table: RunTable, workflow: str) -> Series:
    rows = np.flatnonzero(table.codes["workflow"] == table.workflow_code(workflow))
    agents, versions = table.codes["agent"][rows].astype(np.int64), table.codes["agent_version"][rows]
    width = max(1, len(table.vocab["agent_version"]))
    unique, codes = np.unique(agents * width + versions, return_inverse=True)
    tracks = [(table.vocab["agent"][k // width], table.vocab["agent_version"][k % width]) for k in unique]
    flags = table.flags[rows]
    return Series(track=codes.reshape(-1).astype(np.int32), stage=table.codes["stage"][rows],
                  dirty=((flags & DIRTY) > 0).astype(np.int8), infra=((flags & INFRA) > 0).astype(np.int8),
                  day=table.started_ms[rows] // MS_PER_DAY, tracks=tracks, stages=list(table.vocab["stage"]))


def rolling(s: Series, confidence: float, method: str) -> dict[str, Any]:
    """Per agent version: the mistake rate over a rolling window of its counted runs, with a band."""
    n_all = len(s.dirty)
    tracks = []
    for code, (agent, version) in enumerate(s.tracks):
        positions = np.flatnonzero((s.track == code) & (s.infra == 0))
        n = len(positions)
        if n == 0:
            continue
        window = n if n < 20 else int(min(500, max(20, n // 10)))
        cum = np.concatenate([[0], np.cumsum(s.dirty[positions], dtype=np.int64)])
        ends = np.unique(np.linspace(window - 1, n - 1, min(SERIES_POINTS, n - window + 1)).round().astype(int))
        k = cum[ends + 1] - cum[ends + 1 - window]
        size = np.full(len(k), window)
        lo, hi = intervals(k, size, confidence)
        ub = upper_bounds(k, size, confidence, method)
        points = [{"run_index": int(positions[e]) + 1, "runs_in_window": window, "with_mistake": int(kk),
                   "rate": float(kk) / window, "lower": float(a), "upper": float(b), "upper_bound": float(u)}
                  for e, kk, a, b, u in zip(ends, k, lo, hi, ub, strict=True)]
        tracks.append({"agent": agent, "agent_version": version, "window_runs": window, "points": points})
    stages = []
    if n_all:
        change = np.flatnonzero(np.diff(s.stage)) + 1
        starts = np.concatenate([[0], change])
        if len(starts) <= 60:
            ends_ = np.concatenate([change, [n_all]])
            stages = [{"stage": s.stages[int(s.stage[a])], "from_run": int(a) + 1, "to_run": int(b)}
                      for a, b in zip(starts, ends_, strict=True)]
    return {"x": "run_index: position of the run among the workflow's runs in the report, oldest first",
            "runs": n_all, "tracks": tracks, "stage_spans": stages}


def daily(s: Series, confidence: float) -> list[dict[str, Any]]:
    """Per calendar day (UTC): runs, counted runs, runs with a mistake, the rate and its band."""
    if not len(s.day):
        return []
    days, inverse = np.unique(s.day, return_inverse=True)
    counted_mask = s.infra == 0
    runs = np.bincount(inverse, minlength=len(days))
    n = np.bincount(inverse, weights=counted_mask, minlength=len(days)).astype(np.int64)
    k = np.bincount(inverse, weights=(s.dirty > 0) & counted_mask, minlength=len(days)).astype(np.int64)
    lo, hi = intervals(k, n, confidence)
    return [{"date": datetime.fromtimestamp(int(d) * 86_400, UTC).date().isoformat(), "runs": int(r),
             "counted_runs": int(nn), "with_mistake": int(kk), "rate": (kk / nn) if nn else None,
             "lower": float(a) if nn else None, "upper": float(b) if nn else None}
            for d, r, nn, kk, a, b in zip(days, runs, n, k, lo, hi, strict=True)]
