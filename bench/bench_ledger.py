"""Ledger benchmark: fill an SQLite ledger with synthetic runs, then time `status` and recording.

    python bench/bench_ledger.py                 # 1,000,000 runs in a temporary folder
    python bench/bench_ledger.py --runs 200000 --path /tmp/ledger.db --keep

Prints: the fill rate (bulk insert), `status` latency for one workflow and for all (in-process, and
the whole `harness status` command as a user runs it), the record rate for batches of 500
RunResults through ``Ledger.record_runs``, and the size of ``runs_frame()`` over every run.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.config import BUNDLED_WORKFLOWS
from harness.ledger import Ledger
from harness.ledger._runs import bump_counts
from harness.ledger._schema import runs
from harness.ledger._synthetic import synthetic_runs
from harness.policy import load_policy

AGENTS = (("careful", "1", 0.02), ("careful", "2", 0.02), ("sloppy", "1", 0.30))
SCENARIOS = 10
CHUNK = 50_000


def fill(led: Ledger, total: int, seed: int = 0) -> float:
    """Bulk-insert ``total`` synthetic runs (plus their mistakes and counts); returns seconds."""
    rng = random.Random(seed)
    cols = [c.name for c in runs.columns]
    insert_runs = f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    insert_mistakes = "INSERT INTO mistakes (run_pk, type, severity, entity, detail) VALUES (?, ?, ?, ?, ?)"
    start_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=total)
    now = datetime.now(UTC).replace(tzinfo=None)
    t0 = time.perf_counter()
    raw = led.engine.raw_connection()
    try:
        cur = raw.cursor()
        for base in range(0, total, CHUNK):
            rows, bad_rows, keys, pks = [], [], [], []
            for pk in range(base + 1, min(base + CHUNK, total) + 1):
                wf = BUNDLED_WORKFLOWS[pk % len(BUNDLED_WORKFLOWS)]
                agent, version, rate = AGENTS[(pk // 7) % len(AGENTS)]
                scenario = f"{wf.split('.')[1]}-{pk % SCENARIOS}"
                bad = rng.random() < rate
                severity = rng.choice(("low", "medium", "high")) if bad else None
                error = "agent" if rng.random() < 0.002 else None
                values = {
                    "pk": pk, "run_id": f"bench-{pk:09d}", "scenario": scenario, "scenario_digest": "sha256:bench",
                    "scenario_path": f"scenarios/{scenario}.yaml", "workflow": wf, "tier": "medium", "agent": agent,
                    "agent_version": version, "stage": "sandbox", "trial": pk // 60, "seed": pk,
                    "outcome": "error" if error else ("fail" if bad else "pass"), "mistakes": int(bad),
                    "mistakes_low": int(severity == "low"), "mistakes_medium": int(severity == "medium"),
                    "mistakes_high": int(severity == "high"), "mistakes_critical": 0,
                    "worst_severity": ("low", "medium", "high").index(severity) if bad else None,
                    "error_cause": error, "error_message": "agent raised" if error else None,
                    "started_at": (start_at + timedelta(seconds=pk)).isoformat(sep=" "),
                    "duration_ms": 40.0, "tool_calls": 5, "blocked_calls": 0, "plan_id": None,
                    "audit_path": f"audit/bench-{pk}.jsonl", "audit_head": "0" * 64,
                    "recorded_at": now.isoformat(sep=" "),
                }
                for dim in ("entities_touched", "irreversible_ops", "external_recipients", "files_lost"):
                    values[f"realised_{dim}"] = 0
                    values[f"potential_{dim}"] = int(bad and dim == "entities_touched")
                values["realised_money_exposed"] = 0.0
                values["potential_money_exposed"] = 250.0 if bad and wf.startswith("crm") else 0.0
                rows.append(tuple(values[c] for c in cols))
                if bad:
                    bad_rows.append((pk, "wrong_value", severity, f"deal:{pk}", "synthetic"))
                keys.append((wf, agent, version, scenario))
                pks.append(pk)
            cur.execute("BEGIN IMMEDIATE")
            cur.executemany(insert_runs, rows)
            cur.executemany(insert_mistakes, bad_rows)
            cur.execute("COMMIT")
            with led.engine.begin() as conn:
                bump_counts(conn, keys, pks)
    finally:
        raw.close()
    return time.perf_counter() - t0


def timed(fn, repeat: int) -> tuple[float, float]:
    """(median, best) wall-clock seconds of ``fn()`` over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=None, help="SQLite file (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the ledger file afterwards")
    parser.add_argument("--batches", type=int, default=20, help="batches of 500 RunResults to record")
    parser.add_argument("--skip-frame", action="store_true", help="skip the runs_frame() memory figure")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    path = args.path or folder / "ledger.db"
    if path.exists():
        sys.exit(f"{path} exists; give a new --path")
    url = f"sqlite:///{path}"
    led = Ledger(url)
    policy = load_policy()
    from harness import promotion

    seconds = fill(led, args.runs)
    print(f"fill: {args.runs:,} runs in {seconds:.1f} s ({args.runs / seconds:,.0f} runs/s, bulk insert); "
          f"file {path.stat().st_size / 1e6:,.0f} MB")

    workflow = BUNDLED_WORKFLOWS[0]
    med, best = timed(lambda: promotion.status(led, policy, workflow), 7)
    entry = promotion.status(led, policy, workflow)[0]
    ready = {f"{a['agent']}@{a['agent_version']}": a["gate"]["ready"] for a in entry["agents"]}
    print(f"status {workflow} ({len(entry['agents'])} agent versions, gate for {entry['next_stage']}): "
          f"median {med * 1000:.0f} ms, best {best * 1000:.0f} ms; ready: {ready}")
    med, best = timed(lambda: promotion.status(led, policy), 3)
    print(f"status, all {len(BUNDLED_WORKFLOWS)} workflows: median {med * 1000:.0f} ms, best {best * 1000:.0f} ms")
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(ROOT)), "HARNESS_LEDGER": url}
    script = Path(sysconfig.get_path("scripts")) / "harness"  # the installed entry point, as a user runs it
    harness = [str(script)] if script.exists() else [sys.executable, "-m", "harness.cli"]
    for args_ in (["status"], ["status", workflow]):
        cpu = []
        for _ in range(3):
            proc = subprocess.Popen([*harness, *args_], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, code, usage = os.wait4(proc.pid, 0)
            if os.waitstatus_to_exitcode(code) != 0:
                raise SystemExit(f"harness {' '.join(args_)} failed")
            cpu.append(usage.ru_utime + usage.ru_stime)
        print(f"`harness {' '.join(args_)}` as a process, {args.runs:,} runs (start-up and imports included): "
              f"median {statistics.median(cpu):.2f} CPU-s [target < 0.5 s]")

    rates = []
    for b in range(args.batches):
        batch = list(synthetic_runs(500, mistake_rate=0.05, seed=b, workflow=workflow, agent="recorder"))
        t0 = time.perf_counter()
        led.record_runs(batch)
        rates.append(500 / (time.perf_counter() - t0))
    print(f"record_runs, {args.batches} batches of 500 RunResults into the {args.runs:,}-run ledger: "
          f"median {statistics.median(rates):,.0f} runs/s (slowest batch {min(rates):,.0f} runs/s)")

    if not args.skip_frame:
        t0 = time.perf_counter()
        df = led.runs_frame()
        took = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"runs_frame(): {len(df):,} rows × {len(df.columns)} columns in {took:.1f} s; "
              f"{df.memory_usage(deep=True).sum() / 1e6:,.0f} MB in memory; process peak RSS {peak:,.0f} MB")
    led.close()
    if not args.keep and args.path is None:
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    else:
        print(f"ledger kept at {path}")


if __name__ == "__main__":
    main()
