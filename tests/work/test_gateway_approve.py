"""Plans at work: only approved items reach the real tool, exactly once, across kills and resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from harness.ledger import Ledger
from tests.work._servers import fs_command
from tests.work.conftest import ROOT, TOY_TOOLS, Gateway, grant, payload, run, write_policy
from tests.work.test_gateway_fs import FS_TOOLS


def harness(home, *args, timeout=120):
    env = {**os.environ, "HARNESS_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=timeout)


def _propose(tmp_path, home, spec, n=4):
    gw = Gateway(home, write_policy(tmp_path / "p.yaml", TOY_TOOLS), [spec])
    grant(gw.url, "approve")
    try:
        async def go():
            async with gw.session() as c:
                return [payload(await c.call_tool("toy_note", {"text": f"n{i}"})) for i in range(n)]
        said = run(go())
    finally:
        gw.stop()
    assert {s["status"] for s in said} == {"planned"} and len({s["plan_id"] for s in said}) == 1
    return gw.url, said[0]["plan_id"], [s["action_id"] for s in said]


def test_only_approved_items_arrive_exactly_once_even_when_the_apply_is_killed(tmp_path, home, toy_upstream):
    spec, log = toy_upstream
    url, plan_id, actions = _propose(tmp_path, home, spec)
    assert log.read_text() == ""  # the client went away: the plan is intact and nothing was applied
    with Ledger(url) as led:
        assert led.get_plan(plan_id)["status"] == "pending"
    chosen = [actions[0], actions[2], actions[3]]
    env = {**os.environ, "HARNESS_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "plan", "approve", plan_id, "--by",
                             "dana@example.com", "--only", ",".join(chosen), "--pace", "3", "--ledger", url],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    with Ledger(url) as led:
        while time.monotonic() < deadline and not any(e["state"] == "done" for e in led.journal(plan_id).values()):
            time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # between the first and the second item
    proc.wait(10)
    assert log.read_text().split() == ["n0"]
    resumed = harness(home, "plan", "resume", plan_id, "--by", "dana@example.com", "--ledger", url)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert log.read_text().split() == ["n0", "n2", "n3"]
    again = harness(home, "plan", "resume", plan_id, "--by", "dana@example.com", "--ledger", url)
    twice = harness(home, "plan", "approve", plan_id, "--by", "dana@example.com", "--ledger", url)
    assert again.returncode == 1 and twice.returncode == 1, again.stderr + twice.stderr
    assert log.read_text().split() == ["n0", "n2", "n3"]
    with Ledger(url) as led:
        plan = led.get_plan(plan_id)
        assert plan["status"] == "applied" and plan["decision"]["rejected"] == [actions[1]]
        assert {a: e["state"] for a, e in led.journal(plan_id).items()} == {a: "done" for a in chosen}


def test_an_item_begun_before_a_crash_is_flagged_not_retried_and_a_person_settles_it(tmp_path, home, toy_upstream):
    spec, log = toy_upstream
    url, plan_id, actions = _propose(tmp_path, home, spec, n=2)
    with Ledger(url) as led:  # the state a crash between "intent" and the forward leaves behind
        plan = led.get_plan(plan_id)
        led.update_plan(plan_id, plan["version"], status="approved", decided_by="dana@example.com",
                        decision={"by": "dana@example.com", "approved": actions, "rejected": []})
        led.journal_intent(plan_id, actions[0], "dana@example.com")
    resumed = harness(home, "plan", "resume", plan_id, "--by", "dana@example.com", "--ledger", url)
    assert resumed.returncode == 1 and "outcome unknown" in resumed.stdout, resumed.stdout + resumed.stderr
    assert log.read_text().split() == ["n1"]  # the begun item was not sent again
    bad = harness(home, "plan", "settle", plan_id, actions[1], "--as", "done", "--by", "dana", "--reason", "x",
                  "--ledger", url)
    assert bad.returncode == 2 and "only an item whose outcome is unknown" in bad.stderr
    settled = harness(home, "plan", "settle", plan_id, actions[0], "--as", "done", "--by", "dana@example.com",
                      "--reason", "the note is in the file", "--ledger", url)
    assert settled.returncode == 0 and "The plan is applied" in settled.stdout, settled.stderr
    with Ledger(url) as led:
        entry = led.journal(plan_id)[actions[0]]
        assert (entry["state"], entry["settled_by"]) == ("done", "dana@example.com")
        assert led.get_plan(plan_id)["status"] == "applied"


def test_a_stale_plan_is_refused_and_nothing_is_applied(tmp_path, home):
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.txt").write_text("v1\n")
    (root / "b.txt").write_text("keep\n")
    gw = Gateway(home, write_policy(tmp_path / "p.yaml", FS_TOOLS), [f"fs={fs_command(root)}"])
    grant(gw.url, "approve")
    try:
        async def go():
            async with gw.session() as c:
                one = payload(await c.call_tool("fs_write_file", {"path": str(root / "a.txt"), "content": "agent"}))
                two = payload(await c.call_tool("fs_write_file", {"path": str(root / "b.txt"), "content": "agent"}))
                return one, two
        one, two = run(go())
    finally:
        gw.stop()
    (root / "a.txt").write_text("changed by a person\n")  # after the agent looked
    refused = harness(home, "plan", "approve", one["plan_id"], "--by", "dana@example.com", "--ledger", gw.url)
    assert refused.returncode == 1 and "stale" in refused.stderr and one["action_id"] in refused.stderr
    assert (root / "a.txt").read_text() == "changed by a person\n" and (root / "b.txt").read_text() == "keep\n"
    with Ledger(gw.url) as led:
        assert led.get_plan(one["plan_id"])["status"] == "stale"
