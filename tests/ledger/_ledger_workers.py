"""Child processes for the concurrency and crash tests (run as ``python _ledger_workers.py MODE URL ...``)."""

import sys
import time


def record(url: str, tag: str, batches: int, size: int) -> None:
    from harness.ledger import Ledger
    from harness.ledger._synthetic import make_run

    with Ledger(url) as led:
        for b in range(batches):
            led.record_runs([make_run(run_id=f"{tag}-{b}-{i}", severities=("low",) if i % 7 == 0 else (),
                                      scenario=f"s{i % 3}") for i in range(size)])


def hang_in_commit(url: str, size: int) -> None:
    """Record one batch, then start a second and stop inside its COMMIT (the parent kills us there)."""
    from sqlalchemy import event

    from harness.ledger import Ledger
    from harness.ledger._synthetic import make_run

    led = Ledger(url)
    led.record_runs([make_run(run_id=f"first-{i}") for i in range(size)])

    def stall(conn):
        print("IN-COMMIT", flush=True)
        time.sleep(60)

    event.listen(led.engine, "commit", stall)
    led.record_runs([make_run(run_id=f"second-{i}", severities=("high",)) for i in range(size)])


def loop(url: str, size: int) -> None:
    from harness.ledger import Ledger
    from harness.ledger._synthetic import make_run

    led = Ledger(url)
    print("READY", flush=True)
    b = 0
    while True:
        led.record_runs([make_run(run_id=f"loop-{b}-{i}", severities=("medium",) if i % 3 == 0 else ())
                         for i in range(size)])
        b += 1


if __name__ == "__main__":
    mode, url, *rest = sys.argv[1:]
    if mode == "record":
        record(url, rest[0], int(rest[1]), int(rest[2]))
    elif mode == "hang":
        hang_in_commit(url, int(rest[0]))
    elif mode == "loop":
        loop(url, int(rest[0]))
