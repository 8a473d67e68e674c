"""report.html in a real Chromium (Debian's /usr/bin/chromium driven by Playwright), opened from
file:// with every other request blocked: nothing is requested or fails, the Content-Security-Policy
reports nothing, the charts render (a screenshot of each chart has many distinct colours), and the
page shows the headline numbers of report.json. The study is the SYNTHETIC demo study."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from quietpoll.report.html import ci, num

from formserver import CHROMIUM, CHROMIUM_ARGS, chromium_or_skip


def decode_png(data: bytes) -> np.ndarray:
    """RGB(A) pixels of an 8-bit, non-interlaced PNG (what Chromium's screenshots are)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + width * channels)
    out = np.zeros((height, width * channels), np.int32)
    bpp = channels
    for y in range(height):  # PNG scanline filters (per row, as the format defines)
        f, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        prev = out[y - 1] if y else np.zeros_like(line)
        if f == 0:
            cur = line
        elif f == 2:
            cur = (line + prev) % 256
        else:
            cur = np.zeros_like(line)
            for x in range(line.size):
                a = cur[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                if f == 1:
                    pred = a
                elif f == 3:
                    pred = (a + b) // 2
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[x] = (line[x] + pred) % 256
        out[y] = cur
    return out.reshape(height, width, channels)[:, :, :3].astype(np.uint8)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    chromium_or_skip()
    from quietpoll.demo_study import make_study
    from quietpoll.report import build_report

    base = tmp_path_factory.mktemp("browser-report")
    return build_report(make_study(base / "study", seed=20261122), base / "out")


def test_report_offline_in_chromium(report):
    from playwright.sync_api import sync_playwright

    url = report.html_path.resolve().as_uri()
    attempted, failed, console = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1000, "height": 1400})

        def guard(route):
            if route.request.url == url:
                route.continue_()
            else:
                attempted.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        context.on("request", lambda r: r.url != url and attempted.append(r.url))
        context.on("requestfailed", lambda r: failed.append(r.url))
        page = context.new_page()
        page.on("console", lambda m: m.type in ("error", "warning") and console.append(m.text))
        page.on("pageerror", lambda e: console.append(str(e)))
        response = page.goto(url, wait_until="load")
        assert response is None or response.ok
        page.wait_for_timeout(300)

        assert page.locator("#synthetic-banner").is_visible()
        charts = page.locator("svg.chart")
        assert charts.count() >= 1 + len([r for r in report.data["indicators"] if not r["domain"]])
        first = charts.first
        box = first.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 100
        pixels = decode_png(first.screenshot())
        colours = np.unique(pixels.reshape(-1, 3), axis=0)
        assert len(colours) >= 30, f"chart looks blank: {len(colours)} distinct colours"
        non_white = (pixels.min(axis=2) < 200).mean()
        assert non_white > 0.01
        # the estimate dots are drawn in the estimate colour (#1f4e79)
        assert np.any(np.all(np.abs(pixels.astype(int) - [0x1F, 0x4E, 0x79]) < 8, axis=2))

        table = page.locator("#headline-table").inner_text()
        shown = 0
        for r in report.data["indicators"]:
            if r["domain"] or r["suppressed"]:
                continue
            assert num(r["estimate"], r["share"]) in table, r["id"]
            assert ci(r["ci_low"], r["ci_high"], r["share"]).replace(" ", "") in table.replace(" ", "")
            shown += 1
        assert shown >= 5
        text = page.locator("body").inner_text()
        assert "suppressed" in text
        browser.close()
    assert attempted == [], attempted
    assert failed == [], failed
    assert console == [], console


@pytest.fixture(scope="module")
def reports(report, tmp_path_factory):
    """The English report (above) and the Korean report of the same study."""
    from quietpoll.report import build_report

    study = report.html_path.parent.parent / "study"
    korean = build_report(study, tmp_path_factory.mktemp("browser-report-ko"), language="Korean")
    return {"English": report, "Korean": korean}


VIEWPORTS = [(375, 812), (1280, 900)]


@pytest.mark.parametrize("language", ["English", "Korean"])
@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_report_fits_the_screen(reports, language, width, height, tmp_path):
    """On a 375 px phone and a 1280 px screen: the page is never wider than the viewport (tables
    scroll inside their own box), the visible charts' text is at least about 11 px, Korean wraps by
    word (headings do not stack one syllable per line), and a screenshot decodes to a page that is
    not blank."""
    from playwright.sync_api import sync_playwright

    res = reports[language]
    url = res.html_path.resolve().as_uri()
    attempted = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": width, "height": height})

        def guard(route):
            if route.request.url == url:
                route.continue_()
            else:
                attempted.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.goto(url, wait_until="load")
        scroll_width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll_width <= inner, f"page {scroll_width} px wide on a {inner} px screen"
        # the tables that are wider than the screen scroll inside their box
        assert page.evaluate(
            "[...document.querySelectorAll('table')].every(t => t.parentElement.classList.contains('scroll'))"
        )
        # visible charts: the smallest SVG text as rendered, in CSS px
        sizes = page.evaluate("""[...document.querySelectorAll('svg.chart')]
            .filter(s => getComputedStyle(s).display !== 'none')
            .map(s => s.getBoundingClientRect().width / s.viewBox.baseVal.width
                      * Math.min(...[...s.querySelectorAll('text')].map(t => parseFloat(t.getAttribute('font-size')))))""")
        assert len(sizes) >= 11 and min(sizes) >= 11, sizes[:5]
        kinds = page.evaluate(
            "[...document.querySelectorAll('svg.chart')].filter(s => getComputedStyle(s).display"
            " !== 'none').map(s => s.classList.contains('chart-narrow'))"
        )
        assert all(kinds) if width < 600 else not any(kinds)
        if language == "Korean":
            assert page.evaluate("getComputedStyle(document.querySelector('h2')).wordBreak") == "keep-all"
            # a heading of a few words takes at most two lines on a phone
            lines = page.evaluate("""[...document.querySelectorAll('h2')].map(h => Math.round(
                h.getBoundingClientRect().height / parseFloat(getComputedStyle(h).lineHeight || 30)))""")
            assert max(lines) <= 2, lines
        shot = tmp_path / f"report-{language}-{width}x{height}.png"
        page.screenshot(path=str(shot))
        browser.close()
    assert attempted == [], attempted
    pixels = decode_png(shot.read_bytes())
    assert pixels.shape[:2] == (height, width)
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) >= 30, f"screenshot looks blank: {len(colours)} colours"
    assert 0.01 < (pixels.min(axis=2) < 200).mean() < 0.9
    # the SYNTHETIC banner (#b00020) is on screen at the top
    assert np.any(np.all(np.abs(pixels[:60].astype(int) - [0xB0, 0x00, 0x20]) < 12, axis=2))
