"""Finding a run's audit log from what a person types: a path, a run id or a run-id prefix."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from harness.errors import NotFoundError, UsageError

Locator = Callable[[str], "Path | None"]
HeadLookup = Callable[[str], "str | None"]

_locator: Locator | None = None
_head_lookup: HeadLookup | None = None


def set_locator(fn: Locator | None) -> None:
    """Register ``fn(run_id_or_prefix) -> Path | None`` (the ledger knows logs written with ``--out``).

    ``fn`` may raise ``NotFoundError`` itself, e.g. for an ambiguous prefix. ``None`` unregisters.
    """
    global _locator
    _locator = fn


def set_head_lookup(fn: HeadLookup | None) -> None:
    """Register ``fn(run_id) -> head hash | None``: the head the ledger recorded for a run.

    ``harness audit verify`` then also checks the log ends where the ledger says it ended, which
    catches events cut from the end back to an earlier terminal event. ``None`` unregisters.
    """
    global _head_lookup
    _head_lookup = fn


def recorded_head(run_id: str | None) -> str | None:
    """The head hash recorded for ``run_id`` by the registered lookup, if any."""
    if not run_id or _head_lookup is None:
        return None
    return _head_lookup(run_id)


def _looks_like_path(ref: str) -> bool:
    return (os.sep in ref or "/" in ref or (os.altsep is not None and os.altsep in ref)
            or ref.endswith(".jsonl") or ref.startswith("."))


def _search_dirs(extra_dirs: Iterable[Path]) -> list[Path]:
    from harness.config import audit_dir

    dirs: list[Path] = []
    for d in (audit_dir(), *extra_dirs):
        d = Path(d)
        for cand in (d, d / "audit"):
            if cand not in dirs:
                dirs.append(cand)
    return dirs


def _logs_in(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.suffix == ".jsonl" and p.is_file())
    except OSError:
        return []


def locate_log(ref: str, extra_dirs: Iterable[Path] = ()) -> Path:
    """The log file ``ref`` names.

    ``ref`` is a path to a ``.jsonl`` log (or to a folder holding exactly one), a run id, or a
    prefix of exactly one run id. Run ids are looked up with the registered locator (the ledger)
    and as ``<run_id>.jsonl`` in ``harness.config.audit_dir()`` and in each of ``extra_dirs`` (and
    their ``audit/`` subfolder, as written by ``harness run --out DIR``).
    Raises ``NotFoundError`` when nothing or more than one run matches.
    """
    ref = (ref or "").strip()
    if not ref:
        raise UsageError("no audit log named: give a log file, a run id or a run-id prefix.")
    as_path = Path(ref).expanduser()
    if as_path.is_file():
        return as_path
    if as_path.is_dir():
        logs = _logs_in(as_path) or _logs_in(as_path / "audit")
        if len(logs) == 1:
            return logs[0]
        if not logs:
            raise NotFoundError(f"{as_path} is a folder with no audit logs (.jsonl files) in it or in "
                                "its audit/ subfolder; name a log file or a run id.")
        raise NotFoundError(f"{as_path} holds {len(logs)} audit logs; name one of them or a run id, e.g. "
                            + ", ".join(p.stem for p in logs[:5]) + ("…" if len(logs) > 5 else "") + ".")
    if _looks_like_path(ref):
        raise NotFoundError(f"no audit log at {as_path}: the file does not exist. Give the path of a "
                            "run's .jsonl log, or its run id.")

    matches: dict[str, Path] = {}
    if _locator is not None:
        found = _locator(ref)
        if found is not None and Path(found).is_file():
            found = Path(found)
            matches[found.stem] = found
    dirs = _search_dirs(extra_dirs)
    for d in dirs:
        exact = d / f"{ref}.jsonl"
        if exact.is_file():
            matches.setdefault(ref, exact)
    if ref in matches:
        return matches[ref]
    for d in dirs:
        for p in _logs_in(d):
            if p.stem.startswith(ref):
                matches.setdefault(p.stem, p)
    if len(matches) == 1:
        return next(iter(matches.values()))
    if len(matches) > 1:
        ids = sorted(matches)
        shown = ", ".join(ids[:8]) + (f" and {len(ids) - 8} more" if len(ids) > 8 else "")
        raise NotFoundError(f"the run-id prefix {ref!r} is ambiguous: it matches {len(ids)} runs "
                            f"({shown}). Type more of the run id.")
    where = ", ".join(str(d) for d in dirs if d.exists()) or ", ".join(str(d) for d in dirs[:1])
    ledger = " or the ledger" if _locator is not None else ""
    raise NotFoundError(f"no audit log for run {ref!r}: no run id starts with it in {where}{ledger}. "
                        "Runs made with `harness run --out DIR` keep their logs in DIR/audit/ (pass that "
                        "folder with --dir, or the file itself); otherwise check HARNESS_HOME.")
