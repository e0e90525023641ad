"""Writing audit logs: an append-only, hash-chained JSON Lines file per run.

Each line is one event, written in *canonical* form: ``json.dumps(record, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` encoded as UTF-8, followed by ``\\n``. ``hash`` is the
SHA-256 of the canonical encoding of the record without ``hash``/``hmac``; ``prev`` is the previous
event's hash (``"0" * 64`` for the first), so the events form a chain. With a key, ``hmac`` is the
HMAC-SHA256 of the same bytes.

Cost: ``append`` encodes the payload to canonical JSON right away (a snapshot: a caller that later
mutates the dict it passed, e.g. a live record, cannot change what was logged) and keeps the bytes
in memory; hashing, chaining and writing happen in ``flush()``, which runs every ``flush_every``
events and at ``close()``. Encoding uses orjson when it is installed and its output is
byte-identical to the canonical form (almost always; otherwise the standard library). Events
still in memory when the process dies are lost; the log then ends without a terminal event and
``verify`` reports it as truncated.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from datetime import time as dtime
from decimal import Decimal
from enum import Enum
from json import encoder as _jencoder
from pathlib import Path, PurePath
from typing import Any, Self
from uuid import UUID

from harness.audit._cap import MAX_EVENT_BYTES, cap_payload
from harness.errors import HarnessError

try:  # optional: five times faster than the standard library, and byte-identical where used
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

GENESIS = "0" * 64
"""``prev`` of the first event of a log."""

EVENT_TYPES: tuple[str, ...] = (
    "run_started",
    "agent_message",
    "tool_call",
    "gateway_decision",
    "tool_result",
    "change",
    "plan_created",
    "plan_decided",
    "plan_applied",
    "run_finished",
    "run_error",
)
"""The event types callers may ``append``."""

CLOSE_EVENT = "log_closed"
"""Written by ``close()`` when the last event is not ``run_finished`` (never by callers)."""

TERMINAL_TYPES: tuple[str, ...] = ("run_finished", CLOSE_EVENT)
"""A complete log ends with one of these; anything else means the log was cut short."""

FIELDS = frozenset({"seq", "time", "run_id", "type", "payload", "prev", "hash"})
"""The fields of every event; ``hmac`` is the only optional one."""

_TYPE_JSON = {t: json.dumps(t).encode() for t in (*EVENT_TYPES, CLOSE_EVENT)}
_APPENDABLE = {t: _TYPE_JSON[t] for t in EVENT_TYPES}


class AuditLogError(HarnessError):
    """An audit log cannot be written, continued or read."""

    exit_code = 1


# -- canonical JSON ------------------------------------------------------------------------------

def canonical_bytes(obj: Any) -> bytes:
    """The canonical encoding used for hashing and for the lines on disk."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _default(o: Any) -> Any:
    """Turns what JSON cannot encode into something it can (called only for such objects)."""
    if isinstance(o, (datetime, date, dtime)):
        return o.isoformat()
    if isinstance(o, Enum):
        return o.value
    # subclasses of the JSON types (orjson hands them here; the stdlib encodes them as the base type)
    if isinstance(o, str):
        return str(o)
    if isinstance(o, int):
        return int(o)
    if isinstance(o, float):
        return float(o)
    if isinstance(o, dict):
        return dict(o)
    if isinstance(o, (list, tuple)):
        return list(o)
    if isinstance(o, (set, frozenset)):
        try:
            return sorted(o)
        except TypeError:
            return sorted(o, key=repr)
    if isinstance(o, (bytes, bytearray, memoryview)):
        raw = bytes(o)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            import base64
            return "base64:" + base64.b64encode(raw).decode("ascii")
    if isinstance(o, (PurePath, UUID, Decimal)):
        return str(o)
    dump = getattr(o, "model_dump", None)  # pydantic models
    if callable(dump) and not isinstance(o, type):
        try:
            return dump(mode="json")
        except Exception:  # noqa: BLE001 - a broken model must not break the run's log
            return repr(o)
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    if isinstance(o, Mapping):
        return dict(o)
    item = getattr(o, "item", None)  # numpy scalars
    if callable(item) and getattr(o, "shape", None) == ():
        try:
            return item()
        except Exception:  # noqa: BLE001
            return repr(o)
    if isinstance(o, Iterable):
        return list(o)
    return repr(o)


def _make_encoder():
    make = getattr(_jencoder, "c_make_encoder", None)
    if make is not None:
        # The same C encoder ``json.dumps`` uses with our arguments, built once; no circular
        # check (a cycle raises RecursionError and goes through ``_sanitise``).
        c_enc = make(None, _default, _jencoder.encode_basestring, None, ":", ",", True, False, False)

        def encode(obj: Any) -> str:
            return "".join(c_enc(obj, 0))
        return encode
    py_enc = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False, check_circular=False, default=_default)
    return py_enc.encode


