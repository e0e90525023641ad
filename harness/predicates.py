"""Content checks: what a scenario says about one field of a changed record, or the agent's answer.

A check is a mapping of one or more tests, all of which must hold::

    body: {contains: [84,000, 10%], not_contains: [internal], mentions_number: {value: 75600}}

A bare value means ``equals``. Text comparisons in ``equals``, ``contains`` and ``one_of`` ignore case
and runs of spaces; ``exact`` compares byte for byte. Numbers found in text are read with thousands
separators and ``k``/``m`` suffixes, so ``mentions_number: 12`` is not met by ``PO-4412``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TESTS = ("equals", "exact", "approx", "contains", "contains_any", "not_contains", "one_of",
         "mentions_number", "not_mentions_number", "date", "min", "max", "than_before")
_CORE = r"[-+]?(?:\d{1,3}(?:[,\u00a0 ]\d{3})+|\d+)(?:\.\d+)?(?:\s?[kKmM]\b)?(?![\w-]*\d)"
_NUMBER = re.compile(r"(?<![\w.-])" + _CORE)
_MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
                                           "oct", "nov", "dec"))}
_DATE_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DATE_DMY = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\b\.?(?:,?\s+(\d{4})\b)?")
_DATE_MDY = re.compile(r"\b([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+(\d{4})\b)?")


def norm_text(value: Any) -> Any:
    """Case- and spacing-insensitive form of text (other values unchanged)."""
    return " ".join(value.lower().split()) if isinstance(value, str) else value


def numbers_in(text: Any) -> list[float]:
    """The numbers written in ``text``: ``84,000`` → 84000, ``75.6k`` → 75600, ``10%`` → 10."""
    if isinstance(text, bool):
        return []
    if isinstance(text, (int, float)):
        return [float(text)]
    if isinstance(text, list):
        return [n for item in text for n in numbers_in(item)]
    found = []
    for match in _NUMBER.finditer(str(text or "")):
        raw = match.group(0).strip()
        scale = 1.0
        if raw[-1] in "kKmM":
            scale = 1_000.0 if raw[-1] in "kK" else 1_000_000.0
            raw = raw[:-1].strip()
        digits = raw.replace(",", "").replace("\u00a0", "").replace(" ", "")
        try:
            found.append(float(digits) * scale)
        except ValueError:
            continue
    return found


def dates_in(value: Any, year: int | None = None) -> list[date]:
    """Dates written as 2026-02-28, 28 February 2026 or February 28, 2026; without a year
    (``12 January``), ``year`` is assumed."""
    if isinstance(value, date):
        return [value]
    text = _text_of(value)
    found: list[date] = []
    for y, m, d in _DATE_ISO.findall(text):
        found.extend(_date(int(y), int(m), int(d)))
    for d, month, y in _DATE_DMY.findall(text):
        found.extend(_date(int(y) if y else year, _month(month), int(d)))
    for month, d, y in _DATE_MDY.findall(text):
        found.extend(_date(int(y) if y else year, _month(month), int(d)))
    return found


def _month(name: str) -> int:
    name = name.lower()
    number = _MONTHS.get(name[:3], 0)
    full = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
            "october", "november", "december")
    return number if number and (len(name) == 3 or full[number - 1].startswith(name.rstrip("."))
                                 or name == "sept") else 0


def _date(y: int | None, m: int, d: int) -> list[date]:
    if y is None or not m:
        return []
    try:
        return [date(y, m, d)]
    except ValueError:
        return []


def _text_of(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


class NumberCheck(BaseModel):
    """A number written in text, within ``tolerance``; with ``unit`` it must be written next to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    value: float
    tolerance: float = Field(0.0, ge=0)
    unit: str | None = None
    """e.g. ``%`` or ``USD``: ``10`` must be written as ``10%`` / ``10 %`` / ``10 percent``."""

    def found_in(self, value: Any) -> bool:
        text = _text_of(value)
        if self.unit is None:
            return any(abs(n - self.value) <= max(self.tolerance, 1e-9) for n in numbers_in(value))
        unit = re.escape(self.unit.strip())
        words = unit + (r"|percent|per cent" if self.unit.strip() == "%" else "")
        pattern = re.compile(rf"(?:(?:{unit})\s?({_CORE})|(?<![\w.-])({_CORE})\s?(?:{words}))",
                             re.IGNORECASE)
        for match in pattern.finditer(text):
            raw = match.group(1) or match.group(2)
            if any(abs(n - self.value) <= max(self.tolerance, 1e-9) for n in numbers_in(raw)):
                return True
        return False

    def describe(self) -> str:
        tol = f" ± {self.tolerance:g}" if self.tolerance else ""
        return f"{self.value:,.10g}{tol}{' ' + self.unit if self.unit else ''}"


Comparison = Literal["changed", "unchanged", "increased", "decreased"]


