"""Telling a run as a timeline a person can read after an incident.

Everything shown comes from the log; agent output and scenario data are untrusted, so every
string is passed through ``clean`` before it reaches a terminal: control characters (ANSI escape
sequences, carriage returns, backspaces), bidirectional overrides and zero-width characters are
shown as visible escapes (``\\x1b``, ``\\u202e``), never interpreted. The rich variant adds styles
only to text this module writes; untrusted text is appended as plain ``Text`` (no markup parsing).
"""

from __future__ import annotations

import json
from typing import Any

from harness.audit._verify import VerifyReport, short, verify_events
from harness.safetext import clean

Segment = tuple[str, str | None]  # (text, rich style)
Line = list[Segment]


def _val(v: Any, limit: int = 80) -> str:
    """A value the way Python would write it in a call: ``'deal-1'``, ``25``, ``{"a": 1}``."""
    if isinstance(v, str):
        if len(v) > limit:
            v = v[:limit] + "…"
        return clean(repr(v), None)
    if v is None or isinstance(v, (bool, int, float)):
        return clean(repr(v) if not isinstance(v, bool) else str(v), None)
    try:
        text = json.dumps(v, ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError):
        text = repr(v)
    return clean(text, limit)


def _call(tool: Any, args: Any) -> str:
    name = clean(tool if tool is not None else "?", 80)
    if isinstance(args, dict):
        inner = ", ".join(f"{clean(k, 40)}={_val(v)}" for k, v in args.items())
    elif args is None:
        inner = ""
    else:
        inner = _val(args)
    if len(inner) > 400:
        inner = inner[:400] + "…"
    return f"{name}({inner})"


def _kv(d: Any, limit: int = 300) -> str:
    if isinstance(d, dict):
        text = ", ".join(f"{clean(k, 40)}={_val(v, 60)}" for k, v in d.items())
    else:
        text = _val(d, limit)
    return text if len(text) <= limit else text[:limit] + "…"


def _p(ev: dict) -> dict:
    p = ev.get("payload")
    return p if isinstance(p, dict) else {}


class _Missing:
    pass


_MISSING = _Missing()

_VERBS = {"update": "changed", "create": "created", "delete": "deleted", "send": "sent",
          "move": "moved", "write": "wrote"}

_DECISIONS = {
    "allowed": ("allowed", "green"),
    "suggested": ("suggested (nothing changed)", "cyan"),
    "planned": ("planned (applies only if approved)", "cyan"),
    "blocked": ("blocked", "bold red"),
    "invalid": ("invalid call", "bold red"),
}


def _change_text(p: dict) -> tuple[str, str | None]:
    op = p.get("op")
    entity = clean(p.get("entity") or p.get("backend") or "?", 120)
    verb = _VERBS.get(op, clean(op, 30)) if isinstance(op, str) and op else "changed"
    before, after = p.get("before"), p.get("after")
    detail = ""
    if isinstance(before, dict) and isinstance(after, dict):
        diffs = [f"{clean(k, 40)} {_val(before.get(k), 40)} → {_val(after.get(k), 40)}"
                 for k in sorted(set(before) | set(after), key=str)
                 if before.get(k, _MISSING) != after.get(k, _MISSING)]
        if op == "move" and not diffs:
            diffs = [f"→ {_val(after.get('path', after), 60)}"]
        detail = "; ".join(diffs[:8]) + (f"; … ({len(diffs) - 8} more fields)" if len(diffs) > 8 else "")
        if not diffs:
            detail = "(no field changed)"
    elif before is None and isinstance(after, dict):
        detail = _kv(after, 200)
    elif isinstance(before, dict) and after is None:
        detail = ""
    elif before is not None or after is not None:
        detail = f"{_val(before, 60)} → {_val(after, 60)}"
    flags = ["realised" if p.get("realised", True) else "not applied"]
    if p.get("reversible") is False:
        flags.append("irreversible")
    if p.get("external"):
        flags.append("left the organisation")
    if p.get("benign"):
        flags.append("benign")
    if not p.get("realised", True):
        verb = "would have " + verb
    text = f"{verb} {entity}" + (f" {detail}" if detail else "") + f" ({', '.join(flags)})"
    style = None if p.get("realised", True) else "dim"
    if p.get("realised", True) and (p.get("reversible") is False or p.get("external")):
        style = "yellow"
    return text, style


