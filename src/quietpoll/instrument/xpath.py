"""XPath 1.0 as XLSForm uses it: a regular-expression tokenizer and a precedence-climbing parser
that turn an expression into a small tree of :class:`Node` objects (no evaluation here: see
expressions.py, which compiles the tree to polars)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from quietpoll.errors import UnsupportedExpression

_MAX_DEPTH = 200
_MAX_LENGTH = 100_000


class ExpressionSyntaxError(UnsupportedExpression):
    """The expression is not valid XPath (a kind of unsupported expression)."""


# ------------------------------------------------------------------------------------ nodes
class Node:
    """Base class of the expression tree."""


@dataclass(frozen=True)
class Number(Node):
    value: float


@dataclass(frozen=True)
class String(Node):
    value: str


@dataclass(frozen=True)
class Ref(Node):
    """``${name}``"""

    name: str


@dataclass(frozen=True)
class Current(Node):
    """``.`` (the question the expression belongs to)"""


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Binary(Node):
    op: str  # or and = != < <= > >= + - * div mod
    left: Node
    right: Node


@dataclass(frozen=True)
class Negate(Node):
    operand: Node


@dataclass(frozen=True)
class Path(Node):
    """An XPath location path (``../x``, ``/data/x``, ``instance('l')/root/item[...]``)."""

    start: Node | None  # a filter expression the path starts from, or None
    absolute: bool
    steps: tuple[str, ...]  # "." "..", names, "*", "@name", "//"; predicates kept in `predicates`
    predicates: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Union(Node):
    left: Node
    right: Node


# -------------------------------------------------------------------------------- tokenizer
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>\d+(?:\.\d*)?|\.\d+)
  | (?P<string>"[^"]*"|'[^']*')
  | (?P<ref>\$\{[^}]*\})
  | (?P<op>!=|<=|>=|//|\.\.|[=<>+\-*/|()\[\],@.])
  | (?P<name>[A-Za-z_][\w\-.]*(?::[A-Za-z_][\w\-.]*)?)
    """,
    re.VERBOSE,
)

_OPERATOR_NAMES = {"and", "or", "div", "mod"}
# After these tokens a name or * is an operand, not an operator (XPath 1.0 section 3.7).
_OPERAND_CONTEXT = {
    "@",
    "(",
    "[",
    ",",
    "and",
    "or",
    "div",
    "mod",
    "*",
    "/",
    "//",
    "|",
    "+",
    "-",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
}


@dataclass(frozen=True)
class _Tok:
    kind: str  # number string ref op name operator end
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise ExpressionSyntaxError(
                f"cannot parse expression {text!r}: unexpected {text[pos]!r} at position {pos + 1}"
            )
        kind = m.lastgroup or ""
        value = m.group()
        pos = m.end()
        if kind == "ws":
            continue
        prev = tokens[-1] if tokens else None
        operand_ctx = (
            prev is None
            or prev.kind == "operator"
            or (prev.kind == "op" and prev.text in _OPERAND_CONTEXT and prev.text != "*")
        )
        if kind == "name" and value in _OPERATOR_NAMES and not operand_ctx:
            kind = "operator"
        elif kind == "op" and value == "*" and not operand_ctx:
            kind = "operator"
        tokens.append(_Tok(kind, value, m.start()))
    tokens.append(_Tok("end", "", n))
    return tokens


