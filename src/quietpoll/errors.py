"""quietpoll's exception classes.

Every error a user can cause is raised as a subclass of :class:`QuietpollError` with a message that
names the column or option at fault and what to do. The front ends (the CLI, later the web app) turn
these into one line and exit status 2 in exactly one place each; nothing else catches them.
"""

from __future__ import annotations


class QuietpollError(Exception):
    """Base class: a problem with the user's input, study or data, explained in one line."""

    exit_code = 2


class InputError(QuietpollError):
    """A data file cannot be read, or has the wrong shape."""


class ColumnError(QuietpollError):
    """A named column is missing from the data or has the wrong type."""


class DesignError(QuietpollError):
    """The survey design is inconsistent (weights, strata, clusters, fpc, replicate weights)."""


class LonelyPSUError(DesignError):
    """A stratum has a single PSU and the lonely-PSU policy is "fail"."""


class EstimationError(QuietpollError):
    """A statistic cannot be computed as asked (empty domain, bad option for this statistic)."""


class StudyError(QuietpollError):
    """study.toml is missing, malformed, or names something that does not exist."""


class WeightingError(QuietpollError):
    """Weighting targets are inconsistent with the data or with each other."""


class ValidationError(QuietpollError):
    """Data do not match the questionnaire."""


class InstrumentError(QuietpollError):
    """A questionnaire (XLSForm) cannot be read, or pyxform rejects it."""


class UnsupportedExpression(QuietpollError):
    """An XLSForm expression uses something the evaluator cannot handle (reported, never assumed true)."""


class CollectError(QuietpollError):
    """Encrypted collection failed: keys, passphrases, key shares, sealed submissions or the store."""


class DisclosureError(QuietpollError):
    """A disclosure check or release cannot run as asked (unknown columns, k < 2, overlapping roles)."""


class ReleaseRefused(DisclosureError):
    """`release` cannot reach the protection asked for without destroying the file (exit status 3)."""

    exit_code = 3


class ReportError(QuietpollError):
    """A report or export cannot be built as asked (missing data, unknown indicator, unknown format)."""


__all__ = [
    "DisclosureError",
    "ReleaseRefused",
    "ReportError",
    "QuietpollError",
    "InputError",
    "ColumnError",
    "DesignError",
    "LonelyPSUError",
    "EstimationError",
    "StudyError",
    "WeightingError",
    "ValidationError",
    "InstrumentError",
    "UnsupportedExpression",
    "CollectError",
]
