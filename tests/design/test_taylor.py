"""Taylor designs: lonely PSUs, nesting, fpc forms, degrees of freedom, errors."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import quietpoll as qp
from quietpoll.errors import DesignError, LonelyPSUError

FRAME = pl.DataFrame(
    {
        "s": ["a", "a", "a", "a", "b", "b", "c"],
        "psu": [1, 1, 2, 2, 1, 2, 1],
        "w": [2.0, 2, 3, 3, 4, 4, 5],
        "y": [1.0, 2, 3, 4, 5, 6, 7],
        "N": [10.0] * 6 + [1.0],
    }
)


def se(des):
    return qp.mean(des, "y").rows[0].se


def test_nest_and_unnested_ids():
    with pytest.raises(DesignError, match="not nested"):
        qp.svydesign(FRAME, strata="s", ids="psu", weights="w")
    des = qp.svydesign(FRAME, strata="s", ids="psu", weights="w", nest=True, lonely_psu="remove")
    assert des.degf() == 5 - 3


def test_lonely_policies():
    base = dict(strata="s", ids="psu", weights="w", nest=True)
    with pytest.raises(LonelyPSUError, match="'c'"):
        se(qp.svydesign(FRAME, **base))
    remove = se(qp.svydesign(FRAME, **base, lonely_psu="remove"))
    certainty = se(qp.svydesign(FRAME, **base, lonely_psu="certainty"))
    adjust = se(qp.svydesign(FRAME, **base, lonely_psu="adjust"))
    average = se(qp.svydesign(FRAME, **base, lonely_psu="average"))
    assert remove == certainty < adjust
    assert average == pytest.approx(remove * np.sqrt(3 / 2))
    # a lonely PSU that is a certainty unit (fpc = sample size) is never an error
    assert se(qp.svydesign(FRAME, **base, fpc="N")) >= 0


def test_fpc_as_fraction_equals_population_size():
    f = FRAME.with_columns(n_h=pl.col("psu").n_unique().over("s").cast(pl.Float64))
    a = qp.svydesign(f, strata="s", ids="psu", weights="w", nest=True, fpc="N", lonely_psu="remove")
    b = qp.svydesign(
        f.with_columns(frac=pl.col("n_h") / pl.col("N")),
        strata="s",
        ids="psu",
        weights="w",
        nest=True,
        fpc="frac",
        lonely_psu="remove",
    )
    assert se(a) == pytest.approx(se(b), rel=1e-12)


def test_errors():
    with pytest.raises(DesignError, match="100%"):
        qp.svydesign(FRAME.with_columns(N=pl.lit(1.5)), strata="s", ids="psu", nest=True, fpc="N")
    with pytest.raises(DesignError, match="mixes"):
        qp.svydesign(FRAME.with_columns(N=pl.Series([0.5] * 6 + [3.0])), fpc="N")
    with pytest.raises(DesignError, match="only one primary"):
        qp.svydesign(FRAME.with_columns(psu=pl.lit(1)), ids="psu")
    with pytest.raises(DesignError, match="missing"):
        qp.svydesign(FRAME.with_columns(s=pl.Series(["a", None, "a", "a", "b", "b", "c"])), strata="s")
