"""Every refusal and every bad input exits with the documented code: 1 refused, 2 bad input, never 3."""

import json
import sqlite3
import subprocess
import sys

import pytest

from tests.e2e.conftest import GOOD, ROOT


def _policy(tmp_path, bounds="", gate="min_runs: 1"):
    path = tmp_path / "policy.yaml"
    path.write_text(f"""version: 1
people: {{dana@example.com: [release-owner, risk], sam@example.com: [release-owner, risk]}}
workflows:
  test.discounts:
    owner: dana@example.com
    ladder: [sandbox, suggest]
    stages:
      suggest:
        gate: {{{gate}}}
        bounds: {{{bounds}}}
""", encoding="utf-8")
    return path


@pytest.mark.parametrize("content", [b"garbage, not a database\n" * 20, None], ids=["garbage", "truncated"])
@pytest.mark.parametrize("command", [["status"], ["run", GOOD, "--agent", "oracle"],
                                     ["report", "--out", "r.json"]])
def test_a_damaged_ledger_file_is_bad_input_naming_the_file(cli, tmp_path, content, command):
    path = tmp_path / "ledger.db"
    if content is None:  # a real ledger cut short
        cli("run", GOOD, "--agent", "oracle", "--ledger", f"sqlite:///{path}", check=0)
        with sqlite3.connect(path) as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        content = path.read_bytes()[:6000]
    path.write_bytes(content)
    before = path.read_bytes()
    code, out, err = cli(*command, "--ledger", f"sqlite:///{path}")
    assert code == 2, (code, out, err)
    assert str(path) in err and "internal error" not in err
    assert path.read_bytes() == before  # nothing written into the damaged file


@pytest.mark.parametrize("url", ["postgresql://user@:notaport/db", "postgresql://u@h:99999999/db",
                                 "not a url at all", "sqlite://", "sqlite:///:memory:"])
def test_malformed_or_in_memory_ledger_urls_are_bad_input(cli, url):
    for command in (["status"], ["run", GOOD, "--agent", "oracle"]):
        code, out, err = cli(*command, "--ledger", url)
        assert code == 2, (command, url, code, out, err)
        assert "--ledger" in err and "internal error" not in err


@pytest.mark.parametrize("bounds, field", [
    ("allowed_recipient_domains: ['']", "allowed_recipient_domains[0]"),
    ("allowed_recipient_domains: ['exa mple.com']", "allowed_recipient_domains[0]"),
    ("protected_paths: ['legal/**']", "protected_paths[0]"),
    ("protected_paths: ['/legal/../x']", "protected_paths[0]"),
    ("max_money_exposed: .inf", "max_money_exposed"),
    ("max_writes: 100000000000000000000000000000", "max_writes"),
])
def test_bounds_that_would_mean_nothing_are_refused_at_load(cli, tmp_path, bounds, field):
    code, _, err = cli("status", "--policy", _policy(tmp_path, bounds=bounds))
    assert code == 2 and f"bounds.{field}" in err and "policy.yaml" in err


@pytest.mark.parametrize("gate", ["min_runs: 100000000000000000000000000000", "min_runs: 1e29",
                                  "window_days: .nan", "recertify_days: .inf"])
def test_absurd_gate_numbers_are_refused_at_load(cli, tmp_path, gate):
    code, _, err = cli("status", "--policy", _policy(tmp_path, gate=gate))
    assert code == 2 and "gate." in err and "policy.yaml" in err


def test_the_losing_concurrent_promotion_exits_1(cli, tmp_path):
    policy = _policy(tmp_path)
    cli("run", GOOD, "--agent", "oracle", check=0)
    args = [sys.executable, "-m", "harness.cli", "promote", "test.discounts", "--to", "suggest",
            "--reason", "clean", "--policy", str(policy)]
    procs = [subprocess.Popen([*args, "--by", who], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for who in ("dana@example.com", "sam@example.com")]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in results) == [0, 1], results
    loser = next(err for code, err in results if code == 1)
    assert "already at suggest" in loser or "changed stage meanwhile" in loser
    _, out, _ = cli("history", "--json", check=0)
    promotions = [t for t in json.loads(out) if t["kind"] == "promote"]  # the first promote also pins the policy
    assert len(promotions) == 1


def _pending_plan(cli):
    cli("run", GOOD, "--agent", "oracle", "--stage", "approve", "--rehearse", check=0)
    _, out, _ = cli("plan", "list", "--status", "pending", "--json", check=0)
    [plan] = json.loads(out)
    return plan["id"]


@pytest.mark.parametrize("only", [",", " ", ",,", "x"])
def test_plan_approve_only_with_no_item_numbers_is_bad_input_not_everything(cli, only):
    plan = _pending_plan(cli)
    code, _, err = cli("plan", "approve", plan, "--by", "dana@example.com", "--only", only)
    assert code == 2 and "--only" in err
    _, out, _ = cli("plan", "show", plan, "--json", check=0)
    assert json.loads(out)["status"] == "pending"


def test_a_plan_item_edited_in_the_ledger_is_refused_at_apply(cli):
    import os

    plan = _pending_plan(cli)
    db = os.path.join(os.environ["HARNESS_HOME"], "ledger.db")
    with sqlite3.connect(db) as con:
        (items,) = con.execute("SELECT items FROM plans WHERE id = ?", (plan,)).fetchone()
        edited = json.loads(items)
        edited[0]["args"]["discount_pct"] = 90
        con.execute("UPDATE plans SET items = ? WHERE id = ?", (json.dumps(edited), plan))
    code, _, err = cli("plan", "approve", plan, "--by", "dana@example.com")
    assert code == 1 and "altered" in err and "Nothing was applied" in err
