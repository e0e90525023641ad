"""Project settings: the options people repeat, read from ``harness.toml`` or ``[tool.harness]``.

The nearest ``harness.toml``, or ``pyproject.toml`` with a ``[tool.harness]`` table, in the current
folder or a parent supplies option defaults; the command line still wins. Four top-level keys apply
to every command that takes them: ``policy``, ``ledger``, ``home`` (sets ``HARNESS_HOME`` unless it
is set already) and ``scenarios`` (the default paths of ``run``, ``scenarios list`` and ``scenarios
validate``). Any other option goes in a table named after its command: ``[run]`` in harness.toml,
``[tool.harness.run]`` in pyproject.toml, ``[plan.list]`` for a sub-command — option names as on
the command line (``agent``, ``trials``, ``agent-arg``, ``concurrency`` …). Relative paths are
relative to the file's folder, and that folder
is importable, so ``agent = "agent:example_agent"`` works from any folder below it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from harness.errors import UsageError

FILES = ("harness.toml", "pyproject.toml")
SHARED = ("policy", "ledger", "home", "scenarios")
"""Top-level keys; the same option means the same thing in every command that has it."""
PATH_KEYS = {"policy", "out_dir", "paths", "dir", "dirs", "folder", "home"}
"""Options whose values are paths: resolved against the settings file's folder."""
SCENARIO_KEY = "scenarios"
SCENARIO_PARAM = "paths"


