"""The fast paths of the weighting engine give what the plain definitions give: text margins coded in
one polars pass (targets.py), joint cells of several margins (design/codes.py combine_codes), the
calibration model matrix kept as cells (modelmatrix.py) and the raking record made on demand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import quietpoll as qp
from quietpoll.design.codes import combine_codes, gather, joint_sums, small_codes
from quietpoll.errors import WeightingError
from quietpoll.weighting import targets as tg
from quietpoll.weighting.calibrate import grake, model_matrix
from quietpoll.weighting.modelmatrix import from_codes
from quietpoll.weighting.rake import rake_weights
from quietpoll.weighting.targets import margin_codes, parse_targets

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def coded(draw):
    """1-4 code arrays (some with -1 for no level, in various integer types) and their sizes."""
    n = draw(st.integers(1, 300))
    m = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    codes, ks = [], []
    for _ in range(m):
        k = draw(st.sampled_from([1, 2, 5, 40, 130, 300]))
        lo = -1 if draw(st.booleans()) else 0
        c = rng.integers(lo, k, n)
        types = [np.int64, np.int16] + ([np.int8] if k < 127 else []) + ([np.uint8] if lo == 0 and k < 256 else [])
        codes.append(c.astype(draw(st.sampled_from(types))))
        ks.append(k)
    return codes, ks


@SETTINGS
@given(coded())
def test_joint_cells_decode_to_the_codes_in_lexicographic_order(s):
    codes, ks = s
    joint, digits = combine_codes(codes, ks)
    for c, d in zip(codes, digits):
        np.testing.assert_array_equal(d[joint], c.astype(np.int64))
    order = np.lexsort([c.astype(np.int64) for c in codes[::-1]])
    assert np.all(np.diff(joint[order].astype(np.int64)) >= 0)
    assert int(joint.max()) < len(digits[0])


def test_joint_cells_compress_a_large_table():
    rng = np.random.default_rng(1)
    codes = [rng.integers(0, 300, 50) for _ in range(4)]  # 300**4 cells for 50 rows
    joint, digits = combine_codes(codes, [300] * 4)
    assert len(digits[0]) == len(np.unique(joint)) <= 50
    for c, d in zip(codes, digits):
        np.testing.assert_array_equal(d[joint], c)


def test_small_codes_keep_minus_one_and_values():
    c = np.array([0, 5, -1, 126])
    assert small_codes(c, 127).dtype == np.int16 and small_codes(c, 127).tolist() == c.tolist()
    assert small_codes(c[:3], 6).dtype == np.int8 and small_codes(c[:3], 6).tolist() == [0, 5, -1]
    u = np.array([0, 3, 9], dtype=np.uint8)
    assert small_codes(u, 10).dtype == np.int8 and small_codes(u, 10).tolist() == [0, 3, 9]


# ---- text margins: one polars pass, or the general path when something is off -------------------
@pytest.fixture
def frame():
    rng = np.random.default_rng(7)
    n = 400
    return pl.DataFrame(
        {
            "region": rng.choice(["north", "south", "east", "west", "Zentral"], n),
            "sex": rng.choice(["f", "m"], n),
            "age": rng.integers(1, 5, n),
            "w": rng.uniform(0.5, 2, n),
            "x": rng.normal(10, 2, n),
        }
    )


def _targets():
    return {
        "region": {"west": 100, "north": 300, "south": 200, "east": 250, "Zentral": 150},
        "sex": {"m": 480, "f": 520},
        "age": {"1": 200, "2": 300, "3": 250, "4": 250},
    }


def _general(var, spec, frame, w=None):
    """The general path alone (no fast codes)."""
    return tg._categorical(var, spec, frame.get_column(var), None, w)


@pytest.mark.parametrize("dtype", [pl.String, pl.Categorical, "enum"])
def test_fast_codes_equal_the_general_path(frame, dtype):
    if dtype == "enum":
        cats = ["west", "north", "other", "south", "east", "Zentral"]  # "other": a category with no rows
        frame = frame.with_columns(pl.col("region").cast(pl.Enum(cats)))
    else:
        frame = frame.with_columns(pl.col("region").cast(dtype))
    t = _targets()
    fast = tg._target_order_codes(t, frame)
    assert set(fast) == {"region", "sex"}  # "age" is numeric: the general path
    for m in parse_targets(t, frame, weights=frame["w"].to_numpy()):
        g = _general(m.variable, t[m.variable], frame)
        assert m.levels == g.levels  # sorted as text: "Zentral" < "east"
        np.testing.assert_array_equal(m.totals, g.totals)
        np.testing.assert_array_equal(m.codes, g.codes)
        assert m.codes.dtype == np.int8


def test_fast_path_leaves_out_what_it_cannot_vouch_for(frame):
    t = _targets()
    missing_level = {**t, "sex": {"m": 480, "f": 500, "x": 20}}  # a target level not in the data
    assert "sex" not in tg._target_order_codes(missing_level, frame)
    with pytest.raises(WeightingError, match="target level 'x' of 'sex' does not occur in the data"):
        parse_targets(missing_level, frame)
    no_target = {**t, "region": {k: v for k, v in t["region"].items() if k != "east"}}
    assert "region" not in tg._target_order_codes(no_target, frame)
    with pytest.raises(WeightingError, match="'region' level 'east' occurs in the data but has no target"):
        parse_targets(no_target, frame)
    with_null = frame.with_columns(pl.when(pl.col("x") > 14).then(None).otherwise(pl.col("sex")).alias("sex"))
    assert "sex" not in tg._target_order_codes(t, with_null)
    with pytest.raises(WeightingError, match="'sex' has \\d+ missing value"):
        parse_targets(t, with_null)


def test_zero_weight_rows_with_an_untargeted_level_take_the_general_path(frame):
    t = _targets()
    spec = {k: v for k, v in t["region"].items() if k != "east"}
    w = np.where(frame["region"].to_numpy() == "east", 0.0, frame["w"].to_numpy())
    m = parse_targets({"region": spec}, frame, weights=w)[0]
    assert m.levels == ("Zentral", "north", "south", "west")
    east = frame["region"].to_numpy() == "east"
    assert (m.codes[east] == -1).all() and (m.codes[~east] >= 0).all()
    des = qp.svydesign(frame.with_columns(pl.Series("w0", w)), weights="w0")
    out = des.rake({"region": spec, "sex": {"m": 360, "f": 390}}, maxit=500, epsilon=1e-9)
    assert np.all(out.weights[east] == 0)
    np.testing.assert_allclose(
        np.bincount(m.codes[~east], weights=out.weights[~east]), [spec[k] for k in m.levels], rtol=1e-6
    )


# ---- the model matrix as cells --------------------------------------------------------------------
@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(0, 3), st.integers(0, 2), st.booleans())
def test_cell_model_matrix_products_equal_the_dense_matrix(seed, n_cats, n_nums, with_missing):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 80))
    cats = []
    for _ in range(n_cats):
        k = int(rng.integers(2, 6))
        c = rng.integers(-1 if with_missing else 0, k, n)
        cats.append((small_codes(c, k), k))
    nums = [rng.normal(size=n) for _ in range(n_nums)]
    X = from_codes(n, cats, nums)
    D = np.ones((n, 1))
    for c, k in cats:  # R's treatment dummies; a row without a level has none
        D = np.column_stack([D] + [(c == j).astype(float) for j in range(1, k)])
    if nums:
        D = np.column_stack([D, *nums])
    assert X.shape == D.shape
    np.testing.assert_array_equal(X.dense(), D)
    lam, v, w = rng.normal(size=D.shape[1]), rng.normal(size=n), rng.uniform(0.1, 3, n)
    np.testing.assert_allclose(X @ lam, D @ lam, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(X.T @ v, D.T @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(X.xtwx(w), D.T @ (D * w[:, None]), rtol=1e-12, atol=1e-12)


def test_linear_calibration_through_cells_equals_the_dense_solution(frame):
    t = {**_targets(), "x": 10_500.0}
    margins = parse_targets(t, frame)
    X, pop = model_matrix(frame, margins)
    w = frame["w"].to_numpy()
    D = X.dense()
    lam = np.linalg.solve(D.T @ (D * w[:, None]), pop - D.T @ w)
    np.testing.assert_allclose(grake(X, w, pop), 1 + D @ lam, rtol=1e-10)


# ---- raking: the record made on demand equals the weights of the last sweep ------------------------
def test_raking_record_rebuilds_the_last_sweep(frame):
    t = _targets()
    margins = parse_targets(t, frame)
    codes = [m.codes for m in margins]
    w = frame["w"].to_numpy()
    res = rake_weights(codes, w, [m.totals for m in margins], maxit=100, epsilon=1e-9)
    last = res.last_sweep
    assert len(last) == 3
    np.testing.assert_array_equal(last[-1], res.weights)  # the last step's weights are the result
    for c, m, x in zip(codes, margins, last):  # each step hit its own margin exactly
        np.testing.assert_allclose(np.bincount(c, weights=x, minlength=len(m.levels)), m.totals, rtol=1e-12)
    des = qp.svydesign(frame, weights="w").rake(t, maxit=100, epsilon=1e-9)
    rec = des.calibrations[-1]
    for a, b in zip(rec.weights, last):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(rec.margins, codes):
        np.testing.assert_array_equal(a, b)


def test_rake_names_a_row_with_weight_but_no_level():
    a = np.array([0, 1, -1, 1])
    with pytest.raises(WeightingError, match="row 3 has weight but is in no weighting cell of margin 1"):
        rake_weights([a], np.ones(4), [np.array([2.0, 2.0])])
    with pytest.raises(WeightingError, match="a cell code of margin 1 is 2 but there are only 2 targets"):
        rake_weights([np.array([0, 1, 2])], np.ones(3), [np.array([2.0, 2.0])])
    res = rake_weights([a], np.array([1.0, 1, 0, 1]), [np.array([2.0, 2.0])])
    assert res.weights.tolist() == [2.0, 1.0, 0.0, 1.0]


def test_margin_codes_for_a_margin_without_stored_codes(frame):
    m = parse_targets(_targets(), frame)[0]
    bare = tg.Margin(m.variable, m.kind, m.levels, m.totals)
    np.testing.assert_array_equal(margin_codes(frame, bare), m.codes)


def test_blockwise_sums_and_gathers_equal_numpy():
    rng = np.random.default_rng(3)
    n, k = 200_003, 2_100  # more rows than one block of 65,536
    joint = rng.integers(0, k, n).astype(np.uint16)
    w = rng.uniform(0.5, 2, n)
    np.testing.assert_array_equal(joint_sums(joint, k), np.bincount(joint, minlength=k))
    np.testing.assert_allclose(joint_sums(joint, k, w), np.bincount(joint, weights=w, minlength=k), rtol=1e-12)
    table = rng.normal(size=k)
    np.testing.assert_array_equal(gather(table, joint), table[joint.astype(np.intp)])
    table2 = rng.normal(size=(k, 3))
    np.testing.assert_array_equal(gather(table2, joint), table2[joint.astype(np.intp)])
