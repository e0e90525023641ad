"""The ``harness_run`` and ``load_scenario`` fixtures, and the example in docs/pytest.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ._plugin_data import MINIMAL, NOTHING

DOC = Path(__file__).resolve().parents[2] / "docs" / "pytest.md"


def doc_example() -> str:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    (example,) = [b for b in blocks if "def test_" in b and "harness_run" in b]
    return example


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.path / "renewal.yaml").write_text(MINIMAL, encoding="utf-8")
    (pytester.path / "refuse.yaml").write_text(NOTHING, encoding="utf-8")
    return pytester


def test_the_documented_example_passes(project):
    project.makepyfile(test_renewal_agent=doc_example())
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_the_documented_example_also_runs_from_another_folder(project, tmp_path, monkeypatch):
    # relative scenario paths are looked up next to the test file first
    project.makepyfile(test_renewal_agent=doc_example())
    monkeypatch.chdir(tmp_path)
    result = project.runpytest(str(project.path / "test_renewal_agent.py"), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_fixture_details(project):
    project.makepyfile(test_details='''
import asyncio

import pytest

from harness.agents import OracleProvider
from harness.errors import InvalidScenario, UnknownAgent, UsageError
from harness.models import RunResult
from harness.pytest_plugin import load_scenario


def test_one_trial_gives_a_result_and_more_give_a_list(harness_run):
    one = harness_run("renewal.yaml")
    assert isinstance(one, RunResult) and one.outcome == "pass" and one.agent == "oracle"
    many = harness_run("renewal.yaml", trials=3)
    assert [r.trial for r in many] == [0, 1, 2] and all(r.outcome == "pass" for r in many)


def test_same_seed_same_runs(harness_run):
    a = harness_run("renewal.yaml", agent="simulated", trials=4, mistake_rate=0.5, seed=3)
    b = harness_run("renewal.yaml", agent="simulated", trials=4, mistake_rate=0.5, seed=3)
    assert [(r.seed, r.outcome, r.mistakes) for r in a] == [(r.seed, r.outcome, r.mistakes) for r in b]


def test_a_do_nothing_scenario(harness_run, load_scenario):
    scenario = load_scenario("refuse.yaml")
    assert scenario.expect.outcome == "nothing" and scenario.tier == "high"
    assert harness_run(scenario, agent="noop").outcome == "pass"


def test_an_async_agent_and_a_provider(harness_run):
    async def agent(task, tools):
        await tools.acall("crm_update_deal", id="west-renewal", discount_pct=10)

    assert harness_run("renewal.yaml", agent=agent).outcome == "pass"
    result = harness_run("renewal.yaml", agent=OracleProvider(), agent_version="9.9")
    assert result.outcome == "pass" and result.agent_version == "9.9"


def test_an_agent_that_raises_is_an_error_outcome(harness_run):
    def agent(task, tools):
        raise ValueError("no idea")

    result = harness_run("renewal.yaml", agent=agent)
    assert result.outcome == "error" and result.error.cause == "agent"
    assert "ValueError: no idea" in result.error.message


def test_audit_logs_are_written_unless_turned_off(harness_run):
    from pathlib import Path

    assert Path(harness_run("renewal.yaml").audit_path).is_file()
    assert harness_run("renewal.yaml", audit=False).audit_path is None


def test_approve_stage_with_a_reviewer(harness_run):
    result = harness_run("renewal.yaml", stage="approve", reviewer="approve-all")
    assert result.stage == "approve" and result.plan_id and result.outcome == "pass"


def test_from_inside_an_event_loop(harness_run):
    async def main():
        return harness_run("renewal.yaml")

    assert asyncio.run(main()).outcome == "pass"


def test_bad_input_is_a_harness_error(harness_run, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\\n")
    with pytest.raises(InvalidScenario, match="bad.yaml"):
        load_scenario(bad)
    with pytest.raises(UnknownAgent):
        harness_run("renewal.yaml", agent="nosuch")
    with pytest.raises(UsageError, match="unknown stage"):
        harness_run("renewal.yaml", stage="production")
    with pytest.raises(UsageError, match="only apply to an agent named by a string"):
        harness_run("renewal.yaml", agent=lambda task, tools: None, mistake_rate=1)
    with pytest.raises(UsageError, match="not an agent"):
        harness_run("renewal.yaml", agent=42)
''')
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=9)


def test_the_fixtures_do_not_need_the_agent_option_nor_collect_yaml(project):
    project.makepyfile(test_one="def test_it(harness_run):\n    assert harness_run('renewal.yaml').outcome == 'pass'\n")
    result = project.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1)
    assert "renewal.yaml::" not in result.stdout.str()
