"""Finding a log from a path, a run id or a prefix."""

from __future__ import annotations

import pytest

from harness.audit import locate_log, set_locator
from harness.config import audit_dir
from harness.errors import NotFoundError, UsageError

from ._audit_helpers import EVENTS, write_log

SHORT = EVENTS[:1] + EVENTS[-1:]


def _make(run_id, folder=None):
    path = (folder or audit_dir()) / f"{run_id}.jsonl"
    write_log(path, events=SHORT, run_id=run_id)
    return path


def test_by_path_run_id_and_prefix(tmp_path):
    a = _make("run-aaa111")
    b = _make("run-aab222")
    assert locate_log(str(a)) == a
    assert locate_log("run-aaa111") == a
    assert locate_log("run-aab") == b
    with pytest.raises(NotFoundError, match="ambiguous.*run-aaa111, run-aab222"):
        locate_log("run-aa")
    with pytest.raises(NotFoundError, match="no audit log for run 'zzz'"):
        locate_log("zzz")
    with pytest.raises(NotFoundError, match="does not exist"):
        locate_log(str(tmp_path / "missing.jsonl"))
    with pytest.raises(UsageError):
        locate_log("  ")


def test_exact_id_wins_over_longer_ids(tmp_path):
    a = _make("run-1")
    _make("run-10")
    assert locate_log("run-1") == a


def test_out_dir_and_folder_refs(tmp_path):
    out = tmp_path / "out"
    c = _make("run-ccc", out / "audit")
    with pytest.raises(NotFoundError, match="--out DIR"):
        locate_log("run-ccc")
    assert locate_log("run-cc", extra_dirs=[out]) == c
    assert locate_log("run-cc", extra_dirs=[out / "audit"]) == c
    assert locate_log(str(out)) == c  # a folder holding exactly one log
    _make("run-ddd", out / "audit")
    with pytest.raises(NotFoundError, match="holds 2 audit logs"):
        locate_log(str(out))


def test_registered_locator(tmp_path):
    c = _make("run-eee", tmp_path / "elsewhere")
    calls = []

    def ledger(prefix):
        calls.append(prefix)
        return c if "run-eee".startswith(prefix) else None

    set_locator(ledger)
    assert locate_log("run-e") == c and calls == ["run-e"]
    _make("run-eef")
    with pytest.raises(NotFoundError, match="ambiguous"):
        locate_log("run-ee")
    with pytest.raises(NotFoundError, match="or the ledger"):
        locate_log("nothing")
