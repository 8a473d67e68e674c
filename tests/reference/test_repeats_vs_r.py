"""Estimates on a repeat table (persons of a household roster) with the parent's design against R's survey
package: golden/repeats.json (make_golden_repeats.R, survey 4.1.1) is svymean on the persons joined to
their households, svydesign(ids = ~household or ~cluster, strata, weights = ~household weight). The CLI's
`estimate DATA --repeat person` must agree to rtol 1e-9 (SYNTHETIC data drawn by the R script, in ODK's
layout: repeat_hh.csv and repeat_hh-person.csv linked by KEY / PARENT_KEY)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quietpoll.cli import main

HERE = Path(__file__).parent
GOLDEN = json.loads((HERE / "golden" / "repeats.json").read_text())
RTOL = 1e-9


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=[c["name"] for c in GOLDEN["cases"]])
def test_repeat_estimates_match_r(case, capsys):
    d = case["design"]
    args = ["estimate", str(HERE / "data" / "repeat_hh.csv"), "--repeat", "person"]
    args += ["--weights", d["weights"], "--strata", d["strata"]]
    args += [f"--ids={','.join(d['ids'])}"] if d["ids"] else []
    args += ["--nest"] if d["nest"] else []
    capsys.readouterr()
    assert main([*args, "--mean", "age,employed", "--prop", "sex", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    got = {(r["statistic"], r["variable"], r["level"]): r for r in out["estimates"]}
    assert len(got) == len(case["estimates"])
    for want in case["estimates"]:
        row = got[(want["statistic"], want["variable"], want["level"])]
        assert row["estimate"] == pytest.approx(want["estimate"], rel=RTOL)
        assert row["se"] == pytest.approx(want["se"], rel=RTOL)
    # the sampling unit is the household (or its cluster), never the person
    assert out["design"]["n"] == 717
    assert out["design"]["n_psu"] == (180 if not d["ids"] else len({c for c in _clusters()}))


def _clusters() -> set[str]:
    import polars as pl

    return set(pl.read_csv(HERE / "data" / "repeat_hh.csv")["cluster"].to_list())
