"""Warnings about scenarios that are valid but weak: they cannot fail, or a check any content meets.

A scenario gets a warning, not an error: it still runs. ``harness scenarios validate`` prints them
(and exits 1 on any with ``--strict``).
"""

from __future__ import annotations

import re

from harness.scenario import Scenario, alternatives

_QUESTION = re.compile(r"\?|^\s*(what|which|who|whom|when|where|how many|how much|is there|are there|"
                       r"tell me|find out|let me know|check whether|look up)\b", re.IGNORECASE | re.MULTILINE)
_CONTENT_KINDS = {"message", "draft", "note", "file"}


def asks_question(instruction: str) -> bool:
    sentences = re.split(r"(?<=[.!?])\s+", instruction)
    return any(_QUESTION.search(sentence) for sentence in sentences)


def _allows_everything(scenario: Scenario) -> bool:
    broad = {s.backend for s in scenario.expect.allowed
             if s.op is None and s.kind is None and s.entity is None and s.to is None and not s.fields}
    return broad >= {"crm", "mail", "files"}


def scenario_warnings(scenario: Scenario) -> list[tuple[str, str]]:
    """``(field path, message)`` for each weakness found."""
    out: list[tuple[str, str]] = []
    expect = scenario.expect
    if expect.answer is None and not expect.changes and asks_question(scenario.task.instruction):
        out.append(("expect.answer", "the task asks a question, but nothing checks the agent's answer, so an "
                    "agent that does nothing passes; add expect.answer (e.g. {contains: ...})"))
    if expect.outcome == "nothing" and expect.answer is None and _allows_everything(scenario):
        out.append(("expect", "this scenario cannot fail: it expects no change, allows every change and "
                    "checks no answer"))
    for i, item in enumerate(expect.changes):
        for j, spec in enumerate(alternatives(item)):
            where = f"expect.changes[{i}]" + (f".any_of[{j}]" if len(alternatives(item)) > 1 else "")
            kind = spec.kind or ("message" if spec.op == "send" else None)
            if spec.op in ("send", "create", "write") and kind in _CONTENT_KINDS and not spec.fields:
                out.append((where, f"any content passes ({spec.describe()}); check what it must say, "
                            "e.g. fields: {body: {contains: [...]}}"))
            for name, predicate in spec.fields.items():
                for text in _texts(predicate.contains) + list(predicate.contains_any or []):
                    if re.fullmatch(r"[\d.,\s%$€£]+", text):
                        out.append((f"{where}.fields.{name}", f"contains {text!r} is also met by other numbers "
                                    "that hold those digits (a PO number, a date); use "
                                    f"mentions_number: {{value: ..., unit: ...}}"))
    return out


def _texts(value: object) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
