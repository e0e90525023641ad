"""Every bundled scenario passes its self-check: the reference solution passes, doing nothing fails."""

from pathlib import Path

import pytest

from harness.scenario import find_scenario_files
from harness.validate import validate_scenario_file

ROOT = Path(__file__).resolve().parents[2]
FILES = find_scenario_files([ROOT / "scenarios", ROOT / "tests" / "data" / "good"])


def test_there_are_bundled_scenarios():
    assert len(FILES) >= 30


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_bundled_scenario_passes_its_self_check(path):
    scenario = validate_scenario_file(path)
    assert scenario.path == str(path)
