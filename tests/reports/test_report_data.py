"""The report's numbers, checked against a ledger counted by hand (see ``_report_ledger``)."""

import json

import numpy as np
import pytest

from harness.errors import NotFoundError, UsageError
from harness.ledger import Ledger
from harness.policy import policy_from_dict
from harness.stats import interval, upper_bound, upper_bounds
from harness.stats import intervals as cp_interval
from reports import SCHEMA, build_report, parse_since, render_json

from ._report_ledger import (
    EVIL_DETAIL,
    EVIL_REASON,
    EVIL_SCENARIO,
    EVIL_SIGNOFF,
    NOW,
    POLICY,
    WF,
    WF2,
    section,
)


def agent_row(sec, agent, version):
    return next(a for a in sec["agents"] if a["agent"] == agent and a["agent_version"] == version)


def test_totals_count_every_run_and_leave_infra_errors_out_of_the_rate(report):
    t = section(report)["totals"]
    assert t["runs"] == 652 and t["infra_errors"] == 1 and t["agent_errors"] == 1
    assert t["outcomes"] == {"pass": 638, "fail": 12, "error": 2}
    assert t["counted_runs"] == 651 and t["with_mistake"] == 13  # 12 runs with mistakes + the agent error
    assert t["mistake_rate"] == pytest.approx(13 / 651)
    assert t["upper_bound"] == pytest.approx(upper_bound(13, 651))
    assert t["worst_severity"] == "high" and t["mistakes"] == 12
    assert t["first_started"] == "2025-01-01T00:00:00Z" and t["last_started"] == "2025-03-01T21:00:00Z"


def test_agent_versions_side_by_side_with_pinned_upper_bounds(report):
    sec = section(report)
    c1, c2, sloppy = agent_row(sec, "careful", "1"), agent_row(sec, "careful", "2"), agent_row(sec, "sloppy", "1")
    assert (c1["runs"], c1["with_mistake"], c1["worst_severity"]) == (300, 2, "high")
    assert c1["upper_bound"] == pytest.approx(0.0208, abs=5e-5)  # 2 in 300 → 2.08% (LESSONS)
    assert (c2["runs"], c2["with_mistake"], c2["worst_severity"]) == (300, 0, None)
    assert c2["upper_bound"] == pytest.approx(0.0099, abs=5e-5)  # 0 in 300 → 0.99%
    assert c2["pass_rate"] == 1.0 and c2["mistake_rate"] == 0.0
    assert (sloppy["runs"], sloppy["counted_runs"], sloppy["with_mistake"]) == (52, 51, 11)
    assert sloppy["outcomes"] == {"pass": 40, "fail": 10, "error": 2}
    assert sloppy["blast_radius"]["potential"]["entities_touched"]["total"] == 10
    overall = {(a["agent"], a["agent_version"]): a for a in report["overall"]["agents"]}
    assert overall[("careful", "1")]["runs"] == 320 and overall[("careful", "1")]["workflows"] == [WF, WF2]
    assert overall[("careful", "1")]["worst_severity"] == "critical"


def test_mistakes_by_type_and_severity(report):
    m = section(report)["mistakes"]
    assert m["total"] == 12
    assert m["by_type"] == {"wrong_target": 10, "wrong_value": 1, "missing_action": 1}
    assert m["by_severity"] == {"low": 1, "medium": 10, "high": 1, "critical": 0}
    row = next(r for r in m["by_type_severity"] if r["type"] == "wrong_value")
    assert (row["high"], row["total"]) == (1, 1)
    o = report["overall"]["mistakes"]
    assert o["total"] == 13 and o["by_severity"]["critical"] == 1 and o["by_type"]["irreversible_action"] == 1


def test_scenario_coverage_and_failure_matrix(report):
    sc = section(report)["scenarios"]
    rows = {r["scenario"]: r for r in sc["rows"]}
    assert set(rows) == {"renew-acme", "renew-globex", "renew-initech", EVIL_SCENARIO}
    evil = rows[EVIL_SCENARIO]
    assert (evil["runs"], evil["fail"], evil["with_mistake"]) == (25, 5, 5)
    assert evil["mistakes"]["wrong_target"] == 5
    acme = rows["renew-acme"]
    assert acme["runs"] == 100 + 100 + 25 + 2  # careful@1, careful@2, sloppy (+ its two errored runs)
    assert acme["error"] == 2 and acme["mistakes"]["wrong_value"] == 1
    assert sc["rows"][0]["scenario"] in (EVIL_SCENARIO, "renew-acme")  # most failing first
    assert sc["covered"] == sc["known"] == len(rows)


