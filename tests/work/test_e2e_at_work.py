"""End to end, as a user runs it: an MCP client (official SDK) → `harness gateway serve` (a subprocess) →
the reference filesystem server and PyPI's SQLite server holding CRM tables, through all four stages."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.ledger import Ledger
from tests.work._servers import fs_command, sqlite_command
from tests.work.conftest import ROOT, Gateway, SyncClient, grant, write_policy

WORKFLOW = "ops.at-work"


def tools(root: Path) -> dict:
    return {
        "fs": {
            "read_text_file": {"effect": "read"},
            "list_directory": {"effect": "read"},
            "write_file": {"effect": "write", "targets": [{"pointer": "/path", "kind": "path"}],
                           "probe": {"tool": "read_text_file", "arguments": {"path": "{/path}"}}},
            "move_file": {"effect": "write", "targets": [{"pointer": "/source", "kind": "path"},
                                                         {"pointer": "/destination", "kind": "path"}]},
            "create_directory": {"effect": "write", "targets": [{"pointer": "/path", "kind": "path"}]},
        },
        "crm": {
            "read_query": {"effect": "read"},
            "list_tables": {"effect": "read"},
            "write_query": {"effect": "write", "sql": "/query",
                            "targets": [{"column": "outbox.to_addr", "kind": "recipient"}],
                            "probe": {"tool": "read_query", "arguments": {"query": "{sql.select}"}}},
        },
    }


def make_world(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "files"
    (root / "docs").mkdir(parents=True)
    (root / "legal").mkdir()
    (root / "docs" / "renewals.md").write_text("# Renewals\nacme: 2027-01\n")
    (root / "legal" / "nda.txt").write_text("confidential\n")
    db = tmp_path / "crm.db"
    con = sqlite3.connect(db)
    con.executescript("""
        CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT, domain TEXT);
        CREATE TABLE deals (id INTEGER PRIMARY KEY, account_id INTEGER, amount REAL, discount_pct REAL);
        CREATE TABLE outbox (id INTEGER PRIMARY KEY, to_addr TEXT, subject TEXT);
        INSERT INTO accounts VALUES (1, 'Acme', 'acme.com'), (2, 'Globex', 'globex.com');
        INSERT INTO deals VALUES (1, 1, 12000, 0), (2, 2, 8000, 5), (3, 1, 3000, 0);
    """)
    con.commit()
    con.close()
    return root, db


def snapshot(root: Path, db: Path) -> tuple:
    tree = tuple(sorted((str(p.relative_to(root)), hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file()
                         else "dir") for p in root.rglob("*")))
    con = sqlite3.connect(db)
    tables = tuple((t, tuple(con.execute(f"SELECT * FROM {t} ORDER BY id"))) for t in ("accounts", "deals", "outbox"))
    con.close()
    return tree, tables


def harness(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "HARNESS_HOME": str(home)}, timeout=timeout)


def hold_by_incident(home: Path, url: str, session_id: str) -> None:
    """A person records an incident for the session; the policy's demotion applies at once."""
    from harness.cli import COMMANDS

    if "incident" in COMMANDS:  # the ledger and the policy through the environment, as a team would set them
        done = subprocess.run([sys.executable, "-m", "harness.cli", "incident", "record", WORKFLOW, "--session",
                               session_id, "--severity", "critical", "--reason", "sent a discount to the wrong account",
                               "--by", "dana@example.com"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "HARNESS_HOME": str(home), "HARNESS_LEDGER": url,
                                   "HARNESS_POLICY": str(home.parent / "policy.yaml")})
    else:
        done = harness(home, "demote", WORKFLOW, "--to", "suggest", "--by", "dana@example.com", "--reason",
                       f"incident in {session_id}", "--ledger", url, "--policy", str(home.parent / "policy.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr


# Calls an agent might make: reads and writes on both upstreams, inside and outside the bounds.
def calls(root: Path):
    paths = st.sampled_from([str(root / "docs" / "renewals.md"), str(root / "docs" / "new.md"),
                             str(root / "legal" / "nda.txt"), str(root / "x.md")])
    sql_writes = st.sampled_from([
        "UPDATE deals SET discount_pct = 15 WHERE id = 1", "UPDATE deals SET amount = amount * 2",
        "DELETE FROM deals WHERE id = 3", "INSERT INTO outbox (to_addr, subject) VALUES ('ceo@acme.com', 'hi')",
        "INSERT INTO deals (account_id, amount, discount_pct) VALUES (2, 1, 90)", "DROP TABLE deals",
        "UPDATE accounts SET domain = 'evil.org'"])
    return st.lists(st.one_of(
        st.builds(lambda p: ("fs_read_text_file", {"path": p}), paths),
        st.builds(lambda p, c: ("fs_write_file", {"path": p, "content": c}), paths, st.text(max_size=20)),
        st.builds(lambda a, b: ("fs_move_file", {"source": a, "destination": b}), paths, paths),
        st.builds(lambda p: ("fs_create_directory", {"path": p}), paths),
        st.builds(lambda q: ("crm_write_query", {"query": q}), sql_writes),
        st.just(("crm_read_query", {"query": "SELECT * FROM deals"})),
    ), min_size=1, max_size=6)


def test_all_four_stages_on_real_upstreams(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    root, db = make_world(tmp_path)
    policy = write_policy(tmp_path / "policy.yaml", tools(root), workflow=WORKFLOW,
                          bounds={"protected_paths": [f"{root}/legal/**"], "allowed_recipient_domains": ["acme.com"],
                                  "max_writes": 1000},  # suggested writes count too
                          demotion=[{"on": "severity", "at_least": "high", "to": "suggest"}])
    gw = Gateway(home, policy, [f"fs={fs_command(root)}", f"crm={sqlite_command(db)}"], workflow=WORKFLOW)
    client = SyncClient(gw)
    try:
        _stages(home, gw, client, root, db)
    finally:
        client.close()
        gw.stop()
    _evidence(home, gw)


def _stages(home: Path, gw: Gateway, client: SyncClient, root: Path, db: Path) -> None:
    assert "crm_write_query" in client.tools() and "crm_create_table" not in client.tools()  # default deny
    initial = snapshot(root, db)

    # sandbox: nothing reaches an upstream, not even a read
    said = client.call("crm_read_query", {"query": "SELECT * FROM deals"})
    assert said["ok"] is False and "sandbox" in said["message"]

    # suggest: whatever the agent tries, the real files and tables do not change
    grant(gw.url, "suggest", workflow=WORKFLOW)

    @settings(max_examples=15, suppress_health_check=list(HealthCheck), deadline=None)
    @given(calls(root))
    def nothing_changes_at_suggest(sequence):
        for name, args in sequence:
            said = client.call(name, args)
            if name in ("fs_read_text_file", "crm_read_query"):
                assert said.get("cause") != "policy", said  # reads pass at suggest
            else:
                assert said.get("status") == "suggested" or said.get("ok") is False, said
        assert snapshot(root, db) == initial

    nothing_changes_at_suggest()
    with Ledger(gw.url) as led:
        session_id = led.list_sessions(WORKFLOW)[0]["id"]
        suggestions = led.list_suggestions(workflow=WORKFLOW, status="pending")
    assert suggestions
    judged = [harness(home, "suggestions", "accept", suggestions[0]["id"], "--by", "dana@example.com",
                      "--ledger", gw.url),
              harness(home, "suggestions", "reject", suggestions[-1]["id"], "--by", "dana@example.com",
                      "--reason", "wrong deal", "--ledger", gw.url)]
    assert [j.returncode for j in judged] == [0, 0], [j.stderr for j in judged]
    twice = harness(home, "suggestions", "accept", suggestions[0]["id"], "--by", "sam", "--ledger", gw.url)
    assert twice.returncode == 1 and "judged once" in twice.stderr

    # approve: the session's writes form one plan; only approved items arrive, exactly once, across a kill
    grant(gw.url, "approve", workflow=WORKFLOW)
    proposed = [client.call("crm_write_query", {"query": "UPDATE deals SET amount = amount + 100 WHERE id = 1"}),
                client.call("fs_write_file", {"path": str(root / "docs" / "plan.md"), "content": "rejected"}),
                client.call("crm_write_query", {"query": "UPDATE deals SET amount = amount + 1 WHERE id = 2"}),
                client.call("fs_write_file", {"path": str(root / "docs" / "ok.md"), "content": "approved"})]
    assert {p["status"] for p in proposed} == {"planned"}, proposed
    plan_id = proposed[0]["plan_id"]
    assert snapshot(root, db) == initial
    chosen = [proposed[0]["action_id"], proposed[2]["action_id"], proposed[3]["action_id"]]
    apply = subprocess.Popen([sys.executable, "-m", "harness.cli", "plan", "approve", plan_id, "--by",
                              "dana@example.com", "--only", ",".join(chosen), "--pace", "3", "--ledger", gw.url],
                             cwd=ROOT, env={**os.environ, "HARNESS_HOME": str(home)}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    with Ledger(gw.url) as led:
        while time.monotonic() < deadline and not any(e["state"] == "done" for e in led.journal(plan_id).values()):
            time.sleep(0.05)
    os.kill(apply.pid, signal.SIGKILL)
    apply.wait(10)
    resumed = harness(home, "plan", "resume", plan_id, "--by", "dana@example.com", "--ledger", gw.url)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    again = harness(home, "plan", "resume", plan_id, "--by", "dana@example.com", "--ledger", gw.url)
    assert again.returncode == 1
    con = sqlite3.connect(db)
    assert con.execute("SELECT id, amount FROM deals WHERE id IN (1, 2) ORDER BY id").fetchall() == [
        (1, 12100.0), (2, 8001.0)]  # each approved increment exactly once
    con.close()
    assert (root / "docs" / "ok.md").read_text() == "approved" and not (root / "docs" / "plan.md").exists()

    # a stale plan: a person changes the deal after the agent looked, before the approval
    stale = client.call("crm_write_query", {"query": "UPDATE deals SET discount_pct = 10 WHERE id = 3"})
    con = sqlite3.connect(db)
    con.execute("UPDATE deals SET amount = 3500 WHERE id = 3")
    con.commit()
    con.close()
    refused = harness(home, "plan", "approve", stale["plan_id"], "--by", "dana@example.com", "--ledger", gw.url)
    assert refused.returncode == 1 and "stale" in refused.stderr, refused.stdout + refused.stderr
    assert sqlite3.connect(db).execute("SELECT discount_pct FROM deals WHERE id = 3").fetchone() == (0,)

    # autonomous: writes within the bounds are forwarded; a protected path and an outside recipient are not
    grant(gw.url, "autonomous", workflow=WORKFLOW)
    inside = client.call("crm_write_query", {"query": "INSERT INTO outbox (to_addr, subject) VALUES "
                                                       "('ops@acme.com', 'renewal')"})
    outside = client.call("crm_write_query", {"query": "INSERT INTO outbox (to_addr, subject) VALUES "
                                                        "('buyer@globex.com', 'renewal')"})
    protected = client.call("fs_write_file", {"path": str(root / "legal" / "nda.txt"), "content": "gone"})
    assert inside.get("ok") is not False, inside
    assert outside["ok"] is False and "buyer@globex.com" in outside["message"]
    assert protected["ok"] is False and "protected" in protected["message"]
    con = sqlite3.connect(db)
    assert con.execute("SELECT to_addr FROM outbox").fetchall() == [("ops@acme.com",)]
    con.close()
    assert (root / "legal" / "nda.txt").read_text() == "confidential\n"

    # an incident recorded mid-session holds the session's very next write
    hold_by_incident(home, gw.url, session_id)
    held = client.call("fs_write_file", {"path": str(root / "docs" / "after.md"), "content": "x"})
    assert held.get("status") == "suggested" or held.get("ok") is False, held
    assert not (root / "docs" / "after.md").exists()



def _evidence(home: Path, gw: Gateway) -> None:
    """After the session: it is recorded as production evidence and shown apart in `harness status`."""
    status = harness(home, "status", WORKFLOW, "--ledger", gw.url, "--policy", str(home.parent / "policy.yaml"),
                     "--json")
    assert status.returncode == 0, status.stderr
    track = next(t for t in json.loads(status.stdout)[0]["agents"] if (t["agent"], t["agent_version"]) == ("bot", "1"))
    mine = track["production"]
    assert mine["source"] == "production" and mine["suggestions_accepted"] == 1 and mine["suggestions_rejected"] == 1
    assert mine["forwarded_writes"] >= 1 and mine["refused"] >= 3
