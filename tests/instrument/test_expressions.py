"""XLSForm expression parser and evaluator: a table of (expression, row, expected)."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quietpoll.errors import QuietpollError, UnsupportedExpression
from quietpoll.instrument.expressions import (
    Binary,
    Call,
    Current,
    ExpressionSyntaxError,
    Negate,
    Number,
    Ref,
    String,
    as_boolean,
    compile_expression,
    parse,
    references,
)

TODAY = dt.date(2024, 6, 1)
TYPES = {
    "age": "integer",
    "wt": "decimal",
    "name": "text",
    "m": "select_multiple",
    "s": "select_one",
    "d": "date",
    "a": "text",
    "b": "text",
    "c": "text",
    "n": "integer",
}
SCHEMA = {
    "age": pl.Int64,
    "wt": pl.Float64,
    "name": pl.Utf8,
    "m": pl.Utf8,
    "s": pl.Utf8,
    "d": pl.Date,
    "a": pl.Utf8,
    "b": pl.Utf8,
    "c": pl.Utf8,
    "n": pl.Int64,
}
E = {}  # an empty row: nothing answered
NAN = float("nan")  # marks an expected NaN (null) number

TABLE = [
    # literals and arithmetic
    ("1", E, 1.0),
    ("'abc'", E, "abc"),
    ('"x y"', E, "x y"),
    ("1 + 2 * 3", E, 7.0),
    ("(1 + 2) * 3", E, 9.0),
    ("10 - 4 - 3", E, 3.0),
    ("2 * 3 + 4", E, 10.0),
    ("7 div 2", E, 3.5),
    ("8 div 2 div 2", E, 2.0),
    ("7 mod 3", E, 1.0),
    ("-7 mod 3", E, -1.0),
    ("7 mod -3", E, 1.0),
    ("5.5 mod 2", E, 1.5),
    ("-3", E, -3.0),
    ("- -3", E, 3.0),
    ("-(2 + 3)", E, -5.0),
    ("2 - -1", E, 3.0),
    ("1 div 0", E, math.inf),
    ("${age} + 1", {"age": 4}, 5.0),
    ("${age} + 1", E, NAN),
    ("${wt} * 2", {"wt": 1.25}, 2.5),
    ("${age} * ${wt}", {"age": 2, "wt": 1.5}, 3.0),
    ("'3' + 2", E, 5.0),
    ("'abc' + 2", E, NAN),
    ("${n} div ${age}", {"n": 9, "age": 3}, 3.0),
    # comparisons and null semantics
    ("${age} > 5", {"age": 6}, True),
    ("${age} > 5", {"age": 5}, False),
    ("${age} > 5", E, False),
    ("${age} < 5", E, False),
    ("${age} >= 5", {"age": 5}, True),
    ("${age} <= 5", {"age": 5}, True),
    ("${age} = 5", {"age": 5}, True),
    ("${age} = '5'", {"age": 5}, True),
    ("${age} != 5", E, True),
    ("${age} != 5", {"age": 5}, False),
    ("${age} = ''", E, True),
    ("${age} = ''", {"age": 0}, False),
    ("${age} != ''", {"age": 0}, True),
    ("${name} = ''", E, True),
    ("${name} = ''", {"name": ""}, True),
    ("${name} != ''", {"name": "Kim"}, True),
    ("${name} = 'Kim'", {"name": "Kim"}, True),
    ("${name} = 'kim'", {"name": "Kim"}, False),
    ("${a} = ${b}", {"a": "x", "b": "x"}, True),
    ("${a} = ${b}", E, True),
    ("${a} != ${b}", {"a": "x"}, True),
    ("'10' = 10", E, True),
    ("'10.0' = 10", E, True),
    ("'abc' = 0", E, False),
    ("'2' < '10'", E, True),  # relational comparisons are numeric in XPath
    ("'abc' < 1", E, False),
    ("1 = 1.0", E, True),
    ("true() = 1", E, True),
    ("false() = ''", E, True),
    ("${s} = 'yes'", {"s": "yes"}, True),
    ("${age} > ${n}", {"age": 3, "n": 2}, True),
    ("${age} > ${n}", {"age": 3}, False),
    # logic and precedence
    ("true() and false()", E, False),
    ("true() or false()", E, True),
    ("not(${a}) or ${b} and ${c}", {"a": "x", "b": "y", "c": ""}, False),
    ("not(${a}) or ${b} and ${c}", {"b": "", "c": ""}, True),
    ("not(${a}) or ${b} and ${c}", {"a": "x", "b": "y", "c": "z"}, True),
    ("1 < 2 and 2 < 3", E, True),
    ("1 = 1 or 1 div 0", E, True),
    ("${age} > 5 and ${age} < 10", {"age": 7}, True),
    ("1 + 1 = 2", E, True),
    ("2 > 1 = true()", E, True),
    # selects
    ("selected(${m}, 'b')", {"m": "a b c"}, True),
    ("selected(${m}, 'd')", {"m": "a b c"}, False),
    ("selected(${m}, 'a')", E, False),
    ("selected(${m}, 'b')", {"m": "  a   b "}, True),
    ("selected(${m}, 'ab')", {"m": "a b"}, False),
    ("selected(${s}, 'yes')", {"s": "yes"}, True),
    ("count-selected(${m})", {"m": "a b c"}, 3.0),
    ("count-selected(${m})", E, 0.0),
    ("selected-at(${m}, 0)", {"m": "a b c"}, "a"),
    ("selected-at(${m}, 2)", {"m": "a b c"}, "c"),
    ("selected-at(${m}, 5)", {"m": "a b c"}, ""),
    ("not(selected(${m}, 'none')) or count-selected(${m}) = 1", {"m": "none"}, True),
    ("not(selected(${m}, 'none')) or count-selected(${m}) = 1", {"m": "none tv"}, False),
    # strings
    ("string-length(${name})", {"name": "abcd"}, 4.0),
    ("string-length(${name})", E, 0.0),
    ("string-length('한국어')", E, 3.0),
    ("regex(${name}, '^[a-z]+$')", {"name": "abc"}, True),
    ("regex(${name}, '^[a-z]+$')", {"name": "ab1"}, False),
    ("regex(${name}, '^[0-9]{3}$')", E, False),
    ("concat('a', 'b', 'c')", E, "abc"),
    ("concat(${name}, '-', ${age})", {"name": "x", "age": 3}, "x-3"),
    ("concat(${name}, '-', ${age})", E, "-"),
    ("concat(1.5, '|', 2)", E, "1.5|2"),
    ("contains('foobar', 'oba')", E, True),
    ("contains('foobar', 'x')", E, False),
    ("contains(${name}, '.')", {"name": "a.b"}, True),
    ("starts-with('foobar', 'foo')", E, True),
    ("starts-with('foobar', 'bar')", E, False),
    ("ends-with('foobar', 'bar')", E, True),
    ("substr('abcdef', 1, 3)", E, "bc"),
    ("substr('abcdef', 2)", E, "cdef"),
    ("substring('12345', 2, 3)", E, "234"),
    ("substring('12345', 2)", E, "2345"),
    ("substring-before('1999/04/01', '/')", E, "1999"),
    ("substring-after('1999/04/01', '/')", E, "04/01"),
    ("substring-before('abc', 'x')", E, ""),
    ("translate('bar', 'abc', 'ABC')", E, "BAr"),
    ("translate('--aaa--', 'abc-', 'ABC')", E, "AAA"),
    ("normalize-space('  a   b  ')", E, "a b"),
    ("string(5)", E, "5"),
    ("string(2.5)", E, "2.5"),
    ("string(true())", E, "true"),
    ("string(${age})", E, ""),
    ("string(0 div 0)", E, "NaN"),
    ("1 <= string(0 div 0)", E, False),  # the text 'NaN' read as a number is NaN: false with anything
    ("1 > 'NaN'", E, False),
    ("'NaN' != 1", E, True),
    # numbers
    ("number('12')", E, 12.0),
    ("number(' 12 ')", E, 12.0),
    ("number('x')", E, NAN),
    ("number(true())", E, 1.0),
    ("int(3.7)", E, 3.0),
    ("int(-3.7)", E, -3.0),
    ("round(2.5)", E, 3.0),
    ("round(-2.5)", E, -2.0),
    ("round(3.14159, 2)", E, 3.14),
    ("floor(2.7)", E, 2.0),
    ("ceiling(2.1)", E, 3.0),
    ("abs(-4)", E, 4.0),
    ("pow(2, 10)", E, 1024.0),
    ("sqrt(16)", E, 4.0),
    ("min(3, 1, 2)", E, 1.0),
    ("max(3, 1, 2)", E, 3.0),
    ("max(3, ${age})", E, NAN),
    ("min(${age}, ${n})", {"age": 4, "n": 9}, 4.0),
    # booleans
    ("boolean(0)", E, False),
    ("boolean(2)", E, True),
    ("boolean('')", E, False),
    ("boolean('0')", E, True),
    ("boolean(${age})", {"age": 0}, False),
    ("boolean(${age})", E, False),
    ("boolean-from-string('true')", E, True),
    ("boolean-from-string('1')", E, True),
    ("boolean-from-string('yes')", E, False),
    ("not(true())", E, False),
    ("not(${name})", E, True),
    ("true()", E, True),
    ("false()", E, False),
    # if / coalesce
    ("if(${age} >= 18, 'adult', 'minor')", {"age": 20}, "adult"),
    ("if(${age} >= 18, 'adult', 'minor')", E, "minor"),
    ("if(${s} = 'yes', 1, 0)", {"s": "yes"}, 1.0),
    ("if(${s} = 'yes', 1, 0) + 1", E, 1.0),
    ("if(true(), ${age}, 0)", {"age": 5}, 5.0),
    ("coalesce(${name}, 'none')", E, "none"),
    ("coalesce(${name}, 'none')", {"name": "Kim"}, "Kim"),
    ("coalesce(${age}, 0)", E, 0.0),
    ("coalesce(${age}, 0)", {"age": 7}, 7.0),
    # dates
    ("${d} < today()", {"d": dt.date(2024, 1, 1)}, True),
    ("${d} > today()", {"d": dt.date(2024, 1, 1)}, False),
    ("${d} < today()", E, False),
    ("today() - ${d}", {"d": dt.date(2024, 5, 30)}, 2.0),
    ("${d} >= date('2020-01-01')", {"d": dt.date(2021, 3, 1)}, True),
    ("${d} >= '2022-01-01'", {"d": dt.date(2021, 3, 1)}, False),
    ("${d} = date('2021-03-01')", {"d": dt.date(2021, 3, 1)}, True),
    ("date('1970-01-02')", E, dt.date(1970, 1, 2)),
    ("date(1)", E, dt.date(1970, 1, 2)),
    ("decimal-date-time('1970-01-11')", E, 10.0),
    ("today()", E, TODAY),
    ("now() = today()", E, True),
    # the current question
    (". > 3", {"age": 4}, True),
    (". >= 0 and . <= 120", E, False),
    ("string-length(.) <= 5", {"age": 123}, True),
    ("once(${age})", {"age": 2}, 2.0),
]


def _frame(row):
    data = {k: [row.get(k)] for k in SCHEMA}
    return pl.DataFrame(data, schema=SCHEMA)


@pytest.mark.parametrize(("text", "row", "expected"), TABLE, ids=[t[0] for t in TABLE])
def test_table(text, row, expected):
    expr = compile_expression(text, current="age", columns=TYPES, today=TODAY)
    got = _frame(row).select(expr.alias("r"))["r"][0]
    if isinstance(expected, float) and math.isnan(expected):
        assert got is None or (isinstance(got, float) and math.isnan(got))
    elif isinstance(expected, float) and not isinstance(expected, bool):
        assert got == pytest.approx(expected)
    else:
        assert got == expected


def test_table_is_large():
    assert len(TABLE) >= 80


def test_without_column_types_references_are_text_but_compare_numerically():
    df = pl.DataFrame({"age": ["3", "10", None]})
    out = df.select(compile_expression("${age} > 5").alias("r"))["r"].to_list()
    assert out == [False, True, False]
    out = df.select(compile_expression("${age} = ''").alias("r"))["r"].to_list()
    assert out == [False, False, True]


def test_numeric_question_stored_as_text():
    df = pl.DataFrame({"age": ["3", "", "12"]})
    out = df.select(compile_expression("${age} >= 10", columns={"age": "integer"}).alias("r"))
    assert out["r"].to_list() == [False, False, True]


def test_as_boolean_reads_xpath_boolean():
    df = pl.DataFrame({"n": [0, 2, None]})
    out = df.select(as_boolean("${n}", columns={"n": "integer"}).alias("r"))["r"].to_list()
    assert out == [False, True, False]


def test_vectorised_over_rows():
    df = pl.DataFrame({"m": ["tv radio", None, "usb"], "age": [20, 30, None]})
    expr = compile_expression("selected(${m}, 'tv') or ${age} > 25", columns={"m": "select_multiple", "age": "integer"})
    assert df.select(expr.alias("r"))["r"].to_list() == [True, True, False]


# ------------------------------------------------------------------------------- parser
def test_parse_precedence():
    assert parse("1 + 2 * 3") == Binary("+", Number(1.0), Binary("*", Number(2.0), Number(3.0)))
    tree = parse("not(a) or b and c")
    assert isinstance(tree, Binary) and tree.op == "or"
    assert isinstance(tree.right, Binary) and tree.right.op == "and"
    assert parse("-${x}") == Negate(Ref("x"))
    assert parse(".") == Current()
    assert parse("selected(${m}, 'a')") == Call("selected", (Ref("m"), String("a")))


def test_parse_operator_names_are_context_dependent():
    # 'div' after an operand is the operator; at the start it is a name (a path step)
    assert parse("4 div 2") == Binary("div", Number(4.0), Number(2.0))
    tree = parse("${a} * ${b}")
    assert isinstance(tree, Binary) and tree.op == "*"


def test_references():
    assert references(parse("if(${a} > 1, concat(${b}, 'x'), ${c})")) == {"a", "b", "c"}


UNSUPPORTED = [
    ("jr:choice-name(${s}, '${s}')", "jr:choice-name"),
    ("random()", "random"),
    ("sum(${n})", "sum"),
    ("count(${n})", "count"),
    ("pulldata('f', 'a', 'b', ${n})", "pulldata"),
    ("indexed-repeat(${n}, ${r}, 1)", "indexed-repeat"),
    ("position(..)", "position"),
    ("uuid()", "uuid"),
    ("format-date(${d}, '%Y')", "format-date"),
    ("instance('x')/root/item[name = 1]/label", "instance"),
    ("/data/age > 3", "/data/age"),
    ("a | b", "union"),
    ("regex(${name}, ${a})", "regex"),
    ("translate(${name}, ${a}, 'x')", "translate"),
]


@pytest.mark.parametrize(("text", "named"), UNSUPPORTED)
def test_unsupported_raises_naming_it(text, named):
    with pytest.raises(UnsupportedExpression) as info:
        compile_expression(text, columns=dict(TYPES, r="text"))
    assert named in str(info.value)


def test_current_without_current_question():
    with pytest.raises(UnsupportedExpression, match="current"):
        compile_expression(". > 1")


def test_unknown_reference_with_columns():
    with pytest.raises(UnsupportedExpression, match="nope"):
        compile_expression("${nope} > 1", columns=TYPES)


@pytest.mark.parametrize(
    "text",
    ["", "1 +", "(1", "1)", "${}", "f(1,", "'unterminated", "1 ~ 2", "and and", "a[1", "//", "@"],
)
def test_syntax_errors(text):
    with pytest.raises(ExpressionSyntaxError):
        parse(text)


def test_wrong_number_of_arguments():
    with pytest.raises(ExpressionSyntaxError, match="selected"):
        compile_expression("selected(${m})", columns=TYPES)


def test_bad_regex_pattern():
    with pytest.raises(UnsupportedExpression, match="regex"):
        compile_expression("regex(${name}, '(')", columns=TYPES)


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(ExpressionSyntaxError):
        parse("(" * 5000 + "1" + ")" * 5000)
    with pytest.raises(ExpressionSyntaxError):
        parse("-" * 5000 + "1")


_ALPHABET = st.sampled_from(
    list("abc${}()[]'\" .,=!<>+-*/|@:0123456789_\n\t")
    + ["and", "or", "div", "mod", "selected(", "${x}", "if(", "not(", ")", "..", "//"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_parse_never_crashes_on_random_text(text):
    try:
        parse(text)
    except QuietpollError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_parse_and_compile_never_crash_on_arbitrary_unicode(text):
    try:
        compile_expression(text, columns=TYPES, current="age", today=TODAY)
    except QuietpollError:
        pass
