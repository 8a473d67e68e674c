"""quietpoll's exception classes.

Every error a user can cause is raised as a subclass of :class:`QuietpollError` with a message that
names the column or option at fault and what to do. The front ends (the CLI, later the web app) turn
these into one line and exit status 2 in exactly one place each; nothing else catches them.

The core never speaks in one front end's terms. An error about a parameter carries its name
(``param="rho"``, the Python argument and study.toml key) and writes it in the message as a
placeholder, ``{rho}``; other parameters the message mentions are listed in ``also``::

    raise DesignError("{rho} must be in [0, 1), got 2", param="rho")
    raise EstimationError("{design_effect_test} needs {list_experiment}",
                          param="design_effect_test", also=("list_experiment",))

``str(error)`` names the parameters as they are (``rho must be in [0, 1), got 2``: what a Python or
study.toml user writes); a front end calls :meth:`QuietpollError.render` with its own names (the CLI:
``--rho must be in [0, 1), got 2``). Only the listed names are replaced, so a message may hold any
other braces or user text.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence


class QuietpollError(Exception):
    """Base class: a problem with the user's input, study or data, explained in one line.

    ``param`` names the parameter at fault (or None); ``also`` other parameters the message names.
    """

    exit_code = 2
    # the option names of the command that was running, noted by a front end that writes parameters as
    # its own options (the CLI: quietpoll.cli.errors); None when no front end noted them
    cli_flags: frozenset[str] | None = None

    def __init__(self, message: str = "", *args: object, param: str | None = None, also: Sequence[str] = ()) -> None:
        self.template = str(message)
        self.param = param
        self.params: tuple[str, ...] = tuple(dict.fromkeys(([param] if param else []) + list(also)))
        super().__init__(self.render(), *args)

    def render(self, name: Callable[[str], str] | None = None) -> str:
        """The message with each parameter placeholder written as ``name(param)`` (default: the
        parameter's own name)."""
        text = self.template
        for p in self.params:
            text = text.replace("{" + p + "}", name(p) if name is not None else p)
        return text

    def __str__(self) -> str:
        return self.render()


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


class StudyWarning(UserWarning):
    """study.toml has something quietpoll does not use (an unknown key of a descriptive section): it is
    ignored, and named in the warning."""


class FormWarning(UserWarning):
    """A questionnaire loaded with a repair: an older form current pyxform refuses (see
    :mod:`quietpoll.instrument.legacy`); the warning names what it refuses."""


def warn_study(message: str) -> None:
    """Issue a StudyWarning (the CLI prints it as one `quietpoll: warning:` line)."""
    warnings.warn(message, StudyWarning, stacklevel=3)


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
    "StudyWarning",
    "FormWarning",
]