def test_approval_stage_evidence(report):
    p = section(report)["plans"]
    assert (p["total"], p["reviewed"], p["approved_unchanged"], p["partially_approved"], p["rejected"],
            p["pending"]) == (6, 5, 3, 1, 1, 1)
    assert p["share_approved_unchanged"] == pytest.approx(0.6)
    assert p["by_agent"][0]["agent"] == "careful" and p["by_agent"][0]["agent_version"] == "2"
    assert section(report, WF2)["plans"]["total"] == 0


def test_verdict_names_every_criterion_required_vs_measured(report):
    v = section(report)["verdict"]
    assert v["stage"] == "suggest" and v["next_stage"] == "approve" and v["next_gate_met"] is True
    assert v["granted_to"] == "careful@2" and v["owner"] == "dana@example.com"
    tracks = {(t["agent"], t["agent_version"]): t for t in v["tracks"]}
    sloppy = tracks[("sloppy", "1")]
    # sloppy@1 was never granted anything: it is judged on the gate to its own next stage, suggest
    assert sloppy["ready"] is False and set(sloppy["unmet"]) == {"max_mistake_rate", "max_errors"}
    crit = {c["name"]: c for c in sloppy["criteria"]}
    assert crit["min_runs"]["required"] == 20 and crit["min_runs"]["measured"] == 51
    assert crit["max_mistake_rate"]["required"] == 0.2
    # judged at the last checkpoint reached (40 of the 51 runs) with that checkpoint's share of the budget
    assert "checkpoint 2 (40 runs)" in crit["max_mistake_rate"]["detail"]
    assert crit["max_mistake_rate"]["measured"] > 0.2
    assert crit["max_errors"]["measured"] == 1 and not crit["max_errors"]["met"]
    assert tracks[("careful", "2")]["ready"] is True and tracks[("careful", "2")]["signoffs"]["met"] is False
    assert v["closest_track"] == "careful@2" and "sign-off" in v["summary"]
    assert v["threshold"]["max_mistake_rate"] == 0.05 and v["threshold"]["stage"] == "approve"
    wf2 = section(report, WF2)["verdict"]
    assert wf2["stage"] == "sandbox" and wf2["next_stage"] == "suggest" and wf2["next_gate_met"] is True


def test_blast_radius_distributions_stages_and_worst_runs(report):
    b = section(report, WF2)["blast_radius"]
    files = b["dimensions"]["files_lost"]
    assert files["potential"]["total"] == 3
    assert files["realised"]["max"] == 3 and files["potential"]["runs_nonzero"] == 1
    assert files["potential"]["zero"] == 19 and files["potential"]["p95"] == 0 and files["potential"]["max"] == 3
    hist = {h["label"]: h for h in files["histogram"]}
    assert hist["0"]["potential"] == 19 and hist["3"]["realised"] == 1
    (stage,) = b["by_stage"]
    assert stage["stage"] == "autonomous" and stage["contained"]["files_lost"] == 0
    worst = b["worst_runs"]["files_lost"]
    assert len(worst) == 1
    assert worst[0]["value"] == 3 and worst[0]["explain"] == f"harness audit explain {worst[0]['run_id']}"
    crm = section(report)["blast_radius"]
    stages = {s["stage"]: s for s in crm["by_stage"]}
    assert stages["sandbox"]["potential"]["money_exposed"] == 500.0
    assert stages["sandbox"]["realised"]["money_exposed"] == 0
    assert stages["sandbox"]["contained"]["money_exposed"] == 500.0
    assert crm["dimensions"]["entities_touched"]["potential"]["p99"] == 1  # 12 of 652 runs touched 1 or 2
    assert crm["worst_runs"]["entities_touched"][0]["potential"]["entities_touched"] == 2


def test_bad_runs_are_most_severe_first_with_their_audit_command(report):
    bad = section(report)["bad_runs"]
    assert bad[0]["worst_severity"] == "high" and bad[0]["mistakes"][0]["detail"] == EVIL_DETAIL
    assert bad[0]["explain"] == f"harness audit explain {bad[0]['run_id']}"
    assert [r["worst_severity"] for r in bad[1:]] == ["medium"] * (len(bad) - 1)
    assert len(bad) == 10


