"""The repeat tables of an export are read when first used (a command that never looks at them, such as
`report`, does not pay for them), and read the same as before: every table that can be read, an empty
sheet left out (SYNTHETIC Kobo XLSX export)."""

from __future__ import annotations

import polars as pl

from quietpoll.instrument import exports
from quietpoll.instrument.form import load_instrument


def _export(folder):
    import xlsxwriter

    with xlsxwriter.Workbook(folder / "form.xlsx") as wb:
        ws = wb.add_worksheet("survey")
        rows = [
            ("integer", "hh_size", "Household size"),
            ("begin_repeat", "member", "Members"),
            ("integer", "age", "Age"),
            ("end_repeat", "", ""),
        ]
        ws.write_row(0, 0, ["type", "name", "label"])
        for k, r in enumerate(rows, 1):
            ws.write_row(k, 0, list(r))
    with xlsxwriter.Workbook(folder / "data.xlsx") as wb:
        pl.DataFrame({"hh_size": [2, 1], "_index": [1, 2], "_uuid": ["a", "b"]}).write_excel(
            workbook=wb, worksheet="main"
        )
        pl.DataFrame({"age": [30, 4, 50], "_index": [1, 2, 3], "_parent_index": [1, 1, 2]}).write_excel(
            workbook=wb, worksheet="member"
        )
        wb.add_worksheet("notes")  # empty: not a repeat table
    return load_instrument(folder / "form.xlsx")


def test_repeats_read_on_first_use(tmp_path, monkeypatch):
    instrument = _export(tmp_path)
    calls: list = []
    real = exports.read_data

    def counting(path, **kw):
        calls.append(kw.get("sheet"))
        return real(path, **kw)

    monkeypatch.setattr(exports, "read_data", counting)
    res = exports.read_responses(tmp_path / "data.xlsx", instrument)
    assert calls == [None]  # the main sheet only
    assert res.repeats["member"]["age"].to_list() == [30, 4, 50]
    assert res.repeat_columns["member"] == {"age": "age"}
    assert calls == [None, "member"]  # read once, when asked
    assert "notes" not in res.repeats and set(res.repeats) == {"member"} and len(res.repeats) == 1
    res.repeats["member"]
    assert calls.count("member") == 1
