"""Every example in the docs runs: Python blocks are executed (with the files and records they
presuppose made first), and every `harness` command line in a shell block is parsed by the real
command line, so a renamed or removed option in a doc fails here."""

from __future__ import annotations

import ast
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli._cli import ROOT, env, harness_json

DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
MINIMAL = ROOT / "tests" / "data" / "good" / "minimal.yaml"


def blocks(lang: str) -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for m in BLOCK.finditer(doc.read_text(encoding="utf-8")):
            if m.group(1) == lang:
                found.append((doc.name, m.group(2)))
    return found


def python_example(first_line: str) -> str:
    matches = [body for _, body in blocks("python") if body.lstrip().startswith(first_line)]
    assert len(matches) == 1, f"expected one Python example starting with {first_line!r}"
    return matches[0]


def test_every_python_example_is_covered_below():
    firsts = {body.strip().splitlines()[0] for _, body in blocks("python")}
    assert firsts == set(COVERED), "a new Python example in the docs needs a test here"


# -- shell examples ----------------------------------------------------------------------------------
def harness_commands() -> list[tuple[str, list[str]]]:
    found = []
    for name, body in blocks(""):
        text = body.replace("\\\n", " ")
        for line in text.splitlines():
            line = re.sub(r"^\$ ", "", line.strip())
            line = re.sub(r"\s#\s.*$", "", line)
            for part in re.split(r"\s*(?:&&|;)\s*", line):
                part = re.sub(r"^(?:[A-Z_]+=\S*\s+)+", "", part.strip())  # VAR=value before the command
                if not part.startswith("harness ") or part.startswith("harness mcp:"):
                    continue
                part = re.sub(r"\[[^\]]*\]", "", part)  # [--optional parts]
                found.append((name, shlex.split(part)[1:]))
    return found


COMMANDS = harness_commands()


def test_the_docs_show_harness_commands():
    assert len(COMMANDS) > 40


@pytest.mark.parametrize("doc, argv", COMMANDS, ids=[f"{d}:{' '.join(a)[:60]}" for d, a in COMMANDS])
def test_every_harness_command_in_the_docs_parses(doc, argv):
    import typer

    from harness import settings
    from harness.cli import app
    from harness.commands.init import TEMPLATE

    root = typer.main.get_command(app)
    # commands shown without paths or an agent run in a project made by `harness init` (its harness.toml)
    defaults = settings.default_map(root, settings.find(TEMPLATE)) if doc == "README.md" or \
        doc == "configuration.md" else None
    cmd, ctx, name, args = root, None, "harness", list(argv)
    while hasattr(cmd, "commands"):  # a group: the next word names a sub-command
        ctx = cmd.make_context(name, [], parent=ctx, resilient_parsing=True,
                               **({"default_map": defaults} if ctx is None and defaults is not None else {}))
        assert args, f"{doc}: {' '.join(argv)} names no command"
        sub = cmd.get_command(ctx, args[0])
        assert sub is not None, f"{doc}: no command {args[0]!r} in `harness {' '.join(argv)}`"
        cmd, name, args = sub, args[0], args[1:]
    cmd.make_context(name, args, parent=ctx)  # options, arguments and their types, as a run would


# -- Python examples -----------------------------------------------------------------------------------
def _exec(source: str, namespace: dict) -> object:
    """Run ``source``; the value of a final bare expression is returned (for examples that end in one)."""
    tree = ast.parse(source)
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    if last is not None:
        tree.body[-1] = ast.Assign(targets=[ast.Name("__value__", ast.Store())], value=last.value)
        ast.fix_missing_locations(tree)
    exec(compile(tree, "<docs example>", "exec"), namespace)
    return namespace.get("__value__")


def agents_example(tmp_path):
    """docs/agents.md: the async agent runs on every bundled CRM scenario without raising."""
    source = python_example("# mypkg/agents.py")
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "mypkg" / "agents.py").write_text(source)
    result = harness_json("run", "bundled:crm", "--agent", "mypkg.agents:renewal_agent", "--trials", "2",
                          "--no-ledger", "--no-audit", cwd=tmp_path, check=None)
    errors = [r for r in result["results"] if r["outcome"] == "error"]
    assert not errors, [r["error"] for r in errors]
    assert result["passed"] > 0
    assert {r["agent_version"] for r in result["results"]} == {"0.3.1"}


def audit_hash_example(tmp_path):
    run = harness_json("run", MINIMAL, "--agent", "oracle", "--no-ledger", "--out", tmp_path / "out", cwd=tmp_path)
    path = Path(run["results"][0]["audit_path"])
    for line in path.read_text().splitlines():
        assert _exec(python_example("import hashlib, json"), {"line": line}) is True


def audit_api_example(tmp_path):
    import harness.config

    namespace = {"path": tmp_path / "logs" / "run-1.jsonl", "run_id": "run-1", "harness": harness}
    _exec(python_example("from harness.audit import AuditLog"), namespace)
    assert namespace["report"].ok and namespace["report"].events >= 2


def policy_example(tmp_path, monkeypatch):
    from harness.agents import load_agent
    from harness.runner import RunConfig, run_suite
    from harness.scenario import load_scenarios

    monkeypatch.setenv("HARNESS_HOME", str(tmp_path / "home"))
    results = run_suite(load_scenarios(["bundled:files"]), load_agent("oracle"), RunConfig()).results
    namespace = {"results": results}
    _exec(python_example("from harness.ledger import Ledger\nfrom harness.policy import load_policy\n"
                         "from harness import promotion"), namespace)
    assert (tmp_path / "home" / "ledger.db").is_file()


def pytest_example(tmp_path):
    source = python_example("# test_renewal_agent.py")
    (tmp_path / "test_renewal_agent.py").write_text(source)
    (tmp_path / "renewal.yaml").write_text(MINIMAL.read_text())
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_renewal_agent.py"],
                          cwd=tmp_path, env=env(HARNESS_HOME=str(tmp_path / "home")), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "4 passed" in proc.stdout


def reports_example(tmp_path, monkeypatch):
    harness_json("run", "bundled:crm.renewal-discounts", "--agent", "oracle", "--ledger",
                 "sqlite:///.harness/ledger.db", cwd=tmp_path)
    monkeypatch.chdir(tmp_path)
    _exec(python_example("from harness.ledger import Ledger\nfrom harness.policy import load_policy\nfrom reports"),
          {})
    assert (tmp_path / "trust.html").stat().st_size > 1000


COVERED = {
    "# mypkg/agents.py": agents_example,
    "import hashlib, json": audit_hash_example,
    "from harness.audit import AuditLog, NullAuditLog, verify_log, read_events, explain_run, locate_log":
        audit_api_example,
    "from harness.ledger import Ledger": None,  # two examples start so: policy.md and reports.md (below)
    "# test_renewal_agent.py": pytest_example,
}


def test_agents_example(tmp_path):
    agents_example(tmp_path)


def test_audit_hash_example(tmp_path):
    audit_hash_example(tmp_path)


def test_audit_api_example(tmp_path):
    audit_api_example(tmp_path)


def test_policy_example(tmp_path, monkeypatch):
    policy_example(tmp_path, monkeypatch)


def test_pytest_example(tmp_path):
    pytest_example(tmp_path)


def test_reports_example(tmp_path, monkeypatch):
    reports_example(tmp_path, monkeypatch)


_ = json