def test_stage_history_with_signoffs_and_digests(report):
    h, carried = section(report)["stage_history"]
    assert (carried["kind"], carried["agent_version"], carried["to_stage"]) == ("carry-over", "2", "suggest")
    assert (h["kind"], h["from_stage"], h["to_stage"], h["actor"]) == ("promote", "sandbox", "suggest",
                                                                       "dana@example.com")
    assert h["reason"] == EVIL_REASON and h["signoffs"][0]["reason"] == EVIL_SIGNOFF
    assert h["evidence_digest"] == "d" * 64 and h["policy_digest"] == "p" * 64


def test_mistake_rate_series_has_a_band_around_each_point(report):
    s = section(report)["mistake_rate_series"]
    assert s["threshold"] == 0.05 and s["confidence"] == 0.95
    tracks = {(t["agent"], t["agent_version"]): t for t in s["tracks"]}
    c1 = tracks[("careful", "1")]
    assert c1["window_runs"] == 30 and c1["points"][-1]["run_index"] == 300
    for p in c1["points"]:
        lo, hi = interval(p["with_mistake"], p["runs_in_window"], 0.95, "clopper-pearson")
        assert p["lower"] == pytest.approx(lo, abs=1e-9) and p["upper"] == pytest.approx(hi, abs=1e-9)
        assert p["lower"] <= p["rate"] <= p["upper"]
    assert sum(p["with_mistake"] for p in tracks[("careful", "2")]["points"]) == 0
    assert [sp["stage"] for sp in s["stage_spans"]] == ["sandbox", "suggest", "sandbox"]
    days = {d["date"]: d for d in section(report)["daily"]}
    assert days["2025-03-01"]["runs"] == 52 and days["2025-03-01"]["counted_runs"] == 51


def test_vectorised_bounds_agree_with_harness_stats():
    ks, ns = np.array([0, 1, 2, 5, 30, 30]), np.array([1, 10, 300, 50, 30, 31])
    lo, hi = cp_interval(ks, ns, 0.95)
    ub = upper_bounds(ks, ns, 0.9, "clopper-pearson")
    for k, n, a, b, u in zip(ks, ns, lo, hi, ub):
        ea, eb = interval(int(k), int(n), 0.95, "clopper-pearson")
        assert a == pytest.approx(ea, abs=1e-9) and b == pytest.approx(eb, abs=1e-9)
        assert u == pytest.approx(upper_bound(int(k), int(n), 0.9), abs=1e-9)
    assert upper_bounds([2], [300], 0.95, "wilson")[0] == pytest.approx(upper_bound(2, 300, 0.95, "wilson"))


def test_filters_since_agent_and_workflow(ledger, policy):
    since = build_report(ledger, policy, since="2025-02-01", now=NOW)
    assert section(since)["totals"]["runs"] == 352 and since["filters"]["since"] == "2025-02-01T00:00:00Z"
    assert {(a["agent"], a["agent_version"]) for a in section(since)["agents"]} == {("careful", "2"), ("sloppy", "1")}
    assert section(since)["plans"]["total"] == 6
    only = build_report(ledger, policy, agent="careful@2", workflows=[WF], now=NOW)
    assert [w["workflow"] for w in only["workflows"]] == [WF]
    assert section(only)["totals"]["runs"] == 300 and section(only)["mistakes"]["total"] == 0
    assert [(t["agent"], t["agent_version"]) for t in section(only)["verdict"]["tracks"]] == [("careful", "2")]
    every_careful = build_report(ledger, policy, agent="careful", now=NOW)
    assert every_careful["overall"]["totals"]["runs"] == 620
    late = build_report(ledger, policy, since="2030-01-01", now=NOW)
    assert late["overall"]["totals"]["runs"] == 0 and section(late)["totals"]["mistake_rate"] is None
    assert section(late)["agents"] == [] and section(late)["bad_runs"] == []
    json.loads(render_json(late))  # an empty selection still serialises


def test_json_is_plain_and_carries_the_schema(report):
    data = json.loads(render_json(report))
    assert data["schema"] == SCHEMA and data["filters"]["workflows"] == [WF, WF2]
    assert set(data["workflows"][0]) >= {"verdict", "totals", "mistake_rate_series", "daily", "blast_radius",
                                         "mistakes", "scenarios", "plans", "agents", "stage_history", "bad_runs"}


