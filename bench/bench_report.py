"""Benchmark of ``harness report`` over a large ledger (target: 1,000,000 runs in < 10 s and < 1 GB per format).

Builds a SQLite ledger of N synthetic runs quickly (the schema by the ledger's own migrations, then
bulk inserts straight into ``runs``, ``mistakes`` and ``run_counts``; a few transitions, sign-offs and
plans through the Ledger API), then times ``harness report`` for each format in a child process and
reads that child's CPU time and peak resident memory from ``os.wait4``'s rusage. On a shared machine the
wall time grows with the load; the CPU time (user + system) is what the report itself costs.

Run: python bench/bench_report.py [--runs 1000000] [--ledger PATH] [--formats html,md,json]
     (an existing --ledger file is reused, so a second run skips the build)
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.ledger import Ledger  # noqa: E402
from harness.models import BLAST_DIMENSIONS, MISTAKE_TYPES, SEVERITIES  # noqa: E402

WORKFLOWS = ("crm.renewal-discounts", "crm.record-updates", "email.customer-replies", "email.inbox-triage",
             "files.cleanup", "ops.cross-backend")
# (agent, version, mistake probability, share of a workflow's runs)
AGENTS = (("simulated-careful", "1.0", 0.03, 0.45), ("simulated-careful", "1.1", 0.015, 0.35),
          ("simulated-sloppy", "0.9", 0.30, 0.20))
STAGES = ("sandbox", "suggest", "approve", "autonomous")
SCENARIOS_PER_WORKFLOW = 30
AMOUNTS = (1200.0, 4800.0, 15000.0, 25000.0, 60000.0, 120000.0)
DISCOUNTS = (0.05, 0.1, 0.15, 0.2, 0.3)

RUN_COLUMNS = ("run_id", "scenario", "scenario_digest", "scenario_path", "workflow", "tier", "agent",
               "agent_version", "stage", "trial", "seed", "outcome", "mistakes", "mistakes_low", "mistakes_medium",
               "mistakes_high", "mistakes_critical", "worst_severity", "error_cause", "error_message",
               *(f"realised_{d}" for d in BLAST_DIMENSIONS), *(f"potential_{d}" for d in BLAST_DIMENSIONS),
               "started_at", "duration_ms", "tool_calls", "blocked_calls", "plan_id", "audit_path", "audit_head",
               "recorded_at")


def build_ledger(path: Path, runs: int, seed: int = 7) -> float:
    """Create the ledger at ``path`` with ``runs`` runs; returns the seconds it took."""
    t0 = time.perf_counter()
    url = f"sqlite:///{path}"
    Ledger(url).close()  # the schema, by the project's own migrations
    rng = random.Random(seed)
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA journal_mode=MEMORY")
    start = datetime(2025, 1, 1)
    step = timedelta(days=180) / runs
    counts: Counter = Counter()
    last_pk: dict = {}
    insert_runs = f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' * len(RUN_COLUMNS))})"
    insert_mistakes = "INSERT INTO mistakes (run_pk, type, severity, entity, detail) VALUES (?, ?, ?, ?, ?)"
    batch, mbatch = [], []
    recorded = start.strftime("%Y-%m-%d %H:%M:%S.%f")
    for pk in range(1, runs + 1):
        wf = WORKFLOWS[pk % len(WORKFLOWS)]
        r = rng.random()
        share = 0.0
        for agent, version, p_mistake, part in AGENTS:  # noqa: B007 - used after the break
            share += part
            if r < share:
                break
        progress = pk / runs
        stage = STAGES[min(3, int(progress * 4))] if version != "0.9" else "sandbox"
        scenario = f"{wf.split('.')[1]}-{rng.randrange(SCENARIOS_PER_WORKFLOW):02d}"
        bad = rng.random() < p_mistake
        infra = rng.random() < 0.001
        sev_counts = [0, 0, 0, 0]
        worst = None
        real = [0, 0, 0, 0.0, 0]
        pot = [0, 0, 0, 0.0, 0]
        if infra:
            outcome, cause, message = "error", "environment", "synthetic environment error"
        elif bad:
            outcome, cause, message = "fail", None, None
            for _ in range(1 + (rng.random() < 0.3)):
                sev = rng.choices(range(4), weights=(40, 35, 20, 5))[0]
                sev_counts[sev] += 1
                worst = sev if worst is None else max(worst, sev)
                mbatch.append((pk, rng.choice(MISTAKE_TYPES), SEVERITIES[sev], f"deal:d{pk % 997}",
                               f"synthetic {SEVERITIES[sev]} mistake in run {pk}"))
            pot = [rng.randint(1, 4), int(rng.random() < 0.3), int(rng.random() < 0.2),
                   rng.choice(AMOUNTS) * rng.choice(DISCOUNTS) if rng.random() < 0.4 else 0.0,
                   int(rng.random() < 0.1)]
            if stage == "autonomous":
                real = list(pot)
            elif stage == "approve" and rng.random() < 0.2:
                real = [pot[0], 0, 0, pot[3], 0]
        else:
            outcome, cause, message = "pass", None, None
        when = (start + step * pk).strftime("%Y-%m-%d %H:%M:%S.%f")
        batch.append((f"run-{pk:08d}", scenario, "sha256:" + "0" * 16, f"scenarios/{scenario}.yaml", wf, "medium",
                      agent, version, stage, pk // 1000, pk, outcome, sum(sev_counts), *sev_counts, worst, cause,
                      message, *real, *pot, when, 12.5, 5, 0, None, None, None, recorded))
        key = (wf, agent, version, scenario)
        counts[key] += 1
        last_pk[key] = pk
        if len(batch) >= 50_000:
            con.executemany(insert_runs, batch)
            con.executemany(insert_mistakes, mbatch)
            batch, mbatch = [], []
    con.executemany(insert_runs, batch)
    con.executemany(insert_mistakes, mbatch)
    con.executemany("INSERT INTO run_counts (workflow, agent, agent_version, scenario, runs, last_pk) "
                    "VALUES (?, ?, ?, ?, ?, ?)", [(*k, n, last_pk[k]) for k, n in counts.items()])
    con.commit()
    con.close()
    _history(url)
    return time.perf_counter() - t0


def _history(url: str) -> None:
    """Stage transitions with sign-offs and a few hundred plans, through the Ledger API."""
    with Ledger(url) as led:
        for wf in WORKFLOWS[:3]:
            for seq, (a, b) in enumerate((("sandbox", "suggest"), ("suggest", "approve")), start=0):
                led.record_transition(
                    workflow=wf, expected_version=seq, from_stage=a, to_stage=b, kind="promote",
                    actor="dana@example.com", reason=f"bench: {a} evidence met the gate", agent="simulated-careful",
                    agent_version="1.1", evidence_digest="e" * 64, policy_digest="p" * 64,
                    signoff_list=[{"person": "dana@example.com", "roles": ["release-owner"], "reason": "ok",
                                   "at": "2025-03-01T00:00:00Z", "evidence_digest": "e" * 64}])
        rng = random.Random(3)
        for i in range(300):
            status = rng.choices(("approved", "partially_approved", "rejected", "pending"), (80, 10, 5, 5))[0]
            led.save_plan({"id": f"plan-{i:05d}", "workflow": WORKFLOWS[i % 3], "agent": "simulated-careful",
                           "agent_version": "1.1", "status": status, "items": [],
                           "created_at": f"2025-04-{1 + i % 28:02d}T10:00:00"})


TARGET_SECONDS = 10.0
TARGET_MB = 1024


def time_report(ledger: Path, out: Path) -> tuple[float, float, float, int]:
    """Run ``harness report`` in a child; returns (seconds, CPU seconds, peak RSS in MB, exit code)."""
    cmd = [sys.executable, "-m", "harness.cli", "report", "--ledger", f"sqlite:///{ledger}", "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss / 1024, proc.returncode  # ru_maxrss is in KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--ledger", type=Path, help="ledger file to build or reuse (default: a temporary one)")
    parser.add_argument("--formats", default="json,md,html")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.ledger or Path(tmp) / "ledger.db"
        if path.exists():
            print(f"reusing {path} ({path.stat().st_size / 1e6:.0f} MB)")
        else:
            seconds = build_ledger(path, args.runs)
            print(f"built {args.runs:,} runs in {seconds:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
        ok = True
        for fmt in args.formats.split(","):
            out = Path(tmp) / f"trust.{fmt}"
            seconds, cpu, rss, code = time_report(path, out)
            size = out.stat().st_size / 1e3 if out.exists() else 0
            verdict = "ok" if code == 0 and seconds < TARGET_SECONDS and rss < TARGET_MB else "OVER TARGET"
            ok &= verdict == "ok"
            print(f"report .{fmt:<4}  {seconds:6.1f} s (CPU {cpu:5.1f} s)  peak RSS {rss:6.0f} MB  {size:7.0f} kB  "
                  f"exit {code}  [target < {TARGET_SECONDS:.0f} s, < {TARGET_MB} MB: {verdict}]")
        print(f"load average now: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
