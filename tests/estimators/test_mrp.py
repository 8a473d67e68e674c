"""MRP (quietpoll.estimators.mrp): known truth in simulation, diagnostics, publication rule, the list
experiment, determinism, population cells from the weighting targets, and bad inputs.

Fits are small (2 chains, few draws, sequential) to keep the file fast on a shared 2-core machine."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import polars as pl
import pytest

from quietpoll.errors import ColumnError, EstimationError, QuietpollError
from quietpoll.estimators.mrp import mrp
from quietpoll.estimators.mrp_cells import cells_from_targets

FAST = {"num_warmup": 300, "num_samples": 300, "num_chains": 2, "chain_method": "sequential"}
GROUPS = 8


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@pytest.fixture(scope="module")
def world():
    """A population of GROUPS x sex cells with known group effects, and a sample skewed towards a few
    groups (the others get 3-6 interviews each)."""
    rng = np.random.default_rng(7)
    effect = rng.normal(0.0, 0.7, GROUPS)
    groups = [f"g{i}" for i in range(GROUPS)]
    N = rng.integers(20_000, 90_000, (GROUPS, 2)).astype(float)
    p = _sigmoid(-0.4 + effect[:, None] + np.array([0.0, 0.6])[None, :])  # [group, sex]
    cells = pl.DataFrame({"region": np.repeat(groups, 2), "sex": ["f", "m"] * GROUPS, "N": N.ravel()})
    truth = {"": float((N * p).sum() / N.sum())} | {
        g: float((N[i] * p[i]).sum() / N[i].sum()) for i, g in enumerate(groups)
    }
    per_group = np.array([60, 45, 5, 4, 6, 3, 5, 4])
    g = np.repeat(np.arange(GROUPS), per_group)
    sex = (rng.random(g.size) < 0.7).astype(int)  # skewed towards men
    y = (rng.random(g.size) < p[g, sex]).astype(int)
    data = pl.DataFrame(
        {"region": np.asarray(groups)[g], "sex": np.array(["f", "m"])[sex], "watched": np.where(y == 1, "yes", "no")}
    )
    return {
        "cells": cells,
        "truth": truth,
        "data": data,
        "per_group": dict(zip(groups, per_group.tolist())),
        "N": N,
        "groups": groups,
    }


@pytest.fixture(scope="module")
def fit(world):
    """Short chains (no retry) with the numbers kept, as a failing fit would withhold them."""
    return mrp(
        world["data"],
        "watched",
        by="region",
        poststrat=world["cells"],
        level=0.95,
        seed=11,
        retry_target_accept=0.8,
        withhold_failed=False,
        **FAST,
    )


def _direct(world, g):
    """Poststratified-by-sex direct estimate in group g (the cell shares of sex within the group)."""
    d = world["data"].filter(pl.col("region") == g)
    i = world["groups"].index(g)
    N = world["N"][i]
    est = 0.0
    for j, s in enumerate(("f", "m")):
        ds = d.filter(pl.col("sex") == s)
        share = (ds.get_column("watched") == "yes").mean() if ds.height else (d.get_column("watched") == "yes").mean()
        est += N[j] / N.sum() * share
    return est


def test_intervals_cover_the_true_poststratified_prevalence(world, fit):
    rows = {r["domain"].get("region", ""): r for r in fit.rows}
    assert set(rows) == {"", *world["groups"]}
    assert rows[""]["method"] == "mrp" and rows[""]["ci_method"] == "posterior" and rows[""]["level"] == "yes"
    covered = [rows[k]["ci_low"] <= world["truth"][k] <= rows[k]["ci_high"] for k in rows]
    assert covered[0] and sum(covered) >= len(covered) - 1
    for k, r in rows.items():
        assert r["ci_low"] < r["estimate"] < r["ci_high"] and r["se"] > 0
        assert r["n"] == (world["data"].height if k == "" else world["per_group"][k])
    assert fit.model["random"] == ["region"] and fit.model["fixed"] == ["sex=m"]


def test_mrp_beats_the_direct_estimate_in_small_groups(world, fit):
    rows = {r["domain"].get("region", ""): r for r in fit.rows}
    small = [g for g, n in world["per_group"].items() if n < 10]
    mrp_err = np.sqrt(np.mean([(rows[g]["estimate"] - world["truth"][g]) ** 2 for g in small]))
    direct_err = np.sqrt(np.mean([(_direct(world, g) - world["truth"][g]) ** 2 for g in small]))
    assert mrp_err < direct_err


def test_diagnostics_reported_and_publication_follows_them(fit):
    for r in fit.rows:
        assert isinstance(r["rhat"], float) and isinstance(r["ess"], float) and isinstance(r["divergences"], int)
        ok = r["rhat"] <= 1.01 and r["ess"] >= 400 and r["divergences"] == 0
        assert r["published"] is ok
        assert (r["reason"] is None) is ok
        assert r["estimate"] is not None  # withhold_failed=False keeps them


def test_failing_diagnostics_are_not_published(world):
    res = mrp(
        world["data"],
        "watched",
        by="region",
        poststrat=world["cells"],
        seed=1,
        num_warmup=5,
        num_samples=5,
        num_chains=2,
    )
    assert len(res.model["target_accept"]) == 2  # refitted with a higher target_accept first
    for r in res.rows:
        assert r["published"] is False and "effective sample size" in r["reason"]
        assert r["estimate"] is None and r["ci_low"] is None and r["ci_high"] is None and r["se"] is None


def test_same_seed_same_numbers(world):
    """Deterministic with a seed (the short fit above, its numbers kept; compiled once)."""

    def run(seed):
        return mrp(
            world["data"],
            "watched",
            by="region",
            poststrat=world["cells"],
            seed=seed,
            num_warmup=5,
            num_samples=5,
            num_chains=2,
            retry_target_accept=0.8,
            withhold_failed=False,
        ).rows

    a, b = run(1), run(1)
    assert a == b and a[0]["estimate"] is not None


def test_poststratify_the_same_fit_to_other_cells(world, fit):
    only_men = world["cells"].filter(pl.col("sex") == "m")
    rows = fit.poststratify(only_men, by="region")
    assert len(rows) == GROUPS + 1 and rows[0]["published"] == fit.rows[0]["published"]
    with pytest.raises(ColumnError) as e:
        fit.poststratify(only_men.drop("sex"))
    assert e.value.param == "poststrat"


def test_list_experiment_mrp_recovers_a_known_prevalence():
    rng = np.random.default_rng(3)
    n, J = 900, 3
    g = rng.integers(0, 4, n)
    effect = np.array([-1.0, -0.3, 0.4, 1.0])
    z = rng.random(n) < _sigmoid(-0.5 + effect[g])
    control = rng.binomial(J, 0.45, n)
    treat = (rng.random(n) < 0.5).astype(int)
    data = pl.DataFrame({"zone": np.array(["a", "b", "c", "d"])[g], "count": control + treat * z, "treat": treat})
    shares = np.array([0.4, 0.3, 0.2, 0.1])
    cells = pl.DataFrame({"zone": ["a", "b", "c", "d"], "N": shares * 1e6})
    truth = float((shares * _sigmoid(-0.5 + effect)).sum())
    # short chains may miss the publication thresholds: the numbers are kept (withhold_failed=False) to check them
    res = mrp(
        data,
        list_experiment=("count", "treat"),
        by="zone",
        poststrat=cells,
        seed=5,
        level=0.95,
        num_warmup=250,
        num_samples=250,
        retry_target_accept=0.8,
        withhold_failed=False,
    )
    overall = res.rows[0]
    assert overall["statistic"] == "list_experiment" and overall["variable"] == "count"
    assert res.model["control_items"] == J and len(res.rows) == 5
    lo, hi = overall["ci_low"], overall["ci_high"]
    assert lo <= truth <= hi and hi - lo < 0.25


def test_cells_from_weighting_targets_cross_the_margins():
    data = pl.DataFrame({"sex": ["f", "m", "f"], "zone": ["a", "b", "c"]})
    cells = cells_from_targets(
        {"sex": {"f": 60, "m": 40}, "zone": {"a": 0.5, "b": 0.3, "c": 0.2}}, data, population=100
    )
    assert cells.height == 6 and cells.get_column("N").sum() == pytest.approx(100)
    fa = cells.filter((pl.col("sex") == "f") & (pl.col("zone") == "a")).get_column("N").item()
    assert fa == pytest.approx(100 * 0.6 * 0.5)


# ---- bad inputs ---------------------------------------------------------------------------------------


def _small():
    data = pl.DataFrame({"zone": ["a", "b", "c", "a"], "sex": ["f", "m", "f", "m"], "y": [1, 0, 1, 0]})
    cells = pl.DataFrame({"zone": ["a", "b", "c"] * 2, "sex": ["f"] * 3 + ["m"] * 3, "N": [10.0] * 6})
    return data, cells


@pytest.mark.parametrize(
    "case",
    [
        "grouping_not_in_cells",
        "by_not_in_cells",
        "variable_not_in_data",
        "no_count",
        "negative_count",
        "missing_count",
        "level_not_in_cells",
        "no_cells",
        "no_such_file",
    ],
)
def test_bad_inputs_name_the_parameter(case, tmp_path):
    data, cells = _small()
    kw: dict = {"poststrat": cells}
    param = "poststrat"
    if case == "grouping_not_in_cells":
        kw["random"] = ["province"]
    elif case == "by_not_in_cells":
        kw["by"] = "cohort"
        param = "by"
    elif case == "variable_not_in_data":
        kw["poststrat"] = cells.with_columns(pl.lit("x").alias("age"))
    elif case == "no_count":
        kw["poststrat"] = cells.drop("N")
    elif case == "negative_count":
        kw["poststrat"] = cells.with_columns(pl.Series("N", [10.0, -1, 5, 5, 5, 5]))
    elif case == "missing_count":
        kw["poststrat"] = cells.with_columns(pl.Series("N", [10.0, None, 5, 5, 5, 5]))
    elif case == "level_not_in_cells":
        kw["poststrat"] = cells.filter(pl.col("zone") != "c")
    elif case == "no_cells":
        kw["poststrat"] = None
    elif case == "no_such_file":
        kw["poststrat"] = tmp_path / "cells.csv"
    with pytest.raises(QuietpollError) as e:
        mrp(data, "y", **kw)
    assert e.value.param == param
    assert "{" not in str(e.value)


def test_bad_poststrat_file_and_outcome(tmp_path):
    data, cells = _small()
    path = tmp_path / "cells.csv"
    cells.with_columns(pl.Series("N", [10.0, -2, 5, 5, 5, 5])).write_csv(path)
    with pytest.raises(ColumnError, match="negative") as e:
        mrp(data, "y", poststrat=path)
    assert e.value.param == "poststrat"
    with pytest.raises(ColumnError) as e:
        mrp(data, "nothing", poststrat=cells)
    assert e.value.param == "prop"
    with pytest.raises(ColumnError) as e:
        mrp(data.with_columns(pl.Series("y", [2, 0, 1, 0])), "y", poststrat=cells)
    assert e.value.param == "prop"
    with pytest.raises(EstimationError) as e:
        mrp(data, "y", poststrat=cells, level=1.5)
    assert e.value.param == "level"
    with pytest.raises(ColumnError) as e:
        mrp(data, list_experiment=("count", "treat"), poststrat=cells)
    assert e.value.param == "list_experiment"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00garbage\x00\n\x01")
    with pytest.raises(QuietpollError) as e:  # unreadable, or read without an N column
        mrp(data, "y", poststrat=bad)
    assert e.value.param == "poststrat"


def test_version_does_not_import_jax():
    code = (
        "import sys\nsys.argv = ['quietpoll', '--version']\nfrom quietpoll.cli import main\n"
        "import quietpoll.estimators.mrp\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "assert 'jax' not in sys.modules and 'numpyro' not in sys.modules\nprint('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


def test_targets_give_the_cells_when_no_table():
    from quietpoll.weighting.apply import WeightingSpec

    data, _ = _small()
    spec = WeightingSpec(
        method="rake", targets={"zone": {"a": 0.5, "b": 0.3, "c": 0.2}, "sex": {"f": 60, "m": 40}}, population=100
    )
    with pytest.raises(ColumnError) as e:  # the cells are the targets' variables: no 'cohort' among them
        mrp(data, "y", targets=spec, by="cohort")
    assert e.value.param == "by" and "zone, sex" in str(e.value)
    with pytest.raises(EstimationError) as e:
        mrp(data.with_columns(pl.lit(1.0).alias("income")), "y", targets={"income": 5.0})
    assert e.value.param == "poststrat"


def test_compiled_samplers_are_bounded(monkeypatch):
    """Each compiled sampler holds about a thousand memory maps; a process may have 65,530 before XLA's
    compiler crashes. Past mrp_model.CACHE_MAX samplers the kept ones and JAX's compiled code are dropped,
    and the maps with them."""
    from quietpoll.estimators import mrp_model

    def maps() -> int:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as f:
            return sum(1 for _ in f)

    monkeypatch.setattr(mrp_model, "CACHE_MAX", 2)
    mrp_model.forget_compiled()
    rng = np.random.default_rng(3)
    counts = []
    for n in (40, 41, 42):  # three shapes: three compiled samplers
        data = {
            "X": rng.normal(size=(n, 1)).astype(np.float32),
            "G": rng.integers(0, 3, (n, 1)),
            "y": rng.integers(0, 2, n),
        }
        kw = dict(seed=1, num_warmup=10, num_samples=10, num_chains=1, chain_method="sequential", target_accept=0.8)
        mrp_model.sample(data, (3,), list_exp=False, **kw)
        counts.append(maps())
        assert len(mrp_model._CACHE) <= 2
    assert len(mrp_model._CACHE) == 1  # the third shape found two kept: both dropped, then its own kept
    assert counts[2] < counts[1]  # and the compiled code of the first two went with them


def test_a_fit_writes_nothing_to_disk(tmp_path):
    """No compilation cache or temporary file of JAX or NumPyro outlives a fit (what a seized laptop's
    home and temporary folders would keep): in a fresh process whose home, cache and temporary folders
    are empty, a fit leaves them empty."""
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    script = textwrap.dedent(
        """
        import numpy as np
        from quietpoll.estimators import mrp_model
        rng = np.random.default_rng(3)
        n = 40
        data = {"X": rng.normal(size=(n, 1)).astype(np.float32), "G": rng.integers(0, 3, (n, 1)),
                "y": rng.integers(0, 2, n)}
        mrp_model.sample(data, (3,), list_exp=False, seed=5, num_warmup=20, num_samples=20, num_chains=2,
                         chain_method="sequential", target_accept=0.8)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "JAX_", "XLA_"))}
    env.update(HOME=str(home), TMPDIR=str(tmp), TMP=str(tmp), TEMP=str(tmp), XDG_CACHE_HOME=str(home / ".cache"))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert not list(home.rglob("*")) and not list(tmp.rglob("*"))
