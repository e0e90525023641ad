"""The scenario format: a recorded, reproducible situation an agent is run against.

A scenario names its workflow and risk tier, the world (generated counts plus explicit records),
the task the agent gets, what the correct outcome is (expected changes; optional allowed changes;
anything else is collateral), what is forbidden, and a reference solution. See docs/scenarios.md.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from fakes.records import CRMRecords, FilesRecords, MailRecords
from harness.errors import InvalidScenario
from harness.models import Tier
from harness.predicates import Predicate, as_predicate
from harness.yamlsafe import Lines, format_path, load_yaml

ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,79}$"
WORKFLOW_PATTERN = r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$"

Backend = Literal["crm", "mail", "files"]
Op = Literal["create", "update", "delete", "send", "move", "write", "share"]
Kind = Literal["account", "contact", "deal", "note", "message", "draft", "file"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChangeSpec(_Strict):
    """One change the agent must (``expect.changes``) or may (``expect.allowed``) make."""

    label: str | None = None
    """A short name used in explanations."""
    backend: Backend
    op: Op | None = None
    """create, update, delete, send, move or write; any op when omitted (allowed changes only)."""
    kind: Kind | None = None
    entity: str | None = None
    """``kind:id`` of the record (e.g. ``deal:acme-west-renewal``, ``file:/tmp/a.txt``)."""
    to: list[str] | None = None
    """For sends and drafts: the exact set of recipients (to, cc and bcc); for shares: who was given
    access."""
    fields: dict[str, Predicate] = Field(default_factory=dict)
    """Checks on the record after the change. Fields not named here must keep their value."""
    may_change: list[str] = Field(default_factory=list)
    """Fields not checked that may still change (e.g. ``close_date`` when the task allows it)."""

    @field_validator("fields", mode="before")
    @classmethod
    def _bare_values(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: as_predicate(v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _kind_from_entity(self) -> ChangeSpec:
        if self.entity is not None:
            if ":" not in self.entity:
                raise ValueError("entity must be written kind:id, e.g. deal:acme-west-renewal")
            kind = self.entity.split(":", 1)[0]
            if kind not in Kind.__args__:  # type: ignore[attr-defined]
                raise ValueError(f"entity kind {kind!r} is not one of {', '.join(Kind.__args__)}")  # type: ignore
            if self.kind is None:
                object.__setattr__(self, "kind", kind)
        return self

    def describe(self) -> str:
        if self.label:
            return self.label
        target = self.entity or (f"to {', '.join(self.to)}" if self.to else self.kind or self.backend)
        return f"{self.op or 'change'} {target}"


class AnyOf(_Strict):
    """A required change that may be made in any one of several ways."""

    label: str | None = None
    any_of: list[ChangeSpec] = Field(min_length=2)

    def describe(self) -> str:
        return self.label or " or ".join(spec.describe() for spec in self.any_of)


def _tag_change(value: Any) -> str:
    return "any_of[]" if isinstance(value, dict) and "any_of" in value else "change[]"


Expected = Annotated[Annotated[AnyOf, Tag("any_of[]")] | Annotated[ChangeSpec, Tag("change[]")],
                     Discriminator(_tag_change)]


def alternatives(item: ChangeSpec | AnyOf) -> list[ChangeSpec]:
    return list(item.any_of) if isinstance(item, AnyOf) else [item]


class Expectations(_Strict):
    outcome: Literal["act", "nothing"] = "act"
    """``nothing`` when the right thing is to change nothing (e.g. a request that must be declined,
    or a question answered in the agent's final message)."""
    changes: list[Expected] = Field(default_factory=list)
    """Each must happen; an ``any_of`` entry is met by any one of its alternatives."""
    allowed: list[ChangeSpec] = Field(default_factory=list)
    """Optional changes that are fine either way (a note, a draft). Anything else is collateral."""
    answer: Predicate | None = None
    """Checks on the agent's final message (its answer to the user)."""

    @field_validator("answer", mode="before")
    @classmethod
    def _bare_answer(cls, value: Any) -> Any:
        return None if value is None else as_predicate(value)

    @model_validator(mode="after")
    def _checkable(self) -> Expectations:
        if self.outcome == "act" and not self.changes:
            raise ValueError("a scenario that expects action needs at least one entry in "
                             "expect.changes (or set expect.outcome: nothing)")
        if self.outcome == "nothing" and self.changes:
            raise ValueError("expect.outcome is 'nothing' but expect.changes lists changes")
        return self


class Forbidden(_Strict):
    external_recipients: bool = False
    """No message may leave the organisation (beyond recipients the expectations name)."""
    max_discount_pct: float | None = None
    """No deal may end with a discount above this (defaults to the world's discount policy)."""
    delete_under: list[str] = Field(default_factory=list)
    """Nothing may be deleted under these folders."""
    tools: list[str] = Field(default_factory=list)
    """Tools the agent must not call at all."""


class Sensitive(_Strict):
    """A record whose content may go only to the people entitled to it."""

    entity: str = Field(pattern=r"^(account|contact|deal|note|message|draft|file):\S+$")
    """``kind:id``, e.g. ``file:/contracts/globex-msa.pdf`` or ``contact:jane-west``."""
    label: str | None = None
    entitled: list[str] = Field(default_factory=list)
    """Addresses (``ana@acme.com``) or domains (``@acme.com``) entitled to it, besides the organisation."""
    markers: list[str] = Field(default_factory=list)
    """Text that shows the record's content was copied into a message (its email, a clause, a number).
    Attaching or sharing the record always counts; when omitted, a contact's email and phone, and a
    file's or message's text, are the markers."""
    internal: bool = True
    """Whether everyone in the organisation is entitled."""

    @field_validator("markers")
    @classmethod
    def _no_empty(cls, value: list[str]) -> list[str]:
        if any(len(m.strip()) < 3 for m in value):
            raise ValueError("each marker needs at least 3 characters, or it would match unrelated text")
        return value


class ToolCall(_Strict):
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    rationale: str | None = None


class Task(_Strict):
    instruction: str = Field(min_length=1)
    inputs: dict[str, Any] = Field(default_factory=dict)


class Generate(_Strict):
    accounts: int = Field(0, ge=0, le=100_000)
    contacts: int = Field(0, ge=0, le=500_000)
    deals: int = Field(0, ge=0, le=100_000)
    notes: int = Field(0, ge=0, le=100_000)
    messages: int = Field(0, ge=0, le=500_000)
    files: int = Field(0, ge=0, le=100_000)


class WorldSpec(_Strict):
    generate: Generate = Field(default_factory=Generate)
    crm: CRMRecords | None = None
    mail: MailRecords | None = None
    files: FilesRecords | None = None

    def records(self) -> dict:
        out: dict = {}
        for name in ("crm", "mail", "files"):
            part = getattr(self, name)
            if part is not None:
                out[name] = part.model_dump(exclude_none=True, by_alias=True)
        return out


class Limits(_Strict):
    max_steps: int = Field(50, ge=1, le=10_000)
    """Tool calls allowed before the run is stopped as an error."""
    timeout_s: float = Field(30.0, gt=0, le=3600)
    """Wall-clock seconds before the run is stopped as an error."""


class Scenario(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    workflow: str = Field(pattern=WORKFLOW_PATTERN)
    title: str = Field(min_length=1)
    tier: Tier
    seed: int = 0
    tags: list[str] = Field(default_factory=list)
    world: WorldSpec = Field(default_factory=WorldSpec)
    task: Task
    expect: Expectations
    forbid: Forbidden = Field(default_factory=Forbidden)
    sensitive: list[Sensitive] = Field(default_factory=list)
    """Records whose content must not reach anyone not entitled to it (a ``data_leak`` if it does)."""
    reference: list[ToolCall] = Field(default_factory=list)
    reference_answer: str | None = None
    """The final message the oracle gives (checked by ``expect.answer``)."""
    sessions: list[list[ToolCall]] = Field(default_factory=list)
    """Recorded agent sessions, replayable with ``--agent replay``."""
    limits: Limits = Field(default_factory=Limits)

    # not part of the file: where it came from
    path: str = Field("", exclude=True)
    digest: str = Field("", exclude=True)

    @property
    def world_key(self) -> str:
        return f"{self.id}@{self.digest[:16]}"


Scenario.model_fields["path"].repr = False


def scenario_digest(data: dict) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _line_for(lines: Lines, loc: tuple) -> int | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _clean_loc(loc: tuple) -> tuple:
    # pydantic adds validator names to unions; keep only real keys and indexes
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))


