"""Inline SVG dot-and-whisker charts: well-formed XML, one dot per published estimate, suppressed rows
as text, labels escaped, nothing that loads from anywhere."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from quietpoll.report.charts import LABEL_W, PLOT_W, dot_whisker

NS = "{http://www.w3.org/2000/svg}"


def rows():
    return [{"label": "A <b>&", "estimate": 0.5, "ci_low": 0.4, "ci_high": 0.6, "naive": 0.7, "suppressed": False},
            {"label": "hidden", "estimate": None, "ci_low": None, "ci_high": None, "suppressed": True},
            {"label": "group", "heading": True},
            {"label": "wide", "estimate": 0.2, "ci_low": -0.3, "ci_high": 1.4, "suppressed": False, "warn": True}]


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
    assert len(hollow) == 2          # one naive estimate + the legend
    for el in root.iter():
        assert el.get("href") is None and el.get("{http://www.w3.org/1999/xlink}href") is None


def test_positions_on_percent_scale_and_clipped():
    root = ET.fromstring(dot_whisker(rows(), title="t"))
    dots = [c for c in root.iter(f"{NS}circle") if c.get("r") == "5.5"]
    assert float(dots[0].get("cx")) == LABEL_W + 0.5 * PLOT_W
    lines = [(float(e.get("x1")), float(e.get("x2"))) for e in root.iter(f"{NS}line") if e.get("stroke-width") == "2.5"]
    assert (LABEL_W + 0.4 * PLOT_W, LABEL_W + 0.6 * PLOT_W) == tuple(round(v, 1) for v in lines[0])
    assert lines[1] == (LABEL_W, LABEL_W + PLOT_W)     # an interval beyond [0, 1] is drawn to the edges


def test_numeric_scale_covers_values():
    r = [{"label": "m", "estimate": 12.0, "ci_low": 10.0, "ci_high": 14.0, "suppressed": False}]
    root = ET.fromstring(dot_whisker(r, title="t", share=False))
    dot = next(c for c in root.iter(f"{NS}circle") if c.get("r") == "5.5")
    assert LABEL_W < float(dot.get("cx")) < LABEL_W + PLOT_W