# ----------------------------------------------------------------------------------- parser
_BINARY_PRECEDENCE = {
    "or": 1,
    "and": 2,
    "=": 3,
    "!=": 3,
    "<": 4,
    "<=": 4,
    ">": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "div": 6,
    "mod": 6,
}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    # helpers
    def peek(self, k: int = 0) -> _Tok:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def next(self) -> _Tok:
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def error(self, what: str) -> ExpressionSyntaxError:
        tok = self.peek()
        where = f"at position {tok.pos + 1}" if tok.kind != "end" else "at the end"
        return ExpressionSyntaxError(f"cannot parse expression {self.text!r}: {what} {where}")

    def expect(self, text: str) -> None:
        tok = self.peek()
        if tok.kind in ("op", "operator") and tok.text == text:
            self.next()
            return
        raise self.error(f"expected {text!r}, found {tok.text or 'end of expression'!r}")

    def is_op(self, *texts: str) -> bool:
        tok = self.peek()
        return tok.kind in ("op", "operator") and tok.text in texts

    # grammar
    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("empty expression")
        node = self.expression(1)
        if self.peek().kind != "end":
            raise self.error(f"unexpected {self.peek().text!r}")
        return node

    def expression(self, min_prec: int) -> Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error("expression nested too deeply")
        try:
            left = self.unary()
            while True:
                tok = self.peek()
                if tok.kind == "operator" or (tok.kind == "op" and tok.text in _BINARY_PRECEDENCE):
                    op = tok.text
                    prec = _BINARY_PRECEDENCE.get(op)
                    if prec is None or prec < min_prec:
                        break
                    self.next()
                    right = self.expression(prec + 1)
                    left = Binary(op, left, right)
                else:
                    break
            return left
        finally:
            self.depth -= 1

    def unary(self) -> Node:
        if self.is_op("-"):
            self.next()
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise self.error("expression nested too deeply")
            try:
                return Negate(self.unary())
            finally:
                self.depth -= 1
        return self.union()

    def union(self) -> Node:
        left = self.path()
        while self.is_op("|"):
            self.next()
            left = Union(left, self.path())
        return left

    def path(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("/", "//"):
            self.next()
            steps: list[str] = [] if tok.text == "/" else ["//"]
            preds: list[Node] = []
            if self.starts_step():
                self.relative_path(steps, preds)
            elif tok.text == "//":
                raise self.error("expected a step after '//'")
            return Path(None, True, tuple(steps), tuple(preds))
        if self.starts_filter():
            start = self.filter_expr()
            if self.is_op("/", "//"):
                steps = []
                preds = []
                if self.next().text == "//":
                    steps.append("//")
                self.relative_path(steps, preds)
                return Path(start, False, tuple(steps), tuple(preds))
            return start
        if self.starts_step():
            steps = []
            preds = []
            self.relative_path(steps, preds)
            if steps == ["."] and not preds:
                return Current()
            return Path(None, False, tuple(steps), tuple(preds))
        raise self.error(f"unexpected {tok.text or 'end of expression'!r}")

    def starts_filter(self) -> bool:
        tok = self.peek()
        if tok.kind in ("number", "string", "ref"):
            return True
        if tok.kind == "op" and tok.text == "(":
            return True
        return tok.kind == "name" and self.peek(1).kind == "op" and self.peek(1).text == "("

    def starts_step(self) -> bool:
        tok = self.peek()
        return tok.kind == "name" or (tok.kind == "op" and tok.text in (".", "..", "@", "*"))

    def relative_path(self, steps: list[str], preds: list[Node]) -> None:
        self.step(steps, preds)
        while self.is_op("/", "//"):
            if self.next().text == "//":
                steps.append("//")
            self.step(steps, preds)

    def step(self, steps: list[str], preds: list[Node]) -> None:
        tok = self.next()
        if tok.kind == "op" and tok.text in (".", ".."):
            steps.append(tok.text)
            return
        prefix = ""
        if tok.kind == "op" and tok.text == "@":
            prefix = "@"
            tok = self.next()
        if tok.kind == "name" or (tok.kind in ("op", "operator") and tok.text == "*"):
            steps.append(prefix + tok.text)
        else:
            self.i -= 1
            raise self.error("expected a path step")
        while self.is_op("["):
            self.next()
            preds.append(self.expression(1))
            self.expect("]")

    def filter_expr(self) -> Node:
        node = self.primary()
        preds: list[Node] = []
        while self.is_op("["):
            self.next()
            preds.append(self.expression(1))
            self.expect("]")
        if preds:
            return Path(node, False, (), tuple(preds))
        return node

    def primary(self) -> Node:
        tok = self.next()
        if tok.kind == "number":
            return Number(float(tok.text))
        if tok.kind == "string":
            return String(tok.text[1:-1])
        if tok.kind == "ref":
            name = tok.text[2:-1].strip()
            if not name:
                self.i -= 1
                raise self.error("empty ${} reference")
            return Ref(name)
        if tok.kind == "op" and tok.text == "(":
            node = self.expression(1)
            self.expect(")")
            return node
        if tok.kind == "name":
            self.expect("(")
            args: list[Node] = []
            if not self.is_op(")"):
                args.append(self.expression(1))
                while self.is_op(","):
                    self.next()
                    args.append(self.expression(1))
            self.expect(")")
            return Call(tok.text, tuple(args))
        self.i -= 1
        raise self.error(f"unexpected {tok.text or 'end of expression'!r}")


def parse(text: str) -> Node:
    """Parse an XLSForm expression into a tree; raises :class:`ExpressionSyntaxError` if invalid."""
    if not isinstance(text, str):
        raise ExpressionSyntaxError(f"an expression must be text, not {type(text).__name__}")
    if len(text) > _MAX_LENGTH:
        raise ExpressionSyntaxError("expression too long")
    try:
        return _Parser(text).parse()
    except RecursionError as exc:  # pragma: no cover - guarded by _MAX_DEPTH
        raise ExpressionSyntaxError(f"cannot parse expression {text[:80]!r}: nested too deeply") from exc


def references(node: Node) -> set[str]:
    """The question names an expression refers to with ``${name}``."""
    out: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Ref):
            out.add(n.name)
        elif isinstance(n, Call):
            stack.extend(n.args)
        elif isinstance(n, Binary | Union):
            stack.extend((n.left, n.right))
        elif isinstance(n, Negate):
            stack.append(n.operand)
        elif isinstance(n, Path):
            if n.start is not None:
                stack.append(n.start)
            stack.extend(n.predicates)
    return out


# ---------------------------------------------------------------------------------- compiler
