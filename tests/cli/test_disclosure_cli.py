"""`quietpoll disclosure`: JSON keys k_anonymity and records_below_k; bad input exits 2 (synthetic data)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from quietpoll.cli import main


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(2)  # SYNTHETIC respondents
    n = 300
    path = tmp_path / "d.csv"
    pl.DataFrame(
        {
            "sex": rng.choice(["male", "female"], n),
            "province": rng.choice(["a", "b", "c", "d"], n),
            "age_band": rng.choice(["20-29", "30-39", "40-49", "50+"], n),
            "watched": rng.choice(["yes", "no"], n),
            "w": rng.uniform(5, 50, n),
        }
    ).write_csv(path)
    return str(path)


def test_disclosure_json(data, capsys):
    assert (
        main(
            [
                "disclosure",
                data,
                "--qi",
                "sex,province,age_band",
                "--sensitive",
                "watched",
                "--k",
                "5",
                "--weights",
                "w",
                "--format",
                "json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    frame = pl.read_csv(data)
    sizes = frame.group_by(["sex", "province", "age_band"]).len()["len"]
    assert out["k_anonymity"] == sizes.min()
    assert out["records_below_k"] == int(sizes.filter(sizes < 5).sum())
    assert "watched" in out["l_diversity"]


def test_qi_proposed_from_the_form(data, capsys, tmp_path):
    assert main(["init", str(tmp_path / "s")]) == 0
    capsys.readouterr()
    assert main(["disclosure", data, "--instrument", str(tmp_path / "s" / "form.xlsx"), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["qi"]) == {"sex", "province", "age_band"}


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--qi", "nope"], "nope"),
        (["--qi", "sex", "--k", "1"], "k"),
        (["--qi", "sex,watched", "--sensitive", "watched"], "watched"),
        ([], "--qi"),
    ],
)
def test_bad_input(data, capsys, args, needle):
    assert main(["disclosure", data, *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err