_encode = _make_encoder()

# A key that was not a string (int, float, bool, None) is written as a string but sorted as the
# original, so the line would not be canonical once read back. Such a key looks like a string that
# starts with a digit or "-" (or is true/false/null) followed by ``":``; when this cheap search
# finds one (or a look-alike), the payload is re-canonicalised through a parse.
_NONSTR_KEY_HINT = re.compile(rb'"(?:[-0-9][^"]*|true|false|null)":')

_MAX_DEPTH = 200


def _json_key(k: Any) -> str:
    if isinstance(k, str):
        return _clean_str(k)
    if k is True:
        return "true"
    if k is False:
        return "false"
    if k is None:
        return "null"
    if isinstance(k, float):
        if math.isnan(k):
            return "NaN"
        return repr(float(k)) if math.isfinite(k) else ("Infinity" if k > 0 else "-Infinity")
    if isinstance(k, int):
        value = _json_int(k)
        return value if isinstance(value, str) else repr(value)
    return _clean_str(repr(k))


def _json_float(x: float) -> float | None:
    """JSON has no NaN or infinity: they are written as null (as orjson does)."""
    if math.isnan(x) or math.isinf(x):
        return None
    return float(x)


def _json_int(x: int) -> int | str:
    if x.bit_length() > 10_000:  # past Python's int-to-str digit limit
        return f"<int of {x.bit_length()} bits>"
    return int(x)


def _clean_str(s: str) -> str:
    try:
        s.encode("utf-8")
        return str(s)
    except UnicodeEncodeError:  # lone surrogates cannot be written as UTF-8
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


def _sanitise(o: Any, depth: int = 0, path: frozenset[int] = frozenset()) -> Any:
    """Slow path: a plain-JSON copy of anything (NaN, odd keys, cycles, surrogates, depth)."""
    if o is None or o is True or o is False:
        return o
    if isinstance(o, str):
        return _clean_str(o)
    if isinstance(o, float):
        return _json_float(o)
    if isinstance(o, int):
        return _json_int(o)
    if depth >= _MAX_DEPTH:
        return "<too deep>"
    if id(o) in path:
        return "<cycle>"
    inner = path | {id(o)}
    if isinstance(o, dict):
        out: dict[str, Any] = {}
        for k, v in o.items():
            out[_json_key(k)] = _sanitise(v, depth + 1, inner)
        return out
    if isinstance(o, (list, tuple)):
        return [_sanitise(v, depth + 1, inner) for v in o]
    try:
        converted = _default(o)
    except Exception:  # noqa: BLE001
        converted = repr(o)
    if converted is o or type(converted) is type(o):
        return _clean_str(repr(o))
    return _sanitise(converted, depth + 1, inner)


if _orjson is not None:
    _OJ_OPTIONS = (_orjson.OPT_SORT_KEYS | _orjson.OPT_PASSTHROUGH_DATETIME
                   | _orjson.OPT_PASSTHROUGH_DATACLASS | _orjson.OPT_PASSTHROUGH_SUBCLASS)
_DIGITS_TO_0 = bytes.maketrans(b"123456789", b"000000000")


def _floats_suspect(data: bytes) -> bool:
    """True if orjson may have written a float differently from ``json.dumps``.

    They agree on escaping and key order but not on floats under 1e-4 or from 1e16 on
    (``0.00001``/``1e16`` against ``1e-05``/``1e+16``): those show as ``0.0000`` or as a digit
    followed by ``e``. (Strings can match too; re-encoding them is merely slower, never wrong.)
    """
    return b"0.0000" in data or b"0e" in data.translate(_DIGITS_TO_0)


def _recanonicalise(data: bytes) -> bytes:
    """The canonical form of JSON that orjson wrote (its floats parse back to the same values)."""
    return canonical_bytes(json.loads(data)) if _floats_suspect(data) else data


