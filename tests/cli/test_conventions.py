"""CLI conventions: --version, completion, closed pipes, read-only commands, URLs, promote's default."""

import json
import os
import subprocess
import sys

import pytest

import harness
from tests.cli._cli import env, harness_json
from tests.cli._cli import harness as run_cli


def test_version(tmp_path):
    code, out, _ = run_cli("--version", cwd=tmp_path, check=0)
    assert out.strip() == f"harness {harness.__version__}"


def test_shell_completion_script(tmp_path):
    code, out, err = run_cli("--show-completion", "bash", cwd=tmp_path)
    assert code == 0, err
    assert "_HARNESS_COMPLETE" in out or "complete" in out


@pytest.mark.parametrize("args", [["scenarios", "list"], ["tools"], ["scenarios", "schema"], ["policy", "show"]])
def test_a_closed_pipe_ends_quietly(tmp_path, args):
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command writes anything (like `| head -0`)
    proc = subprocess.run([sys.executable, "-m", "harness.cli", *args], stdout=write, stderr=subprocess.PIPE,
                          cwd=tmp_path, env=env(), text=True)
    os.close(write)
    assert proc.returncode == 141
    assert proc.stderr == ""


@pytest.mark.parametrize("args", [["status"], ["history"], ["plan", "list"]])
def test_read_only_commands_never_create_a_ledger(tmp_path, args):
    code, out, err = run_cli(*args, cwd=tmp_path, check=0, HARNESS_HOME="")
    assert "no ledger at" in err
    assert not (tmp_path / ".harness").exists()
    assert harness_json(*args, cwd=tmp_path, HARNESS_HOME="") == []
    assert not (tmp_path / ".harness").exists()


def test_plan_show_without_a_ledger_is_not_found(tmp_path):
    code, out, err = run_cli("plan", "show", "abc", cwd=tmp_path, HARNESS_HOME="")
    assert code == 2 and "no ledger at" in err
    assert not (tmp_path / ".harness").exists()


@pytest.mark.parametrize("url", ["postgres://u:secret@db.example.com/harness",
                                 "postgresql://u@db.example.com:5433/harness"])
def test_postgres_urls_use_the_installed_driver(url):
    from harness.ledger._engine import make_engine

    engine = make_engine(url)
    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.url.host == "db.example.com"
    engine.dispose()


def test_relative_harness_home_is_stored_absolute(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    from tests.cli._cli import ROOT

    (suite / "s.yaml").write_text((ROOT / "tests/data/good/minimal.yaml").read_text())
    result = harness_json("run", "suite", "--agent", "oracle", cwd=tmp_path, HARNESS_HOME="rel-home")
    path = result["results"][0]["audit_path"]
    assert os.path.isabs(path) and path.startswith(str(tmp_path / "rel-home"))
    # another folder, same ledger: the audit log is still found and verifies
    other = tmp_path / "elsewhere"
    other.mkdir()
    code, out, err = run_cli("audit", "verify", result["results"][0]["run_id"], cwd=other,
                             HARNESS_HOME=str(tmp_path / "rel-home"))
    assert code == 0, err


def test_relative_out_is_stored_absolute(tmp_path):
    from tests.cli._cli import ROOT

    (tmp_path / "s.yaml").write_text((ROOT / "tests/data/good/minimal.yaml").read_text())
    result = harness_json("run", "s.yaml", "--agent", "oracle", "--out", "runs", cwd=tmp_path)
    run = result["results"][0]
    assert run["audit_path"] == str(tmp_path / "runs" / "audit" / f"{run['run_id']}.jsonl")
    # the ledger has the same absolute path, so the log is found and verified from anywhere
    other = tmp_path / "elsewhere"
    other.mkdir()
    code, out, err = run_cli("audit", "verify", run["run_id"], "--json", cwd=other)
    assert code == 0, err
    assert json.loads(out)["ok"] is True
