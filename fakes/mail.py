"""The mail fake: mailboxes, messages, drafts and sending, with an organisation domain.

Delivery is not simulated: a sent message lives in the sender's "sent" folder only. What matters for
trust is who it went to, which each send records (``Change.recipients``, ``Change.external``).
"""

from __future__ import annotations

from typing import Any

from fakes import addresses
from fakes._backend import Backend
from fakes._checks import check_id, check_limit, check_text
from fakes.clock import SimClock
from fakes.errors import InvalidInput, NotFound
from fakes.journal import Journal
from fakes.table import Table

FOLDERS = ("inbox", "sent", "drafts")
SUMMARY_KEYS = ("id", "from", "to", "subject", "date", "folder", "read")
_MAX_RECIPIENTS = 100


def _message_text(r: dict) -> str:
    return " ".join((r["subject"], r["from"], " ".join(r["to"]), " ".join(r["cc"]), r["body"])).lower()


def _mailbox_text(r: dict) -> str:
    return f"{r['address']} {r['name']}".lower()


class Mail(Backend):
    """Messages in mailboxes; ``domains`` are the organisation's (everything else is external)."""

    NAME = "mail"
    TABLES = ("mailboxes", "messages")

    def __init__(self, mailboxes: dict[str, dict] | None = None, messages: dict[str, dict] | None = None,
                 *, domains: tuple[str, ...] | list[str] = ("example.com",),
                 default_sender: str = "agent@example.com", clock: SimClock | None = None,
                 journal: Journal | None = None):
        super().__init__(clock, journal)
        self.domains = tuple(d.strip().lower().rstrip(".") for d in domains)
        if not addresses.is_valid_address(default_sender):
            raise ValueError(f"default_sender {default_sender!r} is not a valid address")
        self.default_sender = default_sender.lower()
        self.mailboxes = Table(mailboxes, text_of=_mailbox_text)
        self.messages = Table(messages, text_of=_message_text)

    def is_internal(self, address: str) -> bool:
        """True for the org's domains and their subdomains; lookalikes (``example.co``) are external."""
        return addresses.is_internal(address, self.domains)

    # -- reads -----------------------------------------------------------------------------------
    def search(self, query: str, folder: str | None = None, limit: int = 20) -> list[dict]:
        """Case-insensitive substring search on subject, sender, recipients and body.

        Returns summaries ``{id, from, to, subject, date, folder, read}`` in store order.
        """
        needle = check_text("query", query, allow_empty=True, max_len=500).strip().lower()
        limit = check_limit(limit)
        if folder is not None and folder not in FOLDERS:
            raise InvalidInput(f"unknown folder {folder!r}; use one of {', '.join(FOLDERS)}")
        out: list[dict] = []
        for message in self.messages.find(needle):
            if folder is None or message["folder"] == folder:
                out.append({k: message[k] for k in SUMMARY_KEYS})
                if len(out) >= limit:
                    break
        return out

    def get(self, id: str) -> dict:
        """The full message without side effects (``read`` is what an agent calls)."""
        message = self.messages.get(check_id(id))
        if message is None:
            raise NotFound(f"no message with id {id!r}; use mail_search to find messages")
        return message

    def read(self, id: str) -> dict:
        """The full message. Reading an unread message marks it read (a benign, reversible change)."""
        message = self.get(id)
        if not message["read"]:
            at = self._tick()
            after = {**message, "read": True}
            self.messages.put(id, after)
            self._log("update", "message", id, message, dict(after), reversible=True, benign=True, at=at)
            return after
        return message

    # -- writes ----------------------------------------------------------------------------------
    def draft(self, to: list[str], subject: str, body: str, cc: list[str] | None = None,
              attachments: list[str] | None = None, reply_to: str | None = None) -> dict:
        """Save a draft in the sender's "drafts" folder; nothing leaves. ``to`` may be empty."""
        fields = self._compose(to, subject, body, cc, attachments, reply_to, need_recipient=False)
        at = self._tick()
        message = self._message(fields, folder="drafts", at=at)
        self.messages.put(message["id"], message)
        self._log("create", "draft", message["id"], None, dict(message), reversible=True, at=at)
        return message

    def send(self, to: list[str], subject: str, body: str, cc: list[str] | None = None,
             attachments: list[str] | None = None, reply_to: str | None = None,
             draft_id: str | None = None) -> dict:
        """Send from ``default_sender``: irreversible, and external when any recipient is outside.

        With ``draft_id`` the draft is removed as part of sending (recorded as a benign delete).
        """
        fields = self._compose(to, subject, body, cc, attachments, reply_to, need_recipient=True)
        draft = None
        if draft_id is not None:
            draft = self.messages.get(check_id(draft_id))
            if draft is None or draft["folder"] != "drafts":
                raise NotFound(f"no draft with id {draft_id!r}; use mail_search with folder='drafts'")
        at = self._tick()
        message = self._message(fields, folder="sent", at=at)
        self.messages.put(message["id"], message)
        recipients = tuple(dict.fromkeys(a.lower() for a in (*message["to"], *message["cc"])))
        external = any(not self.is_internal(a) for a in recipients)
        self._log("send", "message", message["id"], None, dict(message), reversible=False,
                  external=external, recipients=recipients, at=at)
        if draft is not None:
            self.messages.delete(draft["id"])
            self._log("delete", "draft", draft["id"], draft, None, reversible=True, benign=True, at=at)
        return message

    def _compose(self, to: Any, subject: Any, body: Any, cc: Any, attachments: Any, reply_to: Any,
                 *, need_recipient: bool) -> dict:
        to_list = _address_list("to", to)
        cc_list = _address_list("cc", cc)
        if need_recipient and not to_list:
            raise InvalidInput("a message needs at least one recipient in 'to'")
        if len(to_list) + len(cc_list) > _MAX_RECIPIENTS:
            raise InvalidInput(f"too many recipients; the limit is {_MAX_RECIPIENTS}")
        attach = _string_list("attachments", attachments)
        thread_id = None
        if reply_to is not None:
            thread_id = self.get(reply_to)["thread_id"]
        return {"to": to_list, "cc": cc_list, "subject": check_text("subject", subject, allow_empty=True,
                                                                     max_len=500),
                "body": check_text("body", body, allow_empty=True, max_len=100_000),
                "attachments": attach, "thread_id": thread_id}

    def _message(self, fields: dict, *, folder: str, at: str) -> dict:
        rid = self._next_id("msg", self.messages)
        thread_id = fields["thread_id"] or f"thr-{rid}"
        return {"id": rid, "mailbox": self.default_sender, "folder": folder, "from": self.default_sender,
                "to": fields["to"], "cc": fields["cc"], "subject": fields["subject"], "body": fields["body"],
                "thread_id": thread_id, "attachments": fields["attachments"], "date": at, "read": True}


def _string_list(field: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise InvalidInput(f"{field} must be a list of non-empty strings, got {value!r}")
    return list(value)


def _address_list(field: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    values = _string_list(field, value)
    for address in values:
        if not addresses.is_valid_address(address):
            raise InvalidInput(f"{field} contains {address!r}, which is not a valid email address; "
                               "write bare addresses like 'ana@acme.com', one per list item")
    return values
