"""What the gateway does with a call at each granted stage: invariants over every combination."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.policy import StageBounds
from harness.work.decide import Counters, decide
from harness.work.toolmap import ToolRule

STAGES = ["sandbox", "suggest", "approve", "autonomous"]
EFFECTS = ["read", "write", "irreversible", "external"]


def _rule(effect):
    targets = [] if effect == "read" else [{"pointer": "/path", "kind": "path"},
                                           {"pointer": "/to", "kind": "recipient"}]
    return ToolRule.model_validate({"effect": effect, "targets": targets,
                                    **({"money": "amount"} if effect != "read" else {})})


calls = st.fixed_dictionaries({
    "path": st.sampled_from(["/srv/a.txt", "/srv/legal/nda.txt", "srv/b.txt", "/srv/legal"]),
    "to": st.lists(st.sampled_from(["a@acme.com", "b@sub.acme.com", "x@evil.org", "y@acme.com.evil.org"]),
                   max_size=3),
    "amount": st.floats(0, 10_000, allow_nan=False)})
bounds = st.builds(StageBounds, max_writes=st.none() | st.integers(0, 5),
                   protected_paths=st.sampled_from([[], ["/srv/legal/**"]]),
                   allowed_recipient_domains=st.none() | st.just(["acme.com"]),
                   max_money_exposed=st.none() | st.floats(0, 5000))


@given(st.sampled_from(STAGES), st.sampled_from(EFFECTS), st.booleans(), calls, bounds, st.integers(0, 6),
       st.floats(0, 5000))
def test_each_stage_does_only_what_it_allows(stage, effect, paused, args, b, writes, money):
    grant = {"stage": stage, "paused": paused, "pause": {"by": "dana", "reason": "incident"} if paused else None}
    d = decide(grant, _rule(effect), args, b, Counters(writes, money), "fs_tool")
    if stage == "sandbox":
        assert d.verdict == "refuse"
    elif effect == "read":
        assert d.verdict == "forward"
    elif paused:
        assert d.verdict == "refuse" and "paused by dana" in d.reason
    if effect != "read":
        assert d.verdict in {"sandbox": {"refuse"}, "suggest": {"refuse", "suggest"}, "approve": {"refuse", "plan"},
                             "autonomous": {"refuse", "forward"}}[stage]
    if d.verdict in ("forward", "suggest", "plan") and effect != "read":
        assert b.max_writes is None or writes + 1 <= b.max_writes
        assert not (b.protected_paths and (args["path"].startswith("/srv/legal") or not args["path"].startswith("/")))
        if b.allowed_recipient_domains:
            assert all(a.endswith("@acme.com") or a.endswith(".acme.com") for a in args["to"])
        assert b.max_money_exposed is None or money + args["amount"] <= b.max_money_exposed


def test_a_lookalike_domain_is_outside():
    b = StageBounds(allowed_recipient_domains=["acme.com"])
    d = decide({"stage": "autonomous"}, _rule("external"), {"path": "/a", "to": ["x@acme.com.evil.org"],
                                                            "amount": 1}, b, Counters(), "mail_send")
    assert d.verdict == "refuse" and "x@acme.com.evil.org" in d.reason
