"""The `quietpoll estimate` command: the JSON contract of design.md, study files, and bad input
(one line on stderr, exit status 2, never a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from quietpoll.cli import main

DATA = Path(__file__).resolve().parents[1] / "reference" / "data"
STRAT = str(DATA / "apistrat.csv")
CLUS2 = str(DATA / "apiclus2.csv")


def run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_contract(capsys):
    code, out, err = run(
        [
            "estimate",
            STRAT,
            "--strata",
            "stype",
            "--weights",
            "pw",
            "--fpc",
            "fpc",
            "--mean",
            "api00",
            "--prop",
            "sch.wide",
            "--by",
            "stype",
            "--format",
            "json",
        ],
        capsys,
    )
    assert code == 0, err
    obj = json.loads(out)
    assert set(obj) == {"design", "estimates"}
    assert obj["design"]["kind"] == "taylor" and obj["design"]["n"] == 200 and obj["design"]["df"] == 197
    rows = obj["estimates"]
    assert [r["statistic"] for r in rows] == ["mean"] * 3 + ["proportion"] * 6
    keys = {
        "statistic",
        "variable",
        "level",
        "domain",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "level_ci",
        "ci_method",
        "df",
        "deff",
        "n",
        "n_missing",
    }
    for r in rows:
        assert keys <= set(r)
    first = rows[0]
    assert first["variable"] == "api00" and first["level"] is None and first["domain"] == {"stype": "E"}
    assert first["ci_method"] == "wald" and first["level_ci"] == 0.95
    assert rows[3]["level"] == "No" and rows[3]["ci_method"] == "logit"


def test_all_statistics_and_formats(capsys):
    args = [
        "estimate",
        CLUS2,
        "--ids",
        "dnum,snum",
        "--fpc",
        "fpc1,fpc2",
        "--weights",
        "pw",
        "--mean",
        "api00,api99",
        "--total",
        "enroll",
        "--ratio",
        "api00/api99",
        "--quantile",
        "api00@0.25,0.5",
        "--df",
        "inf",
        "--level",
        "0.9",
    ]
    code, out, err = run(args + ["--format", "json"], capsys)
    assert code == 0, err
    rows = json.loads(out)["estimates"]
    assert [r["statistic"] for r in rows] == ["mean", "mean", "total", "ratio", "quantile", "quantile"]
    assert rows[2]["n_missing"] == 6  # enroll has missing values: excluded and counted
    assert rows[3]["variable"] == "api00/api99"
    assert rows[4]["level"] == 0.25 and rows[0]["df"] is None and rows[0]["level_ci"] == 0.9
    code, out, _ = run(args + ["--format", "csv"], capsys)
    assert code == 0 and out.splitlines()[0].startswith("statistic,variable,level,domain,estimate")
    assert len(out.splitlines()) == 7
    code, out, _ = run(args + ["--format", "table"], capsys)
    assert code == 0 and "api00" in out


def test_replicate_flags_and_building(capsys, tmp_path):
    code, out, err = run(
        [
            "estimate",
            str(DATA / "apistrat_jkn.csv"),
            "--weights",
            "pw",
            "--repweights",
            "rw*",
            "--rep-type",
            "JKn",
            "--rscales",
            ",".join(["0.99"] * 7),
            "--mean",
            "api00",
            "--format",
            "json",
        ],
        capsys,
    )
    assert code == 2 and "rscales" in err  # wrong count of rscales is one clear line
    code, out, err = run(
        [
            "estimate",
            STRAT,
            "--strata",
            "stype",
            "--weights",
            "pw",
            "--fpc",
            "fpc",
            "--rep-type",
            "JKn",
            "--mean",
            "api00",
            "--format",
            "json",
        ],
        capsys,
    )
    assert code == 0, err
    obj = json.loads(out)
    assert obj["design"]["kind"] == "replicate" and obj["design"]["type"] == "JKn"
    assert obj["estimates"][0]["se"] == pytest.approx(9.40894080278461, rel=1e-9)  # R as.svrepdesign JKn


def test_study_file(capsys, tmp_path):
    (tmp_path / "study.toml").write_text(f"""
