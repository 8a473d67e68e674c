"""Every command takes the study folder (--study DIR, or STUDY where it takes a folder argument) and
takes its data, form and output paths from study.toml when they are not given; the click parameter
types refuse bad values in one line naming the flag, with exit status 2. Synthetic data only."""

from __future__ import annotations

import json
import shutil

import polars as pl
import pytest

from quietpoll.cli import main
from quietpoll.demo_study import make_study

PASS = "correct horse battery staple"


@pytest.fixture(scope="module")
def demo_study(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("demo") / "study", seed=7)


@pytest.fixture
def study(demo_study, tmp_path):
    """A fresh copy of the SYNTHETIC demo study (commands may write into it)."""
    return shutil.copytree(demo_study, tmp_path / "study")


def run(capsys, argv, code=0):
    got = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert got == code, out.err
    return out


def one_line(capsys, argv, *words):
    out = run(capsys, argv, 2)
    err = out.err.strip()
    assert err.startswith("quietpoll: error:") and "\n" not in err and "Traceback" not in err, err
    for w in words:
        assert w in err, err
    return err


def test_validate_and_quality_take_data_and_form_from_the_study(study, capsys):
    n = pl.read_csv(study / "responses.csv").height
    res = json.loads(run(capsys, ["validate", "--study", study, "--format", "json"]).out)
    assert res["n_rows"] == n and res["problems"]  # the demo plants a constraint violation
    res = json.loads(run(capsys, ["quality", "--study", study, "--format", "json"]).out)
    assert res["n_rows"] == n and res["near_duplicates"]  # ... and copied interviews
    # the flags still override the study: another data file
    pl.read_csv(study / "responses.csv").head(20).write_csv(study / "head.csv")
    res = json.loads(run(capsys, ["validate", study / "head.csv", "--study", study, "--format", "json"]).out)
    assert res["n_rows"] == 20


def test_validate_without_form_or_data_names_what_is_missing(study, capsys, tmp_path):
    one_line(capsys, ["validate", study / "responses.csv"], "--instrument", "--study")
    one_line(capsys, ["quality", "--instrument", study / "form.xlsx"], "DATA")
    one_line(capsys, ["validate", "--study", tmp_path / "nowhere"], "does not exist")
    (tmp_path / "empty").mkdir()
    one_line(capsys, ["validate", "--study", tmp_path / "empty"], "study.toml")


def test_codebook_disclosure_release_estimate_crosstab_from_the_study(study, capsys, tmp_path):
    book = json.loads(run(capsys, ["codebook", "--study", study, "--format", "json"]).out)
    assert book
    res = json.loads(run(capsys, ["disclosure", "--study", study, "--qi", "province,sex", "--format", "json"]).out)
    assert res["qi"] == ["province", "sex"]
    out = tmp_path / "released.csv"
    rep = json.loads(
        run(capsys, ["release", "--study", study, "--qi", "province,sex", "--out", out, "--format", "json"]).out
    )
    assert out.exists() and rep["output"]["rows"] > 0
    est = json.loads(run(capsys, ["estimate", "--study", study, "--mean", "le_count", "--format", "json"]).out)
    assert est["estimates"][0]["variable"] == "le_count"
    tab = json.loads(run(capsys, ["crosstab", "--study", study, "sex", "status", "--format", "json"]).out)
    assert tab["test"]["statistic"] == "F"
    one_line(capsys, ["crosstab", "sex", "status"], "DATA ROW COL")


def test_folder_argument_or_study_flag(study, capsys, tmp_path):
    run(capsys, ["init", "--study", tmp_path / "new"])
    assert (tmp_path / "new" / "study.toml").exists()
    one_line(capsys, ["init"], "STUDY", "--study")
    one_line(capsys, ["report", study, "--study", tmp_path / "new"], "two study folders")
    run(capsys, ["export", "--study", study, "--to", "csv", "--out", tmp_path / "e.csv"])
    assert (tmp_path / "e.csv").exists()


