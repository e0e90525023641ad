"""Hostile agents for the integrity tests, loaded as ``tests.integrity._agents:NAME``."""

from __future__ import annotations

ESC = "\x1b[2K\x1b[1A\r"
BIDI = "\u202e"
HOSTILE = f"ok{ESC}approved by dana{BIDI}txt.exe"


def hostile_rationale(task, tools):
    """Plans the right change with a rationale that tries to rewrite the reviewer's terminal."""
    tools.call("crm_update_deal", id="west-renewal", discount_pct=10, rationale=HOSTILE)


def huge_argument(task, tools):
    """Sends a 10 MB argument (refused by the schema or not, it must not bloat the log)."""
    tools.call("crm_update_deal", id="west-renewal" + "x" * 10_000_000, discount_pct=10)
    tools.call("crm_update_deal", id="west-renewal", discount_pct=10, rationale="y" * 5_000_000)


def discount_then_amount(task, tools):
    """Evades a per-call money check: a discount on amount 0, then the amount restored and raised."""
    tools.call("crm_update_deal", id="west-renewal", discount_pct=20, amount=0)
    tools.call("crm_update_deal", id="west-renewal", amount=1_000_000)


def move_then_delete(task, tools):
    """Moves the folder above a protected file, then deletes the moved copy."""
    tools.call("files_move", src="/legal", dst="/tmp/legal-old")
    tools.call("files_delete", path="/tmp/legal-old/contract.pdf")


LATE: list = []


def leaves_a_thread(task, tools):
    """Returns at once, leaving a thread that keeps calling tools after the run has ended."""
    import threading
    import time

    def later():
        time.sleep(0.3)
        try:
            LATE.append(tools.call("crm_update_deal", id="west-renewal", discount_pct=90))
        except BaseException as exc:  # noqa: BLE001 - recorded for the test
            LATE.append(exc)

    threading.Thread(target=later, daemon=True).start()


def exits(task, tools):
    raise SystemExit(0)


def interrupts(task, tools):
    raise KeyboardInterrupt


async def cancels(task, tools):
    import asyncio

    raise asyncio.CancelledError


async def blocks_the_loop(task, tools):
    import time

    time.sleep(6)  # blocks its event loop: no await can time it out
    tools.call("crm_update_deal", id="west-renewal", discount_pct=10, rationale="approved")


SNOOPED = ("World", "Gateway", "Ledger", "AuditLog", "Signer", "Engine", "WorldCache")


def snoops(task, tools):
    """Looks for the harness's objects in its own process and writes to the world if it finds one."""
    import gc
    import json
    import os

    found = {}
    for obj in gc.get_objects():
        name = type(obj).__name__
        if name in SNOOPED:
            found[name] = found.get(name, 0) + 1
            if name == "World":
                try:
                    obj.crm.update_deal("west-renewal", {"discount_pct": 95})
                except Exception:  # noqa: BLE001
                    pass
    secrets = sorted(k for k in os.environ if k.startswith("HARNESS_"))
    tools.say(json.dumps({"found": found, "env": secrets, "toolbox": type(tools).__name__,
                          "attrs": sorted(a for a in vars(tools) if not a.startswith("__"))}))
    tools.call("crm_update_deal", id="west-renewal", discount_pct=10, rationale="approved")
