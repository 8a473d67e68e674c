"""The weighting engine (quietpoll.weighting.{targets,calibrate,poststratify,rake,trim,collapse}):
identities that must hold whatever the data, and a clear WeightingError for each bad input."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from quietpoll.errors import WeightingError
from quietpoll.weighting.calibrate import calibrate_replicates, grake, model_matrix
from quietpoll.weighting.collapse import collapse_sparse, collapse_totals, merged_name
from quietpoll.weighting.poststratify import poststratify_weights
from quietpoll.weighting.rake import rake_weights
from quietpoll.weighting.targets import margin_codes, parse_targets, read_targets_csv
from quietpoll.weighting.trim import trim_weights

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cell_totals(codes, w, k):
    return np.bincount(codes, weights=w, minlength=k)


@st.composite
def sample(draw, n_margins=2):
    """Codes for n_margins margins (every level present), positive weights, and targets that are the
    margins of some positive reweighting of the sample (so raking has a solution)."""
    n = draw(st.integers(20, 120))
    ks = [draw(st.integers(2, 4)) for _ in range(n_margins)]
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    codes = []
    for k in ks:
        c = rng.integers(0, k, n)
        c[:k] = np.arange(k)  # every level has a respondent
        codes.append(c)
    w = rng.uniform(0.5, 5.0, n)
    pw = w * rng.uniform(0.5, 2.0, n) * rng.uniform(10, 100)
    totals = [np.bincount(c, weights=pw, minlength=k) for c, k in zip(codes, ks)]
    return codes, w, totals


# ---- raking -----------------------------------------------------------------------------------
@SETTINGS
@given(sample(n_margins=3))
def test_raked_weights_reproduce_every_margin(s):
    codes, w, totals = s
    res = rake_weights(codes, w, totals, maxit=500, epsilon=1e-12, allow_nonconvergence=True)
    assume(res.converged)
    for c, t in zip(codes, totals):
        np.testing.assert_allclose(cell_totals(c, res.weights, len(t)), t, rtol=1e-8)


@SETTINGS
@given(sample(n_margins=2))
def test_weighting_to_the_samples_own_margins_changes_nothing(s):
    codes, w, _ = s
    own = [cell_totals(c, w, int(c.max()) + 1) for c in codes]
    res = rake_weights(codes, w, own)
    assert res.converged and res.iterations == 1
    np.testing.assert_allclose(res.weights, w, rtol=1e-12)
    np.testing.assert_allclose(poststratify_weights(codes[0], w, own[0]), w, rtol=1e-12)
    X = np.column_stack([np.ones_like(w)] + [(c == j).astype(float) for c in codes for j in range(1, c.max() + 1)])
    for calfun in ("linear", "raking"):
        np.testing.assert_allclose(grake(X, w, X.T @ w, calfun=calfun), 1.0, rtol=1e-9)
    np.testing.assert_allclose(grake(X, w, X.T @ w, calfun="logit", bounds=(0.5, 2)), 1.0, rtol=1e-9)


@SETTINGS
@given(sample(n_margins=3))
def test_rake_order_of_margins_does_not_matter_after_convergence(s):
    codes, w, totals = s
    a = rake_weights(codes, w, totals, maxit=2000, epsilon=1e-13, allow_nonconvergence=True)
    b = rake_weights(codes[::-1], w, totals[::-1], maxit=2000, epsilon=1e-13, allow_nonconvergence=True)
    assume(a.converged and b.converged)
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-6)


@SETTINGS
@given(sample(n_margins=2))
def test_raking_calibration_equals_converged_rake(s):
    codes, w, totals = s
    r = rake_weights(codes, w, totals, maxit=2000, epsilon=1e-13, allow_nonconvergence=True)
    assume(r.converged)
    X = np.column_stack([np.ones_like(w)] + [(c == j).astype(float) for c in codes for j in range(1, c.max() + 1)])
    pop = np.concatenate([[totals[0].sum()]] + [t[1:] for t in totals])
    g = grake(X, w, pop, calfun="raking", epsilon=1e-12, maxit=200)
    np.testing.assert_allclose(w * g, r.weights, rtol=1e-6)


# ---- calibration ------------------------------------------------------------------------------
@SETTINGS
@given(sample(n_margins=2), st.sampled_from(["linear", "raking", "logit"]))
def test_calibrated_totals_equal_the_targets(s, calfun):
    codes, w, totals = s
    rng = np.random.default_rng(len(w))
    x = rng.uniform(1, 10, len(w))
    X = np.column_stack(
        [np.ones_like(w)] + [(c == j).astype(float) for c in codes for j in range(1, c.max() + 1)] + [x]
    )
    # targets near the sample's own so that bounded calibration is feasible
    pop = (X.T @ w) * rng.uniform(0.9, 1.1, X.shape[1])
    bounds = (0.2, 5.0) if calfun == "logit" else (-np.inf, np.inf)
    try:
        g = grake(X, w, pop, calfun=calfun, bounds=bounds)
    except WeightingError:
        assume(False)
    np.testing.assert_allclose(X.T @ (w * g), pop, rtol=1e-6)
    if calfun == "logit":
        assert np.all((g > 0.2) & (g < 5.0))


def test_linear_unbounded_is_one_solve_and_exact():
    rng = np.random.default_rng(1)
    X = np.column_stack([np.ones(50), rng.normal(size=50)])
    w = rng.uniform(1, 2, 50)
    pop = np.array([100.0, 3.0])
    g = grake(X, w, pop)
    np.testing.assert_allclose(X.T @ (w * g), pop, rtol=1e-12)


def test_calibration_failure_and_bad_calfun():
    X = np.column_stack([np.ones(4), [1.0, 0, 0, 0]])
    w = np.ones(4)
    with pytest.raises(WeightingError, match="did not converge in 50 iterations"):
        grake(X, w, np.array([4.0, 3.9]), calfun="logit", bounds=(0.9, 1.1))
    with pytest.raises(WeightingError, match="finite bounds"):
        grake(X, w, np.array([4.0, 1.0]), calfun="logit")
    with pytest.raises(WeightingError, match="lower < 1 < upper"):
        grake(X, w, np.array([4.0, 1.0]), calfun="logit", bounds=(1.2, 3))
    with pytest.raises(WeightingError, match="not one of"):
        grake(X, w, np.array([4.0, 1.0]), calfun="probit")
    with pytest.raises(WeightingError, match="collinear"):
        grake(np.column_stack([np.ones(4), np.ones(4)]), w, np.array([4.0, 4.0]))


def test_calibrate_replicates_columns_hit_the_targets():
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(30), rng.integers(0, 2, 30)])
    W = rng.uniform(1, 3, (30, 4))
    pop = np.array([60.0, 25.0])
    out, failed = calibrate_replicates(X, W, pop, calfun="raking")
    assert failed == []
    np.testing.assert_allclose(X.T @ out, np.repeat(pop[:, None], 4, axis=1), rtol=1e-7)


# ---- post-stratification ----------------------------------------------------------------------
def test_poststratify_replicate_columns_each_hit_the_targets():
    cells = np.array([0, 0, 1, 1, 1, 2])
    W = np.array([[1, 0, 2], [1, 2, 2], [1, 1, 0], [1, 1, 3], [1, 1, 3], [2, 2, 2]], dtype=float)
    N = np.array([10.0, 20.0, 5.0])
    out = poststratify_weights(cells, W, N)
    np.testing.assert_allclose(
        np.stack([np.bincount(cells, weights=out[:, r]) for r in range(3)], 1), np.repeat(N[:, None], 3, 1)
    )


def test_poststratify_empty_cell_names_it():
    with pytest.raises(WeightingError, match="'stype=M' has no weighted respondents"):
        poststratify_weights(
            np.array([0, 0, 1]), np.ones(3), np.array([1.0, 2.0, 3.0]), labels=["stype=E", "stype=H", "stype=M"]
        )
    with pytest.raises(WeightingError, match="replicate 2"):
        poststratify_weights(np.array([0, 1]), np.array([[1.0, 1.0], [1.0, 0.0]]), np.array([1.0, 2.0]))


# ---- targets ----------------------------------------------------------------------------------
@pytest.fixture
def frame():
    return pl.DataFrame(
        {
            "stype": ["E", "E", "H", "M", "M"],
            "grade": [1, 2, 2, 1, 1],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0],
            "score": [1.5, None, 2.0, 3.0, 1.0],
        }
    )


def test_parse_targets_text_matching_and_order(frame):
    m = parse_targets({"grade": {"2": 30, "1": 70}, "stype": {"M": 20, "E": 50, "H": 30}, "x": 123.0}, frame)
    assert [x.variable for x in m] == ["grade", "stype", "x"]
    assert m[0].levels == ("1", "2") and m[0].totals.tolist() == [70, 30]
    assert m[1].levels == ("E", "H", "M") and m[1].totals.tolist() == [50, 30, 20]
    assert m[2].kind == "numeric" and m[2].totals.tolist() == [123.0]
    assert margin_codes(frame, m[1]).tolist() == [0, 0, 1, 2, 2]
    fl = pl.DataFrame({"g": [1.0, 2.0, 2.5]})
    assert parse_targets({"g": {"1": 1, "2": 1, "2.5": 1}}, fl)[0].levels == ("1", "2", "2.5")
    X, pop = model_matrix(frame, m)
    assert X.shape == (5, 1 + 1 + 2 + 1) and pop.tolist() == [100, 30, 30, 20, 123.0]


def test_shares_need_population(frame):
    m = parse_targets({"stype": {"E": 0.5, "H": 0.3, "M": 0.2}}, frame, population=1000)
    assert m[0].totals.tolist() == pytest.approx([500, 300, 200])
    with pytest.raises(WeightingError, match="'stype' are shares"):
        parse_targets({"stype": {"E": 0.5, "H": 0.3, "M": 0.2}}, frame)


@pytest.mark.parametrize(
    "targets, match",
    [
        ({"region": {"N": 1}}, "'region' is not a column"),
        (
            {"stype": {"E": 1, "H": 1, "M": 1, "X": 1}},
            "target level 'X' of 'stype' does not occur in the data .*E, H, M",
        ),
        ({"stype": {"E": 1, "H": 1}}, "'stype' level 'M' occurs in the data but has no target"),
        ({"stype": {"E": 1, "H": -1, "M": 1}}, "'stype' level 'H' is -1; targets must be positive"),
        ({"stype": {"E": 1, "H": 0, "M": 1}}, "'stype' level 'H' is 0"),
        ({"score": 10.0}, "'score' has 1 missing value"),
        (
            {"stype": {"E": 50, "H": 30, "M": 20}, "grade": {"1": 60, "2": 60}},
            "'grade' total 120 but 'stype' totals 100",
        ),
        ({"stype": {"E": "many", "H": 1, "M": 1}}, "not a number"),
        ({"stype": 100}, "'stype' has a single total"),
    ],
)
def test_bad_targets(frame, targets, match):
    with pytest.raises(WeightingError, match=match):
        parse_targets(targets, frame)


def test_population_disagrees(frame):
    with pytest.raises(WeightingError, match="'stype' total 100 but population 90"):
        parse_targets({"stype": {"E": 50, "H": 30, "M": 20}}, frame, population=90)


def test_zero_weight_rows_may_lack_a_target(frame):
    w = np.array([1, 1, 0, 1, 1.0])
    m = parse_targets({"stype": {"E": 50, "M": 20}}, frame, weights=w)
    c = margin_codes(frame, m[0])
    assert c.tolist() == [0, 0, -1, 1, 1]
    assert poststratify_weights(c, w, m[0].totals)[2] == 0


def test_numeric_only_calibration_needs_population(frame):
    m = parse_targets({"x": 100.0}, frame)
    with pytest.raises(WeightingError, match="population size"):
        model_matrix(frame, m)
    X, pop = model_matrix(frame, m, population=50)
    assert pop.tolist() == [50, 100]


def test_read_targets_csv(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("variable,level,target\nstype,E,4421\nstype,H,755\nstype,M,1018\napi99,,3914069\n")
    assert read_targets_csv(p) == {"stype": {"E": 4421, "H": 755, "M": 1018}, "api99": 3914069}
    bad = tmp_path / "b.csv"
    bad.write_text("variable,level,target\nstype,E,x\n")
    with pytest.raises(WeightingError, match="not a number"):
        read_targets_csv(bad)
    bad.write_text("variable,level,target\nstype,E,1\nstype,,5\n")
    with pytest.raises(WeightingError, match="both a total and level targets|more than once"):
        read_targets_csv(bad)
    bad.write_text("var,lev\na,b\n")
    with pytest.raises(WeightingError, match="needs variable, level, target"):
        read_targets_csv(bad)
    with pytest.raises(WeightingError, match="cannot read"):
        read_targets_csv(tmp_path / "missing.csv")


# ---- raking errors ----------------------------------------------------------------------------
def test_rake_nonconvergence_names_margins():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 3, 200), rng.integers(0, 2, 200)
    a[:3], b[:2] = np.arange(3), np.arange(2)
    with pytest.raises(WeightingError, match="raking on stype, sch.wide did not converge in 1 sweeps"):
        rake_weights(
            [a, b],
            np.ones(200),
            [np.array([500.0, 300, 200]), np.array([100.0, 900])],
            maxit=1,
            epsilon=1e-9,
            labels=[["stype=E", "stype=H", "stype=M"], ["sch.wide=No", "sch.wide=Yes"]],
        )
    res = rake_weights(
        [a, b],
        np.ones(200),
        [np.array([500.0, 300, 200]), np.array([100.0, 900])],
        maxit=1,
        epsilon=1e-9,
        allow_nonconvergence=True,
    )
    assert not res.converged and res.iterations == 1 and res.margin_error > 0


def test_rake_epsilon_below_one_is_relative():
    a = np.array([0, 0, 1, 1])
    b = np.array([0, 1, 0, 1])
    w = np.ones(4)
    t = [np.array([600.0, 400.0]), np.array([300.0, 700.0])]
    # the independence table is reached in one sweep; a second one changes nothing
    r = rake_weights([a, b], w, t, epsilon=0.5)  # 0.5 * sum(w) = 2 people
    assert r.converged and r.iterations == 2


# ---- trimming ---------------------------------------------------------------------------------
@SETTINGS
@given(st.lists(st.floats(1, 100), min_size=5, max_size=60), st.floats(0.3, 0.9), st.floats(1.1, 3), st.booleans())
def test_trim_keeps_the_total(ws, lo, hi, strict):
    w = np.array(ws)
    lower, upper = lo * w.mean(), hi * w.mean()
    try:
        new = trim_weights(w, lower=lower, upper=upper, strict=strict)
    except WeightingError:
        return
    assert new.sum() == pytest.approx(w.sum(), rel=1e-12)
    if strict:
        assert np.all(new >= lower) and np.all(new <= upper * (1 + 1e-12))


def test_trim_rule_is_equal_shares():
    w = np.array([1.0, 2.0, 3.0, 10.0])
    np.testing.assert_allclose(trim_weights(w, upper=6), [1 + 4 / 3, 2 + 4 / 3, 3 + 4 / 3, 6.0])
    np.testing.assert_allclose(trim_weights(w, lower=1.5, upper=6), [1.5, 2.0 + 3.5 / 2, 3.0 + 3.5 / 2, 6.0])
    assert np.array_equal(trim_weights(w, lower=0.5, upper=20), w)


def test_trim_errors():
    w = np.array([10.0, 20.0, 30.0])
    with pytest.raises(WeightingError, match="mean weight 20 is beyond the upper bound 15"):
        trim_weights(w, upper=15, strict=True)
    with pytest.raises(WeightingError, match="every weight is outside"):
        trim_weights(w, lower=11, upper=19)
    with pytest.raises(WeightingError, match="swap"):
        trim_weights(w, lower=5, upper=1)


# ---- collapsing -------------------------------------------------------------------------------
def test_collapse_sparse_adjacent_levels():
    levels = ["18-29", "30-44", "45-59", "60-69", "70+"]
    codes = np.repeat(np.arange(5), [30, 40, 35, 6, 4])
    new, lev, rec = collapse_sparse(codes, levels, min_count=10, variable="age")
    assert lev == ("18-29", "30-44", "45-59", "60+")
    assert rec == [{"variable": "age", "merged": ["60-69", "70+"], "into": "60+", "n": 10}]
    assert np.bincount(new).tolist() == [30, 40, 35, 10]
    names, tot = collapse_totals(levels, np.array([10.0, 20, 30, 5, 5]), rec)
    assert names == lev and tot.tolist() == [10, 20, 30, 10]


def test_collapse_middle_level_goes_to_smaller_neighbour_and_unordered():
    codes = np.repeat(np.arange(4), [50, 3, 20, 60])
    _, lev, rec = collapse_sparse(codes, ["a", "b", "c", "d"], min_count=10)
    assert lev == ("a", "b / c", "d") and rec[0]["n"] == 23
    codes = np.repeat(np.arange(4), [5, 50, 8, 60])
    _, lev, _ = collapse_sparse(codes, ["w", "x", "y", "z"], min_count=10, ordered=False)
    assert lev == ("w / y", "x", "z")
    assert merged_name(["18-24", "25-34"]) == "18-34"
