"""The weighting methods, one registration each.

A method is a step ``(spec, frame, margins, X, pop, w, W) -> (weights, replicate weights or None,
record or None)``: `spec` the WeightingSpec, `frame` the data (sparse levels collapsed), `margins`
the parsed targets, `X`/`pop` the calibration model matrix and population totals (only built for a
method registered with ``model_matrix=True``), `w` the current weights and `W` the (n, R) replicate
weights of a replicate design (None otherwise: then return None for them). The record (records.py)
lets a linearization design's standard errors use the weighting's residuals. apply.py runs the step
through ``design.reweight`` (design/protocol.py), so a method never asks which kind the design is.

Adding a method is one ``@weighting_method("name")`` function here; ``[weighting] method`` and the
error messages list :data:`METHODS` in registration order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import WeightingError
from .calibrate import calibrate_replicates, grake
from .poststratify import poststratify_weights
from .rake import rake_weights
from .records import GregRecord, PostStratRecord, RakingRecord
from .targets import Margin, margin_codes


@dataclass(frozen=True)
class WeightingMethod:
    name: str
    step: Callable | None  # None: not a step to targets (propensity, run by apply.py first)
    model_matrix: bool = False  # the step needs the calibration model matrix X and totals pop


#: name -> method, in registration order
METHODS: dict[str, WeightingMethod] = {}


def weighting_method(*names: str, model_matrix: bool = False):
    """Register the decorated step under each of `names`."""

    def register(step):
        for name in names:
            if name in METHODS:
                raise ValueError(f"weighting method '{name}' is registered twice")
            METHODS[name] = WeightingMethod(name, step, model_matrix)
        return step

    return register


def _control(spec) -> dict:
    return {k: v for k, v in (("maxit", spec.maxit), ("epsilon", spec.epsilon)) if v is not None}


def _labels(m: Margin) -> Sequence[str]:
    return [f"{m.variable}={lev}" for lev in m.levels]


@weighting_method("poststratify")
def _poststratify(spec, frame, margins, X, pop, w, W):
    if len(margins) != 1 or margins[0].kind != "categorical":
        raise WeightingError(
            'poststratify takes one categorical variable; use method = "rake" for several margins or a numeric total'
        )
    cells = margin_codes(frame, margins[0])
    both = w if W is None else np.column_stack([w, W])
    new = poststratify_weights(cells, both, margins[0].totals, labels=_labels(margins[0]))
    w_new, W_new = (new, None) if W is None else (new[:, 0], new[:, 1:])
    return w_new, W_new, PostStratRecord(cells, w_new, w)


@weighting_method("rake")
def _rake(spec, frame, margins, X, pop, w, W):
    numeric = [m.variable for m in margins if m.kind != "categorical"]
    if numeric:
        raise WeightingError(
            f"rake takes categorical margins; '{numeric[0]}' is a numeric total: use "
            'method = "raking" (calibration) for numeric totals'
        )
    codes = [margin_codes(frame, m) for m in margins]
    res = rake_weights(
        codes,
        w,
        [m.totals for m in margins],
        labels=[_labels(m) for m in margins],
        allow_nonconvergence=spec.allow_nonconvergence,
        replicates=W,
        **_control(spec),
    )
    return res.weights, res.replicate_weights, RakingRecord.from_result(codes, res)


@weighting_method("linear", "raking", "logit", model_matrix=True)
def _calibrate(spec, frame, margins, X, pop, w, W):
    bounds = spec.bounds if spec.bounds is not None else (-np.inf, np.inf)
    g = grake(X, w, pop, calfun=spec.method, bounds=bounds, **_control(spec))
    W_new = None
    if W is not None:
        W_new, _failed = calibrate_replicates(X, W, pop, calfun=spec.method, bounds=bounds, **_control(spec))
    return w * g, W_new, GregRecord.from_fit(X, w, g)


# inverse-propensity weights against a reference sample (apply.py's _propensity), optionally
# followed by one of the steps above (`then`)
METHODS["propensity"] = WeightingMethod("propensity", None)
