"""Turn a pydantic ValidationError on a policy into one clear InvalidPolicy.

The error names the file, the line, the field path as written in the YAML (``workflows.crm.x.stages
.approve.gate.min_runs``) and what was expected, worked out from the model's own type annotations.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from harness.errors import InvalidPolicy
from harness.yamlsafe import format_path


def normalise(data: dict[str, Any]) -> dict[str, Any]:
    """YAML 1.1 reads the key ``on`` as the boolean true: give demotion triggers their ``on`` back."""
    workflows = data.get("workflows")
    if not isinstance(workflows, dict):
        return data
    fixed = {}
    for name, wf in workflows.items():
        if isinstance(wf, dict) and isinstance(wf.get("demotion"), list):
            wf = {**wf, "demotion": [
                {("on" if k in ("True", True) else k): v for k, v in t.items()} if isinstance(t, dict) else t
                for t in wf["demotion"]]}
        fixed[name] = wf
    return {**data, "workflows": fixed}


def invalid_policy(exc: ValidationError, file: str, lines: dict[tuple, int], data: Any) -> InvalidPolicy:
    from harness.policy import Policy

    errors = exc.errors(include_url=False)
    explained = [_explain(Policy, e) for e in errors]
    explained.sort(key=lambda x: _line(lines, x[0]) or 10**9)  # the first problem in the file first
    # errors from several members of one union describe one mistake: count places, not errors
    places = {x[0] for x in explained}
    path, message, expected = explained[0]
    more = len(places) - 1
    if more:
        message += f" ({more} more problem{'s' if more > 1 else ''} in this file.)"
    return InvalidPolicy(message, file=file, field=format_path(path), line=_line(lines, path),
                         expected=expected)


def _line(lines: dict[tuple, int], path: tuple) -> int | None:
    path = tuple("True" if p == "on" else p for p in path) if path not in lines else path
    for n in range(len(path), 0, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None


def _explain(root: type[BaseModel], err: dict[str, Any]) -> tuple[tuple, str, str | None]:
    path, ann, meta, parent, at_key = _walk(root, err["loc"])
    kind, value = err["type"], err.get("input")
    shown = _show(value)
    if kind == "extra_forbidden":
        known = list(parent.model_fields) if parent else []
        close = difflib.get_close_matches(str(path[-1]), known, n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        return path, f"unknown field `{path[-1]}`.{hint}", f"one of the fields {', '.join(known)}"
    if at_key:
        return path, f"{path[-1]!r} is not allowed here.", describe(ann, meta)
    if kind == "missing":
        return path, "this field is required but missing.", describe(ann, meta)
    if kind == "union_tag_invalid":
        tags = err.get("ctx", {}).get("expected_tags", "")
        return path + ("on",), f"`on: {err['ctx'].get('tag')}` is not a kind of demotion trigger.", f"on: {tags}"
    if kind == "union_tag_not_found":
        return path, "a demotion trigger needs `on` (what it watches).", "on: severity or on: mistake_rate"
    return path, f"got {shown}.", describe(ann, meta)


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _walk(root: type[BaseModel], loc: tuple):
    """Follow ``loc`` through the model's annotations: (data path, annotation, metadata, parent, at_key)."""
    ann: Any = root
    meta: list = []
    parent: type[BaseModel] | None = None
    path: list = []
    at_key = False
    for i, part in enumerate(loc):
        ann, more = _strip(ann)
        meta = meta + more
        if part == "[key]":
            continue
        if typing.get_origin(ann) is dict and loc[i + 1:i + 2] == ("[key]",):  # the key itself is wrong
            path.append(part)
            ann, meta, at_key = typing.get_args(ann)[0], [], True
            continue
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            parent = ann
            path.append(part)
            info = ann.model_fields.get(str(part))
            ann, meta = (info.annotation, list(info.metadata)) if info else (None, [])
            continue
        origin = typing.get_origin(ann)
        if origin in (list, dict):
            path.append(part)
            args = typing.get_args(ann)
            ann, meta = (args[-1] if args else Any), []
            continue
        if _is_union(ann):
            member = _member(ann, part)
            if member is not None:
                if i < len(loc) - 1:  # an error inside one member; at the end, describe the whole union
                    ann, meta = member, []
                continue
        path.append(part)
        ann, meta = None, []
    return tuple(path), ann, meta, parent, at_key


def _strip(ann: Any) -> tuple[Any, list]:
    """Remove Annotated and Optional wrappers, collecting constraint metadata."""
    meta: list = []
    while True:
        if typing.get_origin(ann) is typing.Annotated:
            for m in ann.__metadata__:  # Field(ge=0) inside Annotated carries its constraints
                meta.extend(m.metadata if isinstance(m, FieldInfo) else [m])
            ann = ann.__origin__
            continue
        if _is_union(ann):
            members = [a for a in typing.get_args(ann) if a is not type(None)]
            if len(members) == 1:
                ann = members[0]
                continue
        return ann, meta


def _is_union(ann: Any) -> bool:
    return typing.get_origin(ann) in (typing.Union, types.UnionType)


def _member(union: Any, tag: Any) -> Any:
    for member in typing.get_args(union):
        bare, _ = _strip(member)
        name = getattr(bare, "__name__", None)
        if name == tag or str(bare).replace("typing.", "") == tag or _tag_of(bare) == tag:
            return member
        if typing.get_origin(bare) is list and f"list[{_name(typing.get_args(bare)[0])}]" == tag:
            return member
    return None


def _name(ann: Any) -> str:
    return getattr(_strip(ann)[0], "__name__", str(ann))


def _tag_of(model: Any) -> Any:
    if isinstance(model, type) and issubclass(model, BaseModel) and "on" in model.model_fields:
        args = typing.get_args(model.model_fields["on"].annotation)
        return args[0] if args else None
    return None


def describe(ann: Any, meta: list | None = None) -> str:
    """What a value of this annotation looks like, in words."""
    ann, more = _strip(ann)
    meta = list(meta or []) + more
    if ann is None or ann is Any:
        return "a value this field accepts"
    if ann is bool:
        return "true or false"
    if ann is int:
        return "an integer" + _range(meta)
    if ann is float:
        return "a number" + _range(meta)
    if ann is str:
        return "a text"
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is typing.Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin is list:
        inner = describe(args[0]) if args else "values"
        return f"a list, each item {inner}"
    if origin is dict:
        return f"a mapping of names to {describe(args[1])}" if len(args) == 2 else "a mapping"
    if _is_union(ann):
        tags = [_tag_of(_strip(a)[0]) for a in args]
        if all(tags):
            return "a mapping with " + " or ".join(f"`on: {t}`" for t in tags)
        return " or ".join(describe(a) for a in args if a is not type(None))
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return f"a mapping with the fields {', '.join(ann.model_fields)}"
    return str(ann)


def _range(meta: list) -> str:
    lo = next((f">= {m.ge:g}" for m in meta if isinstance(m, Ge)), None) or next(
        (f"> {m.gt:g}" for m in meta if isinstance(m, Gt)), None)
    hi = next((f"<= {m.le:g}" for m in meta if isinstance(m, Le)), None) or next(
        (f"< {m.lt:g}" for m in meta if isinstance(m, Lt)), None)
    if lo and hi and lo.startswith(">=") and hi.startswith("<="):
        return f" between {lo[3:]} and {hi[3:]}"
    return " " + " and ".join(x for x in (lo, hi) if x) if (lo or hi) else ""
