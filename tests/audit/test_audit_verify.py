"""Verifying logs: every kind of tampering is caught and named; intact logs pass."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.audit import read_events, verify_bytes, verify_events, verify_log
from harness.errors import NotFoundError

from ._audit_helpers import EVENTS, canon, lines_of, rechain, write_log


def check(path, data: bytes, **kw):
    path.write_bytes(data)
    return verify_log(path, **kw)


def test_intact_log_verifies(log_path):
    report = verify_log(log_path)
    assert report.ok and bool(report) and report.events == len(EVENTS)
    assert report.summary().startswith(f"OK: {len(EVENTS)} events, head {report.head[:12]}")


def test_payload_edit(log_path):
    data = log_path.read_bytes()
    edited = data.replace(b'"discount_pct":25', b'"discount_pct":15', 1)
    assert edited != data
    report = check(log_path, edited)
    assert not report.ok and report.first_bad_seq == 5 and report.line == 6
    assert "hash does not match" in report.reason
    assert report.summary().startswith("TAMPERED: event #5 (line 6): ")


def test_payload_edit_with_recomputed_hash_breaks_the_next_link(log_path):
    recs = [json.loads(x) for x in lines_of(log_path)]
    recs[5]["payload"]["args"]["discount_pct"] = 15
    forged = rechain(recs)
    lines = forged.splitlines(keepends=True)
    # only event 5 is rewritten (with a valid hash of its own); the rest are left as they were
    data = b"".join(lines_of(log_path)[:5] + lines[5:6] + lines_of(log_path)[6:])
    report = check(log_path, data)
    assert not report.ok and report.first_bad_seq == 6 and "prev does not match" in report.reason


def test_deleting_a_middle_line(log_path):
    lines = lines_of(log_path)
    report = check(log_path, b"".join(lines[:4] + lines[5:]))
    assert not report.ok and report.first_bad_seq == 4 and report.line == 5
    assert "found seq 5 where 4 was expected" in report.reason and "missing" in report.reason


def test_deleting_the_first_line(log_path):
    report = check(log_path, b"".join(lines_of(log_path)[1:]))
    assert not report.ok and report.first_bad_seq == 0


def test_inserting_a_forged_line_with_a_consistent_hash(log_path):
    lines = lines_of(log_path)
    recs = [json.loads(x) for x in lines]
    fake = dict(recs[6], payload={"call_id": 2, "decision": "allowed", "reason": "looks fine"})
    forged = rechain(recs[:6] + [fake]).splitlines(keepends=True)[-1]  # seq 6, links to event 5
    report = check(log_path, b"".join(lines[:6] + [forged] + lines[6:]))
    assert not report.ok and report.first_bad_seq == 7  # the forged event itself checks out …
    assert "found seq 6 where 7 was expected" in report.reason  # … the next one gives it away


def test_swapping_two_lines(log_path):
    lines = lines_of(log_path)
    lines[3], lines[4] = lines[4], lines[3]
    report = check(log_path, b"".join(lines))
    assert not report.ok and report.first_bad_seq == 3


def test_duplicated_line(log_path):
    lines = lines_of(log_path)
    report = check(log_path, b"".join(lines[:5] + [lines[4]] + lines[5:]))
    assert not report.ok and report.first_bad_seq == 5


def test_truncation_last_line_removed(log_path):
    lines = lines_of(log_path)
    report = check(log_path, b"".join(lines[:-1]))
    assert not report.ok and report.first_bad_seq == len(lines) - 1 and report.line == len(lines)
    assert report.reason.startswith("truncated")
    assert report.events == len(lines) - 1


@pytest.mark.parametrize("keep", [1, 10, 100])
def test_truncation_partial_last_line(log_path, keep):
    data = log_path.read_bytes()
    last_start = data.rstrip(b"\n").rfind(b"\n") + 1
    report = check(log_path, data[:last_start + keep])
    assert not report.ok and report.first_bad_seq == len(EVENTS) - 1
    assert "incomplete" in report.reason


def test_missing_final_newline(log_path):
    report = check(log_path, log_path.read_bytes()[:-1])
    assert not report.ok and "incomplete" in report.reason


def test_truncation_to_many_events(log_path):
    lines = lines_of(log_path)
    for n in range(1, len(lines)):
        assert not verify_bytes(b"".join(lines[:n])).ok


def test_empty_log(log_path):
    report = check(log_path, b"")
    assert not report.ok and report.first_bad_seq == 0 and "empty" in report.reason


def test_prev_edit(log_path):
    lines = lines_of(log_path)
    rec = json.loads(lines[7])
    rec["prev"] = "f" * 64
    lines[7] = canon(rec) + b"\n"
    report = check(log_path, b"".join(lines))
    assert not report.ok and report.first_bad_seq == 7 and "prev" in report.reason


@pytest.mark.parametrize("change", [
    (b'":', b'": '),          # a space after a colon: still valid JSON, same parsed content
    (b",", b", "),
    (b"}\n", b"} \n"),
    (b"\n", b"\r\n"),
    (b"\xc3\xa9", b"\\u00e9"),  # é written as an escape
    (b"48000.0", b"48000.00"),
    (b"48000.0", b"4.8e4"),
])
def test_insignificant_changes_are_detected(log_path, change):
    data = log_path.read_bytes()
    assert change[0] in data
    edited = data.replace(change[0], change[1], 1)
    parsed_same = [json.loads(x) for x in edited.splitlines()] == [json.loads(x) for x in data.splitlines()]
    assert parsed_same or change[0] == b"\n"
    report = check(log_path, edited)
    assert not report.ok and "canonical" in report.reason


def test_blank_line_and_extra_field_and_key_order(log_path):
    lines = lines_of(log_path)
    assert not verify_bytes(b"".join(lines[:3] + [b"\n"] + lines[3:])).ok
    rec = json.loads(lines[2])
    rec["note"] = "x"
    assert "unexpected field" in verify_bytes(b"".join(lines[:2] + [canon(rec) + b"\n"] + lines[3:])).reason
    rec = json.loads(lines[2])
    rec = {"type": rec.pop("type"), **rec}  # same content, "type" first
    reordered = json.dumps(rec, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    assert reordered != lines[2]
    assert "canonical" in verify_bytes(b"".join(lines[:2] + [reordered] + lines[3:])).reason


def test_events_from_another_log_are_detected(tmp_path, log_path):
    recs = [json.loads(x) for x in lines_of(log_path)]
    recs[3]["run_id"] = "run-other"
    report = verify_bytes(rechain(recs))
    assert not report.ok and report.first_bad_seq == 3 and "run_id" in report.reason


def test_consistent_rewrite_without_the_key_is_caught_with_the_key(tmp_path):
    path = tmp_path / "a.jsonl"
    write_log(path, key=b"secret")
    recs = [json.loads(x) for x in lines_of(path)]
    recs[6]["payload"]["decision"] = "allowed"
    for stripped in (True, False):
        if stripped:  # signatures removed, hashes recomputed
            forged = rechain(recs)
        else:  # signatures kept but now stale, hashes recomputed
            forged = b"".join(
                canon(dict(json.loads(x), hmac=r["hmac"])) + b"\n"
                for x, r in zip(rechain(recs).splitlines(), recs))
        assert verify_bytes(forged).ok  # without the key the chain looks fine …
        report = verify_bytes(forged, key=b"secret")  # … with it, it does not
        assert not report.ok, stripped
        assert report.first_bad_seq == (0 if stripped else 6)
        assert "hmac" in report.reason


def test_wrong_key_and_partially_signed(tmp_path):
    path = tmp_path / "a.jsonl"
    write_log(path, key=b"secret")
    assert not verify_log(path, key=b"wrong").ok
    recs = [json.loads(x) for x in lines_of(path)]
    signed = rechain(recs, key=b"secret").splitlines(keepends=True)
    unsigned = rechain(recs).splitlines(keepends=True)
    mixed = b"".join(signed[:3]) + b"".join(
        canon(dict(json.loads(u))) + b"\n" for u in unsigned[3:])
    report = verify_bytes(mixed)
    assert not report.ok


def test_expected_head(log_path):
    head = verify_log(log_path).head
    assert verify_log(log_path, expected_head=head).ok
    assert verify_log(log_path, expected_head=head.upper()).ok
    report = verify_log(log_path, expected_head="1" * 64)
    assert not report.ok and "recorded for this run" in report.reason
    assert report.summary().startswith("TAMPERED: the log's head")


def test_cut_back_to_an_earlier_terminal_event_needs_the_head(tmp_path):
    path = tmp_path / "a.jsonl"
    head_one = write_log(path, events=[("run_started", {}), ("run_finished", {"outcome": "pass"})])
    from harness.audit import AuditLog
    log = AuditLog.reopen(path)
    log.append("plan_decided", {"plan_id": "p", "decision": "approved", "by": "dana"})
    head_two = log.close()
    cut = b"".join(lines_of(path)[:2])
    assert verify_bytes(cut).ok  # a complete-looking log …
    assert verify_bytes(cut, expected_head=head_one).ok
    assert not verify_bytes(cut, expected_head=head_two).ok  # … but not the one the ledger recorded


def test_missing_file(tmp_path):
    with pytest.raises(NotFoundError):
        verify_log(tmp_path / "nope.jsonl")
    with pytest.raises(NotFoundError):
        verify_log(tmp_path)


def test_verify_events_from_parsed_events(log_path):
    events = read_events(log_path)
    assert verify_events(events).ok
    events[3]["payload"]["decision"] = "blocked"
    assert not verify_events(events).ok


# -- any single-byte change is detected ------------------------------------------------------------

def _small_log(tmp_path_factory=None) -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "a.jsonl"
        write_log(path, events=EVENTS[:3] + EVENTS[5:8] + EVENTS[-1:])
        return path.read_bytes()


SMALL = _small_log()


def test_every_single_byte_change_is_detected_exhaustively():
    assert verify_bytes(SMALL).ok
    for pos in range(len(SMALL)):
        old = SMALL[pos]
        for new in {old ^ 0x01, old ^ 0x20, old ^ 0x80, ord(" "), ord("\n"), ord("0"), ord('"')} - {old}:
            mutated = SMALL[:pos] + bytes([new]) + SMALL[pos + 1:]
            assert not verify_bytes(mutated).ok, (pos, old, new)


def test_every_single_byte_deletion_and_space_insertion_is_detected():
    for pos in range(len(SMALL)):
        assert not verify_bytes(SMALL[:pos] + SMALL[pos + 1:]).ok, pos
        assert not verify_bytes(SMALL[:pos] + b" " + SMALL[pos:]).ok, pos


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_property_single_byte_flip_on_the_run_log(data):
    pos = data.draw(st.integers(0, len(SMALL) - 1), label="pos")
    new = data.draw(st.integers(0, 255).filter(lambda b: b != SMALL[pos]), label="new byte")
    mutated = SMALL[:pos] + bytes([new]) + SMALL[pos + 1:]
    assert not verify_bytes(mutated).ok


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
event_lists = st.lists(
    st.tuples(st.sampled_from(["agent_message", "tool_call", "gateway_decision", "tool_result", "change"]),
              st.dictionaries(st.text(max_size=8), json_values, max_size=5)),
    min_size=1, max_size=6)


def _log_bytes(events, key=None) -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "a.jsonl"
        write_log(path, events=[("run_started", {"seed": 1})] + events + [("run_finished", {})], key=key,
                  fsync=False)
        return path.read_bytes()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=event_lists, key=st.none() | st.just(b"k3y"), data=st.data())
def test_property_generated_log_verifies_and_any_byte_flip_fails(events, key, data):
    raw = _log_bytes(events, key)
    assert verify_bytes(raw, key=key).ok
    pos = data.draw(st.integers(0, len(raw) - 1), label="pos")
    new = data.draw(st.integers(0, 255).filter(lambda b: b != raw[pos]), label="new byte")
    mutated = raw[:pos] + bytes([new]) + raw[pos + 1:]
    assert not verify_bytes(mutated, key=key).ok
