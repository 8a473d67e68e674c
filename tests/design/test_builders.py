"""Replicate-weight builders against R's survey::as.svrepdesign (golden values, no R needed).

Golden file: tests/reference/golden/builders.json, written by
tests/reference/make_golden_builders.R.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from quietpoll.design.builders import Replicates, build_replicates, hadamard
from quietpoll.errors import DesignError

GOLDEN = Path(__file__).resolve().parents[1] / "reference" / "golden" / "builders.json"


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN.read_text())


def _cases() -> list[dict]:
    return json.loads(GOLDEN.read_text())["cases"]


def _build(case: dict, **extra) -> Replicates:
    popsize = None if case["popsize"] is None else np.asarray(case["popsize"], dtype=float)
    rho = case["rho"] if case["type"] in ("BRR", "Fay") else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BRR drops an fpc with a warning, as R does
        return build_replicates(
            case["type"],
            np.asarray(case["strata_codes"]),
            np.asarray(case["psu_codes"]),
            popsize=popsize,
            rho=rho,
            **extra,
        )


def _r_factors(case: dict) -> np.ndarray:
    n = len(case["psu_codes"])
    return np.asarray(case["factors"], dtype=float).reshape(n, case["n_replicates"])


def _replicate_se(rep: Replicates, w: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """SEs of the weighted mean and total, as R's svrVar with mse=FALSE."""
    rw = rep.factors * w[:, None]
    totals = rw.T @ y
    means = totals / rw.sum(axis=0)

    def se(thetas: np.ndarray, full: float) -> float:
        centre = full if rep.mse else thetas[rep.rscales > 0].mean()
        return float(np.sqrt(rep.scale * np.sum(rep.rscales * (thetas - centre) ** 2)))

    return se(means, float(w @ y / w.sum())), se(totals, float(w @ y))


# ---------------------------------------------------------------------------------------------
# Deterministic types: exact agreement with R
# ---------------------------------------------------------------------------------------------

