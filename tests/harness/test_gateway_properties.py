"""Properties of the gateway, checked with hypothesis over random sequences of agent calls:

- in ``suggest`` no sequence of calls changes the world (only benign read flags);
- in ``approve`` only approved items change the world, exactly once;
- a blocked call never reaches a backend.
"""

from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import PlanRefused
from harness.gateway import Gateway
from harness.plans import apply_plan, make_plan
from harness.runner import SHARED_WORLDS

DEALS = ["west-renewal", "east-renewal", "deal-00001", "nope"]
PATHS = ["/tmp/old-export.csv", "/tmp/keep.csv", "/legal/contract.pdf", "/tmp/new.txt", "../../etc/passwd"]
ADDRESSES = ["dana@example.com", "x@outside.io", "jane@acme.com"]

calls = st.one_of(
    st.builds(lambda d, p: ("crm_update_deal", {"id": d, "discount_pct": p}), st.sampled_from(DEALS),
              st.sampled_from([0, 5, 10, 25, 60, -1])),
    st.builds(lambda d: ("crm_create_note", {"entity": f"deal:{d}", "body": "note"}), st.sampled_from(DEALS)),
    st.builds(lambda d: ("crm_delete_record", {"kind": "deal", "id": d}), st.sampled_from(DEALS)),
    st.builds(lambda p: ("files_delete", {"path": p}), st.sampled_from(PATHS)),
    st.builds(lambda p, c: ("files_write", {"path": p, "content": c}), st.sampled_from(PATHS), st.text(max_size=5)),
    st.builds(lambda a, b: ("files_move", {"src": a, "dst": b}), st.sampled_from(PATHS), st.sampled_from(PATHS)),
    st.builds(lambda a: ("email_send", {"to": [a], "subject": "s", "body": "b"}), st.sampled_from(ADDRESSES)),
    st.builds(lambda a: ("email_draft", {"to": [a], "subject": "s", "body": "b"}), st.sampled_from(ADDRESSES)),
    st.just(("crm_search", {"query": "Acme"})),
    st.just(("files_list", {"path": "/", "recursive": True})),
    st.just(("no_such_tool", {})),
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _non_benign(changes):
    return [c for c in changes if not c.benign]


@SETTINGS
@given(sequence=st.lists(calls, max_size=12))
def test_suggest_never_changes_the_world(minimal_scenario, sequence):
    world = SHARED_WORLDS.fork(minimal_scenario)
    before = world.digest()
    gateway = Gateway(world, "suggest", max_steps=100)
    for tool, args in sequence:
        reply = gateway.call(tool, args)
        assert reply.get("status") in (None, "suggested")
    assert _non_benign(world.journal.all()) == []
    assert world.digest() == before or all(c.benign for c in world.journal.all())


@SETTINGS
@given(sequence=st.lists(calls, min_size=1, max_size=10), data=st.data())
def test_approve_applies_only_approved_items_exactly_once(minimal_scenario, sequence, data):
    world = SHARED_WORLDS.fork(minimal_scenario)
    gateway = Gateway(world, "approve", max_steps=100)
    for tool, args in sequence:
        gateway.call(tool, args)
    assert _non_benign(world.journal.all()) == []  # nothing applied before the decision
    if not gateway.planned:
        return
    scenario = minimal_scenario
    plan = make_plan("run-x", scenario, SimpleNamespace(name="a", version="1"), gateway.calls)
    chosen = data.draw(st.lists(st.sampled_from([i.index for i in plan.items]), unique=True, min_size=1))
    start = len(world.journal)
    try:
        changes = apply_plan(plan, world, chosen)
    except PlanRefused:
        # all or nothing: a failing item leaves the world untouched
        assert _non_benign(world.journal.since(start)) == []
        return
    applied = _non_benign(world.journal.since(start))
    assert applied == _non_benign(changes)
    # every change comes from an approved item's entities (creates aside)
    approved_tools = [plan.items[i - 1] for i in chosen]
    assert len(applied) >= sum(1 for item in approved_tools if item.diff) or not applied
    # a second application is refused and changes nothing
    again = len(world.journal)
    try:
        apply_plan(plan, world, chosen)
        raise AssertionError("a plan was applied twice")
    except PlanRefused:
        pass
    assert len(world.journal) == again


@SETTINGS
@given(sequence=st.lists(calls, max_size=12), stage=st.sampled_from(["sandbox", "autonomous", "suggest", "approve"]))
def test_blocked_calls_never_reach_a_backend(minimal_scenario, sequence, stage):
    bounds = SimpleNamespace(allowed_tools=None, max_writes=3, max_discount_pct=15.0,
                             allowed_recipient_domains=["example.com"], protected_paths=["/tmp/keep.csv"],
                             max_money_exposed=None)
    world = SHARED_WORLDS.fork(minimal_scenario)
    gateway = Gateway(world, stage, bounds=bounds, max_steps=100)
    for tool, args in sequence:
        before = len(world.journal)
        reply = gateway.call(tool, args)
        record = gateway.calls[-1]
        if record.decision == "blocked":
            assert reply["ok"] is False and reply["error"] == "blocked"
            assert len(world.journal) == before
            assert record.realised == []
    writes = [c for c in gateway.calls if c.decision == "allowed" and c.effect not in (None, "read")]
    assert len(writes) <= 3


def test_bounds_messages_say_why(minimal_scenario):
    bounds = SimpleNamespace(allowed_tools=None, max_writes=None, max_discount_pct=15.0,
                             allowed_recipient_domains=["example.com"], protected_paths=["/tmp/**"],
                             max_money_exposed=None)
    gateway = Gateway(SHARED_WORLDS.fork(minimal_scenario), "autonomous", bounds=bounds)
    assert "exceeds the stage bound of 15%" in gateway.call("crm_update_deal", {"id": "west-renewal",
                                                                                "discount_pct": 25})["message"]
    assert "outside the allowed domains" in gateway.call("email_send", {"to": ["x@evil.io"], "subject": "s",
                                                                        "body": "b"})["message"]
    assert "is protected at this stage" in gateway.call("files_delete", {"path": "/tmp/keep.csv"})["message"]
    # the potential blast radius still sees what was attempted
    assert any(c.entity == "deal:west-renewal" for c in gateway.potential)
    assert gateway.realised == []
