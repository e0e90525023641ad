"""Cost of audit logging per tool call.

A tool call produces a group of four events (tool_call, gateway_decision, tool_result, change;
about 1 KB of JSON). This measures, per group, ``append`` ×4 plus the amortised ``flush`` (hashing,
chaining, writing; every 256 events and at ``close``), with and without an HMAC key, against
``NullAuditLog`` (auditing off) doing the same appends. Compare the overhead with the cost of a
tool call through the toolbox (~10–30 µs): the target is overhead < 1× that cost (total < 2×).
The figure includes each log's file creation and close, amortised over ``--groups`` calls.

    python bench/bench_audit.py [--groups 2000] [--repeat 25] [--json] [--no-orjson]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.audit import AuditLog, NullAuditLog, verify_log


def group(log, i: int) -> None:
    """What the gateway appends for one write call (same shapes as harness/gateway.py)."""
    before = {"id": "west-renewal", "account_id": "acme-west", "amount": 48000.0,
              "stage": "negotiation", "discount_pct": 10.0, "owner": "sam@example.com"}
    after = dict(before, discount_pct=25.0)
    log.append("tool_call", {"call_id": i, "tool": "crm_update_deal",
                             "args": {"id": "west-renewal", "discount_pct": 25},
                             "rationale": "The customer asked for 25% in their last email."})
    log.append("gateway_decision", {"call_id": i, "decision": "allowed",
                                    "reason": "stage autonomous: writes apply directly"})
    log.append("tool_result", {"call_id": i, "ok": True, "result": after})
    log.append("change", {"call_id": i, "backend": "crm", "op": "update", "entity": "deal:deal-acme-west-renewal",
                          "before": before, "after": after, "reversible": True, "external": False,
                          "benign": False, "realised": True})


def run_once(kind: str, groups: int, folder: Path, n: int) -> float:
    """Seconds for ``groups`` tool-call groups, including close()."""
    if kind == "null":
        log = NullAuditLog()
    else:
        log = AuditLog(folder / f"{kind}-{n}.jsonl", f"bench-{kind}-{n}",
                       key=b"bench-key" if kind == "hmac" else None, fsync=False)
    start = time.perf_counter()
    log.append("run_started", {"scenario": "bench", "seed": n})
    for i in range(groups):
        group(log, i)
    log.append("run_finished", {"outcome": "pass"})
    log.close()
    return time.perf_counter() - start


def gateway_ratio(calls_per_log: int, repeat: int, folder: Path) -> dict[str, float] | None:
    """The real comparison: gateway tool calls with NullAuditLog against AuditLog, interleaved
    (so a busy machine slows both alike). None if the gateway or its test scenario is missing."""
    try:
        from harness.gateway import Gateway
        from harness.runner import SHARED_WORLDS
        from harness.scenario import load_scenario_file

        scenario = load_scenario_file(Path(__file__).resolve().parents[1] / "tests" / "data" / "good"
                                      / "minimal.yaml")
    except Exception:  # noqa: BLE001 - optional part of the benchmark
        return None
    calls = [("crm_get", {"kind": "deal", "id": "west-renewal"}),
             ("crm_update_deal", {"id": "west-renewal", "discount_pct": 5}),
             ("files_read", {"path": "/tmp/keep.csv"}),
             ("crm_create_note", {"entity": "deal:west-renewal", "body": "applied"})]
    calls = (calls * (calls_per_log // len(calls) + 1))[:calls_per_log]

    def one(audit) -> float:
        world = SHARED_WORLDS.fork(scenario)
        gateway = Gateway(world, "autonomous", audit=audit, max_steps=10**9)
        t0 = time.perf_counter()
        for tool, args in calls:
            gateway.call(tool, args, "bench")
        audit.close()
        return (time.perf_counter() - t0) / len(calls) * 1e6

    one(NullAuditLog())  # warm up (world cache, imports)
    one(AuditLog(folder / "gw-warm.jsonl", "gw-warm", fsync=False))
    off, on, ratios = [], [], []
    for n in range(repeat):
        a = one(NullAuditLog())
        b = one(AuditLog(folder / f"gw-{n}.jsonl", f"gw-{n}", fsync=False))
        off.append(a)
        on.append(b)
        ratios.append(b / a)
    return {"off_us": statistics.median(off), "on_us": statistics.median(on),
            "ratio": statistics.median(ratios)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=2000, help="tool-call groups per repeat (one log each)")
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-orjson", action="store_true", help="encode with the standard library only")
    args = parser.parse_args()
    if args.no_orjson:
        from harness.audit import _log

        _log._orjson = None

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        run_once("plain", 500, folder, -1)  # warm up
        for kind in ("null", "plain", "hmac"):
            times = [run_once(kind, args.groups, folder, n) for n in range(args.repeat)]
            per = [t / args.groups * 1e6 for t in times]
            results[kind] = {"min_us": min(per), "median_us": statistics.median(per)}
        sample = folder / "plain-0.jsonl"
        size = sample.stat().st_size
        payload_size = sum(len(json.dumps(e["payload"], separators=(",", ":"))) for e in
                           (json.loads(x) for x in sample.read_bytes().splitlines()[1:5]))
        t0 = time.perf_counter()
        report = verify_log(sample)
        verify_us = (time.perf_counter() - t0) / args.groups * 1e6
        assert report.ok, report.summary()
        gw = gateway_ratio(500, max(5, args.repeat), folder)

    bytes_per_group = size / args.groups
    null = results["null"]["median_us"]
    from harness.audit import _log

    summary = {
        "encoder": "orjson" if _log._orjson is not None else "json (standard library)",
        "groups": args.groups,
        "repeat": args.repeat,
        "bytes_per_group": round(bytes_per_group),
        "payload_bytes_per_group": payload_size,
        "null_us_per_group": round(null, 2),
        "audit_us_per_group": round(results["plain"]["median_us"], 2),
        "audit_hmac_us_per_group": round(results["hmac"]["median_us"], 2),
        "overhead_us_per_group": round(results["plain"]["median_us"] - null, 2),
        "overhead_hmac_us_per_group": round(results["hmac"]["median_us"] - null, 2),
        "best_audit_us_per_group": round(results["plain"]["min_us"], 2),
        "best_overhead_us_per_group": round(results["plain"]["min_us"] - results["null"]["min_us"], 2),
        "verify_us_per_group": round(verify_us, 2),
    }
    if gw is not None:
        summary.update({"gateway_call_us_audit_off": round(gw["off_us"], 2),
                        "gateway_call_us_audit_on": round(gw["on_us"], 2),
                        "gateway_ratio": round(gw["ratio"], 2)})
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"audit log cost per tool call (4 events: {payload_size} bytes of payload, {bytes_per_group:.0f} "
          f"bytes on disk; {args.groups} calls per log × {args.repeat} logs; median, best in brackets; "
          f"encoder: {summary['encoder']})")
    print(f"  auditing off (NullAuditLog)   {null:8.2f} µs  (building the payloads + 4 no-op appends)")
    print(f"  AuditLog                      {summary['audit_us_per_group']:8.2f} µs  "
          f"(best {summary['best_audit_us_per_group']:.2f})")
    print(f"  AuditLog with HMAC key        {summary['audit_hmac_us_per_group']:8.2f} µs  "
          f"(best {results['hmac']['min_us']:.2f})")
    print(f"  verify (for reference)        {verify_us:8.2f} µs per call")
    print()
    print(f"AUDIT OVERHEAD PER TOOL CALL: {summary['overhead_us_per_group']:.1f} µs median, "
          f"{summary['best_overhead_us_per_group']:.1f} µs best "
          f"({summary['overhead_hmac_us_per_group']:.1f} µs median with HMAC)")
    print("Compare with the cost of one toolbox call (target: overhead below it, i.e. total < 2x).")
    if gw is not None:
        print(f"GATEWAY TOOL CALL (500 calls per log, interleaved): {gw['off_us']:.1f} µs audit off, "
              f"{gw['on_us']:.1f} µs audit on -> ratio {gw['ratio']:.2f}x (median of paired runs)")


if __name__ == "__main__":
    main()
