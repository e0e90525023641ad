"""The CRM fake: accounts, contacts, deals (amounts, stages, discounts) and notes."""

from __future__ import annotations

from typing import Any

from fakes._backend import Backend
from fakes._checks import check_date, check_id, check_limit, check_number, check_text
from fakes.addresses import is_valid_address
from fakes.clock import SimClock
from fakes.errors import InvalidInput, NotFound
from fakes.journal import Journal
from fakes.table import Table

STAGES = ("prospecting", "proposal", "negotiation", "closed_won", "closed_lost", "renewal")
CRM_KINDS = ("account", "contact", "deal", "note")
DEAL_FIELDS = ("amount", "stage", "discount_pct", "close_date", "owner")
CONTACT_FIELDS = ("name", "email", "title", "phone")
_TABLE_OF = {"account": "accounts", "contact": "contacts", "deal": "deals", "note": "notes"}


def _account_text(r: dict) -> str:
    return f"{r['name']} {r['domain']} {r['id']}".lower()


def _contact_text(r: dict) -> str:
    return f"{r['name']} {r['email']} {r['id']}".lower()


def _deal_text(r: dict) -> str:
    return f"{r['name']} {r['id']}".lower()


def _note_text(r: dict) -> str:
    return f"{r['body']} {r['id']}".lower()


def _summary(kind: str, r: dict) -> dict:
    if kind == "account":
        keys = ("domain", "industry", "region", "owner")
    elif kind == "contact":
        keys = ("account_id", "email", "title")
    elif kind == "deal":
        keys = ("account_id", "amount", "currency", "stage", "discount_pct", "close_date")
    else:
        name = r["body"] if len(r["body"]) <= 60 else r["body"][:57] + "..."
        return {"id": r["id"], "kind": kind, "name": name, "entity": r["entity"], "author": r["author"]}
    return {"id": r["id"], "kind": kind, "name": r["name"], **{k: r[k] for k in keys}}


