"""The gateway in front of the reference filesystem MCP server, at each granted stage."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.work._servers import fs_command
from tests.work.conftest import ROOT, Gateway, grant, payload, run, write_policy

FS_TOOLS = {"fs": {
    "read_text_file": {"effect": "read"},
    "list_directory": {"effect": "read"},
    "write_file": {"effect": "write", "targets": [{"pointer": "/path", "kind": "path"}],
                   "probe": {"tool": "read_text_file", "arguments": {"path": "{/path}"}}},
    "move_file": {"effect": "write", "targets": [{"pointer": "/source", "kind": "path"},
                                                 {"pointer": "/destination", "kind": "path"}]},
}}


def test_each_stage_at_work_on_the_real_filesystem_server(tmp_path, home):
    root = tmp_path / "root"
    (root / "legal").mkdir(parents=True)
    (root / "a.txt").write_text("hello\n")
    (root / "legal" / "nda.txt").write_text("secret\n")
    policy = write_policy(tmp_path / "p.yaml", FS_TOOLS, bounds={"protected_paths": [f"{root}/legal/**"]})
    gw = Gateway(home, policy, [f"fs={fs_command(root)}"])
    seen = {}
    try:
        async def go():
            async with gw.session() as c:
                assert sorted(t.name for t in (await c.list_tools()).tools) == [
                    "fs_list_directory", "fs_move_file", "fs_read_text_file", "fs_write_file"]
                for stage in ("sandbox", "suggest", "approve", "autonomous"):
                    grant(gw.url, stage)  # read from the ledger at the next call: no restart
                    seen[stage] = (payload(await c.call_tool("fs_read_text_file", {"path": str(root / "a.txt")})),
                                   payload(await c.call_tool("fs_write_file", {"path": str(root / "b.txt"),
                                                                               "content": stage})))
                    seen[stage + " files"] = sorted(p.name for p in root.iterdir())
                seen["protected"] = payload(await c.call_tool("fs_move_file", {
                    "source": str(root / "legal" / "nda.txt"), "destination": str(root / "nda.txt")}))
        run(go())
    finally:
        gw.stop()
    assert seen["sandbox"][0]["ok"] is False and "sandbox" in seen["sandbox"][0]["message"]
    assert seen["sandbox"][1]["ok"] is False
    for stage in ("suggest", "approve", "autonomous"):
        assert seen[stage][0]["text"].strip() == "hello"
    assert seen["suggest"][1]["status"] == "suggested" and seen["suggest files"] == ["a.txt", "legal"]
    assert seen["approve"][1]["status"] == "planned" and seen["approve files"] == ["a.txt", "legal"]
    assert seen["autonomous files"] == ["a.txt", "b.txt", "legal"]
    assert (root / "b.txt").read_text() == "autonomous"
    assert seen["protected"]["ok"] is False and "protected" in seen["protected"]["message"]
    assert (root / "legal" / "nda.txt").exists()

    from harness.ledger import Ledger

    with Ledger(gw.url) as led:
        session = led.list_sessions()[0]
        assert session["source"] == "production" and session["status"] == "closed"
        assert (session["forwarded_writes"], session["suggestions"], session["planned"]) == (1, 1, 1)
        assert session["refused"] == 3  # two at sandbox, the protected move
        suggestion = led.list_suggestions(session=session["id"])[0]
        assert suggestion["arguments"] == {"path": str(root / "b.txt"), "content": "suggest"}
        assert suggestion["probe"]["is_error"]  # b.txt did not exist yet when it was suggested
    env = {"HARNESS_HOME": str(home), "PATH": os.environ["PATH"]}
    verify = subprocess.run([sys.executable, "-m", "harness.cli", "audit", "verify", session["id"]], cwd=ROOT,
                            capture_output=True, text=True, env=env, timeout=60)
    assert verify.returncode == 0, verify.stderr
    explain = subprocess.run([sys.executable, "-m", "harness.cli", "audit", "explain", session["id"]], cwd=ROOT,
                             capture_output=True, text=True, env=env, timeout=60)
    assert "is protected at this stage" in explain.stdout and "suggested" in explain.stdout


def test_over_stdio_one_client_is_one_session_closed_and_recorded_when_it_leaves(tmp_path, home):
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    from harness.audit import verify_log
    from harness.ledger import Ledger

    root = tmp_path / "root"
    root.mkdir()
    (root / "a.txt").write_text("hello\n")
    policy = write_policy(tmp_path / "p.yaml", FS_TOOLS)
    url = f"sqlite:///{home / 'ledger.db'}"
    grant(url, "suggest")
    params = StdioServerParameters(
        command=sys.executable, cwd=str(ROOT),
        args=["-m", "harness.cli", "gateway", "serve", "files.at-work", "--agent", "bot@1", "--policy", str(policy),
              "--ledger", url, "--upstream", f"fs={fs_command(root)}"],
        env={**os.environ, "HARNESS_HOME": str(home)})

    async def go():
        async with Client(params, mode="legacy", cache=None) as c:
            read = payload(await c.call_tool("fs_read_text_file", {"path": str(root / "a.txt")}))
            write = payload(await c.call_tool("fs_write_file", {"path": str(root / "a.txt"), "content": "x"}))
            return read, write
    read, write = run(go())
    assert read["text"].strip() == "hello" and write["status"] == "suggested"
    assert (root / "a.txt").read_text() == "hello\n"
    deadline = time.monotonic() + 30
    with Ledger(url) as led:
        while led.list_sessions()[0]["status"] != "closed" and time.monotonic() < deadline:
            time.sleep(0.1)
        sessions = led.list_sessions()
    assert len(sessions) == 1 and sessions[0]["status"] == "closed" and sessions[0]["calls"] == 2
    assert verify_log(sessions[0]["audit_path"]).ok  # complete: it ends with the session's end
