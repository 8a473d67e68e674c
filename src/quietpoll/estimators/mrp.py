"""Multilevel regression and poststratification (MRP) for small groups, for direct yes/no questions and
for list experiments; the Python API behind ``quietpoll estimate --prop VAR --by COL --model mrp
[--poststrat FILE]``.

**Why NumPyro.** Full Bayesian inference needs a maintained sampler: NumPyro runs NUTS on JAX, installs
from PyPI as pure wheels (numpyro, jax, jaxlib: no C++ compiler or toolchain at install or run time,
unlike Stan or PyMC's C backends), and compiles the model once with XLA, so a demo-size fit (150 rows,
two chains) takes seconds on a CPU (docs/benchmarks_small_samples.md). jax and numpyro are imported only
when a model is fitted: ``quietpoll --version`` and every other command never load them.

**Model** (mrp_model.py has the likelihoods): a logistic model of the answer with an intercept, fixed
effects and random intercepts, non-centred (a_g = sigma_g z_g), with weakly informative priors::

    alpha ~ N(0, 2.5)      beta ~ N(0, 2.5) on standardized predictors (centred, divided by their sd)
    sigma_g ~ HalfNormal(1)   z_g ~ N(0, 1)

For a list experiment (``list_experiment=(count, treatment)``) the sensitive item has this model and the
control count a Binomial(J, .) model of the same form, with the latent answer marginalized (as R's
``ictregBayesHier``).

**Which variable enters how** (the documented rule; `random=` and `fixed=` override it): the model's
variables are the population cells' columns other than ``N``. A categorical (text, Boolean) variable
with 3 or more levels gets random intercepts; one with 2 levels a fixed effect; a numeric variable with
more than 2 distinct values a fixed effect of the value (2 values: binary); one level: left out.

**Population cells** (mrp_cells.py): ``poststrat`` (a CSV path or a polars frame: one column per model
variable and the count ``N``), or else the study's weighting targets crossed under independence.
Each posterior draw gives every cell's probability p_c; a domain's estimate is sum N_c p_c / sum N_c over
its cells (``by``: a column of the cells, e.g. province group or exit cohort), plus the overall row.

**Rows** are shaped like ``quietpoll estimate --format json`` rows: ``estimate`` the posterior mean,
``se`` the posterior sd, ``ci_low``/``ci_high`` the equal-tailed posterior interval at ``level``, ``n``
the interviews of the domain used, ``"method": "mrp"``, ``"ci_method": "posterior"``, and the
diagnostics ``rhat`` (the largest split R-hat over every model parameter and every poststratified
estimate), ``ess`` (the smallest effective sample size over the same), ``divergences``. A fit that fails
(R-hat > 1.01, ESS < 400 or any divergent transition) is refitted once with a higher ``target_accept``;
if it still fails, every row has ``"published": false``, the ``reason``, and no numbers.

The design's weights are not used: the model adjusts for the variables in the cells, and
poststratification replaces weighting. Interviews with a missing answer or model variable are left out
(``n_missing``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import ColumnError, EstimationError
from .mrp_cells import COUNT, cells_from_targets, column_names, decide_terms, encode, read_poststrat

__all__ = ["mrp", "MRPResult", "RHAT_MAX", "ESS_MIN"]

RHAT_MAX = 1.01
ESS_MIN = 400
SUCCESS_TEXT = ("yes", "1", "true")


@dataclass
class MRPResult:
    """MRP rows (estimate-JSON rows with method "mrp") and the model that made them."""

    rows: list[dict]
    model: dict = field(default_factory=dict)
    _repost: Any = field(default=None, repr=False)

    def poststratify(self, poststrat: str | Path | pl.DataFrame, by: str | None = None) -> list[dict]:
        """The same fit poststratified to other population cells (the model's variables as columns and
        N), by `by`: rows as :attr:`rows`, with the fit's diagnostics (R-hat and ESS of the fit)."""
        return self._repost(poststrat, by)

    @property
    def published(self) -> bool:
        return all(r["published"] for r in self.rows)

    def to_dicts(self) -> list[dict]:
        return [dict(r) for r in self.rows]

    def to_json_obj(self) -> dict:
        return {"model": self.model, "estimates": self.to_dicts()}


