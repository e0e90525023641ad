"""The mail fake: internal vs external, sending, drafts, reading."""

from __future__ import annotations

import pytest

from fakes import InvalidInput, Mail, NotFound, build_world

RECORDS = {
    "mail": {
        "domains": ["example.com"],
        "default_sender": "agent@example.com",
        "messages": [
            {"id": "in-1", "from": "ana@acme.com", "to": ["agent@example.com"], "subject": "Discount request",
             "body": "Could we get 12% on the renewal?", "thread_id": "thr-acme"},
            {"id": "draft-1", "folder": "drafts", "to": ["ana@acme.com"], "subject": "Re: Discount request"},
        ],
    }
}


@pytest.fixture
def world():
    return build_world(5, counts={"accounts": 3, "contacts": 3, "deals": 0, "notes": 0, "messages": 6,
                                  "files": 0}, records=RECORDS)


@pytest.mark.parametrize("address, internal", [
    ("bob@example.com", True),
    ("Bob@EXAMPLE.COM", True),
    ("bob@sales.example.com", True),
    ("bob@example.co", False),
    ("bob@example.com.evil.io", False),
    ("bob@badexample.com", False),
    ("bob@example.comm", False),
    ("bob@xexample.com", False),
    ("example.com", False),
    ("", False),
])
def test_is_internal(address, internal):
    assert Mail(domains=("example.com",)).is_internal(address) is internal


def test_is_internal_with_several_domains():
    mail = Mail(domains=("Example.com", "corp.example.org"), default_sender="agent@example.com")
    assert mail.is_internal("a@corp.example.org") and mail.is_internal("a@eu.corp.example.org")
    assert not mail.is_internal("a@example.org")


def test_send_external_records_recipients(world):
    sent = world.mail.send(["Ana@Acme.com"], "Re: Discount request", "12% approved.",
                           cc=["boss@example.com", "ana@acme.com"], reply_to="in-1")
    assert (sent["folder"], sent["from"], sent["thread_id"]) == ("sent", "agent@example.com", "thr-acme")
    assert sent["id"] == "msg-r0001"
    [change] = world.journal.all()
    assert (change.op, change.kind, change.reversible, change.external) == ("send", "message", False, True)
    assert change.recipients == ("ana@acme.com", "boss@example.com")
    assert world.get(f"message:{sent['id']}") == sent


def test_send_internal_only_is_not_external(world):
    world.mail.send(["boss@example.com"], "hi", "internal", cc=["team@eu.example.com"])
    assert world.journal[0].external is False


def test_lookalike_domain_counts_as_external(world):
    world.mail.send(["boss@example.com.evil.io"], "hi", "x")
    assert world.journal[0].external is True


@pytest.mark.parametrize("kwargs, fragment", [
    ({"to": []}, "at least one recipient"),
    ({"to": ["not an address"]}, "not a valid email address"),
    ({"to": ["Ana <ana@acme.com>"]}, "not a valid email address"),
    ({"to": ["ana@acme"]}, "not a valid email address"),
    ({"to": ["ana@@acme.com"]}, "not a valid email address"),
    ({"to": ["ana@acme.com"], "cc": ["bad"]}, "not a valid email address"),
    ({"to": [5]}, "list of non-empty strings"),
    ({"to": ["ana@acme.com"], "subject": None}, "subject must be a string"),
    ({"to": ["ana@acme.com"], "attachments": "file.pdf"}, "attachments must be a list"),
])
def test_send_validation_changes_nothing(world, kwargs, fragment):
    args = {"subject": "s", "body": "b", **kwargs}
    digest = world.digest()
    with pytest.raises(InvalidInput) as err:
        world.mail.send(**args)
    assert fragment in err.value.message
    assert world.digest() == digest and len(world.journal) == 0


def test_reply_to_unknown_message_is_not_found(world):
    with pytest.raises(NotFound):
        world.mail.send(["ana@acme.com"], "s", "b", reply_to="msg-nope")
    with pytest.raises(NotFound):
        world.mail.draft(["ana@acme.com"], "s", "b", reply_to="msg-nope")


def test_draft_then_send_removes_the_draft(world):
    draft = world.mail.draft(["ana@acme.com"], "Offer", "Draft text", reply_to="in-1")
    assert draft["folder"] == "drafts" and draft["thread_id"] == "thr-acme"
    assert world.exists(f"draft:{draft['id']}") and not world.exists("draft:in-1")
    create = world.journal[0]
    assert (create.op, create.kind, create.reversible, create.external) == ("create", "draft", True, False)

    sent = world.mail.send(["ana@acme.com"], "Offer", "Final text", draft_id=draft["id"])
    assert not world.exists(f"message:{draft['id']}")
    send, removal = world.journal.since(1)
    assert (send.op, send.entity_id) == ("send", sent["id"])
    assert (removal.op, removal.kind, removal.entity_id, removal.benign) == (
        "delete", "draft", draft["id"], True)


def test_send_with_unknown_or_non_draft_id_fails(world):
    for bad in ("nope", "in-1"):
        with pytest.raises(NotFound):
            world.mail.send(["ana@acme.com"], "s", "b", draft_id=bad)
    assert len(world.journal) == 0


def test_draft_may_have_no_recipient_yet(world):
    assert world.mail.draft([], "later", "")["to"] == []


def test_read_marks_unread_as_read_once_with_a_benign_change(world):
    message = world.mail.read("in-1")
    assert message["read"] is True and message["body"].startswith("Could we")
    [change] = world.journal.all()
    assert (change.op, change.kind, change.benign, change.reversible) == ("update", "message", True, True)
    assert change.before["read"] is False and change.after["read"] is True
    world.mail.read("in-1")
    assert len(world.journal) == 1, "reading a read message changes nothing"
    with pytest.raises(NotFound) as err:
        world.mail.read("msg-nope")
    assert "mail_search" in err.value.message


def test_search_by_folder_and_summary_shape(world):
    hits = world.mail.search("discount request")
    assert {h["id"] for h in hits} == {"in-1", "draft-1"}
    assert set(hits[0]) == {"id", "from", "to", "subject", "date", "folder", "read"}
    assert [h["id"] for h in world.mail.search("discount", folder="drafts")] == ["draft-1"]
    with pytest.raises(InvalidInput):
        world.mail.search("x", folder="spam")


def test_explicit_message_defaults(world):
    draft = world.get("message:draft-1")
    assert (draft["from"], draft["read"], draft["thread_id"]) == ("agent@example.com", True, "thr-draft-1")
    inbox = world.get("message:in-1")
    assert inbox["read"] is False and inbox["mailbox"] == "agent@example.com"
