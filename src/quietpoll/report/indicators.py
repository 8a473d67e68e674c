"""Headline indicators: weighted estimates with intervals, overall and in every domain of the
[report] by-columns, the unweighted (naive) estimate beside each, warnings, and the table rules.

Which table decides whether an indicator row is suppressed (so that a published estimate never
reveals a cell that a published table hides):

* share of a level (``variable`` + ``level``) or mean of a 0/1 column: overall, the one-way table of
  the variable; in a domain, the crosstab of the variable by that by-column (the same crosstab the
  report shows). A row is suppressed when its cell or its domain's total is.
* mean of another numeric column, list experiment: the table of respondents per domain (threshold,
  dominance of the weighted contributions for means) with secondary suppression across the domains.
* randomized response: the yes/no table of the answers by domain; a domain with any suppressed cell
  is suppressed.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from ..disclosure.tables import suppress_table
from ..estimators import mean, proportion
from ..estimators.sensitive import list_experiment, randomized_response
from .i18n import translations
from .toplines import Levels, column_levels, magnitude_sensitive, one_way, two_way


def _num(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _estimates(design, ind, by, level):
    """Estimate rows of one indicator (domain rows when `by` is given)."""
    kw = dict(by=[by] if by else None, level=level)
    if ind.kind == "proportion":
        rows = proportion(design, ind.variable, ci_method="logit", **kw)
        return [r for r in rows if str(r.level) == ind.level]
    if ind.kind == "mean":
        return list(mean(design, ind.variable, **kw))
    if ind.kind == "list_experiment":
        le = ind.list_experiment
        return list(list_experiment(design, le["count"], le["treatment"], **kw))
    rr = dict(ind.randomized_response)
    return list(randomized_response(design, rr.pop("answer"), rr_design=rr.pop("design"), **rr, **kw))


def is_binary(frame: pl.DataFrame, name: str) -> bool:
    s = frame.get_column(name)
    if not s.dtype.is_numeric():
        return False
    values = s.drop_nulls().unique().cast(pl.Float64).to_list()
    return bool(values) and set(values) <= {0.0, 1.0}


class Suppressor:
    """Decides, per indicator and domain, whether the row is suppressed (see the module text)."""

    def __init__(self, design, instrument, opts, crosstabs: dict):
        self.design = design
        self.instrument = instrument
        self.opts = opts
        self.crosstabs = crosstabs  # (variable, by) -> crosstab dict of toplines.two_way_table
        self.frame = design.data
        self.w = design.weights

    def _levels(self, name: str) -> Levels:
        return column_levels(self.frame, name, self.instrument, self.opts.language)

    def _observed(self, ind) -> np.ndarray:
        ok = np.ones(self.frame.height, bool)
        for c in ind.columns():
            ok &= self.frame.get_column(c).is_not_null().to_numpy()
        return ok

    def overall(self, ind, binary: bool) -> bool:
        o = self.opts
        if ind.kind == "proportion" or binary:
            lv = self._levels(ind.variable)
            level = ind.level if ind.kind == "proportion" else "1"
            _, res = one_way(lv, self.w, o.min_cell, o.dominance)
            return bool(res.grand_total or res.cells[0, lv.levels.index(level)])
        if ind.kind == "randomized_response":
            _, res = one_way(self._levels(ind.randomized_response["answer"]), self.w, o.min_cell, o.dominance)
            return bool(res.grand_total or res.cells.any())
        ok = self._observed(ind)
        if ok.sum() < o.min_cell:
            return True
        if ind.kind == "mean":
            y = self.frame.get_column(ind.variable).cast(pl.Float64).fill_null(0).to_numpy()
            return bool(magnitude_sensitive(np.zeros(int(ok.sum()), np.int64), self.w[ok] * np.abs(y[ok]), 1, o)[0])
        return False

    def by_domain(self, ind, binary: bool, by: str) -> dict[str, bool]:
        """{domain value: suppressed} for the domains of `by`."""
        o = self.opts
        cl = self._levels(by)
        if ind.kind == "proportion" or binary:
            ct = self.crosstabs[(ind.variable, by)]
            res, keep, levels = ct["_res"], ct["_keep"], ct["_levels"]
            level = ind.level if ind.kind == "proportion" else "1"
            if level not in levels:  # nobody gave that answer (a small sample): only the totals can reveal
                return {cl.levels[k]: bool(res.col_totals[j]) for j, k in enumerate(keep)}
            i = levels.index(level)
            return {cl.levels[k]: bool(res.cells[i, j] or res.col_totals[j]) for j, k in enumerate(keep)}
        if ind.kind == "randomized_response":
            keep, _, _, res = two_way(
                self._levels(ind.randomized_response["answer"]), cl, self.w, o.min_cell, o.dominance
            )
            return {cl.levels[k]: bool(res.cells[:, j].any() or res.col_totals[j]) for j, k in enumerate(keep)}
        ok = self._observed(ind) & (cl.codes >= 0)
        K = len(cl.levels)
        counts = np.bincount(cl.codes[ok], minlength=K)
        keep = np.flatnonzero(counts > 0)
        sens = np.zeros(K, bool)
        if ind.kind == "mean":
            y = self.frame.get_column(ind.variable).cast(pl.Float64).fill_null(0).to_numpy()
            sens = magnitude_sensitive(cl.codes[ok], self.w[ok] * np.abs(y[ok]), K, o)
        res = suppress_table(counts[keep][None, :], min_cell=o.min_cell, sensitive=sens[keep][None, :])
        return {cl.levels[k]: bool(res.cells[0, j]) for j, k in enumerate(keep)}


def flags(r: dict, opts, share: bool) -> list[str]:
    """Why a published row needs a note: "wide_interval" (a share's interval wider than [report]
    max_ci_width), "small_n" (fewer than min_n respondents), "outside_range" (a share estimated
    or its interval reaching outside [0, 1], which list-experiment and randomized-response estimators can
    give)."""
    out = []
    lo, hi, est = r.get("ci_low"), r.get("ci_high"), r.get("estimate")
    if share and lo is not None and hi is not None and hi - lo > opts.max_ci_width:
        out.append("wide_interval")
    if r.get("n") is not None and r["n"] < opts.min_n:
        out.append("small_n")
    if share and any(v is not None and not 0.0 <= v <= 1.0 for v in (est, lo, hi)):
        out.append("outside_range")
    return out


def _warnings(r: dict, opts, share: bool, tr) -> list[str]:
    _, ngettext = tr.gettext, tr.ngettext
    out = []
    lo, hi = r["ci_low"], r["ci_high"]
    found = flags(r, opts, share)
    if "wide_interval" in found:
        out.append(
            _("interval wider than %(width)s (from %(low).3f to %(high).3f)")
            % {"width": f"{opts.max_ci_width:g}", "low": lo, "high": hi}
        )
    if "small_n" in found:
        out.append(
            ngettext(
                "based on %(num)d respondent (fewer than %(min_n)d)",
                "based on %(num)d respondents (fewer than %(min_n)d)",
                r["n"],
            )
            % {"num": r["n"], "min_n": opts.min_n}
        )
    if "outside_range" in found:
        out.append(_("estimate or interval outside 0–100%%: the design's estimate is noisy at this sample size") % {})
    return out


def indicator_rows(design, naive, instrument, opts, crosstabs: dict, tr=None) -> list[dict]:
    """Every indicator overall and in every domain of opts.by (domains in the order of their levels: the
    form's choice order), in report.json's "indicators" shape; warnings in the language of `tr`."""
    tr = tr or translations(opts.language)
    sup = Suppressor(design, instrument, opts, crosstabs)
    out = []
    for ind in opts.indicators:
        binary = ind.kind == "mean" and is_binary(design.data, ind.variable)
        share = ind.kind != "mean" or binary
        for by in (None, *(b for b in opts.by if b not in ind.columns())):  # never a column by itself
            rows = _estimates(design, ind, by, opts.level)
            if by is None and not rows:  # nobody gave the indicator's answer (a small sample): say so
                out.append(
                    {
                        "id": ind.id,
                        "label": ind.text(opts.language),
                        "kind": ind.kind,
                        "variable": ind.columns()[0],
                        "level": ind.level,
                        "domain": {},
                        "domain_label": "",
                        "direct": ind.direct,
                        "share": share,
                        "suppressed": True,
                        "estimate": None,
                        "se": None,
                        "ci_low": None,
                        "ci_high": None,
                        "n": None,
                        "deff": None,
                        "naive_estimate": None,
                        "warnings": ["no interview gave this answer"],
                    }
                )
                continue
            naive_rows = {tuple(r.domain.items()): r for r in _estimates(naive, ind, by, opts.level)}
            if by is None:
                hidden: dict[tuple[tuple[str, str], ...], bool] = {(): sup.overall(ind, binary)}
                labels = {}
            else:
                d = sup.by_domain(ind, binary, by)
                hidden = {((by, k),): v for k, v in d.items()}
                lv = column_levels(design.data, by, instrument, opts.language)
                labels = dict(zip(lv.levels, lv.labels))
                order = {v: k for k, v in enumerate(lv.levels)}
                rows = sorted(rows, key=lambda r: order.get(str(next(iter(r.domain.values()))), len(order)))
            for r in rows:
                key = tuple(r.domain.items())
                suppressed = hidden.get(key, True)
                nv = naive_rows.get(key)
                row = {
                    "id": ind.id,
                    "label": ind.text(opts.language),
                    "kind": ind.kind,
                    "variable": ind.columns()[0],
                    "level": ind.level,
                    "domain": dict(r.domain),
                    "domain_label": ", ".join(labels.get(v, v) for v in r.domain.values()),
                    "direct": ind.direct,
                    "share": share,
                    "suppressed": suppressed,
                    "estimate": _num(r.estimate),
                    "se": _num(r.se),
                    "ci_low": _num(r.ci_low),
                    "ci_high": _num(r.ci_high),
                    "n": int(r.n),
                    "deff": _num(r.deff),
                    "naive_estimate": None if nv is None else _num(nv.estimate),
                }
                if suppressed:
                    row.update(
                        estimate=None,
                        se=None,
                        ci_low=None,
                        ci_high=None,
                        n=None,
                        deff=None,
                        naive_estimate=None,
                        warnings=[],
                        flags=[],
                    )
                else:
                    row["warnings"] = _warnings(row, opts, share, tr)
                    row["flags"] = flags(row, opts, share)
                out.append(row)
    return out


def sensitive_pairs(rows: list[dict]) -> list[dict]:
    """Each sensitive-question estimate beside its direct question, overall and per domain."""
    index = {(r["id"], tuple(r["domain"].items())): r for r in rows}
    out = []
    for r in rows:
        if r["kind"] not in ("list_experiment", "randomized_response") or not r["direct"]:
            continue
        d = index.get((r["direct"], tuple(r["domain"].items())))
        if d is None:
            continue
        both = r["estimate"] is not None and d["estimate"] is not None
        out.append(
            {
                "id": r["id"],
                "direct": r["direct"],
                "domain": r["domain"],
                "domain_label": r["domain_label"],
                "label": r["label"],
                "direct_label": d["label"],
                "kind": r["kind"],
                "estimate": r["estimate"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "direct_estimate": d["estimate"],
                "direct_ci_low": d["ci_low"],
                "direct_ci_high": d["ci_high"],
                "difference": (r["estimate"] - d["estimate"]) if both else None,
                "suppressed": r["suppressed"] or d["suppressed"],
            }
        )
    return out
