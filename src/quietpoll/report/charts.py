"""Inline SVG charts: dot-and-whisker plots of estimates with their intervals. Pure text, no
scripts, no fonts or images from anywhere: the SVG uses presentation attributes and the page's
system font stack, so it passes a Content-Security-Policy that allows nothing external.

Two layouts of the same chart: the wide one (labels left of the plot, 760 units) and the narrow one
for phones (each label above its row across the whole width, 360 units, so that its text is still
about 12 px on a 375 px screen); the page shows one or the other by CSS. Labels are wrapped, never
cut, so rows that differ only at the end ("... (direct question)", "... (randomized response)") stay
distinct. An interval beyond the axis ends in an arrow at the edge; an estimate beyond it is drawn at
the edge as a hollow triangle pointing out. A model-based row (MRP, ``model``: True) is a purple diamond
on a dashed interval. The legend names every kind of mark the chart shows."""

from __future__ import annotations

import math
import unicodedata
from html import escape

WIDTH = 760
LABEL_W = 290
PLOT_W = 380
NARROW_W = 360
LINE_H = 15
ROW_PAD = 9
TOP = 30
EST = "#1f4e79"
NAIVE = "#8a8a8a"
WARN = "#b35900"
GRID = "#d9d9d9"
MODEL = "#6a3d9a"

#: legend texts (English defaults; the page passes them in the report's language)
LEGEND = {
    "estimate": "weighted estimate and interval",
    "naive": "unweighted",
    "warn": "estimate with a warning",
    "clipped": "interval continues beyond the axis",
    "outside": "estimate beyond the axis",
    "suppressed": "suppressed: too few respondents to publish",
    "model": "model-based estimate (MRP) and its posterior interval",
}


def _units(ch: str) -> float:
    """Approximate advance of a character in em at the chart's font (wide East Asian characters = 1)."""
    return 1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.56


def wrap(text: str, width_em: float) -> list[str]:
    """`text` in lines of at most about `width_em` em, broken at spaces (a word longer than a line is
    broken inside). Nothing is dropped."""
    lines, line, used = [], "", 0.0
    for word in text.split(" "):
        w = sum(_units(c) for c in word)
        sep = _units(" ") if line else 0.0
        if line and used + sep + w > width_em:
            lines.append(line)
            line, used, sep = "", 0.0, 0.0
        while w > width_em and not line:  # a single word wider than the line
            cut, acc = 0, 0.0
            while cut < len(word) and acc + _units(word[cut]) <= width_em:
                acc += _units(word[cut])
                cut += 1
            lines.append(word[: max(cut, 1)])
            word = word[max(cut, 1) :]
            w = sum(_units(c) for c in word)
        line += (" " if line else "") + word
        used += sep + w
    if line or not lines:
        lines.append(line)
    return lines


def _scale(rows: list[dict], share: bool) -> tuple[float, float]:
    if share:
        return 0.0, 1.0
    vals = [
        v
        for r in rows
        for v in (r.get("ci_low"), r.get("ci_high"), r.get("estimate"), r.get("naive"))
        if v is not None and math.isfinite(v)
    ]
    if not vals:
        return 0.0, 1.0
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.05 or abs(hi) * 0.1 or 1.0
    return lo - pad, hi + pad


def _ticks(lo: float, hi: float, share: bool) -> list[tuple[float, str]]:
    if share:
        return [(t / 5, f"{20 * t}%") for t in range(6)]
    step = (hi - lo) / 4
    return [(lo + k * step, f"{lo + k * step:.3g}") for k in range(5)]


def _arrow(x: float, y: float, direction: int, colour: str) -> str:
    """A filled arrow head at x pointing left (-1) or right (+1)."""
    tip = x + 7 * direction
    return (
        f'<polygon points="{x:.1f},{y - 5:.1f} {tip:.1f},{y:.1f} {x:.1f},{y + 5:.1f}" fill="{colour}" class="clipped"/>'
    )


