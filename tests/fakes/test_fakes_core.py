"""Errors, clock, journal and the copy-on-write table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fakes import Change, Conflict, FakeError, InvalidInput, Journal, NotFound, PermissionDenied, SimClock
from fakes.table import Table


@pytest.mark.parametrize("cls, code", [(NotFound, "not_found"), (InvalidInput, "invalid_input"),
                                       (PermissionDenied, "permission_denied"), (Conflict, "conflict")])
def test_errors_carry_code_and_message(cls, code):
    err = cls("no deal with id 'deal-0099'; use crm_search to find deals")
    assert isinstance(err, FakeError)
    assert err.code == code
    message = "no deal with id 'deal-0099'; use crm_search to find deals"
    assert err.to_dict() == {"error": code, "message": message}
    assert str(err) == err.message


def test_errors_pickle():
    import pickle

    err = pickle.loads(pickle.dumps(NotFound("gone")))
    assert isinstance(err, NotFound) and err.message == "gone"


def test_clock_moves_only_on_tick():
    clock = SimClock()
    assert clock.now() == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert clock.now() == clock.now()
    assert clock.tick() == datetime(2026, 1, 5, 9, 0, 30, tzinfo=UTC)
    twin = clock.copy()
    clock.tick()
    assert twin.now() == datetime(2026, 1, 5, 9, 0, 30, tzinfo=UTC)
    clock.reset()
    assert clock.now() == clock.start


def test_clock_refuses_naive_start_and_bad_step():
    with pytest.raises(ValueError):
        SimClock(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        SimClock(step=timedelta(0))


def _change(seq=0, **kw):
    fields = dict(backend="crm", op="update", kind="deal", entity_id="deal-1",
                  before={"id": "deal-1", "a": 1},
                  after={"id": "deal-1", "a": 2}, reversible=True)
    fields.update(kw)
    return Change(seq=seq, **fields)


def test_change_entity_dict_roundtrip_and_frozen():
    change = _change(recipients=("a@x.com",), external=True, at="2026-01-05T09:00:30+00:00")
    assert change.entity == "deal:deal-1"
    data = change.to_dict()
    assert data["entity"] == "deal:deal-1" and data["recipients"] == ["a@x.com"]
    data["before"]["a"] = 99  # to_dict hands out copies
    assert change.before == {"id": "deal-1", "a": 1}
    assert Change.from_dict(change.to_dict()) == change
    with pytest.raises(AttributeError):
        change.op = "delete"  # type: ignore[misc]


def test_change_inverse():
    inv = _change().inverse()
    assert (inv.op, inv.before, inv.after, inv.reversible) == ("update", {"id": "deal-1", "a": 2},
                                                                {"id": "deal-1", "a": 1}, True)
    assert _change(op="create", before=None).inverse().op == "delete"
    assert _change(op="delete", after=None, reversible=False).inverse().op == "create"
    move = _change(backend="files", op="move", kind="file", entity_id="/a", before={"path": "/a"},
                   after={"path": "/b"}).inverse()
    assert (move.entity_id, move.before, move.after) == ("/b", {"path": "/b"}, {"path": "/a"})


def test_journal_since_copy_clear():
    journal = Journal()
    first = journal.record(backend="crm", op="create", kind="note", entity_id="n1", before=None,
                           after={"id": "n1"}, reversible=True)
    mark = len(journal)
    second = journal.record(backend="crm", op="delete", kind="note", entity_id="n1", before={"id": "n1"},
                            after=None, reversible=False)
    assert (first.seq, second.seq) == (0, 1)
    assert journal.since(mark) == [second]
    assert journal.all() == [first, second]
    twin = journal.copy()
    journal.clear()
    assert len(journal) == 0 and len(twin) == 2


def test_table_reads_are_copies():
    table = Table({"a": {"id": "a", "tags": ["x"]}})
    got = table.get("a")
    got["tags"].append("y")
    got["id"] = "zzz"
    assert table.get("a") == {"id": "a", "tags": ["x"]}
    assert table.get("missing") is None
    assert "a" in table and "missing" not in table


def test_table_fork_isolation_reset_and_versions():
    base = {f"r{i}": {"id": f"r{i}", "n": i} for i in range(5)}
    frozen = {k: dict(v) for k, v in base.items()}
    table = Table(base)
    table.put("r1", {"id": "r1", "n": 100})
    table.delete("r2")
    table.put("new", {"id": "new", "n": -1})
    assert len(table) == 5 and sorted(table.ids()) == ["new", "r0", "r1", "r3", "r4"]
    assert (table.version("r1"), table.version("r2"), table.version("r0")) == (1, 1, 0)

    fork = table.fork()
    fork.put("r0", {"id": "r0", "n": 7})
    fork.delete("new")
    assert table.get("r0") == {"id": "r0", "n": 0} and "new" in table
    assert fork.get("r1") == {"id": "r1", "n": 100} and "r2" not in fork

    table.reset()
    assert base == frozen, "the shared base must never be mutated"
    assert sorted(table.ids()) == sorted(base) and table.version("r1") == 0
    assert fork.get("r0") == {"id": "r0", "n": 7}, "resetting one table leaves its forks alone"


def test_table_overlay_is_canonical():
    """Putting a record back to its base value leaves the overlay, so state decides the digest."""
    table = Table({"a": {"id": "a", "n": 1}})
    table.put("a", {"id": "a", "n": 2})
    table.put("a", {"id": "a", "n": 1})
    assert not table.changed and table.version("a") == 2
    table.delete("a")
    table.put("a", {"id": "a", "n": 1})
    assert not table.changed


def test_table_delete_missing_raises_keyerror():
    with pytest.raises(KeyError):
        Table({}).delete("nope")


def test_table_find_and_prefix():
    table = Table({"/a/x": {"path": "/a/x"}, "/a/y": {"path": "/a/y"}, "/b/z": {"path": "/b/z"}},
                  text_of=lambda r: r["path"])
    table.put("/a/new", {"path": "/a/new"})
    table.delete("/a/x")
    assert sorted(table.ids_with_prefix("/a/")) == ["/a/new", "/a/y"]
    assert [r["path"] for r in table.find("/a/")] == ["/a/y", "/a/new"]
    table.put("/b/z", {"path": "/b/z-renamed-in-place"})
    assert [r["path"] for r in table.find("renamed")] == ["/b/z-renamed-in-place"]


def test_table_find_keeps_store_order_across_changes():
    base = {f"r{i}": {"id": f"r{i}", "name": f"match {i}" if i % 2 else "other"} for i in range(8)}
    table = Table(base, text_of=lambda r: r["name"].lower())
    assert [r["id"] for r in table.find("match")] == ["r1", "r3", "r5", "r7"]
    table.put("r2", {"id": "r2", "name": "now a MATCH"})
    table.put("r3", {"id": "r3", "name": "no longer"})
    table.delete("r5")
    table.put("zz", {"id": "zz", "name": "match\nacross lines"})
    assert [r["id"] for r in table.find("match")] == ["r1", "r2", "r7", "zz"]
    assert [r["id"] for r in table.find("match across")] == ["zz"], "newlines count as spaces"
    assert [r["id"] for r in table.find("")] == [r for r in table.ids()]
    fork = table.fork()
    fork.put("r0", {"id": "r0", "name": "match 0"})
    assert [r["id"] for r in fork.find("match")][:2] == ["r0", "r1"]
    assert [r["id"] for r in table.find("match")][0] == "r1"
