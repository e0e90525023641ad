"""The bundled suites are found by name, from any folder, by run, scenarios and the pytest plugin."""

import subprocess
import sys

import pytest

from harness import bundled
from harness.scenario import find_scenario_files, load_scenarios
from tests.cli._cli import ROOT, env, harness, harness_json


def test_bundled_is_every_scenario_file_of_the_package():
    files = find_scenario_files(["bundled"])
    assert files == sorted(files)
    assert {p.resolve() for p in files} == {p.resolve() for p in (ROOT / "scenarios").rglob("*.yaml")}
    assert all(p.is_absolute() for p in files)


def test_every_name_selects_exactly_its_workflows():
    every = {str(s.path): s.workflow for s in load_scenarios(["bundled"])}
    for name in bundled.names():
        files = {str(p) for p in find_scenario_files([f"bundled:{name}"])}
        prefix = name if "." in name else name + "."
        wanted = {path for path, wf in every.items() if wf == name or wf.startswith(prefix)}
        assert files and files == wanted, name


def test_a_workflow_may_be_named_with_a_slash_too():
    assert find_scenario_files(["bundled:crm/renewal-discounts"]) == find_scenario_files(
        ["bundled:crm.renewal-discounts"])


@pytest.mark.parametrize("ref", ["bundled:nope", "bundled:../harness", "bundled:crm.nope"])
def test_unknown_names_are_bad_input_listing_the_names(tmp_path, ref):
    code, out, err = harness("run", ref, "--agent", "oracle", cwd=tmp_path)
    assert code == 2
    assert "no bundled suite" in err and "crm.renewal-discounts" in err


def test_a_local_folder_named_bundled_wins_over_the_bare_word(tmp_path):
    (tmp_path / "bundled").mkdir()
    (tmp_path / "bundled" / "x.yaml").write_text((ROOT / "tests/data/good/minimal.yaml").read_text())
    files = find_scenario_files([tmp_path / "bundled"])
    assert [p.name for p in files] == ["x.yaml"]


def test_scenarios_list_without_a_path_lists_the_bundled_suites(tmp_path):
    listed = harness_json("scenarios", "list", cwd=tmp_path)
    assert {s["id"] for s in listed} == {s.id for s in load_scenarios([ROOT / "scenarios"])}
    assert not (tmp_path / ".harness").exists()


def test_run_by_name_from_an_empty_folder(tmp_path):
    result = harness_json("run", "bundled:crm", "--agent", "oracle", "--no-ledger", "--no-audit", cwd=tmp_path)
    assert result["runs"] == len(find_scenario_files(["bundled:crm"])) > 0
    assert result["passed"] == result["runs"]
    assert {r["workflow"].split(".")[0] for r in result["results"]} == {"crm"}


def test_validate_by_name_and_as_json(tmp_path):
    report = harness_json("scenarios", "validate", "bundled:files", cwd=tmp_path)
    assert report["invalid"] == 0 and report["valid"] == len(find_scenario_files(["bundled:files"]))
    assert all(f["ok"] for f in report["files"])


def test_validate_json_reports_each_bad_file(tmp_path):
    (tmp_path / "bad.yaml").write_text("id: x\n")
    (tmp_path / "good.yaml").write_text((ROOT / "tests/data/good/minimal.yaml").read_text())
    report = harness_json("scenarios", "validate", ".", cwd=tmp_path, check=2)
    assert (report["valid"], report["invalid"]) == (1, 1)
    bad = next(f for f in report["files"] if not f["ok"])
    assert bad["path"] == "bad.yaml" and "bad.yaml" in bad["error"]


def test_pytest_plugin_collects_a_bundled_suite_by_name(tmp_path):
    expected = len(find_scenario_files(["bundled:files"]))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--harness-agent", "oracle",
                           "--harness-suite", "bundled:files", "--harness-no-ledger", "--harness-no-audit"],
                          cwd=tmp_path, env=env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{expected} passed" in proc.stdout


def test_pytest_plugin_refuses_an_unknown_suite(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--harness-agent", "oracle",
                           "--harness-suite", "nope"], cwd=tmp_path, env=env(), capture_output=True, text=True)
    assert proc.returncode == 4  # pytest's usage error
    assert "no bundled suite named 'nope'" in proc.stderr
