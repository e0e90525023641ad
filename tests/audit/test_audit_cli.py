"""``harness audit verify|explain`` exit codes and output (0 intact, 1 tampered, 2 bad input)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from harness.audit import set_head_lookup
from harness.commands.audit import app
from harness.config import audit_dir

from ._audit_helpers import RUN_ID, lines_of, write_log


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def stored():
    path = audit_dir() / f"{RUN_ID}.jsonl"
    head = write_log(path)
    return path, head


def test_verify_ok_by_run_id_prefix_and_path(runner, stored):
    path, head = stored
    for ref in (RUN_ID, RUN_ID[:10], str(path)):
        result = runner.invoke(app, ["verify", ref])
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"OK: 17 events, head {head[:12]}…")


def test_verify_tampered_exits_1_and_names_the_event(runner, stored):
    path, _ = stored
    lines = lines_of(path)
    path.write_bytes(b"".join(lines[:4] + lines[5:]))
    result = runner.invoke(app, ["verify", RUN_ID])
    assert result.exit_code == 1
    assert "TAMPERED: event #4 (line 5): found seq 5 where 4 was expected" in result.stderr
    assert result.stdout == ""


def test_verify_truncated_exits_1(runner, stored):
    path, _ = stored
    path.write_bytes(b"".join(lines_of(path)[:-1]))
    result = runner.invoke(app, ["verify", str(path)])
    assert result.exit_code == 1 and "truncated" in result.stderr


@pytest.mark.parametrize("ref", ["no-such-run", "/no/such/file.jsonl"])
def test_verify_unknown_ref_exits_2_without_traceback(runner, stored, ref):
    result = runner.invoke(app, ["verify", ref])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no audit log")
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_verify_ambiguous_prefix_exits_2(runner, stored):
    write_log(audit_dir() / f"{RUN_ID}-b.jsonl", run_id=RUN_ID + "-b")
    result = runner.invoke(app, ["verify", RUN_ID[:8]])
    assert result.exit_code == 2 and "ambiguous" in result.stderr


def test_verify_with_key(runner, monkeypatch):
    path = audit_dir() / "run-signed.jsonl"
    write_log(path, run_id="run-signed", key=b"s3cret")
    monkeypatch.setenv("MY_KEY", "s3cret")
    assert runner.invoke(app, ["verify", "run-signed", "--key-env", "MY_KEY"]).exit_code == 0
    monkeypatch.setenv("HARNESS_AUDIT_KEY", "s3cret")
    result = runner.invoke(app, ["verify", "run-signed"])
    assert result.exit_code == 0 and "HMAC verified" in result.stdout
    monkeypatch.setenv("MY_KEY", "wrong")
    result = runner.invoke(app, ["verify", "run-signed", "--key-env", "MY_KEY"])
    assert result.exit_code == 1 and "hmac does not match" in result.stderr
    result = runner.invoke(app, ["verify", "run-signed", "--key-env", "UNSET_VAR"])
    assert result.exit_code == 2 and "UNSET_VAR" in result.stderr


def test_verify_checks_the_recorded_head(runner, stored):
    _, head = stored
    set_head_lookup(lambda run_id: head if run_id == RUN_ID else None)
    assert runner.invoke(app, ["verify", RUN_ID]).exit_code == 0
    set_head_lookup(lambda run_id: "e" * 64)
    result = runner.invoke(app, ["verify", RUN_ID])
    assert result.exit_code == 1 and "recorded for this run" in result.stderr
    assert runner.invoke(app, ["verify", RUN_ID, "--expected-head", head]).exit_code == 0


def test_explain(runner, stored):
    result = runner.invoke(app, ["explain", RUN_ID[:12]])
    assert result.exit_code == 0, result.output
    assert "gateway: blocked — discount 25% exceeds the stage bound 15%" in result.stdout
    assert "Chain: verified" in result.stdout


def test_explain_tampered_still_explains_with_a_warning(runner, stored):
    path, _ = stored
    path.write_bytes(path.read_bytes().replace(b'"discount_pct":25', b'"discount_pct":12', 1))
    result = runner.invoke(app, ["explain", RUN_ID])
    assert result.exit_code == 0
    assert "Chain: FAILED" in result.stdout and "discount_pct=12" in result.stdout
    assert "warning: the audit log does not verify" in result.stderr


def test_explain_unknown_and_empty(runner, stored):
    assert runner.invoke(app, ["explain", "nope"]).exit_code == 2
    empty = audit_dir() / "run-empty.jsonl"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["explain", "run-empty"])
    assert result.exit_code == 1 and "No events" in result.stdout


def test_no_args_shows_help(runner):
    result = runner.invoke(app, [])
    assert "verify" in result.output and "explain" in result.output