def mrp(
    data,
    prop: str | None = None,
    *,
    by: str | None = None,
    poststrat: str | Path | pl.DataFrame | None = None,
    targets: Any = None,
    population: float | None = None,
    success: str | None = None,
    list_experiment: tuple[str, str] | None = None,
    control_items: int | None = None,
    random: Sequence[str] | None = None,
    fixed: Sequence[str] | None = None,
    level: float = 0.95,
    seed: int = 0,
    num_warmup: int = 1000,
    num_samples: int = 1000,
    num_chains: int = 2,
    chain_method: str = "sequential",
    target_accept: float = 0.8,
    retry_target_accept: float = 0.95,
    rhat_max: float = RHAT_MAX,
    ess_min: float = ESS_MIN,
    withhold_failed: bool = True,
) -> MRPResult:
    """MRP estimates of the proportion of `prop` (its `success` level) or of a list experiment's sensitive
    item (`list_experiment=(count, treatment)`), overall and by `by` (module text).

    `data`: a polars frame or a design (its `.data`). `poststrat`: population cells (CSV path or frame);
    else `targets` (a WeightingSpec, or a [weighting.targets] mapping with `population`).
    `withhold_failed=False` keeps the numbers of a fit that failed its diagnostics (still
    ``"published": false``): for simulations only, never for a published table."""
    frame = data.data if hasattr(data, "data") and not isinstance(data, pl.DataFrame) else data
    _check_options(level, num_warmup, num_samples, num_chains, chain_method, target_accept, seed)
    if (prop is None) == (list_experiment is None):
        raise EstimationError(
            "{model} mrp needs exactly one of {prop} or {list_experiment}",
            param="model",
            also=("prop", "list_experiment"),
        )
    cells = _cells(poststrat, targets, population, frame)
    variables = [c for c in cells.columns if c != COUNT]
    if by is not None and by not in variables:
        raise ColumnError(
            "{by}: " + f"'{by}' is not a column of the population cells ({', '.join(variables)}); "
            "MRP estimates domains of the cells: add it to {poststrat}",
            param="by",
            also=("poststrat",),
        )
    absent = [v for v in variables if v not in frame.columns]
    if absent:
        raise ColumnError(
            "{poststrat}: " + f"model variable '{absent[0]}' (a column of the population cells) is not in the data",
            param="poststrat",
        )
    terms = decide_terms(cells, variables, random, fixed)
    if prop is not None:
        y, miss_y, success_text = _outcome(frame, prop, success)
        extra: dict = {}
        J = None
        variable = prop
    elif list_experiment is not None:
        from .sensitive import list_counts

        count, treatment = list_experiment
        variable = count
        if count not in frame.columns or treatment not in frame.columns:
            missing = count if count not in frame.columns else treatment
            raise ColumnError("{list_experiment}: " + f"column '{missing}' is not in the data", param="list_experiment")
        yc, t, miss_y, J = list_counts(frame, count, treatment, control_items)
        y = yc.astype(np.int32)
        extra = {"treat": t.astype(np.int32), "J": float(J)}
        success_text = None
    else:  # pragma: no cover - refused above
        raise EstimationError("{model} mrp needs exactly one of {prop} or {list_experiment}", param="model")
    X, G, miss_x = encode(frame, terms, "data")
    used = ~(miss_y | miss_x)
    if used.sum() < 2:
        raise EstimationError(
            "{model} mrp: fewer than 2 interviews with the answer and every model variable", param="model"
        )
    center = X[used].mean(axis=0) if X.shape[1] else np.zeros(0)
    scale = X[used].std(axis=0) if X.shape[1] else np.zeros(0)
    scale = np.where(scale > 0, scale, 1.0)
    data_arrays = {"X": ((X[used] - center) / scale).astype(np.float32), "G": G[used], "y": y[used]}
    if extra:
        data_arrays.update(treat=extra["treat"][used], J=np.float32(extra["J"]))
    n_levels = tuple(len(t.levels) for t in terms if t.kind == "random")

    def post(sites, cells_: pl.DataFrame, by_: str | None):
        """Poststratified draws (chains, samples, domains) on `cells_`, and the domain labels."""
        from .mrp_model import linear_draws

        Xc, Gc, _ = encode(cells_, terms, "cells")
        weights, labels = _domains(cells_, by_)
        eta = linear_draws(sites, "", (Xc - center) / scale, Gc)
        return (1.0 / (1.0 + np.exp(-eta))) @ weights, labels

    def fit(accept: float):
        from .mrp_model import diagnostics, sample

        draws = sample(
            data_arrays,
            n_levels,
            list_exp=list_experiment is not None,
            seed=seed,
            num_warmup=num_warmup,
            num_samples=num_samples,
            num_chains=num_chains,
            chain_method=chain_method,
            target_accept=accept,
        )
        est, _ = post(draws.sites, cells, by)
        rhat, ess = diagnostics(list(draws.sites.values()) + [est])
        return draws, est, rhat, ess

    attempts = []
    draws, est, rhat, ess = fit(target_accept)
    attempts.append(target_accept)
    reason = _failure(rhat, ess, draws.divergences, rhat_max, ess_min)
    if reason and retry_target_accept > target_accept:
        draws, est, rhat, ess = fit(retry_target_accept)
        attempts.append(retry_target_accept)
        reason = _failure(rhat, ess, draws.divergences, rhat_max, ess_min)
    statistic = "proportion" if prop is not None else "list_experiment"

    def rows_of(est_, labels_, by_):
        flat = est_.reshape(-1, est_.shape[-1])
        by_codes = _by_codes(frame, by_, labels_)
        out = []
        for d, label in enumerate(labels_):
            in_dom = np.ones(frame.height, bool) if label is None else by_codes == d
            out.append(
                _row(
                    statistic,
                    variable,
                    success_text,
                    {} if label is None else {by_: label},
                    flat[:, d],
                    level,
                    int((in_dom & used).sum()),
                    int((in_dom & ~used).sum()),
                    rhat,
                    ess,
                    draws.divergences,
                    reason,
                    withhold_failed,
                )
            )
        return out

    def repost(cells_, by_=None):
        cells_ = read_poststrat(cells_)
        if by_ is not None and by_ not in cells_.columns:
            raise ColumnError("{by}: " + f"'{by_}' is not a column of the population cells", param="by")
        missing = [t.name for t in terms if t.name not in cells_.columns]
        if missing:
            raise ColumnError(
                "{poststrat}: " + f"model variable '{missing[0]}' is not a column of the population cells",
                param="poststrat",
            )
        est_, labels_ = post(draws.sites, cells_, by_)
        return rows_of(est_, labels_, by_)

    _, labels = _domains(cells, by)
    rows = rows_of(est, labels, by)
    model = {
        "method": "mrp",
        "outcome": variable,
        "list_experiment": list(list_experiment or ()) or None,
        "control_items": J,
        "random": [t.name for t in terms if t.kind == "random"],
        "fixed": column_names(terms),
        "priors": {
            "alpha": "normal(0, 2.5)",
            "beta": "normal(0, 2.5), standardized predictors",
            "sigma": "half-normal(1)",
        },
        "cells": cells.height,
        "population": float(cells.get_column(COUNT).sum()),
        "poststrat": "table" if poststrat is not None else "weighting targets (margins crossed, independence)",
        "chains": num_chains,
        "warmup": num_warmup,
        "samples": num_samples,
        "seed": seed,
        "target_accept": attempts,
        "n_used": int(used.sum()),
    }
    return MRPResult(rows, model, repost)