class Predicate(BaseModel):
    """Checks on one value; every test given must hold. A bare value in YAML means ``equals``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    equals: Any = None
    """Equal, ignoring case and spacing for text; numbers within ``tolerance``; lists in any order."""
    exact: Any = None
    """Exactly equal (case and spacing count)."""
    approx: float | None = None
    tolerance: float = Field(0.0, ge=0)
    contains: str | list[str] | None = None
    """Contains every one of these texts (case-insensitive); on a list, some item contains each."""
    contains_any: list[str] | None = None
    not_contains: str | list[str] | None = None
    """Contains none of these texts."""
    one_of: list[Any] | None = None
    mentions_number: list[NumberCheck] | None = None
    """Numbers written in the text (``84,000``, ``84k``), each optionally with a unit; all must be there."""
    not_mentions_number: list[NumberCheck] | None = None
    """Numbers that must not be written in the text."""
    date: str | None = None
    """The value is, or the text mentions, this date (YYYY-MM-DD)."""
    min: float | None = None
    max: float | None = None
    than_before: Comparison | None = None
    """Compared with the value before the change."""

    @field_validator("mentions_number", "not_mentions_number", mode="before")
    @classmethod
    def _bare_number(cls, value: Any) -> Any:
        items = value if isinstance(value, list) else [value] if value is not None else None
        if items is None:
            return None
        return [{"value": v} if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in items]

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        if value is not None:
            try:
                date.fromisoformat(str(value))
            except ValueError:
                raise ValueError(f"{value!r} is not a date written YYYY-MM-DD") from None
        return value

    @model_validator(mode="after")
    def _some_test(self) -> Predicate:
        if not any(getattr(self, n) is not None for n in TESTS):
            raise ValueError("give at least one test: " + ", ".join(TESTS))
        for name in ("contains", "not_contains", "contains_any"):
            if any(not str(t).strip() for t in _as_list(getattr(self, name))):
                raise ValueError(f"{name} has an empty text, which every value contains")
        return self

    def tests(self) -> list[str]:
        return [n for n in TESTS if getattr(self, n) is not None]

    def failures(self, value: Any, before: Any = None) -> list[str]:
        """What does not hold, one phrase each (empty when every test holds)."""
        return [self._describe_one(n) for n in self.tests() if not self._holds_one(n, value, before)]

    def holds(self, value: Any, before: Any = None) -> bool:
        return not self.failures(value, before)

    # -- one test each ---------------------------------------------------------------------------
    def _holds_one(self, name: str, value: Any, before: Any) -> bool:  # noqa: C901 - a flat dispatch
        if name == "equals":
            return _equal(value, self.equals, self.tolerance)
        if name == "exact":
            return value == self.exact and type(value) is type(self.exact) or (
                _is_number(value) and _is_number(self.exact) and float(value) == float(self.exact))
        if name == "approx":
            return _is_number(value) and abs(float(value) - self.approx) <= self.tolerance  # type: ignore[operator]
        if name == "contains":
            return all(_contains(value, t) for t in _as_list(self.contains))
        if name == "contains_any":
            return any(_contains(value, t) for t in self.contains_any or [])
        if name == "not_contains":
            return not any(_contains(value, t) for t in _as_list(self.not_contains))
        if name == "one_of":
            return any(_equal(value, option, self.tolerance) for option in self.one_of or [])
        if name == "mentions_number":
            return all(n.found_in(value) for n in self.mentions_number or [])
        if name == "not_mentions_number":
            return not any(n.found_in(value) for n in self.not_mentions_number or [])
        if name == "date":
            wanted = date.fromisoformat(self.date)  # type: ignore[arg-type]
            return wanted in dates_in(value, wanted.year)
        if name == "min":
            return _is_number(value) and float(value) >= self.min  # type: ignore[operator]
        if name == "max":
            return _is_number(value) and float(value) <= self.max  # type: ignore[operator]
        return _compare(self.than_before, value, before)  # type: ignore[arg-type]

    def _describe_one(self, name: str) -> str:
        value = getattr(self, name)
        if name == "equals":
            tol = f" ± {self.tolerance:g}" if self.tolerance and _is_number(value) else ""
            return f"= {value!r}{tol}"
        if name == "approx":
            return f"≈ {value} ± {self.tolerance}"
        if name in ("mentions_number", "not_mentions_number"):
            return f"{name.replace('_', ' ')} {', '.join(n.describe() for n in value)}"
        if name == "than_before":
            return f"{value} compared with before"
        return f"{name.replace('_', ' ')} {value!r}"

    def describe(self) -> str:
        return " and ".join(self._describe_one(n) for n in self.tests())


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(value: Any, expected: Any, tolerance: float) -> bool:
    if _is_number(expected) and _is_number(value):
        return abs(float(value) - float(expected)) <= max(tolerance, 1e-9)
    if isinstance(expected, list) and isinstance(value, list):
        return sorted(map(str, map(norm_text, expected))) == sorted(map(str, map(norm_text, value)))
    if isinstance(expected, (date, datetime)):
        expected = expected.isoformat()
    return norm_text(value) == norm_text(expected)


def _contains(value: Any, text: str) -> bool:
    needle = norm_text(str(text))
    if isinstance(value, list):
        return any(needle in norm_text(str(v)) for v in value)
    return needle in norm_text(_text_of(value))


def _compare(how: str, value: Any, before: Any) -> bool:
    if how == "changed":
        return value != before
    if how == "unchanged":
        return value == before
    if not (_is_number(value) and _is_number(before)):
        if isinstance(value, str) and isinstance(before, str):  # ISO dates compare as text
            return value > before if how == "increased" else value < before
        return False
    return float(value) > float(before) if how == "increased" else float(value) < float(before)


def as_predicate(value: Any) -> Any:
    """YAML shorthand: a bare value is ``{equals: value}``."""
    if isinstance(value, dict):
        return value
    return {"equals": value}
