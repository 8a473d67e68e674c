"""Subset expressions (R's subset(design, EXPR)): a small, safe language compiled to one polars
expression. Nothing is evaluated as Python.

    EXPR   := OR
    OR     := AND ( '|' AND )*
    AND    := NOT ( '&' NOT )*
    NOT    := '!' NOT | '(' OR ')' | COMPARISON
    COMPARISON := COLUMN OP VALUE | COLUMN OP COLUMN | COLUMN ('in' | '%in%') LIST
                | 'is.na(' COLUMN ')'
    OP     := '==' | '!=' | '<' | '<=' | '>' | '>='
    LIST   := '[' VALUE (',' VALUE)* ']'  |  'c(' VALUE (',' VALUE)* ')'
    VALUE  := a number | "text" | 'text' | TRUE | FALSE
    COLUMN := a column name (letters, digits, '_', '.'), or `any name` in backticks

A comparison with a missing value is false (R's subset keeps `r & !is.na(r)`). Rows outside the
subset stay in the design (a domain), so no PSU is dropped.
"""

from __future__ import annotations

import difflib
import re

import numpy as np
import polars as pl

from ..errors import ColumnError, EstimationError

_TOKEN = re.compile(
    r"""\s*(?:(?P<num>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|(?P<str>"[^"]*"|'[^']*')|"""
    r"""(?P<op>==|!=|<=|>=|<|>|%in%|[&|!()\[\],])|(?P<bq>`[^`]+`)|(?P<name>[A-Za-z_.][\w.]*))"""
)
_OPS = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}


def _tokens(text: str):
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos or m.lastgroup is None:
            raise EstimationError(f"{{subset}}: cannot read '{text[pos : pos + 20]}' in '{text}'", param="subset")
        kind = m.lastgroup
        val = m.group(kind)
        if kind == "bq":
            kind, val = "name", val[1:-1]
        out.append((kind, val))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    def __init__(self, text: str, frame: pl.DataFrame):
        self.text, self.frame, self.toks, self.i = text, frame, _tokens(text), 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, val=None):
        tok = self.peek()
        if tok[0] is None or (val is not None and tok[1] != val):
            raise EstimationError(f"{{subset}}: expected {val or 'more'} in '{self.text}'", param="subset")
        self.i += 1
        return tok

    def parse(self) -> pl.Expr:
        e = self.or_()
        if self.i != len(self.toks):
            raise EstimationError(f"{{subset}}: unexpected '{self.toks[self.i][1]}' in '{self.text}'", param="subset")
        return e

    def or_(self):
        e = self.and_()
        while self.peek()[1] == "|":
            self.take()
            e = e | self.and_()
        return e

    def and_(self):
        e = self.not_()
        while self.peek()[1] == "&":
            self.take()
            e = e & self.not_()
        return e

    def not_(self):
        kind, val = self.peek()
        if val == "!":
            self.take()
            return ~self.not_()
        if val == "(":
            self.take()
            e = self.or_()
            self.take(")")
            return e
        return self.comparison()

    def column(self, name):
        if name not in self.frame.columns:
            close = difflib.get_close_matches(name, self.frame.columns, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ColumnError(f"{{subset}} names column '{name}', which is not in the data{hint}", param="subset")
        return pl.col(name)

    def value(self):
        kind, val = self.take()
        if kind == "num":
            return float(val) if any(c in val for c in ".eE") else int(val)
        if kind == "str":
            return val[1:-1]
        if kind == "name" and val in ("TRUE", "FALSE", "True", "False", "true", "false"):
            return val.lower() == "true"
        raise EstimationError(f"{{subset}}: expected a value, got '{val}' in '{self.text}'", param="subset")

    def comparison(self):
        kind, name = self.take()
        if kind != "name":
            raise EstimationError(f"{{subset}}: expected a column name, got '{name}' in '{self.text}'", param="subset")
        if name == "is.na" and self.peek()[1] == "(":
            self.take("(")
            col = self.column(self.take()[1])
            self.take(")")
            return col.is_null()
        col = self.column(name)
        kind, op = self.peek()
        if op in ("in", "%in%"):
            self.take()
            vals = self.list_()
            return self._cast_in(name, col, vals)
        if op not in _OPS:
            raise EstimationError(
                f"{{subset}}: expected a comparison (==, !=, <, <=, >, >=, in) after '{name}' in '{self.text}'",
                param="subset",
            )
        self.take()
        kind2, val2 = self.peek()
        if kind2 == "name" and val2 not in ("TRUE", "FALSE", "True", "False", "true", "false"):
            self.take()
            other = self.column(val2)
        else:
            other = pl.lit(self._cast(name, self.value()))
        return getattr(col, _OPS[op])(other)

    def list_(self):
        kind, val = self.take()
        close = "]" if val == "[" else ")"
        if not (val == "[" or (kind == "name" and val == "c" and self.take("(")[1] == "(")):
            raise EstimationError(f"{{subset}}: 'in' takes a list [a, b] or c(a, b) in '{self.text}'", param="subset")
        vals = [self.value()]
        while self.peek()[1] == ",":
            self.take()
            vals.append(self.value())
        self.take(close)
        return vals

    def _cast(self, name, v):
        dt = self.frame.schema[name]
        if dt.is_numeric() and isinstance(v, str):
            raise EstimationError(f"{{subset}} compares numeric column '{name}' with the text '{v}'", param="subset")
        if not dt.is_numeric() and dt != pl.Boolean and not isinstance(v, str):
            return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
        return v

    def _cast_in(self, name, col, vals):
        vals = [self._cast(name, v) for v in vals]
        if not self.frame.schema[name].is_numeric() and self.frame.schema[name] != pl.Boolean:
            col = col.cast(pl.String)
        return col.is_in(vals)


def subset_expr(frame: pl.DataFrame, text: str) -> pl.Expr:
    if not text or not text.strip():
        raise EstimationError("{subset} is empty: give an expression such as \"region == 'north'\"", param="subset")
    return _Parser(text, frame).parse()


def subset_mask(frame: pl.DataFrame, subset) -> np.ndarray:
    """A boolean array over the rows: True inside the subset (a missing comparison is False)."""
    expr = subset if isinstance(subset, pl.Expr) else subset_expr(frame, str(subset))
    try:
        s = frame.select(expr.fill_null(False).alias("_subset")).get_column("_subset")
    except pl.exceptions.PolarsError as e:
        raise EstimationError(f"{{subset}} cannot be evaluated: {str(e).splitlines()[0]}", param="subset") from None
    if s.dtype != pl.Boolean:
        raise EstimationError("{subset} must be a condition (true or false for each row)", param="subset")
    return s.to_numpy().astype(bool)