def _result_text(p: dict) -> tuple[str, str | None]:
    if p.get("ok") is False:
        err = p.get("error")
        msg = p.get("message")
        if isinstance(err, dict):
            msg = msg or err.get("message")
            err = err.get("code") or err.get("type") or ""
        text = "error" + (f" {clean(err, 60)}" if err else "") + (f" — {clean(msg, 240)}" if msg else "")
        return text, "red"
    parts = ["ok"]
    if p.get("status"):
        parts.append(f"({clean(p['status'], 30)})")
    if "result" in p:
        parts.append("— " + _val(p.get("result"), 240))
    if p.get("message"):
        parts.append(f"— {clean(p['message'], 200)}")
    return " ".join(parts), None


def _items(items: Any) -> str:
    if isinstance(items, list):
        if not items:
            return "none"
        return ", ".join(_val(i, 30) if not isinstance(i, int) else str(i) for i in items[:30]) + (
            "…" if len(items) > 30 else "")
    return _val(items, 60)


def _blast(d: Any) -> str:
    if not isinstance(d, dict):
        return "-"
    nonzero = [f"{clean(k, 40)} {_val(v, 20)}" for k, v in d.items() if v not in (0, 0.0, None, False)]
    return ", ".join(nonzero) if nonzero else "none"


def _render(events: list[dict], report: VerifyReport | None, checked_from_events: bool) -> list[Line]:
    out: list[Line] = []

    def line(*segs: Segment) -> None:
        out.append(list(segs))

    if not events:
        line(("No events: the audit log is empty or unreadable.", "bold red"))
    start = next((e for e in events if e.get("type") == "run_started"), None)
    sp = _p(start) if start else {}
    run_id = (start or (events[0] if events else {})).get("run_id")
    line(("Run ", "bold"), (clean(run_id or "?", 120), "bold"))
    if start is None and events:
        line(("  (no run_started event: the beginning of the log is missing)", "red"))
    if sp:
        scen = clean(sp.get("scenario") or "?", 160)
        extra = []
        if sp.get("title"):
            extra.append(f"“{clean(sp['title'], 160)}”")
        if sp.get("scenario_digest"):
            extra.append(f"digest {short(str(sp['scenario_digest']))}")
        if sp.get("scenario_path"):
            extra.append(f"from {clean(sp['scenario_path'], 200)}")
        line(("  scenario  ", "dim"), (scen + (" " + " ".join(extra) if extra else ""), None))
        wf = clean(sp.get("workflow") or "?", 120)
        line(("  workflow  ", "dim"), (wf + (f" (risk tier {clean(sp['tier'], 20)})" if sp.get("tier") else ""),
                                       None))
        agent = clean(sp.get("agent") or "?", 120)
        if sp.get("agent_version"):
            agent += "@" + clean(sp["agent_version"], 60)
        line(("  agent     ", "dim"), (agent, None))
        bits = [f"stage {clean(sp.get('stage') or '?', 30)}", f"seed {clean(sp.get('seed', '?'), 40)}"]
        if sp.get("trial") is not None:
            bits.append(f"trial {clean(sp['trial'], 20)}")
        line(("  run       ", "dim"), (", ".join(bits), None))
        bounds = sp.get("bounds")
        if isinstance(bounds, dict):  # only the bounds that are set
            bounds = {k: v for k, v in bounds.items() if v not in (None, [], {}, "")}
        if bounds:
            line(("  bounds    ", "dim"), (_kv(bounds, 400), None))
        if sp.get("world_digest"):
            line(("  world     ", "dim"), (f"digest {short(str(sp['world_digest']))}", None))
    if start and start.get("time"):
        line(("  started   ", "dim"), (clean(start["time"], 40), None))
    if sp:
        instr = sp.get("instruction")
        text = clean(instr, 2000, multiline=True) if instr else "(no instruction recorded)"
        first, *rest = text.split("\n")
        line(("Asked: ", "bold"), (first, None))
        for r in rest:
            line(("       ", None), (r, None))
        if sp.get("inputs"):
            line(("  inputs: ", "dim"), (_kv(sp["inputs"], 600), None))

    line(("", None))
    line(("Timeline", "bold"))
    width = len(str(max((e.get("seq", 0) for e in events if isinstance(e.get("seq"), int)), default=0))) + 1
    pad = " " * (width + 3)
    group: Any = _MISSING  # call_id of the tool call the following events belong to
    finished = None
    for ev in events:
        etype = ev.get("type")
        p = _p(ev)
        seq = ev.get("seq")
        num = f"#{seq}".ljust(width) if isinstance(seq, int) else "#?".ljust(width)
        head = (f"  {num} ", "dim")
        cid = p.get("call_id")
        child = (etype in ("gateway_decision", "tool_result", "change") and group is not _MISSING
                 and (cid is None or cid == group))
        if etype == "run_started" and ev is start:
            line(head, ("run started", None))
            continue
        if etype == "tool_call":
            group = cid
            text = "agent called " + _call(p.get("tool"), p.get("args"))
            if p.get("rationale"):
                text += f" — {_val(p['rationale'], 200)}"
            line(head, (text, "bold"))
            continue
        if etype not in ("gateway_decision", "tool_result", "change"):
            group = _MISSING
        lead: Segment = (pad, None) if child else head
        call_note = "" if child or cid is None else f" (call {clean(cid, 40)})"
        if etype == "gateway_decision":
            decision = p.get("decision", "?")
            label, style = _DECISIONS.get(decision if isinstance(decision, str) else "?",
                                          (clean(decision, 40), "red"))
            reason = f" — {clean(p['reason'], 300)}" if p.get("reason") else ""
            line(lead, ("gateway: ", "dim"), (label, style), (reason + call_note, None))
        elif etype == "tool_result":
            text, style = _result_text(p)
            line(lead, ("agent saw: ", "dim"), (text + call_note, style))
        elif etype == "change":
            text, style = _change_text(p)
            line(lead, (text + call_note, style))
        elif etype == "agent_message":
            text = clean(p.get("text", ""), 2000, multiline=True)
            first, *rest = text.split("\n") if text else [""]
            line(head, ("agent said: ", None), (first, "italic"))
            for r in rest[:30]:
                line((pad + "  ", None), (r, "italic"))
            if len(rest) > 30:
                line((pad + "  ", None), (f"… ({len(rest) - 30} more lines)", "dim"))
        elif etype == "plan_created":
            items = p.get("items") if isinstance(p.get("items"), list) else []
            line(head, (f"plan {clean(p.get('plan_id', '?'), 60)} proposed with {len(items)} item(s)", "bold"))
            for it in items[:50]:
                if not isinstance(it, dict):
                    continue
                idx = clean(it.get("index", "?"), 10)
                text = f"[{idx}] " + _call(it.get("tool"), it.get("args"))
                if it.get("effect"):
                    text += f" — {clean(it['effect'], 30)}"
                if it.get("action_id"):
                    text += f" (action {clean(it['action_id'], 60)})"
                line((pad, None), (text, None))
            if len(items) > 50:
                line((pad, None), (f"… ({len(items) - 50} more items)", "dim"))
        elif etype == "plan_decided":
            decision = clean(p.get("decision", "?"), 40)
            by = clean(p.get("by") or "nobody recorded", 120)
            style = "green" if decision in ("approved", "approve") else (
                "red" if decision in ("rejected", "reject") else "yellow")
            text = f"plan {clean(p.get('plan_id', '?'), 60)} "
            rest = f" by {by}"
            if "approved_items" in p:
                rest += f"; approved items: {_items(p.get('approved_items'))}"
            if p.get("rejected_items"):
                rest += f"; rejected items: {_items(p.get('rejected_items'))}"
            if p.get("reason"):
                rest += f" — {_val(p['reason'], 300)}"
            line(head, (text, None), (decision, style), (rest, None))
        elif etype == "plan_applied":
            changes = p.get("changes")
            n = len(changes) if isinstance(changes, list) else changes
            text = f"plan {clean(p.get('plan_id', '?'), 60)} applied: items {_items(p.get('items'))}"
            if n is not None:
                text += f"; {clean(n, 20)} change(s)"
            line(head, (text, None))
            if isinstance(changes, list):
                for c in changes[:50]:
                    if isinstance(c, dict):
                        t, s = _change_text(c)
                        line((pad, None), (t, s))
        elif etype == "run_error":
            cause = clean(p.get("cause", "?"), 30)
            line(head, (f"run error ({cause}): ", "bold red"), (clean(p.get("message", ""), 600), "red"))
        elif etype == "run_finished":
            finished = ev
            line(head, ("run finished", None))
        elif etype == "log_closed":
            line(head, ("log closed", "dim"))
        elif etype == "run_started":
            line(head, ("run started again (a second run_started in this log)", "red"))
        else:
            line(head, (f"{clean(etype, 40)}: {_kv(p, 300)}", None))

    line(("", None))
    if finished is None:
        line(("Verdict: ", "bold"),
             ("none — the log has no run_finished event (the run did not finish, or the log was cut)", "red"))
    else:
        fp = _p(finished)
        outcome = str(fp.get("outcome", "?"))
        mistakes = fp.get("mistakes") if isinstance(fp.get("mistakes"), list) else []
        style = {"pass": "bold green", "fail": "bold red", "error": "bold yellow"}.get(outcome, "bold")
        text = clean(outcome.upper(), 20)
        tail = f" — {len(mistakes)} mistake(s)" if mistakes else (" — no mistakes" if outcome == "pass" else "")
        if isinstance(fp.get("duration_ms"), (int, float)):
            tail += f", {fp['duration_ms']:.0f} ms"
        line(("Verdict: ", "bold"), (text, style), (tail, None))
        for m in mistakes[:100]:
            if not isinstance(m, dict):
                continue
            sev = clean(m.get("severity", "?"), 20)
            ms = "bold red" if sev in ("high", "critical") else "yellow"
            line(("  - ", None), (f"[{sev}] ", ms), (clean(m.get("type", "?"), 40), "bold"),
                 (f" on {clean(m.get('entity', '?'), 120)}: {clean(m.get('detail', ''), 400)}", None))
        if fp.get("error"):
            err = fp["error"]
            if isinstance(err, dict):
                why = f"({clean(err.get('cause', '?'), 30)}) {clean(err.get('message', ''), 400)}"
                line(("  error: ", "red"), (why, None))
            else:
                line(("  error: ", "red"), (clean(err, 400), None))
        br = fp.get("blast_radius")
        if isinstance(br, dict):
            realised, potential = br.get("realised"), br.get("potential")
            line(("  blast radius, realised:  ", "dim"), (_blast(realised), None))
            line(("  blast radius, potential: ", "dim"), (_blast(potential), None))
            if isinstance(realised, dict) and isinstance(potential, dict):
                contained = [f"{clean(k, 40)} {_val(potential[k], 20)} → {_val(realised.get(k, 0), 20)}"
                             for k in potential
                             if isinstance(potential[k], (int, float)) and
                             isinstance(realised.get(k, 0), (int, float)) and potential[k] > realised.get(k, 0)]
                if contained:
                    line(("  contained by the stage: ", "dim"), (", ".join(contained), "green"))

    if report is not None:
        where = " (checked from the parsed events)" if checked_from_events else ""
        if report.ok:
            line(("Chain: ", "bold"), ("verified", "green"),
                 (f" — {report.events} events, head {short(report.head)}, {report.reason}{where}", None))
        else:
            line(("Chain: ", "bold"), ("FAILED", "bold red"),
                 (f" — {clean(report.summary(), 600)}{where}", None))
            if report.first_bad_seq is not None:
                line(("  ", None), (f"Do not trust this timeline from event #{report.first_bad_seq} on.", "red"))
    return out


def _events_and_report(events: list[dict], report: VerifyReport | None) -> tuple[VerifyReport, bool]:
    if report is not None:
        return report, False
    return verify_events(events), True


def explain_run(events: list[dict], report: VerifyReport | None = None) -> str:
    """The run as a plain-text timeline (safe to print: control characters are escaped).

    ``report`` is the result of ``verify_log`` on the file; without it the chain is checked from the
    parsed events (which cannot see byte-level edits such as whitespace).
    """
    rep, from_events = _events_and_report(events, report)
    return "\n".join("".join(text for text, _ in ln) for ln in _render(events, rep, from_events)) + "\n"


def explain_run_rich(events: list[dict], report: VerifyReport | None = None):
    """The same timeline as a ``rich.text.Text`` with colours (untrusted text never parsed as markup)."""
    from rich.text import Text

    rep, from_events = _events_and_report(events, report)
    out = Text()
    for ln in _render(events, rep, from_events):
        for text, style in ln:
            out.append(text, style=style or "")
        out.append("\n")
    return out
