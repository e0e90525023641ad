"""The policy's tool map: what each upstream tool does, judged from its arguments.

Per workflow, ``tools: {UPSTREAM: {TOOL: rule}}`` gives each upstream tool an effect class, where
its targets are in the arguments (JSON pointers, RFC 6901), how much money it moves (a small
arithmetic expression over the arguments; never ``eval``), and a read *probe* that shows the
target's current state. A tool the map does not name is hidden and refused (default deny).

A tool whose write is SQL in one argument (``sql: /query``) has its tables and rows named by
parsing the SQL (sqlglot): the rows an UPDATE or DELETE touches are the rows its WHERE selects,
and ``{sql.select}`` in a probe's arguments becomes the SELECT of exactly those rows.
"""

from __future__ import annotations

import ast
import posixpath
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Effect = Literal["read", "write", "irreversible", "external"]
TargetKind = Literal["path", "record", "recipient"]
WRITES: frozenset[str] = frozenset({"write", "irreversible", "external"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(_Strict):
    pointer: str | None = None
    """JSON pointer into the call's arguments, e.g. ``/path`` or ``/to`` (a list is several targets)."""
    column: str | None = None
    """``TABLE.COLUMN``: the values the tool's SQL (``sql:``) writes to that column (INSERT or UPDATE SET)."""
    kind: TargetKind


class Probe(_Strict):
    tool: str
    """A tool of the same upstream whose effect is ``read``."""
    arguments: dict[str, Any] = {}
    """Arguments; ``"{/pointer}"`` is the write's argument there, ``"{sql.select}"`` the rows its SQL touches."""


class ToolRule(_Strict):
    effect: Effect
    targets: list[Target] = []
    money: str | None = None
    """Money the call moves, e.g. ``amount * discount_pct / 100``: names are top-level arguments."""
    probe: Probe | None = None
    sql: str | None = None
    """JSON pointer of an argument holding SQL: its tables and rows are the call's targets."""


class ArgumentError(Exception):
    """The arguments do not have what the tool map needs (a pointer leads nowhere, bad SQL, …)."""


# -- JSON pointers ---------------------------------------------------------------------------------

def pointer_problem(pointer: str) -> str | None:
    if pointer != "" and not pointer.startswith("/"):
        return f"{pointer!r} is not a JSON pointer (it must start with '/')"
    if re.search(r"~(?![01])", pointer):
        return f"{pointer!r} has a '~' that is not '~0' or '~1'"
    return None


def resolve(pointer: str, document: Any) -> Any:
    """The value at ``pointer`` (RFC 6901); ArgumentError when there is none."""
    value = document
    if pointer == "":
        return value
    for raw in pointer[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise ArgumentError(f"the arguments have nothing at {pointer}")
    return value


# -- money: a safe arithmetic expression ------------------------------------------------------------

_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b if b else 0.0, ast.Mod: lambda a, b: a % b if b else 0.0}
_FUNCS = {"min": min, "max": max, "abs": abs}


def money_problem(expression: str) -> str | None:
    """Why ``expression`` is not an allowed money expression, or None."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        return f"{expression!r} is not an expression ({exc.msg})"
    for node in ast.walk(tree):
        if isinstance(node, (ast.Expression, ast.Load, ast.operator, ast.unaryop)):
            if isinstance(node, ast.operator) and type(node) not in _BINOPS:
                return f"the operator {type(node).__name__} is not allowed"
            continue
        if isinstance(node, ast.BinOp | ast.UnaryOp | ast.Name):
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value,
                                                                                                    bool):
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            if node.func.id in _FUNCS:
                continue
            if node.func.id == "arg" and len(node.args) == 1 and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                continue
        return f"{ast.unparse(node)!r} is not allowed in a money expression"
    return None


def money_of(expression: str, arguments: dict[str, Any]) -> float:
    """Evaluate a checked money expression over ``arguments``; ArgumentError for a missing argument."""

    def number(value: Any, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ArgumentError(f"{what} is not a number")
        try:
            return float(value)
        except ValueError:
            raise ArgumentError(f"{what} ({value!r}) is not a number") from None

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in arguments:
                raise ArgumentError(f"the argument {node.id!r} the money expression needs is missing")
            return number(arguments[node.id], f"the argument {node.id!r}")
        if isinstance(node, ast.UnaryOp):
            return -ev(node.operand) if isinstance(node.op, ast.USub) else ev(node.operand)
        if isinstance(node, ast.BinOp):
            return float(_BINOPS[type(node.op)](ev(node.left), ev(node.right)))
        if isinstance(node, ast.Call):
            if node.func.id == "arg":  # type: ignore[attr-defined]
                pointer = node.args[0].value  # type: ignore[attr-defined]
                return number(resolve(pointer, arguments), f"the argument at {pointer}")
            return float(_FUNCS[node.func.id](*(ev(a) for a in node.args)))  # type: ignore[attr-defined]
        raise ArgumentError("unsupported expression")

    return ev(ast.parse(expression, mode="eval"))


# -- SQL -------------------------------------------------------------------------------------------

_IRREVERSIBLE_SQL = ("Drop", "TruncateTable", "Alter", "Command", "Pragma", "Attach", "Detach")


def analyse_sql(sql: Any) -> dict[str, Any]:
    """Tables, rows and kind of the statements in ``sql``; ArgumentError when it cannot be parsed."""
    import sqlglot
    from sqlglot import exp

    if not isinstance(sql, str) or not sql.strip():
        raise ArgumentError("the SQL argument is empty or not a text")
    try:
        statements = [s for s in sqlglot.parse(sql, read="sqlite") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise ArgumentError(f"the SQL cannot be parsed ({str(exc).splitlines()[0]})") from None
    if not statements:
        raise ArgumentError("the SQL holds no statement")
    records, kinds, selects = [], [], []
    assigned: dict[str, list[str]] = {}
    for stmt in statements:
        kind = type(stmt).__name__
        kinds.append(kind)
        tables = sorted({t.name for t in stmt.find_all(exp.Table) if t.name})
        _assignments(stmt, kind, assigned)
        where = stmt.args.get("where")
        condition = where.this.sql("sqlite") if where is not None else None
        for table in tables:
            if kind in ("Update", "Delete"):
                records.append(f"{table} where {condition}" if condition else f"{table} (every row)")
                selects.append(f"SELECT * FROM {table}" + (f" WHERE {condition}" if condition else ""))
            else:
                records.append(table)
    return {"kinds": kinds, "records": records, "select": selects[0] if len(selects) == 1 else None,
            "assigned": assigned,
            "irreversible": any(k in _IRREVERSIBLE_SQL or k == "Delete" for k in kinds)}


def _assignments(stmt: Any, kind: str, out: dict[str, list[str]]) -> None:
    """``table.column`` → the values an INSERT or UPDATE writes there (as SQL text for expressions)."""
    from sqlglot import exp

    def text(value: Any) -> str:
        return value.this if isinstance(value, exp.Literal) and value.is_string else value.sql("sqlite")

    if kind == "Insert" and isinstance(stmt.this, exp.Schema):
        table = stmt.this.this.name
        columns = [c.name for c in stmt.this.expressions]
        for row in stmt.find_all(exp.Tuple):
            for column, value in zip(columns, row.expressions):
                out.setdefault(f"{table}.{column}", []).append(text(value))
    elif kind == "Update":
        table = stmt.this.name
        for eq in stmt.expressions:
            if isinstance(eq, exp.EQ):
                out.setdefault(f"{table}.{eq.this.name}", []).append(text(eq.expression))


# -- what a call targets ----------------------------------------------------------------------------

def _flatten(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [v for item in value for v in _flatten(item)]
    return [value]


def targets_of(rule: ToolRule, arguments: dict[str, Any]) -> list[dict[str, str]]:
    """``[{kind, value}]`` for every target; ArgumentError when a pointer leads nowhere."""
    out = []
    sql = analyse_sql(resolve(rule.sql, arguments)) if rule.sql is not None else None
    for target in rule.targets:
        if target.column is not None:
            values = (sql or {}).get("assigned", {}).get(target.column, [])
        else:
            values = _flatten(resolve(target.pointer or "", arguments))
        for value in values:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ArgumentError(f"the {target.kind} at {target.pointer} is not a text or number")
            text = str(value)
            if target.kind == "path":
                text = posixpath.normpath(text) if text else text
            out.append({"kind": target.kind, "value": text})
    if sql is not None:
        for record in sql["records"]:
            out.append({"kind": "record", "value": record})
    return out


def probe_arguments(rule: ToolRule, arguments: dict[str, Any]) -> dict[str, Any] | None:
    """The probe's arguments for this call, or None when the rule has no probe (or nothing to probe)."""
    if rule.probe is None:
        return None
    sql = analyse_sql(resolve(rule.sql, arguments)) if rule.sql is not None else None

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        if not isinstance(value, str):
            return value
        whole = re.fullmatch(r"\{(/[^{}]*|)\}", value)
        if whole:
            return resolve(whole.group(1), arguments)
        if value == "{sql.select}":
            if sql is None or sql["select"] is None:
                raise _NothingToProbe
            return sql["select"]
        return re.sub(r"\{(/[^{}]*)\}", lambda m: str(resolve(m.group(1), arguments)), value)

    try:
        return fill(dict(rule.probe.arguments))
    except _NothingToProbe:
        return None


class _NothingToProbe(Exception):
    """An INSERT has no existing rows to go stale."""


# -- checks at policy load ----------------------------------------------------------------------------

def check_tools(tools: dict[str, dict[str, ToolRule]], base: tuple, fail) -> None:
    """Cross-field checks of a workflow's tool map; ``fail(path, message, expected)`` raises."""
    for upstream, rules in tools.items():
        for name, rule in rules.items():
            path = base + ("tools", upstream, name)
            for i, target in enumerate(rule.targets):
                if (target.pointer is None) == (target.column is None):
                    fail(path + ("targets", i), "a target needs exactly one of `pointer` and `column`.",
                         "pointer: /path, or column: TABLE.COLUMN (with sql: on the tool)")
                if target.column is not None and (rule.sql is None or target.column.count(".") != 1):
                    fail(path + ("targets", i, "column"), f"{target.column!r} needs `sql:` on the tool and the "
                         "form TABLE.COLUMN.", "column: outbox.to_addr with sql: /query")
                problem = pointer_problem(target.pointer) if target.pointer is not None else None
                if problem:
                    fail(path + ("targets", i, "pointer"), problem + ".", "a JSON pointer such as /path")
            if rule.sql is not None and pointer_problem(rule.sql):
                fail(path + ("sql",), pointer_problem(rule.sql) + ".", "a JSON pointer such as /query")
            if rule.money is not None:
                problem = money_problem(rule.money)
                if problem:
                    fail(path + ("money",), problem + ".",
                         "arithmetic (+ - * / %) over argument names, numbers, min(), max(), abs(), arg('/ptr')")
            if rule.effect == "read" and (rule.probe or rule.money):
                fail(path + ("probe" if rule.probe else "money",), "a read changes nothing, so it has no "
                     "probe or money.", "probe and money only on write, irreversible or external tools")
            if rule.probe is not None:
                probe = rules.get(rule.probe.tool)
                if probe is None or probe.effect != "read":
                    fail(path + ("probe", "tool"), f"the probe {rule.probe.tool!r} is not a read tool of the "
                         f"upstream {upstream!r} in this tool map.",
                         f"a tool under tools.{upstream} with effect: read")
                for key, value in rule.probe.arguments.items():
                    for ptr in re.findall(r"\{(/[^{}]*)\}", value) if isinstance(value, str) else []:
                        if pointer_problem(ptr):
                            fail(path + ("probe", "arguments", key), pointer_problem(ptr) + ".",
                                 "placeholders such as {/path}")
                    if value == "{sql.select}" and rule.sql is None:
                        fail(path + ("probe", "arguments", key), "{sql.select} needs `sql:` on this tool.",
                             "sql: /query (the argument holding the SQL)")
