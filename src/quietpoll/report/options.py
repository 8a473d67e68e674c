"""The [report] section of study.toml -> ReportOptions and Indicators, checked against the data.

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
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..errors import ReportError

REPORT_KEYS = {"language", "min_cell", "max_ci_width", "min_n", "by", "level", "dominance", "p_percent", "indicators"}
INDICATOR_KEYS = {"id", "label", "label_ko", "variable", "level", "list_experiment", "randomized_response", "direct"}
RR_KEYS = {"answer", "design", "p_truth", "p_yes", "p", "p_unrelated"}


def base_language(language: str) -> str:
    """"Korean (ko)" -> "Korean": the language name without an XLSForm language code."""
    return language.split(" (")[0].strip()


@dataclass(frozen=True)
class Indicator:
    id: str
    label: str
    label_ko: str | None = None
    variable: str | None = None
    level: str | None = None
    list_experiment: Mapping[str, str] | None = None
    randomized_response: Mapping[str, Any] | None = None
    direct: str | None = None

    @property
    def kind(self) -> str:
        if self.list_experiment:
            return "list_experiment"
        if self.randomized_response:
            return "randomized_response"
        return "proportion" if self.level is not None else "mean"

    def text(self, language: str) -> str:
        return self.label_ko if base_language(language) == "Korean" and self.label_ko else self.label

    def columns(self) -> list[str]:
        if self.list_experiment:
            return [self.list_experiment["count"], self.list_experiment["treatment"]]
        if self.randomized_response:
            return [self.randomized_response["answer"]]
        return [self.variable]


@dataclass(frozen=True)
class ReportOptions:
    language: str = "English"
    min_cell: int = 10
    max_ci_width: float = 0.30
    min_n: int = 30
    by: tuple[str, ...] = ()
    level: float = 0.95
    dominance: tuple[int, float] = (2, 85.0)
    p_percent: float | None = None
    indicators: tuple[Indicator, ...] = ()
    study: Mapping[str, Any] = field(default_factory=dict)
    quality: Mapping[str, Any] = field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        return bool(self.study.get("synthetic", False))


def _indicator(raw: Mapping[str, Any], k: int) -> Indicator:
    where = f"[[report.indicators]] #{k + 1}"
    if not isinstance(raw, Mapping):
        raise ReportError(f"{where} must be a table with id, label and variable (or list_experiment)")
    unknown = set(raw) - INDICATOR_KEYS
    if unknown:
        raise ReportError(f"{where} has unknown key(s) {', '.join(sorted(unknown))}; known: "
                          f"{', '.join(sorted(INDICATOR_KEYS))}")
    iid = raw.get("id")
    if not iid or not isinstance(iid, str):
        raise ReportError(f"{where} needs an id (a short name such as \"ever_watched\")")
    where = f"report indicator '{iid}'"
    ways = [x for x in ("variable", "list_experiment", "randomized_response") if raw.get(x)]
    if len(ways) != 1:
        raise ReportError(f"{where} needs exactly one of variable, list_experiment or randomized_response")
    le = raw.get("list_experiment")
    if le is not None and (not isinstance(le, Mapping) or set(le) != {"count", "treatment"}):
        raise ReportError(f"{where}: list_experiment must be {{ count = \"COL\", treatment = \"COL\" }}")
    rr = raw.get("randomized_response")
    if rr is not None:
        if not isinstance(rr, Mapping) or "answer" not in rr or "design" not in rr or set(rr) - RR_KEYS:
            raise ReportError(f"{where}: randomized_response must give answer and design (and p_truth, p_yes, "
                              f"p or p_unrelated); known keys: {', '.join(sorted(RR_KEYS))}")
    if raw.get("level") is not None and not raw.get("variable"):
        raise ReportError(f"{where}: level applies to a variable")
    return Indicator(id=iid, label=str(raw.get("label") or iid), label_ko=raw.get("label_ko"),
                     variable=raw.get("variable"), level=None if raw.get("level") is None else str(raw["level"]),
                     list_experiment=le, randomized_response=rr, direct=raw.get("direct"))


def parse_options(sections: Mapping[str, Any], *, language: str | None = None,
                  only: Sequence[str] | None = None) -> ReportOptions:
    """ReportOptions from study.toml's sections; `language` and `only` (indicator ids) override."""
    rep = dict(sections.get("report") or {})
    unknown = set(rep) - REPORT_KEYS
    if unknown:
        raise ReportError(f"[report] has unknown key(s) {', '.join(sorted(unknown))}; known: "
                          f"{', '.join(sorted(REPORT_KEYS))}")
    indicators = tuple(_indicator(r, k) for k, r in enumerate(rep.get("indicators") or []))
    ids = [i.id for i in indicators]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ReportError(f"[report] indicator id(s) used twice: {', '.join(dup)}")
    for ind in indicators:
        if ind.direct is not None and ind.direct not in ids:
            raise ReportError(f"report indicator '{ind.id}' names direct = '{ind.direct}', which is not an "
                              f"indicator; known: {', '.join(ids)}")
    if only:
        missing = [i for i in only if i not in ids]
        if missing:
            raise ReportError(f"unknown indicator '{missing[0]}' (--indicator); the study defines: "
                              f"{', '.join(ids) or 'none'}")
        indicators = tuple(i for i in indicators if i.id in only)
    try:
        min_cell = int(rep.get("min_cell", 10))
        max_ci = float(rep.get("max_ci_width", 0.30))
        min_n = int(rep.get("min_n", 30))
        level = float(rep.get("level", 0.95))
        dom = rep.get("dominance", [2, 85])
        dominance = (int(dom[0]), float(dom[1]))
        p_percent = None if rep.get("p_percent") is None else float(rep["p_percent"])
    except (TypeError, ValueError, IndexError):
        raise ReportError("[report] min_cell, min_n must be whole numbers, max_ci_width, level and p_percent "
                          "numbers, dominance = [n, k]") from None
    if min_cell < 1:
        raise ReportError(f"[report] min_cell must be at least 1, got {min_cell}")
    if not 0 < level < 1:
        raise ReportError(f"[report] level must be between 0 and 1, got {level}")
    if dominance[0] < 1 or not 0 < dominance[1] <= 100:
        raise ReportError(f"[report] dominance must be [n >= 1, 0 < k <= 100], got {list(dom)}")
    if p_percent is not None and not 0 < p_percent <= 100:
        raise ReportError(f"[report] p_percent must be in (0, 100], got {p_percent}")
    by = rep.get("by", [])
    by = (by,) if isinstance(by, str) else tuple(by)
    return ReportOptions(language=language or str(rep.get("language", "English")), min_cell=min_cell,
                         max_ci_width=max_ci, min_n=min_n, by=by, level=level, dominance=dominance, p_percent=p_percent,
                         indicators=indicators, study=dict(sections.get("study") or {}),
                         quality=dict(sections.get("quality") or {}))


def resolve_language(language: str, languages: Sequence[str]) -> str:
    """The form's own name of `language` ("Korean" finds "Korean (ko)"); ReportError when the form has
    no labels in it."""
    if not languages or language in languages:
        return language
    match = [lang for lang in languages if base_language(lang) == base_language(language)]
    if len(match) == 1:
        return match[0]
    raise ReportError(f"unknown language '{language}': the form has labels in {', '.join(languages)}")


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
        if ind.level is not None:
            s = frame.get_column(ind.variable)
            values = set(s.cast(pl.String).drop_nulls().unique().to_list())
            cats = set(s.dtype.categories.to_list()) if isinstance(s.dtype, pl.Enum) else set()
            if ind.level not in values | cats:
                raise ReportError(f"report indicator '{ind.id}': level '{ind.level}' does not occur in column "
                                  f"'{ind.variable}'")
