"""The ``[recode]`` step: new columns built from the answers before weighting and reporting.

Each table ``[recode.NEW]`` makes the column ``NEW`` from the column ``from``, in one of two ways::

    [recode.province_group]          # levels to named groups
    from = "province"
    groups = { border = ["north_hamgyong", "ryanggang", "chagang"], pyongyang = ["pyongyang"] }
    other = "elsewhere"              # optional: every other level (default: missing)

    [recode.age_band]                # numbers to bands
    from = "age"
    bands = [15, 30, 45, 65]         # -> "15-29", "30-44", "45-64", "65+" (below 15: missing)
    labels = ["young", "adult", "middle", "old"]   # optional: one label per band

    missing = "no"                   # optional, either kind: the value of a missing answer (e.g. a
                                     # question skipped by design), default missing

Groups are listed in the order given (the report's order); a level may belong to one group only.
Bands are left-closed: ``[15, 30)`` is "15-29" for whole numbers (labels use the cut points: a band
``[a, b)`` is labelled ``a-(b-1)`` when both are whole numbers, ``a-b`` otherwise), and the last is
open-ended ("65+"). A missing answer stays missing unless ``missing`` names its value. Recodes run in
file order, so one may use a column an earlier one made. Everything is one polars expression per
column (no loop over rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from .errors import StudyError

if TYPE_CHECKING:
    from polars.expr.whenthen import ChainedThen, Then

__all__ = ["Recode", "parse_recode", "apply_recode"]


@dataclass(frozen=True)
class Recode:
    """One ``[recode.NAME]`` table."""

    name: str
    source: str
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    bands: tuple[float, ...] = ()
    other: str | None = None
    labels: tuple[str, ...] = ()
    missing: str | None = None

    @property
    def levels(self) -> tuple[str, ...]:
        """The new column's levels in order."""
        if self.groups:
            return tuple(g for g, _ in self.groups) + ((self.other,) if self.other else ())
        return self.labels or tuple(_band_labels(self.bands))


def _fail(file: str, name: str, key: str | None, text: str):
    where = f"[recode.{name}]" + (f" {key}" if key else "")
    raise StudyError(f"{file} {where} {text}", param=f"recode.{name}" + (f".{key}" if key else ""))


def _num_text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _band_labels(cuts: Sequence[float]) -> list[str]:
    out = []
    for a, b in zip(cuts, cuts[1:]):
        whole = float(a).is_integer() and float(b).is_integer()
        out.append(f"{_num_text(a)}-{_num_text(b - 1 if whole else b)}")
    out.append(f"{_num_text(cuts[-1])}+")
    return out