CASES = _cases()
CASE_IDS = [c["name"] for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_factors_match_r(case):
    rep = _build(case, stratum_order=case.get("stratum_order"))
    expected = _r_factors(case)
    assert rep.factors.shape == expected.shape
    assert rep.factors.dtype == np.float64
    np.testing.assert_allclose(rep.factors, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_scale_rscales_type_match_r(case):
    rep = _build(case, stratum_order=case.get("stratum_order"))
    assert rep.type == case["type"]
    assert rep.scale == pytest.approx(case["scale"], rel=1e-13, abs=0)
    np.testing.assert_allclose(rep.rscales, np.asarray(case["rscales"], dtype=float), rtol=1e-13)
    assert rep.rscales.shape == (case["n_replicates"],)
    if case["type"] in ("BRR", "Fay"):
        assert rep.rho == pytest.approx(case["rho"])
    else:
        assert rep.rho is None
    assert rep.mse is False


@pytest.mark.parametrize("case", [c for c in CASES if "mean_se" in c], ids=lambda c: c["name"])
def test_replicate_se_matches_r(case):
    rep = _build(case, stratum_order=case.get("stratum_order"))
    w = np.asarray(case["weights"], dtype=float)
    y = np.asarray(case["y"], dtype=float)
    assert float(w @ y / w.sum()) == pytest.approx(case["mean"], rel=1e-12)
    assert float(w @ y) == pytest.approx(case["total"], rel=1e-12)
    se_mean, se_total = _replicate_se(rep, w, y)
    assert se_mean == pytest.approx(case["mean_se"], rel=1e-9)
    assert se_total == pytest.approx(case["total_se"], rel=1e-9)


def test_brr_numeric_strata_need_r_character_order(golden):
    case = next(c for c in golden["cases"] if c["name"] == "synthetic_brr_numeric_strata")
    # R sorts numeric labels as text ("1", "10", "11", "12", "2", ...): code order is not R's
    default = _build(case)
    assert not np.array_equal(default.factors, _r_factors(case))
    assert case["stratum_order"][:5] == [0, 9, 10, 11, 1]
    np.testing.assert_array_equal(_build(case, stratum_order=case["stratum_order"]).factors, _r_factors(case))


def test_replicate_order_ignores_code_values(golden):
    """Columns follow first appearance of strata/PSUs, whatever the code numbers are."""
    case = next(c for c in golden["cases"] if c["name"] == "apistrat_shuffled_jkn")
    strata = np.asarray(case["strata_codes"])
    psu = np.asarray(case["psu_codes"])
    a = build_replicates("JKn", strata, psu)
    b = build_replicates("JKn", (strata + 1) * 7, psu * 3 + 1000)
    np.testing.assert_array_equal(a.factors, b.factors)
    np.testing.assert_array_equal(a.rscales, b.rscales)


def test_jk1_accepts_no_strata(golden):
    case = next(c for c in golden["cases"] if c["name"] == "apiclus1_jk1")
    rep = build_replicates("JK1", None, np.asarray(case["psu_codes"]))
    np.testing.assert_array_equal(rep.factors, _r_factors(case))


def test_jkn_structure():
    strata = np.array([0, 0, 0, 1, 1, 1, 1])
    psu = np.array([0, 1, 2, 3, 3, 4, 5])
    rep = build_replicates("JKn", strata, psu)
    # replicates: PSUs 0,1,2 (stratum 0) then 3,4,5 (stratum 1)
    assert rep.factors.shape == (7, 6)
    np.testing.assert_allclose(rep.rscales, [2 / 3] * 3 + [2 / 3] * 3)
    np.testing.assert_allclose(rep.factors[:, 0], [0, 1.5, 1.5, 1, 1, 1, 1])
    np.testing.assert_allclose(rep.factors[:, 3], [1, 1, 1, 0, 0, 1.5, 1.5])
    assert rep.scale == 1.0


def test_factors_are_read_only(golden):
    rep = _build(golden["cases"][0])
    with pytest.raises(ValueError):
        rep.factors[0, 0] = 2.0
    with pytest.raises(ValueError):
        rep.rscales[0] = 2.0


# ---------------------------------------------------------------------------------------------
# Hadamard matrices
# ---------------------------------------------------------------------------------------------


def _row_strings(h: np.ndarray) -> list[str]:
    return ["".join("1" if v else "0" for v in row) for row in h]


def _md5(h: np.ndarray) -> str:
    k = h.shape[1]
    buf = np.full((h.shape[0], k + 1), ord("\n"), dtype=np.uint8)
    buf[:, :k] = h.astype(np.uint8) + ord("0")
    return hashlib.md5(buf.tobytes()).hexdigest()


def test_hadamard_matches_r_small(golden):
    for entry in golden["hadamard_full"]:
        h = hadamard(entry["n"])
        assert _row_strings(h) == entry["rows"], f"hadamard({entry['n']})"


def test_hadamard_matches_r_large(golden):
    mismatched = []
    for entry in golden["hadamard_md5"]:
        h = hadamard(entry["n"])
        if h.shape != (entry["size"], entry["size"]) or _md5(h) != entry["md5"]:
            mismatched.append(entry["n"])
    assert mismatched == []


@pytest.mark.parametrize("n", list(range(0, 130)) + [255, 256, 300, 511, 1000])
def test_hadamard_is_hadamard(n):
    h = hadamard(n)
    k = h.shape[0]
    assert h.shape == (k, k)
    assert k >= n + 1
    assert set(np.unique(h).tolist()) <= {0, 1}
    pm = 2 * h.astype(np.int64) - 1
    np.testing.assert_array_equal(pm @ pm.T, k * np.eye(k, dtype=np.int64))


def test_hadamard_rejects_bad_n():
    with pytest.raises(DesignError):
        hadamard(-1)
    with pytest.raises(DesignError):
        hadamard(2.5)  # type: ignore[arg-type]


def _pairs(n_strata: int) -> tuple[np.ndarray, np.ndarray]:
    strata = np.repeat(np.arange(n_strata), 2)
    return strata, np.arange(2 * n_strata)


def test_user_hadamard_matrix():
    strata, psu = _pairs(5)
    default = build_replicates("BRR", strata, psu)
    # R recodes a user matrix so that the value in H[0, 0] becomes 0; R's own hadamard(5) has
    # H[0, 0] == 1, so passing it (in any coding) gives the complementary half-samples, exactly as
    # R's as.svrepdesign(..., hadamard.matrix = hadamard(n)) does (checked in R for scd)
    h = hadamard(5)
    assert h[0, 0] == 1
    for given in (h, 1 - h, 2 * h - 1, 1 - 2 * h):
        rep = build_replicates("BRR", strata, psu, hadamard_matrix=given)
        np.testing.assert_array_equal(rep.factors, 2.0 - default.factors)
        assert rep.scale == default.scale
    big = build_replicates("BRR", strata, psu, hadamard_matrix=hadamard(20))
    assert big.factors.shape == (10, hadamard(20).shape[1])
    assert big.scale == pytest.approx(1 / big.factors.shape[1])


def test_user_hadamard_matrix_errors():
    strata, psu = _pairs(5)
    with pytest.raises(DesignError, match="at least"):
        build_replicates("BRR", strata, psu, hadamard_matrix=hadamard(3))
    bad = hadamard(5).copy()
    bad[3, 4] = 1 - bad[3, 4]
    with pytest.raises(DesignError, match="not a Hadamard"):
        build_replicates("BRR", strata, psu, hadamard_matrix=bad)
    three = hadamard(5).copy()
    three[0, 0] = 2
    with pytest.raises(DesignError, match="two distinct values"):
        build_replicates("BRR", strata, psu, hadamard_matrix=three)


def test_brr_balance():
    strata, psu = _pairs(13)
    rep = build_replicates("BRR", strata, psu)
    f = rep.factors
    # each replicate keeps exactly one PSU of each pair, doubled
    np.testing.assert_array_equal(f[0::2] + f[1::2], 2.0)
    assert set(np.unique(f).tolist()) == {0.0, 2.0}
    # full orthogonal balance: every PSU is in exactly half of the replicates
    np.testing.assert_array_equal(f.mean(axis=1), 1.0)
    fay = build_replicates("Fay", strata, psu, rho=0.3)
    np.testing.assert_allclose(fay.factors, np.where(f == 2.0, 1.7, 0.3))
    assert fay.scale == pytest.approx(1 / (16 * 0.7**2))


def test_fay_rho_zero_is_brr():
    strata, psu = _pairs(4)
    rep = build_replicates("Fay", strata, psu, rho=0.0)
    assert rep.type == "BRR"
    assert rep.rho == 0.0
    np.testing.assert_array_equal(rep.factors, build_replicates("BRR", strata, psu).factors)


def test_brr_drops_fpc_with_warning():
    strata, psu = _pairs(3)
    with pytest.warns(UserWarning, match="finite population correction dropped"):
        rep = build_replicates("BRR", strata, psu, popsize=np.full(6, 10.0))
    np.testing.assert_array_equal(rep.factors, build_replicates("BRR", strata, psu).factors)


# ---------------------------------------------------------------------------------------------
# Bootstrap: random, so properties and R's scale
# ---------------------------------------------------------------------------------------------


def _taylor_se_mean(strata, w, y, fpc=None) -> float:
    """With-replacement (or fpc-corrected) linearisation SE of a weighted mean, element sample."""
    mean = w @ y / w.sum()
    z = w * (y - mean) / w.sum()
    var = 0.0
    for h in np.unique(strata):
        zh = z[strata == h]
        n = zh.size
        f = 1.0 if fpc is None else 1.0 - n / fpc[strata == h][0]
        var += f * n / (n - 1) * np.sum((zh - zh.mean()) ** 2)
    return float(np.sqrt(var))


@pytest.fixture(scope="module")
def boot(golden) -> dict:
    return golden["bootstrap"]


def test_bootstrap_scale_matches_r(boot):
    strata = np.asarray(boot["strata_codes"])
    psu = np.asarray(boot["psu_codes"])
    for run in boot["runs"]:
        rep = build_replicates("bootstrap", strata, psu, replicates=run["replicates"], seed=1)
        assert rep.type == "bootstrap"
        assert rep.factors.shape == (psu.size, run["n_replicates"])
        assert rep.scale == pytest.approx(run["scale"], rel=1e-13)
        np.testing.assert_array_equal(rep.rscales, run["rscales"])
        sub = build_replicates("subbootstrap", strata, psu, replicates=run["replicates"], seed=1)
        assert sub.type == "subbootstrap"
        assert sub.scale == pytest.approx(run["sub_scale"], rel=1e-13)
        np.testing.assert_array_equal(sub.rscales, run["sub_rscales"])
    one = boot["apiclus1"]
    rep = build_replicates("bootstrap", None, np.asarray(one["psu_codes"]), replicates=one["replicates"], seed=2)
    assert rep.scale == pytest.approx(one["scale"], rel=1e-13)


def test_bootstrap_taylor_agreement(boot):
    strata = np.asarray(boot["strata_codes"])
    psu = np.asarray(boot["psu_codes"])
    w = np.asarray(boot["weights"], dtype=float)
    y = np.asarray(boot["y"], dtype=float)
    taylor = _taylor_se_mean(strata, w, y)
    assert taylor == pytest.approx(boot["taylor_se"], rel=1e-10)  # our Taylor formula is R's
    for kind in ("bootstrap", "subbootstrap"):
        rep = build_replicates(kind, strata, psu, replicates=3000, seed=12345)
        se_mean, _ = _replicate_se(rep, w, y)
        assert se_mean == pytest.approx(taylor, rel=0.10), kind
    fpc = np.asarray(boot["popsize"], dtype=float)
    rep = build_replicates("bootstrap", strata, psu, popsize=fpc, replicates=3000, seed=7)
    se_mean, _ = _replicate_se(rep, w, y)
    assert se_mean == pytest.approx(_taylor_se_mean(strata, w, y, fpc), rel=0.10)


def test_bootstrap_properties(boot):
    psu = np.asarray(boot["apiclus1"]["psu_codes"])  # 15 clusters, rows grouped in clusters
    n_psu = np.unique(psu).size
    for kind in ("bootstrap", "subbootstrap"):
        rep = build_replicates(kind, None, psu, replicates=4000, seed=99)
        f = rep.factors
        assert f.shape == (psu.size, 4000)
        # factors are constant within a PSU
        for code in np.unique(psu):
            block = f[psu == code]
            assert np.all(block == block[0])
        per_psu = np.array([f[psu == code][0] for code in np.unique(psu)])
        # each replicate resamples the stratum's PSUs: their factors sum to n_h
        np.testing.assert_allclose(per_psu.sum(axis=0), n_psu)
        assert np.all(f >= 0)
        # every PSU has mean factor 1 over replicates
        np.testing.assert_allclose(per_psu.mean(axis=1), 1.0, atol=0.06)
        # a constant has zero replicate variance
        w = np.linspace(1, 3, psu.size)
        se_mean, _ = _replicate_se(rep, w, np.full(psu.size, 4.2))
        assert se_mean == pytest.approx(0.0, abs=1e-10)
    rep = build_replicates("bootstrap", None, psu, replicates=3, seed=0)
    assert set(np.unique(rep.factors).tolist()) <= set(range(n_psu + 1))


def test_bootstrap_seed_reproducible():
    strata = np.repeat([0, 1], [6, 8])
    psu = np.arange(14)
    a = build_replicates("bootstrap", strata, psu, replicates=20, seed=5)
    b = build_replicates("bootstrap", strata, psu, replicates=20, seed=5)
    c = build_replicates("bootstrap", strata, psu, replicates=20, seed=6)
    np.testing.assert_array_equal(a.factors, b.factors)
    assert not np.array_equal(a.factors, c.factors)


def test_bootstrap_fpc_census_has_no_variance():
    strata = np.repeat([0, 1], [3, 4])
    psu = np.arange(7)
    popsize = np.repeat([3.0, 4.0], [3, 4])
    rep = build_replicates("bootstrap", strata, psu, popsize=popsize, replicates=10, seed=1)
    np.testing.assert_array_equal(rep.factors, 1.0)


def test_bootstrap_fpc_pseudo_population():
    # N = 7, n = 3: R's pseudo-population rep(shuffled PSUs, length = 7) holds one PSU 3 times
    # and the others twice; 3 units are drawn without replacement, so per-replicate counts sum
    # to 3 and the expected factor of a PSU is copies * 3 / 7
    psu = np.arange(3)
    rep = build_replicates("bootstrap", None, psu, popsize=np.full(3, 7.0), replicates=4000, seed=3)
    np.testing.assert_array_equal(rep.factors.sum(axis=0), 3.0)
    assert rep.factors.max() <= 3
    np.testing.assert_allclose(np.sort(rep.factors.mean(axis=1)), [6 / 7, 6 / 7, 9 / 7], atol=0.06)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["BRR", "Fay"])
def test_brr_needs_two_psus_per_stratum(kind):
    rho = 0.5 if kind == "Fay" else None
    strata = np.array([0, 0, 1, 1, 1, 2, 2])
    psu = np.array([0, 1, 2, 3, 4, 5, 6])
    with pytest.raises(DesignError, match=r"exactly 2 PSUs.*code 1 has 3"):
        build_replicates(kind, strata, psu, rho=rho)
    strata = np.array([0, 0, 1, 2, 2])
    psu = np.array([0, 1, 2, 3, 4])
    with pytest.raises(DesignError, match=r"code 1 has 1"):
        build_replicates(kind, strata, psu, rho=rho)


@pytest.mark.parametrize("kind", ["JKn", "bootstrap", "subbootstrap"])
def test_lonely_psu(kind):
    strata = np.array([0, 0, 1, 1, 2, 2])
    psu = np.array([0, 1, 2, 2, 3, 4])
    with pytest.raises(DesignError, match=r"stratum code 1 has only one PSU"):
        build_replicates(kind, strata, psu)


def test_jkn_certainty_single_psu_is_allowed():
    # a stratum with N_h == n_h == 1 is sampled with certainty: R drops it, no error
    strata = np.array([0, 0, 1, 1])
    psu = np.array([0, 1, 2, 2])
    popsize = np.array([10.0, 10.0, 1.0, 1.0])
    rep = build_replicates("JKn", strata, psu, popsize=popsize)
    assert rep.factors.shape == (4, 2)
    np.testing.assert_array_equal(rep.factors[2:], 1.0)
    np.testing.assert_allclose(rep.rscales, 0.8 * 0.5)


def test_jkn_all_certainty():
    strata = np.array([0, 0, 1, 1])
    psu = np.array([0, 1, 2, 3])
    with pytest.raises(DesignError, match="exhaustively"):
        build_replicates("JKn", strata, psu, popsize=np.full(4, 2.0))


@pytest.mark.parametrize("rho", [1.0, -0.1, 1.5])
def test_rho_out_of_range(rho):
    strata, psu = _pairs(3)
    with pytest.raises(DesignError, match=r"rho.*\[0, 1\)"):
        build_replicates("Fay", strata, psu, rho=rho)


def test_fay_needs_rho_and_rho_only_for_fay():
    strata, psu = _pairs(3)
    with pytest.raises(DesignError, match="needs rho"):
        build_replicates("Fay", strata, psu)
    with pytest.raises(DesignError, match="does not apply"):
        build_replicates("JKn", strata, psu, rho=0.3)


@pytest.mark.parametrize("replicates", [1, 0, -3])
def test_replicates_at_least_two(replicates):
    with pytest.raises(DesignError, match="at least 2"):
        build_replicates("bootstrap", None, np.arange(5), replicates=replicates)


def test_jk1_refuses_stratified():
    strata, psu = _pairs(3)
    with pytest.raises(DesignError, match="JK1.*unstratified"):
        build_replicates("JK1", strata, psu)


def test_jk1_needs_two_psus_and_single_popsize():
    with pytest.raises(DesignError, match="at least 2 PSUs"):
        build_replicates("JK1", None, np.zeros(4, dtype=int))
    with pytest.raises(DesignError, match="constant in each stratum"):
        build_replicates("JK1", None, np.arange(3), popsize=np.array([5.0, 6.0, 5.0]))


def test_popsize_errors():
    strata = np.array([0, 0, 0, 1, 1])
    psu = np.arange(5)
    with pytest.raises(DesignError, match="smaller than the number of sampled PSUs"):
        build_replicates("JKn", strata, psu, popsize=np.array([2.0, 2, 2, 9, 9]))
    with pytest.raises(DesignError, match="smaller than the number of sampled PSUs"):
        build_replicates("JK1", None, psu, popsize=np.full(5, 4.0))
    with pytest.raises(DesignError, match="smaller than the number of sampled PSUs"):
        build_replicates("bootstrap", strata, psu, popsize=np.array([2.0, 2, 2, 9, 9]))
    with pytest.raises(DesignError, match="positive"):
        build_replicates("JKn", strata, psu, popsize=np.array([np.nan, 3, 3, 9, 9]))
    with pytest.raises(DesignError, match="one value per row"):
        build_replicates("JKn", strata, psu, popsize=np.array([3.0, 9.0]))


def test_input_errors():
    with pytest.raises(DesignError, match="unknown replicate type"):
        build_replicates("jackknife", None, np.arange(4))
    with pytest.raises(DesignError, match="nested"):
        build_replicates("JKn", np.array([0, 0, 1, 1]), np.array([0, 1, 1, 2]))
    with pytest.raises(DesignError, match="strata has 3 codes"):
        build_replicates("JKn", np.array([0, 0, 1]), np.arange(4))
    with pytest.raises(DesignError, match="integers"):
        build_replicates("JKn", np.array(["a", "a", "b", "b"]), np.arange(4))
    with pytest.raises(DesignError, match="empty"):
        build_replicates("JK1", None, np.array([], dtype=int))
    with pytest.raises(DesignError, match="stratum_order"):
        build_replicates("BRR", *_pairs(3), stratum_order=np.array([0, 1, 1]))


def test_type_is_case_insensitive():
    rep = build_replicates("jkn", np.array([0, 0, 1, 1]), np.arange(4))
    assert rep.type == "JKn"
