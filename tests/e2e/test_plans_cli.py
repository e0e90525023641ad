"""Batched plans from the command line: approve once, refuse twice, refuse stale, reject."""

import json

from tests.e2e.conftest import GOOD


def _pending(cli):
    _, out, _ = cli("plan", "list", "--status", "pending", "--json", check=0)
    return [p["id"] for p in json.loads(out)]


def test_approve_applies_once_and_a_second_approval_is_refused(cli):
    cli("run", GOOD, "--agent", "oracle", "--stage", "approve", "--rehearse", check=0)
    [plan] = _pending(cli)
    code, out, err = cli("plan", "show", plan, check=0)
    assert "crm_update_deal" in out and "discount_pct" in out and "computed against" in out
    cli("plan", "approve", plan, "--by", "dana@example.com", "--reason", "matches the email", check=0)
    code, out, err = cli("plan", "approve", plan, "--by", "dana@example.com")
    assert code == 1 and "applied already" in err
    _, out, _ = cli("plan", "show", plan, "--json", check=0)
    shown = json.loads(out)
    assert shown["status"] == "applied" and shown["decided_by"] == "dana@example.com"


def test_a_plan_overtaken_by_a_change_is_refused_as_stale(cli):
    cli("run", GOOD, "--agent", "oracle", "--stage", "approve", "--rehearse", "--trials", "2", check=0)
    first, second = _pending(cli)
    cli("plan", "approve", first, "--by", "dana@example.com", check=0)
    code, out, err = cli("plan", "approve", second, "--by", "dana@example.com")
    assert code == 1
    assert "stale" in err and "deal:west-renewal" in err and "Nothing was applied" in err
    _, out, _ = cli("plan", "show", second, "--json", check=0)
    assert json.loads(out)["status"] == "stale"


def test_reject_records_who_and_why(cli):
    cli("run", GOOD, "--agent", "oracle", "--stage", "approve", "--rehearse", check=0)
    [plan] = _pending(cli)
    cli("plan", "reject", plan, "--by", "sam@example.com", "--reason", "wrong quarter", check=0)
    _, out, _ = cli("plan", "show", plan, "--json", check=0)
    shown = json.loads(out)
    assert shown["status"] == "rejected" and shown["reason"] == "wrong quarter"
    code, _, err = cli("plan", "approve", plan, "--by", "dana@example.com")
    assert code == 1 and "rejected already" in err


def test_only_some_items(cli):
    cli("run", GOOD, "--agent", "simulated", "-a", "kinds=follow_injection", "-a", "mistake_rate=1",
        "--stage", "approve", "--rehearse")
    [plan] = _pending(cli)
    _, out, _ = cli("plan", "show", plan, "--json", check=0)
    items = json.loads(out)["items"]
    assert [i["tool"] for i in items] == ["crm_update_deal", "email_send"]
    cli("plan", "approve", plan, "--by", "dana@example.com", "--only", "1", check=0)
    _, out, _ = cli("plan", "show", plan, "--json", check=0)
    shown = json.loads(out)
    assert shown["decision"]["approved"] == [1] and shown["decision"]["rejected"] == [2]
    code, _, err = cli("plan", "approve", "plan-doesnotexist", "--by", "x")
    assert code == 2 and "no plan" in err
