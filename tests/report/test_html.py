"""The HTML page: self-contained (no script, no external reference), a strict CSP whose style hash is
the page's own stylesheet, the SYNTHETIC banner, suppressed cells shown as such, numbers from the data."""

from __future__ import annotations

import base64
import hashlib
import re

from quietpoll.report.html import ci, num, pct, render_html


def test_page_is_self_contained(built):
    html = built.html_path.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href|action|srcset)\s*=""", html, re.I)
    assert not re.search(r"url\(", html)
    assert "@import" not in html
    urls = set(re.findall(r"https?://[^\s\"'<>]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}      # the SVG namespace name, never fetched


def test_content_security_policy_allows_nothing_external(built):
    html = built.html_path.read_text(encoding="utf-8")
    m = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert m
    csp = m.group(1).replace("&#39;", "'")
    assert "default-src 'none'" in csp and "script-src 'none'" in csp and "connect-src 'none'" in csp
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp


def test_banner_and_numbers(built):
    html = built.html_path.read_text(encoding="utf-8")
    assert 'id="synthetic-banner"' in html and "SYNTHETIC DATA" in html
    text = re.sub(r"<[^>]+>", "", html)          # values outside 0-100% are wrapped in a span
    for r in built.data["indicators"]:
        if not r["domain"] and not r["suppressed"]:
            assert num(r["estimate"], r["share"]) in text
            assert ci(r["ci_low"], r["ci_high"], r["share"]) in text
    assert "suppressed" in html


def test_not_synthetic_has_no_banner(built):
    data = dict(built.data, synthetic=False)
    html = render_html(data)
    assert 'id="synthetic-banner"' not in html


def test_formatting():
    assert pct(0.4567) == "45.7%" and pct(None) == ""
    assert num(2.345, False) == "2.35"
    assert ci(0.1, 0.25) == "10.0% – 25.0%" and ci(None, 0.2) == ""
