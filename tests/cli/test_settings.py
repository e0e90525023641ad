"""harness.toml and [tool.harness]: options people repeat, with clear errors for typos."""

import pytest

from tests.cli._cli import ROOT, harness, harness_json

MINIMAL = (ROOT / "tests/data/good/minimal.yaml").read_text()


def _project(tmp_path, toml: str, name: str = "harness.toml"):
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "minimal.yaml").write_text(MINIMAL)
    (tmp_path / name).write_text(toml)
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    return tmp_path


def test_settings_apply_from_sub_folders_and_paths_are_relative_to_the_file(tmp_path):
    _project(tmp_path, 'home = "data"\nscenarios = ["suite"]\n[run]\nagent = "oracle"\ntrials = 2\n')
    result = harness_json("run", cwd=tmp_path / "sub" / "deeper", HARNESS_HOME="")
    assert result["runs"] == 2 and result["passed"] == 2
    assert (tmp_path / "data" / "ledger.db").is_file()
    assert not (tmp_path / "sub" / "deeper" / ".harness").exists()


def test_pyproject_tool_harness_table(tmp_path):
    _project(tmp_path, '[project]\nname = "x"\n[tool.harness]\nscenarios = "suite"\n[tool.harness.run]\n'
                       'agent = "noop"\nno-ledger = true\n', name="pyproject.toml")
    result = harness_json("run", cwd=tmp_path, check=1)
    assert result["runs"] == 1 and result["results"][0]["agent"] == "noop"


def test_the_command_line_wins(tmp_path):
    _project(tmp_path, 'scenarios = ["suite"]\n[run]\nagent = "noop"\ntrials = 3\n')
    result = harness_json("run", "--agent", "oracle", "--trials", "1", "--no-ledger", cwd=tmp_path)
    assert result["runs"] == 1 and result["passed"] == 1


@pytest.mark.parametrize("toml, field, says", [
    ('[run]\nagnet = "oracle"\n', "run.agnet", "has no option --agnet"),
    ('[run]\ntrials = "many"\n', "run.trials", "a whole number"),
    ('[run]\nno-ledger = "yes"\n', "run.no-ledger", "true or false"),
    ('trials = 3\n', "trials", "put other options in a table"),
    ('[rnu]\nagent = "oracle"\n', "rnu", "no command rnu"),
    ('[run]\nagent = ["a", "b"]\n', "run.agent", "single value"),
    ('[run\n', None, "not valid TOML"),
])
def test_bad_settings_are_bad_input_naming_file_and_key(tmp_path, toml, field, says):
    _project(tmp_path, toml)
    code, out, err = harness("run", "--agent", "oracle", cwd=tmp_path)
    assert code == 2, (out, err)
    assert "harness.toml" in err and says in err
    if field:
        assert f"`{field}`" in err


def test_settings_can_be_named_or_turned_off(tmp_path):
    _project(tmp_path, '[run]\nagnet = "oracle"\n')
    code, _, err = harness("scenarios", "list", "suite", cwd=tmp_path, HARNESS_CONFIG="")
    assert code == 0, err
    other = tmp_path / "other.toml"
    other.write_text('scenarios = ["suite"]\n')
    listed = harness_json("scenarios", "list", cwd=tmp_path, HARNESS_CONFIG=str(other))
    assert [s["id"] for s in listed] == ["test-discount"]
