"""Rates with confidence bounds, percentiles and burn rates for promotion gates.

A gate is judged on the *one-sided* upper confidence bound of the mistake rate, never the raw rate:
with 95% confidence, 0 mistakes in 300 runs bounds the rate at 0.99%, 2 in 300 at 2.08%.
Clopper-Pearson (exact) is the default; Wilson is narrower and the usual choice for plots.
"""

from __future__ import annotations

import math
from statistics import NormalDist
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
        # == scipy.stats.binomtest(k, n, alternative="less").proportion_ci(confidence).high (pinned by
        # tests), computed here so `harness status` does not pay a second of scipy start-up
        return beta_ppf(confidence, k + 1, n - k)
    if method == "wilson":
        return _wilson(k, n, _z(confidence), upper=True)
    raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


def lower_bound(k: int, n: int, confidence: float = 0.95, method: Method = "clopper-pearson") -> float:
    """One-sided lower confidence bound of a rate seen k times in n trials (0.0 when k == 0)."""
    _check(k, n, confidence)
    if n == 0 or k == 0:
        return 0.0
    if method == "clopper-pearson":
        return beta_ppf(1 - confidence, k, n - k + 1)
    if method == "wilson":
        return _wilson(k, n, _z(confidence), upper=False)
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
        alpha = 1 - confidence
        lo = 0.0 if k == 0 else beta_ppf(alpha / 2, k, n - k + 1)
        hi = 1.0 if k == n else beta_ppf(1 - alpha / 2, k + 1, n - k)
        return lo, hi
    raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


def _z(p: float) -> float:
    return NormalDist().inv_cdf(p)


def beta_cdf(x: float, a: float, b: float) -> float:
    """Regularised incomplete beta I_x(a, b) (continued fraction, as in Numerical Recipes 6.4)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_cf(a, b, x) / a
    return 1.0 - front * _beta_cf(b, a, 1.0 - x) / b


def _beta_cf(a: float, b: float, x: float) -> float:
    tiny, eps = 1e-300, 1e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            delta = d * c
            h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def beta_ppf(q: float, a: float, b: float) -> float:
    """The x with I_x(a, b) == q, by bisection (I_x increases with x)."""
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if beta_cdf(mid, a, b) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * max(hi, 1e-300):
            break
    return (lo + hi) / 2


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


# -- vectorised forms (numpy/scipy, imported on first use: reports draw thousands of bounds) ----------------
def upper_bounds(k, n, confidence: float = 0.95, method: Method = "clopper-pearson"):
    """``upper_bound`` over arrays of k and n (a numpy array; 1.0 where n == 0 or k == n)."""
    import numpy as np

    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    if method != "clopper-pearson":
        return np.array([upper_bound(int(a), int(b), confidence, method) for a, b in zip(k, n, strict=True)])
    from scipy.special import betaincinv

    safe = np.where(k < n, n - k, 1.0)
    return np.where((k < n) & (n > 0), betaincinv(k + 1, safe, confidence), 1.0)


def intervals(k, n, confidence: float = 0.95):
    """Two-sided Clopper-Pearson ``interval`` over arrays of k and n: (lower, upper) numpy arrays."""
    import numpy as np
    from scipy.special import betaincinv

    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    alpha = 1 - confidence
    safe_lo = np.where(k > 0, k, 1.0)
    safe_hi = np.where(k < n, n - k, 1.0)
    lo = np.where((k > 0) & (n > 0), betaincinv(safe_lo, n - safe_lo + 1, alpha / 2), 0.0)
    hi = np.where((k < n) & (n > 0), betaincinv(k + 1, safe_hi, 1 - alpha / 2), 1.0)
    return lo, hi
