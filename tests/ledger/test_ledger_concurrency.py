"""Several processes on one SQLite ledger lose nothing; a SIGKILL mid-batch leaves all or none of it."""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import harness.config

WORKER = Path(__file__).with_name("_ledger_workers.py")
ENV = {**os.environ, "PYTHONPATH": str(Path(harness.config.__file__).resolve().parent.parent)}


def _spawn(*args, **kwargs):
    return subprocess.Popen([sys.executable, str(WORKER), *map(str, args)], env=ENV, **kwargs)


def _consistent(path) -> int:
    """Runs, mistakes and per-scenario counts agree; returns the number of runs."""
    con = sqlite3.connect(path)
    runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    counted = con.execute("SELECT coalesce(sum(runs), 0) FROM run_counts").fetchone()[0]
    expected_mistakes = con.execute("SELECT coalesce(sum(mistakes), 0) FROM runs").fetchone()[0]
    mistakes = con.execute("SELECT count(*) FROM mistakes").fetchone()[0]
    orphans = con.execute("SELECT count(*) FROM mistakes WHERE run_pk NOT IN (SELECT pk FROM runs)").fetchone()[0]
    con.close()
    assert counted == runs and mistakes == expected_mistakes and orphans == 0
    return runs


def test_concurrent_writer_processes_lose_nothing(tmp_path):
    path = tmp_path / "shared.db"
    url = f"sqlite:///{path}"
    procs = [_spawn("record", url, f"w{n}", 15, 40) for n in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    assert _consistent(path) == 4 * 15 * 40


def test_sigkill_inside_commit_leaves_none_of_the_batch(tmp_path):
    path = tmp_path / "crash.db"
    proc = _spawn("hang", f"sqlite:///{path}", 300, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "IN-COMMIT"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    from harness.ledger import Ledger

    with Ledger(f"sqlite:///{path}") as led:  # reopening recovers the WAL
        assert led.count_runs() == 300
        assert all(r["run_id"].startswith("first-") for r in led.runs(limit=None))
    assert _consistent(path) == 300


def test_sigkill_at_random_moments_leaves_whole_batches(tmp_path):
    rng = random.Random(7)
    size = 500
    for attempt in range(3):
        path = tmp_path / f"random-{attempt}.db"
        proc = _spawn("loop", f"sqlite:///{path}", size, stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "READY"
        time.sleep(rng.uniform(0.15, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        runs = _consistent(path)
        assert runs % size == 0


def test_a_locked_database_is_retried(ledger):
    from sqlalchemy.exc import OperationalError

    calls = []

    def work(conn):
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))
        return "done"

    assert ledger.write(work) == "done" and len(calls) == 3


def test_a_writer_holding_the_lock_makes_others_wait_not_fail(ledger_url):
    from harness.ledger import Ledger
    from harness.ledger._synthetic import make_run

    Ledger(ledger_url).close()
    path = ledger_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    released = []

    def release():
        time.sleep(0.5)
        released.append(time.monotonic())  # before COMMIT: the writer can only finish after this
        holder.execute("COMMIT")

    import threading

    t = threading.Thread(target=release)
    t.start()
    with Ledger(ledger_url) as led:
        led.record_runs([make_run(run_id="waited")])
        done = time.monotonic()
    t.join()
    assert released and done >= released[0] and _consistent(path) == 1