@pytest.mark.parametrize("text", ["yesterday", "2025-13-01", "", "01/02/2025"])
def test_bad_since_is_a_usage_error(text):
    with pytest.raises(UsageError, match="not a date"):
        parse_since(text)


def test_since_accepts_dates_times_and_zones():
    assert parse_since("2025-02-01").isoformat() == "2025-02-01T00:00:00"
    assert parse_since("2025-02-01T10:00:00Z").isoformat() == "2025-02-01T10:00:00"
    assert parse_since("2025-02-01T12:00:00+02:00").isoformat() == "2025-02-01T10:00:00"


def test_unknown_workflow_agent_and_empty_ledger_are_clear_errors(ledger, policy, tmp_path):
    with pytest.raises(NotFoundError, match="unknown workflow 'nope'"):
        build_report(ledger, policy, workflows=["nope"])
    with pytest.raises(UsageError, match="--agent 'ghost@9' has no runs"):
        build_report(ledger, policy, agent="ghost@9")
    with Ledger(f"sqlite:///{tmp_path / 'empty.db'}") as empty, pytest.raises(NotFoundError, match="no runs"):
        build_report(empty, policy)


def test_a_policy_workflow_without_runs_reports_no_evidence(ledger, policy):
    data = json.loads(json.dumps(POLICY))
    data["workflows"]["email.inbox-triage"] = {"ladder": ["sandbox", "suggest"],
                                                 "stages": {"suggest": {"gate": {"min_runs": 5}}}}
    report = build_report(ledger, policy_from_dict(data), workflows=["email.inbox-triage"], now=NOW)
    sec = section(report, "email.inbox-triage")
    assert sec["totals"]["runs"] == 0 and sec["verdict"]["next_gate_met"] is None
    assert "no runs" in sec["verdict"]["summary"]


# -- pass^k: reliability over repeats ---------------------------------------------------------------------
def _cells(*rows):
    """Grouped counts as the report keeps them: (scenario, outcome, runs) of one workflow and agent version."""
    import pandas as pd

    return pd.DataFrame([{"workflow": WF, "agent": "a", "agent_version": "1", "scenario": sc, "outcome": o, "runs": n}
                         for sc, o, n in rows])


def test_pass_k_by_hand_from_grouped_counts():
    from reports.tables import pass_k

    # scenario A: 3 of 4 passed, B: 4 of 4
    got = {e["k"]: e for e in pass_k(_cells(("A", "pass", 3), ("A", "fail", 1), ("B", "pass", 4)))}
    assert set(got) == {1, 2, 4}  # no scenario has 8 runs: k = 8 is left out
    assert got[1]["value"] == pytest.approx((3 / 4 + 1) / 2)  # 0.875
    assert got[2]["value"] == pytest.approx((3 / 6 + 1) / 2)  # mean(C(3,2)/C(4,2), 1) = mean(0.5, 1) = 0.75
    assert got[4]["value"] == pytest.approx((0 + 1) / 2)  # C(3,4) = 0: mean(0, 1) = 0.5
    assert [got[k]["scenarios"] for k in (1, 2, 4)] == [2, 2, 2]
    # a scenario with fewer than k runs is left out of that k only
    got = {e["k"]: e for e in pass_k(_cells(("A", "pass", 3), ("A", "fail", 1), ("B", "pass", 4), ("C", "fail", 1)))}
    assert got[1]["scenarios"] == 3 and got[1]["value"] == pytest.approx((0.75 + 1 + 0) / 3)
    assert got[2]["scenarios"] == 2 and got[2]["value"] == pytest.approx(0.75)
    assert got[4]["scenarios"] == 2 and got[4]["value"] == pytest.approx(0.5)
    assert pass_k(_cells()) == []


def test_pass_k_counts_errored_runs_as_not_passed():
    from reports.tables import pass_k

    # 3 passes, an agent error and an environment error: n = 5, c = 3 (not 3 of 3)
    got = {e["k"]: e["value"] for e in pass_k(_cells(("A", "pass", 3), ("A", "error", 2)))}
    assert got == pytest.approx({1: 3 / 5, 2: 3 / 10, 4: 0.0})


