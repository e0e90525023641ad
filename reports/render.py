"""Render a report dict as HTML (Jinja2, autoescape on), Markdown or JSON, and write it by extension.

The HTML page is self-contained: inline CSS, figures as ``data:image/png;base64`` URIs, no scripts,
no fonts, nothing fetched, and a Content-Security-Policy that would block anything that tried.
Every piece of text from the ledger (scenario ids, mistake details, reasons, names) is escaped:
by Jinja2's autoescape in HTML, and by ``md`` (``&``, ``<``, ``>``, ``|``, backslash and inline
markup characters) in Markdown tables; control characters and bidi overrides are first made visible
by ``harness.safetext.clean``, as on the terminal.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from harness.errors import UsageError
from harness.models import BLAST_DIMENSIONS, SEVERITIES
from harness.safetext import clean_tree

FORMATS = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown", ".json": "json"}
TEMPLATES = Path(__file__).resolve().parent / "templates"


def format_for(path: str | Path) -> str:
    """The format a path asks for by its extension; UsageError for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        shown = suffix or "no extension"
        raise UsageError(f"--out {str(path)!r}: cannot write a report as {shown}.",
                         expected="a path ending in .html, .md or .json")
    return FORMATS[suffix]


# -- formatting helpers (shared by the HTML filters and the Markdown renderer) ---------------------------
def pct(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}%}"


def num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"
    return str(value)


def value(v: Any) -> str:
    """A criterion's required/measured value: numbers, text, lists, None."""
    if isinstance(v, float) and 0 < abs(v) < 1:
        return f"{v:.4g}"
    if isinstance(v, list | tuple):
        return ", ".join(value(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}: {value(x)}" for k, x in v.items())
    return num(v)


def short(digest: Any, n: int = 12) -> str:
    return "—" if not digest else str(digest)[:n]


PASS_K_HEADER = "pass^k (k = 1 / 2 / 4 / 8)"
PASS_K_NOTE = ("pass^k: the chance that k repeats of the same scenario all pass (per scenario and agent version, "
               "c passes in n runs: C(c,k)/C(n,k), averaged over the scenarios with at least k runs; errored runs "
               "count as not passed; — where no scenario has k runs).")


def _pass_k_by_k(entries: Any) -> dict[int, dict[str, Any]]:
    return {int(e["k"]): e for e in (entries or [])}


def pass_k_values(entries: Any, ks: tuple[int, ...] = (1, 2, 4, 8)) -> str:
    """``pass_k`` entries as "97.0% / 94.1% / 88.6% / —" (k = 1, 2, 4, 8; — where no scenario has k runs)."""
    by_k = _pass_k_by_k(entries)
    return " / ".join(pct(by_k[k]["value"]) if k in by_k else "—" for k in ks)


def pass_k_scenarios(entries: Any, ks: tuple[int, ...] = (1, 2, 4, 8)) -> str:
    """How many scenarios each average covers, as "30 / 30 / 30 / 28 scenarios"."""
    by_k = _pass_k_by_k(entries)
    if not by_k:
        return "no scenarios"
    counts = [num(by_k[k]["scenarios"]) if k in by_k else "0" for k in ks]
    return " / ".join(counts) + (" scenario" if counts == ["1"] * len(ks) else " scenarios")


# -- JSON -----------------------------------------------------------------------------------------------
def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item") and not isinstance(obj, str):  # numpy scalars
        return _clean(obj.item())
    return obj


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(_clean(report), indent=2, default=str, ensure_ascii=False) + "\n"


# -- HTML -----------------------------------------------------------------------------------------------
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=pct, num=num, value=value, short=short, pass_k_values=pass_k_values,
                       pass_k_scenarios=pass_k_scenarios)
    env.globals.update(SEVERITIES=SEVERITIES, BLAST_DIMENSIONS=BLAST_DIMENSIONS, heat=heat,
                       PASS_K_HEADER=PASS_K_HEADER, PASS_K_NOTE=PASS_K_NOTE)
    return env


