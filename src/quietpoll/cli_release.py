"""The `release` command of the `quietpoll` CLI (disclosure-controlled data files). Translation and
formatting only: the work is in quietpoll.disclosure."""

from __future__ import annotations

from .cli import cli  # noqa: F401
