"""Writing files that may hold respondents' answers: formula-inert spreadsheets, private modes, no overwrite.

Every CSV and XLSX writer of the package goes through :func:`neutralize_formulas` (one function, so a
writer cannot forget a rule), and files that hold decrypted answers or keys are created by
:func:`private_output` with mode 0600 from the start (never chmod after the fact: a file readable by
others for a moment has already leaked).

Formula injection (OWASP "CSV Injection"): a text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return is taken by Excel, LibreOffice and Google Sheets as a formula (``=HYPERLINK(...)``
sends the row to another host, DDE runs programs). A submitter controls the text answers, so every such
text cell is written with a leading single quote (``'=1+1``): spreadsheets show it as text and the quote
is visible, nothing is lost. Text that is exactly a number (``-9``, ``+3.5``, ``-1e3``: don't-know codes,
negative amounts) is left alone: a spreadsheet reads it as that number and runs nothing. Numeric columns
are never touched. Column names get the same treatment (a field name in a sealed submission is also
submitter-controlled). XLSX workbooks are opened by :func:`xlsx_workbook` with ``strings_to_formulas``,
``strings_to_urls`` and ``strings_to_numbers`` off, so xlsxwriter stores every string as a string, and
``in_memory`` on, so no decrypted sheet passes through the temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import polars as pl

__all__ = [
    "FORMULA_PREFIXES",
    "neutralize_formulas",
    "neutralize_name",
    "private_output",
    "private_dir",
    "xlsx_workbook",
    "XLSX_OPTIONS",
]

#: Leading characters that make a spreadsheet cell a formula (OWASP CSV injection guidance).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_TRIGGER = r"^[=+\-@\t\r]"
_NUMBER = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"

#: xlsxwriter Workbook options for every XLSX the package writes.
XLSX_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": True,
    "in_memory": True,
    "default_date_format": "yyyy-mm-dd",
}


def _inert(text: str) -> bool:
    return not text.startswith(FORMULA_PREFIXES) or re.fullmatch(_NUMBER, text) is not None


def neutralize_name(name: str) -> str:
    """A column name or single cell made formula-inert (the rule of :func:`neutralize_formulas`)."""
    return name if _inert(name) else "'" + name


def neutralize_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every text cell (String, Categorical, Enum columns) and column name that a
    spreadsheet would run as a formula prefixed with a single quote; numbers stay numbers. Vectorized."""
    exprs = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum)):
            col = pl.col(name).cast(pl.String)
            risky = col.str.contains(_TRIGGER) & ~col.str.contains(_NUMBER)
            fixed = pl.when(risky).then(pl.lit("'") + col).otherwise(col)
            exprs.append(fixed.alias(name))
    out = frame.with_columns(exprs) if exprs else frame
    names = {c: neutralize_name(c) for c in out.columns}
    changed = {old: new for old, new in names.items() if old != new}
    return out.rename(changed) if changed else out


def xlsx_workbook(target):
    """An xlsxwriter Workbook for ``target`` (path or binary file) with :data:`XLSX_OPTIONS`."""
    import xlsxwriter

    return xlsxwriter.Workbook(target if not isinstance(target, os.PathLike) else os.fspath(target), XLSX_OPTIONS)


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create folder ``path`` (and missing parents) with mode 0700 if it does not exist; an existing
    folder is used as it is, a symlink or a non-folder there -> FileExistsError/NotADirectoryError."""
    p = Path(path)
    missing = []
    q = p
    while not q.exists() and not q.is_symlink() and q != q.parent:
        missing.append(q)
        q = q.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(d, 0o700)  # mode applies before the umask: at most 0700, never more
    if p.is_symlink() or not p.is_dir():
        raise NotADirectoryError(f"{p} is not a folder (or is a symbolic link)")
    return p


@contextlib.contextmanager
def private_output(path: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a new temporary path beside ``path``, created empty with mode 0600 (O_EXCL, O_NOFOLLOW),
    for a writer to fill; on success it becomes ``path`` atomically (``os.replace``; with
    ``overwrite=False`` a hard link that fails if ``path`` exists, even as a dangling symlink ->
    FileExistsError). A symlink at ``path`` is replaced, never followed. On failure the temporary file
    is removed and ``path`` is untouched."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{secrets.token_hex(6)}.part{p.suffix}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    os.close(os.open(tmp, flags, 0o600))
    try:
        yield tmp
        if overwrite:
            os.replace(tmp, p)
        else:
            os.link(tmp, p, follow_symlinks=False)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_private_entry(folder: str | os.PathLike[str], key: str, version: int, field: str, payload, **dumps) -> Path:
    """A cache entry ``folder/KEY.json`` = {"v": version, "key": key, field: payload}, written whole through
    :func:`private_output` in a :func:`private_dir` (0700 folder, 0600 file, symlinks never followed).
    OSError (a folder we may not write to) is the caller's to decide on."""
    import json

    path = private_dir(folder) / f"{key}.json"
    with private_output(path) as tmp:
        tmp.write_text(json.dumps({"v": version, "key": key, field: payload}, **dumps), encoding="utf-8")
    return path


def read_private_entry(folder: str | os.PathLike[str], key: str, version: int, field: str):
    """The payload of the entry :func:`write_private_entry` wrote, or None when there is none, it is a
    symlink (or its folder is), unreadable, or of another version or key: the caller computes it again."""
    import json

    folder = Path(folder)
    path = folder / f"{key}.json"
    if folder.is_symlink() or path.is_symlink() or not path.is_file():
        return None
    try:
        got = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(got, dict) or got.get("v") != version or got.get("key") != key or field not in got:
        return None
    return got[field]
