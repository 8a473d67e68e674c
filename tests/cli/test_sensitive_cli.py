"""`disclosure` and `release` with the sensitive-design flags (--list-experiment COUNT --treatment T
--control-items J --randomized-response COL --draw COL --sensitive-coding): ceiling and floor rows and
draws flagged and handled; bad input is one line on stderr and exit status 2. SYNTHETIC data."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from quietpoll.cli import main

J = 3


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(21)  # SYNTHETIC respondents
    n = 200
    treat = rng.integers(0, 2, n)
    count = rng.integers(0, J + 1, n) + treat * rng.integers(0, 2, n)
    count[:4] = [J + 1, 0, J + 1, 0]
    treat[:4] = 1
    spin = rng.random(n)
    path = tmp_path / "d.csv"
    pl.DataFrame(
        {
            "sex": rng.choice(["male", "female"], n).tolist(),
            "province": rng.choice(["a", "b"], n).tolist(),
            "arm": treat,
            "items": count,
            "items_text": [f"n{c}" for c in count],
            "spin": spin,
            "answer": np.where(
                spin < 1 / 6, "yes", np.where(spin < 2 / 6, "no", rng.choice(["yes", "no"], n))
            ).tolist(),
        }
    ).write_csv(path)
    return tmp_path, str(path)


def _ceilings(frame: pl.DataFrame) -> int:
    treated = frame.filter(pl.col("arm") == 1)
    return treated.filter((pl.col("items") == J + 1) | (pl.col("items") == 0)).height


def test_disclosure_flags_ceiling_floor_rows_and_draws(data, capsys):
    tmp, path = data
    assert (
        main(
            [
                "disclosure",
                path,
                "--qi",
                "sex,province",
                "--list-experiment",
                "items",
                "--treatment",
                "arm",
                "--randomized-response",
                "answer",
                "--draw",
                "spin",
                "--format",
                "json",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    sd = result["sensitive_designs"]
    le = sd["list_experiments"][0]
    frame = pl.read_csv(path)
    assert le["control_items"] == J and le["ceiling_rows"] + le["floor_rows"] == _ceilings(frame)
    assert {0, 1, 2, 3} <= set(le["rows"])
    assert sd["draw_columns"][0]["column"] == "spin" and sd["decodable"] is True
    assert (
        main(
            [
                "disclosure",
                path,
                "--qi",
                "sex,province",
                "--list-experiment",
                "items",
                "--treatment",
                "arm",
                "--format",
                "table",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "decodes answers" in text and "ceiling" in text and "spin" in text  # draw-like by name and values


def test_release_codes_ceilings_and_drops_draws(data, capsys):
    tmp, path = data
    out = tmp / "public.csv"
    assert (
        main(
            [
                "release",
                path,
                "--qi",
                "sex,province",
                "--k",
                "2",
                "--out",
                str(out),
                "--list-experiment",
                "items",
                "--treatment",
                "arm",
                "--randomized-response",
                "answer",
                "--draw",
                "spin",
                "--format",
                "json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    released = pl.read_csv(out)
    assert "spin" not in released.columns and _ceilings(released) == 0
    le = report["sensitive"]["list_experiments"][0]
    assert le["ceiling_rows"] >= 2 and le["floor_rows"] >= 2 and le["columns_coded"] == ["items"]
    assert le["estimate_full"]["estimate"] != le["estimate_released"]["estimate"]
    assert (
        main(
            [
                "release",
                path,
                "--qi",
                "sex,province",
                "--k",
                "2",
                "--out",
                str(out),
                "--list-experiment",
                "items",
                "--treatment",
                "arm",
                "--format",
                "table",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "ceiling" in text and "estimate on the full file" in text


def test_release_coding_none_only_when_asked(data, capsys):
    tmp, path = data
    out = tmp / "public.csv"
    assert (
        main(
            [
                "release",
                path,
                "--qi",
                "sex,province",
                "--k",
                "2",
                "--out",
                str(out),
                "--list-experiment",
                "items",
                "--treatment",
                "arm",
                "--sensitive-coding",
                "none",
                "--format",
                "json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert _ceilings(pl.read_csv(out)) > 0 and report["sensitive"]["coding"] == "none"


@pytest.mark.parametrize("command", ["disclosure", "release"])
@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--list-experiment", "nope", "--treatment", "arm"], "'nope' is not in the data"),
        (["--list-experiment", "items", "--treatment", "nope"], "'nope' is not in the data"),
        (["--list-experiment", "items_text", "--treatment", "arm"], "'items_text' is not numeric"),
        (["--list-experiment", "items", "--treatment", "arm", "--control-items", "2"], "above the 2 control items"),
        (["--list-experiment", "items", "--treatment", "arm", "--control-items", "0"], "at least 1"),
        (["--list-experiment", "items"], "go together"),
        (["--treatment", "arm"], "go together"),
        (["--randomized-response", "nope"], "'nope' is not in the data"),
        (["--draw", "nope"], "'nope' is not in the data"),
        (["--list-experiment", "items", "--treatment", "sex"], "treatment"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(data, capsys, command, flags, expected):
    tmp, path = data
    args = [command, path, "--qi", "sex,province", *flags]
    if command == "release":
        args += ["--out", str(tmp / "public.csv")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and "\n" not in err and "Traceback" not in err
    assert not (tmp / "public.csv").exists()


def test_inconsistent_treated_counts_are_refused(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    pl.DataFrame({"sex": ["a"] * 6, "arm": [0, 0, 1, 1, 1, 1], "items": [2, 3, 1, 6, 2, 3]}).write_csv(path)
    assert main(["disclosure", str(path), "--qi", "sex", "--list-experiment", "items", "--treatment", "arm"]) == 2
    err = capsys.readouterr().err.strip()
    assert "above J + 1 = 4" in err and "\n" not in err
