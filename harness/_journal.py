"""Nothing lost: a write-ahead journal of finished runs, replayed into the ledger after a crash.

``harness run`` records runs in the ledger in batches (one transaction per batch is what keeps a
large suite fast). So that a ``kill -9`` between two batches loses nothing, every finished run is
first appended to a journal file (one JSON line, flushed to the OS, which keeps it even when the
process is killed) and only then to ``runs.jsonl`` and the ledger batch; worker processes
(``--workers``) journal each run as it finishes, before its chunk comes back. The journals live in
``$HARNESS_HOME/pending/``, named after the ledger and the session; the session's lock file is held
(``lockf``, which forked workers do not inherit) while it runs, and a clean exit deletes them all.

The next ``harness run`` on the same ledger finds sessions whose lock is free, records the runs
the ledger does not have yet, appends any missing from the ``runs.jsonl`` they were written to, says
so, and deletes the journal.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

from harness.models import RunResult


def _folder() -> Path:
    from harness.config import data_dir

    return data_dir() / "pending"


def _tag(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


class Session:
    """One ``harness run`` on one ledger: holds the session lock while it runs; journals are its files."""

    def __init__(self, ledger_url: str, out_file: Path | None):
        folder = _folder()
        folder.mkdir(parents=True, exist_ok=True)
        self.prefix = str(folder / f"{_tag(ledger_url)}-{uuid.uuid4().hex[:12]}")
        self.out = str(out_file) if out_file is not None else None
        self._lock = open(self.prefix + ".lock", "w")  # noqa: SIM115 - held for the session's lifetime
        fcntl.lockf(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # not inherited by forks
        self.journal = RunJournal(self.prefix, self.out)

    def close(self, recorded: bool) -> None:
        """``recorded``: every run is in the ledger, so the journals can go (else the next start replays them)."""
        self.journal.close()
        if recorded:
            for path in Path(self.prefix).parent.glob(Path(self.prefix).name + "-*.jsonl"):
                path.unlink(missing_ok=True)
            Path(self.prefix + ".lock").unlink(missing_ok=True)
        self._lock.close()


class RunJournal:
    """One process's journal of a session's finished runs (worker processes keep their own)."""

    def __init__(self, prefix: str, out: str | None):
        self.path = Path(f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:6]}.jsonl")
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - open for the run's lifetime
        self._out = out

    def add(self, result: RunResult) -> None:
        line = {"out": self._out, "run": result.public_dict()}
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def _known(ledger: Any, run_ids: list[str]) -> set[str]:
    from sqlalchemy import select

    from harness.ledger._schema import runs

    found: set[str] = set()
    with ledger.read() as conn:
        for i in range(0, len(run_ids), 900):
            found.update(conn.execute(select(runs.c.run_id).where(runs.c.run_id.in_(run_ids[i:i + 900])))
                         .scalars())
    return found


def _entries(path: Path) -> list[dict]:
    entries = []
    for raw in path.read_text(encoding="utf-8", errors="replace").split("\n"):
        try:
            entry = json.loads(raw)
        except ValueError:
            continue  # an empty or cut last line: that run never reached runs.jsonl either
        if isinstance(entry, dict) and isinstance(entry.get("run"), dict):
            entries.append(entry)
    return entries


def _ids_in(out: Path) -> set[str]:
    ids = set()
    try:
        text = out.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ids
    for raw in text.split("\n"):
        try:
            ids.add(json.loads(raw)["run_id"])
        except (ValueError, KeyError, TypeError):
            continue
    return ids


def recover(ledger: Any, ledger_url: str) -> tuple[int, int]:
    """Replay the journals of dead processes into ``ledger``. Returns (runs recorded, runs.jsonl lines added)."""
    folder = _folder()
    if not folder.is_dir():
        return 0, 0
    recorded = appended = 0
    for lock_path in sorted(folder.glob(f"{_tag(ledger_url)}-*.lock")):
        try:
            handle = open(lock_path, "a")  # noqa: SIM115 - closed below
        except OSError:
            continue
        try:
            fcntl.lockf(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue  # its session is alive and still running
        try:
            prefix = str(lock_path)[:-len(".lock")]
            journals = sorted(Path(prefix).parent.glob(Path(prefix).name + "-*.jsonl"))
            entries = [e for path in journals for e in _entries(path)]
            results = list({r.run_id: r for r in (RunResult.model_validate(e["run"]) for e in entries)}.values())
            known = _known(ledger, [r.run_id for r in results])
            missing = [r for r in results if r.run_id not in known]
            if missing:
                ledger.record_runs(missing)
                recorded += len(missing)
            by_out: dict[str, list[dict]] = {}
            for e in entries:
                if e.get("out"):
                    by_out.setdefault(e["out"], []).append(e["run"])
            for out, rows in by_out.items():
                present = _ids_in(Path(out))
                lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in rows if r["run_id"] not in present]
                lines = list(dict.fromkeys(lines))
                if lines:
                    _append_lines(Path(out), lines)
                    appended += len(lines)
            for path in journals:
                path.unlink(missing_ok=True)
            lock_path.unlink(missing_ok=True)
        finally:
            handle.close()
    return recorded, appended


def _append_lines(out: Path, lines: list[str]) -> None:
    with open(out, "a+b") as f:
        f.seek(0, os.SEEK_END)
        if f.tell():
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":  # a line cut by the crash: end it, so the next line stands alone
                f.write(b"\n")
        f.write("".join(lines).encode("utf-8"))