def _encode_fast(payload: dict) -> bytes | None:
    """orjson's encoding (``None`` when it refuses: non-string keys, integers beyond 64 bits,
    lone surrogates, deep nesting). Its floats still need ``_recanonicalise``."""
    try:
        return _orjson.dumps(payload, default=_default, option=_OJ_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return None


def _encode_std(payload: Any) -> bytes:
    try:
        data = _encode(payload).encode("utf-8")
    except (ValueError, TypeError, RecursionError, OverflowError):
        return _encode(_sanitise(payload)).encode("utf-8")
    if _NONSTR_KEY_HINT.search(data) is not None:
        return canonical_bytes(json.loads(data))
    return data


def encode_payload(payload: Any) -> bytes:
    """Canonical JSON bytes of a payload (a dict, or a model/mapping turned into one)."""
    if type(payload) is not dict:
        if isinstance(payload, Mapping):
            payload = dict(payload)
        elif callable(getattr(payload, "model_dump", None)) or (
                dataclasses.is_dataclass(payload) and not isinstance(payload, type)):
            payload = _default(payload)
        else:
            raise TypeError(f"an audit payload must be a dict, not {type(payload).__name__}")
    if _orjson is not None:
        data = _encode_fast(payload)
        if data is not None:
            return _recanonicalise(data)
    return _encode_std(payload)


def _hmac_states(key: bytes) -> tuple[Any, Any]:
    """SHA-256 states after the HMAC inner and outer padded keys (RFC 2104), to copy per event."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in key)), hashlib.sha256(bytes(b ^ 0x5C for b in key)))


# -- the log -------------------------------------------------------------------------------------

def log_path_for(run_id: str, out_dir: Path | None = None) -> Path:
    """Where a run's log goes: ``OUT/audit/<run_id>.jsonl`` with ``--out``, else the data folder."""
    from harness.config import audit_dir

    base = Path(out_dir) / "audit" if out_dir is not None else audit_dir()
    return base / f"{run_id}.jsonl"


class AuditLog:
    """The audit log of one run. Not for sharing between processes; one writer per file.

    ``key`` (e.g. ``harness.config.audit_key()``) adds an HMAC to every event. The file is created
    on the first flush and must not exist yet (use ``AuditLog.reopen`` to continue a closed log,
    e.g. to record a plan decision made after the run).
    """

    def __init__(self, path: Path, run_id: str, key: bytes | None = None, *,
                 flush_every: int = 256, fsync: bool = True):
        self._setup(path, run_id, key, flush_every, fsync)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = None
        if self.path.is_dir():
            raise AuditLogError(f"{self.path} is a folder; an audit log needs a file path (<run_id>.jsonl).")
        if size:
            raise AuditLogError(f"{self.path} already holds an audit log; a new run needs a new file "
                                "(AuditLog.reopen continues an existing log).")
        if size == 0:
            self._mode = "ab"

    def _setup(self, path: Path, run_id: str, key: bytes | None, flush_every: int, fsync: bool) -> None:
        if not isinstance(run_id, str) or not run_id:
            raise ValueError("run_id must be a non-empty string")
        self.path = Path(path)
        self.run_id = run_id
        self.key = bytes(key) if key else None
        self.flush_every = max(1, int(flush_every))
        self.fsync = fsync
        self._run_id_json = json.dumps(_clean_str(run_id), ensure_ascii=False).encode("utf-8")
        self._hmac_states = _hmac_states(self.key) if self.key else None
        self._pending: list[tuple[bytes, float, bytes]] = []  # (type as JSON, time, payload bytes)
        self._sealed: list[bytes] = []  # lines hashed but not yet written
        self._seq = 0  # seq of the next event to seal
        self._head: str | None = None
        self._last_type: str | None = None
        self._file: Any = None
        self._mode = "xb"
        self._closed = False
        self._lock = threading.Lock()

    @classmethod
    def reopen(cls, path: Path, key: bytes | None = None, *, flush_every: int = 256,
               fsync: bool = True) -> Self:
        """Continue an existing log (e.g. to record a plan decision made after the run).

        The log is verified first (a truncated ending is fine, tampering is not) and must be signed
        with ``key`` exactly when a key is given. New events chain onto its last event.
        """
        from harness.audit._verify import verify_log

        path = Path(path)
        report = verify_log(path, key=key, require_terminal=False)
        if not report.ok or report.run_id is None:
            raise AuditLogError(f"cannot continue {path}: it does not verify ({report.summary()}).")
        if key and not report.signed:
            raise AuditLogError(f"cannot continue {path} with a key: its events are not signed.")
        if not key and report.signed:
            raise AuditLogError(f"cannot continue {path} without its key: its events are signed "
                                "(set HARNESS_AUDIT_KEY).")
        log = cls.__new__(cls)
        log._setup(path, report.run_id, key, flush_every, fsync)
        log._seq = report.events
        log._head = report.head
        log._last_type = report.last_type
        log._mode = "ab"
        return log

    # -- writing ---------------------------------------------------------------------------------
    def append(self, type: str, payload: dict) -> None:
        """Record one event. Cheap: the payload is encoded now, hashed and written at ``flush``."""
        tj = _APPENDABLE.get(type)
        if tj is None:
            raise ValueError(f"unknown audit event type {type!r}; expected one of {', '.join(EVENT_TYPES)}")
        if self._closed:
            raise AuditLogError(f"the audit log {self.path} is closed; cannot append {type!r}.")
        data = None
        if _orjson is not None and payload.__class__ is dict:  # the fast path, inlined
            try:  # floats are made canonical in _seal, for the whole batch at once
                data = _orjson.dumps(payload, default=_default, option=_OJ_OPTIONS)
            except TypeError:
                data = None
        if data is None:
            data = encode_payload(payload)
        if len(data) > MAX_EVENT_BYTES:
            data = cap_payload(payload, data, encode_payload)
        pending = self._pending
        pending.append((tj, time.time_ns(), data))
        self._last_type = type
        if len(pending) >= self.flush_every:
            self.flush()

    def _seal(self) -> None:
        """Chain and hash the pending events (in memory). Caller holds the lock."""
        pending = self._pending
        n = len(pending)
        if not n:
            return
        batch = pending[:n]
        del pending[:n]  # events appended meanwhile (another thread) stay, in order
        if _orjson is not None and _floats_suspect(b"\n".join([p for _, _, p in batch])):
            batch = [(tj, t, _recanonicalise(p)) for tj, t, p in batch]
        prev = (self._head or GENESIS).encode("ascii")
        seq = self._seq
        run_id = self._run_id_json
        sealed = self._sealed
        hmac_states = self._hmac_states
        sha256 = hashlib.sha256
        append = sealed.append
        last_sec, stamp = -1, b""
        for tj, t_ns, payload in batch:
            us = t_ns // 1000
            sec = us // 1_000_000
            if sec != last_sec:
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)).encode("ascii")
                last_sec = sec
            # the record without its leading "{"; fields in sorted order, as json.dumps(sort_keys=True)
            tail = b'"payload":%s,"prev":"%s","run_id":%s,"seq":%d,"time":"%s.%06dZ","type":%s}' % (
                payload, prev, run_id, seq, stamp, us % 1_000_000, tj)
            body = b"{" + tail
            prev = sha256(body).hexdigest().encode("ascii")
            if hmac_states is None:
                append(b'{"hash":"%s",%s\n' % (prev, tail))
            else:  # HMAC-SHA256 from the key's precomputed inner and outer states
                inner = hmac_states[0].copy()
                inner.update(body)
                outer = hmac_states[1].copy()
                outer.update(inner.digest())
                append(b'{"hash":"%s","hmac":"%s",%s\n' % (prev, outer.hexdigest().encode("ascii"), tail))
            seq += 1
        self._seq = seq
        self._head = prev.decode("ascii")

    def flush(self) -> None:
        """Hash, chain and write every pending event."""
        with self._lock:
            self._seal()
            if not self._sealed:
                return
            if self._file is None:
                try:
                    self._file = open(self.path, self._mode)  # noqa: SIM115 - kept open until close
                except FileExistsError:
                    raise AuditLogError(f"{self.path} was created by someone else while this run was "
                                        "writing its audit log.") from None
                except OSError as exc:
                    raise AuditLogError(f"cannot write the audit log {self.path}: {exc}") from exc
            data = b"".join(self._sealed)
            self._sealed.clear()
            try:
                self._file.write(data)
                self._file.flush()
            except OSError as exc:
                raise AuditLogError(f"cannot write the audit log {self.path}: {exc}") from exc

    def close(self) -> str:
        """Flush, end the log with a terminal event and close the file. Returns the head hash.

        The terminal event is ``run_finished`` if that was the last event appended, otherwise a
        ``log_closed`` event is added. Returns ``""`` for a log that never had an event.
        """
        if self._closed:
            return self._head or ""
        if self._seq == 0 and not self._pending:
            self._closed = True
            return ""
        if self._last_type != "run_finished":
            with self._lock:
                self._seal()
                self._pending.append((_TYPE_JSON[CLOSE_EVENT], time.time_ns(),
                                      encode_payload({"events": self._seq})))
                self._last_type = CLOSE_EVENT
        self.flush()
        self._closed = True
        if self._file is not None:
            if self.fsync:
                try:
                    os.fsync(self._file.fileno())
                except OSError:
                    pass
            self._file.close()
            self._file = None
        return self._head or ""

    # -- state -----------------------------------------------------------------------------------
    @property
    def head(self) -> str | None:
        """Hash of the last event appended so far (pending events are hashed, not written)."""
        if self._pending:
            with self._lock:
                self._seal()
        return self._head

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        """Events appended so far (written or not)."""
        return self._seq + len(self._pending)

    def __bool__(self) -> bool:  # a log with no events yet is still a log
        return True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r}, run_id={self.run_id!r}, events={len(self)})"


class NullAuditLog:
    """The same interface as ``AuditLog``; records nothing (``--no-audit``, benchmarks)."""

    path: Path | None = None
    key = None

    def __init__(self, path: Path | None = None, run_id: str = "", key: bytes | None = None,
                 **_: Any):
        self.path = Path(path) if path is not None else None
        self.run_id = run_id
        self._closed = False

    def append(self, type: str, payload: dict) -> None:
        return None

    def flush(self) -> None:
        return None

    def close(self) -> str:
        self._closed = True
        return ""

    @property
    def head(self) -> str | None:
        return None

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
