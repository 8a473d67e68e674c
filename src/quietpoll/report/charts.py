"""Inline SVG charts: dot-and-whisker plots of estimates with their intervals. Pure text, no
scripts, no fonts or images from anywhere: the SVG uses presentation attributes and the page's
system font stack, so it passes a Content-Security-Policy that allows nothing external."""

from __future__ import annotations

import math
from html import escape

WIDTH = 760
LABEL_W = 290
PLOT_W = 380
ROW_H = 24
TOP = 30
EST = "#1f4e79"
NAIVE = "#8a8a8a"
WARN = "#b35900"
GRID = "#d9d9d9"


def _scale(rows: list[dict], share: bool) -> tuple[float, float]:
    if share:
        return 0.0, 1.0
    vals = [v for r in rows for v in (r.get("ci_low"), r.get("ci_high"), r.get("estimate"), r.get("naive"))
            if v is not None and math.isfinite(v)]
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


def dot_whisker(rows: list[dict], *, title: str, share: bool = True, naive_label: str = "unweighted",
                suppressed_label: str = "suppressed") -> str:
    """An SVG dot-and-whisker chart. Each row: label, estimate, ci_low, ci_high, naive (optional),
    suppressed, warn (bool), heading (bool: a group title row without a value)."""
    lo, hi = _scale(rows, share)
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        v = min(max(v, lo), hi)          # intervals outside [0, 1] are drawn to the edge (values stay in the table)
        return LABEL_W + (v - lo) / span * PLOT_W

    height = TOP + ROW_H * len(rows) + 34
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{WIDTH}" height="{height}" '
           f'viewBox="0 0 {WIDTH} {height}" aria-label="{escape(title)}">',
           f'<title>{escape(title)}</title>',
           f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>']
    bottom = TOP + ROW_H * len(rows)
    for t, lab in _ticks(lo, hi, share):
        xt = x(t)
        out.append(f'<line x1="{xt:.1f}" y1="{TOP - 6}" x2="{xt:.1f}" y2="{bottom}" stroke="{GRID}" stroke-width="1"/>')
        out.append(f'<text x="{xt:.1f}" y="{bottom + 16}" font-size="11" text-anchor="middle" fill="#333">'
                   f'{escape(lab)}</text>')
    for k, r in enumerate(rows):
        y = TOP + ROW_H * k + ROW_H / 2
        if k % 2 == 0:
            out.append(f'<rect x="0" y="{y - ROW_H / 2:.1f}" width="{WIDTH}" height="{ROW_H}" fill="#f4f7fb" '
                       'fill-opacity="0.6"/>')
        weight = ' font-weight="bold"' if r.get("heading") else ""
        label = r["label"] if len(r["label"]) <= 44 else r["label"][:42] + "…"
        out.append(f'<text x="6" y="{y + 4:.1f}" font-size="12"{weight} fill="#111">{escape(label)}</text>')
        if r.get("heading"):
            continue
        if r.get("suppressed") or r.get("estimate") is None:
            out.append(f'<text x="{LABEL_W + 4}" y="{y + 4:.1f}" font-size="11" font-style="italic" fill="#666">'
                       f'{escape(suppressed_label if r.get("suppressed") else "—")}</text>')
            continue
        colour = WARN if r.get("warn") else EST
        if r.get("ci_low") is not None and r.get("ci_high") is not None:
            x0, x1 = x(r["ci_low"]), x(r["ci_high"])
            out.append(f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}" stroke="{colour}" '
                       'stroke-width="2.5"/>')
            for xe in (x0, x1):
                out.append(f'<line x1="{xe:.1f}" y1="{y - 5:.1f}" x2="{xe:.1f}" y2="{y + 5:.1f}" stroke="{colour}" '
                           'stroke-width="2"/>')
        if r.get("naive") is not None:
            out.append(f'<circle cx="{x(r["naive"]):.1f}" cy="{y:.1f}" r="4.5" fill="none" stroke="{NAIVE}" '
                       'stroke-width="1.8"/>')
        out.append(f'<circle cx="{x(r["estimate"]):.1f}" cy="{y:.1f}" r="5.5" fill="{colour}"/>')
        if r.get("warn"):
            out.append(f'<text x="{WIDTH - 14}" y="{y + 5:.1f}" font-size="14" fill="{WARN}" '
                       'text-anchor="middle">!</text>')
    ly = height - 10
    out.append(f'<circle cx="{LABEL_W + 6}" cy="{ly - 4}" r="5" fill="{EST}"/>'
               f'<text x="{LABEL_W + 16}" y="{ly}" font-size="11" fill="#333">weighted estimate and interval</text>')
    out.append(f'<circle cx="{LABEL_W + 206}" cy="{ly - 4}" r="4.5" fill="none" stroke="{NAIVE}" stroke-width="1.8"/>'
               f'<text x="{LABEL_W + 216}" y="{ly}" font-size="11" fill="#333">{escape(naive_label)}</text>')
    out.append("</svg>")
    return "\n".join(out)
