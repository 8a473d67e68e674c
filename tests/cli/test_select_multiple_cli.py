"""A select_multiple question exported as KoboToolbox and ODK do (the space-separated text plus one 0/1
column per option, "q/option"): `estimate --prop q` gives one share per option, equal to the weighted
mean of its 0/1 column, never the combinations of options. On SYNTHETIC data, and on the REACH MSNA 2024
export of the shared corpus when it is there."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from quietpoll.cli import main

REACH = Path(__file__).parents[3] / "shared" / "corpus" / "exports" / "reach-msna-2024" / "dummy_raw_data.xlsx"


def _shares(path: Path, var: str, capsys) -> dict[str, float]:
    capsys.readouterr()
    assert main(["estimate", str(path), "--weights", "weight", "--prop", var, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["estimates"]
    assert {r["variable"] for r in rows} == {var}
    return {r["level"]: r["estimate"] for r in rows}


def _weighted_means(frame: pl.DataFrame, var: str) -> dict[str, float]:
    out = {}
    for c in (c for c in frame.columns if c.startswith(var + "/")):
        ok = frame[c].is_not_null() & frame["weight"].is_not_null()
        w = frame["weight"].filter(ok).to_numpy().astype(float)
        out[c.split("/", 1)[1]] = float(np.sum(w * frame[c].filter(ok).to_numpy()) / w.sum())
    return out


def test_one_share_per_option(tmp_path, capsys):
    rng = np.random.default_rng(11)  # SYNTHETIC
    n = 120
    a, b, c = (rng.random(n) < p for p in (0.5, 0.2, 0.7))
    text = [" ".join(o for o, on in zip("abc", row) if on) for row in zip(a, b, c)]
    frame = pl.DataFrame(
        {
            "q": text,
            "q/a": a.astype(int),
            "q/b": b.astype(int),
            "q/c": c.astype(int),
            "weight": rng.uniform(0.5, 2.0, n),
        }
    )
    frame.write_csv(tmp_path / "d.csv")
    got = _shares(tmp_path / "d.csv", "q", capsys)
    want = _weighted_means(frame, "q")
    assert set(got) == {"a", "b", "c"} and all(abs(got[k] - want[k]) < 1e-12 for k in want)


@pytest.mark.skipif(not REACH.exists(), reason="../shared/corpus not present (REACH MSNA 2024 export)")
def test_reach_msna_select_multiple(capsys):
    frame = pl.read_excel(REACH, sheet_name="main")
    got = _shares(REACH, "aap_priority_challenge", capsys)
    want = _weighted_means(frame, "aap_priority_challenge")
    assert len(got) == len(want) >= 5 and all(abs(got[k] - want[k]) < 1e-9 for k in want)


def test_option_columns_that_are_not_0_1_are_refused(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("q,q/a,weight\na,2,1\nb,0,1\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["estimate", str(tmp_path / "d.csv"), "--weights", "weight", "--prop", "q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--prop q: its option columns (q/a, ...) are not all 0/1" in err
