"""`harness run` as a user runs it, on the bundled suites."""

import json
from collections import Counter
from pathlib import Path

from tests.e2e.conftest import GOOD, ROOT

SCENARIOS = ROOT / "scenarios"


def test_oracle_passes_every_bundled_scenario(run_json):
    code, data = run_json(SCENARIOS, "--agent", "oracle", "--no-ledger", "--no-audit")
    assert code == 0
    assert data["runs"] >= 30 and data["passed"] == data["runs"]
    assert len({r["workflow"] for r in data["results"]}) >= 6
    assert all(not any(r["blast_radius"]["potential"].values()) for r in data["results"])


def test_simulated_mistakes_are_varied_and_reproducible(run_json):
    args = (SCENARIOS, "--agent", "simulated", "-a", "mistake_rate=0.3", "-a", "seed=1", "--no-ledger",
            "--no-audit", "--seed", "1")  # a fixed --seed reproduces; without it every run draws fresh seeds
    code, first = run_json(*args)
    _, second = run_json(*args)
    assert code == 1
    kinds = Counter(m["type"] for r in first["results"] for m in r["mistakes"])
    assert len(kinds) >= 5, kinds
    assert any(any(r["blast_radius"]["realised"].values()) for r in first["results"])

    def strip(d):
        return [(r["scenario"], r["trial"], r["outcome"], r["mistakes"], r["blast_radius"]) for r in d["results"]]
    assert strip(first) == strip(second)
    assert first["results"][0]["agent_version"] == "1.0+mistake_rate=0.3,seed=1"


def test_suggest_contains_everything(run_json):
    code, data = run_json(SCENARIOS, "--agent", "simulated", "-a", "mistake_rate=0.5", "--stage", "suggest",
                          "--rehearse", "--no-ledger", "--no-audit")
    assert code == 1
    assert all(not any(r["blast_radius"]["realised"].values()) for r in data["results"])
    assert any(any(r["blast_radius"]["potential"].values()) for r in data["results"] if r["mistakes"])


def test_careful_reviewer_catches_more_as_the_catch_rate_rises(run_json, cli):
    totals = []
    for rate in ("0", "0.6", "1"):
        _, data = run_json(SCENARIOS, "--agent", "simulated", "-a", "mistake_rate=0.6", "--trials", "2",
                           "--stage", "approve", "--rehearse", "--reviewer", "careful", "--catch-rate", rate,
                           "--no-ledger",
                           "--no-audit")
        totals.append(sum(r["blast_radius"]["realised"]["irreversible_ops"]
                          + r["blast_radius"]["realised"]["entities_touched"] for r in data["results"]))
    assert totals[0] > totals[1] > totals[2] == 0, totals
    code, out, _ = cli("run", SCENARIOS / "files", "--agent", "simulated", "-a", "mistake_rate=1", "--stage",
                       "approve", "--rehearse", "--reviewer", "careful", "--catch-rate", "0.5", "--no-ledger",
                       "--no-audit")
    assert "the reviewer caught" in out and "The stage contained" in out


def test_out_dir_and_tampering_is_caught(cli, tmp_path):
    out = tmp_path / "out"
    code, stdout, _ = cli("run", GOOD, "--agent", "simulated", "-a", "mistake_rate=1", "--trials", "3",
                          "--out", out)
    assert code == 1
    lines = (out / "runs.jsonl").read_text().splitlines()
    assert len(lines) == 3
    logs = sorted((out / "audit").glob("*.jsonl"))
    assert len(logs) == 3
    for log in logs:
        cli("audit", "verify", log, check=0)
    victim = logs[0]
    text = victim.read_text()
    victim.write_text(text.replace('"discount_pct"', '"discount_pcT"', 1) if '"discount_pct"' in text
                      else text.replace('"ok"', '"oK"', 1))
    code, _, err = cli("audit", "verify", victim)
    assert code == 1 and "TAMPERED" in (err + _)
    events = logs[1].read_text().splitlines()
    logs[1].write_text("\n".join(events[:3] + events[4:]) + "\n")  # delete one event
    code, _, _ = cli("audit", "verify", logs[1])
    assert code == 1
    run_id = json.loads(lines[2])["run_id"]
    code, story, _ = cli("audit", "explain", run_id, check=0)
    assert "Asked:" in story and "Verdict:" in story


def test_bad_usage_exits_2(cli):
    code, _, err = cli("run", GOOD, "--agent", "nonexistent_agent", "--no-ledger")
    assert code == 2 and "unknown agent" in err
    code, _, err = cli("run", GOOD, "--agent", "oracle", "--stage", "yolo", "--no-ledger")
    assert code == 2 and "unknown stage" in err
    code, _, err = cli("run", GOOD, "--agent", "simulated", "-a", "mistake_rate=2", "--no-ledger")
    assert code == 2 and "between 0 and 1" in err
    code, _, err = cli("run", "does/not/exist", "--agent", "oracle", "--no-ledger")
    assert code == 2 and "no such file" in err
    code, _, err = cli("run", GOOD, "--agent", "os:nope", "--no-ledger")
    assert code == 2 and "no attribute" in err
    code, _, err = cli("run", GOOD, "--agent", "oracle", "--out", "/proc/not-writable", "--no-ledger")
    assert code == 2 and "cannot create the folder" in err
    code, _, err = cli("run", GOOD, "--agent", "oracle", "--ledger", "notaurl")
    assert code == 2 and "not a database URL" in err


def test_tools_export_formats(cli):
    for fmt, key in (("openai", "function"), ("anthropic", "input_schema"), ("mcp", "tools")):
        _, out, _ = cli("tools", "--format", fmt, check=0)
        data = json.loads(out)
        assert key in (data if isinstance(data, dict) else data[0])
    _, out, _ = cli("tools", "--format", "openai", check=0)
    names = {t["function"]["name"] for t in json.loads(out)}
    assert {"crm_search", "crm_get", "crm_update_deal", "crm_update_contact", "crm_create_note",
            "crm_delete_record", "email_search", "email_read", "email_draft", "email_send", "files_list",
            "files_read", "files_write", "files_move", "files_delete"} <= names
    import re
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", n) for n in names)
    code, _, err = cli("tools", "--format", "xml")
    assert code == 2


def test_scenarios_schema_and_list(cli):
    _, out, _ = cli("scenarios", "schema", check=0)
    schema = json.loads(out)
    assert {"id", "workflow", "tier", "task", "expect", "reference"} <= set(schema["properties"])
    _, out, _ = cli("scenarios", "list", SCENARIOS, "--json", check=0)
    listed = json.loads(out)
    assert len(listed) >= 30 and len({s["workflow"] for s in listed}) >= 6


_ = Path
