"""Errors are attributed to their cause; only the agent's count against it; every one is visible."""

import textwrap

from tests.cli._cli import ROOT, harness_json

AGENTS = textwrap.dedent('''
    from harness.agents import EnvironmentFailure

    def outage(task, tools):
        tools.call("crm_search", query="Acme")
        raise EnvironmentFailure("the model endpoint answered HTTP 503")

    def buggy(task, tools):
        raise ValueError("the agent's own bug")
''')

POLICY = textwrap.dedent('''
    people: {dana@example.com: [release-owner]}
    workflows:
      WORKFLOW:
        ladder: [sandbox, suggest]
        stages:
          suggest:
            gate: {min_runs: 1, max_mistake_rate: 0.5, max_errors: 0}
''')


def _project(tmp_path):
    (tmp_path / "agents_under_test.py").write_text(AGENTS)
    scenario = (ROOT / "tests/data/good/minimal.yaml").read_text()
    (tmp_path / "s.yaml").write_text(scenario)
    workflow = next(line.split(":", 1)[1].strip() for line in scenario.splitlines() if line.startswith("workflow:"))
    (tmp_path / "policy.yaml").write_text(POLICY.replace("WORKFLOW", workflow))
    return workflow


def test_an_environment_failure_is_recorded_as_such_and_not_held_against_the_agent(tmp_path):
    workflow = _project(tmp_path)
    out = harness_json("run", "s.yaml", "--agent", "agents_under_test:outage", "--trials", "3", cwd=tmp_path,
                       check=1)
    assert {r["error"]["cause"] for r in out["results"]} == {"environment"}
    assert all(r["mistakes"] == [] for r in out["results"])  # cut short: no missing_action
    harness_json("run", "s.yaml", "--agent", "oracle", "--agent-version", "1", cwd=tmp_path)

    status = harness_json("status", workflow, "--policy", "policy.yaml", cwd=tmp_path)
    track = next(t for t in status[0]["agents"] if t["agent"] == "outage")
    assert track["gate"]["errors"] == {"agent": 0, "harness": 0, "environment": 3}
    crit = {c["name"]: c for c in track["gate"]["criteria"]}
    assert crit["max_errors"]["measured"] == 3 and not crit["max_errors"]["met"]
    assert crit["min_runs"]["measured"] == 0  # the outage runs are not evidence about the agent
    assert "environment (3" in crit["max_errors"]["detail"]


def test_an_agent_error_counts_against_the_agent(tmp_path):
    workflow = _project(tmp_path)
    out = harness_json("run", "s.yaml", "--agent", "agents_under_test:buggy", "--trials", "2", cwd=tmp_path, check=1)
    assert {r["error"]["cause"] for r in out["results"]} == {"agent"}
    status = harness_json("status", workflow, "--policy", "policy.yaml", cwd=tmp_path)
    gate = status[0]["agents"][0]["gate"]
    assert gate["errors"] == {"agent": 2, "harness": 0, "environment": 0}
    crit = {c["name"]: c for c in gate["criteria"]}
    assert crit["min_runs"]["measured"] == 2  # the errored runs are the agent's: evidence against it
    assert gate["sequential"]["first_checkpoint"] >= 2 and crit["max_mistake_rate"]["verdict"] != "met"


def test_status_text_shows_errored_runs_by_cause(tmp_path):
    workflow = _project(tmp_path)
    harness_json("run", "s.yaml", "--agent", "agents_under_test:outage", cwd=tmp_path, check=1)
    from tests.cli._cli import harness

    _, text, _ = harness("status", workflow, "--policy", "policy.yaml", cwd=tmp_path, check=0)
    assert "errored runs in the window: 0 agent, 0 harness, 1 environment" in text
