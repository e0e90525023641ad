"""Looked at, not only parsed: the HTML report in the system's headless Chromium, driven by Playwright.

What a release owner sees: at 1,400 and 900 px the verdicts are on the first screen, no table is
wider than the column it sits in (with every section opened), the page never scrolls sideways,
every image decodes, nothing is fetched but the file and its ``data:`` images, nothing is logged as
an error, and printing shows the collapsed sections too.

CI installs Chromium (``.ci/run``) and Playwright (the ``dev`` extra); there these tests fail when
either is missing. Elsewhere they skip. ``python -m tests.reports.screenshots docs/`` takes the
screenshots the documentation shows with the same browser settings.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from reports import write_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
WIDTHS = (1400, 900)
SCREEN_HEIGHT = 900


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[dev]')"
    if not Path(CHROMIUM).exists():
        return "Chromium is not installed (apt-get install chromium; CI's .ci/run installs it)"
    return None


@pytest.fixture(scope="module")
def browser():
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


pytestmark = pytest.mark.browser

TABLES_TOO_WIDE = """() => {
  for (const d of document.querySelectorAll('details')) d.open = true;
  const out = [];
  for (const t of document.querySelectorAll('table')) {
    const box = t.parentElement;
    const style = getComputedStyle(box);
    const inner = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    if (t.getBoundingClientRect().width > inner + 1)
      out.push((t.querySelector('th') || t).textContent.trim().slice(0, 40) + ': ' +
               Math.round(t.getBoundingClientRect().width) + ' px in ' + Math.round(inner) + ' px');
  }
  return {tooWide: out, pageWidth: document.documentElement.scrollWidth,
          tables: document.querySelectorAll('table').length};
}"""

IMAGES = """() => Array.from(document.images).map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0}))"""


@pytest.fixture(scope="module")
def page_file(tmp_path_factory, report_module):
    out = tmp_path_factory.mktemp("browser") / "trust.html"
    write_report(report_module, out)
    return out


def _open(browser, path: Path, width: int):
    page = browser.new_page(viewport={"width": width, "height": SCREEN_HEIGHT})
    seen = {"errors": [], "requests": []}
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, seen


@pytest.mark.parametrize("width", WIDTHS)
def test_the_verdicts_are_on_the_first_screen(browser, page_file, width):
    page, _ = _open(browser, page_file, width)
    lines = page.locator("#summary .verdict-line")
    assert lines.count() == 2
    for i in range(lines.count()):
        box = lines.nth(i).bounding_box()
        assert box and box["y"] + box["height"] <= SCREEN_HEIGHT, (width, i, box)
    rows = page.locator("#verdicts tbody tr")
    assert rows.count() == 4  # careful@1, careful@2, sloppy@1 in crm; careful@1 in files
    last = rows.nth(rows.count() - 1).bounding_box()
    assert last and last["y"] + last["height"] <= SCREEN_HEIGHT, (width, last)
    # each version's own figures on that screen: sloppy's 21.57%, careful@2's 0 of 300
    text = page.locator("#verdicts").inner_text()
    assert "sloppy@1" in text and "21.57%" in text and "0.00%" in text
    # everything else starts collapsed
    assert page.evaluate("() => Array.from(document.querySelectorAll('details')).every(d => !d.open)")
    page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_no_table_is_wider_than_its_column_and_the_page_never_scrolls_sideways(browser, page_file, width):
    page, _ = _open(browser, page_file, width)
    seen = page.evaluate(TABLES_TOO_WIDE)
    assert seen["tables"] >= 18  # the production sessions' tables included
    assert seen["tooWide"] == [], seen["tooWide"]
    assert seen["pageWidth"] <= width
    page.close()


def test_every_image_decodes_nothing_is_fetched_and_nothing_fails(browser, page_file):
    page, seen = _open(browser, page_file, WIDTHS[0])
    page.evaluate("() => { for (const d of document.querySelectorAll('details')) d.open = true; }")
    images = page.evaluate(IMAGES)
    assert len(images) == page_file.read_text(encoding="utf-8").count("<img ") >= 8
    assert [i["alt"] for i in images if not i["ok"]] == []
    assert page.evaluate("() => document.scripts.length") == 0
    assert seen["errors"] == []
    assert seen["requests"] and all(u.startswith(("file://", "data:image/png;base64,")) for u in seen["requests"])
    page.close()


def test_printing_shows_the_collapsed_sections(browser, page_file):
    page, _ = _open(browser, page_file, WIDTHS[0])
    hidden_on_screen = page.locator("details.workflow table").first
    assert not hidden_on_screen.is_visible()
    page.emulate_media(media="print")
    assert hidden_on_screen.is_visible()
    assert page.locator("details.workflow").first.evaluate("d => getComputedStyle(d).breakBefore") == "page"
    assert len(page.pdf(format="A4")) > 10_000
    page.close()


def test_the_checker_notices_a_broken_image_and_a_blocked_fetch(browser, tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" '
                      "content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">"
                      "<title>t</title></head><body>"
                      '<img alt="bad" src="data:image/png;base64,AAAA">'
                      '<img alt="remote" src="http://127.0.0.1:9/x.png">'
                      '<div style="width:300px"><table style="width:600px"><tr><th>wide</th></tr></table></div>'
                      "</body></html>", encoding="utf-8")
    page, seen = _open(browser, broken, WIDTHS[1])
    assert sorted(i["alt"] for i in page.evaluate(IMAGES) if not i["ok"]) == ["bad", "remote"]
    assert any("127.0.0.1" in e or "Content Security Policy" in e for e in seen["errors"])
    assert page.evaluate(TABLES_TOO_WIDE)["tooWide"] == ["wide: 600 px in 300 px"]
    page.close()
