"""The `export` command of the `quietpoll` CLI. Translation and formatting only: the work is in
quietpoll.report.exports."""

from __future__ import annotations

from .cli import cli  # noqa: F401
