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
    assert urls <= {"http://www.w3.org/2000/svg"}  # the SVG namespace name, never fetched


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
    text = re.sub(r"<[^>]+>", "", html)  # values outside 0-100% are wrapped in a span
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


def test_every_table_scrolls_in_its_own_box(built):
    html = built.html_path.read_text(encoding="utf-8")
    tables = re.findall(r"<table[ >]", html)
    wrapped = re.findall(r'<div class="scroll">\s*<table[ >]', html)
    assert len(tables) > 20 and len(wrapped) == len(tables)
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    assert re.search(r"\.scroll \{[^}]*overflow-x: auto", style)
    assert re.search(r":lang\(ko\) \{[^}]*word-break: keep-all", style)
    # each chart in a wide and a narrow layout, one shown by a media query
    assert html.count('class="chart chart-wide"') == html.count('class="chart chart-narrow"') >= 11
    assert re.search(r"@media \(max-width: 600px\) \{[^@]*\.chart-wide \{ display: none; \}", style)


def test_warnings_are_notes_once_per_table(built):
    """A row carries only a note letter; the note's text is written once under its table."""
    html = built.html_path.read_text(encoding="utf-8")
    assert 'class="warn">⚠ interval' not in html and "⚠ based on" not in html
    flagged = [r for r in built.data["indicators"] if r.get("flags")]
    assert flagged
    letters = sum(len(r["flags"]) for r in flagged)
    letters += sum(len(r.get("flags") or []) for t in built.data["tables"] for r in t["rows"])
    sensitive_outside = sum(
        1
        for s in built.data["sensitive"]
        if s["estimate"] is not None and (s["estimate"] < 0 or s["estimate"] > 1 or s["ci_low"] < 0 or s["ci_high"] > 1)
    )
    assert html.count('<sup class="fn">') - html.count('<li><sup class="fn">') == letters + sensitive_outside
    note = "The interval is wider than 30 percentage points: read the estimate with care."
    lists = re.findall(r'<ul class="notes">(.*?)</ul>', html, re.S)
    assert all(block.count(note) <= 1 for block in lists)
    tables_with_wide = sum(1 for r in built.data["indicators"] if not r["domain"] and "wide_interval" in r["flags"]) > 0
    tables_with_wide += len(
        {r["id"] for r in built.data["indicators"] if r["domain"] and "wide_interval" in r["flags"]}
    )
    tables_with_wide += sum(
        1 for t in built.data["tables"] if any("wide_interval" in (r.get("flags") or []) for r in t["rows"])
    )
    assert html.count(note) == tables_with_wide


def test_values_outside_0_100_are_explained(built):
    html = built.html_path.read_text(encoding="utf-8")
    outside = [
        r for r in built.data["indicators"] if r["estimate"] is not None and r["share"] and not 0 <= r["estimate"] <= 1
    ]
    assert outside, "the demo's list experiment gives estimates outside [0, 1]"
    for r in outside:
        assert "outside_range" in r["flags"]
        assert f'<span class="outside">{num(r["estimate"])}</span><sup class="fn">' in html
    assert "Outside 0–100%: this design's estimate is noisy at this sample size" in html


def test_framing_follows_the_study(built):
    html = built.html_path.read_text(encoding="utf-8")
    assert "cannot speak freely" not in html and "(none (no [weighting]" not in html
    statement = built.data["methods"]["statement"]
    assert "Population: people aged 15 or older living in North Korea" in statement
    assert "weighted to population margins of sex, province_group, age_group (raking)" in statement


def test_korean_page(built):
    data = dict(built.data, language="Korean")
    page = render_html(data)
    assert '<html lang="ko">' in page and "주요 지표" in page and "합성 데이터" in page
    assert "Headline indicators" not in page and "weighted estimate and its interval" not in page
    assert "가중 추정값과 구간" in page


def test_values_in_translated_messages_are_escaped(built):
    """Values put into catalogue messages (new-style gettext) and plain values are HTML-escaped in
    both languages: a hostile study.toml text or column name never becomes markup."""
    import copy

    evil = "<script>alert(1)</script>"
    for language in ("English", "Korean"):
        data = copy.deepcopy(built.data)
        data["language"] = language
        data["methods"]["statement"] = evil
        data["quality"]["validation"]["action"] = evil
        data["quality"]["near_duplicates"]["action"] = evil
        data["weighting"]["collapsed"] = [{"variable": evil, "merged": [evil, "b"], "n": 3}]
        data["not_tabulated"] = [{"question": evil, "reason": evil}]
        data["indicators"][0]["label"] = evil
        page = render_html(data)
        assert "<script" not in page.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
