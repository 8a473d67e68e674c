"""The Python API that mirrors the CLI: build a design, then ask for estimates.

>>> import quietpoll as qp
>>> d = qp.read_data("apistrat.csv").frame
>>> des = qp.svydesign(d, strata="stype", weights="pw", fpc="fpc")
>>> qp.mean(des, "api00", by="stype").to_polars()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from .design import DesignSpec, ReplicateDesign, ReplicateSpec, TaylorDesign
from .design.spec import _as_tuple
from .estimators import mean, proportion, quantile, ratio, total
from .estimators.sensitive import LIST_METHODS
from .estimators.table import Table
from .errors import EstimationError


def svydesign(
    data: pl.DataFrame,
    *,
    ids: str | Sequence[str] = (),
    strata: str | None = None,
    weights: str | None = None,
    probs: str | None = None,
    fpc: str | Sequence[str] = (),
    nest: bool = False,
    lonely_psu: str = "fail",
    adjust_domain_lonely: bool = False,
) -> TaylorDesign:
    """A Taylor-linearization design, as R's svydesign(ids, strata, weights/probs, fpc, nest);
    `lonely_psu` and `adjust_domain_lonely` are R's options survey.lonely.psu and
    survey.adjust.domain.lonely."""
    spec = DesignSpec(
        weights=weights,
        probs=probs,
        strata=strata,
        ids=_as_tuple(ids),
        fpc=_as_tuple(fpc),
        nest=nest,
        lonely_psu=lonely_psu,
        adjust_domain_lonely=adjust_domain_lonely,
    )
    return TaylorDesign.from_spec(data, spec)


def svrepdesign(
    data: pl.DataFrame,
    *,
    repweights: str | Sequence[str],
    type: str = "other",
    weights: str | None = None,
    rho: float | None = None,
    scale: float | None = None,
    rscales: float | Sequence[float] | None = None,
    mse: bool = False,
    combined_weights: bool = True,
) -> ReplicateDesign:
    """A replicate-weight design, as R's svrepdesign(repweights, type, weights, rho, scale, rscales, mse)."""
    rscale_seq: Sequence[Any] | None  # a bare number becomes a one-element list
    if rscales is not None and not isinstance(rscales, (list, tuple)):
        rscale_seq = [rscales]
    else:
        rscale_seq = rscales
    rs = ReplicateSpec(
        columns=repweights if isinstance(repweights, str) else tuple(repweights),
        type=type,
        rho=rho,
        scale=scale,
        rscales=None if rscale_seq is None else tuple(map(float, rscale_seq)),
        mse=mse,
        combined_weights=combined_weights,
    )
    return ReplicateDesign.from_spec(data, DesignSpec(weights=weights, replicates=rs))