def heat(count: int, top: int) -> str:
    """A background colour for a matrix cell (a computed number: never text from the ledger)."""
    if not count or not top:
        return ""
    alpha = 0.12 + 0.6 * min(1.0, count / top)
    return f"background: rgba(214, 39, 40, {alpha:.2f})"


def render_html(report: dict[str, Any], images: dict[str, str] | None = None) -> str:
    """``images``: figure key → ``data:`` URI (see ``plots.all_figures``)."""
    images = images or {}
    report = clean_tree(report)  # control characters and bidi overrides shown, not obeyed
    for key, uri in images.items():
        if not uri.startswith("data:image/png;base64,"):
            raise ValueError(f"figure {key} is not an embedded PNG")
    return _environment().get_template("report.html.j2").render(r=report, images=images)


# -- Markdown -------------------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*\[\]])")


def md(text: Any) -> str:
    """Text from the ledger as inert Markdown: no HTML, no links or emphasis, no table breaks."""
    s = num(text) if not isinstance(text, str) else text
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_SPECIAL.sub(r"\\\1", s)
    s = s.replace("|", "\\|")
    return re.sub(r"\s*[\r\n]+\s*", " ", s)


def md_code(text: str) -> str:
    """A command or id in a code span, unless it holds something a code span cannot carry safely."""
    if re.search(r"[`|<>&\r\n]", text):
        return md(text)
    return f"`{text}`"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out + [""]


def render_markdown(report: dict[str, Any], image_paths: dict[str, str] | None = None) -> str:
    """Tables and verdicts; ``image_paths`` (figure key → relative path) adds the figures as images."""
    imgs = image_paths or {}
    report = clean_tree(report, multiline=False)  # control characters and bidi overrides shown, not obeyed
    o = report["overall"]
    t = o["totals"]
    lines = ["# Trust report", ""]
    f = report["filters"]
    lines.append(f"Generated {md(report['generated_at'])} from {md(report['ledger'])}; policy "
                 f"{md(report['policy']['path'] or '—')} (sha256 {md(short(report['policy']['digest']))}). "
                 f"Workflows: {md(', '.join(f['workflows']))}; since: {md(f['since'] or 'the first run')}; "
                 f"agent: {md(f['agent'] or 'all')}.")
    lines.append("")
    lines += ["## Verdicts", ""]
    lines += [f"- **{md(w['workflow'])}**: {md(w['summary'])}." for w in o["workflows"]] + [""]
    lines += _table(["workflow", "stage", "next", "agent version", "next gate", "runs", "mistake rate", "upper bound",
                     "threshold", "worst severity"],
                    [[md(w["workflow"]), md(w["stage"]), md(w["next_stage"] or "—"),
                      md(f"{v['agent']}@{v['agent_version']}"), _gate_word(v), num(v["runs"]),
                      pct(v["mistake_rate"], 2), pct(v["upper_bound"], 2), pct(v["threshold"], 2),
                      md(v["worst_severity"] or "none")]
                     for w in o["workflows"] for v in (w["versions"] or [_no_version(w)])])
    lines += ["Each row is one agent version's own runs in that workflow; the gate judges each version on its "
              "own evidence. Pooled per workflow (every version together, never what a gate judges): "
              + "; ".join(f"{md(w['workflow'])} {num(w['pooled']['runs'])} runs, "
                          f"{pct(w['pooled']['mistake_rate'], 2)} (bound {pct(w['pooled']['upper_bound'], 2)})"
                          for w in o["workflows"]) + ".", ""]
    lines += ["## All workflows together (pooled)", ""]
    if t["runs"] == 0:
        lines += ["**No evidence:** no runs match this report's filters.", ""]
    else:
        lines.append(f"{num(t['runs'])} runs ({num(t['infra_errors'])} harness/environment errors not counted); "
                     f"pass rate {pct(t['pass_rate'])}, pass^k {pass_k_values(t['pass_k'])} "
                     f"({pass_k_scenarios(t['pass_k'])}); {num(t['with_mistake'])} of {num(t['counted_runs'])} counted "
                     f"runs with a mistake: {pct(t['mistake_rate'], 2)} (95% upper bound {pct(t['upper_bound'], 2)}); "
                     f"worst severity {md(t['worst_severity'] or 'none')}.")
        lines.append("")
    if "overview" in imgs:
        lines += [f"![mistake rate per workflow]({imgs['overview']})", ""]
    lines += ["### Agent versions", ""] + _agents_md(o["agents"], with_workflows=True)
    lines += ["### Mistakes by type and severity", ""] + _mistakes_md(o["mistakes"])
    if "overall-mistakes" in imgs:
        lines += [f"![mistakes by type and severity]({imgs['overall-mistakes']})", ""]
    for i, w in enumerate(report["workflows"]):
        lines += _workflow_md(i, w, imgs)
    return "\n".join(lines).rstrip() + "\n"


