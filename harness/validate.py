"""Checks a scenario beyond its schema: its tools exist, and it can tell good from bad.

Two steps. ``check_scenario`` is static and runs on every load: tools and their arguments, a
reference solution where action is expected. ``self_check`` builds the scenario's world and runs it:
the scenario is rejected when its reference solution does not pass its own expectations, or when
an agent that does nothing would pass a scenario that needs action (the "do-nothing agent scored
1.0" trap). It is an explicit step (``harness scenarios validate``, the test suite), so loading a
suite to run it never builds worlds it does not run.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from harness.errors import InvalidScenario
from harness.scenario import Scenario
from harness.tools import CATALOGUE
from harness.yamlsafe import Lines, format_path, load_yaml


def _line(lines: Lines, path: tuple) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def _check_calls(scenario: Scenario, lines: Lines, calls: list, where: tuple) -> None:
    for i, call in enumerate(calls):
        path = where + (i,)
        spec = CATALOGUE.get(call.tool)
        if spec is None:
            raise InvalidScenario(f"unknown tool {call.tool!r}.", file=scenario.path,
                                  field=format_path(path + ("tool",)), line=_line(lines, path + ("tool",)),
                                  expected="one of " + ", ".join(CATALOGUE))
        try:
            spec.args.model_validate(call.args)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = path + ("args",) + tuple(err["loc"])
            raise InvalidScenario(f"invalid argument for {call.tool}: {err['msg']}.", file=scenario.path,
                                  field=format_path(loc), line=_line(lines, loc),
                                  expected=f"arguments matching the {call.tool} schema "
                                           "(see `harness tools --format openai`)") from None


def check_scenario(scenario: Scenario, lines: Lines) -> None:
    _check_calls(scenario, lines, scenario.reference, ("reference",))
    for k, session in enumerate(scenario.sessions):
        _check_calls(scenario, lines, session, ("sessions", k))
    for i, tool in enumerate(scenario.forbid.tools):
        if tool not in CATALOGUE:
            raise InvalidScenario(f"unknown tool {tool!r}.", file=scenario.path,
                                  field=f"forbid.tools[{i}]", line=_line(lines, ("forbid", "tools", i)),
                                  expected="one of " + ", ".join(CATALOGUE))
    if scenario.expect.outcome == "act" and not scenario.reference:
        raise InvalidScenario("the scenario expects action but has no reference solution.",
                              file=scenario.path, field="reference", line=_line(lines, ("expect",)),
                              expected="a list of tool calls that solves the task")


def validate_scenario_file(path: Path) -> Scenario:
    """Load ``path`` (schema and static checks) and run its self-check; ``InvalidScenario`` if either fails."""
    from harness.scenario import parse_scenario

    data, lines = load_yaml(path, InvalidScenario)
    scenario = parse_scenario(data, lines, str(path))
    check_scenario(scenario, lines)
    self_check(scenario, lines)
    return scenario


def self_check(scenario: Scenario, lines: Lines | None = None) -> None:
    """Build the world, run the reference solution (must pass) and a do-nothing agent (must fail)."""
    from harness.agents import DoNothingProvider, OracleProvider
    from harness.runner import SHARED_WORLDS, RunConfig, run_one  # late: the runner imports this module's users

    lines = lines or {}
    worlds = SHARED_WORLDS
    config = RunConfig(audit_dir=None)
    worlds.base(scenario)  # InvalidScenario naming the world when its records cannot be built
    oracle, _ = _run(run_one(scenario, OracleProvider(), 0, config, worlds))
    if oracle.outcome != "pass":
        problems = "; ".join(f"{m.type} on {m.entity}: {m.detail}" for m in oracle.mistakes[:3])
        if oracle.error:
            problems = oracle.error.message
        raise InvalidScenario(f"the reference solution does not pass its own expectations ({problems}).",
                              file=scenario.path, field="reference", line=_line(lines, ("reference",)),
                              expected="a reference solution that makes exactly the expected changes")
    noop, _ = _run(run_one(scenario, DoNothingProvider(), 0, config, worlds))
    if scenario.expect.outcome == "act" and noop.outcome == "pass":
        raise InvalidScenario("an agent that does nothing passes this scenario.", file=scenario.path,
                              field="expect.changes", line=_line(lines, ("expect",)),
                              expected="expectations that doing nothing cannot satisfy "
                                       "(or expect.outcome: nothing if doing nothing is right)")


def _run(coro):
    """Run ``coro`` to completion, in a thread of its own when an event loop is already running here."""
    import asyncio
    import concurrent.futures

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
