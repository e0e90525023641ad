"""The tool map: pointers, safe money expressions, SQL targets, probes, and policy errors at load."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import InvalidPolicy
from harness.policy import policy_from_dict
from harness.work.toolmap import (
    ArgumentError,
    ToolRule,
    analyse_sql,
    money_of,
    money_problem,
    probe_arguments,
    resolve,
    targets_of,
)
from tests.work.conftest import ROOT, write_policy


def _policy(tools):
    return {"workflows": {"w": {"stages": {"suggest": {"gate": {}}, "approve": {"gate": {}},
                                           "autonomous": {"gate": {}}}, "tools": tools}}}


def test_pointers_follow_rfc_6901():
    doc = {"a/b": {"~x": [10, 20]}, "to": ["a@x.org"]}
    assert resolve("/a~1b/~0x/1", doc) == 20
    assert resolve("", doc) is doc
    with pytest.raises(ArgumentError):
        resolve("/a~1b/~0x/7", doc)


@pytest.mark.parametrize("expression", ["__import__('os')", "amount.real", "open('x')", "[1][0]",
                                        "amount if x else 1", "lambda: 1", "amount ** 99999"])
def test_money_expressions_are_arithmetic_only(expression):
    assert money_problem(expression) is not None


@given(st.lists(st.integers(-10**6, 10**6), min_size=1, max_size=6), st.lists(st.sampled_from("+-*"), min_size=5,
                                                                          max_size=5))
def test_money_matches_arithmetic_over_the_arguments(values, ops):
    names = [f"v{i}" for i in range(len(values))]
    expression = names[0] + "".join(f" {op} {n}" for op, n in zip(ops, names[1:]))
    assert money_problem(expression) is None
    expected = eval(expression, {}, dict(zip(names, values)))  # the oracle: Python on integers
    assert money_of(expression, dict(zip(names, values))) == pytest.approx(float(expected))


def test_targets_and_probe_templates():
    rule = ToolRule.model_validate({"effect": "external", "targets": [{"pointer": "/to", "kind": "recipient"},
                                                                      {"pointer": "/path", "kind": "path"}],
                                    "probe": {"tool": "read", "arguments": {"path": "{/path}", "n": 1,
                                                                            "q": "x={/to/0}"}}})
    args = {"to": ["a@x.org", "b@y.org"], "path": "/srv/../srv/a.txt"}
    assert targets_of(rule, args) == [{"kind": "recipient", "value": "a@x.org"},
                                      {"kind": "recipient", "value": "b@y.org"},
                                      {"kind": "path", "value": "/srv/a.txt"}]
    assert probe_arguments(rule, args) == {"path": "/srv/../srv/a.txt", "n": 1, "q": "x=a@x.org"}
    with pytest.raises(ArgumentError):
        targets_of(rule, {"to": []})


def test_sql_writes_name_their_tables_and_rows():
    upd = analyse_sql("UPDATE deals SET discount = 30 WHERE id = 7")
    assert upd["records"] == ["deals where id = 7"] and upd["select"] == "SELECT * FROM deals WHERE id = 7"
    assert not upd["irreversible"]
    assert analyse_sql("DELETE FROM contacts")["irreversible"]
    assert analyse_sql("DROP TABLE deals")["irreversible"]
    assert analyse_sql("INSERT INTO notes (body) VALUES ('x')")["select"] is None
    with pytest.raises(ArgumentError):
        analyse_sql("UPDATE SET WHERE")


@pytest.mark.parametrize("tools, field", [
    ({"fs": {"write_file": {"effect": "wirte"}}}, "workflows.w.tools.fs.write_file.effect"),
    ({"fs": {"write_file": {"effect": "write", "targets": [{"pointer": "path", "kind": "path"}]}}},
     "workflows.w.tools.fs.write_file.targets[0].pointer"),
    ({"fs": {"write_file": {"effect": "write", "money": "__import__('os').system('x')"}}},
     "workflows.w.tools.fs.write_file.money"),
    ({"fs": {"write_file": {"effect": "write", "probe": {"tool": "nope"}}}},
     "workflows.w.tools.fs.write_file.probe.tool"),
    ({"fs": {"write_file": {"effect": "write", "tragets": []}}}, "workflows.w.tools.fs.write_file.tragets"),
    ({"db": {"q": {"effect": "read"}, "w": {"effect": "write", "probe": {"tool": "q", "arguments":
                                                                          {"query": "{sql.select}"}}}}},
     "workflows.w.tools.db.w.probe.arguments.query"),
])
def test_tool_map_mistakes_name_the_field(tools, field):
    with pytest.raises(InvalidPolicy) as info:
        policy_from_dict(_policy(tools))
    assert f"field `{field}`" in str(info.value)


def test_gateway_serve_refuses_a_bad_tool_map_at_start_with_exit_2(tmp_path):
    policy = write_policy(tmp_path / "bad.yaml", {"fs": {"write_file": {"effect": "write", "money": "open('x')"}}})
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "gateway", "serve", "files.at-work", "--agent",
                           "bot@1", "--upstream", "fs=true", "--policy", str(policy)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert str(policy) in proc.stderr and "tools.fs.write_file.money" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, needle", [
    (["--agent", "bot", "--upstream", "fs=true"], "NAME@VERSION"),
    (["--agent", "bot@1", "--upstream", "true"], "does not name the upstream"),
    (["--agent", "bot@1", "--upstream", "fs=true", "--upstream", "fs=false"], "must differ"),
])
def test_bad_command_lines_exit_2(tmp_path, args, needle):
    policy = write_policy(tmp_path / "p.yaml", {"fs": {"read_text_file": {"effect": "read"}}})
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "gateway", "serve", "files.at-work", *args,
                           "--policy", str(policy)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and needle in proc.stderr, proc.stderr


def test_an_upstream_that_is_not_mcp_is_refused_at_start(tmp_path):
    policy = write_policy(tmp_path / "p.yaml", {"fs": {"read_text_file": {"effect": "read"}}})
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "gateway", "serve", "files.at-work", "--agent",
                           "bot@1", "--upstream", "fs=true", "--policy", str(policy)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "did not start as an MCP server" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
