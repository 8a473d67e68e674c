"""The release log of a study: what was published when, and warnings when a new publication can be
differenced against an earlier one to single out respondents.

Layout (inside the study folder; as sensitive as the raw data, keep it with them and never publish it)::

    STUDY/releases/log.json            {"releases": [entry, ...]}, oldest first
    STUDY/releases/NNNN-records.parquet  per data-file release: record fingerprint + published QI values
    STUDY/releases/NNNN-table.parquet    per logged table: its key columns + published counts

A data-file entry: ``id``, ``kind="file"``, ``time`` (UTC, ISO 8601), ``file`` (name), ``sha256``,
``rows``, ``qi``, ``k``, ``final_k``, ``recodes``, ``records`` (the parquet file). A table entry:
``id``, ``kind="table"``, ``time``, ``name``, ``keys``, ``threshold``, ``cells``, ``table``.

API
---
* :func:`check_release` (``study``, ``fingerprints``, ``published``, ``qi``, ``k``) -> warnings, before
  publishing a data file: against every earlier file release, (1) the record sets differ by fewer
  than k records (0 < added < k or 0 < removed < k: the difference of the two files is those
  records); (2) on the records in both, the published QIs of both releases taken together (records
  assumed linkable across the files through their other answers) are not k-anonymous under the
  wildcard rule (e.g. age published in 10-year bands once and 5-year bands later).
* :func:`record_release` (``study``, ...) -> the log entry, after writing the file.
* :func:`log_table` (``study``, ``name``, ``table``, ``keys``, ``count``, ``threshold``) -> warnings:
  what ``report`` calls for each published table of counts. Against the last table logged under the
  same name it warns when a cell's count changed by 1 to ``threshold - 1`` (the difference is a
  cell below the threshold), then logs the table.
* :func:`load_log` (``study``) -> the list of entries.

Record fingerprints are the values of the record-id column (an instance id) when there is one, else a
polars row hash of the whole input record; the polars version is logged, and the record checks are
skipped with a warning when it differs (row hashes are stable only within one polars version).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from quietpoll.errors import DisclosureError

__all__ = ["log_path", "load_log", "check_release", "record_release", "log_table"]

_FP = "__fp"


def _folder(study: str | os.PathLike[str]) -> Path:
    p = Path(study)
    if p.is_file() and p.name.endswith(".toml"):
        p = p.parent
    if not p.is_dir():
        raise DisclosureError(f"study folder {str(study)!r} does not exist")
    return p


def log_path(study: str | os.PathLike[str]) -> Path:
    """``STUDY/releases/log.json``."""
    return _folder(study) / "releases" / "log.json"


def load_log(study: str | os.PathLike[str]) -> list[dict]:
    """The entries of the study's release log (empty when nothing was published yet)."""
    path = log_path(study)
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["releases"]
        if not isinstance(entries, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise DisclosureError(f"release log {str(path)!r} is not a quietpoll release log; move it aside") from None
    return entries


def _save(study, entries: list[dict]) -> None:
    path = log_path(study)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"releases": entries}, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_release(
    study: str | os.PathLike[str],
    fingerprints: pl.Series,
    published: pl.DataFrame,
    qi: Sequence[str],
    k: int,
    *,
    fingerprint_kind: str = "id",
) -> list[str]:
    """Warnings (one line each) for a data file about to be published; see the module docstring."""
    from quietpoll.disclosure.suppress import wildcard_frequencies

    folder = _folder(study)
    warnings: list[str] = []
    new = published.select([pl.col(q).cast(pl.String) for q in qi]).with_columns(
        fingerprints.cast(pl.String).alias(_FP)
    )
    new_ids = new.select(_FP)
    for entry in load_log(folder):
        if entry.get("kind") != "file":
            continue
        label = f"release {entry['id']} ({entry.get('file')}, {entry.get('time')})"
        if entry.get("fingerprint") != fingerprint_kind or (
            fingerprint_kind == "row-hash" and entry.get("polars") != pl.__version__
        ):
            warnings.append(
                f"{label}: records cannot be matched (different record fingerprint); "
                "differencing against it was not checked"
            )
            continue
        path = folder / "releases" / entry["records"]
        if not path.exists():
            warnings.append(f"{label}: its record file {entry['records']} is missing; differencing not checked")
            continue
        old = pl.read_parquet(path)
        added = new_ids.join(old.select(_FP), on=_FP, how="anti").height
        removed = old.select(_FP).join(new_ids, on=_FP, how="anti").height
        for what, m in (("adds", added), ("removes", removed)):
            if 0 < m < k:
                warnings.append(
                    f"{label}: this release {what} {m} record(s), fewer than k = {k}; differencing "
                    "the two files singles them out (publish the same record set, or differ by >= k)"
                )
        old_qi = [c for c in old.columns if c != _FP]
        both = new.rename({q: f"new:{q}" for q in qi}).join(
            old.rename({q: f"old:{q}" for q in old_qi}), on=_FP, how="full", coalesce=True
        )
        cols = [f"new:{q}" for q in qi] + [f"old:{q}" for q in old_qi]
        in_new = both.get_column(_FP).is_in(new_ids.get_column(_FP).implode())
        in_old = both.get_column(_FP).is_in(old.get_column(_FP).implode())
        common = in_new & in_old
        if not common.any():
            continue
        f = wildcard_frequencies(both.select(cols), cols)
        low = int(((f < k) & common.to_numpy()).sum())
        if low:
            warnings.append(
                f"{label}: {low} record(s) published in both are below k = {k} when the quasi-identifiers "
                f"of both releases are combined ({', '.join(old_qi)} then; {', '.join(qi)} now); "
                "publish with the same coarsening as before"
            )
    return warnings


