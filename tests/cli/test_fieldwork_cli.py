"""`quietpoll init`, `codebook`, `validate` and `quality` on the built-in template (synthetic data), and
bad input: a broken workbook, a form pyxform rejects, a data file that is not the form's."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from quietpoll.cli import main


@pytest.fixture
def study(tmp_path):
    assert main(["init", str(tmp_path / "s")]) == 0
    return tmp_path / "s"


def synthetic(n=120, seed=0) -> pl.DataFrame:
    """SYNTHETIC answers to a few template questions; rows 5 and 6 copy row 4."""
    rng = np.random.default_rng(seed)
    provinces = ["pyongyang", "north_hamgyong", "ryanggang", "chagang", "kangwon"]
    f = pl.DataFrame(
        {
            "consent": ["yes"] * n,
            "status": rng.choice(["inside", "defector"], n),
            "province": rng.choice(provinces, n),
            "sex": rng.choice(["male", "female"], n),
            "year_left": rng.integers(2000, 2024, n),
            "months_third": rng.integers(0, 60, n),
            "interviewer": rng.choice(["A", "B", "C", "D"], n),
        }
    )
    f = f.with_columns(
        pl.when(pl.col("status") == "inside").then(None).otherwise(pl.col("year_left")).alias("year_left")
    )
    return pl.concat([f[:5], f[4:5], f[4:5], f[7:]])


def test_init_and_codebook(study, capsys, tmp_path):
    assert {p.name for p in study.iterdir()} == {"study.toml", "form.xlsx", "README-field-team.md"}
    capsys.readouterr()
    assert main(["codebook", str(study / "form.xlsx"), "--format", "json"]) == 0
    book = json.loads(capsys.readouterr().out)
    assert "sex" in json.dumps(book)
    assert main(["codebook", str(study / "form.xlsx"), "--format", "html", "--out", str(tmp_path / "c.html")]) == 0
    html = (tmp_path / "c.html").read_text()
    assert "<html" in html.lower() and "http://" not in html and "https://" not in html
    assert main(["init", str(study)]) == 2


def test_validate_json_contract(study, capsys, tmp_path):
    data = synthetic().with_columns(pl.Series("sex", ["male"] * 3 + ["other"] + ["female"] * (synthetic().height - 4)))
    path = tmp_path / "responses.csv"
    data.write_csv(path)
    capsys.readouterr()
    assert main(["validate", str(path), "--instrument", str(study / "form.xlsx"), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_rows"] == data.height
    choice = [p for p in out["problems"] if p["rule"] == "choice" and p["column"] == "sex"]
    assert {"row": 3, "column": "sex", "rule": "choice", "value": "other"}.items() <= choice[0].items()
    assert {p["rule"] for p in out["problems"]} <= {
        "type",
        "choice",
        "constraint",
        "relevance",
        "required",
        "unknown_column",
        "missing_column",
    }
    assert any(p["rule"] == "unknown_column" and p["column"] == "interviewer" for p in out["problems"])
    assert any(p["rule"] == "missing_column" for p in out["problems"])


def test_quality_finds_the_copies(study, capsys, tmp_path):
    path = tmp_path / "responses.csv"
    synthetic().write_csv(path)
    capsys.readouterr()
    assert (
        main(
            ["quality", str(path), "--instrument", str(study / "form.xlsx"), "--threshold", "0.99", "--format", "json"]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    pairs = {(d["row"], d["match_row"]) for d in out["near_duplicates"]}
    assert {(4, 5), (4, 6), (5, 6)} <= pairs
    assert out["interviewer"] == "interviewer"


def test_bad_forms_and_data(study, capsys, tmp_path):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    assert main(["validate", str(tmp_path / "x.csv"), "--instrument", str(broken)]) == 2
    assert "broken.xlsx" in capsys.readouterr().err
    rejected = tmp_path / "rejected.csv"
    rejected.write_text("survey,,,\n,type,name,label\n,integer,age,Age\n,integer,1age,Age again\n")
    assert main(["codebook", str(rejected)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rejected.csv" in err
    other = tmp_path / "other.csv"
    pl.DataFrame({"x": [1, 2], "y": [3, 4]}).write_csv(other)
    assert main(["validate", str(other), "--instrument", str(study / "form.xlsx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
