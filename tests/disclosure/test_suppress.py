"""Local suppression under the wildcard rule, checked by direct pairwise counting. All data SYNTHETIC."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quietpoll.disclosure.suppress import local_suppression, wildcard_frequencies
from quietpoll.errors import DisclosureError, ReleaseRefused


def pairwise_counts(frame: pl.DataFrame, qi: list[str]) -> np.ndarray:
    """Independent check: for every record, the records whose QI values are equal or missing on one side."""
    rows = frame.select(qi).rows()
    return np.array([sum(all(a is None or b is None or a == b for a, b in zip(r, s)) for s in rows) for r in rows])


def synthetic(n: int, seed: int, null_share: float = 0.05) -> pl.DataFrame:
    rng = np.random.default_rng(seed)  # SYNTHETIC
    a = rng.integers(0, 6, n).astype(object)
    a[rng.random(n) < null_share] = None
    return pl.DataFrame(
        {
            "a": list(a),
            "b": rng.choice(["x", "y", "z", "w"], n).tolist(),
            "c": rng.integers(0, 8, n),
            "other": rng.random(n),
        }
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wildcard_frequencies_equal_pairwise_counting(seed):
    df = synthetic(250, seed, null_share=0.2)
    df = df.with_columns(pl.when(pl.col("c") == 3).then(None).otherwise(pl.col("b")).alias("b"))
    qi = ["a", "b", "c"]
    assert (wildcard_frequencies(df, qi) == pairwise_counts(df, qi)).all()


@pytest.mark.parametrize("k", [2, 3, 5])
def test_suppression_reaches_k_by_direct_counting(k):
    df = synthetic(300, 7)
    qi = ["a", "b", "c"]
    before = pairwise_counts(df, qi)
    res = local_suppression(df, qi, k, max_share=0.5, max_share_per_qi=1.0)
    after = pairwise_counts(res.frame, qi)
    assert after.min() >= k
    assert res.final_k == after.min()
    # only QIs change, and only by becoming null
    assert res.frame.select("other").equals(df.select("other"))
    was = df.select([pl.col(q).is_null() for q in qi]).to_numpy()
    now = res.frame.select([pl.col(q).is_null() for q in qi]).to_numpy()
    assert not (was & ~now).any()
    same = df.select(qi).to_numpy() == res.frame.select(qi).to_numpy()
    assert (same | now).all()
    # records at or above k before are never touched
    assert not (now & ~was)[before >= k].any()
    assert res.cells == int((now & ~was).sum())
    assert sum(res.cells_by_qi.values()) == res.cells
    assert res.records_touched == int((now & ~was).any(axis=1).sum())


def test_already_k_anonymous_file_is_unchanged():
    df = pl.DataFrame({"a": [1, 1, 2, 2, 3, 3], "b": ["x", "x", "y", "y", "z", "z"]})
    res = local_suppression(df, ["a", "b"], 2)
    assert res.frame.equals(df) and res.cells == 0 and res.final_k == 2


def test_two_uniques_differing_in_one_value_lose_one_value():
    # k = 2: (p, 1) and (p, 2) are unique; suppressing one value of one record makes both k = 2
    df = pl.DataFrame({"g": ["p", "p", "q", "q"], "v": [1, 2, 3, 3]})
    res = local_suppression(df, ["g", "v"], 2, max_share=1.0, max_share_per_qi=1.0)
    assert res.cells == 1
    assert pairwise_counts(res.frame, ["g", "v"]).min() >= 2


def test_importance_moves_suppression_to_less_important_qi():
    df = pl.DataFrame({"g": ["p", "p", "q", "q", "p"], "v": [1, 1, 2, 2, 2]})
    # (p,2) is unique; suppressing either of its values lifts it to k = 2: importance decides which
    keep_g = local_suppression(df, ["g", "v"], 2, importance=["g"], max_share=1.0, max_share_per_qi=1.0)
    assert keep_g.cells_by_qi == {"g": 0, "v": 1}
    keep_v = local_suppression(df, ["g", "v"], 2, importance=["v"], max_share=1.0, max_share_per_qi=1.0)
    assert keep_v.cells_by_qi == {"g": 1, "v": 0}
    for res in (keep_g, keep_v):
        assert pairwise_counts(res.frame, ["g", "v"]).min() >= 2


def test_refused_when_too_much_would_be_suppressed():
    df = synthetic(200, 3)
    with pytest.raises(ReleaseRefused, match="--max-suppressed"):
        local_suppression(df, ["a", "b", "c"], 5, max_share=0.01)
    with pytest.raises(ReleaseRefused, match="--max-suppressed-per-qi"):
        local_suppression(df, ["a", "b", "c"], 5, max_share=1.0, max_share_per_qi=0.05)
    with pytest.raises(ReleaseRefused, match="only 3 record"):
        local_suppression(df.head(3), ["a", "b"], 5)


def test_refusal_exit_code_is_3():
    assert ReleaseRefused("x").exit_code == 3


@pytest.mark.parametrize(
    "kw,needle",
    [
        ({"k": 1}, "k must be"),
        ({"k": 2.5}, "k must be"),
        ({"k": 2, "importance": ["zz"]}, "zz"),
        ({"k": 2, "max_share": 1.5}, "--max-suppressed"),
    ],
)
def test_bad_input(kw, needle):
    df = synthetic(20, 1)
    with pytest.raises(DisclosureError, match=needle):
        local_suppression(df, ["a", "b"], **kw)
    with pytest.raises(DisclosureError, match="nope"):
        wildcard_frequencies(df, ["nope"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 3)), st.sampled_from(["u", "v", "w"]), st.integers(0, 4)),
        min_size=4,
        max_size=40,
    ),
    k=st.integers(2, 4),
)
def test_property_released_file_is_k_anonymous(rows, k):
    df = pl.DataFrame(
        {"a": [r[0] for r in rows], "b": [r[1] for r in rows], "c": [r[2] for r in rows]},
        schema={"a": pl.Int64, "b": pl.String, "c": pl.Int64},
    )
    qi = ["a", "b", "c"]
    if df.height < k:
        with pytest.raises(ReleaseRefused):
            local_suppression(df, qi, k)
        return
    before = pairwise_counts(df, qi)
    res = local_suppression(df, qi, k, max_share=1.0, max_share_per_qi=1.0)
    after = pairwise_counts(res.frame, qi)
    assert after.min() >= k
    new_nulls = (
        res.frame.select([pl.col(q).is_null() for q in qi]).to_numpy()
        & ~df.select([pl.col(q).is_null() for q in qi]).to_numpy()
    )
    # records already at or above k are never suppressed; a k-anonymous input is returned unchanged
    assert not new_nulls[before >= k].any()
    if before.min() >= k:
        assert res.cells == 0
    # every touched record was below k and lost at most one value per round
    assert (new_nulls.sum(axis=1) <= res.rounds).all()
