"""How the CLI prints: the default output format, rich consoles and tables, numbers as text. rich is
imported only when something is printed as a table."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import click

__all__ = ["console", "default_format", "emit", "echo_json", "fmt", "print_table"]

FORMATS = ("table", "json", "csv")


def console(stderr: bool = False):
    """A rich console: the terminal's width, or 160 columns when the output is piped."""
    from rich.console import Console

    if stderr:
        return Console(stderr=True)
    return Console() if sys.stdout.isatty() else Console(width=160)


def default_format() -> str:
    """table on a terminal, json when the output goes to a file or another program."""
    return "table" if sys.stdout.isatty() else "json"


def echo_json(obj: Any, **kw: Any) -> None:
    """One JSON object on standard output (never NaN)."""
    click.echo(json.dumps(obj, allow_nan=False, **kw))


def fmt(x: Any, digits: int = 4) -> str:
    """A number for a table cell: '-' for missing, 'inf', else `digits` significant digits."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def rich_table(*args: Any, **kw: Any):
    """A rich Table (imported on first use)."""
    from rich.table import Table

    return Table(*args, **kw)


def emit(table, out_format: str) -> None:
    """An estimates Table as json, csv (formula-neutralized) or a rich table."""
    if out_format == "json":
        echo_json(table.to_json_obj())
    elif out_format == "csv":
        from ..safe_output import neutralize_formulas

        click.echo(neutralize_formulas(table.to_polars()).write_csv(), nl=False)
    else:
        print_table(table, console())


def print_table(table, out_console, title: str | None = None) -> None:
    """An estimates Table as a rich table with the design in its caption."""
    d = table.design
    cap = f"{d.get('kind')} design, n = {d.get('n')}, df = {fmt(d.get('df'))}"
    t = rich_table(title=title, caption=cap, show_lines=False)
    for col in ("statistic", "variable", "level", "domain", "estimate", "se", "ci", "df", "deff", "n", "missing"):
        t.add_column(col, justify="right" if col in ("estimate", "se", "df", "deff", "n", "missing") else "left")
    for r in table.rows:
        dom = ", ".join(f"{k}={v}" for k, v in r.domain.items())
        ci = f"[{fmt(r.ci_low, 5)}, {fmt(r.ci_high, 5)}] {r.ci_method}"
        stat = f"{r.statistic} ({r.method})" if getattr(r, "method", None) else r.statistic
        t.add_row(
            stat,
            r.variable,
            fmt(r.level),
            dom,
            fmt(r.estimate, 6),
            fmt(r.se, 4),
            ci,
            fmt(r.df, 4),
            fmt(r.deff, 3),
            str(r.n),
            str(r.n_missing),
        )
    out_console.print(t)
