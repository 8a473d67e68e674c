"""Disclosure-risk measures checked against direct counting. All data here are SYNTHETIC (numpy)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from quietpoll.disclosure.risk import RISK_THRESHOLD, DisclosureError, disclosure_risk, individual_risk, propose_qi
from quietpoll.errors import QuietpollError

TEMPLATE = Path(__file__).resolve().parents[2] / "src/quietpoll/instrument/templates/foreign-media.xlsx"
QI = ["sex", "age_band", "province"]


def synthetic(n: int = 400, seed: int = 3) -> pl.DataFrame:
    """SYNTHETIC respondents: skewed QIs (so there are uniques and small classes), some nulls."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["m", "f"], size=n).astype(object)
    age = rng.choice(["18-29", "30-39", "40-49", "50-59", "60+"], size=n, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    age = age.astype(object)
    prov = rng.choice([f"P{j}" for j in range(12)], size=n, p=np.r_[0.45, 0.2, 0.1, np.full(9, 0.25 / 9)])
    prov = prov.astype(object)
    age[rng.random(n) < 0.05] = None
    prov[rng.random(n) < 0.03] = None
    watched = rng.choice(["yes", "no", "refused"], size=n).astype(object)
    watched[rng.random(n) < 0.1] = None
    danger = rng.integers(1, 6, size=n)
    w = rng.uniform(5, 80, size=n)
    return pl.DataFrame(
        {
            "sex": list(sex),
            "age_band": list(age),
            "province": list(prov),
            "watched": list(watched),
            "danger": danger,
            "w": w,
        }
    )


def keys(frame: pl.DataFrame, qi: list[str]) -> list[tuple]:
    return list(zip(*(frame.get_column(c).to_list() for c in qi)))


def test_measures_equal_direct_counts():
    df = synthetic()
    out = disclosure_risk(df, QI, sensitive=["watched", "danger"], k=5).to_dict()
    ks = keys(df, QI)
    size = Counter(ks)
    per_row = [size[key] for key in ks]
    assert out["n"] == len(ks)
    assert out["classes"] == len(size)
    assert out["k_anonymity"] == min(size.values())
    assert out["records_below_k"] == sum(1 for f in per_row if f < 5)
    assert out["rows_below_k"] == [i for i, f in enumerate(per_row) if f < 5][:100]
    assert out["uniques"] == sum(1 for f in per_row if f == 1)
    assert out["uniques"] > 0 and out["records_below_k"] > out["uniques"]  # the data exercise both
    assert any(None in key for key in size)  # nulls form classes of their own
    # l-diversity: distinct non-missing sensitive values per class, smallest over classes
    for col in ("watched", "danger"):
        values: dict[tuple, set] = defaultdict(set)
        for key, v in zip(ks, df.get_column(col).to_list()):
            if v is not None:
                values[key].add(v)
        assert out["l_diversity"][col] == min(len(values.get(key, set())) for key in size)
    # unweighted risk = 1/f
    risks = [1.0 / f for f in per_row]
    ir = out["individual_risk"]
    assert ir["weighted"] is False
    assert ir["max"] == pytest.approx(max(risks))
    assert ir["mean"] == pytest.approx(sum(risks) / len(risks))
    assert ir["threshold"] == RISK_THRESHOLD
    assert ir["records_above"] == sum(1 for r in risks if r > RISK_THRESHOLD)
    assert out["expected_reidentifications"] == pytest.approx(sum(risks))
    assert out["expected_reidentifications"] == pytest.approx(len(size))  # sum of 1/f over rows = classes


def test_rows_below_k_lists_at_most_100():
    rng = np.random.default_rng(1)
    df = pl.DataFrame({"a": rng.integers(0, 10_000, size=3000)})  # SYNTHETIC, nearly all unique
    out = disclosure_risk(df, ["a"], k=2).to_dict()
    size = Counter(df.get_column("a").to_list())
    below = [i for i, v in enumerate(df.get_column("a").to_list()) if size[v] < 2]
    assert out["records_below_k"] == len(below) > 100
    assert out["rows_below_k"] == below[:100]


def test_weighted_risk_matches_formula():
    df = synthetic()
    out = disclosure_risk(df, QI, k=3, weights="w").to_dict()
    ks = keys(df, QI)
    f = Counter(ks)
    big_f: dict[tuple, float] = defaultdict(float)
    for key, w in zip(ks, df.get_column("w").to_list()):
        big_f[key] += w

    def r(key):
        fk, p = f[key], f[key] / big_f[key]
        if fk == 1:
            return p / (1 - p) * math.log(1 / p)
        if fk == 2:
            return p / (1 - p) - (p / (1 - p)) ** 2 * math.log(1 / p)
        return p / (fk - (1 - p))

    risks = [r(key) for key in ks]
    ir = out["individual_risk"]
    assert ir["weighted"] is True and "Benedetti-Franconi" in ir["method"]
    assert ir["max"] == pytest.approx(max(risks))
    assert ir["mean"] == pytest.approx(sum(risks) / len(risks))
    assert ir["records_above"] == sum(1 for x in risks if x > RISK_THRESHOLD)
    assert out["expected_reidentifications"] == pytest.approx(sum(risks))
    # the same with the weights as an array
    again = disclosure_risk(df, QI, k=3, weights=df.get_column("w").to_numpy()).to_dict()
    assert again["expected_reidentifications"] == pytest.approx(out["expected_reidentifications"])


def test_unique_weighted_risk_single_record():
    # SYNTHETIC: three sample uniques with weights 10, 50, 1 (the last is its own population)
    df = pl.DataFrame({"a": ["x", "y", "z"], "w": [10.0, 50.0, 1.0]})
    out = disclosure_risk(df, ["a"], k=2, weights="w").to_dict()
    expected = [(0.1 / 0.9) * math.log(10), (0.02 / 0.98) * math.log(50), 1.0]
    assert out["individual_risk"]["max"] == pytest.approx(1.0)
    assert out["expected_reidentifications"] == pytest.approx(sum(expected))


@pytest.mark.parametrize("f", [1, 2])
@pytest.mark.parametrize("p", [0.01, 0.2, 0.7])
def test_closed_forms_equal_negative_binomial_expectation(f, p):
    # E[1/F | f] with F - f ~ NegBin(f, p), summed directly
    q = 1 - p
    total, h = 0.0, f
    while True:
        term = math.comb(h - 1, f - 1) * p**f * q ** (h - f) / h
        total += term
        if h > f + 50 and term < 1e-16:
            break
        h += 1
    assert individual_risk(np.array([f]), np.array([f / p]))[0] == pytest.approx(total, rel=1e-9)


def test_large_f_approximation_and_limit():
    r = individual_risk(np.array([5, 4, 1, 2]), np.array([50.0, 4.0, 1.0, 2.0]))
    assert r[0] == pytest.approx(0.1 / (5 - 0.9))
    assert r[1:] == pytest.approx([0.25, 1.0, 0.5])  # p = 1: 1/f


def test_json_able():
    import json

    out = disclosure_risk(synthetic(), QI, sensitive=["watched"], weights="w").to_dict()
    assert json.loads(json.dumps(out)) == out


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"qi": ["sex", "nope"]}, "'nope'"),
        ({"qi": ["sex"], "sensitive": ["missing"]}, "'missing'"),
        ({"qi": ["sex"], "k": 1}, "k must be"),
        ({"qi": ["sex"], "k": 0}, "k must be"),
        ({"qi": ["sex", "province"], "sensitive": ["province"]}, "'province' is both"),
        ({"qi": []}, "no quasi-identifiers"),
        ({"qi": ["sex"], "weights": "nope"}, "weight column 'nope'"),
        ({"qi": ["sex"], "weights": np.ones(3)}, "weights have 3 values"),
    ],
)
def test_bad_input(kwargs, message):
    df = synthetic(50)
    qi = kwargs.pop("qi")
    with pytest.raises(DisclosureError, match=message) as info:
        disclosure_risk(df, qi, **kwargs)
    assert isinstance(info.value, QuietpollError)
    assert "\n" not in str(info.value)


def test_propose_qi_from_template():
    from quietpoll.instrument import load_instrument

    qi = propose_qi(load_instrument(TEMPLATE))
    assert qi == ["status", "year_left", "province", "sex", "age_band", "settlement", "occupation", "education"]
