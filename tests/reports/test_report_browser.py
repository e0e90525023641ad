"""Looked at, not only parsed: the HTML report in headless Chromium (DevTools protocol over a pipe).

Every image must have loaded and decoded, the page must log no error, and it may fetch nothing
but itself and its own ``data:`` images. CI installs Chromium (``.ci/run``); without it these skip.
"""

import io

import pytest
from PIL import Image, ImageStat

from reports import write_report

from ._browser import chromium_binary, look

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_binary() is None,
                       reason="Chromium is not installed (apt-get install chromium; CI's .ci/run installs it)"),
]


def test_report_renders_with_every_image_loaded_and_no_errors(report, tmp_path):
    out = tmp_path / "trust.html"
    write_report(report, out)
    expected = out.read_text(encoding="utf-8").count("<img ")
    seen = look(out)
    assert seen.images["count"] == expected >= 8
    assert seen.images["broken"] == []
    assert seen.images["scripts"] == 0 and seen.images["title"].startswith("Trust report")
    assert seen.images["height"] > 3000 and seen.images["text"] > 2000
    assert seen.errors == []
    assert seen.requests and all(u.startswith(("file://", "data:image/png;base64,")) for u in seen.requests), \
        [u[:60] for u in seen.requests]
    shot = Image.open(io.BytesIO(seen.screenshot)).convert("RGB")
    assert shot.size == (1280, 1600)
    assert max(ImageStat.Stat(shot).stddev) > 20  # not a blank page
    assert len(shot.getcolors(maxcolors=1 << 20)) > 50  # text, tables and plots, not a flat fill


def test_the_checker_notices_a_broken_image_and_a_blocked_fetch(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" '
                    "content=\"default-src 'none'; img-src data:\"><title>t</title></head><body>"
                    '<img alt="bad" src="data:image/png;base64,AAAA">'
                    '<img alt="remote" src="http://127.0.0.1:9/x.png"></body></html>', encoding="utf-8")
    seen = look(page)
    assert seen.images["count"] == 2 and len(seen.images["broken"]) == 2
    assert any("127.0.0.1" in e or "Content Security Policy" in e or "failed to load" in e for e in seen.errors)
