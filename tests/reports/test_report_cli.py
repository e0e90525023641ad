"""``harness report``: formats by extension, filters, and one clear error (exit 2) for bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.ledger import Ledger

from ._report_ledger import WF, WF2

ROOT = Path(__file__).resolve().parents[2]


def report(*args):
    result = CliRunner().invoke(app, ["report", *map(str, args)])
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit), \
        result.output
    return result


@pytest.mark.parametrize("ext", ["html", "md", "json"])
def test_each_format_by_extension(ledger_url, policy_file, tmp_path, ext):
    out = tmp_path / "sub" / f"trust.{ext}"
    result = report("--ledger", ledger_url, "--policy", policy_file, "--out", out)
    assert result.exit_code == 0, result.output
    assert out.exists() and out.stat().st_size > 1000
    assert f"wrote {out}" in result.output and "2 workflow(s), 672 runs" in result.output
    assert f"{WF}: at suggest; the gate to approve is met" in result.output


def test_filters_reach_the_report(ledger_url, policy_file, tmp_path):
    out = tmp_path / "t.json"
    result = report("--ledger", ledger_url, "--policy", policy_file, "--out", out, "--workflow", WF,
                    "--workflow", WF, "--since", "2025-02-01", "--agent", "careful@2")
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["filters"] == {"workflows": [WF], "since": "2025-02-01T00:00:00Z", "agent": "careful@2"}
    assert data["overall"]["totals"]["runs"] == 300


def test_default_ledger_and_policy_come_from_the_environment(ledger_url, policy_file, tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_LEDGER", ledger_url)
    monkeypatch.setenv("HARNESS_POLICY", str(policy_file))
    out = tmp_path / "env.json"
    assert report("--out", out).exit_code == 0
    assert [w["workflow"] for w in json.loads(out.read_text())["workflows"]] == [WF, WF2]


@pytest.mark.parametrize("args,message", [
    (["--workflow", "crm.nope"], "unknown workflow 'crm.nope'"),
    (["--since", "last tuesday"], "--since 'last tuesday' is not a date"),
    (["--agent", "ghost@1"], "--agent 'ghost@1' has no runs"),
    (["--agent", "@1"], "is not NAME@VERSION"),
])
def test_bad_input_is_one_clear_error(ledger_url, policy_file, tmp_path, args, message):
    out = tmp_path / "x.html"
    result = report("--ledger", ledger_url, "--policy", policy_file, "--out", out, *args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and message in result.output
    assert not out.exists()


def test_unsupported_extension_fails_before_reading_anything(tmp_path):
    result = report("--ledger", f"sqlite:///{tmp_path / 'missing.db'}", "--out", tmp_path / "trust.pdf")
    assert result.exit_code == 2 and "cannot write a report as .pdf" in result.output
    assert "Expected a path ending in .html, .md or .json" in result.output


def test_missing_ledger_file_is_not_created(tmp_path):
    db = tmp_path / "typo.db"
    result = report("--ledger", f"sqlite:///{db}", "--out", tmp_path / "t.html")
    assert result.exit_code == 2 and "there is no ledger at" in result.output
    assert not db.exists()


def test_empty_ledger_says_there_is_no_evidence(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    Ledger(url).close()
    result = report("--ledger", url, "--out", tmp_path / "t.md")
    assert result.exit_code == 2
    assert "has no runs and no stage history: there is no evidence to report on" in result.output
    assert "harness run" in result.output


def test_bad_policy_and_bad_url_are_exit_2(ledger_url, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("workflows: [1, 2]\n")
    result = report("--ledger", ledger_url, "--policy", bad, "--out", tmp_path / "t.json")
    assert result.exit_code == 2 and "bad.yaml" in result.output
    result = report("--ledger", "not a url", "--out", tmp_path / "t.json")
    assert result.exit_code == 2 and "not a database URL" in result.output


def test_the_installed_command_exits_2_without_a_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "report", "--ledger",
                           f"sqlite:///{tmp_path / 'none.db'}", "--out", str(tmp_path / "t.html")],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: there is no ledger at")


def test_reports_is_not_imported_by_the_rest_of_the_cli():
    code = ("import sys, harness.cli, harness.promotion, harness.ledger; "
            "bad = [m for m in sys.modules if m == 'reports' or m.startswith('reports.')]; print(bad)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr
