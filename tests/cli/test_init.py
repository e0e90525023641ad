"""`harness init` scaffolds a project that runs as it is, with a policy naming its workflows."""

import json

from harness.commands.init import TEMPLATE
from tests.cli._cli import harness, harness_json


def test_init_scaffolds_a_project_whose_example_agent_passes(tmp_path):
    harness("init", "proj", cwd=tmp_path, check=0)
    proj = tmp_path / "proj"
    home = {"HARNESS_HOME": ""}  # as a user has it: the project's harness.toml says where data lives
    for rel in ("harness.toml", "policy.yaml", "agent.py"):
        assert (proj / rel).is_file()
    backends = {p.parent.name for p in (proj / "scenarios").rglob("*.yaml")}
    assert backends == {"crm", "email", "files"}

    checked = harness_json("scenarios", "validate", cwd=proj)  # paths from harness.toml
    assert checked["invalid"] == 0 and checked["valid"] == 3

    result = harness_json("run", cwd=proj, **home)                      # agent and trials from harness.toml
    assert result["runs"] == 9 and result["passed"] == 9
    assert {r["agent"] for r in result["results"]} == {"example_agent"}

    # the policy names every workflow the scenarios use, so each can be promoted
    report = harness_json("policy", "validate", "--scenarios", "scenarios", cwd=proj)
    assert report["unnamed_workflows"] == [] and len(report["workflows"]) == 3

    # the runs landed in the project's own ledger (home = .harness), found from a sub-folder too
    assert (proj / ".harness" / "ledger.db").is_file()
    status = harness_json("status", cwd=proj / "scenarios", **home)
    assert {e["workflow"] for e in status} >= set(report["workflows"])
    assert all(t["runs"] == 3 for e in status for t in e["agents"])


def test_the_example_agent_passes_at_every_stage(tmp_path):
    harness("init", cwd=tmp_path, check=0)
    for stage in ("suggest", "approve"):
        result = harness_json("run", "--stage", stage, "--rehearse", "--trials", "1", "--no-ledger", cwd=tmp_path)
        assert result["passed"] == result["runs"] == 3, (stage, json.dumps(result)[:2000])


def test_init_never_overwrites(tmp_path):
    (tmp_path / "policy.yaml").write_text("mine\n")
    code, out, err = harness("init", ".", cwd=tmp_path)
    assert code == 2
    assert "policy.yaml" in err and "nothing was written" in err
    assert (tmp_path / "policy.yaml").read_text() == "mine\n"
    assert not (tmp_path / "agent.py").exists()


def test_the_template_is_what_init_writes(tmp_path):
    report = harness_json("init", "p", cwd=tmp_path)
    assert len(report["written"]) == 6 and report["folder"] == str(tmp_path / "p")
    written = sorted(p.relative_to(tmp_path / "p") for p in (tmp_path / "p").rglob("*") if p.is_file())
    template = sorted(p.relative_to(TEMPLATE) for p in TEMPLATE.rglob("*")
                      if p.is_file() and "__pycache__" not in p.parts)
    assert written == template
