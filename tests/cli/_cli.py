"""Run the ``harness`` command as a user would, from any folder, with this checkout's code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("HARNESS_CONFIG", "HARNESS_POLICY", "HARNESS_LEDGER")}
    base["PYTHONPATH"] = str(ROOT) + os.pathsep + base.get("PYTHONPATH", "")
    base.update(extra)
    return base


def harness(*args: object, cwd: Path, check: int | None = None, **extra_env: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr); never a traceback."""
    proc = subprocess.run([sys.executable, "-m", "harness.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env(**extra_env))
    assert "Traceback" not in proc.stderr, proc.stderr
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
    return proc.returncode, proc.stdout, proc.stderr


def harness_json(*args: object, cwd: Path, check: int | None = 0, **extra_env: str):
    code, out, err = harness(*args, "--json", cwd=cwd, check=check, **extra_env)
    return json.loads(out)