def dot_whisker(
    rows: list[dict],
    *,
    title: str,
    share: bool = True,
    naive_label: str | None = None,
    suppressed_label: str | None = None,
    legend: dict | None = None,
    narrow: bool = False,
) -> str:
    """An SVG dot-and-whisker chart. Each row: label, estimate, ci_low, ci_high, naive (optional),
    suppressed, warn (bool), model (bool: a model-based estimate), heading (bool: a group title row
    without a value). `legend` gives the
    legend texts (keys of LEGEND); narrow=True gives the phone layout."""
    text = dict(LEGEND, **(legend or {}))
    if naive_label is not None:
        text["naive"] = naive_label
    row_suppressed = suppressed_label or "suppressed"  # the row's own word; the legend explains it
    lo, hi = _scale(rows, share)
    span = (hi - lo) or 1.0
    width = NARROW_W if narrow else WIDTH
    x0_plot, plot_w = (14, NARROW_W - 28) if narrow else (LABEL_W, PLOT_W)
    label_em = (NARROW_W - 12) / 12 if narrow else (LABEL_W - 14) / 12

    def x(v: float) -> float:
        v = min(max(v, lo), hi)  # drawn to the edge; the table gives the value
        return x0_plot + (v - lo) / span * plot_w

    # layout: each row's label lines and its height
    layout, y = [], TOP
    for r in rows:
        lines = wrap(str(r["label"]), label_em)
        if narrow and not r.get("heading"):
            h = LINE_H * len(lines) + 22  # the label, then the whisker under it
        else:
            h = max(LINE_H * len(lines), 14) + ROW_PAD
        layout.append((r, lines, y, h))
        y += h
    bottom = y
    used = set()
    body = []
    for k, (r, lines, top, h) in enumerate(layout):
        if k % 2 == 0:
            body.append(
                f'<rect x="0" y="{top:.1f}" width="{width}" height="{h:.1f}" fill="#f4f7fb" fill-opacity="0.6"/>'
            )
        weight = ' font-weight="bold"' if r.get("heading") else ""
        ty = top + 13 if narrow and not r.get("heading") else top + (h - LINE_H * len(lines)) / 2 + 12
        spans = "".join(
            f'<tspan x="6" dy="{0 if i == 0 else LINE_H}">{escape(line)}</tspan>' for i, line in enumerate(lines)
        )
        body.append(f'<text x="6" y="{ty:.1f}" font-size="12"{weight} fill="#111">{spans}</text>')
        if r.get("heading"):
            continue
        cy = top + h - 11 if narrow else top + h / 2
        if r.get("suppressed") or r.get("estimate") is None:
            if r.get("suppressed"):
                used.add("suppressed")
            body.append(
                f'<text x="{x0_plot + 4}" y="{cy + 4:.1f}" font-size="12" font-style="italic" fill="#666">'
                f"{escape(row_suppressed if r.get('suppressed') else '—')}</text>"
            )
            continue
        model = bool(r.get("model"))
        colour = MODEL if model else WARN if r.get("warn") else EST
        used.add("model" if model else "warn" if r.get("warn") else "estimate")
        if r.get("ci_low") is not None and r.get("ci_high") is not None:
            xa, xb = x(r["ci_low"]), x(r["ci_high"])
            dash = ' stroke-dasharray="5 3"' if model else ""
            body.append(
                f'<line x1="{xa:.1f}" y1="{cy:.1f}" x2="{xb:.1f}" y2="{cy:.1f}" stroke="{colour}" '
                f'stroke-width="2.5"{dash}/>'
            )
            for xe, v, side in ((xa, r["ci_low"], -1), (xb, r["ci_high"], 1)):
                if (side < 0 and v < lo) or (side > 0 and v > hi):
                    body.append(_arrow(xe, cy, side, colour))
                    used.add("clipped")
                else:
                    body.append(
                        f'<line x1="{xe:.1f}" y1="{cy - 5:.1f}" x2="{xe:.1f}" y2="{cy + 5:.1f}" '
                        f'stroke="{colour}" stroke-width="2"/>'
                    )
        if r.get("naive") is not None:
            used.add("naive")
            body.append(
                f'<circle cx="{x(r["naive"]):.1f}" cy="{cy:.1f}" r="4.5" fill="none" stroke="{NAIVE}" '
                'stroke-width="1.8"/>'
            )
        est = r["estimate"]
        if est < lo or est > hi:
            used.add("outside")
            xe, side = x(est), (1 if est > hi else -1)
            body.append(
                f'<polygon points="{xe - 6 * side:.1f},{cy - 7:.1f} {xe + 4 * side:.1f},{cy:.1f} '
                f'{xe - 6 * side:.1f},{cy + 7:.1f}" fill="#ffffff" stroke="{colour}" stroke-width="2" '
                'class="outside"/>'
            )
        elif model:
            xe = x(est)
            body.append(
                f'<polygon points="{xe:.1f},{cy - 7:.1f} {xe + 7:.1f},{cy:.1f} {xe:.1f},{cy + 7:.1f} '
                f'{xe - 7:.1f},{cy:.1f}" fill="{MODEL}" class="model"/>'
            )
        else:
            body.append(f'<circle cx="{x(est):.1f}" cy="{cy:.1f}" r="5.5" fill="{colour}"/>')
    grid = []
    for t, lab in _ticks(lo, hi, share):
        xt = x(t)
        grid.append(
            f'<line x1="{xt:.1f}" y1="{TOP - 6}" x2="{xt:.1f}" y2="{bottom}" stroke="{GRID}" stroke-width="1"/>'
        )
        anchor = "start" if narrow and t == lo else "end" if narrow and t == hi else "middle"
        grid.append(
            f'<text x="{xt:.1f}" y="{bottom + 16}" font-size="12" text-anchor="{anchor}" fill="#333">'
            f"{escape(lab)}</text>"
        )
    # the legend: one line per kind of mark shown, under the axis
    marks = {
        "estimate": f'<circle cx="{{x}}" cy="{{y}}" r="5" fill="{EST}"/>',
        "naive": f'<circle cx="{{x}}" cy="{{y}}" r="4.5" fill="none" stroke="{NAIVE}" stroke-width="1.8"/>',
        "warn": f'<circle cx="{{x}}" cy="{{y}}" r="5" fill="{WARN}"/>',
        "clipped": '<polygon points="{xa},{ya} {xb},{y} {xa},{yb}" fill="' + EST + '"/>',
        "outside": '<polygon points="{xa},{ya} {xb},{y} {xa},{yb}" fill="#ffffff" stroke="'
        + EST
        + '" stroke-width="2"/>',
        "suppressed": '<text x="{xa}" y="{yt}" font-size="12" font-style="italic" fill="#666">…</text>',
        "model": '<polygon points="{x},{ya} {xb},{y} {x},{yb} {xa},{y}" fill="' + MODEL + '"/>',
    }
    legend_x = 6 if narrow else x0_plot
    legend_size = 12 if narrow else 11
    legend_em = (width - legend_x - 26) / legend_size
    ly = bottom + 40
    leg = []
    for key in ("estimate", "model", "warn", "naive", "clipped", "outside", "suppressed"):
        if key not in used:
            continue
        lines = wrap(text[key], legend_em)
        cx, cy = legend_x + 6, ly - 4
        leg.append(marks[key].format(x=cx, y=cy, xa=cx - 4, xb=cx + 4, ya=cy - 5, yb=cy + 5, yt=ly))
        spans = "".join(
            f'<tspan x="{legend_x + 18}" dy="{0 if i == 0 else LINE_H}">{escape(line)}</tspan>'
            for i, line in enumerate(lines)
        )
        leg.append(f'<text x="{legend_x + 18}" y="{ly}" font-size="{legend_size}" fill="#333">{spans}</text>')
        ly += LINE_H * len(lines) + 3
    height = int(ly + 4)
    kind = "chart chart-narrow" if narrow else "chart chart-wide"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{kind}" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    out += grid + body + leg
    out.append("</svg>")
    return "\n".join(out)
