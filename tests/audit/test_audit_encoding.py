"""The writer's encoding is exactly the canonical one, with or without orjson installed."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.audit import _log, canonical_bytes, read_events, verify_log

from ._audit_helpers import EVENTS, write_log


@pytest.fixture(params=["orjson", "stdlib"])
def encoder(request, monkeypatch):
    if request.param == "orjson":
        assert _log._orjson is not None, "orjson is a dependency of the project: reinstall it"
    else:
        monkeypatch.setattr(_log, "_orjson", None)
    return request.param


FLOATS = [0.0, -0.0, 1.0, 0.1, 1e-4, 9.99e-5, 1e-5, 1.5e-7, 5e-324, 1e15, 9999999999999998.0, 1e16,
          1.2345678901234568e17, 1e21, 1.7976931348623157e308, -1e-300, 48000.0, 0.30000000000000004]


@pytest.mark.parametrize("x", FLOATS)
def test_floats_are_canonical(encoder, x):
    payload = {"x": x, "nested": [x, {"y": -x}]}
    data = _log.encode_payload(payload)
    assert data == canonical_bytes(payload) == canonical_bytes(json.loads(data))


def test_both_encoders_write_the_same_log_bytes(tmp_path, monkeypatch):
    assert _log._orjson is not None, "orjson is a dependency of the project: reinstall it"
    payloads = [p for _, p in EVENTS]
    fast = [_log.encode_payload(p) for p in payloads]
    monkeypatch.setattr(_log, "_orjson", None)
    slow = [_log.encode_payload(p) for p in payloads]
    assert fast == slow


def test_log_written_without_orjson_verifies(tmp_path, encoder):
    path = tmp_path / "a.jsonl"
    write_log(path, events=EVENTS + [])
    assert verify_log(path).ok
    assert [e["payload"] for e in read_events(path)] == [p for _, p in EVENTS]


json_like = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=6) | st.integers(-20, 20), inner, max_size=4),
    max_leaves=16)


@settings(max_examples=200, deadline=None)
@given(payload=st.dictionaries(st.text(max_size=6), json_like, max_size=5))
def test_property_any_payload_is_written_canonically(payload):
    for fast in (True, False):
        saved = _log._orjson
        if not fast:
            _log._orjson = None
        try:
            data = _log.encode_payload(payload)
        finally:
            _log._orjson = saved
        parsed = json.loads(data)
        assert canonical_bytes(parsed) == data
        if all(isinstance(k, str) for k in payload):
            assert set(parsed) == set(payload)


def test_awkward_floats_through_the_log(tmp_path, encoder):
    path = tmp_path / "a.jsonl"
    payloads = [{"x": x} for x in FLOATS] + [{"rates": FLOATS, "n": 3}]
    write_log(path, events=[("tool_result", p) for p in payloads] + [("run_finished", {})])
    report = verify_log(path)
    assert report.ok, report.summary()
    assert [e["payload"] for e in read_events(path)][:-1] == payloads
