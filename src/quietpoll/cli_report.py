"""The `report` command of the `quietpoll` CLI. Translation and formatting only: the work is in
quietpoll.report."""

from __future__ import annotations

from .cli import cli  # noqa: F401
