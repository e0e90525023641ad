"""Checking audit logs: any edit, deletion, insertion, reordering or truncation fails.

A log passes when every line is byte-for-byte the canonical encoding of its event (so even a
whitespace change that still parses is caught), the ``seq`` numbers run 0, 1, 2 … without gaps,
the ``run_id`` never changes, each ``prev`` is the previous event's ``hash``, each ``hash`` is the
SHA-256 of the event's content, each ``hmac`` matches when a key is given, the last event is a
terminal one (``run_finished`` or ``log_closed``) and, if given, the last hash equals the head hash
recorded elsewhere (the ledger).
"""

from __future__ import annotations

import hashlib
import hmac as _hmac
import json
import re
from dataclasses import dataclass
from pathlib import Path

from harness.audit._log import FIELDS, GENESIS, TERMINAL_TYPES, AuditLogError, canonical_bytes
from harness.errors import NotFoundError

_HEX64 = re.compile(r"[0-9a-f]{64}")
_PREFIX = len('{"hash":"' + "0" * 64 + '",')
_PREFIX_SIGNED = _PREFIX + len('"hmac":"' + "0" * 64 + '",')


def short(h: str | None, n: int = 12) -> str:
    """The first ``n`` hex digits of a hash, with an ellipsis."""
    return f"{h[:n]}…" if h else "-"


@dataclass(frozen=True)
class VerifyReport:
    """The verdict on one log. ``first_bad_seq``/``line`` point at the first event that fails."""

    ok: bool
    events: int
    """Events that passed every check (all of them when ``ok``)."""
    first_bad_seq: int | None
    """Position (0-based, i.e. the seq it should have) of the first bad or missing event."""
    line: int | None
    """1-based line of the file where the problem is (for a missing ending: one past the end)."""
    reason: str
    head: str | None
    """Hash of the last good event."""
    run_id: str | None = None
    signed: bool = False
    """The events carry an ``hmac``."""
    hmac_checked: bool = False
    """A key was given and every ``hmac`` matched."""
    last_type: str | None = None
    """Type of the last good event."""

    def __bool__(self) -> bool:
        return self.ok

    def summary(self) -> str:
        """``OK: 12 events, head 1a2b…`` or ``TAMPERED: event #4 (line 5): …``: what the CLI prints."""
        if self.ok:
            return f"OK: {self.events} events, head {short(self.head)} ({self.reason})"
        if self.first_bad_seq is None:
            return f"TAMPERED: {self.reason}"
        return f"TAMPERED: event #{self.first_bad_seq} (line {self.line}): {self.reason}"


def _check_fields(rec: object) -> str | None:
    if not isinstance(rec, dict):
        return "the line is not a JSON object"
    keys = set(rec)
    missing = FIELDS - keys
    if missing:
        return f"missing field(s): {', '.join(sorted(missing))}"
    extra = keys - FIELDS - {"hmac"}
    if extra:
        return f"unexpected field(s): {', '.join(sorted(map(repr, extra)))}"
    seq = rec["seq"]
    if type(seq) is not int:
        return "seq is not an integer"
    for name in ("time", "run_id", "type"):
        if not isinstance(rec[name], str):
            return f"{name} is not a string"
    if not isinstance(rec["payload"], dict):
        return "payload is not a JSON object"
    for name in ("prev", "hash", "hmac"):
        if name in rec and not (isinstance(rec[name], str) and _HEX64.fullmatch(rec[name])):
            return f"{name} is not 64 lowercase hex digits"
    return None


