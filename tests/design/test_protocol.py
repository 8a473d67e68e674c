"""The Design protocol, the joint covariance of tables, the replicate-type and weighting-method
registries, and errors that name parameters rather than CLI flags."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import quietpoll as qp
from quietpoll.design import DesignSpec, ReplicateSpec
from quietpoll.design.builders import ReplicateType, build_replicates, register_replicate_type
from quietpoll.design.replicate import REPLICATE_TYPES
from quietpoll.errors import ColumnError, DesignError, EstimationError, WeightingError
from quietpoll.weighting import METHODS, WeightingSpec
from quietpoll.weighting.methods import WeightingMethod


def frame(n=60, seed=1):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 3, n)
    return pl.DataFrame(
        {
            "y": rng.normal(10, 2, n),
            "x": rng.uniform(1, 3, n),
            "b": rng.integers(0, 2, n),
            "g": [f"g{v}" for v in g],
            "st": rng.integers(0, 2, n),
            "psu": np.arange(n) // 3,
            "w": rng.uniform(1, 4, n),
        }
    )


def taylor():
    return DesignSpec(weights="w", strata="st", ids=("psu",), nest=True).build(frame())


def replicate():
    f = frame()
    rng = np.random.default_rng(7)
    reps = {f"rw{i}": f["w"].to_numpy() * rng.uniform(0.5, 1.5, f.height) for i in range(12)}
    f = f.with_columns(**{k: pl.Series(v) for k, v in reps.items()})
    return DesignSpec(weights="w", replicates=ReplicateSpec("rw*", type="bootstrap")).build(f)


@pytest.mark.parametrize("make", [taylor, replicate])
def test_vcov_diagonal_is_each_rows_variance(make):
    des = make()
    for t in (
        qp.mean(des, "y,x", by="g"),
        qp.total(des, "y", by="g"),
        qp.ratio(des, "y", "x", by="g"),
        qp.proportion(des, "b", by="g"),
        qp.proportion(des, "g"),
    ):
        V = t.vcov()
        assert V.shape == (len(t), len(t)) and np.allclose(V, V.T)
        np.testing.assert_allclose(np.sqrt(np.diag(V)), [r.se for r in t.rows], rtol=1e-10)
        assert list(t.coef()) == [r.estimate for r in t.rows]


@pytest.mark.parametrize("make", [taylor, replicate])
def test_tables_of_one_design_add_up_to_one_joint_covariance(make):
    des = make()
    a, b = qp.mean(des, "y"), qp.mean(des, "x")
    both = qp.mean(des, "y,x")
    np.testing.assert_allclose((a + b).vcov(), both.vcov(), rtol=1e-12)
    assert (a + b).names == both.names == ["y", "x"]
    # a proportion's two levels are perfectly negatively correlated
    V = qp.proportion(des, "b").vcov()
    np.testing.assert_allclose(V[0, 1], -V[0, 0], rtol=1e-10)


def test_names_label_domain_and_variable():
    t = qp.proportion(taylor(), "b", by="g")
    assert t.names[:2] == ["g=g0:b=0", "g=g0:b=1"]


def test_vcov_refused_where_no_joint_covariance():
    des = taylor()
    with pytest.raises(EstimationError, match="no joint covariance"):
        qp.quantile(des, "y", [0.5]).vcov()
    with pytest.raises(EstimationError, match="no joint covariance"):
        (qp.mean(des, "y") + qp.mean(replicate(), "y")).vcov()


def test_replicate_only_interval_on_a_taylor_design_names_the_parameter():
    with pytest.raises(EstimationError) as e:
        qp.quantile(taylor(), "y", [0.5], ci_method="quantile")
    assert str(e.value) == "ci_method quantile needs a replicate-weight design"
    assert e.value.param == "ci_method"
    assert e.value.render(lambda p: "--" + p.replace("_", "-")).startswith("--ci-method quantile needs")


def test_replicate_columns_follow_the_weighting():
    des = replicate()
    weighted = des.poststratify({"g": {"g0": 100.0, "g1": 120.0, "g2": 80.0}})
    cols = weighted.replicate_columns()
    assert list(cols) == [f"rw{i}" for i in range(12)]
    np.testing.assert_allclose(cols["rw0"], weighted.repweights.rows(slice(None))[:, 0])
    assert taylor().replicate_columns() == {}


# ---- registries ---------------------------------------------------------------------------------


def test_replicate_type_registry_drives_spec_and_builders():
    assert {"JK1", "JKn", "BRR", "Fay", "bootstrap", "SDR", "ACS", "other", "subbootstrap"} == set(REPLICATE_TYPES)
    with pytest.raises(DesignError, match="is not one of JK1, JKn"):
        ReplicateSpec("rw*", type="nope")
    with pytest.raises(DesignError, match="unknown replicate type 'SDR'"):  # given as columns only
        build_replicates("SDR", None, np.arange(6))


def test_a_new_replicate_type_is_one_registration(monkeypatch):
    monkeypatch.setattr("quietpoll.design.builders.REPLICATE_TYPES", dict(REPLICATE_TYPES))
    monkeypatch.setattr(
        "quietpoll.design.builders._ALIASES",
        dict(__import__("quietpoll.design.builders", fromlist=["_ALIASES"])._ALIASES),
    )
    from quietpoll.design import builders, replicate as rep_mod, spec as spec_mod

    monkeypatch.setattr(rep_mod, "REPLICATE_TYPES", builders.REPLICATE_TYPES)
    register_replicate_type(ReplicateType("half", lambda scale, rscales, rho, R: (0.5, rscales)))
    monkeypatch.setattr(spec_mod, "REP_TYPES", spec_mod.REP_TYPES + ("half",))
    f = replicate().data
    des = DesignSpec(weights="w", replicates=ReplicateSpec("rw*", type="half")).build(f)
    assert des.type == "half" and des.scale == 0.5
    assert qp.mean(des, "y").rows[0].se > 0


def test_cli_choices_come_from_the_registries():
    import click

    from quietpoll.cli import cli

    estimate = cli.get_command(click.Context(cli), "estimate")
    assert estimate is not None
    opt = next(p for p in estimate.params if "--rep-type" in p.opts)
    assert isinstance(opt.type, click.Choice) and list(opt.type.choices) == sorted(REPLICATE_TYPES)


def test_weighting_methods_registry(monkeypatch):
    assert list(METHODS) == ["poststratify", "rake", "linear", "raking", "logit", "propensity"]
    with pytest.raises(WeightingError) as e:
        WeightingSpec(method="magic", targets={"g": {"g0": 1}})
    assert e.value.param == "method" and str(e.value).startswith("method must be one of poststratify, rake")

    def halve(spec, frame, margins, X, pop, w, W):  # a new method: one registration
        return w / 2, None if W is None else W / 2, None

    monkeypatch.setitem(METHODS, "halve", WeightingMethod("halve", halve))
    for des in (taylor(), replicate()):
        out = des.weight(WeightingSpec(method="halve", targets={"g": {"g0": 1.0, "g1": 1.0, "g2": 1.0}}))
        np.testing.assert_allclose(out.weights, des.weights / 2)
        assert qp.mean(out, "y").rows[0].estimate == pytest.approx(qp.mean(des, "y").rows[0].estimate)


# ---- errors name parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "call,param,text",
    [
        (lambda d: qp.mean(d, "y", by="nope"), "by", "by column 'nope' is not in the data"),
        (lambda d: qp.mean(d, "y", level=2), "level", "level must be between 0 and 1"),
        (lambda d: qp.mean(d, "y", df="lots"), "df", "df must be 'design', 'inf' or a number"),
        (lambda d: qp.proportion(d, "b", ci_method="magic"), "ci_method", "ci_method must be one of"),
        (lambda d: qp.mean(d, "y", ci_method="logit"), "ci_method", "ci_method logit applies to proportions"),
        (lambda d: qp.mean(d, "g"), "prop", "use a proportion (prop) for a categorical variable"),
        (lambda d: qp.glm(d, "y ~ x", subset="x >"), "subset", "subset: expected"),
    ],
)
def test_core_errors_name_parameters_not_flags(call, param, text):
    with pytest.raises((EstimationError, ColumnError)) as e:
        call(taylor())
    assert e.value.param == param and text in str(e.value) and "--" not in str(e.value)
    flag = "--" + param.replace("_", "-")
    assert flag in e.value.render(lambda p: "--" + p.replace("_", "-"))


def test_builder_errors_name_parameters():
    with pytest.raises(DesignError) as e:
        build_replicates("bootstrap", None, np.arange(6), replicates=1)
    assert e.value.param == "replicates" and str(e.value) == "replicates must be at least 2, got 1"
    with pytest.raises(DesignError) as e:
        build_replicates("JK1", None, np.arange(6), rho=0.5)
    assert e.value.param == "rho"
