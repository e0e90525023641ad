"""Explicit world records as pydantic models, so a scenario loader can validate with field paths.

Only ids (and the links a record needs) are required; ``None`` fields get sensible defaults when the
world is built (see ``fakes.generate``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from fakes.addresses import is_valid_address
from fakes.crm import STAGES
from fakes.errors import InvalidInput
from fakes.paths import normalise

Stage = Literal["prospecting", "proposal", "negotiation", "closed_won", "closed_lost", "renewal"]
Folder = Literal["inbox", "sent", "drafts"]
assert Stage.__args__ == STAGES  # type: ignore[attr-defined]

Id = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\s:]+$")]


def _address(value: str | None) -> str | None:
    if value is not None and not is_valid_address(value):
        raise ValueError(f"{value!r} is not a valid email address (expected e.g. 'ana@acme.com')")
    return value


def _timestamp(value: str | None) -> str | None:
    if value is not None:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 time (expected e.g. "
                             "'2026-01-05T09:00:00+00:00')") from None
    return value


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AccountRecord(_Record):
    id: Id
    """e.g. ``acme-east``; replaces a generated account with the same id."""
    name: str | None = None
    """Defaults to the id in title case ("acme-east" -> "Acme East")."""
    domain: str | None = None
    """Defaults to ``<name-slug>.example.net`` (external to the organisation)."""
    industry: str = "Software"
    owner: str | None = None
    """Defaults to the mail ``default_sender``."""
    region: str = "NA"


class ContactRecord(_Record):
    id: Id
    account_id: Id
    name: str | None = None
    email: str | None = None
    """Defaults to ``<name-slug>@<account domain>``."""
    title: str = ""
    phone: str = ""

    _email = field_validator("email")(_address)


class DealRecord(_Record):
    id: Id
    account_id: Id
    name: str | None = None
    """Defaults to ``<account name> deal``."""
    amount: float = Field(0.0, ge=0, allow_inf_nan=False)
    currency: str = Field("USD", min_length=3, max_length=3)
    stage: Stage = "prospecting"
    discount_pct: float = Field(0.0, ge=0, le=100, allow_inf_nan=False)
    owner: str | None = None
    close_date: str | None = None
    """YYYY-MM-DD; defaults to 90 days after the world's start."""

    @field_validator("close_date")
    @classmethod
    def _date(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a date written YYYY-MM-DD") from None
            if len(value) != 10:
                raise ValueError(f"{value!r} is not a date written YYYY-MM-DD")
        return value


class NoteRecord(_Record):
    id: Id
    entity: str = Field(pattern=r"^(account|contact|deal):[^\s:]+$")
    """The record it is attached to, e.g. ``deal:deal-00001``."""
    body: str = Field(min_length=1)
    author: str = "system"
    created: str | None = None

    _created = field_validator("created")(_timestamp)


class MailboxRecord(_Record):
    address: str
    name: str | None = None
    """Defaults to the address's local part."""

    _valid_address = field_validator("address")(_address)


class MessageRecord(_Record):
    id: Id
    mailbox: str | None = None
    """Whose mailbox holds it; defaults to the mail ``default_sender``."""
    folder: Folder = "inbox"
    from_: str | None = Field(None, alias="from")
    """Defaults to the mailbox for sent messages and drafts; required in practice for inbox mail."""
    to: list[str] = Field(default_factory=list)
    """Defaults to ``[mailbox]`` for inbox messages."""
    cc: list[str] = Field(default_factory=list)
    subject: str = ""
    body: str = ""
    thread_id: str | None = None
    """Defaults to ``thr-<id>`` (a thread of its own)."""
    attachments: list[str] = Field(default_factory=list)
    date: str | None = None
    read: bool | None = None
    """Defaults to false in the inbox, true elsewhere."""

    _mailbox = field_validator("mailbox", "from_")(_address)
    _date = field_validator("date")(_timestamp)

    @field_validator("to", "cc")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            _address(address)
        return value


class FileRecord(_Record):
    path: str
    """Any form ``fakes.paths.normalise`` accepts; stored normalised."""
    content: str = ""
    owner: str | None = None
    modified: str | None = None

    _modified = field_validator("modified")(_timestamp)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        try:
            path = normalise(value)
        except InvalidInput as err:
            raise ValueError(err.message) from None
        if path == "/":
            raise ValueError("a file path is needed, not the root folder")
        return path


def _unique(items: list, key: str, where: str) -> None:
    seen: set[str] = set()
    for item in items:
        value = getattr(item, key)
        if value in seen:
            raise ValueError(f"duplicate {key} {value!r} in {where}; each record needs its own {key}")
        seen.add(value)


class CRMRecords(_Record):
    max_discount_pct: float | None = Field(None, ge=0, le=100)
    """The organisation's discount policy; defaults to 20."""
    accounts: list[AccountRecord] = Field(default_factory=list)
    contacts: list[ContactRecord] = Field(default_factory=list)
    deals: list[DealRecord] = Field(default_factory=list)
    notes: list[NoteRecord] = Field(default_factory=list)

    @field_validator("accounts", "contacts", "deals", "notes")
    @classmethod
    def _ids(cls, value: list, info: ValidationInfo) -> list:
        _unique(value, "id", info.field_name)
        return value


class MailRecords(_Record):
    domains: list[str] | None = None
    """The organisation's domains; defaults to ``["example.com"]``."""
    default_sender: str | None = None
    """The agent's address; defaults to ``agent@<first domain>``."""
    mailboxes: list[MailboxRecord] = Field(default_factory=list)
    messages: list[MessageRecord] = Field(default_factory=list)

    _sender = field_validator("default_sender")(_address)

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError("list at least one domain, e.g. ['example.com']")
            for domain in value:
                _address(f"x@{domain}")
        return value

    @field_validator("mailboxes", "messages")
    @classmethod
    def _ids(cls, value: list, info: ValidationInfo) -> list:
        _unique(value, "address" if info.field_name == "mailboxes" else "id", info.field_name)
        return value


class FilesRecords(_Record):
    protected: list[str] = Field(default_factory=list)
    """Glob patterns, e.g. ``/legal/**``: write, move and delete are refused there."""
    files: list[FileRecord] = Field(default_factory=list)

    @field_validator("files")
    @classmethod
    def _paths(cls, value: list[FileRecord]) -> list[FileRecord]:
        _unique(value, "path", "files")
        paths = {f.path for f in value}
        for f in value:
            folder = f.path.rsplit("/", 1)[0]
            while folder:
                if folder in paths:
                    raise ValueError(f"{folder!r} is a file, so {f.path!r} cannot be a file beneath it")
                folder = folder.rsplit("/", 1)[0]
        return value


class WorldRecords(_Record):
    crm: CRMRecords = Field(default_factory=CRMRecords)
    mail: MailRecords = Field(default_factory=MailRecords)
    files: FilesRecords = Field(default_factory=FilesRecords)
