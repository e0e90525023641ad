"""Safe YAML loading that remembers where every value came from.

Only plain data is built (no tags that construct Python objects); duplicate keys, huge files and
deeply nested or alias-expanded documents are refused. Each value's line is kept in a map from
field path (tuple of keys/indexes) to line number, so errors can say "line 14, task.instruction".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError

MAX_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_NODES = 200_000

Lines = dict[tuple, int]
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: same nodes, 10x faster


def format_path(path: tuple) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(document)"


def load_yaml(path: Path, error: type[HarnessError] = HarnessError) -> tuple[Any, Lines]:
    """Read ``path`` as plain YAML data. Raises ``error`` (a HarnessError subclass) on bad input."""
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise error(f"cannot read the file ({exc.strerror or exc}).", file=file) from None
    if len(raw) > MAX_BYTES:
        raise error(f"the file is {len(raw):,} bytes; files over {MAX_BYTES:,} bytes are refused.",
                    file=file, expected="a smaller file (split large worlds into generated counts)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"the file is not valid UTF-8 (byte {exc.start}).", file=file) from None
    return load_yaml_text(text, file, error)


def load_yaml_text(text: str, file: str, error: type[HarnessError] = HarnessError) -> tuple[Any, Lines]:
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        problem = exc.problem or "malformed YAML"
        raise error(f"not valid YAML: {problem}.", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise error(f"not valid YAML: {exc}.", file=file) from None
    if node is None:
        raise error("the file is empty.", file=file, expected="a YAML mapping")
    builder = _Builder(file, error)
    data = builder.build(node, (), 0)
    return data, builder.lines


class _Builder:
    def __init__(self, file: str, error: type[HarnessError]):
        self.file = file
        self.error = error
        self.lines: Lines = {}
        self.nodes = 0
        self.loader = yaml.SafeLoader("")

    def fail(self, message: str, path: tuple, node: yaml.Node, expected: str | None = None):
        raise self.error(message, file=self.file, field=format_path(path),
                         line=node.start_mark.line + 1, expected=expected)

    def build(self, node: yaml.Node, path: tuple, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.fail(f"the document has more than {MAX_NODES:,} values (aliases expanded); refused.",
                      path, node)
        if depth > MAX_DEPTH:
            self.fail(f"nesting deeper than {MAX_DEPTH} levels; refused.", path, node)
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            if node.tag not in ("tag:yaml.org,2002:map",):
                self.fail(f"the tag {node.tag!r} is not allowed.", path, node, "plain YAML data")
            out: dict = {}
            self.loader.flatten_mapping(node)
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.fail("mapping keys must be plain strings.", path, key_node)
                key = self.scalar(key_node, path)
                if not isinstance(key, str):
                    key = str(key)
                if key in out:
                    self.fail(f"the key {key!r} appears twice.", path + (key,), key_node,
                              "each key once")
                out[key] = self.build(value_node, path + (key,), depth + 1)
                self.lines[path + (key,)] = key_node.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                self.fail(f"the tag {node.tag!r} is not allowed.", path, node, "plain YAML data")
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        return self.scalar(node, path)

    def scalar(self, node: yaml.ScalarNode, path: tuple) -> Any:
        allowed = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                   "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"}
        if node.tag not in allowed:
            if node.tag == "tag:yaml.org,2002:timestamp":
                return node.value  # keep dates as the text written
            self.fail(f"the tag {node.tag!r} is not allowed (it could build objects).", path, node,
                      "plain YAML data: strings, numbers, booleans, lists and mappings")
        return self.loader.construct_object(node, deep=True)