def estimate(
    data: pl.DataFrame,
    design: DesignSpec | Mapping | TaylorDesign | ReplicateDesign,
    *,
    mean_: Sequence[str] = (),
    total_: Sequence[str] = (),
    prop: Sequence[str] = (),
    ratio_: Sequence[tuple[str, str]] = (),
    quantile_: Mapping[str, Sequence[float]] | None = None,
    by: Sequence[str] = (),
    level: float = 0.95,
    ci_method: str | None = None,
    df: str | float = "design",
    domain: Mapping[str, str] | None = None,
    list_experiment: tuple[str, str] | None = None,
    randomized_response: Mapping | None = None,
    list_method: str = "diff",
    control_items: int | None = None,
    design_effect_test: bool = False,
) -> Table:
    """Everything `quietpoll estimate` computes, in its row order: means, totals, proportions,
    ratios, quantiles, list experiment, randomized response, each over the domains of `by`; `domain`
    ({column: value}) restricts the results to one subpopulation (the design keeps every PSU, as a
    domain should).

    `list_experiment` is (count column, treatment column), estimated by `list_method` "diff"
    (difference in means) or "ml" (Imai 2011); `control_items` is J (default: the largest control
    count). `design_effect_test` adds the Blair-Imai test per domain: the result is then a
    `DesignEffectTable` whose JSON has a "design_effect_test" key."""
    if isinstance(design, Mapping):
        design = DesignSpec.from_mapping(design)
    des = design.build(data) if isinstance(design, DesignSpec) else design
    if not (mean_ or total_ or prop or ratio_ or quantile_ or list_experiment or randomized_response):
        raise EstimationError(
            "nothing to estimate: give {mean_}, {total_}, {prop}, {ratio_}, {quantile_}, "
            "{list_experiment} or {randomized_response}",
            also=("mean_", "total_", "prop", "ratio_", "quantile_", "list_experiment", "randomized_response"),
        )
    if list_method not in LIST_METHODS:
        raise EstimationError(
            f"{{list_method}} must be one of {', '.join(LIST_METHODS)}, got '{list_method}'", param="list_method"
        )
    if design_effect_test and not list_experiment:
        raise EstimationError(
            "{design_effect_test} needs a list experiment ({list_experiment}: its item-count and treatment columns)",
            param="design_effect_test",
            also=("list_experiment",),
        )
    if control_items is not None and list_method == "diff" and not design_effect_test:
        raise EstimationError(
            "{control_items} applies to {list_method} ml and {design_effect_test}; the "
            "difference in means does not use it",
            param="control_items",
            also=("list_method", "design_effect_test"),
        )
    numeric_ci = "wald"
    if ci_method not in (None, "wald") and (mean_ or total_ or ratio_) and not (prop or quantile_):
        raise EstimationError(
            f"{{ci_method}} {ci_method} applies to proportions and quantiles; means, totals "
            "and ratios have wald intervals",
            param="ci_method",
        )
    out = Table((), des.describe())
    sub = dict(domain or {})
    kw: dict[str, Any] = dict(by=list(sub) + [b for b in by if b not in sub], level=level, df=df)
    for v in mean_:
        out = out + mean(des, v, ci_method=numeric_ci, **kw)
    for v in total_:
        out = out + total(des, v, ci_method=numeric_ci, **kw)
    for v in prop:
        out = out + proportion(des, v, ci_method=ci_method or "logit", **kw)
    for num, den in ratio_:
        out = out + ratio(des, num, den, ci_method=numeric_ci, **kw)
    for v, probs in (quantile_ or {}).items():
        qm = ci_method if ci_method in ("beta", "xlogit", "logit", "asin", "quantile") else "wald"
        if ci_method not in (None, qm):  # e.g. wilson or likelihood: proportions only, never silently
            import warnings

            warnings.warn(
                f"ci_method {ci_method!r} has no quantile interval: the quantiles of {v!r} use Woodruff "
                "intervals with wald",
                stacklevel=2,
            )
        out = out + quantile(des, v, probs, ci_method=qm, **kw)
    if list_experiment and list_method == "ml":
        from .estimators.list_ml import list_experiment_ml

        out = out + list_experiment_ml(des, list_experiment[0], list_experiment[1], control_items=control_items, **kw)
    elif list_experiment:
        from .estimators.sensitive import list_experiment as _le

        out = out + _le(des, list_experiment[0], list_experiment[1], **kw)
    if randomized_response:
        from .estimators.sensitive import randomized_response as _rr

        rr = dict(randomized_response)
        out = out + _rr(des, rr.pop("answer"), **rr, **kw)
    if sub:
        rows = tuple(r for r in out.rows if all(r.domain.get(k) == str(v) for k, v in sub.items()))
        if not rows:
            where = ", ".join(f"{k}={v}" for k, v in sub.items())
            raise EstimationError(f"domain {where} has no cases: check the column and value")
        out = Table(rows, out.design)
    if design_effect_test:
        from .estimators.list_test import DesignEffectTable
        from .estimators.list_test import design_effect_test as _det

        tests = [
            r
            for r in _det(des, *(list_experiment or ()), by=kw["by"], control_items=control_items)
            if all(r["domain"].get(k) == str(v) for k, v in sub.items())
        ]
        out = DesignEffectTable(out.rows, out.design, tuple(tests))
    return out


def as_svrepdesign(
    design: TaylorDesign,
    type: str = "JKn",
    *,
    replicates: int = 50,
    seed: int | None = None,
    rho: float | None = None,
    mse: bool = False,
) -> ReplicateDesign:
    """Replicate weights from a Taylor design's first stage, as R's as.svrepdesign: JK1, JKn, BRR,
    Fay (rho), bootstrap, subbootstrap (Rao-Wu)."""
    from .design.builders import REPLICATE_TYPES, build_replicates, canonical_type, r_text_order

    st = design.stages[0]
    popsize = None if st.popsize is None else st.popsize[st.units]
    strata = st.strata if design.has_strata else None
    # BRR/Fay: R gives strata Hadamard rows in the text order of their labels ("1", "10", "2", ...)
    name = canonical_type(type) if isinstance(type, str) else None
    half = name in REPLICATE_TYPES and REPLICATE_TYPES[name].half_sample
    order = r_text_order([lab[0] for lab in st.labels]) if half and strata is not None else None
    reps = build_replicates(
        type,
        strata,
        st.units,
        popsize=popsize,
        rho=rho,
        replicates=replicates,
        seed=seed,
        mse=mse,
        stratum_order=order,
    )
    rw = reps.factors * design.weights[:, None]
    # a built type that cannot be given as columns (subbootstrap) is kept as "other" with its scales
    kind = reps.type if REPLICATE_TYPES[reps.type].scales is not None else "other"
    return ReplicateDesign.from_arrays(
        design.data,
        design.weights,
        rw,
        type=kind,
        scale=reps.scale,
        rscales=reps.rscales,
        mse=mse,
        rho=reps.rho,
        spec=design.spec,
    )


def glm(design, formula: str, family: str = "gaussian", *, subset=None, level: float = 0.95):
    """A design-based GLM, as R's svyglm(formula, design, family): `family` gaussian, binomial,
    quasibinomial, poisson, quasipoisson or Gamma (R's default links); `subset` a boolean array, a
    polars expression or a subset expression (R's subset(design, ...)): rows outside stay in the
    design. Returns a GLMResult (coefficients(), vcov, to_dict())."""
    from .estimators.glm import glm as _glm

    return _glm(design, formula, family, subset=subset, level=level)
