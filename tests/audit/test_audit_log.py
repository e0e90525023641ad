"""Writing logs: round trip, canonical lines, payload conversion, buffering, closing, reopening."""

from __future__ import annotations

import enum
import itertools
import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import BaseModel

from harness.audit import (
    EVENT_TYPES,
    GENESIS,
    AuditLog,
    AuditLogError,
    NullAuditLog,
    log_path_for,
    read_events,
    verify_log,
)

from ._audit_helpers import EVENTS, RUN_ID, canon, write_log


def test_round_trip(log_path):
    events = read_events(log_path)
    assert [(e["type"], e["payload"]) for e in events] == EVENTS
    assert [e["seq"] for e in events] == list(range(len(EVENTS)))
    assert {e["run_id"] for e in events} == {RUN_ID}
    assert events[0]["prev"] == GENESIS
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(events))
    assert all(e["time"].endswith("Z") and datetime.fromisoformat(e["time"][:-1]) for e in events)
    report = verify_log(log_path)
    assert report.ok and report.events == len(EVENTS) and report.head == events[-1]["hash"]
    assert report.run_id == RUN_ID and report.first_bad_seq is None and report.line is None


def test_lines_are_canonical(log_path):
    for raw in log_path.read_bytes().splitlines():
        assert canon(json.loads(raw)) == raw
    assert "Café ☕".encode() in log_path.read_bytes()  # UTF-8, not \\u escapes


def test_close_returns_head_and_run_finished_is_the_terminal_event(tmp_path):
    path = tmp_path / "a.jsonl"
    log = AuditLog(path, "r1")
    log.append("run_started", {})
    log.append("run_finished", {"outcome": "pass"})
    head_before = log.head
    assert head_before is not None and len(head_before) == 64
    assert log.close() == head_before
    assert log.close() == head_before  # idempotent
    assert read_events(path)[-1]["type"] == "run_finished"
    assert verify_log(path, expected_head=head_before).ok


def test_close_without_run_finished_adds_log_closed(tmp_path):
    path = tmp_path / "a.jsonl"
    with AuditLog(path, "r1") as log:
        log.append("run_started", {})
        log.append("run_error", {"cause": "agent", "message": "boom"})
    events = read_events(path)
    assert [e["type"] for e in events] == ["run_started", "run_error", "log_closed"]
    assert events[-1]["payload"] == {"events": 2}
    assert verify_log(path).ok


def test_file_is_created_lazily_and_flushed_in_batches(tmp_path):
    path = tmp_path / "deep" / "er" / "a.jsonl"
    log = AuditLog(path, "r1", flush_every=4)
    assert path.parent.is_dir() and not path.exists()
    for i in range(3):
        log.append("agent_message", {"text": str(i)})
    assert not path.exists()
    log.append("agent_message", {"text": "3"})
    assert len(path.read_bytes().splitlines()) == 4
    log.append("agent_message", {"text": "4"})
    log.flush()
    assert len(path.read_bytes().splitlines()) == 5
    log.close()
    assert verify_log(path).ok and len(log) == 6


def test_payload_is_snapshotted_at_append(tmp_path):
    path = tmp_path / "a.jsonl"
    record = {"discount_pct": 10}
    log = AuditLog(path, "r1")
    log.append("change", {"before": record, "after": None})
    record["discount_pct"] = 99  # the live record changes later
    log.append("run_finished", {})
    log.close()
    assert read_events(path)[0]["payload"]["before"] == {"discount_pct": 10}


class Colour(enum.Enum):
    RED = "red"


class Model(BaseModel):
    a: int
    when: datetime


def test_awkward_payloads_are_converted_and_still_verify(tmp_path):
    path = tmp_path / "a.jsonl"
    cyclic: list = [1]
    cyclic.append(cyclic)
    deep: dict = {}
    node = deep
    for _ in range(300):
        node["x"] = {}
        node = node["x"]
    payloads = [
        {"tuple": (1, 2), "set": {3, 1, 2}, "when": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
         "path": Path("/tmp/x"), "bytes": b"hi", "raw": b"\xff\x00", "enum": Colour.RED,
         "model": Model(a=1, when=datetime(2025, 1, 1))},
        {"nan": float("nan"), "inf": float("-inf"), "big": 10 ** 5000},
        {"int_keys": {2: "b", 10: "a", 1: "c"}, "mixed": {1: "x", "a": "y"}, "bool_key": {True: 1, None: 2}},
        {"surrogate": "bad \udc80 text", "key\udc81": 1},
        {"cycle": cyclic, "deep": deep, "obj": object()},
        {"ctrl": "\x00\x1b[31m\u2028\u202e", "quote": 'a"b\\c', "emoji": "👩‍💻"},
    ]
    log = AuditLog(path, "r1")
    for p in payloads:
        log.append("tool_result", p)
    log.append("run_finished", {"outcome": "pass"})
    log.close()
    report = verify_log(path)
    assert report.ok, report.summary()
    got = [e["payload"] for e in read_events(path)]
    assert got[0]["tuple"] == [1, 2] and got[0]["set"] == [1, 2, 3]
    assert got[0]["when"] == "2025-01-02T03:04:05+00:00" and got[0]["path"] == "/tmp/x"
    assert got[0]["bytes"] == "hi" and got[0]["raw"].startswith("base64:") and got[0]["enum"] == "red"
    assert got[0]["model"] == {"a": 1, "when": "2025-01-01T00:00:00"}
    assert got[1]["nan"] is None and got[1]["inf"] is None and isinstance(got[1]["big"], str)
    assert got[2]["int_keys"] == {"1": "c", "10": "a", "2": "b"}
    assert got[2]["mixed"] == {"1": "x", "a": "y"} and got[2]["bool_key"] == {"true": 1, "null": 2}
    assert got[3]["surrogate"] == "bad \\udc80 text"
    assert got[4]["cycle"] == [1, "<cycle>"]
    assert got[5]["ctrl"] == "\x00\x1b[31m\u2028\u202e" and got[5]["emoji"] == "👩‍💻"