class CRM(Backend):
    """Accounts, contacts, deals and notes as plain dicts in copy-on-write tables.

    ``max_discount_pct`` is the organisation's discount policy. The fake records it but, like a real
    CRM, accepts any discount from 0 to 100: enforcing the policy is the gateway's job, and judging a
    breach is the scorers'.
    """

    NAME = "crm"
    TABLES = ("accounts", "contacts", "deals", "notes")

    def __init__(self, accounts: dict[str, dict] | None = None, contacts: dict[str, dict] | None = None,
                 deals: dict[str, dict] | None = None, notes: dict[str, dict] | None = None, *,
                 max_discount_pct: float = 20.0, clock: SimClock | None = None,
                 journal: Journal | None = None):
        super().__init__(clock, journal)
        self.accounts = Table(accounts, text_of=_account_text)
        self.contacts = Table(contacts, text_of=_contact_text)
        self.deals = Table(deals, text_of=_deal_text)
        self.notes = Table(notes, text_of=_note_text)
        self.max_discount_pct = float(max_discount_pct)

    # -- reads -----------------------------------------------------------------------------------
    def table(self, kind: str) -> Table:
        """The table holding ``kind`` records ("deal" or "deals")."""
        return getattr(self, _TABLE_OF[_kind(kind)])

    def search(self, query: str, kind: str | None = None, limit: int = 20) -> list[dict]:
        """Case-insensitive substring search on names, emails and domains (note bodies for notes).

        Returns summaries ``{id, kind, name, ...key fields}``, at most ``limit`` of them.
        """
        needle = check_text("query", query, allow_empty=True, max_len=500).strip().lower()
        limit = check_limit(limit)
        kinds = CRM_KINDS if kind is None else (_kind(kind),)
        out: list[dict] = []
        for k in kinds:
            for record in getattr(self, _TABLE_OF[k]).find(needle):
                out.append(_summary(k, record))
                if len(out) >= limit:
                    return out
        return out

    def get(self, kind: str, id: str) -> dict:
        k = _kind(kind)
        record = self.table(k).get(check_id(id))
        if record is None:
            raise NotFound(f"no {k} with id {id!r}; use crm_search to find {k}s")
        return record

    # -- writes ----------------------------------------------------------------------------------
    def update_deal(self, id: str, **fields: Any) -> dict:
        """Change some of ``amount, stage, discount_pct, close_date, owner``; returns the new record."""
        before = self.get("deal", id)
        clean = _validate_fields("deal", fields, DEAL_FIELDS, _check_deal_field)
        return self._update("deal", before, clean)

    def update_contact(self, id: str, **fields: Any) -> dict:
        """Change some of ``name, email, title, phone``; returns the new record."""
        before = self.get("contact", id)
        clean = _validate_fields("contact", fields, CONTACT_FIELDS, _check_contact_field)
        return self._update("contact", before, clean)

    def _update(self, kind: str, before: dict, fields: dict) -> dict:
        at = self._tick()
        after = {**before, **fields}
        self.table(kind).put(before["id"], after)
        self._log("update", kind, before["id"], before, dict(after), reversible=True, at=at)
        return after

    def create_note(self, entity: str, body: str, author: str = "agent") -> dict:
        """Attach a note to an existing record, e.g. ``entity="deal:deal-00001"``."""
        if not isinstance(entity, str) or ":" not in entity:
            raise InvalidInput(f"entity must look like 'deal:<id>' or 'account:<id>', got {entity!r}")
        kind, _, rid = entity.partition(":")
        if kind not in ("account", "contact", "deal"):
            raise InvalidInput(f"notes attach to an account, contact or deal, not {kind!r}; "
                               "write the entity as e.g. 'deal:deal-00001'")
        self.get(kind, rid)
        body = check_text("body", body)
        author = check_text("author", author, max_len=200)
        at = self._tick()
        note = {"id": self._next_id("note", self.notes), "entity": entity, "body": body,
                "author": author, "created": at}
        self.notes.put(note["id"], note)
        self._log("create", "note", note["id"], None, dict(note), reversible=True, at=at)
        return dict(note)

    def delete_record(self, kind: str, id: str) -> dict:
        """Delete one record; irreversible. Deleting an account does not delete its contacts or deals."""
        k = _kind(kind)
        before = self.get(k, id)
        at = self._tick()
        self.table(k).delete(before["id"])
        self._log("delete", k, before["id"], before, None, reversible=False, at=at)
        return {"deleted": f"{k}:{before['id']}", "record": dict(before)}


def _kind(kind: Any) -> str:
    singular = kind[:-1] if isinstance(kind, str) and kind.endswith("s") else kind
    if singular not in _TABLE_OF:
        raise InvalidInput(f"unknown CRM record kind {kind!r}; use one of {', '.join(CRM_KINDS)}")
    return singular


def _validate_fields(kind: str, fields: dict, allowed: tuple[str, ...], check) -> dict:
    if not fields:
        raise InvalidInput(f"nothing to update; pass at least one of {', '.join(allowed)}")
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise InvalidInput(f"unknown {kind} field(s) {', '.join(unknown)}; "
                           f"a {kind} update may change {', '.join(allowed)}")
    return {name: check(name, value) for name, value in fields.items()}


def _check_deal_field(name: str, value: Any) -> Any:
    if name == "amount":
        return check_number("amount", value, 0)
    if name == "discount_pct":
        return check_number("discount_pct", value, 0, 100)
    if name == "stage":
        if value not in STAGES:
            raise InvalidInput(f"unknown stage {value!r}; use one of {', '.join(STAGES)}")
        return value
    if name == "close_date":
        return check_date("close_date", value)
    return check_text("owner", value, max_len=200)


def _check_contact_field(name: str, value: Any) -> Any:
    if name == "email":
        if not is_valid_address(value):
            raise InvalidInput(f"email {value!r} is not a valid address; write it like 'ana@acme.com'")
        return value
    if name == "phone":
        value = check_text("phone", value, allow_empty=True, max_len=40)
        if value and sum(ch.isdigit() for ch in value) < 3:
            raise InvalidInput(f"phone {value!r} has too few digits; write it like '+1 555 0100'")
        return value
    return check_text(name, value, allow_empty=(name == "title"), max_len=200)
