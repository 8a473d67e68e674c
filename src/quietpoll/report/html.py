"""report.json -> one self-contained HTML page (Jinja2 template with inline CSS and inline SVG).

Nothing is loaded from anywhere: no script at all, the system font stack, charts as inline SVG, and
a Content-Security-Policy meta tag that allows only the page's own stylesheet (by its hash) and
nothing else (default-src 'none').

Every sentence of the page is a message of the report's catalogue (report/i18n.py) in the page's
language: the template calls gettext / ngettext (Jinja2's i18n extension, new-style, so values are
escaped). The layout works from a 375 px phone up: tables scroll inside their own box, each chart
comes in a wide and a narrow layout (CSS shows one), Korean text wraps at word boundaries."""

from __future__ import annotations

import base64
from typing import Any
import hashlib
from importlib import resources

import jinja2

from .charts import dot_whisker
from .i18n import translations
from .methods import METHOD_NAMES

CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans KR", "Noto Sans CJK KR",
  "Apple SD Gothic Neo", "Malgun Gothic", sans-serif; margin: 0 auto; max-width: 960px; padding: 0 18px 40px;
  color: #111; line-height: 1.45; overflow-wrap: break-word; }
:lang(ko) { word-break: keep-all; }
h1 { font-size: 1.6em; margin: 0.6em 0 0.2em; } h2 { border-bottom: 2px solid #1f4e79; padding-bottom: 3px;
  margin-top: 2em; } h3 { margin-bottom: 0.3em; }
.synthetic { background: #b00020; color: #fff; font-weight: bold; text-align: center; padding: 10px;
  font-size: 1.15em; letter-spacing: 0.05em; position: sticky; top: 0; }
