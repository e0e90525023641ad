"""Trust reports: per workflow and overall, as self-contained HTML, Markdown or JSON.

    from reports import build_report, write_report
    with Ledger(url) as ledger:
        report = build_report(ledger, load_policy(), workflows=["crm.renewal-discounts"])
    write_report(report, "trust.html")

``build_report`` returns the numbers as one JSON-ready dict (documented in ``docs/reports.md``);
``write_report`` picks the format from the extension (.html, .md, .json). ``harness report`` is
the command-line face of the two.
"""

from reports.data import SCHEMA, build_report, parse_since
from reports.render import FORMATS, format_for, render_html, render_json, render_markdown, write_report

__all__ = ["FORMATS", "SCHEMA", "build_report", "format_for", "parse_since", "render_html", "render_json",
           "render_markdown", "write_report"]
