"""`harness audit verify` judges a log as the run it claims to be, against the ledger and signed digests."""

import json
import shutil

import pytest

from tests.audit._audit_helpers import rechain
from tests.e2e.conftest import GOOD


def _runs(cli, *extra, trials=2):
    _, out, _ = cli("run", GOOD, "--agent", "oracle", "--trials", trials, "--json", *extra, check=0)
    return json.loads(out)["results"]


def _edit_and_rechain(path):
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for r in records:
        if r["type"] == "run_finished":
            r["payload"]["outcome"] = "pass" if r["payload"]["outcome"] != "pass" else "fail"
    path.write_bytes(rechain(records))


def test_a_swapped_log_fails_and_explain_warns(cli):
    a, b = _runs(cli)
    shutil.copy(b["audit_path"], a["audit_path"])
    code, out, err = cli("audit", "verify", a["run_id"])
    assert code == 1 and f"holds run '{b['run_id']}'" in err, (out, err)
    code, out, err = cli("audit", "explain", a["run_id"])
    assert "does not verify" in err
    cli("audit", "verify", b["run_id"], check=0)


def test_an_untouched_log_is_anchored_by_the_ledger_and_its_signed_digest(cli):
    [a] = _runs(cli, trials=1)
    code, out, err = cli("audit", "verify", a["run_id"], "--strict", check=0)
    assert "anchored by the ledger and a signed digest" in out


def test_a_rechained_log_fails_against_the_ledger_it_was_recorded_in(cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'team.db'}"
    [a] = _runs(cli, "--ledger", url, trials=1)
    path = tmp_path.parent / "x"
    from pathlib import Path

    path = Path(a["audit_path"])
    _edit_and_rechain(path)
    Path(str(path) + ".digest.json").unlink()  # the attacker also removes the signed digest
    code, out, err = cli("audit", "verify", a["run_id"], "--ledger", url)
    assert code == 1 and "ledger's head" in err
    # without the ledger it was recorded in, nothing anchors the log: said plainly, and --strict exits 4
    code, out, err = cli("audit", "verify", str(path), check=0)
    assert "UNANCHORED" in out
    code, out, err = cli("audit", "verify", str(path), "--strict")
    assert code == 4 and "UNANCHORED" in out


def test_the_signed_digest_catches_a_rechained_log_with_no_ledger(cli):
    [a] = _runs(cli, "--no-ledger", trials=1)
    code, out, _ = cli("audit", "verify", a["audit_path"], "--strict", check=0)
    assert "signed digest" in out
    from pathlib import Path

    _edit_and_rechain(Path(a["audit_path"]))
    code, out, err = cli("audit", "verify", a["audit_path"])
    assert code == 1 and "differ from those the harness signed" in err


def test_a_digest_re_signed_with_another_key_fails(cli, tmp_path):
    [a] = _runs(cli, "--no-ledger", trials=1)
    from pathlib import Path

    from harness.audit._sign import Signer

    log = Path(a["audit_path"])
    _edit_and_rechain(log)
    head = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])["hash"]
    Signer.load_or_create(tmp_path / "attacker").sign_log(log, a["run_id"], head)
    code, out, err = cli("audit", "verify", str(log))
    assert code == 1 and "signed with another key" in err
    # the attacker's own public key is not the harness's: verifying with it is the reader's choice
    cli("audit", "verify", str(log), "--public-key", tmp_path / "attacker" / "keys" / "audit-ed25519.pub", check=0)


def test_a_deleted_log_of_a_recorded_run_is_a_failed_verification(cli):
    [a] = _runs(cli, trials=1)
    from pathlib import Path

    Path(a["audit_path"]).unlink()
    code, out, err = cli("audit", "verify", a["run_id"])
    assert code == 1 and "missing" in err and "deleted" in err


def test_a_plan_decision_log_verifies_and_is_anchored(cli):
    import os

    cli("run", GOOD, "--agent", "oracle", "--stage", "approve", "--rehearse", check=0)
    _, out, _ = cli("plan", "list", "--json", check=0)
    [plan] = json.loads(out)
    cli("plan", "approve", plan["id"], "--by", "dana@example.com", check=0)
    audit = os.path.join(os.environ["HARNESS_HOME"], "audit")
    [decision] = [f for f in os.listdir(audit) if "-decision-" in f and f.endswith(".jsonl")]
    code, out, err = cli("audit", "verify", decision[: -len(".jsonl")], "--strict")
    assert code == 0 and "anchored by the ledger and a signed digest" in out, (out, err)
    code, out, err = cli("audit", "verify", plan["id"], "--strict")
    assert code == 0, (out, err)


def test_a_huge_argument_is_stored_as_a_hash_and_a_prefix(cli, tmp_path):
    _, out, _ = cli("run", GOOD, "--agent", "tests.integrity._agents:huge_argument", "--json", "--out", tmp_path)
    [r] = json.loads(out)["results"]
    from pathlib import Path

    log = Path(r["audit_path"])
    assert log.stat().st_size < 512 * 1024
    events = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    calls = [e["payload"] for e in events if e["type"] == "tool_call"]
    assert calls[0]["args"]["id"]["elided"] is True and calls[0]["args"]["id"]["bytes"] == 10_000_012
    assert calls[1]["rationale"]["prefix"].startswith("yyy")
    cli("audit", "verify", r["run_id"], "--dir", tmp_path, "--strict", check=0)


@pytest.mark.parametrize("size", [10, 70_000, 3_000_000])
def test_the_cap_keeps_small_events_whole_and_bounds_large_ones(tmp_path, size):
    from harness.audit import AuditLog, verify_log
    from harness.audit._cap import MAX_EVENT_BYTES

    path = tmp_path / "r.jsonl"
    with AuditLog(path, "r") as log:
        log.append("tool_call", {"args": {"s": "a" * size, "many": ["b" * 900] * (size // 900)}})
    line = path.read_bytes().splitlines()[0]
    assert len(line) < MAX_EVENT_BYTES + 1024
    assert (b'"elided":true' in line) == (size > MAX_EVENT_BYTES // 2)
    assert verify_log(path).ok
