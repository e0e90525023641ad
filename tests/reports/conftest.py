"""Fixtures: the hand-counted ledger of ``_report_ledger`` as a URL, an open Ledger, its policy and report."""

import pytest
import yaml

from harness.ledger import Ledger
from harness.policy import policy_from_dict

from ._report_ledger import NOW, POLICY, WF, build


@pytest.fixture
def policy():
    return policy_from_dict(POLICY, name="report-test-policy.yaml")


@pytest.fixture
def policy_file(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(POLICY), encoding="utf-8")
    return path


@pytest.fixture
def ledger_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger(url) as led:
        build(led)
    return url


@pytest.fixture
def ledger(ledger_url):
    with Ledger(ledger_url) as led:
        yield led


@pytest.fixture
def report(ledger, policy):
    from reports import build_report

    return build_report(ledger, policy, now=NOW)


@pytest.fixture(scope="module")
def report_module(tmp_path_factory):
    """The same report plus two production sessions, built once per test module (for tests that look at it)."""
    from reports import build_report

    url = f"sqlite:///{tmp_path_factory.mktemp('ledger') / 'ledger.db'}"
    with Ledger(url) as led:
        build(led)
        for i in range(2):
            led.open_session({"id": f"s-{i}", "workflow": WF, "agent": "careful", "agent_version": "2",
                              "stage_at_start": "suggest", "upstreams": {}, "calls": 1_234, "forwarded_reads": 1_000,
                              "forwarded_writes": 200, "refused": 34, "suggestions": 12, "started_at": NOW})
        return build_report(led, policy_from_dict(POLICY, name="report-test-policy.yaml"), now=NOW)
