"""A planted-problem test: a SYNTHETIC data set for a small form, with known violations of every
validation rule and known copied interviews. Every planted problem must be found, with few false alarms."""

from __future__ import annotations

import numpy as np
import polars as pl

from quietpoll.instrument.form import load_instrument
from quietpoll.quality import quality_report, validate

N_GRID = 12  # twelve 1-5 items: enough questions for percent match to mean something

FORM = [
    "survey,,,,,,",
    ",type,name,label,relevant,constraint,required",
    ",select_one yn,watched,Ever watched foreign video?,,,yes",
    ",integer,times,How many times last month?,${watched} = 'yes',. >= 0 and . <= 100,yes",
    ",integer,age,Age,,. >= 16 and . <= 99,yes",
    ",select_one region,region,Region,,,yes",
    ",text,comment,Comment,,,",
]
FORM += [f",select_one scale,g{i},Item {i},,,yes" for i in range(N_GRID)]
FORM += [",,,,,,", "choices,,,,,,", ",list_name,name,label,,,", ",yn,yes,Yes,,,", ",yn,no,No,,,"]
FORM += [f",region,r{i},Region {i},,," for i in range(6)]
FORM += [f",scale,{i},{i},,," for i in range(1, 6)]


def synthetic(n=400, seed=11):
    rng = np.random.default_rng(seed)
    watched = rng.choice(["yes", "no"], n)
    times = np.where(watched == "yes", rng.integers(0, 30, n), -1)
    cols = {
        "watched": watched,
        "times": pl.Series(times).replace(-1, None),
        "age": rng.integers(16, 80, n),
        "region": rng.choice([f"r{i}" for i in range(6)], n),
        "comment": pl.Series([None] * n, dtype=pl.String),
        "interviewer": rng.choice([f"I{i}" for i in range(8)], n),
    }
    for i in range(N_GRID):
        cols[f"g{i}"] = rng.integers(1, 6, n).astype(str)
    return pl.DataFrame(cols)


def test_every_planted_problem_is_found(tmp_path):
    form = tmp_path / "form.csv"
    form.write_text("\n".join(FORM) + "\n")
    instrument = load_instrument(form)
    data = synthetic()
    # planted violations: (row, column, rule)
    yes_rows = np.flatnonzero(data["watched"].to_numpy() == "yes")
    no_rows = np.flatnonzero(data["watched"].to_numpy() == "no")
    planted = {
        (int(yes_rows[0]), "times", "constraint"),
        (int(yes_rows[1]), "times", "required"),
        (int(no_rows[0]), "times", "relevance"),
        (3, "age", "constraint"),
        (4, "age", "type"),
        (5, "region", "choice"),
        (6, "g0", "choice"),
        (7, "watched", "required"),
    }
    data = data.with_columns(
        pl.when(pl.int_range(pl.len()) == int(yes_rows[0]))
        .then(500)
        .when(pl.int_range(pl.len()) == int(yes_rows[1]))
        .then(None)
        .when(pl.int_range(pl.len()) == int(no_rows[0]))
        .then(3)
        .otherwise(pl.col("times"))
        .alias("times"),
        pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit("12"))
        .when(pl.int_range(pl.len()) == 4)
        .then(pl.lit("forty"))
        .otherwise(pl.col("age").cast(pl.String))
        .alias("age"),
        pl.when(pl.int_range(pl.len()) == 5).then(pl.lit("r9")).otherwise(pl.col("region")).alias("region"),
        pl.when(pl.int_range(pl.len()) == 6).then(pl.lit("7")).otherwise(pl.col("g0")).alias("g0"),
        pl.when(pl.int_range(pl.len()) == 7).then(None).otherwise(pl.col("watched")).alias("watched"),
    )
    # planted copies: rows 300..309 copy rows 200..209 by interviewer I7 (one answer changed in each)
    src = data[200:210]
    copies = src.with_columns(
        pl.lit("I7").alias("interviewer"),
        pl.when(pl.int_range(pl.len()) % 2 == 0).then(pl.lit("3")).otherwise(pl.col("g5")).alias("g5"),
    )
    data = pl.concat([data[:300], copies, data[310:]])

    result = validate(data.drop("interviewer"), instrument)
    found = {(p["row"], p["column"], p["rule"]) for p in result.to_dict()["problems"] if p["row"] is not None}
    missed = planted - found
    assert not missed, f"missed {missed}"
    false_alarms = found - planted
    assert len(false_alarms) <= 2, false_alarms

    report = quality_report(data, instrument, interviewer="interviewer", seed=1)
    pairs = {(d.row, d.match_row) for d in report.near_duplicates}
    wanted = {(200 + i, 300 + i) for i in range(10)}
    assert wanted <= pairs, wanted - pairs
    assert len(pairs - wanted) <= 2  # few false alarms
