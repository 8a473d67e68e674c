"""`estimate DATA --repeat TABLE`: a repeat table (a household roster, one row per person) estimated with
its parent's design. Each person takes the household's weight and stratum, and the household stays the
sampling unit, so the mean is the ratio estimator over clustered households: checked here against the
estimator and its linearized variance written out by hand (R's svydesign on the joined table is in
tests/reference/test_repeats_vs_r.py). On SYNTHETIC data in KoboToolbox's XLSX layout (main sheet +
repeat sheet linked by _index / _parent_index), and on the REACH MSNA 2024 export of the shared corpus
when it is there. Bad input: a repeat table that does not exist, repeat rows whose parent is missing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from quietpoll.cli import main

REACH = Path(__file__).parents[3] / "shared" / "corpus" / "exports" / "reach-msna-2024" / "dummy_raw_data.xlsx"


def _ratio_mean_and_se(y, w, household, stratum) -> tuple[float, float]:
    """The weighted person mean and its Taylor SE with households as PSUs within strata (with replacement)."""
    y, w = np.asarray(y, float), np.asarray(w, float)
    mean = float(np.sum(w * y) / np.sum(w))
    z = pl.DataFrame({"h": household, "s": stratum, "z": w * (y - mean) / np.sum(w)})
    totals = z.group_by("h", "s").agg(pl.col("z").sum())
    var = 0.0
    for (_,), g in totals.group_by("s"):
        zh = g["z"].to_numpy()
        var += len(zh) / (len(zh) - 1) * float(np.sum((zh - zh.mean()) ** 2))
    return mean, float(np.sqrt(var))


def _kobo_export(path: Path, orphan: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """SYNTHETIC households and their members, as a Kobo XLSX export (sheet 'main', sheet 'members')."""
    import xlsxwriter

    rng = np.random.default_rng(5)
    n = 60
    size = rng.integers(1, 6, n)
    main_ = pl.DataFrame(
        {
            "start": ["2026-01-05T09:00:00"] * n,
            "hh_size": size,
            "stratum": np.repeat(["a", "b", "c"], n // 3),
            "weight": rng.uniform(5, 40, n).round(3),
            "_uuid": [f"u-{i:03d}" for i in range(n)],
            "_index": np.arange(1, n + 1),
        }
    )
    parent = np.repeat(np.arange(1, n + 1), size)
    members = pl.DataFrame(
        {
            "age": rng.integers(0, 90, parent.size),
            "works": (rng.random(parent.size) < 0.4).astype(int),
            "_index": np.arange(1, parent.size + 1),
            "_parent_table_name": ["main"] * parent.size,
            "_parent_index": parent + (1000 if orphan else 0) * (np.arange(parent.size) == 3),
        }
    )
    with xlsxwriter.Workbook(path) as wb:
        main_.write_excel(workbook=wb, worksheet="main")
        members.write_excel(workbook=wb, worksheet="members")
    return main_, members


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_repeat_rows_take_their_households_design(tmp_path, capsys):
    hh, members = _kobo_export(tmp_path / "export.xlsx")
    code, out, _ = _run(
        [
            "estimate",
            str(tmp_path / "export.xlsx"),
            "--repeat",
            "members",
            "--weights",
            "weight",
            "--strata",
            "stratum",
            "--mean",
            "age,works",
            "--format",
            "json",
        ],
        capsys,
    )
    assert code == 0
    got = json.loads(out)
    joined = members.join(hh.select("_index", "weight", "stratum"), left_on="_parent_index", right_on="_index")
    for row in got["estimates"]:
        mean, se = _ratio_mean_and_se(
            joined[row["variable"]], joined["weight"], joined["_parent_index"], joined["stratum"]
        )
        assert row["estimate"] == pytest.approx(mean, rel=1e-12)
        assert row["se"] == pytest.approx(se, rel=1e-9)
    assert got["design"]["n"] == members.height and got["design"]["n_psu"] == hh.height  # households are the PSUs


def test_repeat_that_does_not_exist(tmp_path, capsys):
    _kobo_export(tmp_path / "export.xlsx")
    code, _, err = _run(
        ["estimate", str(tmp_path / "export.xlsx"), "--repeat", "roster", "--weights", "weight", "--mean", "age"],
        capsys,
    )
    assert code == 2 and err.count("\n") == 1
    assert "--repeat 'roster': no such repeat sheet in export.xlsx; repeat tables: members" in err


def test_repeat_rows_without_a_parent(tmp_path, capsys):
    _, members = _kobo_export(tmp_path / "export.xlsx", orphan=True)
    orphan = members["_parent_index"][3]
    code, _, err = _run(
        ["estimate", str(tmp_path / "export.xlsx"), "--repeat", "members", "--weights", "weight", "--mean", "age"],
        capsys,
    )
    assert code == 2 and err.count("\n") == 1
    assert (
        orphan > 1000
        and f"--repeat 'members': 1 row(s) (first: data row 4, _parent_index = '{orphan}') name no " in err
    )


def test_repeat_with_a_csv_export_beside_it(tmp_path, capsys):
    """ODK's layout: DATA-TABLE.csv beside DATA.csv; a missing one is named with the file looked for."""
    (tmp_path / "hh.csv").write_text("KEY,w\nk1,2\nk2,3\n", encoding="utf-8")
    (tmp_path / "hh-person.csv").write_text("PARENT_KEY,age\nk1,10\nk1,20\nk2,40\n", encoding="utf-8")
    code, out, _ = _run(
        [
            "estimate",
            str(tmp_path / "hh.csv"),
            "--repeat",
            "person",
            "--weights",
            "w",
            "--mean",
            "age",
            "--format",
            "json",
        ],
        capsys,
    )
    assert code == 0 and json.loads(out)["estimates"][0]["estimate"] == pytest.approx((2 * 30 + 3 * 40) / 7)
    code, _, err = _run(["estimate", str(tmp_path / "hh.csv"), "--repeat", "kids", "--mean", "age"], capsys)
    assert code == 2 and "no such repeat file hh-kids.csv in hh.csv; repeat tables: person" in err