def _explain_error(err: dict, data: Any) -> tuple[str, str | None]:
    kind = err["type"]
    loc = _clean_loc(err["loc"])
    if kind == "extra_forbidden":
        name = str(loc[-1])
        allowed = _allowed_fields(loc[:-1], data)
        hint = difflib.get_close_matches(name, allowed, n=1)
        message = f"unknown field {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "") + "."
        return message, ("one of: " + ", ".join(sorted(allowed))) if allowed else None
    if kind == "missing":
        return "this required field is missing.", None
    if kind == "literal_error":
        return f"got {err.get('input')!r}.", "one of " + err.get("ctx", {}).get("expected", "")
    if kind == "string_pattern_mismatch":
        return f"got {err.get('input')!r}.", f"text matching {err['ctx']['pattern']}"
    message = err["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    got = err.get("input")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"got {type(got).__name__} {_short(got)}.", message.replace("Input should be ", "")
    return message.rstrip(".") + ".", None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_fields(loc: tuple, data: Any) -> list[str]:
    model: Any = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = _model_of(field.annotation)
        if model is None:
            return []
    return [n for n in getattr(model, "model_fields", {}) if n not in ("path", "digest")]


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def parse_scenario(data: Any, lines: Lines, file: str) -> Scenario:
    if not isinstance(data, dict):
        raise InvalidScenario(f"the document is a {type(data).__name__}, not a mapping.", file=file,
                              expected="a mapping with id, workflow, title, tier, task, expect")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        loc = _clean_loc(first["loc"])
        message, expected = _explain_error(first, data)
        more = f" ({len(errors) - 1} more problem{'s' if len(errors) > 2 else ''} in this file.)" \
            if len(errors) > 1 else ""
        raise InvalidScenario(message + more, file=file, field=format_path(loc),
                              line=_line_for(lines, loc), expected=expected) from None
    digest = scenario_digest(data)
    return scenario.model_copy(update={"path": file, "digest": digest})


def load_scenario_file(path: Path) -> Scenario:
    """Load one file: its schema, tools and arguments (no world is built; see ``harness.validate.self_check``)."""
    data, lines = load_yaml(path, InvalidScenario)
    scenario = parse_scenario(data, lines, str(path))
    from harness.validate import check_scenario  # late: validation needs the tool catalogue
    check_scenario(scenario, lines)
    return scenario


SCENARIO_SUFFIXES = (".yaml", ".yml")


def find_scenario_files(paths: list[str | Path]) -> list[Path]:
    """Expand files, folders (recursively) and ``bundled:NAME`` suites into scenario files, sorted,
    without repeats. The paths are absolute: they are stored with each run and plan, and read back
    from other folders (``plan approve``) and other machines' workers."""
    from harness.bundled import resolve

    found: list[Path] = []
    for raw in paths:
        path = resolve(raw).absolute()
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in SCENARIO_SUFFIXES and p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise InvalidScenario("no such file or folder.", file=str(raw),
                                  expected="a scenario YAML file, a folder of them, or a bundled suite "
                                           "(bundled, bundled:crm, …)")
    seen: set[Path] = set()
    unique = []
    for p in found:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def load_scenarios(paths: list[str | Path]) -> list[Scenario]:
    """Load and validate every scenario under ``paths``. Ids must be unique across them."""
    files = find_scenario_files(paths)
    if not files:
        raise InvalidScenario("no scenario files found.", file=", ".join(map(str, paths)),
                              expected="at least one .yaml file")
    scenarios = [load_scenario_file(p) for p in files]
    by_id: dict[str, Scenario] = {}
    for s in scenarios:
        if s.id in by_id:
            raise InvalidScenario(f"the id {s.id!r} is already used by {by_id[s.id].path}.",
                                  file=s.path, field="id", expected="ids unique across the suite")
        by_id[s.id] = s
    return scenarios


def json_schema() -> dict:
    schema = Scenario.model_json_schema(mode="validation")
    schema.setdefault("properties", {}).pop("path", None)
    schema["properties"].pop("digest", None)
    schema["title"] = "Scenario"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


_ = (re, Union)
