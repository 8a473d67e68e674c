"""The CLI against R: `quietpoll estimate ... --by COL --compare` against R: svyby(~api00, ~stype, design, svymean,
covmat = TRUE) then svycontrast of each domain minus the first (golden/glm2.json "domains", written by
make_golden_glm2.R). The rows are the estimate contract's, with "statistic": "difference",
"domain" and "reference" as {COL: level} (the shape of every estimate row's domain), "of" and "p"."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from scipy import stats

from quietpoll.cli import main

HERE = Path(__file__).parent
GOLDEN = {c["id"]: c for c in json.loads((HERE / "golden" / "glm2.json").read_text())["domains"]}
FLAGS = {
    "strat": ("apistrat.csv", ["--strata", "stype", "--weights", "pw", "--fpc", "fpc"]),
    "clus1": ("apiclus1.csv", ["--ids", "dnum", "--weights", "pw", "--fpc", "fpc"]),
    "jk1": (
        "apiclus1_jk1.csv",
        ["--weights", "pw", "--repweights", "rw*", "--rep-type", "JK1", "--scale", "0.933333333333333"],
    ),
}


@pytest.mark.parametrize("case", list(FLAGS))
def test_compare_matches_svyby_covmat_and_svycontrast(case, capsys):
    data, flags = FLAGS[case]
    g = GOLDEN[case]
    capsys.readouterr()
    assert (
        main(
            [
                "estimate",
                str(HERE / "data" / data),
                *flags,
                "--mean",
                "api00",
                "--by",
                "stype",
                "--compare",
                "--format",
                "json",
            ]
        )
        == 0
    )
    rows = [r for r in json.loads(capsys.readouterr().out)["estimates"] if r["statistic"] == "difference"]
    assert [r["domain"] for r in rows] == [{"stype": n} for n in g["diff"]["names"]]
    assert all(r["reference"] == {"stype": g["levels"][0]} and r["of"] == "mean" for r in rows)
    for r, est, se in zip(rows, g["diff"]["estimate"], g["diff"]["se"]):
        assert math.isclose(r["estimate"], est, rel_tol=1e-9) and math.isclose(r["se"], se, rel_tol=1e-9)
        assert r["df"] == g["degf"]
        assert math.isclose(r["p"], 2 * stats.t.sf(abs(est / se), g["degf"]), rel_tol=1e-9)


def test_compare_bad_input_one_line(capsys):
    data = str(HERE / "data" / "apistrat.csv")
    for extra, words in (
        (["--by", "stype,sch.wide"], "exactly one --by"),
        ([], "exactly one --by"),
        (["--by", "stype", "--format", "csv"], "not csv"),
    ):
        capsys.readouterr()
        assert main(["estimate", data, "--weights", "pw", "--mean", "api00", "--compare", *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err


def test_compare_with_df_inf_uses_the_normal(capsys):
    g = GOLDEN["strat"]
    data, flags = FLAGS["strat"]
    capsys.readouterr()
    assert (
        main(
            [
                "estimate",
                str(HERE / "data" / data),
                *flags,
                "--mean",
                "api00",
                "--by",
                "stype",
                "--compare",
                "--df",
                "inf",
                "--format",
                "json",
            ]
        )
        == 0
    )
    rows = [r for r in json.loads(capsys.readouterr().out)["estimates"] if r["statistic"] == "difference"]
    est, se = g["diff"]["estimate"][0], g["diff"]["se"][0]
    assert rows[0]["df"] is None and math.isclose(rows[0]["p"], 2 * stats.norm.sf(abs(est / se)), rel_tol=1e-9)


def test_fay_with_rho_on_the_command_line_matches_r(capsys):
    """Issue 13's parity fix: `--rep-type Fay --rho 0.3` with `--repweights` was refused ("needs --rho")
    on the CLI; it now gives R's svrepdesign(type = "Fay", rho = 0.3) numbers."""
    golden = json.loads((HERE / "golden" / "estimates.json").read_text())["cases"]
    case = next(c for c in golden if c["id"] == "scd_fay-rep-mean")
    capsys.readouterr()
    assert (
        main(
            [
                "estimate",
                str(HERE / "data" / "scd_fay.csv"),
                "--weights",
                "pw",
                "--repweights",
                "rw*",
                "--rep-type",
                "Fay",
                "--rho",
                "0.3",
                "--mean",
                "arrests,alive",
                "--format",
                "json",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)["estimates"]
    for r, g in zip(rows, case["rows"]):
        assert r["variable"] == g["variable"]
        assert math.isclose(r["estimate"], g["estimate"], rel_tol=1e-9)
        assert math.isclose(r["se"], g["se"], rel_tol=1e-9)


def test_a_replicate_glob_never_takes_the_full_sample_weights(capsys):
    """Issue 13's parity fix: `--repweights '*w*'` also matches `pw`; it is left out with a warning, and the
    numbers are R's for the four replicates."""
    golden = json.loads((HERE / "golden" / "estimates.json").read_text())["cases"]
    case = next(c for c in golden if c["id"] == "scd_fay-rep-mean")
    args = ["estimate", str(HERE / "data" / "scd_fay.csv"), "--weights", "pw", "--repweights", "*w*"]
    args += ["--rep-type", "Fay", "--rho", "0.3", "--mean", "arrests", "--format", "json"]
    capsys.readouterr()
    with pytest.warns(UserWarning, match="'pw' matches the replicate-weight pattern"):
        assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["design"]["replicates"] == 4
    assert math.isclose(out["estimates"][0]["se"], case["rows"][0]["se"], rel_tol=1e-9)


def test_a_proportion_only_interval_is_never_silently_dropped_for_quantiles(capsys):
    """Issue 13's parity fix: `--ci-method wilson --quantile` used wald for the quantile without a word."""
    args = ["estimate", str(HERE / "data" / "apistrat.csv"), "--weights", "pw", "--strata", "stype"]
    with pytest.warns(UserWarning, match="'wilson' has no quantile interval"):
        assert main([*args, "--quantile", "api00@0.5", "--ci-method", "wilson", "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out)["estimates"][0]
    assert row["statistic"] == "quantile" and row["ci_method"].endswith("wald")


@pytest.mark.parametrize(
    "args, words",
    [
        (["apiclus1_jk1.csv", "--rep-type", "JK1", "--rho", "0.3"], "rho 0.3 (a Fay coefficient; type JK1 has none)"),
        (["apistrat_brr.csv", "--rep-type", "BRR", "--scale", "0.5"], "scale 0.5 (type BRR sets it to 0.25)"),
    ],
)
def test_options_a_replicate_type_ignores_are_named(args, words, capsys):
    """Issue 13's parity fix: --scale with BRR/Fay/SDR/ACS and --rho with JK1 were ignored without a word."""
    data, *rest = args
    with pytest.warns(UserWarning, match=re.escape(words)):
        assert (
            main(
                [
                    "estimate",
                    str(HERE / "data" / data),
                    "--weights",
                    "pw",
                    "--repweights",
                    "rw*",
                    *rest,
                    "--mean",
                    "api00",
                    "--format",
                    "json",
                ]
            )
            == 0
        )
