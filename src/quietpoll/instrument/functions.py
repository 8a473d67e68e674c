"""The XPath / XLSForm function library of the expression compiler (expressions.py): each function
compiles its arguments and returns a polars expression with its XPath kind. Registered with
``@_fn(name, min_args, max_args)``."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from quietpoll.errors import UnsupportedExpression

from .xpath import Current, Node, String

if TYPE_CHECKING:
    from .expressions import _Compiler

_NUMERIC_TYPES = frozenset({"integer", "decimal", "range", "int"})
_DATE_TYPES = frozenset({"date", "datetime", "today", "start", "end"})
_EPOCH = _dt.date(1970, 1, 1)


@dataclass(frozen=True)
class _V:
    """A compiled value: the polars expression and its static XPath kind.

    kind: "num", "str", "bool", "date" (a polars Date), "numref" (an integer/decimal question:
    a number when answered, "" when not), "dateref" (a date question), "strref" (any other question).
    """

    expr: pl.Expr
    kind: str


def _num_to_str(e: pl.Expr) -> pl.Expr:
    """XPath string() of a number: integers without '.0', NaN as 'NaN'."""
    f = e.cast(pl.Float64)
    whole = f.is_finite() & (f == f.floor()) & (f.abs() < 1e15)
    return (
        pl.when(f.is_null() | f.is_nan())
        .then(pl.lit("NaN"))
        .when(whole)
        .then(f.cast(pl.Int64, strict=False).cast(pl.Utf8))
        .when(f == float("inf"))
        .then(pl.lit("Infinity"))
        .when(f == float("-inf"))
        .then(pl.lit("-Infinity"))
        .otherwise(f.cast(pl.Utf8))
    )


def _text_to_date(e: pl.Expr) -> pl.Expr:
    return e.str.strip_chars().str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)


# each function: (min args, max args or None, implementation)
_Impl = Callable[..., _V]  # (compiler, argument nodes) -> compiled value
_FUNCTIONS: dict[str, tuple[int, int | None, _Impl]] = {}


def _fn(name: str, lo: int, hi: int | None) -> Callable[[_Impl], _Impl]:
    def register(f: _Impl) -> _Impl:
        _FUNCTIONS[name] = (lo, hi, f)
        return f

    return register


def _split_selected(c: _Compiler, v: _V) -> pl.Expr:
    return (
        c.to_str(v)
        .str.strip_chars()
        .str.replace_all(r"\s+", " ")
        .str.split(" ")
        .list.eval(pl.element().filter(pl.element() != ""))
    )


@_fn("selected", 2, 2)
def _selected(c: _Compiler, args: Sequence[Node]) -> _V:
    a, b = c.args(args)
    item = c.to_str(b).str.strip_chars()
    return _V(_split_selected(c, a).list.contains(item).fill_null(False), "bool")


@_fn("count-selected", 1, 1)
def _count_selected(c: _Compiler, args: Sequence[Node]) -> _V:
    (a,) = c.args(args)
    return _V(c.to_str(a).str.count_matches(r"\S+").cast(pl.Float64), "num")


@_fn("selected-at", 2, 2)
def _selected_at(c: _Compiler, args: Sequence[Node]) -> _V:
    a, b = c.args(args)
    idx = c.to_num(b).cast(pl.Int64, strict=False)
    items = _split_selected(c, a)
    ok = idx.is_not_null() & (idx >= 0) & (idx < items.list.len())
    value = items.list.get(pl.when(ok).then(idx).otherwise(0), null_on_oob=True)
    return _V(pl.when(ok).then(value).otherwise(pl.lit("")), "str")


@_fn("string-length", 1, 1)
def _string_length(c: _Compiler, args: Sequence[Node]) -> _V:
    (a,) = c.args(args)
    return _V(c.to_str(a).str.len_chars().cast(pl.Float64), "num")


@_fn("regex", 2, 2)
def _regex(c: _Compiler, args: Sequence[Node]) -> _V:
    a, b = c.args(args)
    if isinstance(args[1], String):
        pattern = args[1].value
        try:
            pl.select(pl.lit("").str.contains(pattern)).item()
        except Exception as exc:  # noqa: BLE001 - polars reports a bad pattern as ComputeError
            raise UnsupportedExpression(f"regex() pattern {pattern!r} is not a valid regular expression") from exc
        return _V(c.to_str(a).str.contains(pattern).fill_null(False), "bool")
    raise UnsupportedExpression("regex() with a pattern that is not a literal string is not supported")


@_fn("if", 3, 3)
def _if(c: _Compiler, args: Sequence[Node]) -> _V:
    cond, a, b = c.args(args)
    return _branch(c, c.to_bool(cond), a, b)


def _branch(c: _Compiler, cond: pl.Expr, a: _V, b: _V) -> _V:
    kinds = {a.kind, b.kind}
    if len(kinds) == 1 and a.kind in ("num", "bool", "date", "str"):
        return _V(pl.when(cond).then(a.expr).otherwise(b.expr), a.kind)
    if kinds <= {"num", "numref"}:
        return _V(pl.when(cond).then(c.to_num(a)).otherwise(c.to_num(b)), "num")
    if kinds <= {"date", "dateref"}:
        return _V(pl.when(cond).then(c.to_date(a)).otherwise(c.to_date(b)), "date")
    if kinds <= {"bool"}:  # pragma: no cover - covered by the first branch
        return _V(pl.when(cond).then(a.expr).otherwise(b.expr), "bool")
    return _V(pl.when(cond).then(c.to_str(a)).otherwise(c.to_str(b)), "str")


@_fn("coalesce", 2, 2)
def _coalesce(c: _Compiler, args: Sequence[Node]) -> _V:
    a, b = c.args(args)
    return _branch(c, c.to_str(a) != "", a, b)


@_fn("concat", 0, None)
def _concat(c: _Compiler, args: Sequence[Node]) -> _V:
    if not args:
        return _V(pl.lit(""), "str")
    parts = [c.to_str(v) for v in c.args(args)]
    return _V(pl.concat_str(parts, separator=""), "str")


@_fn("contains", 2, 2)
def _contains(c: _Compiler, args: Sequence[Node]) -> _V:
    a, b = c.args(args)
    return _V(c.to_str(a).str.contains(c.to_str(b), literal=True).fill_null(False), "bool")


@_fn("starts-with", 2, 2)
def _starts_with(c: _Compiler, args: Sequence[Node]) -> _V:
    a, b = c.args(args)
    return _V(c.to_str(a).str.starts_with(c.to_str(b)).fill_null(False), "bool")


@_fn("ends-with", 2, 2)
def _ends_with(c: _Compiler, args: Sequence[Node]) -> _V:
    a, b = c.args(args)
    return _V(c.to_str(a).str.ends_with(c.to_str(b)).fill_null(False), "bool")


@_fn("substr", 2, 3)
def _substr(c: _Compiler, args: Sequence[Node]) -> _V:
    """ODK substr(s, start, end): 0-based, end exclusive."""
    vals = c.args(args)
    s = c.to_str(vals[0])
    start = c.to_num(vals[1]).cast(pl.Int64, strict=False).clip(lower_bound=0).fill_null(0)
    if len(vals) == 3:
        end = c.to_num(vals[2]).cast(pl.Int64, strict=False).fill_null(0)
        length = (end - start).clip(lower_bound=0)
        return _V(s.str.slice(start, length), "str")
    return _V(s.str.slice(start), "str")


@_fn("substring", 2, 3)
def _substring(c: _Compiler, args: Sequence[Node]) -> _V:
    """XPath substring(s, start, length): 1-based positions, rounded."""
    vals = c.args(args)
    s = c.to_str(vals[0])
    first = (c.to_num(vals[1]) + 0.5).floor()
    if len(vals) == 3:
        last = first + (c.to_num(vals[2]) + 0.5).floor()  # exclusive, 1-based
    else:
        last = pl.lit(float("inf"))
    lo = pl.max_horizontal(first, pl.lit(1.0))
    ok = first.is_not_null() & (last > lo) & last.is_not_null()
    start = (lo - 1).cast(pl.Int64, strict=False)
    length = pl.when(last.is_infinite()).then(None).otherwise((last - lo).cast(pl.Int64, strict=False))
    return _V(pl.when(ok).then(s.str.slice(start, length)).otherwise(pl.lit("")), "str")


@_fn("substring-before", 2, 2)
def _substring_before(c: _Compiler, args: Sequence[Node]) -> _V:
    a, b = c.args(args)
    s, t = c.to_str(a), c.to_str(b)
    idx = s.str.find(t, literal=True)
    return _V(pl.when(idx.is_null()).then(pl.lit("")).otherwise(s.str.slice(0, idx)), "str")


@_fn("substring-after", 2, 2)
def _substring_after(c: _Compiler, args: Sequence[Node]) -> _V:
    a, b = c.args(args)
    s, t = c.to_str(a), c.to_str(b)
    idx = s.str.find(t, literal=True)
    return _V(
        pl.when(idx.is_null()).then(pl.lit("")).otherwise(s.str.slice(idx + t.str.len_chars())),
        "str",
    )


@_fn("translate", 3, 3)
def _translate(c: _Compiler, args: Sequence[Node]) -> _V:
    if not (isinstance(args[1], String) and isinstance(args[2], String)):
        raise UnsupportedExpression("translate() with non-literal character lists is not supported")
    (a,) = c.args(args[:1])
    s = c.to_str(a)
    src, dst = args[1].value, args[2].value
    seen: set[str] = set()
    # map through placeholders so that a->b, b->a swaps work
    pairs = []
    for i, ch in enumerate(src):
        if ch in seen:
            continue
        seen.add(ch)
        pairs.append((ch, dst[i] if i < len(dst) else ""))
    for k, (ch, _) in enumerate(pairs):
        s = s.str.replace_all(ch, f"\x00{k}\x00", literal=True)
    for k, (_, repl) in enumerate(pairs):
        s = s.str.replace_all(f"\x00{k}\x00", repl, literal=True)
    return _V(s, "str")


@_fn("normalize-space", 0, 1)
def _normalize_space(c: _Compiler, args: Sequence[Node]) -> _V:
    v = c.compile(args[0]) if args else c.compile(Current())
    return _V(c.to_str(v).str.strip_chars().str.replace_all(r"\s+", " "), "str")


@_fn("string", 0, 1)
def _string(c: _Compiler, args: Sequence[Node]) -> _V:
    v = c.compile(args[0]) if args else c.compile(Current())
    return _V(c.to_str(v), "str")


@_fn("number", 0, 1)
def _number(c: _Compiler, args: Sequence[Node]) -> _V:
    v = c.compile(args[0]) if args else c.compile(Current())
    return _V(c.to_num(v), "num")


@_fn("int", 1, 1)
def _int(c: _Compiler, args: Sequence[Node]) -> _V:
    (a,) = c.args(args)
    n = c.to_num(a)
    return _V(n.sign() * n.abs().floor(), "num")


@_fn("round", 1, 2)
def _round(c: _Compiler, args: Sequence[Node]) -> _V:
    vals = c.args(args)
    n = c.to_num(vals[0])
    if len(vals) == 1:
        return _V((n + 0.5).floor(), "num")
    digits = c.to_num(vals[1]).floor()
    scale = pl.lit(10.0).pow(digits)
    return _V((n * scale + 0.5).floor() / scale, "num")


@_fn("floor", 1, 1)
def _floor(c: _Compiler, args: Sequence[Node]) -> _V:
    return _V(c.to_num(c.compile(args[0])).floor(), "num")


@_fn("ceiling", 1, 1)
def _ceiling(c: _Compiler, args: Sequence[Node]) -> _V:
    return _V(c.to_num(c.compile(args[0])).ceil(), "num")


@_fn("abs", 1, 1)
def _abs(c: _Compiler, args: Sequence[Node]) -> _V:
    return _V(c.to_num(c.compile(args[0])).abs(), "num")


def _nan_to_null(e: pl.Expr) -> pl.Expr:
    return pl.when(e.is_nan()).then(None).otherwise(e)


@_fn("sqrt", 1, 1)
def _sqrt(c: _Compiler, args: Sequence[Node]) -> _V:
    return _V(_nan_to_null(c.to_num(c.compile(args[0])).sqrt()), "num")


@_fn("exp", 1, 1)
def _exp(c: _Compiler, args: Sequence[Node]) -> _V:
    return _V(c.to_num(c.compile(args[0])).exp(), "num")


@_fn("log", 1, 1)
def _log(c: _Compiler, args: Sequence[Node]) -> _V:
    return _V(_nan_to_null(c.to_num(c.compile(args[0])).log()), "num")


@_fn("log10", 1, 1)
def _log10(c: _Compiler, args: Sequence[Node]) -> _V:
    return _V(_nan_to_null(c.to_num(c.compile(args[0])).log10()), "num")


@_fn("pow", 2, 2)
def _pow(c: _Compiler, args: Sequence[Node]) -> _V:
    a, b = c.args(args)
    return _V(_nan_to_null(c.to_num(a).pow(c.to_num(b))), "num")


@_fn("pi", 0, 0)
def _pi(c: _Compiler, args: Sequence[Node]) -> _V:
    return _V(pl.lit(math.pi), "num")


def _minmax(c: _Compiler, args: Sequence[Node], which: str) -> _V:
    nums = [c.to_num(v) for v in c.args(args)]
    any_nan = pl.any_horizontal([n.is_null() for n in nums])
    agg = pl.min_horizontal(nums) if which == "min" else pl.max_horizontal(nums)
    return _V(pl.when(any_nan).then(None).otherwise(agg), "num")


@_fn("min", 1, None)
def _min(c: _Compiler, args: Sequence[Node]) -> _V:
    return _minmax(c, args, "min")


@_fn("max", 1, None)
def _max(c: _Compiler, args: Sequence[Node]) -> _V:
    return _minmax(c, args, "max")


@_fn("boolean", 1, 1)
def _boolean(c: _Compiler, args: Sequence[Node]) -> _V:
    return _V(c.to_bool(c.compile(args[0])), "bool")


@_fn("boolean-from-string", 1, 1)
def _boolean_from_string(c: _Compiler, args: Sequence[Node]) -> _V:
    s = c.to_str(c.compile(args[0])).str.strip_chars()
    return _V(s.is_in(["true", "1"]), "bool")


@_fn("not", 1, 1)
def _not(c: _Compiler, args: Sequence[Node]) -> _V:
    return _V(~c.to_bool(c.compile(args[0])), "bool")


@_fn("true", 0, 0)
def _true(c: _Compiler, args: Sequence[Node]) -> _V:
    return _V(pl.lit(True), "bool")


@_fn("false", 0, 0)
def _false(c: _Compiler, args: Sequence[Node]) -> _V:
    return _V(pl.lit(False), "bool")


@_fn("today", 0, 0)
def _today(c: _Compiler, args: Sequence[Node]) -> _V:
    return _V(pl.lit(c.today, dtype=pl.Date), "date")


@_fn("now", 0, 0)
def _now(c: _Compiler, args: Sequence[Node]) -> _V:
    # compared by day: the evaluator has no clock of the interview
    return _V(pl.lit(c.today, dtype=pl.Date), "date")


@_fn("date", 1, 1)
def _date(c: _Compiler, args: Sequence[Node]) -> _V:
    return _V(c.to_date(c.compile(args[0])), "date")


@_fn("decimal-date-time", 1, 1)
def _decimal_date_time(c: _Compiler, args: Sequence[Node]) -> _V:
    v = c.compile(args[0])
    return _V(c.to_date(v).cast(pl.Int32).cast(pl.Float64), "num")


@_fn("once", 1, 1)
def _once(c: _Compiler, args: Sequence[Node]) -> _V:
    # once(x) keeps the first value computed on the device; over collected data it is x
    return c.compile(args[0])
