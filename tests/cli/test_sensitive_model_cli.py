"""`quietpoll model DATA FORMULA --list-experiment --treatment T [--list-method lm|ml]` and
`--randomized-response --rr-design ...` (issue 15's contract): the coefficient rows of the model
contract, each with "part": "sensitive" or "control". The linear list model is checked against R's
svyglm(count ~ (x1 + x2) * treat) (golden/listreg.json); bad input one line, exit 2."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from quietpoll.cli import main

REF = Path(__file__).parents[1] / "reference"
GOLDEN = {c["id"]: c for c in json.loads((REF / "golden" / "listreg.json").read_text())["cases"]}
FLAGS = ["--weights", "pw", "--strata", "stratum", "--ids", "psu", "--fpc", "fpc1"]


def test_linear_list_model_matches_svyglm(capsys):
    g = GOLDEN["strat_clus_fpc-x1x2"]
    capsys.readouterr()
    assert (
        main(
            [
                "model",
                str(REF / "data" / "listreg.csv"),
                "count ~ x1 + x2",
                "--list-experiment",
                "--treatment",
                "treat",
                "--list-method",
                "lm",
                *FLAGS,
                "--format",
                "json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    rows = out["coefficients"]
    assert {r["part"] for r in rows} == {"sensitive", "control"}
    # R's names: the treatment terms are the sensitive item's model, the others the control count's
    r_est = dict(zip(g["terms"], g["estimate"]))
    r_se = dict(zip(g["terms"], g["se"]))
    for r in rows:
        name = r["term"]
        r_name = name if r["part"] == "control" else ("treat" if name == "(Intercept)" else f"{name}:treat")
        assert math.isclose(r["estimate"], r_est[r_name], rel_tol=1e-9), name
        assert math.isclose(r["se"], r_se[r_name], rel_tol=1e-9), name


def test_ml_list_and_rr_models_run(tmp_path, capsys):
    rng = np.random.default_rng(7)  # SYNTHETIC
    n = 600
    x = rng.normal(size=n)
    z = (rng.random(n) < 1 / (1 + np.exp(-(-0.5 + x)))).astype(int)
    treat = rng.integers(0, 2, n)
    count = rng.binomial(3, 0.4, n) + treat * z
    spin = rng.random(n)
    answer = np.where(spin < 1 / 6, "yes", np.where(spin < 2 / 6, "no", np.where(z == 1, "yes", "no")))
    pl.DataFrame({"x": x, "treat": treat, "count": count, "answer": answer}).write_csv(tmp_path / "d.csv")
    capsys.readouterr()
    assert (
        main(
            [
                "model",
                str(tmp_path / "d.csv"),
                "count ~ x",
                "--list-experiment",
                "--treatment",
                "treat",
                "--control-items",
                "3",
                "--format",
                "json",
            ]
        )
        == 0
    )
    ml = json.loads(capsys.readouterr().out)
    sens = {r["term"]: r for r in ml["coefficients"] if r["part"] == "sensitive"}
    assert abs(sens["x"]["estimate"] - 1.0) < 4 * sens["x"]["se"]
    assert (
        main(
            [
                "model",
                str(tmp_path / "d.csv"),
                "answer ~ x",
                "--randomized-response",
                "--rr-design",
                "forced",
                "--rr-p-truth",
                str(4 / 6),
                "--rr-p-yes",
                str(1 / 6),
                "--format",
                "json",
            ]
        )
        == 0
    )
    rr = json.loads(capsys.readouterr().out)
    assert all(r["part"] == "sensitive" for r in rr["coefficients"])
    x_row = next(r for r in rr["coefficients"] if r["term"] == "x")
    assert abs(x_row["estimate"] - 1.0) < 4 * x_row["se"]


@pytest.mark.parametrize(
    "args, words",
    [
        (["count ~ x1", "--list-experiment"], "--treatment"),
        (["count ~ nope", "--list-experiment", "--treatment", "treat"], "nope"),
        (["count ~ x1", "--list-experiment", "--treatment", "treat", "--randomized-response"], "give one"),
        (["treat ~ x1", "--randomized-response"], "--rr-design"),
        (["treat ~ x1 + nope", "--randomized-response", "--rr-design", "warner", "--rr-p", "0.7"], "'nope'"),
        (["treat ~ x1", "--randomized-response", "--rr-design", "warner", "--rr-p", "0.5"], "p"),
    ],
)
def test_bad_input_one_line(args, words, capsys):
    capsys.readouterr()
    assert main(["model", str(REF / "data" / "listreg.csv"), *args, "--weights", "pw"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err