def parse_recode(raw: Any, file: str = "study.toml") -> tuple[Recode, ...]:
    """The ``[recode]`` tables, checked (errors name the table and key)."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise StudyError(f"{file} [recode] must hold tables [recode.NEW_COLUMN]", param="recode")
    out: list[Recode] = []
    for name, table in raw.items():
        if not isinstance(table, Mapping):
            _fail(file, name, None, "must be a table with from and groups or bands")
        unknown = sorted(set(table) - {"from", "groups", "bands", "other", "labels", "missing"})
        if unknown:
            _fail(
                file,
                name,
                None,
                f"has unknown key(s) {', '.join(unknown)}; known: from, groups, bands, other, labels, missing",
            )
        missing = table.get("missing")
        if missing is not None and not isinstance(missing, str):
            _fail(file, name, "missing", "must be text (the value of a missing answer)")
        source = table.get("from")
        if not isinstance(source, str) or not source:
            _fail(file, name, "from", "must name the column to recode")
        if ("groups" in table) == ("bands" in table):
            _fail(file, name, None, "needs exactly one of groups (levels to groups) or bands (numbers to bands)")
        other = table.get("other")
        if other is not None and not isinstance(other, str):
            _fail(file, name, "other", "must be text (the group of every other level)")
        if "groups" in table:
            groups = table["groups"]
            if not isinstance(groups, Mapping) or not groups:
                _fail(file, name, "groups", "must be a table: GROUP = [levels]")
            seen: dict[str, str] = {}
            parsed = []
            for g, levels in groups.items():
                if not isinstance(levels, list) or not levels or not all(isinstance(v, (str, int)) for v in levels):
                    _fail(file, name, "groups", f'group \'{g}\' must list its levels, e.g. {g} = ["a", "b"]')
                for v in levels:
                    if str(v) in seen:
                        _fail(file, name, "groups", f"level '{v}' is in both '{seen[str(v)]}' and '{g}'")
                    seen[str(v)] = g
                parsed.append((str(g), tuple(str(v) for v in levels)))
            if "labels" in table:
                _fail(file, name, "labels", "goes with bands (groups are named by their keys)")
            out.append(Recode(name, source, groups=tuple(parsed), other=other, missing=missing))
        else:
            bands = table["bands"]
            if (
                not isinstance(bands, list)
                or not bands
                or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bands)
            ):
                _fail(file, name, "bands", "must be a list of cut points, e.g. [15, 30, 45, 65]")
            if any(b >= c for b, c in zip(bands, bands[1:])):
                _fail(file, name, "bands", f"must increase, got {bands}")
            if other is not None:
                _fail(file, name, "other", "goes with groups, not bands")
            labels = table.get("labels", [])
            if labels and (
                not isinstance(labels, list) or len(labels) != len(bands) or not all(isinstance(x, str) for x in labels)
            ):
                _fail(file, name, "labels", f"must be {len(bands)} texts, one per band")
            out.append(
                Recode(name, source, bands=tuple(float(b) for b in bands), labels=tuple(labels), missing=missing)
            )
    return tuple(out)


def _expression(r: Recode, dtype: pl.DataType) -> pl.Expr:
    expr = _recoded(r)
    return expr if r.missing is None else pl.when(pl.col(r.source).is_null()).then(pl.lit(r.missing)).otherwise(expr)


def _recoded(r: Recode) -> pl.Expr:
    col = pl.col(r.source)
    if r.groups:
        mapping = {level: g for g, levels in r.groups for level in levels}
        text = col.cast(pl.String)
        default = pl.lit(r.other) if r.other else pl.lit(None, dtype=pl.String)
        grouped = text.replace_strict(mapping, default=default, return_dtype=pl.String)
        return pl.when(col.is_null()).then(pl.lit(None, dtype=pl.String)).otherwise(grouped)
    labels = list(r.levels)
    expr: Then | ChainedThen = pl.when(col < r.bands[0]).then(pl.lit(None, dtype=pl.String))
    for (a, b), label in zip(zip(r.bands, r.bands[1:]), labels):
        expr = expr.when((col >= a) & (col < b)).then(pl.lit(label))
    return expr.when(col >= r.bands[-1]).then(pl.lit(labels[-1])).otherwise(pl.lit(None, dtype=pl.String))


def apply_recode(frame: pl.DataFrame, recodes: Sequence[Recode], *, as_enum: bool = False) -> pl.DataFrame:
    """``frame`` with every recode's column added (or replaced), in order: text, or with ``as_enum`` a
    polars Enum of the recode's levels in their order (so a level no row has is still a level)."""
    for r in recodes:
        if r.source not in frame.columns:
            raise StudyError(
                f"[recode.{r.name}] from names '{r.source}', which is not in the data", param=f"recode.{r.name}.from"
            )
        dtype = frame.schema[r.source]
        if r.bands and not dtype.is_numeric():
            raise StudyError(
                f"[recode.{r.name}] bands need a numeric column; '{r.source}' is {dtype}",
                param=f"recode.{r.name}.bands",
            )
        expr = _expression(r, dtype)
        if as_enum:
            levels = list(dict.fromkeys([*r.levels, *([r.missing] if r.missing else [])]))
            expr = expr.cast(pl.Enum(levels))
        frame = frame.with_columns(expr.alias(r.name))
    return frame
