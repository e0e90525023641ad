"""Checks a scenario beyond its schema: its tools exist, and it can tell good from bad.

A scenario is rejected when its reference solution does not pass its own expectations, or when an
agent that does nothing would pass a scenario that needs action (the "do-nothing agent scored
1.0" trap). Both are run here, on the scenario's own world.
"""

from __future__ import annotations

from pydantic import ValidationError

from harness.errors import InvalidScenario
from harness.scenario import Scenario
from harness.tools import CATALOGUE
from harness.yamlsafe import Lines, format_path


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
    _check_self_consistent(scenario, lines)


def _check_self_consistent(scenario: Scenario, lines: Lines) -> None:
    import asyncio

    from harness.agents import DoNothingProvider, OracleProvider
    from harness.runner import SHARED_WORLDS, RunConfig, run_one  # late: the runner imports this module's users

    worlds = SHARED_WORLDS
    config = RunConfig(audit_dir=None)
    try:
        worlds.base(scenario)
    except Exception as exc:  # noqa: BLE001 - bad explicit records surface as a fake's error
        raise InvalidScenario(f"the world cannot be built: {getattr(exc, 'message', exc)}.",
                              file=scenario.path, field="world", line=_line(lines, ("world",))) from None
    oracle, _ = asyncio.run(run_one(scenario, OracleProvider(), 0, config, worlds)) \
        if not _loop_running() else _run_in_thread(scenario, OracleProvider(), config, worlds)
    if oracle.outcome != "pass":
        problems = "; ".join(f"{m.type} on {m.entity}: {m.detail}" for m in oracle.mistakes[:3])
        if oracle.error:
            problems = oracle.error.message
        raise InvalidScenario(f"the reference solution does not pass its own expectations ({problems}).",
                              file=scenario.path, field="reference", line=_line(lines, ("reference",)),
                              expected="a reference solution that makes exactly the expected changes")
    noop, _ = asyncio.run(run_one(scenario, DoNothingProvider(), 0, config, worlds)) \
        if not _loop_running() else _run_in_thread(scenario, DoNothingProvider(), config, worlds)
    if scenario.expect.outcome == "act" and noop.outcome == "pass":
        raise InvalidScenario("an agent that does nothing passes this scenario.", file=scenario.path,
                              field="expect.changes", line=_line(lines, ("expect",)),
                              expected="expectations that doing nothing cannot satisfy "
                                       "(or expect.outcome: nothing if doing nothing is right)")


def _loop_running() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _run_in_thread(scenario, provider, config, worlds):
    import asyncio
    import concurrent.futures

    from harness.runner import run_one

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(run_one(scenario, provider, 0, config, worlds))).result()
