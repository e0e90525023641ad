"""Start-up of the ``harness`` command, as a user runs it: whole processes, nothing imported here.

- ``harness --help`` [target < 0.3 s];
- ``harness status`` with no ledger yet and with an empty one [< 0.3 s];
- ``harness run scenarios/ --agent oracle``: time before the first run starts (when its audit log
  appears; the process and its workers, so imports, loading and validating the 37 bundled scenarios
  and building the first run's world) [< 0.5 s], and the whole command.

Figures are CPU seconds (user + system, from the kernel's accounting of the process and its
children), which a loaded machine disturbs far less than wall time; wall time is printed beside.
Each is the median of ``--rounds``.

Run: python bench/bench_startup.py [--rounds 5] [--harness PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")


def harness_command(explicit: str | None) -> list[str]:
    """The installed entry point next to this interpreter (what ``pip install`` put on PATH)."""
    if explicit:
        return [explicit]
    script = Path(sysconfig.get_path("scripts")) / "harness"
    if script.exists():
        return [str(script)]
    found = shutil.which("harness")
    return [found] if found else [sys.executable, "-m", "harness.cli"]


def env_for(home: Path) -> dict[str, str]:
    env = dict(os.environ, HARNESS_HOME=str(home), PYTHONPATH=os.environ.get("PYTHONPATH", str(ROOT)))
    env.pop("HARNESS_LEDGER", None)
    return env


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one whole process and its children."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    return usage.ru_utime + usage.ru_stime, wall


def _tree_cpu(pid: int) -> float:
    """CPU seconds so far of ``pid`` and its live children (from /proc)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if entry.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def until_first_run(cmd: list[str], env: dict[str, str], audit: Path) -> tuple[float, float, float, float]:
    """(CPU, wall) when the first audit log appears, then (CPU, wall) of the whole command."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    first_cpu = first_wall = float("nan")
    while proc.poll() is None:
        if audit.is_dir() and any(audit.iterdir()):
            first_wall = time.perf_counter() - t0
            first_cpu = _tree_cpu(proc.pid)
            break
        time.sleep(0.002)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return first_cpu, first_wall, usage.ru_utime + usage.ru_stime, wall


def line(label: str, samples: list[tuple[float, float]], target: float) -> None:
    cpu = statistics.median(s[0] for s in samples)
    wall = statistics.median(s[1] for s in samples)
    verdict = "ok" if cpu < target else "OVER"
    print(f"{label:<58} {cpu:6.3f} CPU-s  (wall {wall:6.3f} s)  [target < {target} s: {verdict}]")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--harness", help="the harness executable (default: the installed entry point)")
    args = parser.parse_args()
    harness = harness_command(args.harness)
    print(f"harness = {' '.join(harness)}; PYTHONPATH={os.environ.get('PYTHONPATH', '')}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    floor = [timed([sys.executable, "-c", "pass"], dict(os.environ)) for _ in range(args.rounds)]
    print(f"{'(floor: an empty python process)':<58} {statistics.median(s[0] for s in floor):6.3f} CPU-s")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        line("harness --help", [timed(harness + ["--help"], env_for(home)) for _ in range(args.rounds)], 0.3)
        line("harness status (no ledger yet)",
             [timed(harness + ["status"], env_for(home)) for _ in range(args.rounds)], 0.3)
        empty = Path(tmp) / "empty.db"
        subprocess.run([sys.executable, "-c", f"from harness.ledger import Ledger; Ledger('sqlite:///{empty}')"],
                       env=env_for(home), check=True)  # the schema, no runs
        env = dict(env_for(home), HARNESS_LEDGER=f"sqlite:///{empty}")
        line("harness status (empty ledger)", [timed(harness + ["status"], env) for _ in range(args.rounds)], 0.3)
        first, whole = [], []
        for i in range(args.rounds):
            out = Path(tmp) / f"run-{i}"
            cmd = harness + ["run", str(ROOT / "scenarios"), "--agent", "oracle", "--no-ledger", "--out", str(out)]
            fc, fw, wc, ww = until_first_run(cmd, env_for(home), out / "audit")
            first.append((fc, fw))
            whole.append((wc, ww))
        line("harness run scenarios/ --agent oracle: before the first run", first, 0.5)
        cpu = statistics.median(s[0] for s in whole)
        print(f"{'harness run scenarios/ --agent oracle: the whole command':<58} {cpu:6.3f} CPU-s  "
              f"(wall {statistics.median(s[1] for s in whole):6.3f} s)  [37 runs, 37 worlds built]")


if __name__ == "__main__":
    main()
