"""Verifying a log *as the run it claims to be*: the chain, the binding, and the anchors.

The chain (``verify_log``) shows a log is self-consistent; it cannot show that the log is the one
the run wrote, since anyone can write a fresh, valid chain. So ``verify_anchored`` also checks:

- **binding**: the log holds the run (or plan decision) that was asked for. Copying run B's log over
  run A's file fails: the log says B.
- **ledger**: the head hash the ledger recorded when the run ended (the ledger the run was recorded
  in: ``--ledger``) matches the log's head. A deleted log of a recorded run fails.
- **signed digest**: ``<log>.digest.json``, signed with the harness's Ed25519 key, matches the log's
  bytes, run id and head (``harness.audit._sign``).

A log with neither a ledger record nor a signed digest is *unanchored*: it may be intact, but
nothing shows it is the log the run wrote. The verdict says so plainly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.audit._locate import locate_log, recorded_head
from harness.audit._sign import DigestCheck, check_digest, load_public_key
from harness.audit._verify import VerifyReport, _read, short, verify_bytes
from harness.errors import NotFoundError

DECISION = "-decision-"


@dataclass
class Verdict:
    path: Path | None
    claimed: str | None
    report: VerifyReport | None
    problems: list[str] = field(default_factory=list)
    anchors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report is not None and self.report.ok and not self.problems

    @property
    def anchored(self) -> bool:
        return bool(self.anchors)

    def summary(self) -> str:
        if self.report is None or not self.report.ok:
            text = self.report.summary() if self.report is not None else "TAMPERED"
            return "; ".join([text, *self.problems])
        if self.problems:
            return "TAMPERED: " + "; ".join(self.problems)
        text = self.report.summary()
        if self.anchors:
            return f"{text}; anchored by {' and '.join(self.anchors)}"
        return (f"{text}; UNANCHORED: no ledger record and no signed digest for this log, so nothing shows "
                "it is the log the run wrote (an edited and re-chained log would also pass)")


def _ledger(url: str | None, explicit: bool) -> Any:
    from harness.config import ledger_url
    from harness.ledger import Ledger

    chosen = ledger_url(url)
    if not explicit and chosen.startswith("sqlite:///") and not Path(chosen[len("sqlite:///"):]).exists():
        return None
    return Ledger(chosen)


def _record(ledger: Any, claimed: str) -> dict | None:
    """What the ledger recorded for a run or a plan decision log: ``{"head", "path"}``, or None."""
    if ledger is None:
        return None
    try:
        if DECISION in claimed:
            plan = ledger.get_plan(claimed.split(DECISION, 1)[0])
            logs = ((plan.get("decision") or {}).get("audit_logs")) or []
            match = [entry for entry in logs if entry.get("id") == claimed]
            return {"head": match[0]["head"], "path": match[0].get("path")} if match else None
        row = _run_or_session(ledger, claimed)
    except NotFoundError:
        return None
    if row.get("run_id", row.get("session_id")) != claimed and row.get("id") != claimed:
        return None
    return {"head": row.get("audit_head") or None, "path": row.get("audit_path")}


def _run_or_session(ledger: Any, ref: str) -> dict:
    try:
        return ledger.get_run(ref)
    except NotFoundError:
        get_session = getattr(ledger, "get_session", None)  # a gateway session at work is audited like a run
        if get_session is None:
            raise
        return get_session(ref)


def _resolve_run_id(ledger: Any, ref: str) -> str | None:
    if ledger is None or DECISION in ref:
        return None
    try:
        row = _run_or_session(ledger, ref)
    except NotFoundError:
        return None
    return row.get("run_id") or row.get("session_id") or row.get("id")


def verify_anchored(ref: str, *, dirs: Iterable[Path] = (), key: bytes | None = None,
                    expected_head: str | None = None, ledger_url: str | None = None,
                    public_key: Path | None = None) -> Verdict:
    """Verify the log ``ref`` names (a path, a run id or a prefix) against everything that anchors it."""
    ledger = _ledger(ledger_url, ledger_url is not None)
    try:
        return _verify(ref, list(dirs), key, expected_head, ledger, public_key)
    finally:
        if ledger is not None:
            ledger.close()


def _verify(ref: str, dirs: list[Path], key: bytes | None, expected_head: str | None, ledger: Any,
            public_key: Path | None) -> Verdict:
    as_path = Path(ref).expanduser()
    run_id = None if as_path.exists() else _resolve_run_id(ledger, ref.strip())
    record = _record(ledger, run_id) if run_id else None
    if run_id and record and record.get("path"):
        recorded_path = Path(record["path"])
        candidates = [recorded_path] + [Path(d) / sub / f"{run_id}.jsonl" for d in dirs for sub in ("", "audit")]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            from harness.config import audit_dir

            found = audit_dir() / f"{run_id}.jsonl"
            if not found.is_file():
                return Verdict(recorded_path, run_id, None, [
                    f"the audit log of run {run_id} is missing: the ledger recorded it at {recorded_path} "
                    f"(head {short(record.get('head'))}), and there is no file there: it was deleted or moved"])
        path = found
    else:
        path = locate_log(run_id or ref, dirs)
    claimed = run_id or path.stem
    if record is None:
        record = _record(ledger, claimed)
    data = _read(path)
    report = verify_bytes(data, key)
    verdict = Verdict(path, claimed, report)
    if not report.ok:
        return verdict
    if report.run_id != claimed:
        if as_path.exists() and record is None and DECISION not in claimed:
            claimed = report.run_id  # a log file under another name: judged as the run it holds
            verdict.claimed = claimed
            record = _record(ledger, claimed)
        else:
            verdict.problems.append(f"the log holds run {report.run_id!r}, not {claimed!r}: it was swapped or "
                                    "copied over this run's log")
            return verdict
    heads: list[tuple[str, str]] = []
    if expected_head:
        heads.append(("the head given with --expected-head", expected_head.strip().lower()))
    if record and record.get("head"):
        heads.append(("the ledger's head", record["head"]))
    hooked = None if expected_head else recorded_head(claimed)  # --expected-head stands in for it
    if hooked and not record:
        heads.append(("the recorded head", hooked))
    for name, head in heads:
        if head != report.head:
            verdict.problems.append(f"the log's head {short(report.head)} is not {name} {short(head)} recorded "
                                    "for this run: events at the end were removed or added, or the log was "
                                    "replaced")
        elif name != "the head given with --expected-head":
            verdict.anchors.append("the ledger" if "ledger" in name else "the recorded head")
        else:
            verdict.anchors.append("the given head")
    digest: DigestCheck = check_digest(path, data, load_public_key(public_key))
    if digest.present:
        if not digest.ok:
            verdict.problems.append(digest.reason)
        elif digest.run_id != claimed or digest.head != report.head:
            verdict.problems.append(f"the signed digest is for run {digest.run_id!r} with head "
                                    f"{short(digest.head)}, not this log")
        else:
            verdict.anchors.append(digest.reason.replace("verified", "").replace("signed digest", "a signed digest")
                                   .strip())
    return verdict
