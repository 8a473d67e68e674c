"""click parameter types for the values the CLI used to parse by hand: NUM/DEN, COL@P[,P...], COL=VALUE,
X[,X...], design|inf|N and N/SECONDS. A bad value is a click usage error: one line on stderr naming the
flag ("Invalid value for '--ratio': ..."), exit status 2."""

from __future__ import annotations

from typing import Any

import click

__all__ = ["RATIO", "QUANTILE", "KEY_VALUE", "FLOATS", "DF", "RATE_LIMIT", "OUTPUT_FILE", "DataFileType"]


def _numbers(text: str) -> list[float] | None:
    try:
        out = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        return None
    return out or None


class RatioType(click.ParamType):
    """NUM/DEN[,NUM/DEN...] -> [(num, den), ...]."""

    name = "NUM/DEN"

    def convert(self, value: Any, param, ctx) -> list[tuple[str, str]]:
        if isinstance(value, list):
            return value
        out = []
        for item in (v.strip() for v in str(value).split(",")):
            if not item:
                continue
            num, sep, den = (s.strip() for s in item.partition("/"))
            if not sep or not num or not den or "/" in den:
                self.fail(f"takes NUM/DEN, e.g. api00/api99; got {item!r}", param, ctx)
            out.append((num, den))
        if not out:
            self.fail(f"takes NUM/DEN, e.g. api00/api99; got {value!r}", param, ctx)
        return out


class QuantileType(click.ParamType):
    """COL@P[,P...] -> (col, [p, ...]) with every P in [0, 1]."""

    name = "COL@P[,P...]"

    def convert(self, value: Any, param, ctx) -> tuple[str, list[float]]:
        if isinstance(value, tuple):
            return value
        col, sep, probs = str(value).partition("@")
        ps = _numbers(probs) if sep else None
        if not col.strip() or ps is None:
            self.fail(f"takes COL@P[,P...], e.g. income@0.25,0.5; got {value!r}", param, ctx)
        if any(not 0 <= p <= 1 for p in ps):
            self.fail(f"probabilities must be between 0 and 1; got {value!r}", param, ctx)
        return col.strip(), ps


class KeyValueType(click.ParamType):
    """COL=VALUE -> (col, value) (both stripped; the value may be empty only when `allow_empty`)."""

    name = "COL=VALUE"

    def __init__(self, allow_empty: bool = False) -> None:
        self.allow_empty = allow_empty

    def convert(self, value: Any, param, ctx) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        key, sep, val = (s.strip() for s in str(value).partition("="))
        if not sep or not key or (not val and not self.allow_empty):
            self.fail(f"takes COL=VALUE; got {value!r}", param, ctx)
        return key, val


class FloatsType(click.ParamType):
    """X[,X...] -> [x, ...]."""

    name = "X[,X...]"

    def convert(self, value: Any, param, ctx) -> list[float]:
        if isinstance(value, list):
            return value
        out = _numbers(str(value))
        if out is None:
            self.fail(f"takes numbers separated by commas; got {value!r}", param, ctx)
        return out


class DfType(click.ParamType):
    """Degrees of freedom: 'design', 'inf' or a positive number."""

    name = "design|inf|N"

    def convert(self, value: Any, param, ctx) -> str | float:
        if isinstance(value, float) or value in ("design", "inf"):
            return value
        try:
            df = float(value)
        except ValueError:
            df = None
        if df is None or not df > 0:
            self.fail(f"takes design, inf or a positive number; got {value!r}", param, ctx)
        return df


class RateLimitType(click.ParamType):
    """N/SECONDS -> (n, seconds) with N >= 1 and 0 < SECONDS < 10**7."""

    name = "N/SECONDS"

    def convert(self, value: Any, param, ctx) -> tuple[int, float]:
        if isinstance(value, tuple):
            return value
        n, sep, seconds = str(value).partition("/")
        try:
            limit = (int(n), float(seconds)) if sep else None
        except ValueError:
            limit = None
        if limit is None or limit[0] < 1 or not 0 < limit[1] < 10**7:
            self.fail(f"must be N/SECONDS with N >= 1 and SECONDS > 0, got {value!r}", param, ctx)
        return limit


RATIO = RatioType()
QUANTILE = QuantileType()
KEY_VALUE = KeyValueType()
FLOATS = FloatsType()
DF = DfType()
RATE_LIMIT = RateLimitType()


class DataFileType(click.ParamType):
    """A data file path whose extension quietpoll reads (or, with `write`, writes): the extensions come from
    the file-format registry (quietpoll.io.FILE_FORMATS), imported when a value is checked."""

    def __init__(self, write: bool = False) -> None:
        self.write = write
        self.name = "FILE"

    def convert(self, value: Any, param, ctx) -> str:
        from pathlib import Path

        from ..io import READ_FORMATS, WRITE_FORMATS, supported_extensions

        formats = WRITE_FORMATS if self.write else READ_FORMATS
        ext = Path(str(value)).suffix.lower().lstrip(".")
        if ext not in formats:
            shown = f"extension '.{ext}'" if ext else "no extension"
            verb = "write" if self.write else "read"
            self.fail(f"cannot {verb} a file with {shown}; use one of {supported_extensions(self.write)}", param, ctx)
        return str(value)


OUTPUT_FILE = DataFileType(write=True)
