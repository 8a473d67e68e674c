"""Global recodes for a release: age bands, year bands, top-coding (polars expressions, no row loops).

Specifications (``--recode COL=SPEC``, or the shorthands ``--year-bands COL=WIDTH`` and
``--top-code COL=VALUE``):

* ``COL=bands:B0,B1,...,Bm`` - numeric values cut into bands closed on the left: ``[B0, B1)`` ...
  ``[Bm, inf)``; values below ``B0`` become ``<B0``. With whole-number breaks the labels read
  ``20-29`` and ``60+``, otherwise ``[20.5, 30)`` and ``>=60.5``. The column becomes text.
* ``COL=years:WIDTH`` - years cut into bands of ``WIDTH`` years aligned on multiples of the width
  (``years:5``: ``2010-2014``, ``2015-2019``). The column becomes text.
* ``COL=top:VALUE`` - values above ``VALUE`` are set to ``VALUE`` (the column stays numeric).

Missing values stay missing. A bad specification, an unknown column or a column that is not numeric
raises :class:`~quietpoll.errors.DisclosureError` naming it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from quietpoll.errors import DisclosureError

__all__ = ["Recode", "parse_recode", "apply_recodes"]

_KINDS = ("bands", "years", "top")


@dataclass(frozen=True)
class Recode:
    """One recode: ``kind`` is bands, years or top; ``breaks`` (bands), ``width`` (years) or ``value`` (top)."""

    column: str
    kind: str
    breaks: tuple[float, ...] = ()
    width: int = 0
    value: float | None = None

    @property
    def spec(self) -> str:
        if self.kind == "bands":
            return "bands:" + ",".join(_num(b) for b in self.breaks)
        if self.kind == "years":
            return f"years:{self.width}"
        return f"top:{_num(self.value)}"


def _num(x: float | None) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _number(text: str, column: str, spec: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise DisclosureError(f"recode of {column!r}: {text.strip()!r} in {spec!r} is not a number") from None
    if not math.isfinite(x):
        raise DisclosureError(f"recode of {column!r}: {text.strip()!r} in {spec!r} is not a finite number")
    return x


def parse_recode(text: str, kind: str | None = None) -> Recode:
    """Parse ``COL=bands:0,20,30``, ``COL=years:5`` or ``COL=top:24``. With ``kind`` ("years", "top")
    the text is the shorthand ``COL=WIDTH`` / ``COL=VALUE``."""
    if "=" not in text:
        raise DisclosureError(f"recode {text!r} must read COL=SPEC, e.g. age=bands:0,20,30,40 or year_left=years:5")
    column, spec = (part.strip() for part in text.split("=", 1))
    if not column:
        raise DisclosureError(f"recode {text!r} names no column")
    if kind is not None:
        spec = f"{kind}:{spec}"
    if ":" not in spec:
        raise DisclosureError(
            f"recode of {column!r}: {spec!r} must read KIND:ARGS with KIND one of {', '.join(_KINDS)}"
        )
    kind_, args = (part.strip() for part in spec.split(":", 1))
    if kind_ not in _KINDS:
        raise DisclosureError(f"recode of {column!r}: unknown kind {kind_!r}; use one of {', '.join(_KINDS)}")
    if kind_ == "bands":
        breaks = tuple(_number(b, column, spec) for b in args.split(",") if b.strip())
        if not breaks:
            raise DisclosureError(f"recode of {column!r}: bands need at least one break, e.g. bands:0,20,30")
        if any(b2 <= b1 for b1, b2 in zip(breaks, breaks[1:])):
            raise DisclosureError(f"recode of {column!r}: band breaks must increase ({args!r})")
        return Recode(column, "bands", breaks=breaks)
    if kind_ == "years":
        width = _number(args, column, spec)
        if not width.is_integer() or width < 2:
            raise DisclosureError(f"recode of {column!r}: the year-band width must be a whole number of at least 2")
        return Recode(column, "years", width=int(width))
    return Recode(column, "top", value=_number(args, column, spec))


def _labels(breaks: Sequence[float]) -> list[str]:
    whole = all(float(b).is_integer() for b in breaks)
    out = [f"<{_num(breaks[0])}"]
    for lo, hi in zip(breaks, breaks[1:]):
        out.append(f"{_num(lo)}-{_num(hi - 1)}" if whole else f"[{_num(lo)}, {_num(hi)})")
    out.append(f"{_num(breaks[-1])}+" if whole else f">={_num(breaks[-1])}")
    return out


def _numeric(frame: pl.DataFrame, column: str) -> pl.Expr:
    dtype = frame.schema[column]
    if dtype.is_numeric():
        return pl.col(column).cast(pl.Float64)
    if dtype == pl.String:
        as_num = frame.get_column(column).str.strip_chars().cast(pl.Float64, strict=False)
        bad = int((as_num.is_null() & frame.get_column(column).is_not_null()).sum())
        if bad == 0:
            return pl.col(column).str.strip_chars().cast(pl.Float64)
        raise DisclosureError(f"recode of {column!r}: {bad} value(s) are not numbers; recode needs a numeric column")
    raise DisclosureError(f"recode of {column!r}: the column is {dtype}, not numeric")


def apply_recodes(frame: pl.DataFrame, recodes: Sequence[Recode]) -> tuple[pl.DataFrame, list[dict]]:
    """Apply the recodes in order; return the new frame and one report entry per recode
    (column, kind, spec, values_changed: non-missing values whose stored value changed)."""
    report = []
    seen: set[str] = set()
    for r in recodes:
        if r.column not in frame.columns:
            raise DisclosureError(f"recode column {r.column!r} is not in the data")
        if r.column in seen:
            raise DisclosureError(f"column {r.column!r} is recoded twice; give one recode per column")
        seen.add(r.column)
        x = _numeric(frame, r.column)
        new: pl.Expr
        if r.kind == "bands":
            band = pl.sum_horizontal([(x >= b).cast(pl.Int64) for b in r.breaks])  # 0 .. len(breaks)
            labels = _labels(r.breaks)
            new = pl.when(x.is_not_null()).then(
                band.replace_strict(list(range(len(labels))), labels, return_dtype=pl.String)
            )
        elif r.kind == "years":
            lo = (x / r.width).floor() * r.width
            new = pl.format("{}-{}", lo.cast(pl.Int64), (lo + r.width - 1).cast(pl.Int64))
        else:
            if r.value is None:
                raise DisclosureError(f"top-code of {r.column!r} has no value; give COL=top:VALUE")
            new = pl.when(x > r.value).then(pl.lit(r.value)).otherwise(x)
            if frame.schema[r.column].is_integer() and float(r.value).is_integer():
                new = new.cast(frame.schema[r.column])
        before = frame.get_column(r.column)
        frame = frame.with_columns(new.alias(r.column))
        after = frame.get_column(r.column)
        if r.kind == "top":
            changed = int((before.cast(pl.Float64, strict=False) > r.value).sum())
        else:
            changed = int(after.is_not_null().sum())
        report.append({"column": r.column, "kind": r.kind, "spec": r.spec, "values_changed": changed})
    return frame, report
