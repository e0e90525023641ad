"""The report's tables, shaped from the grouped runs, mistakes and plans (small frames, never per run).

Every run-level table is a roll-up of the grouped table of ``runs_table.grouped``: totals, agent
versions side by side, scenarios, stages, blast-radius distributions. Bounds come from
``harness.stats``, pass^k from ``harness.reliability``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from harness.ledger._time import iso
from harness.models import BLAST_DIMENSIONS, MISTAKE_TYPES, SEVERITIES
from harness.reliability import pass_hat_k
from harness.stats import upper_bounds

BASES = ("realised", "potential")
PASS_K = (1, 2, 4, 8)
"""The k of pass^k: the chance that k repeats of the same scenario all pass."""
CELL_KEYS = ("workflow", "agent", "agent_version", "scenario")
"""What "the same scenario" means for pass^k: one scenario of one workflow, run by one agent version."""
STAGE_ORDER = {"sandbox": 0, "suggest": 1, "approve": 2, "autonomous": 3}


def num(value: Any) -> int | float:
    if value is None:
        return 0
    f = float(value)
    return int(f) if f.is_integer() and abs(f) < 2 ** 53 else f


def rate_entry(with_mistake: int, counted: int, confidence: float, method: str) -> dict[str, Any]:
    """Counts with the raw rate and its one-sided upper confidence bound (None when nothing counted)."""
    k, n = int(with_mistake), int(counted)
    return {"counted_runs": n, "with_mistake": k, "mistake_rate": (k / n) if n else None,
            "upper_bound": float(upper_bounds([k], [n], confidence, method)[0]) if n else None,
            "confidence": confidence, "method": method}


def _blast_totals(df: pd.DataFrame) -> dict[str, dict[str, dict[str, int | float]]]:
    out: dict[str, dict[str, dict[str, int | float]]] = {}
    for basis in BASES:
        out[basis] = {}
        for dim in BLAST_DIMENSIONS:
            p = f"{basis}.{dim}."
            out[basis][dim] = {"total": num(df[p + "total"].sum()) if len(df) else 0,
                               "max": num(df[p + "max"].max()) if len(df) else 0,
                               "runs_nonzero": num(df[p + "nonzero"].sum()) if len(df) else 0}
    return out


def _worst_name(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return SEVERITIES[int(value)]


def totals(df: pd.DataFrame, confidence: float, method: str, *, reliability: bool = True) -> dict[str, Any]:
    total = int(df["runs"].sum()) if len(df) else 0
    infra = int(df["infra_errors"].sum()) if len(df) else 0
    dirty = int(df["with_mistake"].sum()) if len(df) else 0
    outcomes = {o: int(df.loc[df["outcome"] == o, "runs"].sum()) if len(df) else 0 for o in ("pass", "fail", "error")}
    return {
        "runs": total, "infra_errors": infra, "agent_errors": int(df["agent_errors"].sum()) if len(df) else 0,
        "outcomes": outcomes, "pass_rate": (outcomes["pass"] / total) if total else None,
        "pass_k": pass_k(df) if reliability else [],
        **rate_entry(dirty, total - infra, confidence, method),
        "mistakes": int(df["mistakes"].sum()) if len(df) else 0,
        "worst_severity": _worst_name(df["worst"].max()) if len(df) else None,
        "first_started": _when(df["first_ms"].min()) if len(df) else None,
        "last_started": _when(df["last_ms"].max()) if len(df) else None,
        "blast_radius": _blast_totals(df),
    }




def _when(ms: Any) -> str | None:
    """Milliseconds since the epoch → ISO-8601 UTC text."""
    return iso(datetime.fromtimestamp(int(ms) / 1000, UTC).replace(tzinfo=None))


def pass_k(df: pd.DataFrame, ks: tuple[int, ...] = PASS_K) -> list[dict[str, Any]]:
    """Reliability over repeats: per k, the mean over scenarios of C(c,k)/C(n,k) (``harness.reliability``).

    ``df`` holds grouped run counts with the ``CELL_KEYS``, ``outcome`` and ``runs`` columns (the
    report's grouped table or any slice of it). A scenario is one (workflow, agent, agent_version,
    scenario) cell with n runs of which c passed; every run counts, so errored runs (the agent's,
    the harness's or the environment's) count as not passed. Cells with n < k are left out of that k
    (C(c,k) = 0 when c < k), and a k no cell supports is left out. Each entry: ``{k, value,
    scenarios}`` with ``scenarios`` the number of cells the mean covers.
    """
    if not len(df):
        return []
    passed = df["runs"].where(df["outcome"] == "pass", 0)
    cells = (df.assign(passed=passed).groupby(list(CELL_KEYS), observed=True, sort=False)
             .agg(n=("runs", "sum"), passed=("passed", "sum")))
    counts = list(zip(cells["n"].astype(int).tolist(), cells["passed"].astype(int).tolist(), strict=True))
    out = []
    for k in ks:
        value = pass_hat_k(counts, k)
        if value is not None:
            out.append({"k": k, "value": float(value), "scenarios": sum(1 for n, _ in counts if n >= k)})
    return out


def agents_table(df: pd.DataFrame, confidence: float, method: str, keys=("agent", "agent_version"),
                  workflows_of: dict | None = None) -> list[dict[str, Any]]:
    out = []
    if not len(df):
        return out
    for key, part in df.groupby(list(keys), observed=True, sort=False):
        entry = dict(zip(keys, key))
        entry.update(totals(part, confidence, method))
        if workflows_of is not None:
            entry["workflows"] = sorted(part["workflow"].unique().tolist())
        out.append(entry)
    out.sort(key=lambda e: (e["agent"], version_key(e["agent_version"])))
    return out


def version_key(version: str) -> tuple:
    parts = []
    for p in str(version).replace("-", ".").split("."):
        parts.append((0, int(p), "") if p.isdigit() else (1, 0, p))
    return tuple(parts)


def mistake_tables(mdf: pd.DataFrame) -> dict[str, Any]:
    present = [t for t in MISTAKE_TYPES if len(mdf) and (mdf["type"] == t).any()]
    present += sorted(set(mdf["type"]) - set(MISTAKE_TYPES)) if len(mdf) else []
    matrix = []
    for t in present:
        part = mdf[mdf["type"] == t]
        row = {"type": t, **{s: int(part.loc[part["severity"] == s, "count"].sum()) for s in SEVERITIES}}
        row["total"] = int(part["count"].sum())
        matrix.append(row)
    by_severity = {s: int(mdf.loc[mdf["severity"] == s, "count"].sum()) if len(mdf) else 0 for s in SEVERITIES}
    return {"total": int(mdf["count"].sum()) if len(mdf) else 0, "by_type_severity": matrix,
            "by_type": {r["type"]: r["total"] for r in matrix}, "by_severity": by_severity}


def distribution(vc: pd.DataFrame, total_runs: int) -> dict[str, Any]:
    """Percentiles (nearest rank) of one dimension over all runs, from its non-zero value counts."""
    nonzero = int(vc["count"].sum()) if len(vc) else 0
    zeros = max(0, total_runs - nonzero)
    out: dict[str, Any] = {"runs": total_runs, "zero": zeros}
    if not total_runs:
        out.update({"p50": None, "p90": None, "p95": None, "p99": None, "max": None})
        return out
    values = vc.sort_values("value")
    cum = zeros + values["count"].cumsum().to_numpy()
    vals = values["value"].to_numpy()
    for p in (50, 90, 95, 99):
        rank = max(1, math.ceil(p / 100.0 * total_runs))
        out[f"p{p}"] = 0 if rank <= zeros else num(vals[int(np.searchsorted(cum, rank))])
    out["max"] = num(vals[-1]) if len(vals) else 0
    return out


def histogram(vcs: dict[str, pd.DataFrame], totals: dict[str, int]) -> list[dict[str, Any]]:
    """Shared bins for realised and potential: zero on its own, then the non-zero values."""
    top = max((float(v["value"].max()) for v in vcs.values() if len(v)), default=0.0)
    bins: list[dict[str, Any]] = [{"lo": 0, "hi": 0, "label": "0"}]
    integral = all(bool((v["value"] % 1 == 0).all()) for v in vcs.values() if len(v))
    if top > 0:
        if integral and top <= 15:
            bins += [{"lo": int(x), "hi": int(x), "label": str(int(x))} for x in range(1, int(top) + 1)]
        else:
            edges = np.linspace(0, top, 13)
            if integral:
                edges = np.unique(np.ceil(edges))
            bins += [{"lo": num(lo), "hi": num(hi), "label": f"{_short(lo)}–{_short(hi)}"}
                     for lo, hi in pairwise(edges)]
    for basis in BASES:
        vc = vcs[basis]
        nonzero = int(vc["count"].sum()) if len(vc) else 0
        counts = [max(0, totals[basis] - nonzero)]
        if len(bins) > 1:
            vals, cnt = vc["value"].to_numpy(), vc["count"].to_numpy()
            if bins[1]["lo"] == bins[1]["hi"]:  # one bin per integer value
                counts += [int(cnt[vals == b["hi"]].sum()) for b in bins[1:]]
            else:  # (lo, hi] ranges
                his = np.array([b["hi"] for b in bins[1:]], dtype=float)
                idx = np.minimum(np.searchsorted(his, vals, side="left"), len(his) - 1)
                counts += np.bincount(idx, weights=cnt, minlength=len(his)).astype(int).tolist()
        for b, c in zip(bins, counts):
            b[basis] = int(c)
    return bins


def _short(x: float) -> str:
    x = float(x)
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"



def plans_summary(pdf: pd.DataFrame) -> dict[str, Any]:
    def count(mask) -> int:
        return int(pdf.loc[mask, "count"].sum()) if len(pdf) else 0

    if not len(pdf):
        out = dict.fromkeys(("total", "reviewed", "approved_unchanged", "partially_approved", "rejected",
                             "pending", "stale", "applied"), 0)
        out["share_approved_unchanged"] = None
        return out
    reviewed_mask = pdf["approved_unchanged"].notna()
    full = pdf["approved_unchanged"].map(lambda v: isinstance(v, bool | int | np.bool_) and bool(v)).astype(bool)
    unchanged_mask = reviewed_mask & full
    rejected_mask = pdf["status"] == "rejected"
    total = count(slice(None))
    reviewed, unchanged, rejected = count(reviewed_mask), count(unchanged_mask), count(rejected_mask)
    return {"total": total, "reviewed": reviewed, "approved_unchanged": unchanged,
            "partially_approved": count(reviewed_mask & ~full & ~rejected_mask),
            "rejected": rejected, "pending": count(pdf["status"] == "pending"),
            "stale": count(pdf["status"] == "stale"), "applied": count(pdf["status"] == "applied"),
            "share_approved_unchanged": (unchanged / reviewed) if reviewed else None}


def plans_section(pdf: pd.DataFrame) -> dict[str, Any]:
    out = plans_summary(pdf)
    by_agent = []
    if len(pdf):
        keyed = pdf.assign(agent=pdf["agent"].fillna("(unknown)"), agent_version=pdf["agent_version"].fillna("?"))
        for (a, v), part in keyed.groupby(["agent", "agent_version"], sort=True):
            by_agent.append({"agent": a, "agent_version": v, **plans_summary(part)})
    out["by_agent"] = by_agent
    return out



def scenarios(df: pd.DataFrame, mdf: pd.DataFrame, known: list[str], gate_info) -> dict[str, Any]:
    required = list(gate_info[1].coverage.scenarios or []) if gate_info and gate_info[1].coverage else []
    min_runs = gate_info[1].coverage.min_runs_per_scenario if gate_info and gate_info[1].coverage else None
    names = sorted(set(known) | set(required) | (set(df["scenario"]) if len(df) else set()))
    types = [t for t in MISTAKE_TYPES if len(mdf) and (mdf["type"] == t).any()]
    by_sc = df.groupby(["scenario", "outcome"], observed=True)["runs"].sum() if len(df) else pd.Series(dtype=int)
    dirty = df.groupby("scenario", observed=True)["with_mistake"].sum() if len(df) else pd.Series(dtype=int)
    infra = df.groupby("scenario", observed=True)["infra_errors"].sum() if len(df) else pd.Series(dtype=int)
    mt = mdf.groupby(["scenario", "type"], observed=True)["count"].sum() if len(mdf) else pd.Series(dtype=int)
    rows = []
    for sc in names:
        outcomes = {o: int(by_sc.get((sc, o), 0)) for o in ("pass", "fail", "error")}
        runs_ = sum(outcomes.values())
        k = int(dirty.get(sc, 0))
        counted = runs_ - int(infra.get(sc, 0))
        rows.append({"scenario": sc, "runs": runs_, **outcomes, "with_mistake": k,
                     "mistake_rate": (k / counted) if counted else None,
                     "mistakes": {t: int(mt.get((sc, t), 0)) for t in types},
                     "covered": runs_ >= (min_runs or 1)})
    rows.sort(key=lambda r: (-r["with_mistake"], -r["fail"] - r["error"], r["scenario"]))
    return {"mistake_types": types, "min_runs_per_scenario": min_runs, "known": len(names),
            "covered": sum(r["covered"] for r in rows), "rows": rows}


def by_stage(df: pd.DataFrame, confidence: float, method: str) -> list[dict[str, Any]]:
    out = []
    if not len(df):
        return out
    for stage, part in df.groupby("stage", observed=True, sort=False):
        t = totals(part, confidence, method, reliability=False)  # by_stage does not list pass^k
        radius = t["blast_radius"]
        contained = {dim: num(radius["potential"][dim]["total"] - radius["realised"][dim]["total"])
                     for dim in BLAST_DIMENSIONS}
        out.append({"stage": stage, "runs": t["runs"], "counted_runs": t["counted_runs"],
                    "with_mistake": t["with_mistake"], "mistake_rate": t["mistake_rate"],
                    "realised": {d: v["total"] for d, v in t["blast_radius"]["realised"].items()},
                    "potential": {d: v["total"] for d, v in t["blast_radius"]["potential"].items()},
                    "contained": contained})
    out.sort(key=lambda e: STAGE_ORDER.get(e["stage"], 9))
    return out




PRODUCTION_COUNTS = ("sessions", "calls", "forwarded_reads", "forwarded_writes", "refused", "suggestions",
                     "suggestions_pending", "suggestions_accepted", "suggestions_rejected", "planned", "env_errors")


def production(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Production sessions per agent version, and their sum: ``{sessions, ..., by_agent: [...]}``."""
    by_agent = [{"workflow": r["workflow"], "agent": r["agent"], "agent_version": r["agent_version"],
                 **{k: int(r.get(k) or 0) for k in PRODUCTION_COUNTS},
                 "first_started": iso(r.get("first_started")), "last_started": iso(r.get("last_started"))}
                for r in rows]
    return {**{k: sum(a[k] for a in by_agent) for k in PRODUCTION_COUNTS}, "by_agent": by_agent}