def _counted_text(severities: list[str]) -> str:
    return "any severity" if len(severities) == len(SEVERITIES) else md("/".join(severities)) + " mistakes"


def _no_version(w: dict[str, Any]) -> dict[str, Any]:
    """The row of a workflow without any agent version to judge."""
    return {"agent": "—", "agent_version": "—", "next_stage": w["next_stage"], "next_gate_met": None, "unmet": [],
            "runs": 0, "mistake_rate": None, "upper_bound": None, "threshold": w["threshold"],
            "worst_severity": None}


def _gate_word(v: dict[str, Any]) -> str:
    if v["next_stage"] is None:
        return "top of ladder"
    if v["next_gate_met"] is None:
        return "no evidence"
    if v["next_gate_met"]:
        return "**met**"
    return "not met: " + md(", ".join(v["unmet"]))


def _agents_md(agents: list[dict[str, Any]], with_workflows: bool = False) -> list[str]:
    if not agents:
        return ["No runs.", ""]
    headers = ["agent", "version", "runs", "pass rate", PASS_K_HEADER, "mistake rate", "upper bound", "worst severity",
               "potential blast (entities / irreversible / external / money / files)", "realised blast"]
    if with_workflows:
        headers.insert(2, "workflows")
    rows = []
    for a in agents:
        b = a["blast_radius"]
        row = [md(a["agent"]), md(a["agent_version"]), num(a["runs"]), pct(a["pass_rate"]),
               f"{pass_k_values(a['pass_k'])} ({pass_k_scenarios(a['pass_k'])})", pct(a["mistake_rate"], 2),
               pct(a["upper_bound"], 2), md(a["worst_severity"] or "none"),
               " / ".join(num(b["potential"][d]["total"]) for d in BLAST_DIMENSIONS),
               " / ".join(num(b["realised"][d]["total"]) for d in BLAST_DIMENSIONS)]
        if with_workflows:
            row.insert(2, md(", ".join(a.get("workflows", []))))
        rows.append(row)
    return _table(headers, rows) + [PASS_K_NOTE, ""]


def _production_md(prod: dict[str, Any]) -> list[str]:
    if not prod["by_agent"]:
        return ["No production sessions in this report's selection.", ""]
    return ["Sessions through the governing gateway, apart from the sandbox runs: not runs, never in a mistake rate.",
            ""] + _table(["agent version", "sessions", "tool calls", "reads forwarded", "writes forwarded", "refused",
                          "suggestions (pending / accepted / rejected)", "planned", "environment errors"],
                         [[md(f"{a['agent']}@{a['agent_version']}"), num(a["sessions"]), num(a["calls"]),
                           num(a["forwarded_reads"]), num(a["forwarded_writes"]), num(a["refused"]),
                           f"{num(a['suggestions'])} ({num(a['suggestions_pending'])} / "
                           f"{num(a['suggestions_accepted'])} / {num(a['suggestions_rejected'])})",
                           num(a["planned"]), num(a["env_errors"])] for a in prod["by_agent"]])


