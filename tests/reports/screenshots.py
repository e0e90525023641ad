"""Write the screenshots the documentation shows: the report's first screen at 1,400 and 900 px.

    python -m tests.reports.screenshots docs/

Builds the hand-counted test ledger in a temporary folder (so the header names it relatively),
writes its HTML report, and photographs the first screen in the system's headless Chromium.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from harness.ledger import Ledger
from harness.policy import policy_from_dict
from reports import build_report, write_report

from ._report_ledger import NOW, POLICY, build
from .test_report_browser import ARGS, CHROMIUM, SCREEN_HEIGHT, WIDTHS


def main(folder: str) -> None:
    from playwright.sync_api import sync_playwright

    target = Path(folder).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        with Ledger("sqlite:///ledger.db") as led:
            build(led)
            report = build_report(led, policy_from_dict(POLICY, name="policy.yaml"), now=NOW)
        write_report(report, "trust.html")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for width in WIDTHS:
                page = browser.new_page(viewport={"width": width, "height": SCREEN_HEIGHT})
                page.goto(Path("trust.html").resolve().as_uri())
                page.screenshot(path=str(target / f"report-first-screen-{width}.png"))
            browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs")
