"""A demotion or a pause recorded while a session runs applies from its very next tool call."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.gateway import Gateway
from harness.models import STAGES
from harness.runner import SHARED_WORLDS
from tests.harness.test_gateway_properties import calls


def _non_benign(changes):
    return [c for c in changes if not c.benign]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(st.tuples(calls, st.sampled_from(STAGES), st.booleans()), min_size=1, max_size=12))
def test_the_gateway_never_acts_above_the_current_grant(minimal_scenario, sequence):
    """Whatever the grant does between calls, no call acts above it, a pause refuses every write,
    and the gateway's stage never rises above where the run started."""
    world = SHARED_WORLDS.fork(minimal_scenario)
    gateway = Gateway(world, "autonomous", max_steps=100)
    grant = {"stage": "autonomous", "paused": None}
    gateway.watch = lambda: (grant["stage"], grant["paused"])
    lowest = "autonomous"
    for (tool, args), stage, paused in sequence:
        grant["stage"], grant["paused"] = stage, ("investigating" if paused else None)
        lowest = min(lowest, stage, key=STAGES.index)
        before = len(world.journal)
        reply = gateway.call(tool, args)
        record = gateway.calls[-1]
        assert gateway.stage == lowest  # lowered with the grant, never raised again
        realised = _non_benign(world.journal.since(before))
        if paused and record.effect not in (None, "read"):
            assert record.decision in ("blocked", "invalid") and not realised, (tool, reply)
        if lowest == "suggest" or (lowest == "approve" and record.decision == "planned"):
            assert not realised


def test_pause_and_demotion_are_told_to_the_agent(minimal_scenario):
    world = SHARED_WORLDS.fork(minimal_scenario)
    gateway = Gateway(world, "autonomous")
    grant = {"stage": "autonomous", "paused": "paused by dana: investigating"}
    gateway.watch = lambda: (grant["stage"], grant["paused"])
    reply = gateway.call("files_delete", {"path": "/tmp/old-export.csv"})
    assert reply["error"] == "blocked" and "paused" in reply["message"]
    grant["paused"], grant["stage"] = None, "approve"
    reply = gateway.call("files_delete", {"path": "/tmp/keep.csv"})
    assert reply["status"] == "planned"
