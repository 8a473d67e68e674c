"""The study's release log: entries, differencing warnings for files and tables. SYNTHETIC data."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from quietpoll.disclosure import log
from quietpoll.errors import DisclosureError


def published(n: int, seed: int = 0) -> tuple[pl.Series, pl.DataFrame]:
    rng = np.random.default_rng(seed)  # SYNTHETIC
    ids = pl.Series([f"uuid:{i}" for i in range(n)])
    frame = pl.DataFrame(
        {
            "sex": rng.choice(["m", "f"], n).tolist(),
            "age": rng.choice(["20-39", "40-59", "60+"], n).tolist(),
            "age5": rng.choice(["20-24", "25-29"], n).tolist(),
        }
    )
    return ids, frame


def record(study, ids, frame, qi, k=5, name="a.csv"):
    return log.record_release(
        study, file=name, sha256="0" * 64, fingerprints=ids, published=frame, qi=qi, k=k, final_k=k, recodes=[]
    )


def test_entries_written_and_read(tmp_path):
    ids, frame = published(50)
    assert log.load_log(tmp_path) == []
    e1 = record(tmp_path, ids, frame, ["sex", "age"])
    e2 = record(tmp_path, ids, frame, ["sex"], name="b.parquet")
    entries = log.load_log(tmp_path)
    assert [e["id"] for e in entries] == [1, 2] and entries == [e1, e2]
    assert entries[0]["rows"] == 50 and entries[0]["qi"] == ["sex", "age"] and entries[1]["file"] == "b.parquet"
    assert (tmp_path / "releases" / entries[0]["records"]).exists()
    data = json.loads(log.log_path(tmp_path).read_text())
    assert len(data["releases"]) == 2


def test_same_release_again_gives_no_warning(tmp_path):
    ids, frame = published(60)
    record(tmp_path, ids, frame, ["sex", "age"])
    assert log.check_release(tmp_path, ids, frame, ["sex", "age"], 5) == []


@pytest.mark.parametrize("drop,warns", [(1, True), (4, True), (5, False), (0, False)])
def test_record_sets_differing_by_fewer_than_k(tmp_path, drop, warns):
    ids, frame = published(60)
    record(tmp_path, ids, frame, ["sex", "age"])
    w = log.check_release(tmp_path, ids.head(60 - drop), frame.head(60 - drop), ["sex", "age"], 5)
    assert any("removes" in x for x in w) == warns
    w_add = log.check_release(
        tmp_path,
        pl.concat([ids, pl.Series([f"new{i}" for i in range(drop)])]),
        pl.concat([frame, frame.head(drop)]),
        ["sex", "age"],
        5,
    )
    assert any("adds" in x for x in w_add) == warns


def test_different_coarsening_of_the_same_records_warns(tmp_path):
    ids, frame = published(40)
    # first published with 20-year age bands, now with 5-year bands: together they split the classes
    record(tmp_path, ids, frame, ["sex", "age"])
    w = log.check_release(tmp_path, ids, frame, ["sex", "age5"], 5)
    # independent count: classes over (sex, age, age5) smaller than 5
    sizes = frame.group_by(["sex", "age", "age5"]).len()
    below = int(sizes.filter(pl.col("len") < 5).get_column("len").sum())
    assert below > 0
    assert any(f"{below} record(s) published in both" in x for x in w)


def test_fingerprint_mismatch_is_reported(tmp_path):
    ids, frame = published(20)
    record(tmp_path, ids, frame, ["sex"])
    w = log.check_release(tmp_path, ids, frame, ["sex"], 5, fingerprint_kind="row-hash")
    assert any("cannot be matched" in x for x in w)


def test_tables_differencing(tmp_path):
    t1 = pl.DataFrame({"province": ["a", "b", "c"], "n": [20, 31, None]})
    assert log.log_table(tmp_path, "watched_by_province", t1, ["province"], "n", 10) == []
    t2 = pl.DataFrame({"province": ["a", "b", "c"], "n": [22, 31, 15]})  # a grew by 2: 2 respondents singled out
    w = log.log_table(tmp_path, "watched_by_province", t2, ["province"], "n", 10)
    assert len(w) == 1 and "1 cell(s)" in w[0]
    t3 = pl.DataFrame({"province": ["a", "b", "c"], "n": [40, 50, 25]})
    assert log.log_table(tmp_path, "watched_by_province", t3, ["province"], "n", 10) == []
    assert [e["kind"] for e in log.load_log(tmp_path)] == ["table"] * 3
    with pytest.raises(DisclosureError, match="'m'"):
        log.log_table(tmp_path, "x", t1, ["province"], "m", 10)
    with pytest.raises(DisclosureError, match="threshold"):
        log.log_table(tmp_path, "x", t1, ["province"], "n", 1)


def test_bad_log_and_missing_study(tmp_path):
    (tmp_path / "releases").mkdir()
    log.log_path(tmp_path).write_text("[1, 2]")
    with pytest.raises(DisclosureError, match="not a quietpoll release log"):
        log.load_log(tmp_path)
    with pytest.raises(DisclosureError, match="does not exist"):
        log.load_log(tmp_path / "nope")
