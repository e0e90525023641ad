"""Rates with confidence bounds, percentiles and burn rates for promotion gates.

A gate is judged on the *one-sided* upper confidence bound of the mistake rate, never the raw rate:
with 95% confidence, 0 mistakes in 300 runs bounds the rate at 0.99%, 2 in 300 at 2.08%.
Clopper-Pearson (exact) is the default; Wilson is narrower and the usual choice for plots.
"""

from __future__ import annotations

import math
from typing import Literal

Method = Literal["clopper-pearson", "wilson"]
METHODS: tuple[str, ...] = ("clopper-pearson", "wilson")


def _check(k: int, n: int, confidence: float) -> None:
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")


def upper_bound(k: int, n: int, confidence: float = 0.95, method: Method = "clopper-pearson") -> float:
    """One-sided upper confidence bound of a rate seen k times in n trials (1.0 when n == 0)."""
    _check(k, n, confidence)
    if n == 0 or k == n:
        return 1.0
    if method == "clopper-pearson":
        # == scipy.stats.binomtest(k, n, alternative="less").proportion_ci(confidence).high,
        # without importing scipy.stats (a second of start-up the CLI should not pay).
        from scipy.special import betaincinv

        return float(betaincinv(k + 1, n - k, confidence))
    if method == "wilson":
        return _wilson(k, n, _z(confidence), upper=True)
    raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


def interval(k: int, n: int, confidence: float = 0.95, method: Method = "wilson") -> tuple[float, float]:
    """Two-sided confidence interval (for bands in reports)."""
    _check(k, n, confidence)
    if n == 0:
        return 0.0, 1.0
    if method == "wilson":
        z = _z(1 - (1 - confidence) / 2)
        return _wilson(k, n, z, upper=False), _wilson(k, n, z, upper=True)
    if method == "clopper-pearson":
        from scipy.special import betaincinv

        alpha = 1 - confidence
        lo = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, alpha / 2))
        hi = 1.0 if k == n else float(betaincinv(k + 1, n - k, 1 - alpha / 2))
        return lo, hi
    raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


def _z(p: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(p))


def _wilson(k: int, n: int, z: float, upper: bool) -> float:
    # same as statsmodels proportion_confint(k, n, alpha, method="wilson"); pinned by a test
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    value = (centre + spread if upper else centre - spread) / (1 + z * z / n)
    return min(1.0, max(0.0, value))


def nearest_rank(pct: float, n: int) -> int:
    """1-based rank of the ``pct`` percentile among n sorted values (nearest-rank method)."""
    if not 0 < pct <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {pct}")
    return max(1, math.ceil(pct / 100.0 * n))


def runs_needed(max_rate: float, confidence: float = 0.95, method: Method = "clopper-pearson",
                mistakes: int = 0, limit: int = 1_000_000) -> int | None:
    """Fewest runs with ``mistakes`` mistakes whose upper bound is under ``max_rate`` (None past limit)."""
    lo, hi = max(1, mistakes), limit
    if upper_bound(mistakes, hi, confidence, method) >= max_rate:
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if upper_bound(mistakes, mid, confidence, method) < max_rate:
            hi = mid
        else:
            lo = mid + 1
    return lo


def burn_rate_exceeded(flags_newest_first: list[bool], long_runs: int, short_runs: int,
                       max_rate: float) -> tuple[bool, float, float]:
    """Two-window burn rate: high over BOTH the last ``long_runs`` and the last ``short_runs`` runs.

    Returns (exceeded, long-window rate, short-window rate). Needs at least ``short_runs`` runs.
    """
    long_ = flags_newest_first[:long_runs]
    short = flags_newest_first[:short_runs]
    if len(short) < short_runs:
        return False, (sum(long_) / len(long_) if long_ else 0.0), (sum(short) / len(short) if short else 0.0)
    long_rate, short_rate = sum(long_) / len(long_), sum(short) / len(short)
    return long_rate > max_rate and short_rate > max_rate, long_rate, short_rate
