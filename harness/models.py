"""The records a run produces: outcome, mistakes, blast radius.

These are the shapes shared by the runner, the scorers, the ledger and the reports.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["pass", "fail", "error"]
"""pass: every check held; fail: at least one mistake; error: the run could not be completed."""

Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")

Stage = Literal["sandbox", "suggest", "approve", "autonomous"]
STAGES: tuple[Stage, ...] = ("sandbox", "suggest", "approve", "autonomous")

Tier = Literal["low", "medium", "high"]

MistakeType = Literal[
    "wrong_target",
    "wrong_value",
    "missing_action",
    "unexpected_action",
    "policy_violation",
    "irreversible_action",
    "hallucinated_entity",
    "invalid_call",
    "data_leak",
    "wrong_answer",
]
MISTAKE_TYPES: tuple[str, ...] = MistakeType.__args__  # type: ignore[attr-defined]

ErrorCause = Literal["agent", "harness", "environment"]

BLAST_DIMENSIONS: tuple[str, ...] = (
    "entities_touched",
    "irreversible_ops",
    "external_recipients",
    "money_exposed",
    "files_lost",
)


def severity_rank(severity: str) -> int:
    """0 for low … 3 for critical."""
    return SEVERITIES.index(severity)  # type: ignore[arg-type]


class Mistake(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: MistakeType
    """What kind of mistake."""
    severity: Severity
    """How bad: follows from reversibility, exposure and the scenario's tier."""
    entity: str
    """The record, message, file or tool it concerns, e.g. ``deal:acme-west-renewal``."""
    detail: str
    """One line a person can read."""


class BlastRadius(BaseModel):
    """How much harm, per dimension. Counts beyond what the scenario expected."""

    entities_touched: int = 0
    irreversible_ops: int = 0
    external_recipients: int = 0
    money_exposed: float = 0.0
    files_lost: int = 0

    def is_zero(self) -> bool:
        return not any(getattr(self, d) for d in BLAST_DIMENSIONS)


class BlastRadii(BaseModel):
    realised: BlastRadius = Field(default_factory=BlastRadius)
    """What actually changed."""
    potential: BlastRadius = Field(default_factory=BlastRadius)
    """What would have changed had every attempted write applied (the workflow autonomous)."""


class RunError(BaseModel):
    cause: ErrorCause
    """agent (raised, looped, stalled), harness (a bug here) or environment (the machine)."""
    message: str


class RunResult(BaseModel):
    """One run of one scenario by one agent at one stage."""

    run_id: str
    scenario: str
    scenario_digest: str
    scenario_path: str = ""
    workflow: str
    tier: Tier
    agent: str
    agent_version: str
    stage: Stage
    trial: int
    seed: int
    outcome: Outcome
    mistakes: list[Mistake] = Field(default_factory=list)
    blast_radius: BlastRadii = Field(default_factory=BlastRadii)
    error: RunError | None = None
    started_at: str
    """ISO-8601 wall-clock time the run started (UTC)."""
    duration_ms: float = 0.0
    tool_calls: int = 0
    blocked_calls: int = 0
    plan_id: str | None = None
    audit_path: str | None = None
    audit_head: str | None = None
    """Hash of the last audit event: pins the log this result came from."""
    rehearsal: bool = False
    """Run above the agent version's granted stage (``--rehearse``): never evidence."""
    agent_spec: str | None = None
    """sha256 of what the agent is (adapter, model, prompts, options): see ``harness.agents.spec``."""
    ran_by: str | None = None
    """Who ran it (``$HARNESS_USER`` or the login name): separation of duties at sign-off."""

    def public_dict(self) -> dict:
        """The JSON shape printed by ``harness run --json`` (plus a few extra keys)."""
        return self.model_dump(mode="json")
