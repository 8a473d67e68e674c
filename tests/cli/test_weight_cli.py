"""`quietpoll weight` and `quietpoll estimate --study` with a [weighting] section; bad targets give one
line naming the variable and level, and exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from quietpoll.cli import main

DATA = Path(__file__).resolve().parents[1] / "reference" / "data"
CLUS1 = DATA / "apiclus1.csv"

DESIGN = """
[data]
path = "{data}"
[design]
weights = "pw"
ids = ["dnum"]
fpc = ["fpc"]
"""


def study(tmp_path, weighting: str, data=CLUS1) -> Path:
    (tmp_path / "study.toml").write_text(DESIGN.format(data=data) + weighting)
    return tmp_path


POSTSTRAT = """
[weighting]
method = "poststratify"
[weighting.targets.stype]
E = 4421
H = 755
M = 1018
"""


def test_estimate_applies_the_weighting_so_ses_reflect_it(tmp_path, capsys):
    s = study(tmp_path, POSTSTRAT)
    assert main(["estimate", "--study", str(s), "--mean", "api00", "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out)["estimates"][0]
    # R: svymean(~api00, postStratify(dclus1, ~stype, data.frame(stype=c("E","H","M"), Freq=c(4421,755,1018))))
    assert row["estimate"] == pytest.approx(642.3107882115821, rel=1e-9)
    assert row["se"] == pytest.approx(23.920486445090386, rel=1e-8)


def test_weight_writes_final_weights_and_diagnostics(tmp_path, capsys):
    s = study(tmp_path, POSTSTRAT.replace('method = "poststratify"', 'method = "rake"'))
    out = tmp_path / "weighted.parquet"
    assert main(["weight", "--study", str(s), "--out", str(out), "--format", "json"]) == 0
    diag = json.loads(capsys.readouterr().out)
    assert diag["kish_deff"] >= 1 and diag["effective_n"] <= 183
    assert {m["level"]: m["achieved"] for m in diag["margins"]} == pytest.approx({"E": 4421, "H": 755, "M": 1018})
    frame = pl.read_parquet(out)
    assert "final_weight" in frame.columns and frame.height == 183
    assert frame["final_weight"].sum() == pytest.approx(6194)


def test_weight_table_output(tmp_path, capsys):
    s = study(tmp_path, POSTSTRAT)
    assert main(["weight", "--study", str(s), "--out", str(tmp_path / "w.csv"), "--format", "table"]) == 0
    assert "Kish design effect" in capsys.readouterr().out


@pytest.mark.parametrize(
    "targets,needle",
    [
        ("E = 4421\nH = 755\nM = 1018\nX = 10", "'X'"),  # a target level absent from the data
        ("E = 4421\nH = 755", "'M'"),  # a data level absent from the targets
        ("E = 4421\nH = -755\nM = 1018", "H"),  # negative target
        ("E = 4421\nH = 0\nM = 1018", "H"),  # zero target
    ],
)
def test_bad_targets(tmp_path, capsys, targets, needle):
    s = study(tmp_path, '\n[weighting]\nmethod = "poststratify"\n[weighting.targets.stype]\n' + targets + "\n")
    code = main(["estimate", "--study", str(s), "--mean", "api00"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "stype" in err and needle in err, err


def test_margins_whose_totals_disagree(tmp_path, capsys):
    s = study(
        tmp_path,
        """
[weighting]
method = "rake"
[weighting.targets.stype]
E = 4421
H = 755
M = 1018
[weighting.targets.awards]
No = 100
Yes = 200
""",
    )
    code = main(["estimate", "--study", str(s), "--mean", "api00"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "awards" in err, err


def test_non_convergence(tmp_path, capsys):
    s = study(
        tmp_path,
        """
[weighting]
method = "logit"
bounds = [0.9, 1.1]
[weighting.targets.stype]
E = 4421
H = 755
M = 1018
""",
    )
    code = main(["estimate", "--study", str(s), "--mean", "api00"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "converge" in err, err


def test_collapse_sparse_cells_is_reported(tmp_path, capsys):
    s = study(tmp_path, POSTSTRAT.replace('method = "poststratify"', 'method = "poststratify"\nmin_cell = 30'))
    assert main(["weight", "--study", str(s), "--out", str(tmp_path / "w.parquet"), "--format", "json"]) == 0
    diag = json.loads(capsys.readouterr().out)
    assert diag["collapsed"] and diag["collapsed"][0]["variable"] == "stype"
