"""`release` on SYNTHETIC foreign-media data sets with list-experiment ceiling and floor rows and
randomized-response rows whose draws reached the file (an older client, another tool), checked by an
independent decoder that tries every way to read a list or randomized-response answer out of the
released file: a treated row at 0 or J + 1 in any count-like column, any draw-like column, any column
that is a function (a step function) of the draw, any column whose presence follows the draw.
All data SYNTHETIC."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from quietpoll.cli import main
from quietpoll.disclosure.release import release
from quietpoll.disclosure.sensitive import assess, designs_from
from quietpoll.errors import DisclosureError
from quietpoll.instrument.form import load_instrument

J = 4
# A form whose author sealed a calculation of the draw (rr_forced) and a follow-up asked only when the
# draw says "truthfully" (rr_why): both give the draw away, like the draw itself.
FORM_MD = """| survey |
|  | type | name | label | calculation | relevant | constraint | bind::quietpoll:device-only |
|  | select_one sex | sex | Sex | | | | |
|  | select_one prov | province | Province | | | | |
|  | calculate | le_draw | | once(random()) | | | yes |
|  | calculate | le_treat | | if(${le_draw} < 0.5, 1, 0) | | | |
|  | integer | le_count_control | How many of 4? | | ${le_treat} = 0 | . <= 4 | |
|  | integer | le_count_treat | How many of 5? | | ${le_treat} = 1 | . <= 5 | |
|  | calculate | le_count | | coalesce(${le_count_control}, ${le_count_treat}) | | | |
|  | calculate | le_all | | if(${le_count} > 4, 1, 0) | | | |
|  | calculate | rr_spin | | once(random()) | | | yes |
|  | calculate | rr_forced | | if(${rr_spin} < 1 div 6, 'yes', if(${rr_spin} < 2 div 6, 'no', 'truth')) | | | |
|  | note | rr_say | Private instruction | | ${rr_spin} < 2 div 6 | | yes |
|  | select_one yn | rr_answer | Do you know someone punished? | | | | |
|  | select_one yn | rr_why | Was it recent? | | ${rr_forced} = 'truth' | | |
| choices |
|  | list_name | name | label |
|  | yn | yes | Yes |
|  | yn | no | No |
|  | sex | male | Male |
|  | sex | female | Female |
|  | prov | p1 | P1 |
|  | prov | p2 | P2 |
| settings |
|  | form_id | namespaces |
|  | sens | quietpoll="urn:quietpoll:xforms" |
"""


def synthetic(n: int = 400, seed: int = 3) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """SYNTHETIC respondents as the form above collects them, draws included; and the truth."""
    rng = np.random.default_rng(seed)
    le_draw = rng.random(n)
    treat = (le_draw < 0.5).astype(int)
    sensitive = rng.random(n) < 0.5
    # control items with spread-out probabilities, so both ceilings (J + 1) and floors (0) occur
    control = (rng.random((n, J)) < np.array([0.9, 0.8, 0.2, 0.1])).sum(axis=1)
    control = np.where(rng.random(n) < 0.15, np.where(rng.random(n) < 0.5, 0, J), control)
    count = control + treat * sensitive
    spin = rng.random(n)
    knows = rng.random(n) < 0.3
    answer = np.where(spin < 1 / 6, "yes", np.where(spin < 2 / 6, "no", np.where(knows, "yes", "no")))
    forced = np.where(spin < 1 / 6, "yes", np.where(spin < 2 / 6, "no", "truth"))
    frame = pl.DataFrame(
        {
            "instance_id": [f"uuid:{i:05d}" for i in range(n)],
            "sex": rng.choice(["male", "female"], n).tolist(),
            "province": rng.choice(["p1", "p2"], n).tolist(),
            "le_draw": le_draw,
            "le_treat": treat,
            "le_count_control": pl.Series(np.where(treat == 0, count, -1)).replace(-1, None),
            "le_count_treat": pl.Series(np.where(treat == 1, count, -1)).replace(-1, None),
            "le_count": count,
            "le_all": (count > J).astype(int),  # a careless calculation of the count: 1 only at the ceiling
            "rr_spin": spin.round(6),
            "rr_forced": forced.tolist(),
            "rr_answer": answer.tolist(),
            "rr_why": pl.Series(
                np.where(forced == "truth", rng.choice(["yes", "no"], n), None).tolist(), dtype=pl.String
            ),
            "coin_toss": rng.random(n),  # not in the form: a draw-like column by its name and values
        }
    )
    return frame, {"treat": treat, "count": count, "spin": spin, "sensitive": sensitive}


# ---- the independent decoder -------------------------------------------------------------------
def decodes(released: pl.DataFrame, truth: dict[str, np.ndarray], treatment: str = "le_treat") -> list[str]:
    """Every way found to read a list-experiment or randomized-response answer from ``released``."""
    found = []
    n = released.height
    treated = (
        released.get_column(treatment).cast(pl.Int64).to_numpy() == 1
        if treatment in released.columns
        else truth["treat"] == 1
    )
    spin = truth["spin"]
    order = np.argsort(spin)
    ceiling = treated & (truth["count"] == J + 1)
    floor = treated & (truth["count"] == 0)
    for c in released.columns:
        s = released.get_column(c)
        num = s.cast(pl.Float64, strict=False) if s.dtype != pl.String else s.cast(pl.Float64, strict=False)
        v = num.to_numpy()
        finite = np.isfinite(v)
        # a column holding the item count (it equals the true count in most treated rows where given):
        # a treated row at 0 or J+1 there decodes the sensitive item
        given = treated & finite
        if given.sum() > 10 and c != treatment and np.mean(v[given] == truth["count"][given]) >= 0.8:
            hit = given & ((v == 0) | (v == J + 1))
            if hit.any():
                found.append(f"{c}: {int(hit.sum())} treated row(s) at 0 or {J + 1}")
        # a column whose values at the ceiling (or floor) rows are never taken by the other treated rows
        text = s.cast(pl.String).fill_null("<missing>").to_numpy()
        if c != treatment and 2 <= len(set(text.tolist())) <= n // 4:
            for name, rows in (("ceiling", ceiling), ("floor", floor)):
                others = set(text[treated & ~rows].tolist())
                if rows.any() and not set(text[rows].tolist()) & others:
                    found.append(f"{c}: separates the {name} rows")
        # a draw-like column: fractions in [0, 1]
        if (
            finite.sum() > 10
            and v[finite].min() >= 0
            and v[finite].max() <= 1
            and np.any(v[finite] != np.round(v[finite]))
        ):
            found.append(f"{c}: looks like a draw")
        # a function of the draw: as a step function of the spin (few runs once sorted by it), value or presence
        for label, values in (
            (c, s.cast(pl.String).fill_null("<missing>").to_numpy()),
            (f"{c} (presence)", s.is_null().to_numpy()),
        ):
            distinct = len(set(values.tolist()))
            if 2 <= distinct <= n // 4:
                runs = 1 + int(np.sum(values[order][1:] != values[order][:-1]))
                if runs <= 2 * distinct:
                    found.append(f"{label}: a step function of the draw ({distinct} values, {runs} runs)")
    return found


@pytest.fixture
def form(tmp_path):
    path = tmp_path / "sens.md"
    path.write_text(FORM_MD, encoding="utf-8")
    return load_instrument(path)


def test_the_decoder_finds_every_leak_in_the_raw_file(form):
    frame, truth = synthetic()
    found = " | ".join(decodes(frame, truth))
    for leak in (
        "le_count:",
        "le_count_treat:",
        "rr_spin: looks like a draw",
        "coin_toss: looks like a draw",
        "le_draw: looks like a draw",
        "rr_forced: a step function",
        "rr_why (presence): a step function",
        "le_all: separates the ceiling rows",
    ):
        assert leak in found, leak


def test_release_publishes_nothing_that_decodes(form, tmp_path):
    frame, truth = synthetic()
    designs = designs_from(
        instrument=form, list_experiment=["le_count"], treatment="le_treat", randomized_response=["rr_answer"]
    )
    before = assess(frame, designs)
    le = before.to_dict()["list_experiments"][0]
    assert le["ceiling_rows"] > 0 and le["floor_rows"] > 0 and le["control_items"] == J
    rel = release(frame, qi=["sex", "province"], k=2, instrument=form, sensitive=designs)
    assert decodes(rel.frame, truth) == []
    dropped = {d["column"] for d in rel.report["dropped"]}
    assert {"le_draw", "rr_spin", "rr_forced", "rr_why", "coin_toss", "le_all"} <= dropped
    for kept in ("le_treat", "le_count", "le_count_treat", "rr_answer"):
        assert kept in rel.frame.columns
    sens = rel.report["sensitive"]
    entry = sens["list_experiments"][0]
    assert entry["ceiling_rows"] == le["ceiling_rows"] and entry["floor_rows"] == le["floor_rows"]
    assert set(entry["columns_coded"]) >= {"le_count", "le_count_treat"}
    # what it costs: both estimates reported, and they differ by the coding (ceilings down, floors up)
    full, out = entry["estimate_full"], entry["estimate_released"]
    shift = (le["floor_rows"] - le["ceiling_rows"]) / le["treated_rows"]
    assert out["estimate"] == pytest.approx(full["estimate"] + shift, abs=1e-9)
    assert full["se"] > 0 and out["se"] > 0
    # the control rows are untouched, and the released file is what the report says
    control = frame.filter(pl.col("le_treat") == 0)
    assert rel.frame.filter(pl.col("le_treat") == 0)["le_count"].to_list() == control["le_count"].to_list()
    assert json.dumps(rel.report, allow_nan=False)


def test_release_without_naming_the_designs_still_drops_every_draw(form):
    frame, truth = synthetic()
    rel = release(frame, qi=["sex", "province"], k=2, instrument=form)
    leaks = decodes(rel.frame, truth)
    assert not any("draw" in leak for leak in leaks), leaks
    assert "rr_forced" not in rel.frame.columns and "rr_why" not in rel.frame.columns


def test_coding_none_is_explicit_and_reported(form):
    frame, truth = synthetic()
    designs = designs_from(instrument=form, list_experiment=["le_count"], treatment="le_treat")
    rel = release(frame, qi=["sex", "province"], k=2, instrument=form, sensitive=designs, sensitive_coding="none")
    assert any(leak.startswith("le_count:") for leak in decodes(rel.frame, truth))
    assert rel.report["sensitive"]["coding"] == "none"
    assert "switched off" in rel.report["sensitive"]["list_experiments"][0]["coding"]
    with pytest.raises(DisclosureError, match="sensitive coding"):
        release(frame, qi=["sex", "province"], k=2, sensitive=designs, sensitive_coding="drop")


def test_a_draw_as_quasi_identifier_or_recode_is_refused(form):
    frame, _ = synthetic()
    with pytest.raises(DisclosureError, match="quasi-identifier 'rr_spin'"):
        release(frame, qi=["sex", "rr_spin"], k=2, instrument=form)
    with pytest.raises(DisclosureError, match="'rr_answer'.*draw"):
        release(frame, qi=["sex"], k=2, sensitive=designs_from(randomized_response=["rr_answer"], draws=["rr_answer"]))


def test_release_cli_on_a_template_study_with_draws(tmp_path, capsys):
    """The template's own study (indicators name the list experiment and the randomized-response item):
    the released file decodes nothing, and the JSON report carries the sensitive section."""
    from quietpoll.demo_study import make_study

    study = make_study(tmp_path / "study", seed=11)
    frame = pl.read_csv(study / "responses.csv", infer_schema_length=10000)
    rng = np.random.default_rng(2)
    spin = rng.random(frame.height)
    frame = frame.with_columns(pl.Series("rr_spin", spin), pl.Series("le_draw", rng.random(frame.height)))
    # floors: a few treated respondents report none of the 5 items (SYNTHETIC)
    floor = (pl.col("le_treat") == 1) & (pl.int_range(pl.len()) < 40)
    frame = frame.with_columns(
        pl.when(floor).then(0).otherwise(pl.col(c)).alias(c) for c in ("le_count", "le_count_treat")
    )
    data = tmp_path / "pulled.csv"
    frame.write_csv(data)
    out = tmp_path / "public.csv"
    assert (
        main(
            [
                "release",
                str(data),
                "--study",
                str(study),
                "--qi",
                "sex",
                "--k",
                "2",
                "--out",
                str(out),
                "--max-suppressed",
                "0.5",
                "--format",
                "json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    released = pl.read_csv(out, infer_schema_length=10000)
    truth = {"treat": frame["le_treat"].to_numpy(), "spin": spin, "count": frame["le_count"].to_numpy()}
    assert decodes(released, truth) == []
    assert {"rr_spin", "le_draw"} <= {d["column"] for d in report["sensitive"]["dropped"]}
    le = report["sensitive"]["list_experiments"][0]
    assert le["count"] == "le_count" and le["control_items"] == 4
    assert le["ceiling_rows"] > 0 and le["floor_rows"] > 0
    assert set(le["columns_coded"]) >= {"le_count", "le_count_treat"}
    assert report["sensitive"]["randomized_response"][0]["answer"] == "rr_answer"


def test_a_study_design_absent_from_the_file_is_skipped_a_flagged_one_is_an_error():
    frame, _ = synthetic()
    sections = {
        "report": {
            "indicators": [
                {"id": "x", "list_experiment": {"count": "gone", "treatment": "arm"}},
                {"id": "y", "randomized_response": {"answer": "gone_too"}},
            ]
        }
    }
    rel = release(frame.drop("coin_toss"), qi=["sex"], k=2, sensitive=designs_from(sections=sections))
    assert rel.report["sensitive"]["list_experiments"] == [] and rel.report["sensitive"]["randomized_response"] == []
    with pytest.raises(DisclosureError, match="'gone' is not in the data"):
        release(frame, qi=["sex"], k=2, sensitive=designs_from(list_experiment=["gone"], treatment="arm"))
