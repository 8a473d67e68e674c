"""The [report] section of study.toml -> ReportOptions and Indicators, checked against the data.

The keys are parsed and checked once, when study.toml is read (quietpoll.study: parse_report,
ReportOptions, Indicator live there and are re-exported here); this module adds the front end's
choices (:func:`select`) and the checks against the data and the form.

Keys read (all optional except where an indicator needs them)::

    [study]      title, synthetic (bool: every output says SYNTHETIC DATA), sponsor, fieldwork, mode,
                 population, sampling                      (the AAPOR disclosure elements)
    [quality]    interviewer = "column"; drop_flagged = true (flagged near-duplicates are excluded
                 before weighting); seed = 0 (of the null simulation); threshold = 0.85 (percent-match
                 flag threshold instead of the simulated one)
    [report]     language = "English" | "Korean" (a label language of the form)
                 min_cell = 10        threshold rule: cells from fewer respondents are suppressed
                 max_ci_width = 0.30  warn beside an estimate whose CI is wider
                 min_n = 30           warn beside an estimate from fewer respondents
                 by = [columns]       breakdowns and crosstabs
                 level = 0.95         confidence level
                 dominance = [2, 85]  (n, k) dominance rule for totals and means
                 description, description_ko   the report's opening paragraph: the study's own
                                      framing (none when not given; never a template's)
                 model_based = false  true: by-group rows whose direct estimate is suppressed, too
                                      imprecise or outside [0, 1] show an MRP estimate (model_rows.py)
    [[report.indicators]]
                 id, label, label_ko (Korean label), and one of
                 variable (+ level: the share of that level; without level the mean of the column,
                 shown as a share when the column holds only 0/1),
                 list_experiment = {count, treatment},
                 randomized_response = {answer, design = forced|warner|unrelated, p_truth, p_yes, p,
                 p_unrelated};  direct = id of the direct-question indicator shown beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import polars as pl

from ..errors import ReportError
from ..study import (
    INDICATOR_KEYS,
    REPORT_KEYS,
    RR_KEYS,
    Indicator,
    ReportOptions,
    StudySection,
    base_language,
    parse_report,
)

__all__ = [
    "INDICATOR_KEYS",
    "REPORT_KEYS",
    "RR_KEYS",
    "Indicator",
    "ReportOptions",
    "base_language",
    "parse_options",
    "select",
    "resolve_language",
    "check_against",
]


def parse_options(
    sections: Mapping[str, Any], *, language: str | None = None, only: Sequence[str] | None = None
) -> ReportOptions:
    """ReportOptions from study.toml's sections as read (a dict of tables); `language` and `only`
    (indicator ids) override. The parsing is study.py's (:func:`quietpoll.study.parse_report`), done once
    when a study file is read; this is the same for a dict."""
    st = sections.get("study") or {}
    study = StudySection(
        title=st.get("title"),
        synthetic=bool(st.get("synthetic", False)),
        **{k: st.get(k) for k in ("sponsor", "fieldwork", "mode", "population", "sampling")},
    )
    return select(parse_report(sections.get("report"), study=study), language=language, only=only)


def select(options: ReportOptions, *, language: str | None = None, only: Sequence[str] | None = None) -> ReportOptions:
    """The options with the front end's choices: another label language, only some indicators."""
    if only:
        ids = [i.id for i in options.indicators]
        missing = [i for i in only if i not in ids]
        if missing:
            raise ReportError(
                f"unknown indicator '{missing[0]}' ({{indicators}}); the study defines: {', '.join(ids) or 'none'}",
                param="indicators",
            )
        options = replace(options, indicators=tuple(i for i in options.indicators if i.id in only))
    return replace(options, language=language) if language else options


def resolve_language(language: str, languages: Sequence[str]) -> str:
    """The form's own name of `language` ("Korean" finds "Korean (ko)", "English" finds "english", as
    KoboToolbox forms write it; a code, "ko", finds "Korean (ko)" or "Korean"); ReportError when the
    form has no labels in it."""
    if not languages or language in languages:
        return language
    match = [lang for lang in languages if base_language(lang) == base_language(language)]
    if not match:
        match = [lang for lang in languages if base_language(lang).casefold() == base_language(language).casefold()]
    if not match:  # a language code: "ko" finds "Korean (ko)", or "Korean" by Babel's English name of ko
        match = [lang for lang in languages if _code(lang) == language.strip().casefold()]
    if not match and (name := _english_name(language)):
        match = [lang for lang in languages if base_language(lang).casefold() == name.casefold()]
    if len(match) == 1:
        return match[0]
    raise ReportError(f"unknown language '{language}': the form has labels in {', '.join(languages)}")


def _code(language: str) -> str | None:
    """ "Korean (ko)" -> "ko": the XLSForm language code in brackets, if any."""
    head, _, tail = language.partition(" (")
    return tail.rstrip(")").strip().casefold() if tail.endswith(")") else None


def _english_name(code: str) -> str | None:
    """Babel's English name of a language code ("ko" -> "Korean"), None for what is not a code."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale(Locale.parse(code.strip().replace("-", "_")).language).english_name  # ko_KP: Korean
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def check_against(options: ReportOptions, frame: pl.DataFrame, languages: Sequence[str]) -> None:
    """Every column the options name exists; the language is one of the form's."""
    resolve_language(options.language, languages)
    for b in options.by:
        if b not in frame.columns:
            raise ReportError(f"[report] by names column '{b}', which is not in the data")
    for ind in options.indicators:
        for col in ind.columns():
            if col not in frame.columns:
                raise ReportError(f"report indicator '{ind.id}' names column '{col}', which is not in the data")
        if ind.level is not None and ind.variable is not None:  # a level comes with a variable (study check)
            s = frame.get_column(ind.variable)
            values = set(s.cast(pl.String).drop_nulls().unique().to_list())
            cats = set(s.dtype.categories.to_list()) if isinstance(s.dtype, pl.Enum) else set()
            if ind.level not in values | cats:
                raise ReportError(
                    f"report indicator '{ind.id}': level '{ind.level}' does not occur in column '{ind.variable}'"
                )