def _check_options(level, num_warmup, num_samples, num_chains, chain_method, target_accept, seed) -> None:
    if not 0 < float(level) < 1:
        raise EstimationError("{level} must be between 0 and 1 (e.g. 0.95), got " + f"{level}", param="level")
    for name, v in (("num_warmup", num_warmup), ("num_samples", num_samples), ("num_chains", num_chains)):
        if int(v) != v or v < 1:
            raise EstimationError("{" + name + "} must be a whole number of at least 1, got " + repr(v), param=name)
    if chain_method not in ("sequential", "parallel", "vectorized"):
        raise EstimationError("{chain_method} must be sequential, parallel or vectorized", param="chain_method")
    if not 0 < float(target_accept) < 1:
        raise EstimationError("{target_accept} must be between 0 and 1", param="target_accept")
    if int(seed) != seed or seed < 0:
        raise EstimationError("{seed} must be a whole number >= 0, got " + repr(seed), param="seed")


def _cells(poststrat, targets, population, frame) -> pl.DataFrame:
    if poststrat is not None:
        return read_poststrat(poststrat)
    if targets is None:
        raise EstimationError(
            "{model} mrp needs population cells: give {poststrat} (a CSV of cells with a count "
            "column N) or the study's [weighting.targets]",
            param="poststrat",
            also=("model",),
        )
    if hasattr(targets, "targets"):  # a WeightingSpec
        population = targets.population if population is None else population
        targets = targets.targets
    return read_poststrat(cells_from_targets(targets, frame, population))


