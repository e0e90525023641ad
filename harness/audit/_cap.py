"""The size cap on one audit event: large values are kept as a hash and a prefix, not in full.

An agent can pass a 10 MB argument (refused or not); logging it whole would let one run write a log
of any size. An event whose payload encodes to more than ``MAX_EVENT_BYTES`` has each long string
(and then any remaining large value) replaced by ``{"elided": true, "sha256": …, "bytes": n, "prefix":
first characters}``: enough to recognise the value and to check it against a copy, never the bulk.
"""

from __future__ import annotations

import hashlib
from typing import Any

MAX_EVENT_BYTES = 64 * 1024
"""Largest payload kept as is (encoded JSON bytes)."""
PREFIX_CHARS = 256
_LONG_STRING = 1024


def elided(raw: bytes, prefix: str) -> dict:
    return {"elided": True, "sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw),
            "prefix": prefix[:PREFIX_CHARS]}


def _shrink(value: Any, encode) -> Any:
    if isinstance(value, str):
        if len(value) <= _LONG_STRING:
            return value
        return elided(value.encode("utf-8", "backslashreplace"), value)
    if isinstance(value, dict):
        return {k: _shrink(v, encode) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_shrink(v, encode) for v in value]
    return value


def cap_payload(payload: dict, data: bytes, encode) -> bytes:
    """``data`` (the payload's encoding) if it is small enough, else the encoding of a capped copy.

    ``encode`` turns a payload into canonical bytes (``encode_payload``)."""
    if len(data) <= MAX_EVENT_BYTES:
        return data
    try:
        shrunk = _shrink(payload, encode)
        smaller = encode(shrunk)
    except (TypeError, ValueError, RecursionError):
        smaller = data
    if len(smaller) <= MAX_EVENT_BYTES:
        return smaller
    # still too big (many small values): keep each top-level field within its share, or elide it
    share = MAX_EVENT_BYTES // max(1, len(payload) + 1)
    kept = {}
    for k, v in (shrunk if isinstance(shrunk, dict) else payload).items():
        raw = encode({"v": v})
        kept[k] = v if len(raw) <= share else elided(raw, raw.decode("utf-8", "replace"))
    return encode(kept)
