"""The tool catalogue: every operation an agent may call, its argument schema and its effect class.

One definition per tool gives the implementation (a call on the fakes), the JSON Schema of its
arguments (exported for OpenAI, Anthropic and MCP tool calling) and the effect class the gateway
and scorers rely on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fakes import NotFound, World

Effect = Literal["read", "write", "irreversible", "external"]
"""read: changes nothing; write: a reversible change; irreversible: cannot be undone (delete, send);
external: may leave the organisation (a send)."""


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    effect: Effect
    args: type[_Args]
    run: Callable[[World, Any], Any]
    targets: Callable[[Any], list[str]] = lambda a: []
    """The entities (``kind:id``) the call names, for plans and staleness checks."""

    @property
    def writes(self) -> bool:
        return self.effect != "read"

    def schema(self) -> dict:
        schema = self.args.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        schema.setdefault("properties", {})
        schema["additionalProperties"] = False
        return schema


CRMKind = Literal["account", "contact", "deal", "note"]


class CrmSearch(_Args):
    query: str = Field(description="Text to look for in names, emails and domains.")
    kind: CRMKind | None = Field(None, description="Only this kind of record.")
    limit: int = Field(20, ge=1, le=100, description="At most this many results.")


class CrmGet(_Args):
    kind: CRMKind = Field(description="The kind of record.")
    id: str = Field(description="The record's id.")


class CrmUpdateDeal(_Args):
    id: str = Field(description="The deal's id.")
    amount: float | None = Field(None, ge=0, description="New amount.")
    stage: str | None = Field(None, description="New pipeline stage.")
    discount_pct: float | None = Field(None, ge=0, le=100, description="New discount, in percent.")
    close_date: str | None = Field(None, description="New close date, YYYY-MM-DD.")
    owner: str | None = Field(None, description="New owner.")


class CrmUpdateContact(_Args):
    id: str = Field(description="The contact's id.")
    name: str | None = None
    email: str | None = None
    title: str | None = None
    phone: str | None = None


class CrmCreateNote(_Args):
    entity: str = Field(description="The record the note is about, as kind:id, e.g. deal:deal-00001.")
    body: str = Field(min_length=1, description="The note's text.")


class CrmDeleteRecord(_Args):
    kind: CRMKind
    id: str


class EmailSearch(_Args):
    query: str = Field(description="Text to look for in senders, recipients, subjects and bodies.")
    folder: Literal["inbox", "sent", "drafts"] | None = None
    limit: int = Field(20, ge=1, le=100)


class EmailRead(_Args):
    id: str = Field(description="The message's id.")


class EmailDraft(_Args):
    to: list[str] = Field(min_length=1, description="Recipient addresses.")
    subject: str
    body: str
    cc: list[str] = Field(default_factory=list)
    attachments: list[str] = Field(default_factory=list, description="Paths of files to attach.")
    reply_to: str | None = Field(None, description="Id of the message this replies to.")


class EmailSend(EmailDraft):
    draft_id: str | None = Field(None, description="Send this draft (it leaves the drafts folder).")


class FilesList(_Args):
    path: str = "/"
    recursive: bool = False


class FilesPath(_Args):
    path: str


class FilesWrite(_Args):
    path: str
    content: str


class FilesMove(_Args):
    src: str
    dst: str


def _send_target(a: EmailSend | EmailDraft) -> list[str]:
    return [f"message:{a.reply_to}"] if a.reply_to else []


def _check_attachments(world: World, paths: list[str]) -> None:
    for path in paths:
        world.files.read(path)  # raises NotFound / InvalidInput for the agent


def _draft(world: World, a: EmailDraft) -> Any:
    _check_attachments(world, a.attachments)
    return world.mail.draft(to=a.to, subject=a.subject, body=a.body, cc=a.cc,
                            attachments=a.attachments, reply_to=a.reply_to)


def _send(world: World, a: EmailSend) -> Any:
    _check_attachments(world, a.attachments)
    return world.mail.send(to=a.to, subject=a.subject, body=a.body, cc=a.cc, attachments=a.attachments,
                           reply_to=a.reply_to, draft_id=a.draft_id)


def _update_deal(world: World, a: CrmUpdateDeal) -> Any:
    fields = a.model_dump(exclude={"id"}, exclude_none=True)
    return world.crm.update_deal(a.id, **fields)


def _update_contact(world: World, a: CrmUpdateContact) -> Any:
    fields = a.model_dump(exclude={"id"}, exclude_none=True)
    return world.crm.update_contact(a.id, **fields)


def _file_target(path: str) -> list[str]:
    return [f"file:{path}"]


CATALOGUE: dict[str, ToolSpec] = {t.name: t for t in [
    ToolSpec("crm_search", "Search CRM accounts, contacts, deals and notes by text.", "read", CrmSearch,
             lambda w, a: w.crm.search(a.query, kind=a.kind, limit=a.limit)),
    ToolSpec("crm_get", "Get one CRM record by kind and id.", "read", CrmGet,
             lambda w, a: w.crm.get(a.kind, a.id)),
    ToolSpec("crm_update_deal", "Update fields of a deal (amount, stage, discount_pct, close_date, owner).",
             "write", CrmUpdateDeal, _update_deal, lambda a: [f"deal:{a.id}"]),
    ToolSpec("crm_update_contact", "Update fields of a contact (name, email, title, phone).",
             "write", CrmUpdateContact, _update_contact, lambda a: [f"contact:{a.id}"]),
    ToolSpec("crm_create_note", "Add a note to a CRM record.", "write", CrmCreateNote,
             lambda w, a: w.crm.create_note(a.entity, a.body), lambda a: [a.entity]),
    ToolSpec("crm_delete_record", "Delete a CRM record. Cannot be undone.", "irreversible", CrmDeleteRecord,
             lambda w, a: w.crm.delete_record(a.kind, a.id), lambda a: [f"{a.kind}:{a.id}"]),
    ToolSpec("email_search", "Search the organisation's mail by text.", "read", EmailSearch,
             lambda w, a: w.mail.search(a.query, folder=a.folder, limit=a.limit)),
    ToolSpec("email_read", "Read one message (marks it read).", "read", EmailRead,
             lambda w, a: w.mail.read(a.id)),
    ToolSpec("email_draft", "Write a draft; nothing is sent.", "write", EmailDraft, _draft, _send_target),
    ToolSpec("email_send", "Send a message. Cannot be undone; may leave the organisation.", "external",
             EmailSend, _send, lambda a: ([f"draft:{a.draft_id}"] if a.draft_id else []) + _send_target(a)),
    ToolSpec("files_list", "List a folder.", "read", FilesList,
             lambda w, a: w.files.list(a.path, recursive=a.recursive)),
    ToolSpec("files_read", "Read a file.", "read", FilesPath, lambda w, a: w.files.read(a.path)),
    ToolSpec("files_write", "Create or overwrite a file.", "write", FilesWrite,
             lambda w, a: w.files.write(a.path, a.content), lambda a: _file_target(a.path)),
    ToolSpec("files_move", "Move or rename a file or folder.", "write", FilesMove,
             lambda w, a: w.files.move(a.src, a.dst), lambda a: _file_target(a.src)),
    ToolSpec("files_delete", "Delete a file or folder. Cannot be undone.", "irreversible", FilesPath,
             lambda w, a: w.files.delete(a.path), lambda a: _file_target(a.path)),
]}


def export(fmt: str) -> list[dict] | dict:
    """The catalogue in the shape each tool-calling API expects."""
    tools = list(CATALOGUE.values())
    if fmt == "openai":
        return [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                  "parameters": t.schema()}} for t in tools]
    if fmt == "anthropic":
        return [{"name": t.name, "description": t.description, "input_schema": t.schema()} for t in tools]
    if fmt == "mcp":
        return {"tools": [{"name": t.name, "description": t.description, "inputSchema": t.schema(),
                           "annotations": {"readOnlyHint": t.effect == "read",
                                           "destructiveHint": t.effect in ("irreversible", "external"),
                                           "openWorldHint": t.effect == "external"}} for t in tools]}
    raise ValueError(f"unknown format {fmt!r}")


_ = NotFound
