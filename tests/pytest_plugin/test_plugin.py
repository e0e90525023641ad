"""Scenario YAML files as pytest items: collection, outcomes, explanations, markers, xdist, JUnit, ledger."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.config import audit_dir, ledger_url

from ._plugin_data import DATA

SIMULATED = ["--harness-agent", "simulated", "--harness-agent-arg", "mistake_rate=1",
             "--harness-agent-arg", "seed=1", "--harness-trials", "3"]


def call_reports(result: pytest.RunResult) -> list:
    return [r for r in result.reprec.getreports("pytest_runtest_logreport") if r.when == "call"]


def junit_outcomes(path: Path) -> dict[str, str]:
    """``file::name`` → passed, failure, error or skipped, from a JUnit XML file."""
    root = ET.parse(path).getroot()
    out = {}
    for case in root.iter("testcase"):
        kind = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
        out[f"{case.get('classname')}::{case.get('name')}"] = kind
    return out


# -- off by default -------------------------------------------------------------------------------------
def test_without_the_agent_option_yaml_files_are_not_collected(pytester, suite):
    malformed = pytester.mkdir("malformed")
    for path in (DATA / "malformed").glob("*.yaml"):
        (malformed / path.name).write_bytes(path.read_bytes())
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    result = pytester.runpytest("malformed", "suite", "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert "yaml" not in result.stdout.str()


def test_without_the_agent_option_nothing_of_the_harness_is_imported(pytester, suite):
    code = ("import sys, pytest\n"
            "code = pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider', 'suite'])\n"
            "loaded = sorted(m for m in sys.modules if m.startswith(('harness.', 'fakes')) "
            "and m != 'harness.pytest_plugin')\n"
            "print('HARNESS-MODULES', loaded, 'PLUGIN' , 'harness.pytest_plugin' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=pytester.path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert "HARNESS-MODULES [] PLUGIN True" in proc.stdout, proc.stdout + proc.stderr


def test_the_plugin_registers_its_session_only_with_the_option(pytester):
    assert pytester.parseconfigure().pluginmanager.get_plugin("harness-session") is None
    config = pytester.parseconfigure("--harness-agent", "oracle", "--harness-no-ledger")
    assert config.pluginmanager.get_plugin("harness-session") is not None


# -- outcomes -------------------------------------------------------------------------------------------
def test_oracle_passes_every_scenario_item(pytester, suite):
    result = pytester.runpytest("suite", "--harness-agent", "oracle", "--harness-no-ledger", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*suite/minimal.yaml::test-discount?t0? PASSED*",
                                 "*suite/refuse.yaml::test-refuse-discount?t0? PASSED*",
                                 "*2 run(s) of oracle * at stage sandbox: 2 pass, 0 fail, 0 error*"])


def test_one_item_per_scenario_and_trial(pytester, suite):
    result = pytester.runpytest("suite", "--harness-agent", "oracle", "--harness-no-ledger",
                                "--harness-trials", "3", "--collect-only", "-q")
    lines = [line for line in result.stdout.lines if "::" in line]
    assert lines == [f"suite/minimal.yaml::test-discount[t{t}]" for t in range(3)] + \
                    [f"suite/refuse.yaml::test-refuse-discount[t{t}]" for t in range(3)]


def test_failing_items_explain_the_run_in_the_users_terms(pytester, suite):
    result = pytester.runpytest("suite", *SIMULATED, "--harness-no-ledger")
    reports = call_reports(result)
    failed = [r for r in reports if r.failed]
    assert len(failed) >= 3
    assert {r.nodeid for r in failed} >= {f"suite/minimal.yaml::test-discount[t{t}]" for t in range(3)}
    text = result.stdout.str()
    assert "Traceback" not in text and "def runtest" not in text
    for report in failed:
        props = dict(report.user_properties)
        mistakes = json.loads(props["harness_mistakes"])
        assert mistakes
        body = report.longreprtext
        assert props["harness_outcome"].upper() in body
        assert "mistakes (" in body
        for m in mistakes:
            assert f"{m['type']} ({m['severity']}) {m['entity']}: {m['detail']}" in body
        assert "blast radius" in body
        assert f"harness audit explain {props['harness_run_id']}" in body
    minimal = next(r for r in failed if r.nodeid.endswith("test-discount[t0]"))
    assert "money exposed" in minimal.longreprtext  # a non-zero dimension, realised / potential
    assert "realised / potential" in minimal.longreprtext
    # the short summary (-ra) carries a one-line crash message
    result.stdout.fnmatch_lines(["FAILED suite/minimal.yaml::test-discount[[]t0[]] - FAIL: * mistake(s): *"])


def test_an_error_outcome_shows_its_cause_and_message(pytester, suite):
    pytester.makepyfile(broken_agent="def broken(task, tools):\n    raise RuntimeError('model endpoint is down')\n")
    pytester.syspathinsert()
    result = pytester.runpytest("suite/minimal.yaml", "--harness-agent", "broken_agent:broken",
                                "--harness-no-ledger")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test-discount [[]t0[]]: ERROR*",
                                 "*error (agent): the agent raised RuntimeError: model endpoint is down*"])
    (report,) = call_reports(result)
    assert dict(report.user_properties)["harness_outcome"] == "error"
    assert json.loads(dict(report.user_properties)["harness_error"])["cause"] == "agent"


def test_report_location_names_the_file_and_line(pytester, suite):
    result = pytester.runpytest("suite/minimal.yaml", *SIMULATED, "--harness-no-ledger", "--tb=line")
    result.stdout.fnmatch_lines(["*suite/minimal.yaml:1: FAIL: * mistake(s): *"])
    (report, *_) = call_reports(result)
    assert report.location[0] == "suite/minimal.yaml"
    assert report.location[2] == "scenario test-discount [t0]"


# -- malformed files ------------------------------------------------------------------------------------
def test_a_malformed_file_is_a_collection_error_naming_file_and_field(pytester, suite):
    for name in ("03-unknown-field.yaml", "13-not-a-mapping.yaml", "04-bad-tier.yaml"):
        (suite / name).write_bytes((DATA / "malformed" / name).read_bytes())
    # (in-process pytester re-imports nothing, so pytest warns it cannot rewrite the already imported
    # harness packages; a real run never sees that warning)
    result = pytester.runpytest("suite", "--harness-agent", "oracle", "--harness-no-ledger",
                                "-W", "ignore::pytest.PytestAssertRewriteWarning")
    result.assert_outcomes(passed=2, errors=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = result.stdout.str()
    assert "Traceback" not in text and "_pytest" not in text
    result.stdout.fnmatch_lines([
        "*ERROR collecting suite/03-unknown-field.yaml*",
        "suite/03-unknown-field.yaml, line 7, field `titel`: unknown field 'titel' (did you mean 'title'?)*",
    ])
    result.stdout.fnmatch_lines(["suite/04-bad-tier.yaml, line *, field `tier`: got 'extreme'*"])
    result.stdout.fnmatch_lines(["suite/13-not-a-mapping.yaml*not a mapping*"])


def test_two_files_with_one_id_are_a_collection_error(pytester, suite):
    (suite / "zz-copy.yaml").write_text((suite / "minimal.yaml").read_text())
    result = pytester.runpytest("suite", "--harness-agent", "oracle", "--harness-no-ledger")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([("suite/zz-copy.yaml, field `id`: the id 'test-discount' is already used "
                                  "by suite/minimal.yaml.*")])


def test_bad_options_are_usage_errors_without_traceback(pytester, suite):
    for args, fragment in [
        (["--harness-agent", "nosuch"], "unknown agent 'nosuch'"),
        (["--harness-agent", "oracle", "--harness-stage", "production"], "unknown stage 'production'"),
        (["--harness-agent", "simulated", "--harness-agent-arg", "mistake_rate=2"], "between 0 and 1"),
        (["--harness-agent", "oracle", "--harness-trials", "0"], "at least one run"),
        (["--harness-agent", "oracle", "--harness-reviewer", "approve-all"], "--harness-stage approve"),
        (["--harness-agent", "oracle", "--harness-ledger", "nota url"], "not a database URL"),
    ]:
        result = pytester.runpytest("suite", *args)
        assert result.ret == pytest.ExitCode.USAGE_ERROR, args
        assert fragment in result.stderr.str(), (args, result.stderr.str())
        assert "Traceback" not in result.stderr.str()


# -- markers and -k ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("selection, expected", [
    (["-m", "tier_high"], ["suite/refuse.yaml::test-refuse-discount[t0]"]),
    (["-m", "tier_medium"], ["suite/minimal.yaml::test-discount[t0]"]),
    (["-m", "workflow_test_discounts"], ["suite/minimal.yaml::test-discount[t0]"]),
    (["-m", "workflow_test_refusals or tier_medium"], ["suite/minimal.yaml::test-discount[t0]",
                                                       "suite/refuse.yaml::test-refuse-discount[t0]"]),
    (["-m", "not tier_low and not tier_high"], ["suite/minimal.yaml::test-discount[t0]"]),
    (["-k", "tier_high"], ["suite/refuse.yaml::test-refuse-discount[t0]"]),
    (["-k", "test.refusals"], ["suite/refuse.yaml::test-refuse-discount[t0]"]),
    (["-k", "refusal"], ["suite/refuse.yaml::test-refuse-discount[t0]"]),
])
def test_markers_and_keywords_select_by_tier_and_workflow(pytester, suite, selection, expected):
    result = pytester.runpytest("suite", "--harness-agent", "oracle", "--harness-no-ledger", "--strict-markers",
                                "-v", *selection)
    assert sorted(r.nodeid for r in call_reports(result)) == expected
    assert "PytestUnknownMarkWarning" not in result.stdout.str()


def test_workflow_markers_are_registered(pytester, suite):
    result = pytester.runpytest("suite", "--harness-agent", "oracle", "--harness-no-ledger", "--strict-markers",
                                "--collect-only", "-q")
    assert result.ret == 0
    config = result.reprec.getcall("pytest_collection_finish").session.config
    names = {line.split(":")[0] for line in config.getini("markers")}
    assert {"tier_low", "tier_medium", "tier_high", "workflow_test_discounts", "workflow_test_refusals"} <= names


# -- JUnit XML --------------------------------------------------------------------------------------------
def test_junitxml_is_valid_and_carries_the_explanation(pytester, suite):
    result = pytester.runpytest("suite", *SIMULATED, "--harness-no-ledger", "--junitxml", "out.xml")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    root = ET.parse(pytester.path / "out.xml").getroot()
    cases = list(root.iter("testcase"))
    assert len(cases) == 6
    failures = [(case, case.find("failure")) for case in cases if case.find("failure") is not None]
    assert len(failures) >= 3
    for case, failure in failures:
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        mistakes = json.loads(props["harness_mistakes"])
        assert props["harness_outcome"] == "fail"
        assert props["harness_scenario"] in ("test-discount", "test-refuse-discount")
        assert set(json.loads(props["harness_blast_radius"])) == {"realised", "potential"}
        assert props["harness_explain"] == f"harness audit explain {props['harness_run_id']}"
        assert failure.get("message").startswith("FAIL: ")
        for m in mistakes:
            assert m["type"] in failure.get("message") or len(mistakes) > 3
            assert f"{m['type']} ({m['severity']}) {m['entity']}: {m['detail']}" in failure.text
        assert "blast radius" in failure.text
        assert f"harness audit explain {props['harness_run_id']}" in failure.text


# -- audit logs and the ledger ----------------------------------------------------------------------------
def test_audit_logs_go_where_harness_audit_explain_looks(pytester, suite):
    from harness.audit import locate_log

    result = pytester.runpytest("suite/minimal.yaml", *SIMULATED, "--harness-no-ledger")
    run_ids = [dict(r.user_properties)["harness_run_id"] for r in call_reports(result)]
    assert len(run_ids) == 3
    for run_id in run_ids:
        path = locate_log(run_id)
        assert path.parent == audit_dir() and path.name == f"{run_id}.jsonl"


def test_harness_no_audit_writes_no_log(pytester, suite):
    result = pytester.runpytest("suite/minimal.yaml", *SIMULATED, "--harness-no-ledger", "--harness-no-audit")
    result.assert_outcomes(failed=3)
    assert not audit_dir().exists()
    result.stdout.fnmatch_lines(["*no audit log was written (--harness-no-audit)*"])


def test_runs_are_recorded_in_the_default_ledger(pytester, suite):
    from harness.ledger import Ledger

    result = pytester.runpytest("suite", *SIMULATED)
    result.stdout.fnmatch_lines(["*recorded 6 run(s) in the ledger sqlite:///*"])
    with Ledger(ledger_url()) as ledger:
        assert ledger.count_runs() == 6
        runs = ledger.runs(workflow="test.discounts")
        assert {r["run_id"] for r in runs} == {dict(r.user_properties)["harness_run_id"]
                                               for r in call_reports(result) if "::test-discount[" in r.nodeid}


def test_an_explicit_ledger_and_no_ledger(pytester, suite, tmp_path):
    from harness.ledger import Ledger

    url = f"sqlite:///{(tmp_path / 'team.db').as_posix()}"
    result = pytester.runpytest("suite", "--harness-agent", "oracle", "--harness-ledger", url)
    result.assert_outcomes(passed=2)
    with Ledger(url) as ledger:
        assert ledger.count_runs() == 2
    result = pytester.runpytest("suite", "--harness-agent", "oracle", "--harness-no-ledger")
    result.assert_outcomes(passed=2)
    assert not Path(ledger_url()[len("sqlite:///"):]).exists()


def test_a_broken_ledger_package_fails_loudly(pytester, suite, monkeypatch):
    monkeypatch.setitem(sys.modules, "harness.ledger", None)  # makes `import harness.ledger` fail
    result = pytester.runpytest("suite", "--harness-agent", "oracle")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "cannot record runs: the ledger package failed to import" in result.stderr.str()
    result = pytester.runpytest("suite", "--harness-agent", "oracle", "--harness-no-ledger")
    result.assert_outcomes(passed=2)


def test_a_failed_recording_is_loud_and_fails_the_session(pytester, suite, monkeypatch):
    from harness.errors import LedgerError
    from harness.ledger import Ledger

    def refuse(self, results):
        raise LedgerError("cannot write to the ledger: disk I/O error")

    monkeypatch.setattr(Ledger, "record_runs", refuse)
    result = pytester.runpytest("suite", "--harness-agent", "oracle")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    result.stdout.fnmatch_lines([("*the runs were NOT recorded in the ledger: cannot write to the ledger: "
                                  "disk I/O error*")])


def test_approve_stage_with_a_reviewer_records_plans(pytester, suite):
    from harness.ledger import Ledger

    result = pytester.runpytest("suite/minimal.yaml", "--harness-agent", "oracle", "--harness-stage", "approve",
                                "--harness-rehearse",
                                "--harness-reviewer", "approve-all")
    result.assert_outcomes(passed=1)
    with Ledger(ledger_url()) as ledger:
        (run,) = ledger.runs()
        assert run["stage"] == "approve"
        plans = ledger.list_plans()
        assert len(plans) == 1 and plans[0]["run_id"] == run["run_id"]


# -- pytest-xdist ---------------------------------------------------------------------------------------
def test_xdist_gives_the_same_outcomes_as_a_serial_run(pytester, suite, tmp_path):
    from harness.ledger import Ledger

    (suite / "03-unknown-field.yaml").write_bytes((DATA / "malformed" / "03-unknown-field.yaml").read_bytes())
    args = ["suite", "--harness-agent", "simulated", "--harness-agent-arg", "mistake_rate=0.5",
            "--harness-trials", "4", "-p", "no:cacheprovider"]
    serial_db, xdist_db = tmp_path / "serial.db", tmp_path / "xdist.db"
    serial = pytester.runpytest_subprocess(*args, "--junitxml", "serial.xml",
                                           "--harness-ledger", f"sqlite:///{serial_db.as_posix()}")
    parallel = pytester.runpytest_subprocess(*args, "-n", "2", "--junitxml", "xdist.xml",
                                             "--harness-ledger", f"sqlite:///{xdist_db.as_posix()}")
    assert serial.ret == parallel.ret == pytest.ExitCode.TESTS_FAILED
    one, two = junit_outcomes(pytester.path / "serial.xml"), junit_outcomes(pytester.path / "xdist.xml")
    assert len([k for k in one if "yaml::" in k]) == 8
    assert one == two
    assert {"passed", "failure"} <= set(one.values())  # a rate of 0.5 over 8 runs: some of each
    parallel.stdout.fnmatch_lines(["*ERROR collecting suite/03-unknown-field.yaml*",
                                   "*field `titel`*",
                                   "*recorded 8 run(s) in the ledger*"])
    with Ledger(f"sqlite:///{serial_db.as_posix()}") as a, Ledger(f"sqlite:///{xdist_db.as_posix()}") as b:
        def key(run: dict) -> tuple:
            return run["scenario"], run["trial"], run["seed"], run["outcome"]

        assert sorted(map(key, a.runs())) == sorted(map(key, b.runs()))
        assert len(b.runs()) == 8