def record_release(
    study: str | os.PathLike[str],
    *,
    file: str,
    sha256: str,
    fingerprints: pl.Series,
    published: pl.DataFrame,
    qi: Sequence[str],
    k: int,
    final_k: int,
    recodes: Sequence[dict] = (),
    fingerprint_kind: str = "id",
) -> dict:
    """Log a published data file (see the module docstring); returns the entry."""
    folder = _folder(study)
    entries = load_log(folder)
    rid = max((int(e.get("id", 0)) for e in entries), default=0) + 1
    records = f"{rid:04d}-records.parquet"
    (folder / "releases").mkdir(exist_ok=True)
    published.select([pl.col(q).cast(pl.String) for q in qi]).with_columns(
        fingerprints.cast(pl.String).alias(_FP)
    ).write_parquet(folder / "releases" / records)
    entry = {
        "id": rid,
        "kind": "file",
        "time": _now(),
        "file": Path(file).name,
        "sha256": sha256,
        "rows": int(published.height),
        "qi": list(qi),
        "k": int(k),
        "final_k": int(final_k),
        "recodes": list(recodes),
        "records": records,
        "fingerprint": fingerprint_kind,
        "polars": pl.__version__,
    }
    _save(folder, [*entries, entry])
    return entry


def log_table(
    study: str | os.PathLike[str],
    name: str,
    table: pl.DataFrame,
    keys: Sequence[str],
    count: str,
    threshold: int,
) -> list[str]:
    """Log a published table of counts (``keys`` columns identify a cell, ``count`` holds the published
    count; suppressed cells null) and return differencing warnings against the last table logged
    under ``name``."""
    folder = _folder(study)
    keys = list(keys)
    for c in [*keys, count]:
        if c not in table.columns:
            raise DisclosureError(f"table {name!r}: column {c!r} is not in the table")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 2:
        raise DisclosureError(f"table {name!r}: threshold must be an integer of at least 2 (got {threshold!r})")
    cells = table.select([pl.col(c).cast(pl.String) for c in keys] + [pl.col(count).cast(pl.Float64).alias("__count")])
    entries = load_log(folder)
    warnings: list[str] = []
    previous = [e for e in entries if e.get("kind") == "table" and e.get("name") == name]
    if previous:
        last = previous[-1]
        path = folder / "releases" / last["table"]
        if path.exists() and list(last.get("keys", [])) == keys:
            old = pl.read_parquet(path)
            joined = cells.join(old.rename({"__count": "__old"}), on=keys, how="full", coalesce=True, nulls_equal=True)
            diff = (joined.get_column("__count") - joined.get_column("__old")).abs()  # suppressed (null): not compared
            risky = int(((diff > 0) & (diff < threshold)).sum())
            if risky:
                warnings.append(
                    f"table {name!r}: {risky} cell(s) differ from release {last['id']} by 1 to "
                    f"{threshold - 1}; the difference of the two tables is a cell below the threshold"
                )
        else:
            warnings.append(f"table {name!r}: the earlier release {last['id']} cannot be compared (different cells)")
    rid = max((int(e.get("id", 0)) for e in entries), default=0) + 1
    (folder / "releases").mkdir(exist_ok=True)
    fname = f"{rid:04d}-table.parquet"
    cells.write_parquet(folder / "releases" / fname)
    entry = {
        "id": rid,
        "kind": "table",
        "time": _now(),
        "name": name,
        "keys": keys,
        "count": count,
        "threshold": threshold,
        "cells": int(cells.height),
        "table": fname,
    }
    _save(folder, [*entries, entry])
    return warnings
