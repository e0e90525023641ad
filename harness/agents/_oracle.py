"""The oracle plays a scenario's reference solution: the yardstick every scenario must pass."""

from __future__ import annotations

from typing import Any

from harness.agents._api import Task, Toolbox


class OracleProvider:
    name = "oracle"
    version = "1"

    def __init__(self, **options: Any):
        if options:
            raise ValueError(f"the oracle takes no options (got {', '.join(options)})")

    def bind(self, scenario: Any, seed: int):
        steps = list(scenario.reference)
        answer = scenario.reference_answer

        async def oracle(task: Task, tools: Toolbox) -> None:
            for step in steps:
                tools.call_json(step.tool, dict(step.args), step.rationale or "reference solution")
            if answer is not None:
                tools.say(answer)

        return oracle


class DoNothingProvider:
    """Calls nothing. A scenario that needs action must fail it."""

    name = "noop"
    version = "1"

    def __init__(self, **options: Any):
        if options:
            raise ValueError(f"the noop agent takes no options (got {', '.join(options)})")

    def bind(self, scenario: Any, seed: int):
        async def noop(task: Task, tools: Toolbox) -> None:
            tools.think("doing nothing")

        return noop
