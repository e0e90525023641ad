"""HTML, Markdown and JSON renderings: self-contained, escaped, and carrying the same numbers."""

import base64
import html
import io
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from harness.errors import UsageError
from reports import format_for, render_html, render_markdown, write_report
from reports.render import md, md_code

from ._report_ledger import PAYLOADS, WF, section

HEADERS = ("| workflow", "| agent", "| type", "| criterion", "| dimension", "| stage", "| scenario", "| #", "| run")
IMG_SRC = re.compile(r"<img\b[^>]*\bsrc=\"([^\"]*)\"", re.IGNORECASE)


@pytest.fixture
def html_report(report, tmp_path):
    out = tmp_path / "trust.html"
    assert write_report(report, out) == [out]
    return out.read_text(encoding="utf-8")


def test_html_is_self_contained(html_report):
    lowered = html_report.lower()
    assert "http://" not in lowered and "https://" not in lowered
    for needle in ("<script", "<link", "<iframe", "<object", "<embed", "url(", "@import", "<base", "srcset"):
        assert needle not in lowered, needle
    refs = re.findall(r"\b(?:src|href|action|poster)\s*=\s*\"([^\"]*)\"", html_report, re.IGNORECASE)
    assert refs and all(r.startswith(("data:image/png;base64,", "#")) for r in refs), \
        [r[:40] for r in refs if not r.startswith(("data:", "#"))]
    assert "Content-Security-Policy" in html_report and "default-src 'none'" in html_report


def test_every_image_is_an_embedded_png_that_decodes(html_report):
    sources = IMG_SRC.findall(html_report)
    assert len(sources) >= 8  # overview, overall mistakes, and per workflow rate/blast/stages/mistakes
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        with Image.open(io.BytesIO(png)) as im:
            im.load()
            assert im.width > 200 and im.height > 100
            assert len(im.convert("L").getcolors(maxcolors=1 << 16) or range(99)) > 2  # not blank
        assert b"matplotlib.org" not in png  # no Software tag carrying a URL


def test_agent_and_scenario_text_is_escaped_in_html(html_report):
    for payload in PAYLOADS:
        assert payload not in html_report, payload
        assert html.escape(payload, quote=False) in html_report, payload
    assert "<script" not in html_report.lower() and "onerror=" not in html_report.replace("onerror=alert", "")


def test_html_shows_the_verdict_criteria_and_audit_commands(report, html_report):
    sec = section(report)
    assert "Gate to approve for sloppy@1" in html_report and "max_mistake_rate" in html_report
    assert "✗ not met" in html_report and "✓ met" in html_report
    for run in sec["bad_runs"]:
        assert f"harness audit explain {run['run_id']}" in html_report
    assert "d" * 16 in html_report  # evidence digest (shortened) of the transition
    assert "approved unchanged" in html_report and "partially approved (edited)" in html_report


def _table_rows(text):
    return [line for line in text.splitlines() if line.startswith("|")]


def _cells(line):
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_markdown_escapes_markup_and_pipes_and_keeps_tables_square(report, tmp_path):
    out = tmp_path / "trust.md"
    written = write_report(report, out)
    text = out.read_text(encoding="utf-8")
    assert "<" not in text and "http" not in text
    for payload in PAYLOADS:
        assert payload not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # scenario id
    assert "&lt;script&gt;alert(2)&lt;/script&gt; \\| col" in text  # mistake detail, pipe escaped
    assert "&lt;img src=x onerror=alert(4)&gt; \\| ok" in text  # transition reason
    width = None
    for line in _table_rows(text):
        if line.startswith("|--"):
            continue
        n = len(_cells(line))
        if line.startswith(HEADERS):
            width = n
        assert n == width, line
    images = [p for p in written if p.suffix == ".png"]
    assert images and all(p.parent.name == "trust_files" for p in images)
    for p in images:
        assert f"(trust_files/{p.name})" in text
    assert "**Verdict:**" in text and f"## {WF}" in text


def test_markdown_without_images(report, tmp_path):
    out = tmp_path / "plain.md"
    assert write_report(report, out, images=False) == [out]
    assert "![" not in out.read_text(encoding="utf-8") and not (tmp_path / "plain_files").exists()


def test_json_file_matches_the_report(report, tmp_path):
    out = tmp_path / "trust.json"
    write_report(report, out)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["overall"]["totals"]["runs"] == report["overall"]["totals"]["runs"] == 672
    assert section(data)["verdict"]["tracks"][0]["criteria"]


@given(st.text())
def test_md_never_lets_markup_or_table_breaks_through(text):
    out = md(text)
    assert "<" not in out and ">" not in out and "\n" not in out and "\r" not in out
    assert re.search(r"(?<!\\)\|", out) is None  # every pipe escaped
    assert re.search(r"(?<!\\)[`*\[\]]", out.replace("\\\\", "")) is None


