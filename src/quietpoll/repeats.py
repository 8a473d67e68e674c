"""Repeat tables (a household roster, one row per person) analysed with their parent's design.

KoboToolbox and ODK export a repeat group as its own table: a sheet of the XLSX export, or a file
``<stem>-<repeat>.csv`` beside the main one (ODK's layout, also what ``quietpoll pull`` writes). Each
repeat row names its parent interview: ``_submission__uuid`` -> the main table's ``_uuid``,
``_parent_index`` -> ``_index`` (Kobo; some exports write the main table's index as ``index``), or
``PARENT_KEY`` -> ``KEY`` (ODK).

:func:`with_parent_design` joins the parent's design columns (weights or probabilities, strata, cluster
ids, fpc, replicate weights) to every repeat row. The sampled unit stays the parent's: when the design
has cluster ids, the repeat rows keep the parent's clusters; when it has none (interviews sampled as
elements), the parent interview itself becomes the primary sampling unit, so a person-level mean is the
ratio estimator over clustered households it is (R: ``svydesign(ids = ~household, strata, weights =
~household weight, data = persons joined to households)``).

A repeat row whose parent is not in the main table is an error (a damaged or mismatched export), never
silently dropped; rows of parents left out of the analysis (``[quality] drop_flagged``, ``[data]
keep``) are left out with them.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import polars as pl

from .design import DesignSpec
from .errors import InputError

__all__ = ["PARENT_LINKS", "PARENT_PSU", "parent_link", "read_repeat_table", "repeat_names", "with_parent_design"]

#: (column of the repeat table, column of the main table) naming the parent, tried in this order
PARENT_LINKS = (
    ("_submission__uuid", "_uuid"),
    ("_parent_index", "_index"),
    ("_parent_index", "index"),
    ("PARENT_KEY", "KEY"),
)
#: the column holding the parent interview's key when it becomes the primary sampling unit
PARENT_PSU = "_parent_psu"


def repeat_names(path: str | os.PathLike[str]) -> list[str]:
    """The repeat tables a data file has: its sheets after the first (Excel), else the files
    ``<stem>-<name><suffix>`` beside it."""
    p = Path(path)
    if p.suffix.lower() in (".xlsx", ".xls"):
        import fastexcel

        return list(fastexcel.read_excel(p).sheet_names)[1:]
    return sorted(s.stem[len(p.stem) + 1 :] for s in p.parent.glob(f"{p.stem}-*{p.suffix}"))


def read_repeat_table(path: str | os.PathLike[str], name: str, *, param: str = "repeat") -> pl.DataFrame:
    """The repeat table ``name`` of the data file ``path`` (a sheet, or the file beside it); InputError
    naming what there is when it does not exist."""
    from .io import read_data

    p = Path(path)
    names = repeat_names(p)
    if name not in names:
        where = "sheet" if p.suffix.lower() in (".xlsx", ".xls") else f"file {p.stem}-{name}{p.suffix}"
        have = ", ".join(names) or "none"
        raise InputError(
            f"{{{param}}} {name!r}: no such repeat {where} in {p.name}; repeat tables: {have}", param=param
        )
    if p.suffix.lower() in (".xlsx", ".xls"):
        return read_data(p, sheet=name).frame
    return read_data(p.parent / f"{p.stem}-{name}{p.suffix}").frame


def parent_link(main_columns: Sequence[str], repeat_columns: Sequence[str], name: str, *, param: str = "repeat"):
    """(repeat column, main column) linking the repeat table ``name`` to the main table."""
    for rcol, mcol in PARENT_LINKS:
        if rcol in repeat_columns and mcol in main_columns:
            return rcol, mcol
    want = ", ".join(f"{r} -> {m}" for r, m in PARENT_LINKS)
    raise InputError(
        f"{{{param}}} {name!r}: no column links its rows to the main table (looked for {want})", param=param
    )


def _design_columns(spec: DesignSpec, columns: Sequence[str]) -> list[str]:
    """The main table's columns the design uses (replicate weights by their globs)."""
    wanted = [c for c in spec.columns() if c in columns]
    rep = spec.replicates
    if rep is not None:
        items = [rep.columns] if isinstance(rep.columns, str) else list(rep.columns)
        globs = [g.strip() for item in items for g in item.split(",") if g.strip()]
        wanted += [c for c in columns if c not in wanted and any(fnmatch.fnmatchcase(c, g) for g in globs)]
    return wanted


def with_parent_design(
    main: pl.DataFrame,
    repeat: pl.DataFrame,
    spec: DesignSpec,
    name: str,
    *,
    analysed: pl.DataFrame | None = None,
    weights: pl.Series | None = None,
    parent_columns: Sequence[str] = (),
    param: str = "repeat",
) -> tuple[pl.DataFrame, DesignSpec]:
    """The repeat rows with their parent's design columns, and the design to build on them.

    main: every parent row of the data file (to check each repeat row's parent exists); analysed: the
    parent rows in the analysis (default ``main``), whose repeat rows are kept; weights: the analysed
    parents' final weights (after [weighting]), used as the repeat rows' weights when given;
    parent_columns: the parents' columns to carry to their repeat rows besides the design's (e.g. a --by
    column of the household), those the repeat table does not have itself. The design's
    primary sampling unit is the parent's: its cluster ids, or the parent interview when it has none.
    InputError (one line, naming ``{repeat}``) when a repeat row names no parent row or the parent keys
    are not unique."""
    analysed = main if analysed is None else analysed
    rcol, mcol = parent_link(main.columns, repeat.columns, name, param=param)
    key = "__parent_key"
    parents = main.get_column(mcol).cast(pl.String)
    if parents.is_null().any() or parents.n_unique() != parents.len():
        raise InputError(
            f"{{{param}}} {name!r}: the main table's {mcol} does not name each interview once (blank or "
            "repeated values); the repeat rows cannot be linked",
            param=param,
        )
    child = repeat.get_column(rcol).cast(pl.String)
    orphan = child.is_null() | ~child.is_in(parents.implode())
    if orphan.any():
        rows = orphan.arg_true()
        first = int(rows[0]) + 1  # counted from 1, as a data file's rows are in messages
        raise InputError(
            f"{{{param}}} {name!r}: {rows.len()} row(s) (first: data row {first}, {rcol} = "
            f"{child[int(rows[0])]!r}) name no interview of the main table ({mcol})",
            param=param,
        )
    design_cols = _design_columns(spec, analysed.columns)
    carried = [c for c in parent_columns if c in analysed.columns and c not in repeat.columns and c not in design_cols]
    take = analysed.select(pl.col(mcol).cast(pl.String).alias(key), *(pl.col(c) for c in [*design_cols, *carried]))
    if weights is not None:
        take = take.with_columns(weights.alias("_parent_weight"))
        spec = replace(spec, weights="_parent_weight", probs=None)
    if not spec.ids and spec.replicates is None:  # interviews sampled as elements: the parent is the PSU
        take = take.with_columns(pl.col(key).alias(PARENT_PSU))
        spec = replace(spec, ids=(PARENT_PSU,))
    own = repeat.drop([c for c in take.columns if c in repeat.columns and c != key])
    frame = own.with_columns(child.alias(key)).join(take, on=key, how="inner", maintain_order="left").drop(key)
    return frame, spec
