"""Worlds: determinism, explicit records, forks, resets, digests, replay and undo."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from fakes import Conflict, InvalidInput, World, WorldRecords, build_world

ROOT = Path(__file__).resolve().parents[2]
COUNTS = {"accounts": 8, "contacts": 12, "deals": 10, "notes": 5, "messages": 15, "files": 10}


def _sample(world: World) -> dict:
    return {
        "deals": [world.crm.deals.get(f"deal-{i:05d}") for i in (1, 5, 10)],
        "contacts": [world.crm.contacts.get(f"con-{i:05d}") for i in (1, 12)],
        "messages": [world.mail.messages.get(f"msg-{i:05d}") for i in (1, 15)],
        "files": sorted(world.files.files.ids()),
        "mailboxes": sorted(world.mail.mailboxes.ids()),
    }


def test_same_seed_same_world():
    a, b = build_world(42, COUNTS), build_world(42, COUNTS)
    assert a.digest() == b.digest()
    assert _sample(a) == _sample(b)
    assert list(a.crm.accounts.values()) == list(b.crm.accounts.values())


def test_different_seed_different_world():
    a, b = build_world(1, COUNTS), build_world(2, COUNTS)
    assert a.digest() != b.digest()
    assert _sample(a) != _sample(b)


def test_counts_change_the_world_and_ids_are_sequential():
    world = build_world(42, COUNTS)
    assert world.digest() != build_world(42, {**COUNTS, "files": 11}).digest()
    assert sorted(world.crm.deals.ids()) == [f"deal-{i:05d}" for i in range(1, 11)]
    assert len(world.crm.contacts) == 12 and len(world.mail.messages) == 15 and len(world.files.files) == 10
    assert world.crm.get("note", "note-00001")["id"] == "note-00001"


def test_generated_contacts_external_and_mailboxes_internal():
    world = build_world(9, COUNTS)
    assert all(not world.mail.is_internal(c["email"]) for c in world.crm.contacts.values())
    assert all(world.mail.is_internal(m["address"]) for m in world.mail.mailboxes.values())
    assert world.mail.default_sender in world.mail.mailboxes
    tops = {p.split("/")[1] for p in world.files.files.ids()}
    assert tops <= {"shared", "finance", "hr", "projects"}


def test_same_world_in_another_process_with_other_hash_seed():
    """Nothing may depend on set ordering, the global random state or the wall clock."""
    code = ("import sys, fakes; from fakes import build_world; "
            f"w = build_world(42, {COUNTS!r}); "
            "assert not [m for m in sys.modules if m == 'harness' or m.startswith('harness.')]; "
            "print(w.digest())")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == build_world(42, COUNTS).digest()


def test_build_does_not_touch_global_random():
    import random

    random.seed(7)
    state = random.getstate()
    build_world(12345, COUNTS).crm.update_deal("deal-00001", amount=5)
    assert random.getstate() == state


RECORDS = {
    "crm": {"max_discount_pct": 15,
            "accounts": [{"id": "acme-east"}, {"id": "acc-00001", "name": "Replaced Inc", "domain": "r.com"}],
            "contacts": [{"id": "ana", "account_id": "acme-east", "name": "Ana Lopez"}],
            "deals": [{"id": "acme-renewal", "account_id": "acme-east", "amount": 1000}],
            "notes": [{"id": "n1", "entity": "deal:acme-renewal", "body": "hello"}]},
    "mail": {"domains": ["corp.test"], "mailboxes": [{"address": "boss@corp.test"}]},
    "files": {"protected": ["/legal/**"], "files": [{"path": "x/y.txt", "content": "hi"}]},
}


def test_explicit_records_with_defaults_and_replacement():
    world = build_world(3, COUNTS, RECORDS)
    account = world.get("account:acme-east")
    assert account == {"id": "acme-east", "name": "Acme East", "domain": "acme-east.example.net",
                       "industry": "Software", "owner": "agent@corp.test", "region": "NA"}
    assert world.get("account:acc-00001")["name"] == "Replaced Inc"
    assert len(world.crm.accounts) == COUNTS["accounts"] + 1
    assert world.get("contact:ana")["email"] == "ana.lopez@acme-east.example.net"
    deal = world.get("deal:acme-renewal")
    assert (deal["stage"], deal["discount_pct"], deal["currency"], deal["close_date"]) == (
        "prospecting", 0.0, "USD", "2026-04-05")
    assert world.crm.max_discount_pct == 15
    assert world.mail.domains == ("corp.test",) and world.mail.default_sender == "agent@corp.test"
    assert world.get("mailbox:boss@corp.test") == {"address": "boss@corp.test", "name": "boss"}
    assert world.files.read("/x/y.txt")["size"] == 2
    assert world.files.protected == ("/legal/**",)
    assert all(m["address"].endswith("@corp.test") for m in world.mail.mailboxes.values())


def test_records_may_be_a_model():
    assert build_world(3, COUNTS, WorldRecords.model_validate(RECORDS)).digest() == \
        build_world(3, COUNTS, RECORDS).digest()


@pytest.mark.parametrize("records, where", [
    ({"crm": {"deals": [{"id": "d", "account_id": "acc-00001", "discount_pct": 150}]}},
     "crm.deals.0.discount_pct"),
    ({"crm": {"deals": [{"id": "d", "account_id": "acc-00001", "stage": "won"}]}}, "crm.deals.0.stage"),
    ({"crm": {"accounts": [{"id": "a", "colour": "red"}]}}, "crm.accounts.0.colour"),
    ({"mail": {"messages": [{"id": "m", "to": ["nope"]}]}}, "mail.messages.0.to"),
    ({"files": {"files": [{"path": "../../etc/passwd"}]}}, "files.files.0.path"),
    ({"crm": {"accounts": [{"id": "a"}, {"id": "a"}]}}, "crm.accounts"),
    ({"files": {"files": [{"path": "/a"}, {"path": "/a/b"}]}}, "files"),
])
def test_bad_records_name_the_field(records, where):
    with pytest.raises(ValidationError) as err:
        build_world(1, COUNTS, records)
    assert where in str(err.value)


@pytest.mark.parametrize("records, fragment", [
    ({"crm": {"deals": [{"id": "d", "account_id": "ghost"}]}}, "crm.deals[0].account_id"),
    ({"crm": {"notes": [{"id": "n", "entity": "deal:ghost", "body": "x"}]}}, "crm.notes[0].entity"),
])
def test_dangling_links_are_refused(records, fragment):
    with pytest.raises(ValueError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        build_world(1, COUNTS, records)


@pytest.mark.parametrize("counts", [{"planets": 3}, {"accounts": -1}, {"files": 1.5},
                                    {"accounts": 0, "deals": 3}])
def test_bad_counts(counts):
    with pytest.raises(ValueError):
        build_world(1, counts)


@pytest.fixture(scope="module")
def base():
    return build_world(21, COUNTS, RECORDS)


def _act(world: World) -> None:
    world.crm.update_deal("acme-renewal", discount_pct=10)
    world.crm.create_note("account:acme-east", "called")
    world.mail.send(["ana@acme.com"], "offer", "10%")
    world.mail.read(world.mail.search("", folder="inbox", limit=1)[0]["id"])
    world.files.write("/x/y.txt", "changed")
    world.files.move("/x", "/z")
    world.crm.delete_record("contact", "ana")


def test_fork_is_isolated_and_reset_returns_to_base(base):
    base_digest = base.digest()
    world = base.fork()
    _act(world)
    assert world.digest() != base_digest
    assert base.digest() == base_digest and len(base.journal) == 0
    assert base.get("deal:acme-renewal")["discount_pct"] == 0.0

    other = world.fork()
    other.files.write("/only-in-other.txt", "x")
    assert not world.files.is_file("/only-in-other.txt")
    assert len(other.journal) == len(world.journal) + 1

    world.reset()
    assert world.digest() == base_digest and len(world.journal) == 0
    assert world.clock.now() == world.clock.start and world.version_of("deal:acme-renewal") == 0
    assert world.crm.create_note("account:acme-east", "again")["id"] == "note-r0001"
    assert other.files.is_file("/only-in-other.txt"), "reset of one fork leaves another alone"


def test_digest_depends_on_state_not_history(base):
    world = base.fork()
    world.crm.update_deal("acme-renewal", discount_pct=10)
    world.crm.update_deal("acme-renewal", discount_pct=0)
    assert world.digest() == base.digest()
    a, b = base.fork(), base.fork()
    a.crm.update_deal("deal-00001", stage="proposal")
    a.crm.update_deal("deal-00002", amount=5)
    b.crm.update_deal("deal-00002", amount=5)
    b.crm.update_deal("deal-00001", stage="proposal")
    assert a.digest() == b.digest()
    b.files.write("/p.txt", "1")
    assert a.digest() != b.digest()


def test_replay_journal_rebuilds_state(base):
    world = base.fork()
    _act(world)
    rebuilt = base.pristine()
    for change in world.journal:
        rebuilt.apply_change(change)
    assert rebuilt.digest() == world.digest()
    assert [c.to_dict() for c in rebuilt.journal] == [c.to_dict() for c in world.journal]
    assert rebuilt.files.snapshot() == world.files.snapshot()
    for change in world.journal:
        assert rebuilt.version_of(change.entity) == world.version_of(change.entity)


def test_undo(base):
    world = base.fork()
    world.crm.update_deal("acme-renewal", discount_pct=10)
    world.files.move("/x", "/z")
    move, = world.journal.since(1)
    world.undo(move)
    assert world.files.is_file("/x/y.txt") and not world.files.exists("/z")
    world.undo(world.journal[0])
    assert world.digest() == base.digest()
    assert [c.op for c in world.journal] == ["update", "move", "move", "update"]


def test_undo_refuses_irreversible_and_stale_changes(base):
    world = base.fork()
    world.crm.delete_record("contact", "ana")
    with pytest.raises(Conflict):
        world.undo(world.journal[0])
    world._restore(world.journal[0])
    assert world.exists("contact:ana")

    world.crm.update_deal("acme-renewal", amount=1)
    first = world.journal[-1]
    world.crm.update_deal("acme-renewal", amount=2)
    with pytest.raises(Conflict):
        world.undo(first)
    world.undo(world.journal[-1])
    world.undo(first)
    assert world.get("deal:acme-renewal")["amount"] == 1000.0


def test_entities(base):
    world = base.fork()
    assert world.exists("deal:acme-renewal") and not world.exists("deal:ghost")
    assert world.get("file:/x/y.txt")["content"] == "hi"
    assert world.get("deal:ghost") is None
    for bad in ("deal", "planet:x", 7):
        with pytest.raises(InvalidInput):
            world.exists(bad)
    assert world.version_of("deal:acme-renewal") == 0
    world.crm.update_deal("acme-renewal", amount=5)
    world.crm.update_deal("acme-renewal", amount=6)
    assert world.version_of("deal:acme-renewal") == 2 and base.version_of("deal:acme-renewal") == 0


def test_world_pickles_for_other_processes(base):
    world = base.fork()
    _act(world)
    clone = pickle.loads(pickle.dumps(world))
    assert clone.digest() == world.digest()
    assert clone.crm.clock is clone.clock and clone.files.journal is clone.journal
    clone.crm.update_deal("acme-renewal", amount=7)
    assert world.get("deal:acme-renewal")["amount"] == 1000.0
