"""The CRM fake: search, reads, validated updates, notes and deletes."""

from __future__ import annotations

import pytest

from fakes import InvalidInput, NotFound, build_world

RECORDS = {
    "crm": {
        "max_discount_pct": 15,
        "accounts": [{"id": "acme-east", "name": "Acme East", "domain": "acme.com"}],
        "contacts": [{"id": "ana", "account_id": "acme-east", "name": "Ana Lopez", "email": "ana@acme.com"}],
        "deals": [{"id": "acme-renewal", "account_id": "acme-east", "name": "Acme renewal", "amount": 120000,
                   "stage": "renewal", "discount_pct": 5, "close_date": "2026-03-31"}],
    }
}


@pytest.fixture
def world():
    return build_world(11, counts={"accounts": 5, "contacts": 5, "deals": 5, "notes": 2, "messages": 0,
                                   "files": 0}, records=RECORDS)


def test_search_is_case_insensitive_on_names_emails_domains(world):
    crm = world.crm
    assert [r["id"] for r in crm.search("ACME EAST", kind="account")] == ["acme-east"]
    assert [r["id"] for r in crm.search("ana@ACME", kind="contact")] == ["ana"]
    by_domain = crm.search("acme.com")
    assert {(r["kind"], r["id"]) for r in by_domain} >= {("account", "acme-east"), ("contact", "ana")}
    deal = crm.search("acme renewal", kind="deals")[0]
    assert deal == {"id": "acme-renewal", "kind": "deal", "name": "Acme renewal", "account_id": "acme-east",
                    "amount": 120000.0, "currency": "USD", "stage": "renewal", "discount_pct": 5.0,
                    "close_date": "2026-03-31"}
    assert crm.search("no such thing anywhere") == []
    assert len(crm.search("", limit=3)) == 3


@pytest.mark.parametrize("kwargs", [{"kind": "widget"}, {"limit": 0}, {"limit": 1000}, {"limit": True}])
def test_search_rejects_bad_arguments(world, kwargs):
    with pytest.raises(InvalidInput):
        world.crm.search("a", **kwargs)


def test_get_and_not_found_message(world):
    assert world.crm.get("deal", "acme-renewal")["amount"] == 120000.0
    with pytest.raises(NotFound) as err:
        world.crm.get("deal", "deal-0099")
    assert err.value.message == "no deal with id 'deal-0099'; use crm_search to find deals"
    with pytest.raises(InvalidInput):
        world.crm.get("planet", "x")


def test_update_deal_records_full_before_and_after(world):
    before = world.crm.get("deal", "acme-renewal")
    after = world.crm.update_deal("acme-renewal", discount_pct=12, stage="negotiation")
    assert after == {**before, "discount_pct": 12.0, "stage": "negotiation"}
    [change] = world.journal.all()
    assert (change.backend, change.op, change.kind, change.entity, change.reversible) == (
        "crm", "update", "deal", "deal:acme-renewal", True)
    assert change.before == before and change.after == after
    assert change.at == "2026-01-05T09:00:30+00:00"
    assert world.version_of("deal:acme-renewal") == 1
    assert world.crm.get("deal", "acme-renewal") == after


def test_update_deal_accepts_discount_above_policy(world):
    """The policy is for the gateway and scorers; the CRM itself accepts 0..100 like a real one."""
    assert world.crm.max_discount_pct == 15
    assert world.crm.update_deal("acme-renewal", discount_pct=40)["discount_pct"] == 40.0


@pytest.mark.parametrize("fields, fragment", [
    ({}, "nothing to update"),
    ({"discount": 10}, "unknown deal field"),
    ({"name": "x"}, "unknown deal field"),
    ({"discount_pct": 101}, "between 0 and 100"),
    ({"discount_pct": -1}, "between 0 and 100"),
    ({"discount_pct": "10"}, "must be a number"),
    ({"discount_pct": float("nan")}, "must be a number"),
    ({"amount": -5}, "at least 0"),
    ({"amount": True}, "must be a number"),
    ({"stage": "won"}, "unknown stage"),
    ({"close_date": "31/03/2026"}, "YYYY-MM-DD"),
    ({"close_date": "2026-02-30"}, "not a real calendar date"),
    ({"owner": ""}, "must not be empty"),
])
def test_update_deal_validation_changes_nothing(world, fields, fragment):
    digest = world.digest()
    with pytest.raises(InvalidInput) as err:
        world.crm.update_deal("acme-renewal", **fields)
    assert fragment in err.value.message
    assert world.digest() == digest and len(world.journal) == 0
    assert world.clock.now() == world.clock.start


def test_update_unknown_deal_is_not_found(world):
    with pytest.raises(NotFound):
        world.crm.update_deal("deal-99999", amount=1)


def test_update_contact(world):
    updated = world.crm.update_contact("ana", title="CFO", email="ana.lopez@acme.com", phone="+1 555 0100")
    assert updated["title"] == "CFO" and updated["email"] == "ana.lopez@acme.com"
    for bad in ({"email": "not-an-email"}, {"phone": "call me"}, {"name": " "}, {"amount": 3}):
        with pytest.raises(InvalidInput):
            world.crm.update_contact("ana", **bad)
    assert len(world.journal) == 1


def test_create_note_ids_come_from_a_world_counter(world):
    fork = world.fork()
    note = world.crm.create_note("deal:acme-renewal", "Customer asked for 12%.")
    assert note["id"] == "note-r0001" and note["author"] == "agent"
    assert note["created"] == world.journal[0].at
    assert world.crm.create_note("account:acme-east", "Second")["id"] == "note-r0002"
    assert fork.crm.create_note("deal:acme-renewal", "In the fork")["id"] == "note-r0001"
    change = world.journal[0]
    assert (change.op, change.kind, change.before, change.reversible) == ("create", "note", None, True)


@pytest.mark.parametrize("entity", ["deal:nope", "dealacme", "note:note-00001", "planet:x", 5])
def test_create_note_needs_an_existing_entity(world, entity):
    with pytest.raises((InvalidInput, NotFound)):
        world.crm.create_note(entity, "body")


def test_create_note_needs_a_body(world):
    with pytest.raises(InvalidInput):
        world.crm.create_note("deal:acme-renewal", "  ")


def test_delete_is_irreversible_and_does_not_cascade(world):
    result = world.crm.delete_record("account", "acme-east")
    assert result["deleted"] == "account:acme-east"
    assert not world.exists("account:acme-east")
    assert world.exists("deal:acme-renewal") and world.exists("contact:ana")
    [change] = world.journal.all()
    assert (change.op, change.reversible, change.after) == ("delete", False, None)
    assert change.before["name"] == "Acme East"
    with pytest.raises(NotFound):
        world.crm.delete_record("account", "acme-east")
