"""`quietpoll crosstab`: Rao-Scott test as R's svychisq, and one-line errors."""

import json
from pathlib import Path

import pytest

from quietpoll.cli import main

CLUS1 = str(Path(__file__).resolve().parents[1] / "reference" / "data" / "apiclus1.csv")


def test_crosstab_json_matches_r(capsys):
    code = main(
        ["crosstab", CLUS1, "sch.wide", "stype", "--ids", "dnum", "--weights", "pw", "--fpc", "fpc", "--format", "json"]
    )
    out = capsys.readouterr().out
    assert code == 0
    test = json.loads(out)["test"]
    # R: svychisq(~sch.wide+stype, svydesign(id=~dnum, weights=~pw, fpc=~fpc, data=apiclus1))
    assert test["value"] == pytest.approx(5.1934, abs=1e-4)
    assert test["ndf"] == pytest.approx(1.4946, abs=1e-4) and test["ddf"] == pytest.approx(20.9250, abs=1e-4)
    assert test["p_value"] == pytest.approx(0.02175, abs=1e-5)


def test_crosstab_table_and_errors(capsys):
    assert main(["crosstab", CLUS1, "sch.wide", "stype", "--ids", "dnum", "--weights", "pw", "--format", "table"]) == 0
    assert "Rao-Scott F" in capsys.readouterr().out
    assert main(["crosstab", CLUS1, "sch.wide", "nope", "--ids", "dnum"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'nope'" in err
