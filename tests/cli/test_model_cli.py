"""`quietpoll model`: the JSON contract (terms named and ordered as R's, values as R's svyglm), the
table and csv outputs, --subset, and each bad input as one line with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quietpoll.cli import main

REF = Path(__file__).parents[1] / "reference"
DATA = REF / "data" / "apistrat.csv"
GOLDEN = {c["id"]: c for c in json.loads((REF / "golden" / "glm.json").read_text())["cases"]}
STRAT = ["--strata", "stype", "--weights", "pw", "--fpc", "fpc"]


def run(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_model_json_contract_matches_r(capsys):
    code, out, err = run(capsys, "model", DATA, "api00 ~ ell + meals + stype", *STRAT, "--format", "json")
    assert code == 0, err
    res = json.loads(out)
    assert set(res) == {"design", "model", "coefficients"}
    assert {"formula", "family", "df_residual", "dispersion", "n"} <= set(res["model"])
    g = GOLDEN["strat-gaussian"]
    assert [c["term"] for c in res["coefficients"]] == g["terms"] == ["(Intercept)", "ell", "meals", "stypeH", "stypeM"]
    assert res["model"]["df_residual"] == g["df_residual"] and res["model"]["n"] == g["n"]
    for c, est, se, lo in zip(res["coefficients"], g["estimate"], g["se"], g["ci_low"]):
        assert {"term", "estimate", "se", "statistic", "df", "p", "ci_low", "ci_high"} <= set(c)
        assert c["estimate"] == pytest.approx(est, rel=1e-9)
        assert c["se"] == pytest.approx(se, rel=1e-9)
        assert c["ci_low"] == pytest.approx(lo, rel=1e-9)


def test_model_subset_is_a_domain(capsys):
    code, out, err = run(
        capsys, "model", DATA, "api00 ~ ell + meals", *STRAT, "--subset", 'stype != "H"', "--format", "json"
    )
    assert code == 0, err
    res = json.loads(out)
    g = GOLDEN["strat-extra-6"]
    assert g["subset"] == 'stype != "H"'
    assert [c["se"] for c in res["coefficients"]] == pytest.approx(g["se"], rel=1e-9)
    assert res["model"]["df_residual"] == g["df_residual"]


def test_model_replicate_design_and_family(capsys):
    code, out, err = run(
        capsys,
        "model",
        REF / "data" / "apistrat_boot.csv",
        "hi700 ~ ell + meals + stype",
        "--weights",
        "pw",
        "--repweights",
        "rw*",
        "--rep-type",
        "bootstrap",
        "--family",
        "quasibinomial",
        "--format",
        "json",
    )
    assert code == 0, err
    res = json.loads(out)
    g = GOLDEN["boot-quasibinomial"]
    assert [c["se"] for c in res["coefficients"]] == pytest.approx(g["se"], rel=1e-9)
    assert res["model"]["family"] == "quasibinomial"


def test_model_table_and_csv(capsys):
    code, out, _ = run(capsys, "model", DATA, "api00 ~ ell + factor(awards)", *STRAT, "--format", "table")
    assert code == 0 and "factor(awards)Yes" in out
    code, out, _ = run(capsys, "model", DATA, "api00 ~ ell + factor(awards)", *STRAT, "--format", "csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "term,estimate,se,statistic,df,p,ci_low,ci_high"
    assert [ln.split(",")[0] for ln in lines[1:]] == ["(Intercept)", "ell", "factor(awards)Yes"]


def test_model_aliased_term_is_reported(capsys):
    code, out, _ = run(capsys, "model", DATA, "api00 ~ ell + mobility + I(2 * mobility)", *STRAT, "--format", "json")
    assert code == 0
    last = json.loads(out)["coefficients"][-1]
    assert last["term"] == "I(2 * mobility)" and last["aliased"] and last["estimate"] is None


@pytest.mark.parametrize(
    "args, words",
    [
        (["api00 ~ ell + nosuchcol"], "nosuchcol"),
        (["api00 ~ ell", "--family", "binomial"], "0/1"),
        (["api00 ~ ell", "--subset", "stype == 'X'"], "subset has no rows"),
        (["api00 ~ ell", "--subset", "nosuch > 1"], "nosuch"),
        (["api00 ~ ell", "--subset", "stype ==="], "--subset"),
        (["api00 ~ ell", "--family", "tweedie"], "family"),
        (["api00 ell"], "~"),
    ],
)
def test_model_bad_input_one_line_exit_2(capsys, args, words):
    code, out, err = run(capsys, "model", DATA, *args, *STRAT)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("quietpoll: error:") and words in err, err


def test_model_perfect_separation_warns_as_r(capsys):
    with pytest.warns(UserWarning, match="fitted probabilities numerically 0 or 1") as rec:
        code, out, err = run(capsys, "model", DATA, "hi700 ~ api00", *STRAT, "--family", "binomial", "--format", "json")
    assert code == 0 and err == ""
    assert all(issubclass(w.category, UserWarning) for w in rec)  # no numpy noise (overflow) besides
    json.loads(out)


def test_ttest_json_contract_matches_r(capsys):
    g = {c["id"]: c for c in json.loads((REF / "golden" / "glm.json").read_text())["ttests"]}["strat-awards"]
    code, out, err = run(capsys, "ttest", DATA, "--var", "api00", "--group", "awards", *STRAT, "--format", "json")
    assert code == 0, err
    res = json.loads(out)
    assert {"estimate", "se", "statistic", "df", "p", "ci_low", "ci_high"} <= set(res)
    for k in ("estimate", "se", "statistic", "p", "ci_low", "ci_high"):
        assert res[k] == pytest.approx(g[k], rel=1e-6)
    assert res["df"] == g["df"]


@pytest.mark.parametrize(
    "args, words",
    [
        (["--var", "api00", "--group", "stype"], "two levels"),
        (["--var", "nosuch", "--group", "awards"], "nosuch"),
        (["--var", "api00", "--group", "awards", "--subset", "awards == 'Yes'"], "(it has 1)"),
    ],
)
def test_ttest_bad_input_one_line_exit_2(capsys, args, words):
    code, out, err = run(capsys, "ttest", DATA, *args, *STRAT)
    assert code == 2
    assert err.count("\n") == 1 and words in err, err


def test_model_with_study_takes_formula_alone(capsys, tmp_path):
    (tmp_path / "study.toml").write_text(
        f'[data]\npath = "{DATA}"\n\n[design]\nstrata = "stype"\nweights = "pw"\nfpc = "fpc"\n'
    )
    code, out, err = run(capsys, "model", "--study", tmp_path, "api00 ~ ell + meals + stype", "--format", "json")
    assert code == 0, err
    assert [c["se"] for c in json.loads(out)["coefficients"]] == pytest.approx(GOLDEN["strat-gaussian"]["se"], rel=1e-9)
    code, out, err = run(capsys, "model", "--study", tmp_path, "--format", "json")
    assert code == 2 and "FORMULA" in err


def test_model_formula_cannot_run_code(capsys, tmp_path):
    marker = tmp_path / "ran"
    code, out, err = run(capsys, "model", DATA, f'api00 ~ I(open("{marker}", "w"))', *STRAT)
    assert code == 2 and "open" in err and not marker.exists()


def test_model_wald_test_of_a_term(capsys):
    g = {c["id"]: c for c in json.loads((REF / "golden" / "glm.json").read_text())["infer"]}["strat-gaussian-stype"]
    code, out, err = run(
        capsys, "model", DATA, "api00 ~ ell + meals + stype", *STRAT, "--test", "stype", "--format", "json"
    )
    assert code == 0, err
    t = json.loads(out)["tests"][0]
    assert t["terms"] == ["stype"] and t["df"] == g["F"]["df"] and t["ddf"] == g["F"]["ddf"]
    assert t["statistic"] == pytest.approx(g["F"]["statistic"], rel=1e-9)
    code, out, err = run(capsys, "model", DATA, "api00 ~ ell + meals + stype", *STRAT, "--test", "awards")
    assert code == 2 and "not a term" in err