[study]
title = "test"
[data]
path = "{STRAT}"
[design]
weights = "pw"
strata = "stype"
fpc = ["fpc"]
""")
    code, out, err = run(["estimate", "--study", str(tmp_path), "--mean", "api00", "--format", "json"], capsys)
    assert code == 0, err
    assert json.loads(out)["estimates"][0]["se"] == pytest.approx(9.40894080278461, rel=1e-9)
    # flags override the file: no strata/fpc -> a different SE
    code, out, _ = run(
        [
            "estimate",
            "--study",
            str(tmp_path / "study.toml"),
            "--strata",
            "cname",
            "--mean",
            "api00",
            "--format",
            "json",
        ],
        capsys,
    )
    assert code == 2 or json.loads(out)["estimates"][0]["se"] != pytest.approx(9.40894080278461)


def _bad(tmp_path, frame: pl.DataFrame) -> str:
    p = tmp_path / "bad.csv"
    frame.write_csv(p)
    return str(p)


BASE = pl.DataFrame(
    {
        "s": ["a"] * 4 + ["b"] * 4 + ["c"] * 2,
        "psu": list(range(10)),
        "w": [2.0] * 10,
        "y": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        "N": [10.0] * 10,
    }
)


@pytest.mark.parametrize(
    "name,frame,args,needle",
    [
        ("unknown column", BASE, ["--weights", "w", "--mean", "nope"], "'nope'"),
        ("unknown weight column", BASE, ["--weights", "wt", "--mean", "y"], "'wt'"),
        ("non-numeric weights", BASE.with_columns(w=pl.lit("x")), ["--weights", "w", "--mean", "y"], "not numeric"),
        (
            "negative weights",
            BASE.with_columns(w=pl.Series([-1.0] + [2.0] * 9)),
            ["--weights", "w", "--mean", "y"],
            "negative",
        ),
        (
            "one PSU in a stratum under fail",
            BASE.with_columns(s=pl.Series(["a"] * 9 + ["z"])),
            ["--strata", "s", "--ids", "psu", "--weights", "w", "--mean", "y"],
            "only one PSU",
        ),
        (
            "fpc smaller than the sample",
            BASE.with_columns(N=pl.lit(3.0)),
            ["--strata", "s", "--ids", "psu", "--fpc", "N", "--mean", "y"],
            "100%",
        ),
        ("no cases", BASE.with_columns(y=pl.lit(None, pl.Float64)), ["--weights", "w", "--mean", "y"], "no cases"),
        ("empty domain", BASE, ["--weights", "w", "--mean", "y", "--domain", "s=zz"], "no cases"),
        ("bad ci method for a mean", BASE, ["--weights", "w", "--mean", "y", "--ci-method", "beta"], "proportions"),
        ("bad quantile syntax", BASE, ["--weights", "w", "--quantile", "y"], "COL@P"),
        ("nothing asked", BASE, ["--weights", "w"], "nothing to estimate"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, name, frame, args, needle):
    code, out, err = run(["estimate", _bad(tmp_path, frame), *args], capsys)
    assert code == 2, (name, out, err)
    assert err.count("\n") == 1 and err.startswith("quietpoll: error: "), err
    assert needle in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "content,suffix", [(b"\x00\x01garbage", ".parquet"), (b"a,b\n1,2,3,4\n", ".csv"), (b"", ".csv"), (b"junk", ".sav")]
)
def test_malformed_file(tmp_path, capsys, content, suffix):
    p = tmp_path / f"bad{suffix}"
    p.write_bytes(content)
    code, out, err = run(["estimate", str(p), "--mean", "a"], capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


def test_missing_file_and_usage_errors(capsys):
    code, _, err = run(["estimate", "/nonexistent.csv", "--mean", "y"], capsys)
    assert code == 2 and "not found" in err.lower() or "no such" in err.lower()
    code, _, err = run(["estimate", STRAT, "--lonely-psu", "sometimes", "--mean", "api00"], capsys)
    assert code == 2 and err.count("\n") == 1


def test_console_script_end_to_end():
    exe = Path(sys.executable).parent / "quietpoll"
    p = subprocess.run(
        [str(exe), "estimate", STRAT, "--weights", "pw", "--mean", "api00", "--format", "json"],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["estimates"][0]["estimate"] == pytest.approx(662.287, abs=1e-3)
    p = subprocess.run(
        [str(exe), "estimate", STRAT, "--weights", "nope", "--mean", "api00"], capture_output=True, text=True
    )
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


def test_cv_and_effective_sample_size(capsys):
    code, out, _ = run(
        [
            "estimate",
            STRAT,
            "--strata",
            "stype",
            "--weights",
            "pw",
            "--fpc",
            "fpc",
            "--mean",
            "api00",
            "--format",
            "json",
        ],
        capsys,
    )
    r = json.loads(out)["estimates"][0]
    assert r["cv"] == pytest.approx(r["se"] / r["estimate"], rel=1e-12)
    assert r["n_eff"] == pytest.approx(r["n"] / r["deff"], rel=1e-12)


def test_a_constant_variable_has_no_design_effect(tmp_path, capsys):
    """Issue 13's parity fix: a variable with no variance under simple random sampling has no design
    effect (R divides by that zero and prints Inf or NaN): the JSON gives null, never a number."""
    path = tmp_path / "constant.csv"
    path.write_text("y,b,w,g\n1,1,1,a\n1,1,2,a\n1,1,3,b\n1,1,1,b\n")
    for extra in ([], ["--by", "g"]):
        code, out, err = run(
            ["estimate", str(path), "--weights", "w", "--mean", "y", "--total", "y", "--prop", "b", *extra]
            + ["--format", "json"],
            capsys,
        )
        assert code == 0, err
        rows = json.loads(out)["estimates"]
        assert rows and all(r["deff"] is None for r in rows)
        assert all(r["se"] == 0 for r in rows if r["statistic"] != "total")
