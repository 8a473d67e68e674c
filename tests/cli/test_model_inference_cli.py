"""`quietpoll model --test-method LRT / --margins / --ame / --contrast` and `crosstab --cells`: values
as R's (golden/glm2.json), the new JSON keys beside the fixed ones, and bad input as one line with
exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quietpoll.cli import main

REF = Path(__file__).parents[1] / "reference"
DATA = REF / "data" / "apistrat.csv"
CLUS1 = REF / "data" / "apiclus1.csv"
G2 = json.loads((REF / "golden" / "glm2.json").read_text())
STRAT = ["--strata", "stype", "--weights", "pw", "--fpc", "fpc"]
FIXED = {"design", "model", "coefficients"}


def run(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_lrt_json_matches_r(capsys):
    g = next(c for c in G2["lrt"] if c["dname"] == "strat" and c["family"] == "gaussian")
    code, out, err = run(
        capsys, "model", DATA, g["formula"], *STRAT, "--test", g["term"], "--test-method", "LRT", "--format", "json"
    )
    assert code == 0, err
    res = json.loads(out)
    assert FIXED <= set(res)
    t = res["tests"][0]
    assert t["method"] == "LRT" and t["df"] == g["df"] and t["ddf"] == g["ddf"]
    assert t["statistic"] == pytest.approx(g["chisq"], rel=1e-9)
    assert t["lambda"] == pytest.approx(g["lambda"], rel=1e-9)
    assert t["p"] == pytest.approx(g["p"], rel=1e-6)
    code, out, err = run(
        capsys, "model", DATA, g["formula"], *STRAT, "--test", g["term"], "--test-method", "LRT", "--format", "table"
    )
    assert code == 0 and "Rao-Scott" in out


def test_margins_ame_contrasts_json(capsys):
    g = next(c for c in G2["predmeans"] if c["id"] == "strat-binomial-stype")
    code, out, err = run(
        capsys,
        "model",
        DATA,
        g["formula"],
        *STRAT,
        "--family",
        "binomial",
        "--margins",
        "stype",
        "--ame",
        "ell",
        "--contrast",
        "ell - meals",
        "--format",
        "json",
    )
    assert code == 0, err
    res = json.loads(out)
    assert FIXED <= set(res) and {"margins", "ame", "contrasts"} <= set(res)
    assert [m["level"] for m in res["margins"]] == g["levels"]
    assert [m["estimate"] for m in res["margins"]] == pytest.approx(g["estimate"], rel=1e-9)
    se = [g["vcov"][i][i] ** 0.5 for i in range(len(g["levels"]))]
    assert [m["se"] for m in res["margins"]] == pytest.approx(se, rel=1e-9)
    (a,) = res["ame"]
    assert a["variable"] == "ell" and a["level"] is None and a["se"] > 0 and a["ci_low"] < a["estimate"] < a["ci_high"]
    (c,) = res["contrasts"]
    coef = {r["term"]: r for r in res["coefficients"]}
    assert c["estimate"] == pytest.approx(coef["ell"]["estimate"] - coef["meals"]["estimate"], rel=1e-12)
    code, out, err = run(
        capsys,
        "model",
        DATA,
        g["formula"],
        *STRAT,
        "--family",
        "binomial",
        "--margins",
        "stype",
        "--ame",
        "ell",
        "--contrast",
        "ell - meals",
        "--format",
        "table",
    )
    assert code == 0 and "Predictive margins" in out and "Average marginal effects" in out and "Contrasts" in out


@pytest.mark.parametrize(
    "args, words",
    [
        (["--contrast", "stypeX - stypeM"], "'stypeX'"),  # a contrast on an unknown level
        (["--contrast", "__import__('os').system('true')"], "not allowed"),
        (["--margins", "nosuch"], "nosuch"),
        (["--ame", "awards"], "not a variable of the model"),
        (["--test", "stype", "--test-method", "LRT", "--format", "csv"], "csv"),
    ],
)
def test_inference_bad_input_one_line_exit_2(capsys, args, words):
    code, out, err = run(
        capsys, "model", DATA, "hi700 ~ ell + meals + stype", *STRAT, "--family", "quasibinomial", *args
    )
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("quietpoll: error:") and words in err, err


def test_crosstab_percentages_and_counts(capsys):
    g = next(c for c in G2["descriptives"] if c["id"] == "clus1")
    args = ["crosstab", CLUS1, "stype", "awards", "--ids", "dnum", "--weights", "pw", "--fpc", "fpc"]
    code, out, err = run(capsys, *args, "--format", "json")
    assert code == 0, err
    res = json.loads(out)
    assert {"proportions", "se", "test", "pearson_chisq", "n"} <= set(res)
    for key in ("row_percent", "col_percent", "counts"):
        for mine, r in zip(res[key], g[key]["estimate"]):
            assert mine == pytest.approx(r, rel=1e-9)
        for mine, r in zip(res[key + "_se"], g[key]["se"]):
            assert mine == pytest.approx(r, rel=1e-9)
    for cells, title in (("row", "row percentages"), ("col", "column percentages"), ("counts", "weighted counts")):
        code, out, err = run(capsys, *args, "--cells", cells, "--format", "table")
        assert code == 0 and title in out, err
    code, out, err = run(capsys, *args, "--cells", "nope")
    assert code == 2 and err.count("\n") == 1
