"""Turn ``--agent SPEC`` into an agent provider: a built-in name or ``module:attribute``.

``module:attribute`` may name:
- an agent: a callable taking ``(task, tools)`` (sync or async); its name is the attribute's name
  and its version ``__version__`` (attribute or module) unless ``--agent-version`` says otherwise;
- a factory: any other callable; it is called with the ``-a`` options as keyword arguments and
  must return an agent (or an object with ``name``, ``version`` and ``bind(scenario, seed)``).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path
from typing import Any

from harness.agents._api import CallableProvider
from harness.agents._openai import OpenAIProvider
from harness.agents._oracle import DoNothingProvider, OracleProvider
from harness.agents._replay import ReplayProvider
from harness.agents._simulated import SimulatedProvider
from harness.errors import UnknownAgent

BUILTINS = {
    "oracle": OracleProvider,
    "simulated": SimulatedProvider,
    "replay": ReplayProvider,
    "noop": DoNothingProvider,
    "openai": OpenAIProvider,
}


def parse_options(pairs: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UnknownAgent(f"agent option {pair!r} is not key=value.", field="-a/--agent-arg",
                               expected="key=value, e.g. -a mistake_rate=0.3")
        options[key.strip()] = value.strip()
    return options


def _looks_like_agent(obj: Any) -> bool:
    try:
        params = [p for p in inspect.signature(obj).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    names = [p.name for p in params]
    return len(params) == 2 and names[0] == "task" and names[1] in ("tools", "toolbox")


def load_agent(spec: str, options: dict[str, str] | None = None, version: str | None = None,
               isolate: bool = False):
    """The provider ``spec`` names, with its spec digest attached (see ``harness.agents._spec``).
    ``isolate``: a ``module:attribute`` agent runs in worker processes and is never imported here."""
    from harness.agents._spec import attach

    return attach(_load_agent(spec, dict(options or {}), version, isolate), spec, dict(options or {}))


def _load_agent(spec: str, options: dict[str, str], version: str | None, isolate: bool = False):
    options = dict(options)
    if spec in BUILTINS:
        try:
            provider = BUILTINS[spec](**options)
        except (ValueError, TypeError) as exc:
            raise UnknownAgent(f"bad options for the {spec} agent: {exc}.", field="-a/--agent-arg") from None
        if version:
            provider.version = version
        return provider
    if isolate and ":" in spec:
        from harness.agents._isolated import IsolatedProvider

        return IsolatedProvider(spec, options, version)
    if ":" not in spec:
        raise UnknownAgent(f"unknown agent {spec!r}.", field="--agent",
                           expected=f"a built-in ({', '.join(BUILTINS)}) or an import path module:attribute")
    module_name, _, attr = spec.partition(":")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's agent's problem
        raise UnknownAgent(f"cannot import module {module_name!r} for agent {spec!r}: "
                           f"{type(exc).__name__}: {exc}.", field="--agent",
                           expected="an importable module (run from the folder that contains it)") from None
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise UnknownAgent(f"module {module_name!r} has no attribute {attr!r}.", field="--agent",
                               expected="module:attribute naming an agent or a factory")
    if hasattr(obj, "bind") and hasattr(obj, "name"):
        provider = obj
    elif _looks_like_agent(obj):
        if options:
            raise UnknownAgent(f"agent {spec!r} is a plain agent and takes no -a options.", field="-a")
        provider = CallableProvider(obj, name=getattr(obj, "__name__", attr),
                                    version=str(getattr(obj, "__version__", getattr(module, "__version__", "0"))))
    elif callable(obj):
        try:
            built = obj(**options)
        except Exception as exc:  # noqa: BLE001
            raise UnknownAgent(f"the factory {spec!r} failed: {type(exc).__name__}: {exc}.",
                               field="--agent") from None
        if hasattr(built, "bind") and hasattr(built, "name"):
            provider = built
        elif callable(built):
            provider = CallableProvider(built, name=getattr(built, "__name__", attr),
                                        version=str(getattr(built, "__version__",
                                                            getattr(module, "__version__", "0"))))
        else:
            raise UnknownAgent(f"the factory {spec!r} returned {type(built).__name__}, not an agent.",
                               field="--agent", expected="a callable agent(task, tools)")
    else:
        raise UnknownAgent(f"{spec!r} is a {type(obj).__name__}, not an agent.", field="--agent",
                           expected="a callable agent(task, tools) or a factory returning one")
    if version:
        provider.version = version
    try:  # a user's code: its async agent gets its own event loop, so the time limit holds
        provider.trusted = False
    except (AttributeError, TypeError):
        pass
    return provider
