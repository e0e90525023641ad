"""The report's figures, drawn with matplotlib's Agg canvas from the report dict alone.

No pyplot (no global state, safe in threads); every figure is a PNG (no metadata, so no URL is
written into it) returned as bytes; ``data_uri`` turns one into an ``<img src>`` value.
"""

from __future__ import annotations

import base64
import io
import math
from itertools import pairwise
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullLocator, PercentFormatter

from harness.models import BLAST_DIMENSIONS, SEVERITIES

DPI = 100
SEVERITY_COLOURS = {"low": "#9ecae1", "medium": "#fdae6b", "high": "#e6550d", "critical": "#a50f15"}
TRACK_COLOURS = ("#1f77b4", "#9467bd", "#2ca02c", "#8c564b", "#17becf", "#7f7f7f")
STAGE_COLOURS = {"sandbox": "#f2f2f2", "suggest": "#e5f0fa", "approve": "#fdf1e0", "autonomous": "#e8f5e9"}
BASIS_COLOURS = {"potential": "#fdae6b", "realised": "#d62728"}
MAX_TRACKS = 6


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _new(width: float, height: float, **margins: float) -> Figure:
    """A figure with fixed margins (inches): constrained layout would cost half a second a figure."""
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    m = {"left": 0.75, "right": 0.15, "bottom": 0.55, "top": 0.35, **margins}
    fig.subplots_adjust(left=m["left"] / width, right=1 - m["right"] / width, bottom=m["bottom"] / height,
                        top=1 - m["top"] / height, wspace=m.get("wspace", 0.3))
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, facecolor="white")
    return buf.getvalue()


def _legend_on_top(fig: Figure, ax: Any) -> None:
    """One legend for the figure, above the plots: never over the bars."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncols=len(labels), fontsize=7, frameon=False)


def _text(value: Any) -> str:
    """Labels come from the ledger: keep matplotlib from reading ``$…$`` as mathtext."""
    return str(value).replace("$", r"\$")


def _broken_at_gaps(points: list[dict]) -> tuple[list, list, list, list]:
    """x, rate, lower, upper — with a NaN where the agent version had no runs for a long stretch, so the
    line is not drawn across another version's runs."""
    xs, rate, lo, hi = [], [], [], []
    steps = sorted(b["run_index"] - a["run_index"] for a, b in pairwise(points))
    typical = steps[len(steps) // 2] if steps else 0
    gap = max(5 * typical, points[0]["runs_in_window"] if points else 0)
    for i, p in enumerate(points):
        if i and typical and p["run_index"] - points[i - 1]["run_index"] > gap:
            for seq in (xs, rate, lo, hi):
                seq.append(float("nan"))
        xs.append(p["run_index"])
        rate.append(p["rate"])
        lo.append(p["lower"])
        hi.append(p["upper"])
    return xs, rate, lo, hi


def rate_figure(section: dict[str, Any]) -> bytes | None:
    """Rolling mistake rate per agent version, its confidence band, the gate's threshold, stage spans.

    The versions are drawn above the threshold line and the axis starts a little below zero, so a
    version at 0% stays visible; the legend sits under the plot, never over the data.
    """
    s = section["mistake_rate_series"]
    tracks = [t for t in s["tracks"] if t["points"]][:MAX_TRACKS]
    if not tracks:
        return None
    entries = len(tracks) + len({sp["stage"] for sp in s["stage_spans"]}) + (s.get("threshold") is not None)
    legend_rows = math.ceil(entries / 2)
    fig = _new(8.6, 3.0 + 0.2 * legend_rows, bottom=0.75 + 0.2 * legend_rows)
    ax = fig.add_subplot()
    seen_stages = set()
    for span in s["stage_spans"]:
        label = None if span["stage"] in seen_stages else f"runs at {span['stage']}"
        seen_stages.add(span["stage"])
        ax.axvspan(span["from_run"] - 0.5, span["to_run"] + 0.5, color=STAGE_COLOURS.get(span["stage"], "#eeeeee"),
                   zorder=0, label=label, lw=0)
    top = 0.0
    threshold = s.get("threshold")
    if threshold is not None:
        ax.axhline(threshold, color="#c62828", ls=(0, (5, 3)), lw=1.2, zorder=2.5,
                   label=_text(f"{s['threshold_label']}: upper bound ≤ {threshold:.1%}"))
        top = threshold
    for i, t in enumerate(tracks):
        colour = TRACK_COLOURS[i % len(TRACK_COLOURS)]
        xs, rate, lo, hi = _broken_at_gaps(t["points"])
        top = max(top, max(h for h in hi if not math.isnan(h)))
        label = _text(f"{t['agent']}@{t['agent_version']} (rolling {t['window_runs']} runs)")
        if len(xs) == 1:
            ax.errorbar(xs, rate, yerr=[[rate[0] - lo[0]], [hi[0] - rate[0]]], fmt="o", color=colour, label=label,
                        capsize=4, zorder=4)
        else:
            ax.fill_between(xs, lo, hi, color=colour, alpha=0.18, lw=0, zorder=2)
            ax.plot(xs, rate, color=colour, lw=1.8, label=label, zorder=4 + i * 0.1)
    top = min(1.0, max(0.02, top * 1.15))
    ax.set_ylim(-0.04 * top, top)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("run (oldest first)")
    ax.set_ylabel("runs with a mistake")
    ax.set_title(f"Mistake rate, {s['confidence']:.0%} Clopper-Pearson band", fontsize=10, y=1.0, pad=4)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, frameon=False)
    return _png(fig)


