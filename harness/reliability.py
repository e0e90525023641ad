"""Reliability over repeats: pass^k, the chance that k repeats of the same scenario all pass.

Per scenario with n runs of which c passed, pass^k = C(c, k) / C(n, k); the suite's figure is the
mean over scenarios that ran at least k times. An errored run counts as not passed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from math import comb


def pass_hat_k(counts: Iterable[tuple[int, int]], k: int) -> float | None:
    """Mean of C(c,k)/C(n,k) over (n, c) pairs with n >= k; None when no scenario ran k times."""
    values = [comb(c, k) / comb(n, k) for n, c in counts if n >= k]
    return sum(values) / len(values) if values else None


def pass_hat(results: Iterable, ks: tuple[int, ...] = (1, 2, 4, 8)) -> dict[str, float]:
    """pass^k for each k some scenario supports, from run results (``scenario``, ``outcome``)."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in results:
        entry = tally[r.scenario]
        entry[0] += 1
        entry[1] += r.outcome == "pass"
    counts = [(n, c) for n, c in tally.values()]
    out = {}
    for k in ks:
        value = pass_hat_k(counts, k)
        if value is not None:
            out[f"pass^{k}"] = round(value, 4)
    return out
