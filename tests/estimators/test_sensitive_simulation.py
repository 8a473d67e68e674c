"""Simulation: with a known prevalence, the list-experiment estimators (difference in means and
Imai's ML) and the three randomized-response designs are unbiased and their 95% intervals cover
about 95% of the time. SYNTHETIC data, seeded; the replications are generated as one array per
estimator and each is estimated by the public estimator functions on a simple random sample."""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest

import quietpoll as qp
from quietpoll.estimators.list_ml import list_experiment_ml
from quietpoll.estimators.sensitive import list_experiment, randomized_response

REPS = 2000
N = 500
TRUTH = 0.3
J = 3


def check(est, lo, hi, truth=TRUTH):
    """Mean within 4 Monte-Carlo SEs of the truth; coverage within 3.5 binomial SEs of 0.95."""
    est, lo, hi = map(np.asarray, (est, lo, hi))
    assert np.isfinite(est).all() and np.isfinite(lo).all()
    mc_se = est.std(ddof=1) / math.sqrt(len(est))
    assert abs(est.mean() - truth) < 4 * mc_se, (est.mean(), truth, mc_se)
    cover = np.mean((lo <= truth) & (truth <= hi))
    tol = 3.5 * math.sqrt(0.95 * 0.05 / len(est))
    assert abs(cover - 0.95) < tol, cover
    return cover


def list_data(seed):
    rng = np.random.default_rng(seed)
    treat = rng.integers(0, 2, (REPS, N))
    z = rng.random((REPS, N)) < TRUTH
    count = rng.binomial(J, 0.45, (REPS, N)) + treat * z
    return count, treat


def run(frames, fn):
    out = np.empty((len(frames), 3))
    for i, f in enumerate(frames):
        r = fn(qp.svydesign(f)).rows[0]
        out[i] = r.estimate, r.ci_low, r.ci_high
    return out.T


@pytest.mark.parametrize("method", ["diff", "ml"])
def test_list_experiment_unbiased_and_covers(method):
    count, treat = list_data(11)
    frames = [pl.DataFrame({"count": count[i], "treat": treat[i]}) for i in range(REPS)]
    if method == "diff":
        est, lo, hi = run(frames, lambda d: list_experiment(d, "count", "treat"))
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no estimate may fall on the boundary here
            est, lo, hi = run(frames, lambda d: list_experiment_ml(d, "count", "treat", control_items=J))
    check(est, lo, hi)


@pytest.mark.filterwarnings("ignore:ML list estimate")  # one of the 400 samples has its ML estimate at 0
def test_ml_is_more_precise_than_the_difference():
    # Imai (2011): the ML estimator uses the control items' distribution, so its sampling variance is
    # below the difference in means under the model
    count, treat = list_data(12)
    frames = [pl.DataFrame({"count": count[i], "treat": treat[i]}) for i in range(400)]
    d = run(frames, lambda x: list_experiment(x, "count", "treat"))[0]
    m = run(frames, lambda x: list_experiment_ml(x, "count", "treat", control_items=J))[0]
    assert m.var() < d.var()


@pytest.mark.parametrize(
    "design,kw",
    [
        ("forced", dict(p_truth=0.7, p_yes=0.15)),
        ("warner", dict(p=0.75)),
        ("unrelated", dict(p=0.6, p_unrelated=0.4)),
    ],
)
def test_randomized_response_unbiased_and_covers(design, kw):
    rng = np.random.default_rng({"forced": 21, "warner": 22, "unrelated": 23}[design])
    truth = rng.random((REPS, N)) < TRUTH
    u = rng.random((REPS, N))
    if design == "forced":  # the die says: answer truthfully (p_truth), say yes (p_yes), or say no
        ans = np.where(u < kw["p_truth"], truth, u < kw["p_truth"] + kw["p_yes"])
    elif design == "warner":  # the statement or its negation
        ans = np.where(u < kw["p"], truth, ~truth)
    else:  # the sensitive question or an innocuous one with known yes share
        ans = np.where(u < kw["p"], truth, rng.random((REPS, N)) < kw["p_unrelated"])
    frames = [pl.DataFrame({"ans": ans[i].astype(np.int8)}) for i in range(REPS)]
    est, lo, hi = run(frames, lambda d: randomized_response(d, "ans", rr_design=design, **kw))
    check(est, lo, hi)