def blast_figure(section: dict[str, Any]) -> bytes | None:
    """Per dimension: how many runs reached each value, potential next to realised (log scale)."""
    dims = section["blast_radius"]["dimensions"]
    shown = [d for d in BLAST_DIMENSIONS if dims[d]["potential"]["max"] or dims[d]["realised"]["max"]]
    if not section["totals"]["runs"] or not shown:
        return None
    fig = _new(2.3 * len(shown) + 0.8, 3.1, left=0.6, bottom=0.75, top=0.6, wspace=0.35)
    axes = fig.subplots(1, len(shown), squeeze=False)[0]
    for ax, dim in zip(axes, shown):
        bins = dims[dim]["histogram"]
        xs = range(len(bins))
        width = 0.4
        ax.bar([x - width / 2 for x in xs], [max(b["potential"], 0) for b in bins], width,
               color=BASIS_COLOURS["potential"], label="potential")
        ax.bar([x + width / 2 for x in xs], [max(b["realised"], 0) for b in bins], width,
               color=BASIS_COLOURS["realised"], label="realised")
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.7)
        ax.yaxis.set_minor_locator(NullLocator())  # minor ticks on a log axis cost more than the bars
        step = max(1, len(bins) // 6)
        ax.set_xticks(list(xs)[::step], [b["label"] for b in bins][::step], fontsize=7, rotation=30)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(dim.replace("_", " "), fontsize=9, y=1.0, pad=4)
    axes[0].set_ylabel("runs", fontsize=8)
    _legend_on_top(fig, axes[-1])
    return _png(fig)


def stages_figure(section: dict[str, Any]) -> bytes | None:
    """Per dimension and stage: potential vs realised totals (what the stage contained)."""
    stages = section["blast_radius"]["by_stage"]
    if not stages or not any(s["potential"][d] or s["realised"][d] for s in stages for d in BLAST_DIMENSIONS):
        return None
    fig = _new(11, 2.9, left=0.6, bottom=0.7, top=0.6, wspace=0.35)
    axes = fig.subplots(1, len(BLAST_DIMENSIONS))
    names = [s["stage"] for s in stages]
    for ax, dim in zip(axes, BLAST_DIMENSIONS):
        xs = range(len(stages))
        ax.bar([x - 0.2 for x in xs], [s["potential"][dim] for s in stages], 0.4, color=BASIS_COLOURS["potential"],
               label="potential")
        ax.bar([x + 0.2 for x in xs], [s["realised"][dim] for s in stages], 0.4, color=BASIS_COLOURS["realised"],
               label="realised")
        ax.set_xticks(list(xs), names, fontsize=7, rotation=20)
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(dim.replace("_", " "), fontsize=9, y=1.0, pad=4)
    axes[-1].legend(fontsize=7)
    return _png(fig)


def mistakes_figure(mistakes: dict[str, Any]) -> bytes | None:
    """Mistakes by type, stacked by severity."""
    rows = mistakes["by_type_severity"]
    if not rows:
        return None
    fig = _new(7.5, 0.45 * len(rows) + 1.35, left=1.45, bottom=0.5, top=0.4)
    ax = fig.add_subplot()
    labels = [_text(r["type"]) for r in rows][::-1]
    left = [0] * len(rows)
    for sev in SEVERITIES:
        values = [r[sev] for r in rows][::-1]
        ax.barh(labels, values, left=left, color=SEVERITY_COLOURS[sev], label=sev)
        left = [a + b for a, b in zip(left, values)]
    ax.set_xlabel("mistakes")
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7, ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def overview_figure(report: dict[str, Any]) -> bytes | None:
    """Per workflow and agent version: its own mistake rate and upper bound against the next gate's threshold."""
    rows = [(f"{w['workflow']} · {v['agent']}@{v['agent_version']}", v) for w in report["overall"]["workflows"]
            for v in w["versions"] if v["mistake_rate"] is not None]
    if not rows:
        return None
    fig = _new(8.6, 0.42 * len(rows) + 1.3, left=max(1.0, 0.07 * max(len(label) for label, _ in rows)), top=0.15)
    ax = fig.add_subplot()
    ys = list(range(len(rows)))[::-1]
    for y, (_, v) in zip(ys, rows, strict=True):
        if v["threshold"] is not None:
            ax.plot([v["threshold"]], [y], marker="|", ms=18, mew=2.5, color="#c62828", zorder=2)
        colour = "#1b7f3b" if v["next_gate_met"] else "#1f77b4"
        ax.plot([v["mistake_rate"], v["upper_bound"]], [y, y], color=colour, lw=3, solid_capstyle="butt", zorder=3)
        ax.plot([v["mistake_rate"]], [y], "o", color=colour, zorder=4, clip_on=False)
    ax.set_yticks(ys, [_text(label) for label, _ in rows], fontsize=8)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlim(left=-0.015 * max(ax.get_xlim()[1], 0.01))  # a version at 0% stays clear of the axis
    ax.set_xlabel("mistake rate: dot = measured, bar end = upper bound, red mark = next gate's threshold "
                  "(green: gate met)", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def all_figures(report: dict[str, Any]) -> dict[str, bytes]:
    """Every figure of the report by key (``overview``, ``overall-mistakes``, ``<i>-rate`` …)."""
    out: dict[str, bytes] = {}

    def put(key: str, png: bytes | None) -> None:
        if png is not None:
            out[key] = png

    put("overview", overview_figure(report))
    put("overall-mistakes", mistakes_figure(report["overall"]["mistakes"]))
    for i, section in enumerate(report["workflows"]):
        put(f"{i}-rate", rate_figure(section))
        put(f"{i}-blast", blast_figure(section))
        put(f"{i}-stages", stages_figure(section))
        put(f"{i}-mistakes", mistakes_figure(section["mistakes"]))
    return out
