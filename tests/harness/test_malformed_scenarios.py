"""Every malformed scenario file gets one clear error naming the file, the field and what was expected."""

import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import InvalidScenario
from harness.scenario import load_scenario_file, load_scenarios
from harness.validate import validate_scenario_file

MALFORMED = Path(__file__).resolve().parent.parent / "data" / "malformed"

# file -> fragments the message must contain
EXPECTED = {
    "01-not-yaml.yaml": ["not valid YAML", "line"],
    "02-wrong-type.yaml": ["`seed`", "str", "integer"],
    "03-unknown-field.yaml": ["unknown field 'titel'", "did you mean 'title'", "line 7"],
    "04-bad-tier.yaml": ["`tier`", "'extreme'", "'low', 'medium' or 'high'"],
    "05-missing-task.yaml": ["`task`", "missing"],
    "06-unknown-tool.yaml": ["`reference[0].tool`", "unknown tool 'crm_nuke'", "crm_update_deal"],
    "07-bad-tool-args.yaml": ["`reference[0].args.discount_pct`", "crm_update_deal"],
    "08-python-tag.yaml": ["not allowed", "`task`"],
    "09-deeply-nested.yaml": ["nesting deeper"],
    "10-alias-bomb.yaml": ["aliases expanded"],
    "11-huge.yaml": ["bytes", "refused"],
    "12-duplicate-key.yaml": ["appears twice", "`id`"],
    "13-not-a-mapping.yaml": ["not a mapping"],
    "14-bad-id.yaml": ["`id`", "'Bad Id!'"],
    "15-no-expectations.yaml": ["`expect`", "at least one entry in expect.changes"],
    "16-act-without-reference.yaml": ["`reference`", "no reference solution"],
    "17-negative-amount.yaml": ["`world.crm.deals[0].amount`", "greater than or equal to 0"],
    "18-empty.yaml": ["empty"],
    "19-not-utf8.yaml": ["UTF-8"],
    "20-reference-fails.yaml": ["reference solution does not pass", "missing_action"],
    "22-bad-workflow.yaml": ["`workflow`", "'nodots'"],
    "24-world-unbuildable.yaml": ["`world`", "cannot be built", "no account with id 'nowhere'"],
}
SELF_CHECK = {"20-reference-fails.yaml", "24-world-unbuildable.yaml"}
"""Caught by the self-check (building the world and running it), not by loading."""


def test_the_corpus_is_complete():
    files = sorted(p.name for p in MALFORMED.glob("*.yaml"))
    assert len(files) >= 15
    assert set(files) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_malformed_file_gets_a_clear_error(name):
    path = MALFORMED / name
    with pytest.raises(InvalidScenario) as info:
        (validate_scenario_file if name in SELF_CHECK else load_scenario_file)(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    for fragment in EXPECTED[name]:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "Traceback" not in message
    assert info.value.exit_code == 2


@pytest.mark.parametrize("name", sorted(SELF_CHECK))
def test_loading_never_builds_or_runs_the_world(name, monkeypatch):
    """Loading is static (fast start-up); the self-check is the explicit step that runs the scenario."""
    import harness.runner

    def no_build(*args, **kwargs):
        raise AssertionError("loading a scenario built its world")

    monkeypatch.setattr(harness.runner, "build_world", no_build)
    assert load_scenario_file(MALFORMED / name).path == str(MALFORMED / name)


def test_cli_run_on_an_unbuildable_world_exits_2_naming_the_file(tmp_path):
    path = MALFORMED / "24-world-unbuildable.yaml"
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(path), "--agent", "oracle",
                           "--no-ledger", "--no-audit"], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"error: {path}, field `world`: the world cannot be built")
    assert "Traceback" not in proc.stderr


def test_duplicate_ids_across_files_are_refused(tmp_path):
    good = Path(__file__).resolve().parent.parent / "data" / "good" / "minimal.yaml"
    (tmp_path / "a.yaml").write_text(good.read_text())
    (tmp_path / "b.yaml").write_text(good.read_text())
    with pytest.raises(InvalidScenario, match="already used by"):
        load_scenarios([tmp_path])


def test_python_tag_never_executes(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.yaml"
    bad.write_text(f'id: x\ntask: !!python/object/apply:os.system ["touch {marker}"]\n')
    with pytest.raises(InvalidScenario):
        load_scenario_file(bad)
    assert not marker.exists()


def test_cli_validate_reports_every_bad_file_with_exit_2():
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "scenarios", "validate", str(MALFORMED)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("INVALID") == len(EXPECTED)
    assert f"0 valid, {len(EXPECTED)} invalid" in proc.stdout


def test_cli_run_on_a_bad_file_exits_2_with_one_paragraph():
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(MALFORMED / "03-unknown-field.yaml"),
                           "--agent", "oracle", "--no-ledger"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ")
    assert "titel" in proc.stderr and "Traceback" not in proc.stderr