def _outcome(frame: pl.DataFrame, prop: str, success: str | None):
    """(0/1 answer, missing mask, the success level as text)."""
    from ..weighting.targets import text_series

    if prop not in frame.columns:
        raise ColumnError("{prop}: " + f"'{prop}' is not a column of the data", param="prop")
    col = frame.get_column(prop)
    txt = text_series(col)
    missing = txt.is_null().to_numpy()
    seen = set(txt.drop_nulls().unique().to_list())
    if success is None:
        if col.dtype.is_numeric() and not seen <= {"0", "1"}:
            raise ColumnError(
                "{prop}: " + f"'{prop}' must be 0/1 (or give the level counted as yes), found "
                f"{sorted(seen - {'0', '1'})[0]}",
                param="prop",
            )
        hits = [s for s in SUCCESS_TEXT if s in seen]
        if len(hits) != 1:
            raise EstimationError(
                "{prop}: " + f"which level of '{prop}' is yes? Give it as " + "{success}",
                param="prop",
                also=("success",),
            )
        success = hits[0]
    elif str(success) not in seen:
        raise EstimationError("{success}: " + f"level '{success}' never occurs in '{prop}'", param="success")
    y = (txt == str(success)).fill_null(False).to_numpy().astype(np.int32)
    return y, missing, str(success)


def _domains(cells: pl.DataFrame, by: str | None):
    """(cells x domains matrix of N shares, domain labels): the overall column first (label None)."""
    from ..weighting.targets import text_series

    N = cells.get_column(COUNT).to_numpy().astype(float)
    cols = [N / N.sum()]
    labels: list[str | None] = [None]
    if by is not None:
        txt = text_series(cells.get_column(by)).to_numpy()
        for lev in sorted(set(txt.tolist())):
            w = np.where(txt == lev, N, 0.0)
            if w.sum() > 0:
                cols.append(w / w.sum())
                labels.append(lev)
    return np.column_stack(cols), labels


def _by_codes(frame: pl.DataFrame, by: str | None, labels) -> np.ndarray:
    if by is None:
        return np.zeros(frame.height, np.int64)
    from ..weighting.targets import text_series

    pos = {lev: i for i, lev in enumerate(labels) if lev is not None}
    return (
        text_series(frame.get_column(by))
        .replace_strict(pos, default=-1, return_dtype=pl.Int64)
        .fill_null(-1)
        .to_numpy()
    )


def _failure(rhat: float, ess: float, div: int, rhat_max: float, ess_min: float) -> str | None:
    why = []
    if not rhat <= rhat_max:
        why.append(f"R-hat {rhat:.3f} > {rhat_max}")
    if not ess >= ess_min:
        why.append(f"effective sample size {ess:.0f} < {ess_min:g}")
    if div > 0:
        why.append(f"{div} divergent transition(s)")
    return "; ".join(why) or None


def _row(
    statistic, variable, level_text, domain, draws, level, n, n_missing, rhat, ess, div, reason, withhold: bool = True
) -> dict:
    published = reason is None
    mean = float(draws.mean())
    sd = float(draws.std(ddof=1)) if draws.size > 1 else math.nan
    lo, hi = (float(q) for q in np.quantile(draws, [(1 - level) / 2, (1 + level) / 2]))

    def num(x: float) -> float | None:
        return x if (published or not withhold) and math.isfinite(x) else None

    return {
        "statistic": statistic,
        "variable": variable,
        "level": level_text,
        "domain": domain,
        "estimate": num(mean),
        "se": num(sd),
        "ci_low": num(lo),
        "ci_high": num(hi),
        "level_ci": float(level),
        "ci_method": "posterior",
        "df": None,
        "deff": None,
        "n": n,
        "n_missing": n_missing,
        "cv": num(sd / abs(mean)) if mean else None,
        "n_eff": None,
        "method": "mrp",
        "rhat": float(rhat) if math.isfinite(rhat) else None,
        "ess": float(ess) if math.isfinite(ess) else None,
        "divergences": int(div),
        "published": published,
        "reason": reason,
    }
