"""Gates that stay honest however often someone asks: alpha spending over a doubling schedule.

A fixed-sample confidence bound promises its error rate for ONE look. Asking "may I promote?" after
every batch of runs and promoting the first time the bound dips under the gate promotes an agent
whose true rate equals the gate far more often than the promised 5%.

So the mistake rate is judged only at fixed checkpoints of the evidence: the first ``n0`` distinct
runs, then the first ``2·n0``, ``4·n0``, … (n0 is the gate's ``min_runs``, raised to the fewest
runs that could pass at all). Checkpoint ``i`` gets its own slice of the error budget,
``alpha · 2^-(i+1)`` (half at the first, a quarter at the second, …), and is judged with the
one-sided bound at confidence ``1 - alpha_i`` on exactly its first ``n_i`` runs. The slices sum to
less than ``alpha``, so the chance that a too-risky agent is ever promoted, at any checkpoint, is at
most ``alpha`` (a union bound) — whether someone looks once, after every run, or only when the runs
look good: between checkpoints the answer cannot change.

A look has three outcomes: ``met`` (the bound is under the gate), ``not_met`` (the lower bound is
over the gate: the agent is worse than the gate with the same confidence) and ``inconclusive``
(keep collecting; the next checkpoint is named).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.stats import Method, lower_bound, runs_needed, upper_bound


def first_checkpoint(min_runs: int, max_rate: float | None, confidence: float, method: Method) -> int:
    """n0: the gate's ``min_runs``, raised to the fewest clean runs that could pass the first checkpoint."""
    n0 = max(1, min_runs)
    if max_rate is not None and max_rate > 0:
        need = runs_needed(max_rate, 1 - alpha_at(0, 1 - confidence), method)
        if need is not None:
            n0 = max(n0, need)
    return n0


def alpha_at(index: int, alpha: float) -> float:
    """The error budget of checkpoint ``index`` (0-based): ``alpha / 2^(index+1)``."""
    return alpha / 2 ** (index + 1)


def checkpoint_index(n: int, n0: int) -> int | None:
    """The last checkpoint reached with ``n`` runs (None before the first)."""
    if n < n0:
        return None
    i = 0
    while n0 * 2 ** (i + 1) <= n:
        i += 1
    return i


def checkpoint_size(index: int, n0: int) -> int:
    return n0 * 2 ** index


@dataclass(frozen=True)
class RateVerdict:
    outcome: str
    """met, not_met or inconclusive."""
    checkpoint: int | None
    sample: int
    """Runs judged: the first ``n_i`` distinct runs of the evidence."""
    mistakes: int
    alpha: float
    upper: float | None
    lower: float | None
    next_at: int
    """Runs needed for the next checkpoint."""


def judge_rate(k: int, index: int | None, n0: int, max_rate: float, confidence: float,
               method: Method) -> RateVerdict:
    """The verdict at checkpoint ``index`` given ``k`` mistakes in its first ``n_i`` runs."""
    alpha = 1 - confidence
    if index is None:
        return RateVerdict("inconclusive", None, 0, 0, 0.0, None, None, n0)
    n = checkpoint_size(index, n0)
    a = alpha_at(index, alpha)
    ub = upper_bound(k, n, 1 - a, method)
    lb = lower_bound(k, n, 1 - a, method)
    outcome = "met" if ub <= max_rate else ("not_met" if lb > max_rate else "inconclusive")
    return RateVerdict(outcome, index, n, k, a, ub, lb, checkpoint_size(index + 1, n0))


def spent(checkpoints: set[int], alpha: float) -> float:
    """Error spent by looks at these checkpoints (each checkpoint's slice is spent once)."""
    return sum(alpha_at(i, alpha) for i in checkpoints)