.scroll { overflow-x: auto; max-width: 100%; margin: 0.5em 0 1em; }
table { border-collapse: collapse; font-size: 0.92em; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.sup { color: #666; font-style: italic; } td.sup[colspan] { text-align: left; }
.outside { color: #666; font-style: italic; }
td.model { color: #6a3d9a; font-weight: bold; } .mb { color: #6a3d9a; border: 1px solid #6a3d9a; border-radius: 3px;
  font-size: 0.75em; font-weight: normal; padding: 0 3px; white-space: nowrap; }
.fn { color: #b35900; font-weight: bold; font-size: 0.8em; padding-left: 2px; }
.notes { color: #444; font-size: 0.9em; margin: -0.5em 0 1em; padding-left: 0; list-style: none; }
.notes li { margin: 0.15em 0; }
.warn { color: #b35900; font-weight: bold; }
.note { color: #444; font-size: 0.9em; }
.chart { width: 100%; max-width: 760px; height: auto; display: block; margin: 0.5em 0; }
.chart-narrow { display: none; max-width: 420px; }
@media (max-width: 600px) {
  body { padding: 0 12px 32px; }
  h1 { font-size: 1.35em; }
  .chart-wide { display: none; } .chart-narrow { display: block; }
}
.box { background: #f4f7fb; border-left: 4px solid #1f4e79; padding: 8px 14px; }
@media print { .synthetic { position: static; } h2 { break-after: avoid; } table, svg { break-inside: avoid; }
  .scroll { overflow: visible; } }
"""

#: row flags (indicators.flags) -> footnote marker, in the order notes are listed
MARKERS = {"wide_interval": "a", "small_n": "b", "outside_range": "c"}


def pct(x) -> str:
    """A share as the page shows it: one decimal, e.g. 0.4567 -> 45.7%."""
    return "" if x is None else f"{100 * x:.1f}%"


def num(x, share: bool = True) -> str:
    if x is None:
        return ""
    return pct(x) if share else f"{x:.2f}"


def ci(lo, hi, share: bool = True) -> str:
    if lo is None or hi is None:
        return ""
    return f"{num(lo, share)} – {num(hi, share)}"


def amount(x) -> str:
    """A population count or total as people read it (24,052,231); small or fractional values (shares)
    to 4 significant digits."""
    if x is None:
        return ""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.4g}"


def flags_of(rows) -> list[str]:
    """The flags that occur in `rows`, in marker order (one note per flag under the table)."""
    found = {f for r in rows for f in (r.get("flags") or [])}
    return [f for f in MARKERS if f in found]


def _env(language: str) -> tuple[jinja2.Environment, str]:
    src = resources.files(__package__).joinpath("templates", "report.html.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # the i18n extension adds this method to the environment at run time; jinja2's types do not show it
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(pct=pct, num=num)
    env.globals.update(
        ci=ci, num=num, pct=pct, amount=amount, markers=MARKERS, flags_of=flags_of, method_names=METHOD_NAMES
    )
    return env, src


def _chart_row(r: dict, label_key: str) -> dict:
    m = r.get("model_based")
    if m:  # the model-based estimate in place of the direct one (report/model_rows.py)
        return {
            "label": r[label_key],
            "estimate": m["estimate"],
            "ci_low": m["ci_low"],
            "ci_high": m["ci_high"],
            "naive": r.get("naive_estimate"),
            "suppressed": False,
            "warn": False,
            "model": True,
        }
    return {
        "label": r[label_key],
        "estimate": r["estimate"],
        "ci_low": r["ci_low"],
        "ci_high": r["ci_high"],
        "naive": r.get("naive_estimate"),
        "suppressed": r["suppressed"],
        "warn": bool(r.get("flags") or r.get("warnings")),
    }


def _chart_rows(rows: list[dict], label_key: str = "label") -> list[dict]:
    return [_chart_row(r, label_key) for r in rows]


def _legend(tr) -> dict:
    _ = tr.gettext
    return {
        "estimate": _("weighted estimate and its interval"),
        "naive": _("unweighted estimate"),
        "warn": _("estimate with a note under the table (wide interval, few respondents or outside 0–100%)"),
        "clipped": _("the interval continues beyond the axis"),
        "outside": _("the estimate lies beyond the axis (see the table)"),
        "suppressed": _("suppressed: too few respondents to publish (table rules)"),
        "model": _("model-based estimate (MRP) and its posterior interval"),
    }


def _both(rows: list[dict], **kw) -> str:
    """The wide and the narrow layout of one chart (the page's CSS shows one of them)."""
    return dot_whisker(rows, **kw) + "\n" + dot_whisker(rows, narrow=True, **kw)


def charts(data: dict) -> dict:
    tr = translations(data["language"])
    _ = tr.gettext
    kw = {"suppressed_label": _("suppressed"), "legend": _legend(tr)}
    overall = [r for r in data["indicators"] if not r["domain"]]
    by_labels = data["settings"].get("by_labels") or {}
    out: dict[str, Any] = {"headline": [], "breakdowns": {}}
    for share in (True, False):
        rows = [r for r in overall if r["share"] == share]
        if rows:
            out["headline"].append(_both(_chart_rows(rows), title=_("Headline indicators"), share=share, **kw))
    for ind in overall:
        rows = []
        for by in data["settings"]["by"]:
            dom = [r for r in data["indicators"] if r["id"] == ind["id"] and list(r["domain"]) == [by]]
            if dom:
                rows.append({"label": by_labels.get(by, by), "heading": True})
                rows += _chart_rows(dom, "domain_label")
        if rows:
            out["breakdowns"][ind["id"]] = _both(rows, title=ind["label"], share=ind["share"], **kw)
    return out


def render_html(data: dict) -> str:
    env, src = _env(data["language"])
    css = CSS.strip()
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    csp = (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; script-src 'none'; "
        "font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'"
    )
    lang = "ko" if data["language"] == "Korean" else "en"
    return env.from_string(src).render(
        d=data, css=css, csp=csp, charts=charts(data), lang=lang, level=f"{100 * data['settings'].get('level', 0.95):g}"
    )