def find(start: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The nearest settings file and its harness table, or None. ``HARNESS_CONFIG`` names one
    explicitly; ``HARNESS_CONFIG=`` (empty) turns settings off."""
    explicit = os.environ.get("HARNESS_CONFIG")
    if explicit is not None:
        return (Path(explicit).absolute(), _read(Path(explicit).absolute())) if explicit else None
    folder = (start or Path.cwd()).absolute()
    for candidate in (folder, *folder.parents):
        for name in FILES:
            path = candidate / name
            if path.is_file():
                table = _read(path)
                if table is not None:
                    return path, table
    return None


def _read(path: Path) -> dict[str, Any] | None:
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError("the settings file does not exist.", file=str(path),
                         expected="a harness.toml or pyproject.toml (HARNESS_CONFIG)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"not valid TOML: {exc}.", file=str(path), expected="a TOML file") from None
    if path.name == "pyproject.toml":
        tool = data.get("tool")
        table = tool.get("harness") if isinstance(tool, dict) else None
        if table is None:
            return None
        if not isinstance(table, dict):
            raise UsageError("[tool.harness] must be a table.", file=str(path), field="tool.harness")
        return table
    return data


def default_map(command: Any, found: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    """Click's ``default_map`` for ``command`` (the root group) from a settings table.

    Commands are mounted lazily, so each command's part is worked out when click asks for it (when
    that command runs). Unknown keys and values of the wrong type are errors naming the file and the
    key, so a typo never silently does nothing."""
    path, table = found
    base = path.parent
    prefix = "tool.harness." if path.name == "pyproject.toml" else ""
    flat = {k.replace("-", "_"): v for k, v in table.items() if not isinstance(v, dict)}
    for key in flat:
        if key not in SHARED:
            raise UsageError("only policy, ledger, home and scenarios apply to every command; put other "
                             "options in a table named after their command.", file=str(path),
                             field=f"{prefix}{key}", expected=f"e.g. [{'tool.harness.' if prefix else ''}run] "
                                                                f"with {key} = ...")
    home = flat.pop("home", None)
    if home is not None:
        if not isinstance(home, str):
            raise UsageError("must be a folder name.", file=str(path), field=f"{prefix}home", expected="a string")
        if not os.environ.get("HARNESS_HOME"):
            os.environ["HARNESS_HOME"] = str((base / home).absolute())
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))
    nested = {k: v for k, v in table.items() if isinstance(v, dict)}
    known = set(command.list_commands(None))
    for name in nested:
        if name not in known:
            raise UsageError(f"there is no command {name}.", file=str(path), field=f"{prefix}{name}",
                             expected="a table named after a harness command: " + ", ".join(sorted(known)))

    def fill(cmd: Any, section: dict[str, Any], where: str) -> dict[str, Any]:
        _check_known(cmd, section, path, prefix, where)
        params = _index(cmd)
        out: dict[str, Any] = {}
        for key, value in list(flat.items()) + [(k, v) for k, v in section.items() if not isinstance(v, dict)]:
            param = params.get(key.replace("-", "_"))
            if param is None:
                continue
            out[param.name] = _convert(param, param.name, value, base, path, f"{prefix}{where}{key}")
        for sub_name, sub in getattr(cmd, "commands", {}).items():  # a group (typer vendors its own click)
            sub_section = section.get(sub_name) if isinstance(section.get(sub_name), dict) else {}
            sub_map = fill(sub, sub_section, f"{where}{sub_name}.")
            if sub_map:
                out[sub_name] = sub_map
        return out

    class _PerCommand(dict):
        """Worked out for a command when click looks it up (the command runs)."""

        def get(self, name: str, default: Any = None) -> Any:
            if name not in known:
                return default
            if name not in self:
                sub = command.get_command(None, name)
                self[name] = fill(sub, nested.get(name, {}), f"{name}.") if sub is not None else {}
            return dict.get(self, name, default)

    return _PerCommand()


def _index(cmd: Any) -> dict[str, Any]:
    """A command's parameters by every name a settings file may use: the long option names
    (``agent-arg``, ``out``, ``json``), the parameter names, and ``scenarios`` for the paths."""
    found: dict[str, Any] = {}
    for param in cmd.params:
        if not param.name or param.hidden or param.name in ("help", "install_completion", "show_completion"):
            continue
        found[param.name] = param
        for opt in param.opts:
            if opt.startswith("--"):
                found[opt[2:].replace("-", "_")] = param
        if param.name == SCENARIO_PARAM:
            found[SCENARIO_KEY] = param
    return found


def _convert(param: Any, name: str, value: Any, base: Path, path: Path, key: str) -> Any:
    many = bool(getattr(param, "multiple", False)) or param.nargs != 1
    if many and not isinstance(value, list):
        value = [value]
    if not many and isinstance(value, list):
        raise UsageError("must be a single value, not a list.", file=str(path), field=key)
    default = param.default
    if getattr(param, "is_flag", False):
        expected, ok = "true or false", isinstance(value, bool)
    elif isinstance(default, int | float) and not isinstance(default, bool):
        kinds = (int,) if isinstance(default, int) else (int, float)
        expected = "a whole number" if kinds == (int,) else "a number"
        ok = isinstance(value, kinds) and not isinstance(value, bool)
    else:
        expected = "a string" + (" or a list of strings" if many else "")
        ok = all(isinstance(v, str) for v in value) if many else isinstance(value, str)
    if not ok:
        raise UsageError(f"{value!r} is not valid here.", file=str(path), field=key, expected=expected)
    if name in PATH_KEYS:
        value = [_path(v, base) for v in value] if many else _path(value, base)
    return value


def _path(value: Any, base: Path) -> Any:
    if not isinstance(value, str) or value.startswith("bundled") or "://" in value:
        return value
    return str((base / value).absolute()) if not Path(value).is_absolute() else value


def _check_known(cmd: Any, section: dict[str, Any], path: Path, prefix: str, where: str) -> None:
    """Every key of a command's table names one of its options (or one of its sub-commands' tables)."""
    subs = getattr(cmd, "commands", {})
    params = _index(cmd)
    for key, value in section.items():
        if isinstance(value, dict):
            if key not in subs:
                raise UsageError(f"there is no command {where}{key}.", file=str(path),
                                 field=f"{prefix}{where}{key}",
                                 expected="a table named after a harness command, e.g. [run]")
        elif key.replace("-", "_") not in params:
            raise UsageError(f"`{where[:-1]}` has no option --{key}.", file=str(path), field=f"{prefix}{where}{key}",
                             expected="one of: " + ", ".join(sorted(o[2:] for p in cmd.params for o in p.opts
                                                                    if o.startswith("--") and o != "--help")))