def _mistakes_md(m: dict[str, Any]) -> list[str]:
    if not m["by_type_severity"]:
        return ["No mistakes recorded.", ""]
    rows = [[md(r["type"]), *(num(r[s]) for s in SEVERITIES), num(r["total"])] for r in m["by_type_severity"]]
    rows.append(["**all**", *(num(m["by_severity"][s]) for s in SEVERITIES), num(m["total"])])
    return _table(["type", *SEVERITIES, "total"], rows)


def _workflow_md(i: int, w: dict[str, Any], imgs: dict[str, str]) -> list[str]:
    v, t = w["verdict"], w["totals"]
    lines = [f"## {md(w['workflow'])}", ""]
    lines.append(f"**Verdict:** {md(v['summary'])}." + (f" Owner: {md(v['owner'])}." if v["owner"] else "")
                 + (f" Granted to {md(v['granted_to'])} at {md(v['entered_at'])}." if v["granted_to"] else ""))
    lines.append("")
    if v.get("recertification") and v["recertification"].get("due"):
        lines += [f"Recertification due since {md(v['recertification']['due_at'])}.", ""]
    for tr in v["tracks"]:
        if not tr["criteria"]:
            continue
        state = "met" if tr["ready"] else "not met: " + ", ".join(tr["unmet"])
        lines += [f"Gate to {md(v['next_stage'])} for {md(tr['agent'])}@{md(tr['agent_version'])}: **{md(state)}**", ""]
        crit = tr["criteria"] + ([tr["signoffs"]] if tr["signoffs"] else [])
        lines += _table(["criterion", "required", "measured", "met", "detail"],
                        [[md(c["name"]), md(value(c["required"])), md(value(c["measured"])),
                          "yes" if c["met"] else "**no**", md(c["detail"])] for c in crit])
    if t["runs"] == 0:
        lines += ["**No evidence:** no runs of this workflow match the report's filters.", ""]
    else:
        lines += [f"{num(t['runs'])} runs, {num(t['infra_errors'])} harness/environment errors; "
                  f"pass rate {pct(t['pass_rate'])}, pass^k {pass_k_values(t['pass_k'])} "
                  f"({pass_k_scenarios(t['pass_k'])}); "
                  f"{num(t['with_mistake'])} of {num(t['counted_runs'])} counted runs with a mistake "
                  f"({_counted_text(w['counted_severities'])} or an agent error): {pct(t['mistake_rate'], 2)}, "
                  f"{t['confidence']:.0%} upper bound {pct(t['upper_bound'], 2)}"
                  + (f" vs threshold {pct(w['mistake_rate_series']['threshold'], 2)}"
                     if w["mistake_rate_series"]["threshold"] is not None else "") + ".", ""]
    for key, alt in (("rate", "mistake rate over time"), ("blast", "blast radius distributions"),
                     ("stages", "potential vs realised by stage"), ("mistakes", "mistakes by type")):
        if f"{i}-{key}" in imgs:
            lines += [f"![{alt}]({imgs[f'{i}-{key}']})", ""]
    lines += ["### Agent versions", ""] + _agents_md(w["agents"])
    lines += ["### Production sessions (at work)", ""] + _production_md(w["production"])
    lines += ["### Blast radius", ""]
    dims = w["blast_radius"]["dimensions"]
    lines += _table(["dimension", "potential total", "potential max", "potential p95", "realised total",
                     "realised max", "realised p95", "runs with potential > 0"],
                    [[d.replace("_", " "), num(dims[d]["potential"]["total"]), num(dims[d]["potential"]["max"]),
                      num(dims[d]["potential"]["p95"]), num(dims[d]["realised"]["total"]),
                      num(dims[d]["realised"]["max"]), num(dims[d]["realised"]["p95"]),
                      num(dims[d]["potential"]["runs_nonzero"])] for d in BLAST_DIMENSIONS])
    if w["blast_radius"]["by_stage"]:
        lines += ["By stage (contained = potential − realised):", ""]
        lines += _table(["stage", "runs", *(d.replace("_", " ") + " pot/real" for d in BLAST_DIMENSIONS)],
                        [[md(s["stage"]), num(s["runs"]),
                          *(f"{num(s['potential'][d])} / {num(s['realised'][d])}" for d in BLAST_DIMENSIONS)]
                         for s in w["blast_radius"]["by_stage"]])
    lines += ["### Mistakes", ""] + _mistakes_md(w["mistakes"])
    sc = w["scenarios"]
    if sc["rows"]:
        lines += [f"### Scenarios ({sc['covered']} of {sc['known']} covered)", ""]
        top = sc["rows"][:15]
        lines += _table(["scenario", "runs", "pass", "fail", "error", "with mistake", *sc["mistake_types"]],
                        [[md(r["scenario"]), num(r["runs"]), num(r["pass"]), num(r["fail"]), num(r["error"]),
                          num(r["with_mistake"]), *(num(r["mistakes"][m]) for m in sc["mistake_types"])] for r in top])
        if len(sc["rows"]) > len(top):
            lines += [f"({len(sc['rows']) - len(top)} more scenarios in the HTML and JSON reports.)", ""]
    p = w["plans"]
    evidence = (f"{num(p['reviewed'])} plans reviewed: {num(p['approved_unchanged'])} approved unchanged, "
                f"{num(p['partially_approved'])} partially approved (edited), {num(p['rejected'])} rejected "
                f"(share approved unchanged {pct(p['share_approved_unchanged'])}); {num(p['pending'])} pending, "
                f"{num(p['stale'])} stale.")
    lines += ["### Approval evidence", "", evidence, ""]
    lines += ["### Stage history", ""]
    if not w["stage_history"]:
        lines += ["No transitions: the workflow has stayed in sandbox.", ""]
    else:
        lines += _table(["#", "when", "change", "by", "reason", "sign-offs", "evidence"],
                        [[num(h["seq"]), md(h["at"]), md(f"{h['kind']} {h['from_stage']} → {h['to_stage']}")
                          + (" **override**" if h["override"] else ""), md(h["actor"]), md(h["reason"]),
                          md("; ".join(f"{s['person']} ({', '.join(s['roles'])}): {s['reason']}" for s in h["signoffs"])
                             or "—"), md(short(h["evidence_digest"]))] for h in w["stage_history"]])
    lines += ["### Worst runs", ""]
    if not w["bad_runs"]:
        lines += ["No run with a mistake or an agent error.", ""]
    else:
        lines += _table(["run", "scenario", "agent", "stage", "worst", "mistakes", "explain"],
                        [[md_code(r["run_id"]), md(r["scenario"]), md(f"{r['agent']}@{r['agent_version']}"),
                          md(r["stage"]), md(r["worst_severity"] or r["outcome"]),
                          md("; ".join(f"{m['severity']} {m['type']} on {m['entity']}: {m['detail']}"
                                       for m in r["mistakes"][:2]) or (r["error_cause"] or "—")),
                          md_code(r["explain"])] for r in w["bad_runs"]])
    return lines


# -- files ----------------------------------------------------------------------------------------------
def write_report(report: dict[str, Any], out: str | Path, *, images: bool = True) -> list[Path]:
    """Write ``report`` to ``out`` in the format its extension names. Returns the files written.

    HTML embeds its figures; Markdown writes them as PNG files in ``<name>_files/`` next to it
    (``images=False`` leaves them out); JSON carries the numbers only.
    """
    out = Path(out)
    kind = format_for(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = [out]
    if kind == "json":
        out.write_text(render_json(report), encoding="utf-8")
        return written
    from reports import plots

    figures = plots.all_figures(report) if images else {}
    if kind == "html":
        out.write_text(render_html(report, {k: plots.data_uri(v) for k, v in figures.items()}), encoding="utf-8")
        return written
    folder = out.with_name(out.stem + "_files")
    paths = {}
    if figures:
        folder.mkdir(exist_ok=True)
        for key, png in figures.items():
            path = folder / f"{key}.png"
            path.write_bytes(png)
            written.append(path)
            paths[key] = f"{folder.name}/{key}.png"
    out.write_text(render_markdown(report, paths), encoding="utf-8")
    return written
