"""Agent-controlled text never reaches a terminal or a report as live control characters or bidi overrides."""

import json

import pytest

from harness.safetext import clean, clean_tree
from tests.e2e.conftest import GOOD
from tests.integrity._agents import HOSTILE

RAW = ("\x1b", "\r", "\u202e", "\x08", "\u2066")


def _inert(text: str) -> None:
    for ch in RAW:
        assert ch not in text, (ch, text)


@pytest.mark.parametrize("ch", ["\x1b", "\x07", "\x08", "\r", "\x7f", "\x9b", "\u202e", "\u2066", "\u200b",
                                "\u2028", "\ufeff"])
def test_clean_shows_each_unsafe_character_as_a_visible_escape(ch):
    shown = clean(f"a{ch}b", None)
    assert ch not in shown and shown.startswith("a\\") and shown.endswith("b")
    assert clean_tree({f"k{ch}": [f"v{ch}"]}) == {clean(f"k{ch}", None): [clean(f"v{ch}", None)]}


POLICY = """
version: 1
people: {dana@example.com: [release-owner, risk]}
workflows:
  test.discounts:
    owner: dana@example.com
    stages:
      suggest: {gate: {min_runs: 1}}
      approve: {gate: {min_runs: 1}}
      autonomous: {gate: {min_runs: 1}}
"""


def test_plan_show_history_and_status_neutralise_agent_text(cli, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    cli("run", GOOD, "--agent", "tests.integrity._agents:hostile_rationale", "--agent-version", f"1{HOSTILE}",
        "--stage", "approve", "--rehearse", check=0)
    _, out, _ = cli("plan", "list", "--status", "pending", "--json", check=0)
    [plan] = [p["id"] for p in json.loads(out)]
    _, shown, _ = cli("plan", "show", plan, check=0)
    assert "why: ok\\x1b[2K" in shown and "\\u202etxt.exe" in shown
    _inert(shown)
    _, listed, _ = cli("plan", "list", check=0)
    _inert(listed)
    cli("promote", "test.discounts", "--to", "suggest", "--by", "dana@example.com", "--reason", HOSTILE,
        "--override", "--policy", policy, check=0)
    _, hist, _ = cli("history", check=0)
    assert "reason: ok\\x1b" in hist
    _inert(hist)
    _, status, _ = cli("status", "--policy", policy, check=0)
    assert "1ok\\x1b" in status
    _inert(status)


@pytest.mark.parametrize("suffix", [".html", ".md"])
def test_reports_neutralise_agent_text(cli, tmp_path, suffix):
    cli("run", GOOD, "--agent", "noop", "--agent-version", f"1{HOSTILE}", check=1)
    out = tmp_path / f"trust{suffix}"
    cli("report", "--out", out, check=0)
    text = out.read_text(encoding="utf-8")
    assert "\\x1b" in text and "\\u202e" in text
    _inert(text)
