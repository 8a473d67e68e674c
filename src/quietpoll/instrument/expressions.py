"""XLSForm expressions (XPath 1.0 as ODK uses it): a real parser, compiled to polars expressions.

``parse(text)`` tokenizes (a regular-expression *tokenizer*; the grammar itself is a recursive
precedence-climbing parser) and returns a small tree of :class:`Node` objects.
``compile_expression(text, current=..., columns=..., today=...)`` turns it into a ``pl.Expr``
evaluated row by row over a frame whose columns are the questions (select_multiple answers as
space-separated text, numbers numeric or numeric text, dates as ``Date`` or ISO text).

Semantics (XPath 1.0 as implemented by ODK's JavaRosa)
------------------------------------------------------
* An unanswered question (null, or the empty string) is the empty string ``""`` in string context
  and NaN in number context. So ``${age} > 5`` is false when age is empty, ``${age} != 5`` is true,
  ``${x} = ''`` is true when x is empty, ``${x} + 1`` is NaN (null), ``string-length(${x})`` is 0.
* ``=`` / ``!=``: if either side is a boolean both are compared as booleans; else if either side
  is a number (a literal, arithmetic, ``number()``, or an *answered* integer/decimal question) both
  are compared as numbers (text that is not a number is NaN, which equals nothing); otherwise both
  are compared as strings. An answered numeric question therefore equals ``'5'`` and ``5``; an
  unanswered one equals ``''``.
* ``<``, ``<=``, ``>``, ``>=`` compare numbers; when either side is a date (a date question,
  ``today()``, ``date()``) both sides are read as dates and compared by day.
* Comparisons never return null: NaN compares false (and ``!=`` true).
* The result of a relevance or constraint is read as XPath ``boolean()`` (see :func:`as_boolean`).

``columns`` maps question names to their XLSForm types (``{"age": "integer", ...}``); it decides
whether a reference is numeric, a date or text. Without it every reference is text (XPath's
node-to-number conversion still applies whenever the other side is a number). With it, a
reference to a name not in the mapping raises :class:`UnsupportedExpression`.

Anything the evaluator does not implement (paths, ``instance()``, repeat aggregates such as
``sum()``/``count()``, ``random()``, ``pulldata()``, ``jr:choice-name()``, ...) raises
:class:`UnsupportedExpression` naming the function or construct; it is never assumed true.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence

import polars as pl

from quietpoll.errors import UnsupportedExpression

from .functions import _DATE_TYPES, _EPOCH, _FUNCTIONS, _NUMERIC_TYPES, _V, _num_to_str, _text_to_date  # noqa: F401
from .xpath import (  # noqa: F401  (re-exported: the parser's public names)
    Binary,
    Call,
    Current,
    ExpressionSyntaxError,
    Negate,
    Node,
    Number,
    Path,
    Ref,
    String,
    Union,
    parse,
    references,
)


__all__ = [
    "Node",
    "Number",
    "String",
    "Ref",
    "Current",
    "Call",
    "Binary",
    "Negate",
    "Path",
    "Union",
    "ExpressionSyntaxError",
    "parse",
    "compile_expression",
    "references",
    "SUPPORTED_FUNCTIONS",
]


class _Compiler:
    def __init__(self, current: str | None, columns: Mapping[str, str] | None, today: _dt.date) -> None:
        self.current = current
        self.columns = columns
        self.today = today

    # ---------------------------------------------------------------- conversions
    def to_str(self, v: _V) -> pl.Expr:
        if v.kind == "str":
            return v.expr.fill_null("")
        if v.kind == "strref":
            return v.expr.cast(pl.Utf8).fill_null("")
        if v.kind == "num":
            return _num_to_str(v.expr)
        if v.kind == "numref":
            return pl.when(v.expr.is_null()).then(pl.lit("")).otherwise(_num_to_str(v.expr))
        if v.kind == "bool":
            return pl.when(v.expr).then(pl.lit("true")).otherwise(pl.lit("false"))
        if v.kind in ("date", "dateref"):
            return self.to_date(v).dt.strftime("%Y-%m-%d").fill_null("")
        raise AssertionError(v.kind)  # pragma: no cover

    def to_num(self, v: _V) -> pl.Expr:
        """Number (Float64); NaN is represented as null."""
        if v.kind in ("num", "numref"):
            e = v.expr.cast(pl.Float64, strict=False)
            return pl.when(e.is_nan()).then(None).otherwise(e)
        if v.kind in ("str", "strref"):  # the text 'NaN' is NaN too, which compares false with anything
            e = v.expr.cast(pl.Utf8).str.strip_chars().cast(pl.Float64, strict=False)
            return pl.when(e.is_nan()).then(None).otherwise(e)
        if v.kind == "bool":
            return v.expr.cast(pl.Float64)
        if v.kind in ("date", "dateref"):
            return self.to_date(v).cast(pl.Int32).cast(pl.Float64)
        raise AssertionError(v.kind)  # pragma: no cover

    def to_bool(self, v: _V) -> pl.Expr:
        if v.kind == "bool":
            return v.expr.fill_null(False)
        if v.kind in ("num", "numref"):
            n = self.to_num(v)
            return (n.is_not_null() & (n != 0)).fill_null(False)
        if v.kind in ("date", "dateref"):
            return self.to_date(v).is_not_null()
        return self.to_str(v).str.len_chars() > 0

    def to_date(self, v: _V) -> pl.Expr:
        if v.kind == "date":
            return v.expr
        if v.kind in ("num", "numref"):
            n = self.to_num(v)
            days = pl.when(n.is_finite()).then(n.floor()).otherwise(None).cast(pl.Int32, strict=False)
            return days.cast(pl.Date)
        if v.kind == "dateref":
            return _text_to_date(v.expr.cast(pl.Utf8))
        return _text_to_date(self.to_str(v))

    # ---------------------------------------------------------------- nodes
    def compile(self, node: Node) -> _V:
        if isinstance(node, Number):
            return _V(pl.lit(node.value, dtype=pl.Float64), "num")
        if isinstance(node, String):
            return _V(pl.lit(node.value, dtype=pl.Utf8), "str")
        if isinstance(node, Ref):
            return self.ref(node.name)
        if isinstance(node, Current):
            if self.current is None:
                raise UnsupportedExpression("'.' (the current question) used with no current question")
            return self.ref(self.current)
        if isinstance(node, Negate):
            return _V(-self.to_num(self.compile(node.operand)), "num")
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Path):
            if (
                node.start is None
                and not node.absolute
                and len(node.steps) == 2
                and node.steps[0] == ".."
                and not node.predicates
                and not node.steps[1].startswith("@")
                and node.steps[1] != "*"
            ):
                # ../sibling, as pyxform writes ${sibling}
                return self.ref(node.steps[1])
            raise UnsupportedExpression(f"XPath location paths ({_describe_path(node)}) are not supported")
        if isinstance(node, Union):
            raise UnsupportedExpression("the XPath union operator '|' is not supported")
        raise UnsupportedExpression(f"unsupported construct {type(node).__name__}")  # pragma: no cover

    def ref(self, name: str) -> _V:
        col = pl.col(name)
        if self.columns is None:
            return _V(col, "strref")
        if name not in self.columns:
            raise UnsupportedExpression(f"${{{name}}} refers to no question of the form")
        qtype = str(self.columns[name]).split(" ")[0]
        if qtype in _NUMERIC_TYPES:
            # numeric text is read as a number; "" or unreadable text is unanswered
            return _V(col.cast(pl.Utf8).str.strip_chars().cast(pl.Float64, strict=False), "numref")
        if qtype in _DATE_TYPES:
            return _V(col, "dateref")
        return _V(col, "strref")

    def binary(self, node: Binary) -> _V:
        op = node.op
        left = self.compile(node.left)
        right = self.compile(node.right)
        if op == "or":
            return _V(self.to_bool(left) | self.to_bool(right), "bool")
        if op == "and":
            return _V(self.to_bool(left) & self.to_bool(right), "bool")
        if op in ("=", "!="):
            eq = self.equal(left, right)
            return _V(eq if op == "=" else ~eq, "bool")
        if op in ("<", "<=", ">", ">="):
            if left.kind in ("date", "dateref") or right.kind in ("date", "dateref"):
                a = self.to_date(left).cast(pl.Int32)
                b = self.to_date(right).cast(pl.Int32)
            else:
                a, b = self.to_num(left), self.to_num(right)
            cmp = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
            return _V(cmp.fill_null(False), "bool")
        a, b = self.to_num(left), self.to_num(right)
        if op == "+":
            out = a + b
        elif op == "-":
            out = a - b
        elif op == "*":
            out = a * b
        elif op == "div":
            out = a / b
        elif op == "mod":
            # XPath mod truncates toward zero (the result has the sign of the dividend)
            q = a / b
            out = a - b * (q.sign() * q.abs().floor())
        else:  # pragma: no cover
            raise UnsupportedExpression(f"unsupported operator {op!r}")
        return _V(pl.when(out.is_nan()).then(None).otherwise(out), "num")

    def equal(self, a: _V, b: _V) -> pl.Expr:
        kinds = {a.kind, b.kind}
        if "bool" in kinds:
            return (self.to_bool(a) == self.to_bool(b)).fill_null(False)
        if "num" in kinds:
            return (self.to_num(a) == self.to_num(b)).fill_null(False)
        if kinds & {"date", "dateref"} and kinds <= {"date", "dateref", "num", "numref"}:
            return (self.to_date(a) == self.to_date(b)).fill_null(False)
        if "numref" in kinds:
            # an answered numeric question is a number, an unanswered one is ""
            na, nb = self.to_num(a), self.to_num(b)
            a_num = na.is_not_null() if a.kind == "numref" else pl.lit(False)
            b_num = nb.is_not_null() if b.kind == "numref" else pl.lit(False)
            numeric = (na == nb).fill_null(False)
            textual = (self.to_str(a) == self.to_str(b)).fill_null(False)
            return pl.when(a_num | b_num).then(numeric).otherwise(textual)
        if kinds & {"date"}:
            # date() value against text: compare as dates
            return (self.to_date(a) == self.to_date(b)).fill_null(False)
        return (self.to_str(a) == self.to_str(b)).fill_null(False)

    # ---------------------------------------------------------------- functions
    def call(self, node: Call) -> _V:
        impl = _FUNCTIONS.get(node.name)
        if impl is None:
            raise UnsupportedExpression(f"function {node.name}() is not supported")
        lo, hi, fn = impl
        n = len(node.args)
        if n < lo or (hi is not None and n > hi):
            if hi == lo:
                want = f"{lo}"
            elif hi is None:
                want = f"at least {lo}"
            else:
                want = f"{lo} to {hi}"
            raise ExpressionSyntaxError(
                f"function {node.name}() takes {want} argument{'s' if want != '1' else ''}, got {n}"
            )
        return fn(self, node.args)

    def args(self, args: Sequence[Node]) -> list[_V]:
        return [self.compile(a) for a in args]


def _describe_path(node: Path) -> str:
    parts = "/".join(node.steps)
    if node.absolute:
        parts = "/" + parts
    if node.start is not None:
        if isinstance(node.start, Call):
            return f"{node.start.name}(...)/{parts}" if parts else f"{node.start.name}(...)[...]"
        return f"(...)/{parts}" if parts else "(...)[...]"
    return parts or "/"


SUPPORTED_FUNCTIONS: tuple[str, ...] = tuple(sorted(_FUNCTIONS))


def compile_expression(
    text: str,
    *,
    current: str | None = None,
    columns: Mapping[str, str] | None = None,
    today: _dt.date | _dt.datetime | None = None,
) -> pl.Expr:
    """Compile an XLSForm expression to a polars expression evaluated per row.

    ``current`` is the question ``.`` stands for; ``columns`` maps question names to XLSForm types
    (see the module docstring); ``today`` fixes ``today()``/``now()`` (default: the current date).
    Comparisons and logical operators give booleans that are never null; numbers are Float64 with
    NaN as null; strings are Utf8 with "" for unanswered; dates are ``pl.Date``.
    Raises :class:`UnsupportedExpression` naming what cannot be evaluated.
    """
    if today is None:
        day = _dt.date.today()
    elif isinstance(today, _dt.datetime):
        day = today.date()
    else:
        day = today
    node = parse(text)
    compiler = _Compiler(current, columns, day)
    try:
        return compiler.compile(node).expr
    except RecursionError as exc:  # pragma: no cover
        raise UnsupportedExpression(f"expression {text[:80]!r} is nested too deeply") from exc


def as_boolean(
    text: str,
    *,
    current: str | None = None,
    columns: Mapping[str, str] | None = None,
    today: _dt.date | _dt.datetime | None = None,
) -> pl.Expr:
    """Compile ``text`` and read its result as XPath boolean() (for relevant/constraint/required)."""
    day = today.date() if isinstance(today, _dt.datetime) else (today or _dt.date.today())
    compiler = _Compiler(current, columns, day)
    return compiler.to_bool(compiler.compile(parse(text)))


__all__ += ["as_boolean"]
