"""A select_multiple question as KoboToolbox and ODK export it: the space-separated text plus one 0/1
column per option ("q/option"). Each option is estimated as its own share (the weighted mean of its 0/1
column), never the combinations of options."""

from __future__ import annotations

from ..errors import ColumnError

__all__ = ["select_multiple_columns", "one_share_per_option"]


def select_multiple_columns(frame, props: list[str]) -> dict[str, list[str]]:
    """VAR -> its option columns "VAR/option" when the data hold a select_multiple the way KoboToolbox
    and ODK export it (one 0/1 column per option beside the space-separated text): each option is then
    estimated as its own share, never the combinations of options."""
    import polars as pl

    out: dict[str, list[str]] = {}
    for v in props:
        cols = [c for c in frame.columns if c.startswith(v + "/") and len(c) > len(v) + 1]
        ok = cols and all(
            frame.schema[c].is_numeric() and frame.get_column(c).drop_nulls().is_in([0, 1]).all() for c in cols
        )
        if ok:
            out[v] = cols
        elif cols and not frame.schema.get(v, pl.Null).is_numeric():
            raise ColumnError(f"{{prop}} {v}: its option columns ({cols[0]}, ...) are not all 0/1", param="prop")
    return out


def one_share_per_option(table, multi: dict[str, list[str]]):
    """The table with each option column's share of 1 as a row of its question: variable = the
    question, level = the option (the 0 rows dropped). The joint covariance is not kept for them."""
    import dataclasses

    option_of = {c: (v, c[len(v) + 1 :]) for v, cols in multi.items() for c in cols}
    rows = []
    for r in table.rows:
        if r.variable in option_of:
            if str(r.level) not in ("1", "1.0", "True", "true"):
                continue
            v, opt = option_of[r.variable]
            r = dataclasses.replace(r, variable=v, level=opt)
        rows.append(r)
    return dataclasses.replace(table, rows=tuple(rows), pieces=(), engine=None)
