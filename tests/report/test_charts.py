"""Inline SVG dot-and-whisker charts: well-formed XML, one dot per published estimate, suppressed rows
as text, labels escaped, nothing that loads from anywhere."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from quietpoll.report.charts import LABEL_W, LEGEND, PLOT_W, dot_whisker

NS = "{http://www.w3.org/2000/svg}"


def rows():
    return [
        {"label": "A <b>&", "estimate": 0.5, "ci_low": 0.4, "ci_high": 0.6, "naive": 0.7, "suppressed": False},
        {"label": "hidden", "estimate": None, "ci_low": None, "ci_high": None, "suppressed": True},
        {"label": "group", "heading": True},
        {"label": "wide", "estimate": 0.2, "ci_low": -0.3, "ci_high": 1.4, "suppressed": False, "warn": True},
    ]


def test_svg_is_well_formed_and_complete():
    svg = dot_whisker(rows(), title="t <x>", suppressed_label="suppressed")
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    texts = ["".join(t.itertext()) for t in root.iter(f"{NS}text")]
    assert "A <b>&" in texts and "suppressed" in texts and "group" in texts
    filled = [c for c in root.iter(f"{NS}circle") if c.get("fill") not in (None, "none")]
    # two estimates (one with a warning) + the legend dots of both kinds
    assert len(filled) == 4
    hollow = [c for c in root.iter(f"{NS}circle") if c.get("fill") == "none"]
    assert len(hollow) == 2  # one naive estimate + the legend
    for el in root.iter():
        assert el.get("href") is None and el.get("{http://www.w3.org/1999/xlink}href") is None


def test_positions_on_percent_scale_and_clipped():
    root = ET.fromstring(dot_whisker(rows(), title="t"))
    dots = [c for c in root.iter(f"{NS}circle") if c.get("r") == "5.5"]
    assert float(dots[0].get("cx")) == LABEL_W + 0.5 * PLOT_W
    lines = [(float(e.get("x1")), float(e.get("x2"))) for e in root.iter(f"{NS}line") if e.get("stroke-width") == "2.5"]
    assert (LABEL_W + 0.4 * PLOT_W, LABEL_W + 0.6 * PLOT_W) == tuple(round(v, 1) for v in lines[0])
    assert lines[1] == (LABEL_W, LABEL_W + PLOT_W)  # an interval beyond [0, 1] is drawn to the edges


def test_numeric_scale_covers_values():
    r = [{"label": "m", "estimate": 12.0, "ci_low": 10.0, "ci_high": 14.0, "suppressed": False}]
    root = ET.fromstring(dot_whisker(r, title="t", share=False))
    dot = next(c for c in root.iter(f"{NS}circle") if c.get("r") == "5.5")
    assert LABEL_W < float(dot.get("cx")) < LABEL_W + PLOT_W


def _texts(root):
    return ["".join(t.itertext()) for t in root.iter(f"{NS}text")]


def test_long_labels_wrap_and_stay_distinct():
    """Labels are wrapped, never cut: two rows that differ only at the end stay distinguishable."""
    base = "Knows someone punished for watching or listening to foreign media"
    rows_ = [
        {"label": f"{base} (direct question)", "estimate": 0.3, "ci_low": 0.2, "ci_high": 0.4, "suppressed": False},
        {"label": f"{base} (randomized response)", "estimate": 0.5, "ci_low": 0.3, "ci_high": 0.7, "suppressed": False},
    ]
    for narrow in (False, True):
        root = ET.fromstring(dot_whisker(rows_, title="t", narrow=narrow))
        texts = _texts(root)
        lines = [" ".join(sp.text for sp in t.iter(f"{NS}tspan")) for t in root.iter(f"{NS}text")]
        assert f"{base} (direct question)" in lines and f"{base} (randomized response)" in lines
        assert not any("…" in t for t in texts)
        label = next(t for t in root.iter(f"{NS}text") if "".join(t.itertext()).startswith("Knows"))
        assert len(list(label.iter(f"{NS}tspan"))) >= 2  # wrapped onto more than one line


def test_wrap_keeps_every_character():
    from quietpoll.report.charts import wrap

    text = "외국 매체로 처벌받은 사람을 앎 (무작위 응답) and a verylongwordthatcannotfitonaline"
    lines = wrap(text, 10)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert all(len(line) <= 20 for line in lines)
    assert wrap("", 10) == [""]


def test_clipped_intervals_and_outside_estimates_are_marked():
    r = [
        {"label": "le", "estimate": 1.3, "ci_low": 0.43, "ci_high": 2.17, "suppressed": False, "warn": True},
        {"label": "rr", "estimate": -0.6, "ci_low": -1.3, "ci_high": 0.11, "suppressed": False, "warn": True},
        {"label": "ok", "estimate": 0.5, "ci_low": 0.4, "ci_high": 0.6, "suppressed": False},
    ]
    root = ET.fromstring(dot_whisker(r, title="t"))
    arrows = [p for p in root.iter(f"{NS}polygon") if p.get("class") == "clipped"]
    assert len(arrows) == 2  # 217% at the right edge, -130% at the left edge
    outside = [p for p in root.iter(f"{NS}polygon") if p.get("class") == "outside"]
    assert len(outside) == 2  # both estimates beyond the axis, as hollow triangles
    assert len([c for c in root.iter(f"{NS}circle") if c.get("r") == "5.5"]) == 1
    texts = _texts(root)
    for key in ("clipped", "outside", "warn", "estimate"):
        assert LEGEND[key] in texts, key
    # a chart without such rows has no legend line for them
    root = ET.fromstring(dot_whisker(r[2:], title="t"))
    texts = _texts(root)
    assert LEGEND["clipped"] not in texts and LEGEND["outside"] not in texts and LEGEND["warn"] not in texts
    assert LEGEND["estimate"] in texts


def test_legend_names_every_mark_used():
    root = ET.fromstring(
        dot_whisker(rows(), title="t", legend={"naive": "비가중 추정값", "suppressed": "비공개: 적음"})
    )
    texts = _texts(root)
    assert "비가중 추정값" in texts and "비공개: 적음" in texts and LEGEND["warn"] in texts


def test_narrow_layout_is_readable_on_a_phone():
    """At 375 px the page's content is 351 px wide: the narrow chart (360 units) keeps its 12-unit text
    at 11.7 px."""
    root = ET.fromstring(dot_whisker(rows(), title="t", narrow=True))
    assert root.get("class") == "chart chart-narrow" and root.get("viewBox").split()[2] == "360"
    sizes = [float(t.get("font-size")) for t in root.iter(f"{NS}text")]
    assert min(sizes) * 351 / 360 >= 11
    assert ET.fromstring(dot_whisker(rows(), title="t")).get("class") == "chart chart-wide"
