"""`quietpoll estimate ... --prop VAR --by COL --model mrp [--poststrat FILE] --format json` (issue 15's
contract): rows of the estimate contract with "method": "mrp", the posterior mean and interval,
"rhat" and "ess"; bad input one line and exit 2 (SYNTHETIC data)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from quietpoll.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mrp")
    rng = np.random.default_rng(3)  # SYNTHETIC: 300 people in 4 regions, a small one
    region = rng.choice(["a", "b", "c", "d"], size=300, p=[0.5, 0.3, 0.15, 0.05])
    sex = rng.choice(["f", "m"], size=300)
    p = 1 / (
        1
        + np.exp(-(np.array([-1.0, 0.0, 0.5, 1.0])[np.searchsorted(["a", "b", "c", "d"], region)] + 0.3 * (sex == "f")))
    )
    pl.DataFrame({"region": region, "sex": sex, "y": (rng.random(300) < p).astype(int)}).write_csv(tmp / "d.csv")
    cells = pl.DataFrame(
        {
            "region": ["a", "a", "b", "b", "c", "c", "d", "d"],
            "sex": ["f", "m"] * 4,
            "N": [1000, 1000, 800, 800, 600, 600, 400, 400],
        }
    )
    cells.write_csv(tmp / "cells.csv")
    cells.drop("region").group_by("sex").agg(pl.col("N").sum()).write_csv(tmp / "no_region.csv")
    cells.with_columns(age_band=pl.lit("18-29")).write_csv(tmp / "extra_term.csv")  # a model term not in the data
    return tmp


def test_mrp_rows_follow_the_contract(files, capsys):
    capsys.readouterr()
    assert (
        main(
            [
                "estimate",
                str(files / "d.csv"),
                "--prop",
                "y",
                "--by",
                "region",
                "--model",
                "mrp",
                "--poststrat",
                str(files / "cells.csv"),
                "--format",
                "json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    rows = out["estimates"]
    assert [r["domain"] for r in rows] == [{}] + [{"region": g} for g in "abcd"]
    for r in rows:
        assert r["method"] == "mrp" and {"rhat", "ess", "ci_low", "ci_high", "estimate"} <= set(r)
        assert r["published"] and r["ci_low"] < r["estimate"] < r["ci_high"] and 0 <= r["ci_low"] <= r["ci_high"] <= 1
        assert r["rhat"] < 1.01 and r["ess"] >= 400


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--poststrat", "no_region.csv"], "region"),  # a grouping variable missing from the cells
        (["--poststrat", "extra_term.csv"], "'age_band'"),  # a model term absent from the data
        ([], "--poststrat"),  # no cells and no study targets
        (["--poststrat", "cells.csv", "--format", "csv"], "not csv"),
    ],
)
def test_mrp_bad_input_one_line(files, capsys, extra, words):
    extra = [str(files / e) if e.endswith(".csv") else e for e in extra]
    capsys.readouterr()
    assert main(["estimate", str(files / "d.csv"), "--prop", "y", "--by", "region", "--model", "mrp", *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err


def test_poststrat_needs_mrp(files, capsys):
    capsys.readouterr()
    assert main(["estimate", str(files / "d.csv"), "--prop", "y", "--poststrat", str(files / "cells.csv")]) == 2
    assert "--model mrp" in capsys.readouterr().err
