"""Where the real upstream MCP servers are: ``.ci/run`` installs them and exports their paths.

HARNESS_TEST_FS_SERVER: the reference filesystem server's ``dist/index.js`` (npm
``@modelcontextprotocol/server-filesystem``, run with Debian's node). HARNESS_TEST_SQLITE_SERVER:
the ``mcp-server-sqlite`` executable from PyPI, in a venv of its own with ``mcp<2``. Without them a
test skips locally and FAILS in CI (CI=true): it must never be skipped silently there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def _need(var: str, what: str) -> str:
    value = os.environ.get(var)
    if value and Path(value).exists():
        return value
    message = (f"{what} is not available: set {var} (`.ci/run` installs it and exports the variable; "
               "see tests/work/_servers.py)")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def fs_command(root: Path) -> str:
    script = _need("HARNESS_TEST_FS_SERVER", "the reference filesystem MCP server")
    node = shutil.which("node")
    if node is None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)("node is not installed")
    return f"{node} {script} {root}"


def sqlite_command(db: Path) -> str:
    exe = _need("HARNESS_TEST_SQLITE_SERVER", "PyPI's mcp-server-sqlite")
    return f"{exe} --db-path {db}"
