"""The promotion policy: per workflow and stage, the gate to enter the stage and the bounds at it.

One YAML file (``docs/policy.md``) holds both, so what a stage allows and what it takes to get there
are reviewed together. Loading is safe (plain data only), strict (unknown fields are errors) and
every error names the file, the line, the field path and what was expected.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from harness import config
from harness.errors import InvalidPolicy, UsageError
from harness.models import SEVERITIES, STAGES, Severity, Stage
from harness.stats import Method
from harness.work.toolmap import ToolRule

MAX_COUNT = 1_000_000_000
"""Counts (runs, writes, sign-offs) above this are typing mistakes, not policies: refused at load."""
MAX_AMOUNT = 1e15
NonNegInt = Annotated[int, Field(ge=0, le=MAX_COUNT, strict=True)]
PosInt = Annotated[int, Field(ge=1, le=MAX_COUNT, strict=True)]
NonNegFloat = Annotated[float, Field(ge=0, le=MAX_AMOUNT, strict=True, allow_inf_nan=False)]
PosFloat = Annotated[float, Field(gt=0, le=MAX_AMOUNT, strict=True, allow_inf_nan=False)]
Rate = Annotated[float, Field(ge=0, le=1, strict=True, allow_inf_nan=False)]
Percent = Annotated[float, Field(gt=0, le=100, strict=True, allow_inf_nan=False)]
BlastBasis = Literal["potential", "realised"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StageBounds(_Strict):
    """What the gateway enforces at a stage. None means "no limit"."""

    allowed_tools: list[str] | None = None
    """Exact tool names (no globs); None allows every tool."""
    max_writes: NonNegInt | None = None
    """Writes per run."""
    max_discount_pct: Annotated[float, Field(ge=0, le=100, strict=True)] | None = None
    allowed_recipient_domains: list[str] | None = None
    """Domains such as ``example.com`` (subdomains included); checked at load, stored lower-case."""
    protected_paths: list[str] = []
    """Absolute globs such as ``/legal/**``: the folder and everything under it, also against moves
    of a folder above it. A pattern without a leading ``/`` is refused at load."""
    max_money_exposed: NonNegFloat | None = None
    """Money exposed per run (discount × deal amount)."""


class Limit(_Strict):
    """A blast-radius limit: the largest value (``max``), or the ``percentile``-th value."""

    max: NonNegFloat
    percentile: Percent | None = None


DimLimit = Limit | list[Limit]


class BlastRadiusGate(_Strict):
    judged_on: BlastBasis = "potential"
    """potential: what the agent would have done unsupervised (the default); realised: what changed."""
    entities_touched: DimLimit | None = None
    irreversible_ops: DimLimit | None = None
    external_recipients: DimLimit | None = None
    money_exposed: DimLimit | None = None
    files_lost: DimLimit | None = None

    def limits(self) -> list[tuple[str, Limit]]:
        out = []
        for dim in ("entities_touched", "irreversible_ops", "external_recipients", "money_exposed", "files_lost"):
            value = getattr(self, dim)
            for limit in (value if isinstance(value, list) else [value] if value else []):
                out.append((dim, limit))
        return out


class Coverage(_Strict):
    min_runs_per_scenario: PosInt = 1
    scenarios: list[str] | None = None
    """The workflow's scenarios; default: every scenario of the workflow seen in the ledger."""


class Signoffs(_Strict):
    count: PosInt = 1
    """How many different people must sign off."""
    roles: list[str] = []
    """Each signer must hold one of these roles, and together they must cover all of them."""
    valid_days: PosFloat = 14.0
    """A pending sign-off lapses after this many days (and when the evidence or an incident moves on)."""
    separate_from_runners: bool = False
    """Signers must not be anyone who ran the evidence (``ran_by`` of the runs counted)."""


class Gate(_Strict):
    """The evidence needed to enter a stage, judged over a window of one agent version's runs."""

    min_runs: NonNegInt = 0
    window_runs: PosInt | None = None
    window_days: PosFloat | None = None
    max_mistake_rate: Rate | None = None
    confidence: Annotated[float, Field(ge=0.5, lt=1, strict=True)] = 0.95
    method: Method = "clopper-pearson"
    count_severities: Annotated[list[Severity], Field(min_length=1)] = list(SEVERITIES)
    max_severity: Severity | None = None
    max_errors: NonNegInt = 0
    """Harness and environment errors allowed in the window (they are not the agent's mistakes)."""
    blast_radius: BlastRadiusGate | None = None
    coverage: Coverage | None = None
    min_consecutive_clean: NonNegInt = 0
    signoffs: Signoffs = Signoffs()
    min_plans_reviewed: NonNegInt | None = None
    min_share_approved_unchanged: Rate | None = None
    count_simulated_reviews: bool = False
    """Count plans decided by a simulated reviewer (``--reviewer``) as approval evidence."""
    recertify_days: PosFloat | None = None


class StagePolicy(_Strict):
    gate: Gate | None = None
    bounds: StageBounds = StageBounds()


class SeverityTrigger(_Strict):
    """Demote when a run at the current stage has a mistake at least this severe."""

    on: Literal["severity"]
    at_least: Severity
    to: Stage
    at_stages: list[Stage] | None = None
    name: str | None = None


class RateTrigger(_Strict):
    """Demote when the mistake rate is above ``max_rate`` over both windows (a burn rate)."""

    on: Literal["mistake_rate"]
    window_runs: PosInt
    short_window_runs: PosInt
    max_rate: Rate
    to: Stage
    count_severities: Annotated[list[Severity], Field(min_length=1)] = list(SEVERITIES)
    at_stages: list[Stage] | None = None
    name: str | None = None


class IncidentTrigger(_Strict):
    """Demote when a person records an incident at least this severe (``harness incident record``)."""

    on: Literal["incident"]
    at_least: Severity
    to: Stage
    at_stages: list[Stage] | None = None
    name: str | None = None


Trigger = Annotated[SeverityTrigger | RateTrigger | IncidentTrigger, Field(discriminator="on")]


class WorkflowPolicy(_Strict):
    owner: str | None = None
    ladder: list[Stage] = list(STAGES)
    """The stages in order; every workflow starts at sandbox."""
    carry_over_versions: bool = False
    """True: a new agent version inherits the evidence of earlier versions of the same agent."""
    stages: dict[Stage, StagePolicy] = {}
    demotion: list[Trigger] = []
    tools: dict[str, dict[str, ToolRule]] = {}
    """The gateway's tool map: upstream name → upstream tool → effect, targets, money, probe."""
    cooldown_days: NonNegFloat = 0.0
    """After a demotion, no promotion of that version for this many days (and only on newer evidence)."""

    def next_stage(self, stage: str) -> str | None:
        if stage not in self.ladder:
            return self.ladder[1] if len(self.ladder) > 1 else None
        i = self.ladder.index(stage)
        return self.ladder[i + 1] if i + 1 < len(self.ladder) else None

    def gate(self, stage: str) -> Gate | None:
        entry = self.stages.get(stage)  # type: ignore[call-overload]
        return entry.gate if entry else None


class Policy(_Strict):
    version: Literal[1] = 1
    people: dict[str, list[str]] = {}
    """Person (as given to ``--by``) → roles."""
    policy_admins: list[str] = ["release-owner"]
    """Roles allowed to pin a different policy for a workflow (`harness policy pin`)."""
    workflows: dict[str, WorkflowPolicy] = {}

    _path: str | None = PrivateAttr(default=None)
    _digest: str = PrivateAttr(default="")
    _content: str = PrivateAttr(default="")

    @property
    def path(self) -> str | None:
        return self._path

    @property
    def digest(self) -> str:
        """sha256 of the policy file's bytes, recorded with every transition."""
        return self._digest

    @property
    def content(self) -> str:
        """The policy's text (YAML, or JSON for a policy built from data): what the ledger pins."""
        return self._content

    def bounds_for(self, workflow: str, stage: str) -> StageBounds:
        """What the gateway enforces for ``workflow`` at ``stage`` (empty bounds when none are set)."""
        wf = self.workflows.get(workflow)
        entry = wf.stages.get(stage) if wf else None  # type: ignore[call-overload]
        return entry.bounds if entry else StageBounds()

    def workflow(self, name: str) -> WorkflowPolicy:
        """The workflow's policy; UsageError (exit 2) naming the known ones if there is none."""
        wf = self.workflows.get(name)
        if wf is None:
            known = ", ".join(sorted(self.workflows)) or "none"
            raise UsageError(f"the policy{f' {self.path}' if self.path else ''} has no workflow {name!r} "
                             f"(it has: {known}).", expected="a workflow named in the policy")
        return wf

    def roles_of(self, person: str) -> list[str]:
        return list(self.people.get(person, []))


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and validate a policy file; default ``$HARNESS_POLICY`` or the bundled one."""
    chosen = Path(path or os.environ.get("HARNESS_POLICY") or config.default_policy_path())
    try:
        raw = chosen.read_bytes()
    except OSError as exc:
        raise InvalidPolicy(f"cannot read the file ({exc.strerror or exc}).", file=str(chosen)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidPolicy(f"the file is not valid UTF-8 (byte {exc.start}).", file=str(chosen)) from None
    return policy_from_text(text, str(chosen))


def policy_from_text(text: str, name: str) -> Policy:
    """Validate a policy given as YAML text (a file's content, or the content pinned in the ledger)."""
    from harness._policy_check import check_policy
    from harness._policy_errors import invalid_policy, normalise
    from harness.yamlsafe import MAX_BYTES, load_yaml_text

    if len(text.encode("utf-8")) > MAX_BYTES:
        raise InvalidPolicy(f"the file is over {MAX_BYTES:,} bytes; refused.", file=name)
    data, lines = load_yaml_text(text, name, InvalidPolicy)
    if not isinstance(data, dict):
        raise InvalidPolicy("the policy must be a mapping with `workflows` (and optionally `people`).",
                            file=name, line=1, expected="a YAML mapping")
    data = normalise(data)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise invalid_policy(exc, name, lines, data) from None
    check_policy(policy, name, lines)
    policy._path = name
    policy._content = text
    policy._digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return policy


def policy_from_dict(data: dict[str, Any], name: str = "<policy>") -> Policy:
    """Validate a policy given as data (tests, embedding); errors name ``name`` as the file."""
    from harness._policy_check import check_policy
    from harness._policy_errors import invalid_policy, normalise

    data = normalise(data)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise invalid_policy(exc, name, {}, data) from None
    check_policy(policy, name, {})
    policy._path = name
    policy._content = json.dumps(data, sort_keys=True, default=str)
    policy._digest = hashlib.sha256(policy._content.encode()).hexdigest()
    return policy
