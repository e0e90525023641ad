"""Wrong promotions under peeking, and the runs a good agent needs: a documented simulation.

The release owner's habit modelled here: run 10 more scenarios, try ``harness promote``, repeat,
up to a horizon of ``--horizon`` runs. For each bundled gate (suggest, approve, autonomous of the
bundled policy) and a true mistake rate ``p``:

- wrong-promotion rate at ``p = gate`` (target ≤ 5%) and at ``p = 3 × gate`` (target ≤ 0.1%),
  simulated (``--reps`` agents) and, for the shipped design, bounded exactly: the union over the
  checkpoints of ``P(Binomial(n_i, p) passes checkpoint i)`` with scipy;
- the same habit against the previous design (the fixed-sample 95% bound over a sliding
  ``window_runs`` window, evaluated at every attempt) for comparison;
- power: how many runs an agent whose true rate is half the gate needs before an attempt succeeds
  (median and 90th percentile; "never" if beyond the horizon).

Only the mistake-rate criterion is simulated (mistakes of a severity the gate allows), the most
lenient reading: other criteria can only refuse more. The decision code is the shipped one
(``harness.sequential``), evaluated at the checkpoint each attempt reaches.

    python bench/bench_promotion_peeking.py [--reps 20000] [--horizon 10000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import binom

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import sequential
from harness.policy import load_policy
from harness.stats import upper_bound

LOOK_EVERY = 10


def thresholds(gate, horizon: int) -> tuple[int, list[tuple[int, int]]]:
    """n0 and, per checkpoint within the horizon, (n_i, the most mistakes that still pass)."""
    n0 = sequential.first_checkpoint(gate.min_runs, gate.max_mistake_rate, gate.confidence, gate.method)
    out, i = [], 0
    while sequential.checkpoint_size(i, n0) <= horizon:
        n = sequential.checkpoint_size(i, n0)
        k = -1
        while sequential.judge_rate(k + 1, i, n0, gate.max_mistake_rate, gate.confidence,
                                    gate.method).outcome == "met":
            k += 1
        out.append((n, k))
        i += 1
    return n0, out


def sequential_sim(p: float, checkpoints: list[tuple[int, int]], reps: int, horizon: int,
                   rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """Share promoted within the horizon, and per rep the run count at the first successful attempt."""
    when = np.full(reps, np.inf)
    done = np.zeros(reps, dtype=bool)
    chunk = 4000
    for start in range(0, reps, chunk):
        m = min(chunk, reps - start)
        cum = np.cumsum(rng.random((m, horizon)) < p, axis=1)
        for n, kmax in checkpoints:
            ok = (cum[:, n - 1] <= kmax) & ~done[start:start + m]
            # the first attempt at or after the checkpoint (attempts every LOOK_EVERY runs)
            attempt = -(-n // LOOK_EVERY) * LOOK_EVERY
            when[start:start + m][ok] = attempt
            done[start:start + m] |= ok
    return float(done.mean()), when


def exact_bound(p: float, checkpoints: list[tuple[int, int]]) -> float:
    return float(min(1.0, sum(binom.cdf(k, n, p) for n, k in checkpoints if k >= 0)))


def old_design_sim(p: float, gate, reps: int, horizon: int, rng: np.random.Generator) -> float:
    """The previous behaviour: 95% one-sided bound over the last ``window_runs`` runs at every attempt."""
    window = gate.window_runs or horizon
    kmax = {n: max([k for k in range(n + 1) if upper_bound(k, n, gate.confidence, gate.method)
                    <= gate.max_mistake_rate] or [-1]) for n in range(LOOK_EVERY, window + 1, LOOK_EVERY)}
    promoted = 0
    chunk = 4000
    for start in range(0, reps, chunk):
        m = min(chunk, reps - start)
        cum = np.concatenate([np.zeros((m, 1), dtype=np.int64),
                              np.cumsum(rng.random((m, horizon)) < p, axis=1)], axis=1)
        hit = np.zeros(m, dtype=bool)
        for t in range(max(LOOK_EVERY, gate.min_runs), horizon + 1, LOOK_EVERY):
            n = min(window, t)
            n = n - n % LOOK_EVERY or LOOK_EVERY
            k = cum[:, t] - cum[:, t - n]
            hit |= k <= kmax[n]
        promoted += int(hit.sum())
    return promoted / reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=20000)
    ap.add_argument("--horizon", type=int, default=10000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(20261128)
    policy = load_policy(None)
    wf = policy.workflows["crm.renewal-discounts"]
    rows = []
    for stage in ("suggest", "approve", "autonomous"):
        gate = wf.gate(stage)
        g = gate.max_mistake_rate
        n0, cps = thresholds(gate, args.horizon)
        at_gate, _ = sequential_sim(g, cps, args.reps, args.horizon, rng)
        at_3x, _ = sequential_sim(min(1.0, 3 * g), cps, args.reps, args.horizon, rng)
        _, when = sequential_sim(g / 2, cps, min(args.reps, 5000), args.horizon, rng)
        finite = when[np.isfinite(when)]
        rows.append({
            "stage": stage, "gate": g, "confidence": gate.confidence, "first_checkpoint": n0,
            "checkpoints": [n for n, _ in cps],
            "wrong_at_gate": at_gate, "wrong_at_gate_exact_bound": exact_bound(g, cps),
            "wrong_at_3x": at_3x, "wrong_at_3x_exact_bound": exact_bound(3 * g, cps),
            "old_design_wrong_at_gate": old_design_sim(g, gate, min(args.reps, 4000), min(args.horizon, 2000), rng),
            "power_share_promoted": float(np.isfinite(when).mean()),
            "power_median_runs": float(np.median(finite)) if len(finite) else None,
            "power_p90_runs": float(np.quantile(when, 0.9)) if np.isfinite(np.quantile(when, 0.9)) else None,
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"promote attempted every {LOOK_EVERY} runs, horizon {args.horizon} runs, {args.reps} simulated agents "
          "per cell (figures are simulation estimates; the exact column is a scipy union bound)")
    for r in rows:
        ok1 = "OK " if r["wrong_at_gate_exact_bound"] <= 0.05 else "MISS"
        ok2 = "OK " if r["wrong_at_3x_exact_bound"] <= 0.001 else "MISS"
        print(f"\n{r['stage']}: gate {r['gate']:.0%}, checkpoints at {r['checkpoints'][:6]} runs")
        print(f"  [{ok1}] wrong promotions, true rate = gate : {r['wrong_at_gate']:.2%} simulated, "
              f"≤ {r['wrong_at_gate_exact_bound']:.2%} exact   (target ≤ 5%; before: "
              f"{r['old_design_wrong_at_gate']:.1%} with a sliding window and a 95% bound at every attempt)")
        print(f"  [{ok2}] wrong promotions, true rate = 3×gate: {r['wrong_at_3x']:.3%} simulated, "
              f"≤ {r['wrong_at_3x_exact_bound']:.4%} exact (target ≤ 0.1%)")
        med = "never" if r["power_median_runs"] is None else f"{r['power_median_runs']:.0f}"
        p90 = "beyond the horizon" if r["power_p90_runs"] is None else f"{r['power_p90_runs']:.0f}"
        print(f"  power: an agent at half the gate is promoted in {r['power_share_promoted']:.1%} of cases within "
              f"the horizon; runs needed: median {med}, 90th percentile {p90}")


if __name__ == "__main__":
    main()