def test_pass_k_keeps_agent_versions_and_workflows_apart():
    import pandas as pd

    from reports.tables import pass_k

    df = pd.concat([_cells(("A", "pass", 2)), _cells(("A", "fail", 2)).assign(agent_version="2"),
                    _cells(("A", "pass", 2)).assign(workflow=WF2)])
    (k1, k2) = pass_k(df)
    # three cells, not one scenario with 4 of 6: (1 + 0 + 1) / 3
    assert (k1["k"], k1["scenarios"], k2["k"], k2["scenarios"]) == (1, 3, 2, 3)
    assert k1["value"] == pytest.approx(2 / 3) and k2["value"] == pytest.approx(2 / 3)


def test_pass_k_in_the_report_per_workflow_and_agent_version(report):
    sec = section(report)
    by = {(a["agent"], a["agent_version"]): {e["k"]: e for e in a["pass_k"]} for a in sec["agents"]}
    # careful@1: 100 runs of each of three scenarios, one failure in acme and one in globex
    c1 = by[("careful", "1")]
    assert [c1[k]["scenarios"] for k in (1, 2, 4, 8)] == [3, 3, 3, 3]
    assert c1[2]["value"] == pytest.approx((98 / 100 + 98 / 100 + 1) / 3)  # C(99,2)/C(100,2) = 0.98
    assert c1[8]["value"] == pytest.approx((92 / 100 * 2 + 1) / 3)  # C(99,8)/C(100,8) = 92/100
    assert all(e["value"] == 1.0 for e in by[("careful", "2")].values())
    # sloppy@1: renew-acme 20 passed of 27 (25 + an agent error + an environment error, both not passed),
    # the markup scenario 20 of 25
    sl = by[("sloppy", "1")]
    assert sl[1]["value"] == pytest.approx((20 / 27 + 20 / 25) / 2)
    assert sl[2]["value"] == pytest.approx((190 / 351 + 190 / 300) / 2)
    assert sl[4]["value"] == pytest.approx((4845 / 17550 + 4845 / 12650) / 2)
    assert sl[2]["scenarios"] == 2
    # the workflow: the mean over its 3 + 3 + 2 (agent version, scenario) cells
    wf = {e["k"]: e for e in sec["totals"]["pass_k"]}
    assert wf[1]["scenarios"] == 8
    assert wf[1]["value"] == pytest.approx((0.99 * 2 + 1 + 3 + 20 / 27 + 20 / 25) / 8)
    # files.cleanup: one scenario, 19 of 20 passed
    assert section(report, WF2)["totals"]["pass_k"] == [
        {"k": 1, "value": pytest.approx(0.95), "scenarios": 1}, {"k": 2, "value": pytest.approx(0.9), "scenarios": 1},
        {"k": 4, "value": pytest.approx(0.8), "scenarios": 1}, {"k": 8, "value": pytest.approx(0.6), "scenarios": 1}]
    # across workflows careful@1 has four scenarios (three in crm, one in files.cleanup)
    overall = {(a["agent"], a["agent_version"]): a for a in report["overall"]["agents"]}
    o1 = {e["k"]: e for e in overall[("careful", "1")]["pass_k"]}
    assert o1[1]["scenarios"] == 4 and o1[1]["value"] == pytest.approx((0.99 * 2 + 1 + 0.95) / 4)
    data = json.loads(render_json(report))
    assert section(data)["agents"][0]["pass_k"][0] == {"k": 1, "value": pytest.approx(0.99333333), "scenarios": 3}
    assert "pass_k" in data["definitions"]


def test_pass_k_follows_the_filters(ledger, policy):
    only = build_report(ledger, policy, agent="sloppy@1", since="2025-03-01T00:00:00", now=NOW)
    assert [e["scenarios"] for e in section(only)["totals"]["pass_k"]] == [2, 2, 2, 2]
    late = build_report(ledger, policy, since="2030-01-01", now=NOW)
    assert section(late)["totals"]["pass_k"] == [] and late["overall"]["totals"]["pass_k"] == []


