"""The selected runs as small numpy arrays, and the grouped table every run-level figure rolls up from.

The ledger streams one narrow row per run (``harness.ledger.report_queries``); strings become codes
into per-column vocabularies chunk by chunk, so a million runs take about 30 MB here. Grouping is
numpy (sort once, reduce per group): the result has one row per (workflow, agent, agent_version,
stage, scenario, outcome) — a few thousand rows whatever the number of runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.ledger import report_queries

AGENT_ERROR, DIRTY, INFRA = report_queries.AGENT_ERROR, report_queries.DIRTY, report_queries.INFRA
BLAST_NAMES, RUN_ROW = report_queries.BLAST_NAMES, report_queries.RUN_ROW

KEYS = ("workflow", "agent", "agent_version", "stage", "scenario", "outcome")
"""The grouped table's keys, in order."""


@dataclass
class RunTable:
    """Every selected run, oldest first: ``codes[key][i]`` indexes ``vocab[key]``."""

    pk: np.ndarray
    codes: dict[str, np.ndarray]
    vocab: dict[str, list[str]]
    flags: np.ndarray
    worst: np.ndarray
    mistakes: np.ndarray
    started_ms: np.ndarray
    group: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Per run, its row in the grouped table (set by ``grouped``)."""

    def __len__(self) -> int:
        return len(self.pk)

    def workflow_code(self, workflow: str) -> int:
        vocab = self.vocab["workflow"]
        return vocab.index(workflow) if workflow in vocab else -1


class _Vocabulary:
    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def encode(self, values: np.ndarray) -> np.ndarray:
        codes, uniques = pd.factorize(values)
        mapping = np.array([self.index.setdefault(str(u), len(self.index)) for u in uniques], dtype=np.int32)
        return mapping[codes] if len(codes) else np.zeros(0, dtype=np.int32)

    def words(self) -> list[str]:
        return list(self.index)


def read_runs(chunks: Iterable[list[tuple]]) -> RunTable:
    """``RUN_ROW`` chunks → a ``RunTable``."""
    vocabs = {k: _Vocabulary() for k in KEYS}
    parts: dict[str, list[np.ndarray]] = {n: [] for n in RUN_ROW}
    numeric = {"pk": np.int64, "flags": np.int8, "worst": np.int8, "mistakes": np.int32, "started_ms": np.int64}
    for rows in chunks:
        block = np.array(rows, dtype=object)  # one C-level copy; faster than transposing tuples in Python
        for i, name in enumerate(RUN_ROW):
            column = block[:, i]
            parts[name].append(vocabs[name].encode(column) if name in vocabs else column.astype(numeric[name]))

    def joined(name: str, dtype) -> np.ndarray:
        return np.concatenate(parts[name]) if parts[name] else np.zeros(0, dtype=dtype)

    return RunTable(pk=joined("pk", np.int64), codes={k: joined(k, np.int32) for k in KEYS},
                    vocab={k: v.words() for k, v in vocabs.items()}, flags=joined("flags", np.int8),
                    worst=joined("worst", np.int8), mistakes=joined("mistakes", np.int32),
                    started_ms=joined("started_ms", np.int64))


def read_blast(chunks: Iterable[list[tuple]]) -> pd.DataFrame:
    """Rows of ``blast_rows`` → a DataFrame: ``pk`` and one column per ``BLAST_NAMES``."""
    frames = [pd.DataFrame.from_records(rows, columns=["pk", *BLAST_NAMES]) for rows in chunks]
    if not frames:
        return pd.DataFrame({n: pd.Series(dtype="int64" if n == "pk" else "float64") for n in ["pk", *BLAST_NAMES]})
    out = pd.concat(frames, ignore_index=True)
    return out.astype({n: "float64" for n in BLAST_NAMES} | {"pk": "int64"})


def _group_ids(table: RunTable) -> tuple[np.ndarray, np.ndarray]:
    """Per run its group id, and per group the index of its first run."""
    if not len(table):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    sizes = [max(1, len(table.vocab[k])) for k in KEYS]
    stacked = [table.codes[k].astype(np.int64) for k in KEYS]
    if float(np.prod(sizes, dtype=float)) < 2 ** 62:
        key = np.ravel_multi_index(stacked, sizes)
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    else:  # pragma: no cover - vocabularies beyond 2^62 combinations
        _, first, inverse = np.unique(np.stack(stacked, axis=1), axis=0, return_index=True, return_inverse=True)
    return inverse.reshape(-1), first


def _reduce(values: np.ndarray, order: np.ndarray, starts: np.ndarray, ufunc) -> np.ndarray:
    return ufunc.reduceat(values[order], starts) if len(starts) else values[:0]


def grouped(table: RunTable, blast: pd.DataFrame) -> pd.DataFrame:
    """Counts, flags, severities, times and blast radius per ``KEYS`` group (strings as objects)."""
    inverse, first = _group_ids(table)
    table.group = inverse
    n_groups = len(first)
    flags = table.flags

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=mask, minlength=n_groups).astype(np.int64)

    order = np.argsort(inverse, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(inverse[order]) != 0]) if len(order) else order
    out = pd.DataFrame({k: np.asarray(table.vocab[k], dtype=object)[table.codes[k][first]] if n_groups
                        else np.zeros(0, dtype=object) for k in KEYS})
    out["runs"] = np.bincount(inverse, minlength=n_groups).astype(np.int64)
    out["infra_errors"] = count((flags & INFRA) > 0)
    out["with_mistake"] = count((flags & DIRTY) > 0)
    out["agent_errors"] = count((flags & AGENT_ERROR) > 0)
    out["mistakes"] = count(table.mistakes)
    worst = _reduce(table.worst, order, starts, np.maximum).astype("float64")
    out["worst"] = np.where(worst >= 0, worst, np.nan)
    out["first_ms"] = _reduce(table.started_ms, order, starts, np.minimum)
    out["last_ms"] = _reduce(table.started_ms, order, starts, np.maximum)
    idx = np.searchsorted(table.pk, blast["pk"].to_numpy()) if len(blast) else np.zeros(0, dtype=np.int64)
    rows = inverse[idx]
    for name in BLAST_NAMES:
        values = blast[name].to_numpy(dtype="float64")
        total = np.bincount(rows, weights=values, minlength=n_groups)
        top = np.zeros(n_groups)
        np.maximum.at(top, rows, values)
        kind = "float64" if name.endswith("money_exposed") else "int64"
        out[name + ".total"] = total.astype(kind)
        out[name + ".max"] = top.astype(kind)
        out[name + ".nonzero"] = np.bincount(rows, weights=values > 0, minlength=n_groups).astype(np.int64)
    return out


def value_counts(table: RunTable, blast: pd.DataFrame, name: str) -> pd.DataFrame:
    """How many runs have each non-zero value of one blast column, per workflow."""
    nz = blast[blast[name] > 0]
    if not len(nz):
        return pd.DataFrame({"workflow": pd.Series(dtype="object"), "value": pd.Series(dtype="float64"),
                             "count": pd.Series(dtype="int64")})
    idx = np.searchsorted(table.pk, nz["pk"].to_numpy())
    df = pd.DataFrame({"workflow": _words(table, "workflow", idx), "value": nz[name].to_numpy(dtype="float64")})
    return df.groupby(["workflow", "value"]).size().rename("count").reset_index()


def _words(table: RunTable, key: str, idx: np.ndarray) -> np.ndarray:
    return np.asarray(table.vocab[key], dtype=object)[table.codes[key][idx]]


def top_per_workflow(table: RunTable, idx: np.ndarray, sort_keys: list[np.ndarray], per_workflow: int) -> list[int]:
    """The pks of the first ``per_workflow`` runs of each workflow among ``idx``, largest sort keys first."""
    if not len(idx):
        return []
    wf = table.codes["workflow"][idx]
    order = np.lexsort([-k for k in reversed(sort_keys)] + [wf])
    ranked_wf = wf[order]
    starts = np.searchsorted(ranked_wf, ranked_wf, side="left")
    keep = (np.arange(len(order)) - starts) < per_workflow
    return [int(p) for p in table.pk[idx[order[keep]]]]


def bad_runs(table: RunTable, per_workflow: int) -> list[int]:
    """The worst runs per workflow: most severe mistake first, then the newest."""
    idx = np.flatnonzero((table.worst >= 0) | ((table.flags & AGENT_ERROR) > 0))
    return top_per_workflow(table, idx, [table.worst[idx].astype(np.int64), table.pk[idx]], per_workflow)


def worst_runs(table: RunTable, blast: pd.DataFrame, dim: str, per_workflow: int) -> list[int]:
    """The runs with the largest potential value of ``dim`` (ties: larger realised value, then newest)."""
    pot, real = blast[f"potential.{dim}"].to_numpy(), blast[f"realised.{dim}"].to_numpy()
    keep = (pot > 0) | (real > 0)
    if not keep.any():
        return []
    idx = np.searchsorted(table.pk, blast["pk"].to_numpy()[keep])
    return top_per_workflow(table, idx, [pot[keep], real[keep], table.pk[idx]], per_workflow)
