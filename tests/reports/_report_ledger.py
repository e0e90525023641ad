"""A small ledger whose report numbers are known by hand.

crm.renewal-discounts (promoted to suggest; the approve gate is next):
  careful@1  300 runs in January, 2 with a mistake (one high, one low)       → upper bound 2.08%
  careful@2  300 runs in February at suggest, none with a mistake            → upper bound 0.99%
  sloppy@1    52 runs in March: 10 with a medium mistake, 1 agent error, 1 environment error
plus six plans of careful@2 (3 approved, 1 partially approved, 1 rejected, 1 pending) and one
transition whose reason and sign-off carry markup.

files.cleanup: 20 runs of careful@1 at autonomous, one with a critical mistake that lost 3 files.

Every piece of free text an agent or scenario author controls carries a distinct payload, so the
escaping tests can tell which one leaked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from harness.ledger import Ledger
from harness.models import BlastRadii, BlastRadius, Mistake, RunError, RunResult

WF = "crm.renewal-discounts"
WF2 = "files.cleanup"
EVIL_SCENARIO = "<script>alert(1)</script>"
EVIL_DETAIL = "<script>alert(2)</script> | col"
EVIL_SIGNOFF = "<script>alert(3)</script>"
EVIL_REASON = "<img src=x onerror=alert(4)> | ok"
EVIL_ENTITY = "deal:<b>bold</b>"
PAYLOADS = (EVIL_SCENARIO, EVIL_DETAIL, EVIL_SIGNOFF, EVIL_REASON, EVIL_ENTITY)

POLICY = {
    "people": {"dana@example.com": ["release-owner", "risk"]},
    "workflows": {
        WF: {"owner": "dana@example.com", "stages": {
            "suggest": {"gate": {"min_runs": 20, "max_mistake_rate": 0.2}},
            "approve": {"gate": {"min_runs": 100, "window_runs": 300, "max_mistake_rate": 0.05,
                                 "max_severity": "high"}},
            "autonomous": {"gate": {"min_runs": 300, "max_mistake_rate": 0.02}}}},
        WF2: {"stages": {"suggest": {"gate": {"min_runs": 10}}, "approve": {"gate": {"min_runs": 10}},
                         "autonomous": {"gate": {"min_runs": 10, "max_mistake_rate": 0.1}}}},
    },
}

_COUNTER = [0]


def run(*, workflow=WF, agent="careful", version="1", scenario="renew-acme", stage="sandbox",
        mistakes=(), error=None, when: datetime, realised=None, potential=None) -> RunResult:
    _COUNTER[0] += 1
    n = _COUNTER[0]
    items = [Mistake(type=t, severity=s, entity=e, detail=d) for t, s, e, d in mistakes]
    outcome = "error" if error else ("fail" if items else "pass")
    return RunResult(
        run_id=f"run-{n:05d}", scenario=scenario, scenario_digest="sha256:" + "0" * 16, workflow=workflow,
        tier="medium", agent=agent, agent_version=version, stage=stage, trial=0, seed=n, outcome=outcome,
        mistakes=items, error=RunError(cause=error, message=f"{error} trouble") if error else None,
        blast_radius=BlastRadii(realised=BlastRadius(**(realised or {})), potential=BlastRadius(**(potential or {}))),
        started_at=when.isoformat(), tool_calls=3)


def build(ledger: Ledger) -> None:
    jan, feb, mar = datetime(2025, 1, 1), datetime(2025, 2, 1), datetime(2025, 3, 1)
    scenarios = ("renew-acme", "renew-globex", "renew-initech")
    batch = []
    for i in range(300):
        mistakes, potential = (), None
        if i == 9:
            mistakes = (("wrong_value", "high", EVIL_ENTITY, EVIL_DETAIL),)
            potential = {"money_exposed": 500.0, "entities_touched": 2}
        elif i == 199:
            mistakes = (("missing_action", "low", "deal:acme", "forgot the note"),)
        batch.append(run(scenario=scenarios[i % 3], mistakes=mistakes, potential=potential,
                         when=jan + timedelta(minutes=10 * i)))
    ledger.record_runs(batch)
    ledger.record_transition(workflow=WF, expected_version=0, from_stage="sandbox", to_stage="suggest",
                             kind="promote", actor="dana@example.com", reason=EVIL_REASON, agent="careful",
                             agent_version="1", evidence_digest="d" * 64, policy_digest="p" * 64,
                             signoff_list=[{"person": "dana@example.com", "roles": ["release-owner"],
                                            "reason": EVIL_SIGNOFF, "at": "2025-01-31T12:00:00Z",
                                            "evidence_digest": "d" * 64}])
    ledger.record_transition(workflow=WF, agent="careful", agent_version="2", expected_version=0,
                             from_stage="sandbox", to_stage="suggest", kind="carry-over",
                             actor="policy:carry_over_versions", reason="version 2 inherits suggest",
                             source="carried-over", carried_from="careful@1")
    ledger.record_runs([run(version="2", stage="suggest", scenario=scenarios[i % 3],
                            when=feb + timedelta(minutes=10 * i)) for i in range(300)])
    sloppy = []
    for i in range(50):
        bad = (i + 1) % 5 == 0
        sloppy.append(run(agent="sloppy", scenario=EVIL_SCENARIO if i % 2 else "renew-acme",
                          mistakes=(("wrong_target", "medium", "deal:globex", "updated the wrong deal"),) if bad
                          else (), potential={"entities_touched": 1, "external_recipients": 1} if bad else None,
                          when=mar + timedelta(minutes=10 * i)))
    sloppy.append(run(agent="sloppy", error="agent", when=mar + timedelta(hours=20)))
    sloppy.append(run(agent="sloppy", error="environment", when=mar + timedelta(hours=21)))
    ledger.record_runs(sloppy)
    for i, status in enumerate(("approved", "approved", "approved", "partially_approved", "rejected", "pending")):
        ledger.save_plan({"id": f"plan-{i}", "workflow": WF, "agent": "careful", "agent_version": "2",
                          "status": status, "items": [], "created_at": f"2025-02-{10 + i:02d}T10:00:00"})
    ledger.record_runs([run(workflow=WF2, scenario="tidy-tmp", stage="autonomous",
                            mistakes=(("irreversible_action", "critical", "file:/legal/a.pdf", "deleted it"),)
                            if i == 4 else (), potential={"files_lost": 3} if i == 4 else None,
                            realised={"files_lost": 3} if i == 4 else None,
                            when=mar + timedelta(days=1, minutes=i)) for i in range(20)])


NOW = datetime(2025, 3, 10)
"""The report's clock: gates are evaluated as of this moment."""


def section(report: dict, workflow: str = WF) -> dict:
    return next(w for w in report["workflows"] if w["workflow"] == workflow)
