import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "tests" / "data" / "good"


def harness(*args, check=None):
    """Run the CLI as a user would; returns (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "harness.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT)
    assert "Traceback" not in proc.stderr, proc.stderr
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def cli():
    return harness


@pytest.fixture
def run_json():
    def go(*args):
        code, out, err = harness("run", *args, "--json")
        return code, json.loads(out)
    return go