def test_numeric_looking_string_keys_stay_as_they_are(tmp_path):
    path = tmp_path / "a.jsonl"
    payload = {"10": 1, "9": 2, "-1": 3, "true": 4, "list": ["1", "2"], "x": 'he said "5": ok'}
    write_log(path, [("tool_result", payload), ("run_finished", {})])
    assert read_events(path)[0]["payload"] == payload
    assert verify_log(path).ok


def test_hmac_is_written_with_a_key(tmp_path):
    path = tmp_path / "a.jsonl"
    write_log(path, key=b"secret")
    events = read_events(path)
    assert all(len(e["hmac"]) == 64 for e in events)
    assert verify_log(path, key=b"secret").hmac_checked
    assert not verify_log(path, key=b"other").ok


def test_invalid_use(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl", "r1")
    with pytest.raises(ValueError, match="unknown audit event type"):
        log.append("tool_called", {})
    with pytest.raises(ValueError):
        log.append("log_closed", {})  # only close() writes it
    with pytest.raises(TypeError):
        log.append("tool_call", ["not", "a", "dict"])
    log.append("run_started", {})
    log.close()
    with pytest.raises(AuditLogError):
        log.append("run_finished", {})
    with pytest.raises(ValueError):
        AuditLog(tmp_path / "b.jsonl", "")


def test_an_existing_log_is_never_overwritten(log_path):
    before = log_path.read_bytes()
    with pytest.raises(AuditLogError, match="already holds an audit log"):
        AuditLog(log_path, RUN_ID)
    assert log_path.read_bytes() == before


def test_a_log_created_meanwhile_is_not_overwritten(tmp_path):
    path = tmp_path / "a.jsonl"
    log = AuditLog(path, "r1")
    path.write_bytes(b"someone else's\n")
    log.append("run_started", {})
    with pytest.raises(AuditLogError):
        log.flush()
    assert path.read_bytes() == b"someone else's\n"


def test_empty_log_writes_nothing(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl", "r1")
    assert log.head is None and log.close() == ""
    assert not (tmp_path / "a.jsonl").exists()


def test_reopen_continues_the_chain(tmp_path):
    path = tmp_path / "a.jsonl"
    write_log(path, key=b"k")
    log = AuditLog.reopen(path, key=b"k")
    assert log.run_id == RUN_ID and len(log) == len(EVENTS)
    log.append("plan_decided", {"plan_id": "plan-8", "decision": "rejected", "by": "sam"})
    head = log.close()
    events = read_events(path)
    assert [e["type"] for e in events[-2:]] == ["plan_decided", "log_closed"]
    assert verify_log(path, key=b"k", expected_head=head).ok
    with pytest.raises(AuditLogError):
        AuditLog.reopen(path)  # signed log, no key
    path.write_bytes(path.read_bytes().replace(b"plan-8", b"plan-9"))
    with pytest.raises(AuditLogError, match="does not verify"):
        AuditLog.reopen(path, key=b"k")


def test_concurrent_appends_keep_a_valid_chain(tmp_path):
    path = tmp_path / "a.jsonl"
    log = AuditLog(path, "r1", flush_every=7)

    def work(n: int) -> None:
        for i in range(200):
            log.append("agent_message", {"thread": n, "i": i})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.append("run_finished", {})
    log.close()
    report = verify_log(path)
    assert report.ok and report.events == 801


def test_null_audit_log_does_nothing(tmp_path):
    log = NullAuditLog(tmp_path / "a.jsonl", "r1", key=b"k")
    for etype in EVENT_TYPES:
        log.append(etype, {"x": object()})
    log.flush()
    assert log.head is None and log.close() == "" and not (tmp_path / "a.jsonl").exists()
    with NullAuditLog() as other:
        other.append("run_started", {})


def test_log_path_for(tmp_path, monkeypatch):
    assert log_path_for("r1", tmp_path) == tmp_path / "audit" / "r1.jsonl"
    monkeypatch.setenv("HARNESS_HOME", str(tmp_path / "home"))
    assert log_path_for("r1") == tmp_path / "home" / "audit" / "r1.jsonl"
