"""Benchmark of the fake backends: build, fork, reset and single operations.

    python bench/bench_fakes.py [--quick]

Builds a 10,000-account / 20,000-contact / 10,000-deal / 50,000-message / 5,000-file world, then
times fork() and reset() of a world carrying ~20 writes (targets: < 1 ms) and single read and write
operations called directly on the fakes (the harness toolbox overhead is measured elsewhere).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakes import World, build_world  # noqa: E402

LARGE = {"accounts": 10_000, "contacts": 20_000, "deals": 10_000, "notes": 5_000, "messages": 50_000,
         "files": 5_000}


def twenty_writes(world: World, round_: int) -> None:
    """A typical run's writes: deal updates, notes, a send, a read, file writes and a move."""
    for i in range(1, 9):
        world.crm.update_deal(f"deal-{i:05d}", discount_pct=float((i + round_) % 30))
    for i in range(1, 5):
        world.crm.create_note(f"deal:deal-{i:05d}", f"note {round_}")
    world.mail.send(["ana@acme.com"], "offer", "body")
    world.mail.draft(["ana@acme.com"], "later", "body")
    world.mail.read("msg-00001")
    for i in range(4):
        world.files.write(f"/bench/run-{round_}/f{i}.txt", "x" * 100)
    world.files.move(f"/bench/run-{round_}", f"/bench/done-{round_}")


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def main() -> None:
    quick = "--quick" in sys.argv
    counts = {k: v // 10 for k, v in LARGE.items()} if quick else LARGE
    repeats = 200 if quick else 1000
    rows: list[tuple[str, str, str, str]] = []

    t0 = time.perf_counter()
    base = build_world(2026, counts)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rebuilt = build_world(2026, counts)
    rebuild_s = time.perf_counter() - t0
    assert rebuilt.digest() == base.digest()
    rows.append(("build_world (first, Faker pools for the seed)", f"{build_s:.2f} s", "", "1"))
    rows.append(("build_world (same seed again, pools cached)", f"{rebuild_s:.2f} s", "", "1"))

    world = base.fork()
    twenty_writes(world, 0)
    changes = len(world.journal)

    fork_samples = timed(world.fork, repeats)
    reset_samples = []
    for r in range(repeats):
        scratch = base.fork()
        twenty_writes(scratch, r)
        t0 = time.perf_counter()
        scratch.reset()
        reset_samples.append(time.perf_counter() - t0)
        assert scratch.digest() == base.digest()
    digest_samples = timed(world.digest, repeats)

    for label, samples in ((f"fork() of a world with {changes} changes", fork_samples),
                           (f"reset() after {changes} changes", reset_samples),
                           (f"digest() with {changes} changes", digest_samples)):
        med, p95 = stats(samples)
        rows.append((label, f"{med * 1e3:.3f} ms", f"{p95 * 1e3:.3f} ms", str(len(samples))))

    ops = base.fork()
    n = 20_000 if not quick else 5_000
    ids = [f"deal-{(i % counts['deals']) + 1:05d}" for i in range(n)]
    get = timed_iter(lambda i: ops.crm.get("deal", ids[i]), n)
    upd = timed_iter(lambda i: ops.crm.update_deal(ids[i], discount_pct=float(i % 50)), n)
    ops.reset()
    write = timed_iter(lambda i: ops.files.write(f"/bench/f{i % 500}.txt", "content"), n)
    ops.reset()
    first_search = timed(lambda: ops.crm.search("zzzz-no-match"), 1) + timed(
        lambda: ops.mail.search("zzzz-no-match"), 1)
    rows.append(("first crm + mail search (builds the shared text index)",
                 f"{sum(first_search) * 1e3:.0f} ms", "", "1"))
    search = timed(lambda: ops.crm.search("zzzz-no-match"), 50)
    msearch = timed(lambda: ops.mail.search("zzzz-no-match"), 50)
    for label, samples in (("crm.get (read)", get), ("crm.update_deal (write)", upd),
                           ("files.write (write)", write),
                           ("crm.search, no match (scans all CRM records)", search),
                           ("mail.search, no match (scans all messages)", msearch)):
        med, p95 = stats(samples)
        rows.append((label, f"{med * 1e6:.1f} µs", f"{p95 * 1e6:.1f} µs", str(len(samples))))

    size = ", ".join(f"{v:,} {k}" for k, v in counts.items())
    print(f"fakes benchmark: {size}\n")
    widths = [max(len(r[i]) for r in rows + [("what", "median", "p95", "n")]) for i in range(4)]
    header = ("what", "median", "p95", "n")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        cells = [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        print("  ".join([row[0].ljust(widths[0]), *cells]))


def timed_iter(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
    return out


if __name__ == "__main__":
    main()
