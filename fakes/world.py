"""A world: the three fakes sharing one clock and one journal, over shared copy-on-write bases."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from fakes.clock import SimClock
from fakes.crm import CRM
from fakes.errors import Conflict, InvalidInput
from fakes.files import Files
from fakes.journal import Change, Journal
from fakes.mail import Mail
from fakes.table import Table

# entity kind -> (backend attribute, table attribute, key field of the record)
KIND_TABLES: dict[str, tuple[str, str, str]] = {
    "account": ("crm", "accounts", "id"),
    "contact": ("crm", "contacts", "id"),
    "deal": ("crm", "deals", "id"),
    "note": ("crm", "notes", "id"),
    "message": ("mail", "messages", "id"),
    "draft": ("mail", "messages", "id"),
    "mailbox": ("mail", "mailboxes", "address"),
    "file": ("files", "files", "path"),
}


class World:
    """CRM, mail and files of one run. Forks and resets cost O(changes), never O(world).

    Applying and undoing changes (``apply_change``, ``undo``) record what they did in the journal, so
    replaying the journal on a pristine fork always reproduces the current state.

    Moves are recorded as one ``Change`` per moved file: ``op="move"``, ``entity_id`` the old path,
    ``before`` the full record at the old path and ``after`` the full record at the new path (only
    ``path`` differs). Applying it removes ``before["path"]`` and creates ``after["path"]``; undoing it
    does the reverse.
    """

    def __init__(self, crm: CRM, mail: Mail, files: Files, *, clock: SimClock, journal: Journal,
                 seed: int | None = None, base_digest: str | None = None):
        self.crm, self.mail, self.files = crm, mail, files
        self.clock, self.journal, self.seed = clock, journal, seed
        for backend in (crm, mail, files):
            if backend.clock is not clock or backend.journal is not journal:
                raise ValueError("the backends of a World must share the world's clock and journal")
        self._base_digest = base_digest if base_digest is not None else self._hash_base()

    # -- lifecycle -------------------------------------------------------------------------------
    def fork(self) -> World:
        """An independent world starting from this one's current state. O(changes)."""
        clock, journal = self.clock.copy(), self.journal.copy()
        return World(self.crm.fork(clock, journal), self.mail.fork(clock, journal),  # type: ignore[arg-type]
                     self.files.fork(clock, journal), clock=clock, journal=journal,  # type: ignore[arg-type]
                     seed=self.seed, base_digest=self._base_digest)

    def reset(self) -> None:
        """Back to the base: no changes, empty journal, clock at its start, id counters restarted."""
        for backend in (self.crm, self.mail, self.files):
            backend.reset()
        self.journal.clear()
        self.clock.reset()

    def pristine(self) -> World:
        """A new world over the same base with none of this world's changes."""
        clone = self.fork()
        clone.reset()
        return clone

    # -- digests ---------------------------------------------------------------------------------
    @property
    def base_digest(self) -> str:
        return self._base_digest

    def digest(self) -> str:
        """sha256 of the state: the base digest (computed once) plus the changed records only.

        Two worlds over the same base with the same records have the same digest, however they got
        there (the journal, the clock and version counters are not part of it).
        """
        h = hashlib.sha256(self._base_digest.encode())
        for name, table in self._tables():
            if table.changed:
                h.update(f"\n{name}\n".encode())
                table.hash_changes(h)
        return h.hexdigest()

    def _tables(self) -> list[tuple[str, Table]]:
        return [(f"{b.NAME}.{name}", table) for b in (self.crm, self.mail, self.files)
                for name, table in b.tables().items()]

    def _hash_base(self) -> str:
        h = hashlib.sha256(b"fakes-world-v1\n")
        h.update(repr((self.crm.max_discount_pct, self.mail.domains, self.mail.default_sender,
                       self.files.protected)).encode())
        for name, table in self._tables():
            h.update(f"\n{name}\n".encode())
            table.hash_base(h)
        return h.hexdigest()

    # -- entities --------------------------------------------------------------------------------
    def table_of(self, kind: str) -> Table:
        if kind not in KIND_TABLES:
            raise InvalidInput(f"unknown entity kind {kind!r}; use one of {', '.join(KIND_TABLES)}")
        backend, table, _ = KIND_TABLES[kind]
        return getattr(getattr(self, backend), table)

    def _split(self, entity: str) -> tuple[str, str]:
        if not isinstance(entity, str) or ":" not in entity:
            raise InvalidInput(f"entity must be written 'kind:id' (e.g. 'deal:deal-00001'), got {entity!r}")
        kind, _, rid = entity.partition(":")
        self.table_of(kind)
        return kind, rid

    def version_of(self, entity: str) -> int:
        """How many times the entity has been mutated in this world (0 if never)."""
        kind, rid = self._split(entity)
        return self.table_of(kind).version(rid)

    def get(self, entity: str) -> dict | None:
        """A copy of the record, or ``None``. ``draft:<id>`` only finds messages in "drafts"."""
        kind, rid = self._split(entity)
        record = self.table_of(kind).get(rid)
        if record is not None and kind == "draft" and record.get("folder") != "drafts":
            return None
        return record

    def exists(self, entity: str) -> bool:
        kind, rid = self._split(entity)
        if kind == "draft":
            return self.get(entity) is not None
        return rid in self.table_of(kind)

    # -- replay and undo -------------------------------------------------------------------------
    def apply_change(self, change: Change, *, record: bool = True) -> None:
        """Re-apply a recorded change's ``after`` state (rebuilding a world from a journal).

        create/update/write/send set ``after``; delete removes the entity; move removes
        ``before["path"]`` and creates ``after["path"]``; read does nothing. With ``record`` the
        change is appended to this journal (renumbered), so journals replay to equal journals.
        """
        self._put_state(change.kind, change.op, change.entity_id, change.before, change.after)
        if record:
            self.journal.append(replace(change, seq=len(self.journal)))

    def undo(self, change: Change) -> Change:
        """Restore the ``before`` state of a reversible change; returns the inverse change recorded.

        Raises ``Conflict`` for an irreversible change, or when the entity has changed since (undo
        later changes first, newest first).
        """
        if not change.reversible:
            raise Conflict(f"{change.op} of {change.entity} cannot be undone: it is irreversible")
        table = self.table_of(change.kind)
        key = KIND_TABLES[change.kind][2]
        if change.after is not None:
            current = table.get(change.after[key])
            if current != change.after:
                raise Conflict(f"{change.entity} has changed since this change; undo later changes first")
        if change.before is not None and change.op in ("delete", "move"):
            if change.before[key] in table:
                raise Conflict(f"{change.kind}:{change.before[key]} exists again; "
                               "undo later changes first")
        return self._restore(change)

    def _restore(self, change: Change, *, record: bool = True) -> Change:
        """Put back ``change.before`` without checks, even for irreversible changes (a rollback)."""
        inverse = change.inverse()
        self._put_state(inverse.kind, inverse.op, inverse.entity_id, inverse.before, inverse.after)
        if record:
            inverse = replace(inverse, seq=len(self.journal), at=self.clock.tick().isoformat())
            self.journal.append(inverse)
        return inverse

    def _put_state(self, kind: str, op: str, entity_id: str, before: dict | None,
                   after: dict | None) -> None:
        table = self.table_of(kind)
        key = KIND_TABLES[kind][2]
        if op == "read":
            return
        if op == "move":
            if before is None or after is None:
                raise InvalidInput(f"a move of {kind}:{entity_id} needs both before and after")
            if before[key] in table:
                table.delete(before[key])
            table.put(after[key], after)
        elif op == "delete":
            if entity_id not in table:
                raise Conflict(f"cannot delete {kind}:{entity_id}: it does not exist in this world")
            table.delete(entity_id)
        else:
            if after is None:
                raise InvalidInput(f"a {op} of {kind}:{entity_id} needs an 'after' record")
            table.put(after[key], after)

    def __repr__(self) -> str:
        return (f"World(seed={self.seed}, accounts={len(self.crm.accounts)}, "
                f"messages={len(self.mail.messages)}, files={len(self.files.files)}, "
                f"changes={len(self.journal)})")