def test_collection_commands_take_the_study_flag(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("QUIETPOLL_PASSPHRASE", PASS)
    study = tmp_path / "s"
    run(capsys, ["init", study])
    run(capsys, ["keys", "new", "--study", study])
    added = json.loads(run(capsys, ["tokens", "add", "--study", study, "--name", "field-01", "--format", "json"]).out)
    assert added["alias"] == "field-01"
    assert json.loads(run(capsys, ["store", "list", "--study", study, "--format", "json"]).out) == []
    assert json.loads(run(capsys, ["store", "quarantine", "--study", study, "--format", "json"]).out) == []
    # pull writes to the study's [data] path when --out is not given
    got = json.loads(run(capsys, ["pull", "--study", study, "--format", "json"]).out)
    assert got["rows"] == 0 and got["out"] == str(study / "responses.csv")
    run(capsys, ["tokens", "revoke", "--study", study, "--name", "field-01"])
    one_line(capsys, ["store", "list"], "--store")
    one_line(capsys, ["serve", "--study", study, "--rate-limit", "0/60"], "--rate-limit")


def test_import_odk_out_defaults_to_the_study_data(tmp_path, capsys):
    """Without --out and without a study [data] path, import-odk names --out (before reading any key)."""
    (tmp_path / "k.pem").write_text("not a key")
    one_line(capsys, ["import-odk", tmp_path, "--key", tmp_path / "k.pem", "--form", tmp_path / "f.xlsx"], "--out")


@pytest.mark.parametrize(
    ("flags", "flag"),
    [
        (["--ratio", "api00"], "--ratio"),
        (["--ratio", "api00/"], "--ratio"),
        (["--ratio", "a/b/c"], "--ratio"),
        (["--quantile", "api00"], "--quantile"),
        (["--quantile", "api00@x"], "--quantile"),
        (["--quantile", "api00@1.5"], "--quantile"),
        (["--quantile", "@0.5"], "--quantile"),
        (["--domain", "stype"], "--domain"),
        (["--domain", "=E"], "--domain"),
        (["--df", "0"], "--df"),
        (["--df", "-3"], "--df"),
        (["--df", "many"], "--df"),
        (["--repweights", "pw", "--rscales", "1,a"], "--rscales"),
        (["--rep-type", "nonsense"], "--rep-type"),
        (["--lonely-psu", "never"], "--lonely-psu"),
        (["--ci-method", "guess"], "--ci-method"),
    ],
)
def test_param_types_refuse_bad_values(flags, flag, capsys):
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "reference" / "data" / "apistrat.csv"
    one_line(capsys, ["estimate", data, "--weights", "pw", "--mean", "api00", *flags, "--format", "json"], flag)


def test_param_types_parse_good_values(capsys):
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "reference" / "data" / "apistrat.csv"
    res = json.loads(
        run(
            capsys,
            [
                "estimate",
                data,
                "--strata",
                "stype",
                "--weights",
                "pw",
                "--ratio",
                "api00/api99",
                "--quantile",
                "api00@0.25,0.5",
                "--quantile",
                "api99@0.5",
                "--domain",
                "stype=E",
                "--df",
                "12",
                "--format",
                "json",
            ],
        ).out
    )
    rows = [(r["statistic"], r["variable"], r["level"]) for r in res["estimates"]]
    assert rows == [
        ("ratio", "api00/api99", None),
        ("quantile", "api00", 0.25),
        ("quantile", "api00", 0.5),
        ("quantile", "api99", 0.5),
    ]
    assert all(r["df"] == 12 and r["domain"] == {"stype": "E"} and r["n"] == 100 for r in res["estimates"])


def test_output_file_extension_from_the_format_registry(capsys, tmp_path):
    from quietpoll.io import WRITE_FORMATS

    err = one_line(capsys, ["release", tmp_path / "x.csv", "--qi", "a", "--out", tmp_path / "o.txt"], "--out", ".txt")
    assert all(f".{ext}" in err for ext in WRITE_FORMATS)


def test_one_passphrase_rule_for_both_keys(tmp_path, capsys, monkeypatch):
    """The study key and the ODK key read their passphrases through one helper: the environment, else a
    terminal prompt, never the command line; without either, one line naming the variable."""
    import sys

    from quietpoll.cli.options import passphrase

    monkeypatch.delenv("QUIETPOLL_PASSPHRASE", raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    with pytest.raises(Exception, match="QUIETPOLL_PASSPHRASE"):
        passphrase("p")
    monkeypatch.setenv("QUIETPOLL_ODK_PASSPHRASE", "x")
    assert passphrase("p", env="QUIETPOLL_ODK_PASSPHRASE") == "x"
    one_line(capsys, ["keys", "new", tmp_path / "s"], "QUIETPOLL_PASSPHRASE")


def test_weight_writes_into_the_study_when_out_is_not_given(study, capsys):
    import stat

    diag = json.loads(run(capsys, ["weight", "--study", study, "--format", "json"]).out)
    out = study / "exports" / "weighted.csv"
    assert out.exists() and diag["excluded"]  # the demo's copied interviews get no weight
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and stat.S_IMODE(out.parent.stat().st_mode) == 0o700
    assert pl.read_csv(out)["final_weight"].null_count() == len(diag["excluded"])
