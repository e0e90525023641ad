"""Finished runs are never lost: kill -9 at random moments, then the next start recovers them."""

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time

from tests.e2e.conftest import GOOD, ROOT


def _jsonl_ids(path):
    ids = []
    for raw in path.read_text(encoding="utf-8").split("\n"):
        try:
            ids.append(json.loads(raw)["run_id"])
        except (ValueError, KeyError):
            continue
    return ids


def _ledger_ids(db):
    with sqlite3.connect(db) as con:
        try:
            return [r[0] for r in con.execute("SELECT run_id FROM runs")]
        except sqlite3.OperationalError:  # killed before the schema was made
            return []


def test_kill_9_at_random_moments_loses_no_finished_run(tmp_path):
    rng = random.Random(12)
    out, db = tmp_path / "out", tmp_path / "ledger.db"
    args = [sys.executable, "-m", "harness.cli", "run", str(GOOD), "--agent", "oracle", "--out", str(out),
            "--ledger", f"sqlite:///{db}", "--no-audit"]
    killed = 0
    for _ in range(10):
        proc = subprocess.Popen([*args, "--trials", "60000"], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        time.sleep(rng.uniform(1.5, 6.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=120)
    assert killed >= 5  # most rounds were cut mid-suite (60,000 runs outlast 6 s even on a quiet machine)
    before = set(_ledger_ids(db))
    done = subprocess.run([*args, "--trials", "1"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    in_ledger, in_jsonl = _ledger_ids(db), _jsonl_ids(out / "runs.jsonl")
    assert len(in_ledger) == len(set(in_ledger)) and len(in_jsonl) == len(set(in_jsonl))
    assert set(in_ledger) == set(in_jsonl)
    assert len(in_ledger) > len(before) or "recovered" not in done.stderr
    assert not list((tmp_path / "harness-home" / "pending").glob("*.jsonl"))


def test_the_next_start_says_what_it_recovered(tmp_path):
    out, db = tmp_path / "out", tmp_path / "ledger.db"
    args = [sys.executable, "-m", "harness.cli", "run", str(GOOD), "--agent", "oracle", "--out", str(out),
            "--ledger", f"sqlite:///{db}", "--no-audit"]
    proc = subprocess.Popen([*args, "--trials", "100000"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(_jsonl_ids(out / "runs.jsonl") if (out / "runs.jsonl").exists()
                                         else []) < 1:
        pending = list((tmp_path / "harness-home" / "pending").glob("*.jsonl"))
        if sum(p.stat().st_size for p in pending) > 20_000:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert len(_ledger_ids(db)) < 500  # the first batch had not reached the ledger
    done = subprocess.run([*args, "--trials", "1"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "recovered" in done.stderr, done.stderr
    assert set(_ledger_ids(db)) == set(_jsonl_ids(out / "runs.jsonl"))


def test_absurd_trial_counts_are_refused_at_once(cli):
    for trials in ("99999999999999999999", "100001"):
        code, _, err = cli("run", GOOD, "--agent", "oracle", "--trials", trials)
        assert code == 2 and "--trials" in err


def test_tool_calls_after_the_run_ended_are_refused_without_audit():
    from harness.agents import load_agent
    from harness.runner import RunConfig, run_suite
    from harness.scenario import load_scenario_file
    from tests.integrity import _agents

    scenario = load_scenario_file(GOOD / "minimal.yaml")
    _agents.LATE.clear()
    run_suite([scenario], load_agent("tests.integrity._agents:leaves_a_thread"), RunConfig(audit_dir=None))
    deadline = time.time() + 10
    while not _agents.LATE and time.time() < deadline:
        time.sleep(0.05)
    [late] = _agents.LATE
    assert isinstance(late, Exception) and "run has ended" in str(late)


def test_a_journal_of_a_live_session_is_left_alone(tmp_path):
    from harness._journal import RunJournal, Session, recover
    from harness.ledger import Ledger
    from harness.ledger._synthetic import make_run

    url = f"sqlite:///{tmp_path / 'l.db'}"
    with Ledger(url) as led:
        session = Session(url, None)
        runs = [make_run(workflow="w", agent="a", version="1", stage="sandbox", scenario="s") for _ in range(2)]
        session.journal.add(runs[0])
        worker = RunJournal(session.prefix, None)  # as a --workers process keeps its own
        worker.add(runs[1])
        worker.add(runs[0])  # a run journaled twice is recorded once
        # another process finds the session alive (its lock is held) and leaves it alone
        probe = subprocess.run([sys.executable, "-c", "import sys; from harness._journal import recover; "
                                "from harness.ledger import Ledger; print(recover(Ledger(sys.argv[1]), sys.argv[1]))",
                                url], capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert probe.stdout.strip() == "(0, 0)", probe.stderr
        session.close(recorded=False)  # killed: the lock is free, the journals stay
        assert recover(led, url) == (2, 0)
        assert {led.get_run(r.run_id)["run_id"] for r in runs} == {r.run_id for r in runs}
        assert recover(led, url) == (0, 0)
    assert not list((tmp_path / "harness-home" / "pending").glob("*"))