@given(st.text())
def test_md_code_is_either_a_clean_code_span_or_escaped_text(text):
    out = md_code(text)
    if out.startswith("`") and out.endswith("`") and len(out) >= 2 and "`" not in out[1:-1]:
        assert not re.search(r"[|<>&\r\n]", out)
    else:
        assert out == md(text)


def test_html_renderer_refuses_anything_but_embedded_pngs(report):
    with pytest.raises(ValueError):
        render_html(report, {"overview": "https://example.org/x.png"})
    assert "<img" not in render_html(report, {})
    assert render_markdown(report).startswith("# Trust report")


@pytest.mark.parametrize("name", ["out.pdf", "out.txt", "out", "out.HTML.bak"])
def test_unsupported_extensions(name):
    with pytest.raises(UsageError, match="cannot write a report"):
        format_for(name)


@pytest.mark.parametrize("name,kind", [("a.html", "html"), ("a.HTM", "html"), ("a.md", "markdown"),
                                       ("a.json", "json")])
def test_supported_extensions(name, kind):
    assert format_for(name) == kind


def test_pass_k_is_shown_next_to_the_pass_rate(report, html_report):
    from reports.render import pass_k_scenarios, pass_k_values

    sloppy = next(a for a in section(report)["agents"] if a["agent"] == "sloppy")
    shown = pass_k_values(sloppy["pass_k"])
    assert shown == "77.0% / 58.7% / 33.0% / 8.7%" and pass_k_scenarios(sloppy["pass_k"]) == "2 / 2 / 2 / 2 scenarios"
    assert pass_k_values([{"k": 1, "value": 0.875, "scenarios": 2}, {"k": 2, "value": 0.75, "scenarios": 2}]) \
        == "87.5% / 75.0% / — / —"
    assert pass_k_scenarios([]) == "no scenarios" and pass_k_values([]) == "— / — / — / —"
    note = "pass^k: the chance that k repeats of the same scenario all pass"
    assert html_report.count(note) >= 1 + len(report["workflows"])  # under every agent-versions table
    assert "<th class=\"n\">pass rate</th><th class=\"n\">pass^k" in html_report
    assert shown in html_report
    text = render_markdown(report)
    assert text.count(note) == 1 + len(report["workflows"])
    header = next(line for line in text.splitlines() if line.startswith("| agent | version | runs |"))
    assert "| pass rate | pass^k (k = 1 / 2 / 4 / 8) |" in header
    row = next(line for line in text.splitlines() if line.startswith("| sloppy | 1 |"))
    assert f"| 76.9% | {shown} (2 / 2 / 2 / 2 scenarios) |" in row  # pass rate 40 of 52 runs


def test_verdicts_come_first_per_agent_version_with_details_collapsed_below(html_report, report, tmp_path):
    summary = html_report[html_report.index('<section id="summary"'):html_report.index("</section>")]
    # careful@2's own figures (0 of 300: 0.00%, bound 0.99%) and sloppy@1's (21.57%), each on its own row
    rows = re.findall(r"<tr><td><a href=\"#wf-0\">.*?</tr>", summary, flags=re.S)
    assert len(rows) == 3
    by_version = {re.search(r"<td>(\w+@\d+)</td>", r).group(1): r for r in rows}
    assert "0.00%" in by_version["careful@2"] and "0.99%" in by_version["careful@2"]
    assert "21.57%" in by_version["sloppy@1"] and "not met" in by_version["sloppy@1"]
    assert "<details" not in summary and html_report.index("<details") > html_report.index('id="summary"')
    assert "open" not in re.findall(r"<details[^>]*>", html_report)[0]
    assert "(pooled)" in html_report and "@media print" in html_report
    md_text = render_markdown(report)
    assert md_text.index("## Verdicts") < md_text.index("## All workflows together (pooled)")
    md_rows = [line for line in md_text.splitlines() if line.startswith("| crm.renewal-discounts | suggest |")]
    assert any("careful@2" in line and "0.00%" in line and "0.99%" in line for line in md_rows)


def test_the_bundled_policy_is_named_without_this_machines_path(ledger, tmp_path):
    from harness import config
    from harness.policy import load_policy
    from reports import build_report

    report = build_report(ledger, load_policy(None))
    out = tmp_path / "trust.html"
    write_report(report, out, images=False)
    text = out.read_text(encoding="utf-8") + render_markdown(report)
    assert str(config.default_policy_path()) not in text and str(config.default_policy_path().parent) not in text
    assert "bundled: harness/defaults/policy.yaml" in text
