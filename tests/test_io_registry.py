"""The file-format registry of quietpoll.io: one registration makes a format readable and writable
everywhere (read_data, write_data, their messages, the CLI's --out check). Synthetic data only."""

from __future__ import annotations

import polars as pl
import pytest

import quietpoll.io as io
from quietpoll.cli import main
from quietpoll.errors import InputError


@pytest.fixture
def registry(monkeypatch):
    """The registry's tables copied, so that a format registered by a test is gone after it."""
    for name in ("READ_FORMATS", "WRITE_FORMATS", "FILE_FORMATS", "_DESCRIPTION"):
        monkeypatch.setattr(io, name, dict(getattr(io, name)))
    return io


def _jsonl_reader(p, source, fmt, *, sheet, na_values, columns):
    return io.Dataset(frame=pl.read_ndjson(p), source=source, format=fmt)


def _jsonl_writer(frame, p, fmt, *, value_labels, variable_labels, shown):
    frame.write_ndjson(p)


def test_every_format_is_registered_once_with_its_extensions():
    assert set(io.READ_FORMATS) == {"csv", "tsv", "parquet", "xlsx", "xls", "sav", "zsav", "dta"}
    assert set(io.WRITE_FORMATS) == set(io.READ_FORMATS) - {"xls"}
    assert all(io.FILE_FORMATS[name].read is not None for name in io.READ_FORMATS.values())
    with pytest.raises(ValueError, match="twice"):
        io.register_format(io.FileFormat("csv", ("csv",), "CSV file"))


def test_one_registration_adds_a_format_everywhere(registry, tmp_path, capsys):
    registry.register_format(
        registry.FileFormat("jsonl", ("jsonl",), "JSON Lines file", read=_jsonl_reader, write=_jsonl_writer)
    )
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", None]})
    registry.write_data(frame, tmp_path / "d.jsonl")
    assert registry.read_data(tmp_path / "d.jsonl").frame.equals(frame)
    with pytest.raises(InputError, match=r"\.jsonl"):
        registry.read_data(tmp_path / "d.unknown")
    # the CLI's output check takes its extensions from the registry
    assert main(["release", str(tmp_path / "x.csv"), "--qi", "a", "--out", str(tmp_path / "o.txt")]) == 2
    assert ".jsonl" in capsys.readouterr().err


def test_read_only_format_is_refused_for_writing(tmp_path):
    with pytest.raises(InputError, match="cannot write a file with extension '.xls'"):
        io.write_data(pl.DataFrame({"a": [1]}), tmp_path / "o.xls")
    with pytest.raises(InputError, match="sheet= applies only to Excel"):
        io.write_data(pl.DataFrame({"a": [1]}), tmp_path / "o.csv")
        io.read_data(tmp_path / "o.csv", sheet=1)