def verify_bytes(data: bytes, key: bytes | None = None, expected_head: str | None = None, *,
                 require_terminal: bool = True) -> VerifyReport:
    """Verify the content of a log file (see the module docstring for what is checked)."""
    if not data:
        return VerifyReport(False, 0, 0, 1, "the log is empty: it has no events (truncated)", None)
    lines = data.split(b"\n")
    partial = lines.pop()  # b"" when the data ends with a newline, as a complete log does
    key = bytes(key) if key else None
    prev = GENESIS
    run_id: str | None = None
    signed: bool | None = None
    last_type: str | None = None

    def bad(i: int, reason: str) -> VerifyReport:
        return VerifyReport(False, i, i, i + 1, reason, prev if i else None, run_id,
                            bool(signed), False, last_type)

    for i, raw in enumerate(lines):
        if not raw:
            return bad(i, "empty line (a line was removed or split)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return bad(i, "the line is not valid UTF-8 (its bytes were altered)")
        try:
            rec = json.loads(text)
        except (ValueError, RecursionError) as exc:
            return bad(i, f"the line is not valid JSON ({exc}): it was altered or cut")
        problem = _check_fields(rec)
        if problem:
            return bad(i, problem)
        try:
            canonical = canonical_bytes(rec)
        except (ValueError, TypeError, RecursionError):
            canonical = b""
        if canonical != raw:
            return bad(i, "the line is not in canonical form (its bytes were altered, e.g. whitespace, "
                          "key order or escaping)")
        seq = rec["seq"]
        if seq != i:
            if seq > i:
                why = f"event #{i} is missing (deleted, or events were reordered)"
            else:
                why = "an event was inserted, duplicated or moved"
            return bad(i, f"found seq {seq} where {i} was expected: {why}")
        if run_id is None:
            run_id = rec["run_id"]
        elif rec["run_id"] != run_id:
            return bad(i, f"run_id changes from {run_id!r} to {rec['run_id']!r}: the event comes from "
                          "another log")
        if rec["prev"] != prev:
            if i == 0:
                return bad(i, "prev of the first event is not the genesis value 000…: events before it "
                              "were removed")
            return bad(i, f"prev does not match the hash of event #{i - 1}: an event was removed, "
                          "inserted or changed before this one")
        # the line is canonical, so the event without hash/hmac is the line without that prefix
        body = b"{" + raw[_PREFIX_SIGNED if "hmac" in rec else _PREFIX:]
        digest = hashlib.sha256(body).hexdigest()
        if digest != rec["hash"]:
            return bad(i, "hash does not match the event's content: the event was edited")
        has_mac = "hmac" in rec
        if signed is None:
            signed = has_mac
        elif has_mac != signed:
            return bad(i, "some events carry an hmac and others do not: signatures were added or removed")
        if key is not None:
            if not has_mac:
                return bad(i, "the event is not signed (no hmac) but a key was given: the log was "
                              "written without the key, or rewritten without it")
            mac = _hmac.digest(key, body, "sha256").hex()
            if not _hmac.compare_digest(mac, rec["hmac"]):
                return bad(i, "hmac does not match: the event was rewritten by someone without the key "
                              "(or the key is not the one it was written with)")
        prev = digest
        last_type = rec["type"]

    n = len(lines)
    if partial:
        return bad(n, "the last line is incomplete (no newline at its end): the log was truncated "
                      "while being written")
    if require_terminal and last_type not in TERMINAL_TYPES:
        return bad(n, f"truncated: the log ends with event #{n - 1} ({last_type}), not with run_finished "
                      "or log_closed: events at the end are missing, or the run never finished")
    if expected_head is not None and expected_head.strip().lower() != prev:
        return VerifyReport(False, n, None, None,
                            f"the log's head {short(prev)} is not the head {short(expected_head.strip())} "
                            "recorded for this run: events at the end were removed or added, or the log "
                            "was replaced", prev, run_id, bool(signed), False, last_type)
    if key is not None:
        note = "HMAC verified"
    elif signed:
        note = "signed; HMAC not checked: no key given"
    else:
        note = "not signed"
    if expected_head is not None:
        note += "; head matches the recorded head"
    return VerifyReport(True, n, None, None, note, prev, run_id, bool(signed), key is not None, last_type)


def verify_log(path: Path, key: bytes | None = None, expected_head: str | None = None, *,
               require_terminal: bool = True) -> VerifyReport:
    """Verify the log file at ``path``. Raises ``NotFoundError`` if it cannot be read."""
    return verify_bytes(_read(path), key, expected_head, require_terminal=require_terminal)


def verify_events(events: list[dict], key: bytes | None = None,
                  expected_head: str | None = None) -> VerifyReport:
    """Verify events already parsed (re-encoded canonically; byte-level edits are not visible)."""
    try:
        data = b"".join(canonical_bytes(e) + b"\n" for e in events)
    except (ValueError, TypeError):
        return VerifyReport(False, 0, 0, None, "the events cannot be encoded as JSON", None)
    return verify_bytes(data, key, expected_head)


def _read(path: Path) -> bytes:
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"no audit log at {path}.") from None
    except IsADirectoryError:
        raise NotFoundError(f"{path} is a folder, not an audit log (a .jsonl file).") from None
    except OSError as exc:
        raise NotFoundError(f"cannot read the audit log {path}: {exc.strerror or exc}.") from None


def read_events(path: Path, *, strict: bool = True) -> list[dict]:
    """The events of a log, in file order, without verifying them (see ``verify_log``).

    ``strict=False`` skips lines that are not JSON objects (e.g. to explain a damaged log);
    otherwise such a line raises ``AuditLogError``.
    """
    events: list[dict] = []
    data = _read(path)
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw.decode("utf-8", "replace"))
        except (ValueError, RecursionError):
            rec = None
        if not isinstance(rec, dict):
            if strict:
                raise AuditLogError(f"line {lineno} is not a JSON event.", file=str(path), line=lineno)
            continue
        events.append(rec)
    return events
