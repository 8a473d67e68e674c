# ruff: noqa: E501, F811  (fixtures imported from test_form_browser are test parameters; the markdown form and the expression table are kept one row per line)
"""The browser's expression evaluator (web/src/expr.js, as bundled) against the Python evaluator
(instrument/expressions.py): one table of expressions and answer sets evaluated in Chromium and in
polars must give equal results (kind and value), including ODK's empty-answer rules. Also: the
function table the server checks forms against is the bundle's, and once(random()) is drawn once.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from quietpoll.collect.web import BROWSER_FUNCTIONS
from quietpoll.instrument.expressions import compile_expression

from formserver import open_form
from test_form_browser import FORM
from test_form_browser import browser_context  # noqa: F401  (a fixture)
from test_form_browser import study  # noqa: F401  (a fixture)

TODAY = dt.date(2026, 11, 22)
TYPES = {
    "a": "text",
    "b": "text",
    "n": "integer",
    "m": "decimal",
    "s": "select_multiple",
    "o": "select_one",
    "d": "date",
    "c": "calculate",
}
FULL = {
    "a": "yes",
    "b": "Seoul 서울",
    "n": "7",
    "m": "2.5",
    "s": "tv radio",
    "o": "left",
    "d": "2024-05-17",
    "c": "0.25",
}
EMPTY: dict[str, str | None] = {}

# (expression, answers, current question or None)
CASES = [
    # references and the empty-answer rules
    ("${a} = 'yes'", FULL, None),
    ("${a} = 'yes'", EMPTY, None),
    ("${a} != 'yes'", EMPTY, None),
    ("${a} = ''", EMPTY, None),
    ("${n} = ''", EMPTY, None),
    ("${n} = ''", FULL, None),
    ("${n} > 5", FULL, None),
    ("${n} > 5", EMPTY, None),
    ("${n} != 5", EMPTY, None),
    ("${n} = 5", EMPTY, None),
    ("${n} = '7'", FULL, None),
    ("${n} = 7", FULL, None),
    ("${n} = '7.0'", FULL, None),
    ("${a} = 7", FULL, None),
    ("${n} = ${m}", EMPTY, None),
    ("${n} = ${m}", FULL, None),
    ("${n} + 1", FULL, None),
    ("${n} + 1", EMPTY, None),
    ("${n}", FULL, None),
    ("${n}", EMPTY, None),
    ("${a}", EMPTY, None),
    ("${c} < 0.5", FULL, None),
    ("${c} < 0.5", EMPTY, None),
    ("${c} >= 1 div 6 and ${c} < 2 div 6", FULL, None),
    ("if(${c} < 0.5, 1, 0)", FULL, None),
    ("if(${c} < 0.5, 1, 0)", EMPTY, None),
    ("${c} = 0.25", FULL, None),
    ("${c} = '0.25'", FULL, None),
    # arithmetic, unary minus, precedence
    ("1 + 2 * 3", EMPTY, None),
    ("(1 + 2) * 3", EMPTY, None),
    ("7 div 2", EMPTY, None),
    ("7 mod 3", EMPTY, None),
    ("-7 mod 3", EMPTY, None),
    ("7 mod -3", EMPTY, None),
    ("1 div 0", EMPTY, None),
    ("-1 div 0", EMPTY, None),
    ("0 div 0", EMPTY, None),
    ("-${n}", FULL, None),
    ("- - 2", EMPTY, None),
    ("${m} * 2 - 1", FULL, None),
    ("1 - 2 - 3", EMPTY, None),
    ("2 * 3 div 4", EMPTY, None),
    ("0.1 + 0.2", EMPTY, None),
    ("1 div 3", EMPTY, None),
    ("'5' + 1", EMPTY, None),
    ("'abc' + 1", EMPTY, None),
    ("${a} + 1", FULL, None),
    ("true() + 1", EMPTY, None),
    # comparisons and booleans
    ("1 < 2 and 2 < 1", EMPTY, None),
    ("1 < 2 or 2 < 1", EMPTY, None),
    ("not(1 = 1)", EMPTY, None),
    ("true() = 'false'", EMPTY, None),
    ("'a' < 'b'", EMPTY, None),
    ("'2' < '10'", EMPTY, None),
    ("1 = 1 = 1", EMPTY, None),
    ("${d} < '2024-06-01'", FULL, None),
    ("${d} < '2024-06-01'", EMPTY, None),
    ("${d} = '2024-05-17'", FULL, None),
    ("${d} > today()", FULL, None),
    ("today() - ${d}", FULL, None),
    ("${n} >= 5 and ${n} <= 10", FULL, None),
    ("not(${a} = 'x') or ${n} < 2", FULL, None),
    # the current question
    (". >= 18 and . <= 120", {"n": "34"}, "n"),
    (". >= 18 and . <= 120", {"n": "12"}, "n"),
    (". >= 18", EMPTY, "n"),
    ("not(selected(., 'none')) or count-selected(.) = 1", {"s": "none tv"}, "s"),
    ("not(selected(., 'none')) or count-selected(.) = 1", {"s": "none"}, "s"),
    ("not(selected(., 'none')) or count-selected(.) = 1", EMPTY, "s"),
    (". = ''", EMPTY, "a"),
    # functions
    ("selected(${s}, 'tv')", FULL, None),
    ("selected(${s}, ' radio ')", FULL, None),
    ("selected(${s}, 'tv')", EMPTY, None),
    ("selected(${s}, '')", FULL, None),
    ("count-selected(${s})", FULL, None),
    ("count-selected(${s})", EMPTY, None),
    ("selected-at(${s}, 1)", FULL, None),
    ("selected-at(${s}, 5)", FULL, None),
    ("selected-at(${s}, -1)", FULL, None),
    ("string-length(${b})", FULL, None),
    ("string-length(${b})", EMPTY, None),
    ("string-length(${n})", FULL, None),
    ("regex(${a}, '^y')", FULL, None),
    ("regex(${a}, '^y')", EMPTY, None),
    ("regex(${b}, '[0-9]')", FULL, None),
    ("if(${a} = 'yes', 'A', 'B')", FULL, None),
    ("if(${a} = 'yes', 'A', 'B')", EMPTY, None),
    ("if(${a} = 'yes', ${n}, 'none')", FULL, None),
    ("if(${a} = 'yes', ${n}, ${m})", EMPTY, None),
    ("if(true(), ${d}, today())", FULL, None),
    ("if(false(), 1, 2 < 3)", EMPTY, None),
    ("coalesce(${n}, ${m})", FULL, None),
    ("coalesce(${n}, ${m})", {"m": "4"}, None),
    ("coalesce(${n}, ${m})", EMPTY, None),
    ("coalesce(${a}, 'none')", EMPTY, None),
    ("coalesce(${a}, 'none')", FULL, None),
    ("concat(${a}, '-', ${n}, '-', ${m})", FULL, None),
    ("concat(${a}, '-', ${n})", EMPTY, None),
    ("concat()", EMPTY, None),
    ("concat(1 div 3, '|', 1 div 0, '|', 0 div 0, '|', 2.0, '|', true())", EMPTY, None),
    ("concat(1000000000000000 * 10, '|', 0.000001, '|', 123.5)", EMPTY, None),
    ("contains(${b}, '서울')", FULL, None),
    ("starts-with(${b}, 'Se')", FULL, None),
    ("ends-with(${b}, 'x')", FULL, None),
    ("substr(${b}, 2, 4)", FULL, None),
    ("substr(${b}, 6)", FULL, None),
    ("substr(${b}, 4, 2)", FULL, None),
    ("string(${n})", FULL, None),
    ("string(${n})", EMPTY, None),
    ("string(1 div 4)", EMPTY, None),
    ("number(${a})", FULL, None),
    ("number(' 12 ')", EMPTY, None),
    ("number('1e3')", EMPTY, None),
    ("number(${n}) + number(${m})", FULL, None),
    ("number('')", EMPTY, None),
    ("number(true())", EMPTY, None),
    ("int(2.7)", EMPTY, None),
    ("int(-2.7)", EMPTY, None),
    ("int(${m})", EMPTY, None),
    ("round(2.5)", EMPTY, None),
    ("round(-2.5)", EMPTY, None),
    ("round(3.14159, 2)", EMPTY, None),
    ("round(${m})", FULL, None),
    ("floor(-1.5)", EMPTY, None),
    ("ceiling(1.2)", EMPTY, None),
    ("abs(-3)", EMPTY, None),
    ("pow(2, 10)", EMPTY, None),
    ("pow(${n}, 2)", EMPTY, None),
    ("min(3, ${n}, 5)", FULL, None),
    ("max(3, ${n}, 5)", EMPTY, None),
    ("boolean(${a})", EMPTY, None),
    ("boolean(0)", EMPTY, None),
    ("boolean('0')", EMPTY, None),
    ("not(${a})", FULL, None),
    ("today()", EMPTY, None),
    ("now() = today()", EMPTY, None),
    ("once(${n} * 2)", FULL, None),
    ("../n > 3", FULL, None),
]


def _python(text: str, answers: dict, current: str | None):
    frame = pl.DataFrame({k: [answers.get(k)] for k in TYPES}, schema={k: pl.Utf8 for k in TYPES})
    out = frame.select(compile_expression(text, current=current, columns=TYPES, today=TODAY).alias("r"))
    dtype, value = out.dtypes[0], out.item()
    if dtype == pl.Boolean:
        return ["bool", value]
    if dtype.is_numeric():
        return ["num", None if value is None or value != value else float(value)]
    if dtype == pl.Date:
        return ["date", None if value is None else value.isoformat()]
    return ["str", "" if value is None else value]  # a bare ${x} compiles to its (null) column: XPath ""


BROWSER = """([cases, types, today]) => cases.map(([text, answers, current]) => {
  const tree = quietpoll.compile(text);
  if (!tree) return ["unsupported", text];
  const ctx = {
    lookup: (name) => name in types ? {type: types[name], value: answers[name] ?? ""} : undefined,
    current: current === null ? null : {type: types[current], value: answers[current] ?? ""},
    today,
  };
  const v = quietpoll.evaluateValue(tree, ctx);
  if (v === null) return ["unsupported", text];
  const k = {numref: "num", strref: "str", dateref: "str"}[v.k] || v.k;
  if (k === "num") return ["num", Number.isNaN(v.v) ? null : v.v];
  if (k === "date") return ["date", Number.isNaN(v.v) ? null : new Date(v.v * 86400000).toISOString().slice(0, 10)];
  return [k, v.v];
})"""


def _page(study, browser_context):
    context, _ = browser_context
    return open_form(context, study["base"], FORM)


def test_browser_and_python_evaluators_agree(study, browser_context):
    page = _page(study, browser_context)
    days = (TODAY - dt.date(1970, 1, 1)).days
    got = page.evaluate(BROWSER, [[[t, a, c] for t, a, c in CASES], TYPES, days])
    want = [_python(t, a, c) for t, a, c in CASES]
    diffs = [(CASES[i][0], CASES[i][1] is FULL, g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w]
    assert not diffs, "\n".join(f"{t!r} (answered={f}): browser {g}, python {w}" for t, f, g, w in diffs)
    # the table exercises every kind and both empty and answered questions
    assert {w[0] for w in want} == {"bool", "num", "str", "date"}
    assert sum(w[1] is None for w in want) >= 5


def test_browser_refuses_what_it_cannot_evaluate(study, browser_context):
    page = _page(study, browser_context)
    unsupported = [
        "sum(${n})",
        "${a} | ${b}",
        "/data/a = 1",
        "instance('x')/root/item",
        "pulldata('a', 'b', 'c', 'd')",
        "regex(${a}, ${b})",
        "substring(${a}, 1)",
        "not(1, 2)",
        "${a} = ",
        "jr:choice-name(${o}, '${o}')",
    ]
    compiled = page.evaluate("(texts) => texts.map((t) => quietpoll.compile(t) !== null)", unsupported)
    assert compiled == [False] * len(unsupported)
    # an unknown question, '.' without a current question, and random() outside a calculation
    assert (
        page.evaluate("""() => [
        quietpoll.evaluate(quietpoll.compile("${zz} = 1"), {lookup: () => undefined, current: null}),
        quietpoll.evaluate(quietpoll.compile(". = 1"), {lookup: () => undefined, current: null}),
        quietpoll.evaluate(quietpoll.compile("random() < 2"), {lookup: () => undefined, current: null})]""")
        == [None] * 3
    )


def test_function_table_is_the_bundles(study, browser_context):
    page = _page(study, browser_context)
    functions = page.evaluate("quietpoll.functions")
    assert {k: tuple(v) for k, v in functions.items()} == BROWSER_FUNCTIONS


def test_once_random_is_drawn_once_per_memo(study, browser_context):
    page = _page(study, browser_context)
    draws = page.evaluate("""() => {
        const tree = quietpoll.compile("once(random())");
        let n = 0;
        const random = () => { n += 1; return n / 10; };
        const memo = new Map();
        const ctx = {lookup: () => undefined, current: null, memo, random};
        const first = [quietpoll.evaluateValue(tree, ctx).v, quietpoll.evaluateValue(tree, ctx).v];
        const other = quietpoll.evaluateValue(tree, {...ctx, memo: new Map()}).v;
        return [first, other, n];
    }""")
    assert draws == [[0.1, 0.1], 0.2, 2]


@pytest.mark.parametrize("text", ["${a} + ", "once(random(1))"])
def test_python_and_browser_both_reject_broken_expressions(text, study, browser_context):
    from quietpoll.errors import UnsupportedExpression

    page = _page(study, browser_context)
    assert page.evaluate("(t) => quietpoll.compile(t)", text) is None
    with pytest.raises(UnsupportedExpression):
        compile_expression(text, columns=TYPES)


# ---- random expressions: the same seeded sample of the grammar, evaluated in both -------------------
LEAVES = [
    "${a}",
    "${b}",
    "${n}",
    "${m}",
    "${s}",
    "${o}",
    "${d}",
    "${c}",
    "0",
    "1",
    "2.5",
    "7",
    "0.1",
    "''",
    "'yes'",
    "'7'",
    "'tv'",
    "'2024-05-17'",
    "' 3 '",
    "true()",
    "false()",
    ".",
    "today()",
    "-0.5",
]
BINARY = ["or", "and", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "div", "mod"]
CALLS = {
    "if": 3,
    "coalesce": 2,
    "concat": 3,
    "selected": 2,
    "count-selected": 1,
    "string-length": 1,
    "number": 1,
    "int": 1,
    "round": 1,
    "not": 1,
    "boolean": 1,
    "string": 1,
    "contains": 2,
    "substr": 3,
    "min": 2,
    "max": 2,
    "abs": 1,
    "floor": 1,
    "ceiling": 1,
    "starts-with": 2,
    "selected-at": 2,
}


def _random_expression(rng, depth: int) -> str:
    roll = rng.random()
    if depth <= 0 or roll < 0.3:
        return rng.choice(LEAVES)
    if roll < 0.65:
        return f"({_random_expression(rng, depth - 1)} {rng.choice(BINARY)} {_random_expression(rng, depth - 1)})"
    if roll < 0.7:
        return f"-{_random_expression(rng, depth - 1)}"
    name = rng.choice(sorted(CALLS))
    return f"{name}({', '.join(_random_expression(rng, depth - 1) for _ in range(CALLS[name]))})"


def test_random_expressions_agree(study, browser_context):
    import random

    rng = random.Random(20261122)
    partial = {"a": "no", "n": "0", "s": "radio", "d": "2030-01-31", "c": "0.75"}
    cases = [
        (_random_expression(rng, 3), rng.choice([FULL, EMPTY, partial]), rng.choice(["n", "a", "s"]))
        for _ in range(400)
    ]
    page = _page(study, browser_context)
    days = (TODAY - dt.date(1970, 1, 1)).days
    got = page.evaluate(BROWSER, [[list(c) for c in cases], TYPES, days])
    want = [_python(*c) for c in cases]
    diffs = [(cases[i], g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w]
    assert not diffs, "\n".join(f"{c[0]!r} {c[1]}: browser {g}, python {w}" for c, g, w in diffs[:20])


# ---- choice_filter over columns of the choices sheet -------------------------------------------------
# In a choice_filter a bare name reads the choice's row: `name`, or another column (`province`, `pop`).
# The Python evaluator has no choice rows, but a column of the choices sheet is text, exactly as a text
# question: the same filter with ${province} etc. over text columns must give the browser's result.
CHOICE_COLUMNS = ["name", "province", "pop"]
CHOICE_ROWS = [
    {"name": "c1", "province": "p1", "pop": "5"},
    {"name": "c2", "province": "p2", "pop": ""},
    {"name": "c3", "province": "", "pop": "12"},
]
CHOICE_FILTERS = [
    "province = ${o}",
    "province = 'p1'",
    "province != ${o}",
    "pop > 3",
    "pop > ${n}",
    "pop = ''",
    "pop * 2 = 10",
    "province = ${o} and pop > 3",
    "name = 'c2' or pop >= 12",
    "selected(${s}, name)",
    "contains(province, '2')",
    "string-length(province) = 0",
    "if(pop = '', 'none', province) = 'none'",
    "number(pop) < ${m} * 3",
    "coalesce(province, 'p2') = 'p2'",
    "not(province = 'p1')",
]
CHOICE_ANSWERS = {"o": "p1", "n": "4", "s": "c1 c3", "m": "2.5"}


def _python_choice(text: str, row: dict) -> list:
    import re

    rewritten = re.sub(r"(?<![\w${.])(name|province|pop)(?![\w}(])", r"${\1}", text)
    columns = {**TYPES, **dict.fromkeys(CHOICE_COLUMNS, "text")}
    frame = pl.DataFrame(
        {k: [{**CHOICE_ANSWERS, **row}.get(k) or None] for k in columns}, schema={k: pl.Utf8 for k in columns}
    )
    out = frame.select(compile_expression(rewritten, columns=columns, today=TODAY).alias("r"))
    return ["bool", out.item()]


def test_choice_filter_columns_agree_with_text_questions(study, browser_context):
    page = _page(study, browser_context)
    got = page.evaluate(
        """([filters, rows, answers, types]) => filters.map((text) => rows.map((row) => {
             const tree = quietpoll.compile(text);
             if (!tree) return ["unsupported", text];
             const data = {province: row.province, pop: row.pop};
             const ctx = {lookup: (n) => n in types ? {type: types[n], value: answers[n] ?? ""} : undefined,
                          current: null, choiceName: row.name, choiceData: data};
             return ["bool", quietpoll.evaluate(tree, ctx)];
           }))""",
        [CHOICE_FILTERS, CHOICE_ROWS, CHOICE_ANSWERS, TYPES],
    )
    want = [[_python_choice(t, row) for row in CHOICE_ROWS] for t in CHOICE_FILTERS]
    diffs = [(t, g, w) for t, g, w in zip(CHOICE_FILTERS, got, want) if g != w]
    assert not diffs, diffs
    # both results occur for most filters (the table is not trivially all true or all false)
    assert sum(len({r[1] for r in row}) == 2 for row in want) >= 10
    # a column the row does not have, or a bare name outside a choice_filter: not evaluated (null)
    assert page.evaluate("""() => [
        quietpoll.evaluate(quietpoll.compile("region = 'x'"), {lookup: () => undefined, current: null, choiceName: "c1", choiceData: {}}),
        quietpoll.evaluate(quietpoll.compile("province = 'p1'"), {lookup: () => undefined, current: null})]""") == [
        None,
        None,
    ]
