"""A copy-on-write keyed record store: forks and resets cost O(changes), never O(world).

A ``Table`` is a shared, never-mutated ``base`` plus this table's ``overlay`` (records added or changed)
and ``removed`` (base ids deleted). The overlay is kept canonical: a record put back to its base value
leaves the overlay, so the pair (overlay, removed) is a pure function of the state — which is what lets
``World.digest()`` hash only the changes.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import json
from collections.abc import Callable, Iterator

TextOf = Callable[[dict], str]


def copy_record(record: dict) -> dict:
    """Records are flat dicts whose values are scalars or lists of scalars: copy one level deeper."""
    return {k: (list(v) if isinstance(v, list) else v) for k, v in record.items()}


class _Shared:
    """What forks of one table share: the base and indexes derived from it, built lazily once."""

    __slots__ = ("records", "text_of", "search_index", "sorted_ids")

    def __init__(self, records: dict[str, dict], text_of: TextOf | None):
        self.records = records
        self.text_of = text_of or _default_text
        self.search_index: _SearchIndex | None = None
        self.sorted_ids: list[str] | None = None

    def get_search_index(self) -> _SearchIndex:
        if self.search_index is None:
            self.search_index = _SearchIndex(self.records, self.text_of)
        return self.search_index

    def get_sorted_ids(self) -> list[str]:
        if self.sorted_ids is None:
            self.sorted_ids = sorted(self.records)
        return self.sorted_ids


class _SearchIndex:
    """The lowercased texts of all base records joined by newlines into one string.

    One ``str.find`` over the blob scans a 50,000-message base in milliseconds; ``starts`` maps a hit
    back to its record. Newlines inside texts (and queries) are treated as spaces.
    """

    __slots__ = ("blob", "starts", "ids", "position")

    def __init__(self, records: dict[str, dict], text_of: TextOf):
        self.ids = list(records)
        self.position = {rid: i for i, rid in enumerate(self.ids)}
        texts = [flat_text(text_of(records[rid])) for rid in self.ids]
        self.starts, offset = [], 0
        for text in texts:
            self.starts.append(offset)
            offset += len(text) + 1
        self.blob = "\n".join(texts)

    def hits(self, needle: str) -> Iterator[int]:
        """Indexes (ascending) of base records whose text contains ``needle``."""
        blob, starts, count = self.blob, self.starts, len(self.ids)
        pos = 0
        while count:
            pos = blob.find(needle, pos)
            if pos < 0:
                return
            i = bisect.bisect_right(starts, pos) - 1
            yield i
            if i + 1 >= count:
                return
            pos = starts[i + 1]


def flat_text(text: str) -> str:
    return text.replace("\n", " ").replace("\r", " ")


def _default_text(record: dict) -> str:
    return " ".join(str(v) for v in record.values()).lower()


class Table:
    """Keyed records over a shared base. ``get`` returns copies; callers never hold live records."""

    __slots__ = ("_shared", "_overlay", "_removed", "_versions")

    def __init__(self, base: dict[str, dict] | None = None, *, text_of: TextOf | None = None):
        self._shared = _Shared(base if base is not None else {}, text_of)
        self._overlay: dict[str, dict] = {}
        self._removed: set[str] = set()
        self._versions: dict[str, int] = {}

    # -- reading ---------------------------------------------------------------------------------
    @property
    def base(self) -> dict[str, dict]:
        """The shared base records. Never mutate it."""
        return self._shared.records

    @property
    def overlay(self) -> dict[str, dict]:
        return self._overlay

    @property
    def removed(self) -> set[str]:
        return self._removed

    def get(self, rid: str) -> dict | None:
        record = self._peek(rid)
        return None if record is None else copy_record(record)

    def _peek(self, rid: str) -> dict | None:
        """The stored record itself (no copy): for internal reads that do not leak it."""
        record = self._overlay.get(rid)
        if record is not None:
            return record
        if rid in self._removed:
            return None
        return self._shared.records.get(rid)

    def __contains__(self, rid: object) -> bool:
        if rid in self._overlay:
            return True
        return rid not in self._removed and rid in self._shared.records

    def ids(self) -> Iterator[str]:
        """Every id: base order first (changed records in place), then records added since."""
        base, overlay, removed = self._shared.records, self._overlay, self._removed
        if removed:
            yield from (rid for rid in base if rid not in removed)
        else:
            yield from base
        yield from (rid for rid in overlay if rid not in base)

    def values(self) -> Iterator[dict]:
        """Every record (copies), in ``ids()`` order."""
        for rid in self.ids():
            yield copy_record(self._peek(rid))  # type: ignore[arg-type]

    def items(self) -> Iterator[tuple[str, dict]]:
        for rid in self.ids():
            yield rid, copy_record(self._peek(rid))  # type: ignore[arg-type]

    def __len__(self) -> int:
        base = self._shared.records
        added = sum(1 for rid in self._overlay if rid not in base)
        return len(base) - len(self._removed) + added

    def version(self, rid: str) -> int:
        """0 for an untouched base record, +1 per mutation of that id (put or delete)."""
        return self._versions.get(rid, 0)

    def find(self, needle: str) -> Iterator[dict]:
        """Records whose lowercased text contains ``needle`` (lowercase), in ``ids()`` order (copies).

        Base texts are indexed once and shared by every fork; changed records are re-texted on the
        fly. Stops as soon as the caller stops iterating.
        """
        needle = flat_text(needle)
        shared, overlay, removed = self._shared, self._overlay, self._removed
        base, index = shared.records, shared.get_search_index()
        changed = sorted((index.position[rid], rid) for rid, record in overlay.items()
                         if rid in base and needle in flat_text(shared.text_of(record)))
        unchanged = ((i, index.ids[i]) for i in index.hits(needle)
                     if index.ids[i] not in removed and index.ids[i] not in overlay)
        for _, rid in heapq.merge(unchanged, changed):
            yield copy_record(self._peek(rid))  # type: ignore[arg-type]
        for rid, record in overlay.items():
            if rid not in base and needle in flat_text(shared.text_of(record)):
                yield copy_record(record)

    def ids_with_prefix(self, prefix: str) -> Iterator[str]:
        """Ids starting with ``prefix`` (unordered): a sorted base index, bisected, plus the overlay."""
        base = self._shared.records
        for rid in self._overlay:
            if rid.startswith(prefix) and rid not in base:
                yield rid
        sorted_ids = self._shared.get_sorted_ids()
        i = bisect.bisect_left(sorted_ids, prefix)
        removed = self._removed
        while i < len(sorted_ids) and sorted_ids[i].startswith(prefix):
            if sorted_ids[i] not in removed:
                yield sorted_ids[i]
            i += 1

    # -- writing ---------------------------------------------------------------------------------
    def put(self, rid: str, record: dict) -> None:
        base_record = self._shared.records.get(rid)
        if base_record is not None and base_record == record:
            self._overlay.pop(rid, None)
        else:
            self._overlay[rid] = copy_record(record)
        self._removed.discard(rid)
        self._versions[rid] = self._versions.get(rid, 0) + 1

    def delete(self, rid: str) -> None:
        if rid not in self:
            raise KeyError(rid)
        self._overlay.pop(rid, None)
        if rid in self._shared.records:
            self._removed.add(rid)
        self._versions[rid] = self._versions.get(rid, 0) + 1

    # -- forking ---------------------------------------------------------------------------------
    def fork(self) -> Table:
        """A table sharing this base, starting from this table's current state. O(overlay)."""
        clone = Table.__new__(Table)
        clone._shared = self._shared
        clone._overlay = dict(self._overlay)  # stored records are never mutated in place
        clone._removed = set(self._removed)
        clone._versions = dict(self._versions)
        return clone

    def reset(self) -> None:
        """Back to the base. O(overlay)."""
        self._overlay.clear()
        self._removed.clear()
        self._versions.clear()

    @property
    def changed(self) -> bool:
        return bool(self._overlay or self._removed)

    # -- digests ---------------------------------------------------------------------------------
    def hash_base(self, h: hashlib._Hash) -> None:
        """Feed the whole base into ``h`` (done once per world build)."""
        base = self._shared.records
        h.update(json.dumps([[rid, base[rid]] for rid in self._shared.get_sorted_ids()],
                            sort_keys=True, separators=(",", ":")).encode())

    def hash_changes(self, h: hashlib._Hash) -> None:
        """Feed only the overlay and removed ids into ``h``: O(changes)."""
        overlay = self._overlay
        h.update(json.dumps([[rid, overlay[rid]] for rid in sorted(overlay)],
                            sort_keys=True, separators=(",", ":")).encode())
        h.update(b"\x00")
        h.update(json.dumps(sorted(self._removed)).encode())

    def __repr__(self) -> str:
        return f"Table({len(self)} records, {len(self._overlay)} changed, {len(self._removed)} removed)"