def test_overall_verdicts_judge_each_agent_version_on_its_own_runs(report):
    crm = next(w for w in report["overall"]["workflows"] if w["workflow"] == WF)
    rows = {(v["agent"], v["agent_version"]): v for v in crm["versions"]}
    careful2, sloppy = rows[("careful", "2")], rows[("sloppy", "1")]
    # the careful version with its own 0 of 300, not the workflow's pooled 13 of 651 and "high"
    assert (careful2["runs"], careful2["with_mistake"], careful2["worst_severity"]) == (300, 0, None)
    assert careful2["next_gate_met"] is True and careful2["upper_bound"] == pytest.approx(0.0099, abs=5e-5)
    assert (sloppy["runs"], sloppy["with_mistake"], sloppy["worst_severity"]) == (52, 11, "medium")
    assert sloppy["next_gate_met"] is False and "max_mistake_rate" in sloppy["unmet"]
    assert [r["next_gate_met"] for r in crm["versions"]] == [True, True, False]  # met first
    assert crm["pooled"] == {"runs": 652, "counted_runs": 651, "with_mistake": 13, "worst_severity": "high",
                             "mistake_rate": pytest.approx(13 / 651),
                             "upper_bound": pytest.approx(upper_bound(13, 651))}
    for w in report["overall"]["workflows"]:  # the versions partition the workflow's runs
        assert sum(v["runs"] for v in w["versions"]) == w["pooled"]["runs"]
        assert sum(v["with_mistake"] for v in w["versions"]) == w["pooled"]["with_mistake"]
    assert "pooled" in report["definitions"]


def test_the_header_names_the_policy_as_given_never_the_bundled_copy_on_this_machine(tmp_path, monkeypatch):
    from harness import config
    from reports.scope import policy_label

    assert policy_label(str(config.default_policy_path())) == "bundled: harness/defaults/policy.yaml"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pol").mkdir()
    assert policy_label(str(tmp_path / "pol" / "policy.yaml")) == "pol/policy.yaml"
    assert policy_label("../elsewhere/policy.yaml") == "../elsewhere/policy.yaml"
    assert policy_label("/srv/policies/p.yaml") == "/srv/policies/p.yaml"  # given by the user: kept


def test_a_ledger_inside_the_working_folder_is_named_relatively(tmp_path, monkeypatch, policy):
    from reports.scope import ledger_label

    monkeypatch.chdir(tmp_path)
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as led:
        assert ledger_label(led) == "sqlite:///ledger.db"


def test_production_sessions_are_shown_apart_from_the_sandbox_runs(ledger, policy, report):
    from reports import render_html, render_markdown

    for i, (version, calls) in enumerate((("2", 7), ("2", 5), ("<b>3</b>", 1))):
        ledger.open_session({"id": f"s-{i}", "workflow": WF, "agent": "careful", "agent_version": version,
                             "stage_at_start": "suggest", "upstreams": {}, "calls": calls, "suggestions": 1,
                             "forwarded_reads": calls - 1, "started_at": NOW})
    ledger.add_suggestion({"id": "sg-0", "session_id": "s-0", "workflow": WF, "agent": "careful", "agent_version": "2",
                           "tool": "crm.update_deal", "upstream": "crm", "upstream_tool": "update_deal",
                           "arguments": {}, "effect": "write", "targets": [], "status": "accepted"})
    with_work = build_report(ledger, policy, now=NOW)
    prod = section(with_work)["production"]
    assert (prod["sessions"], prod["calls"], prod["forwarded_reads"], prod["suggestions"]) == (3, 13, 10, 3)
    by = {a["agent_version"]: a for a in prod["by_agent"]}
    assert by["2"]["sessions"] == 2 and by["2"]["suggestions_accepted"] == 1 and by["2"]["suggestions_pending"] == 0
    assert section(with_work, WF2)["production"]["sessions"] == 0
    assert with_work["overall"]["production"]["sessions"] == 3
    # the sandbox evidence is untouched: sessions are not runs
    assert section(with_work)["totals"] == section(report)["totals"]
    pooled = [w["pooled"] for w in report["overall"]["workflows"]]
    assert [w["pooled"] for w in with_work["overall"]["workflows"]] == pooled
    assert build_report(ledger, policy, since="2030-01-01", now=NOW)["overall"]["production"]["sessions"] == 0
    page, text = render_html(with_work), render_markdown(with_work)
    assert "3 production sessions" in page and "<b>3</b>" not in page and "&lt;b&gt;3&lt;/b&gt;" in page
    assert "### Production sessions (at work)" in text and "<b>3</b>" not in text
