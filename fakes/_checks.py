"""Argument checks shared by the fakes: each failure is an ``InvalidInput`` that says what to pass."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from fakes.errors import InvalidInput

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SEARCH_LIMIT = 100


def check_number(field: str, value: Any, low: float, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput(f"{field} must be a number, got {value!r}")
    if value < low or (high is not None and value > high):
        span = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise InvalidInput(f"{field} must be {span}, got {value!r}")
    return float(value)


def check_text(field: str, value: Any, *, allow_empty: bool = False, max_len: int = 10_000) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise InvalidInput(f"{field} must not be empty")
    if len(value) > max_len:
        raise InvalidInput(f"{field} is {len(value)} characters long; the limit is {max_len}")
    return value


def check_date(field: str, value: Any) -> str:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise InvalidInput(f"{field} must be a date written YYYY-MM-DD, got {value!r}")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} {value!r} is not a real calendar date") from None
    return value


def check_id(rid: Any) -> str:
    if not isinstance(rid, str) or not rid:
        raise InvalidInput(f"id must be a non-empty string, got {rid!r}")
    return rid


def check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= SEARCH_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {SEARCH_LIMIT}, got {limit!r}")
    return limit