@pytest.mark.skipif(not REACH.exists(), reason="../shared/corpus not present (REACH MSNA 2024 export)")
def test_reach_msna_roster_estimated_with_household_weights(capsys):
    """A repeat table estimated with household weights: the roster's mean age, each person weighted by
    their household's weight, households the sampling units within strata."""
    code, out, _ = _run(
        [
            "estimate",
            str(REACH),
            "--repeat",
            "roster",
            "--weights",
            "weight",
            "--strata",
            "stratum",
            "--mean",
            "ind_age",
            "--format",
            "json",
        ],
        capsys,
    )
    assert code == 0
    got = json.loads(out)
    hh = pl.read_excel(REACH, sheet_name="main").select("index", "weight", "stratum")
    roster = pl.read_excel(REACH, sheet_name="roster").select("_parent_index", "ind_age")
    joined = roster.join(hh, left_on="_parent_index", right_on="index")
    assert joined.height == roster.height == got["design"]["n"]
    mean, se = _ratio_mean_and_se(joined["ind_age"], joined["weight"], joined["_parent_index"], joined["stratum"])
    row = got["estimates"][0]
    assert row["estimate"] == pytest.approx(mean, rel=1e-12) and row["se"] == pytest.approx(se, rel=1e-9)
    assert got["design"]["n_psu"] == hh.height


def test_repeat_with_the_study_design(tmp_path, capsys):
    """--study: the parents' design comes from study.toml's [design]; the same numbers as the flags."""
    _kobo_export(tmp_path / "export.xlsx")
    (tmp_path / "study.toml").write_text(
        '[study]\ntitle = "t"\n[data]\npath = "export.xlsx"\n[design]\nweights = "weight"\nstrata = "stratum"\n',
        encoding="utf-8",
    )
    ask = ["--repeat", "members", "--mean", "age", "--format", "json"]
    code, by_study, _ = _run(["estimate", "--study", str(tmp_path), *ask], capsys)
    assert code == 0
    code, by_flags, _ = _run(
        ["estimate", str(tmp_path / "export.xlsx"), "--weights", "weight", "--strata", "stratum", *ask], capsys
    )
    assert code == 0 and json.loads(by_study)["estimates"] == json.loads(by_flags)["estimates"]


def test_repeat_by_a_household_column(tmp_path, capsys):
    """--by a column of the household (not of the repeat table): each person takes it from their household;
    each domain's mean is the weighted mean of its persons."""
    hh, members = _kobo_export(tmp_path / "export.xlsx")
    code, out, _ = _run(
        [
            "estimate",
            str(tmp_path / "export.xlsx"),
            "--repeat",
            "members",
            "--weights",
            "weight",
            "--strata",
            "stratum",
            "--mean",
            "age",
            "--by",
            "hh_size",
            "--format",
            "json",
        ],
        capsys,
    )
    assert code == 0
    rows = json.loads(out)["estimates"]
    joined = members.join(hh.select("_index", "weight", "hh_size"), left_on="_parent_index", right_on="_index")
    want = joined.group_by("hh_size").agg((pl.col("age") * pl.col("weight")).sum() / pl.col("weight").sum())
    want_by = {str(k): v for k, v in want.iter_rows()}
    assert {r["domain"]["hh_size"] for r in rows} == set(want_by)
    for r in rows:
        assert r["estimate"] == pytest.approx(want_by[r["domain"]["hh_size"]], rel=1e-12)


def test_repeat_with_the_study_weighting(tmp_path, capsys):
    """With [weighting], each person takes their household's final weight (here post-stratified to the
    stratum totals: w * N_h / sum of w in h)."""
    hh, members = _kobo_export(tmp_path / "export.xlsx")
    totals = {"a": 500.0, "b": 300.0, "c": 200.0}
    (tmp_path / "study.toml").write_text(
        '[study]\ntitle = "t"\n[data]\npath = "export.xlsx"\n[design]\nweights = "weight"\nstrata = "stratum"\n'
        '[weighting]\nmethod = "poststratify"\n[weighting.targets.stratum]\n'
        + "".join(f"{k} = {v}\n" for k, v in totals.items()),
        encoding="utf-8",
    )
    code, out, _ = _run(
        ["estimate", "--study", str(tmp_path), "--repeat", "members", "--mean", "age", "--format", "json"], capsys
    )
    assert code == 0
    final = hh.with_columns(
        (pl.col("weight") * pl.col("stratum").replace_strict(totals) / pl.col("weight").sum().over("stratum")).alias(
            "final"
        )
    )
    joined = members.join(final.select("_index", "final"), left_on="_parent_index", right_on="_index")
    want = float((joined["age"] * joined["final"]).sum() / joined["final"].sum())
    assert json.loads(out)["estimates"][0]["estimate"] == pytest.approx(want, rel=1e-12)
