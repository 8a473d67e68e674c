"""study.toml -> a typed :class:`StudyConfig`, checked once when the file is read.

Every section is a frozen dataclass; relative paths are taken from the study folder::

    [study]        StudySection       title, synthetic, seed, sponsor, fieldwork, mode, population, sampling
    [instrument]   InstrumentSection  path (the XLSForm)
    [data]         DataSection        path (the responses), keep (which interviews the analysis uses)
    [design]       DesignSpec         design/spec.py (weights, probs, strata, ids, fpc, nest, lonely_psu,
                                      adjust_domain_lonely, [design.replicates])
    [weighting]    WeightingSpec      weighting/apply.py (method, targets, targets_csv, population, ...)
    [quality]      QualitySection     interviewer, drop_flagged, seed, threshold
    [collect]      CollectSection     store, text_max_bytes, disguise
    [recode]       Recode             recode.py: new columns from levels (groups) or numbers (bands)
    [report]       ReportOptions      language, min_cell, max_ci_width, min_n, by, level, dominance,
                                      p_percent and [[report.indicators]] (Indicator)

A bad value is a :class:`~quietpoll.errors.StudyError` naming the file, the section and the key
(``study.toml [quality] threshold must be a share between 0 and 1 ...``).

Unknown names, decided here once:

* an unknown **section** is an error naming it: a misspelt ``[weighting]`` must not quietly give
  unweighted numbers;
* an unknown **key** is an error in the sections whose keys change the numbers (``[design]``,
  ``[weighting]``, ``[quality]``, ``[report]`` and each ``[[report.indicators]]``), and a
  :class:`~quietpoll.errors.StudyWarning` naming the key (then ignored) in the descriptive and locating
  sections (``[study]``, ``[instrument]``, ``[data]``, ``[collect]``), where a note of one's own is
  harmless.

``StudyConfig.sections`` keeps the file as read (read-only) for code that has not moved to the typed
sections yet; use the typed fields.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .design import DesignSpec
from .errors import QuietpollError, ReportError, StudyError, warn_study

if TYPE_CHECKING:
    from .weighting.apply import WeightingSpec

SECTIONS = ("study", "instrument", "data", "recode", "design", "weighting", "collect", "quality", "report")

__all__ = [
    "SECTIONS",
    "StudyConfig",
    "StudySection",
    "InstrumentSection",
    "DataSection",
    "QualitySection",
    "CollectSection",
    "ReportOptions",
    "Indicator",
    "load_study",
    "parse_report",
    "base_language",
]


# --- small sections ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudySection:
    """[study]: what the study is (the AAPOR disclosure elements of the methods statement)."""

    title: str | None = None
    synthetic: bool = False  # every output says SYNTHETIC DATA
    seed: int | None = None  # the demo generator's seed (a record, not used by the pipeline)
    sponsor: str | None = None
    fieldwork: str | None = None
    mode: str | None = None
    population: str | None = None
    sampling: str | None = None


@dataclass(frozen=True)
class InstrumentSection:
    """[instrument]: the questionnaire."""

    path: Path | None = None


@dataclass(frozen=True)
class DataSection:
    """[data]: the responses (decrypted export), and ``keep``: which interviews the analysis uses, a
    condition in the ``--subset`` language (e.g. ``consent == 'yes'``); the others are excluded and
    recorded (reason ``not_kept``)."""

    path: Path | None = None
    keep: str | None = None


@dataclass(frozen=True)
class QualitySection:
    """[quality]: the fabrication checks and what is done with their flags."""

    interviewer: str | None = None  # interviewer / intermediary column (default: found by name)
    drop_flagged: bool = True  # exclude both interviews of each near-duplicate pair before weighting
    seed: int = 0  # seed of the null simulation of the percent-match threshold
    threshold: float | None = None  # percent-match threshold instead of the simulated one


@dataclass(frozen=True)
class CollectSection:
    """[collect]: where the encrypted submissions are stored, the browser form's text cap and its
    disguise."""

    store: str | None = None  # sqlite:///collect.db (relative to the folder) or postgresql://...
    text_max_bytes: int | None = None  # the text cap (None: quietpoll.collect.sizing.TEXT_MAX_BYTES)
    disguise: Mapping[str, Any] | None = None  # [collect.disguise] title, name, icon (checked by collect.shell)


# --- [report] and [[report.indicators]] ---------------------------------------------------------------

REPORT_KEYS = {
    "language",
    "min_cell",
    "max_ci_width",
    "min_n",
    "by",
    "level",
    "dominance",
    "p_percent",
    "indicators",
    "description",
    "description_ko",
    "model_based",
}
INDICATOR_KEYS = {"id", "label", "label_ko", "variable", "level", "list_experiment", "randomized_response", "direct"}
RR_KEYS = {"answer", "design", "p_truth", "p_yes", "p", "p_unrelated"}


def base_language(language: str) -> str:
    """ "Korean (ko)" -> "Korean": the language name without an XLSForm language code."""
    return language.split(" (")[0].strip()


@dataclass(frozen=True)
class Indicator:
    """One [[report.indicators]] entry."""

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
        return [self.variable] if self.variable else []


@dataclass(frozen=True)
class ReportOptions:
    """[report] with its indicators (and the [study] section, which the methods statement reads)."""

    language: str = "English"
    min_cell: int = 10
    max_ci_width: float = 0.30
    min_n: int = 30
    by: tuple[str, ...] = ()
    level: float = 0.95
    dominance: tuple[int, float] = (2, 85.0)
    p_percent: float | None = None
    indicators: tuple[Indicator, ...] = ()
    study: StudySection = field(default_factory=StudySection)
    language_set: bool = False  # language was given in [report] (export then uses it, else the form's)
    description: str | None = None  # the study's own framing paragraph at the top of the report
    description_ko: str | None = None  # the same in Korean
    model_based: bool = False  # by-group rows the direct estimate fails get MRP (report/model_rows.py)

    def description_text(self, language: str) -> str | None:
        """[report] description (description_ko in a Korean report, when given); None: no framing text."""
        if base_language(language) == "Korean" and self.description_ko:
            return self.description_ko
        return self.description

    @property
    def synthetic(self) -> bool:
        return self.study.synthetic


def _indicator(raw: Mapping[str, Any], k: int) -> Indicator:
    where = f"[[report.indicators]] #{k + 1}"
    if not isinstance(raw, Mapping):
        raise ReportError(f"{where} must be a table with id, label and variable (or list_experiment)")
    unknown = set(raw) - INDICATOR_KEYS
    if unknown:
        raise ReportError(
            f"{where} has unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(INDICATOR_KEYS))}"
        )
    iid = raw.get("id")
    if not iid or not isinstance(iid, str):
        raise ReportError(f'{where} needs an id (a short name such as "ever_watched")')
    where = f"report indicator '{iid}'"
    ways = [x for x in ("variable", "list_experiment", "randomized_response") if raw.get(x)]
    if len(ways) != 1:
        raise ReportError(f"{where} needs exactly one of variable, list_experiment or randomized_response")
    le = raw.get("list_experiment")
    if le is not None and (not isinstance(le, Mapping) or set(le) != {"count", "treatment"}):
        raise ReportError(f'{where}: list_experiment must be {{ count = "COL", treatment = "COL" }}')
    rr = raw.get("randomized_response")
    if rr is not None:
        if not isinstance(rr, Mapping) or "answer" not in rr or "design" not in rr or set(rr) - RR_KEYS:
            raise ReportError(
                f"{where}: randomized_response must give answer and design (and p_truth, p_yes, "
                f"p or p_unrelated); known keys: {', '.join(sorted(RR_KEYS))}"
            )
    if raw.get("level") is not None and not raw.get("variable"):
        raise ReportError(f"{where}: level applies to a variable")
    return Indicator(
        id=iid,
        label=str(raw.get("label") or iid),
        label_ko=raw.get("label_ko"),
        variable=raw.get("variable"),
        level=None if raw.get("level") is None else str(raw["level"]),
        list_experiment=le,
        randomized_response=rr,
        direct=raw.get("direct"),
    )


def parse_report(rep: Mapping[str, Any] | None, *, study: StudySection | None = None) -> ReportOptions:
    """[report] (a table as read from study.toml) -> ReportOptions; every bad key named in a ReportError."""
    rep = dict(rep or {})
    unknown = set(rep) - REPORT_KEYS
    if unknown:
        raise ReportError(
            f"[report] has unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(REPORT_KEYS))}"
        )
    indicators = tuple(_indicator(r, k) for k, r in enumerate(rep.get("indicators") or []))
    ids = [i.id for i in indicators]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ReportError(f"[report] indicator id(s) used twice: {', '.join(dup)}")
    for ind in indicators:
        if ind.direct is not None and ind.direct not in ids:
            raise ReportError(
                f"report indicator '{ind.id}' names direct = '{ind.direct}', which is not an "
                f"indicator; known: {', '.join(ids)}"
            )
    try:
        min_cell = int(rep.get("min_cell", 10))
        max_ci = float(rep.get("max_ci_width", 0.30))
        min_n = int(rep.get("min_n", 30))
        level = float(rep.get("level", 0.95))
        dom = rep.get("dominance", [2, 85])
        dominance = (int(dom[0]), float(dom[1]))
        p_percent = None if rep.get("p_percent") is None else float(rep["p_percent"])
    except (TypeError, ValueError, IndexError, KeyError):
        raise ReportError(
            "[report] min_cell, min_n must be whole numbers, max_ci_width, level and p_percent "
            "numbers, dominance = [n, k]"
        ) from None
    if min_cell < 1:
        raise ReportError(f"[report] min_cell must be at least 1, got {min_cell}")
    if not 0 < level < 1:
        raise ReportError(f"[report] level must be between 0 and 1, got {level}")
    if dominance[0] < 1 or not 0 < dominance[1] <= 100:
        raise ReportError(f"[report] dominance must be [n >= 1, 0 < k <= 100], got {list(dom)}")
    if p_percent is not None and not 0 < p_percent <= 100:
        raise ReportError(f"[report] p_percent must be in (0, 100], got {p_percent}")
    for key in ("description", "description_ko"):
        if rep.get(key) is not None and not (isinstance(rep[key], str) and rep[key].strip()):
            raise ReportError(f"[report] {key} must be text (in quotes): the report's opening paragraph")
    if not isinstance(rep.get("model_based", False), bool):
        raise ReportError("[report] model_based must be true or false (model-based estimates for small groups)")
    by = rep.get("by", [])
    by = (by,) if isinstance(by, str) else tuple(by)
    return ReportOptions(
        language=str(rep.get("language", "English")),
        min_cell=min_cell,
        max_ci_width=max_ci,
        min_n=min_n,
        by=by,
        level=level,
        dominance=dominance,
        p_percent=p_percent,
        indicators=indicators,
        study=study or StudySection(),
        language_set="language" in rep,
        description=rep.get("description"),
        description_ko=rep.get("description_ko"),
        model_based=bool(rep.get("model_based", False)),
    )


# --- the whole file -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyConfig:
    """study.toml, typed and checked. ``folder`` is the study folder, ``file`` the study.toml read."""

    folder: Path
    file: Path | None = None
    study: StudySection = field(default_factory=StudySection)
    instrument: InstrumentSection = field(default_factory=InstrumentSection)
    data: DataSection = field(default_factory=DataSection)
    design: DesignSpec | None = None
    weighting: WeightingSpec | None = None
    quality: QualitySection = field(default_factory=QualitySection)
    collect: CollectSection = field(default_factory=CollectSection)
    recode: tuple = ()  # quietpoll.recode.Recode, applied before weighting and reporting
    report: ReportOptions = field(default_factory=ReportOptions)
    sections: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def title(self) -> str | None:
        return self.study.title

    @property
    def data_path(self) -> Path | None:
        return self.data.path

    @property
    def instrument_path(self) -> Path | None:
        return self.instrument.path


class _Section:
    """One table of study.toml being read: typed getters whose errors name the file, section and key."""

    def __init__(self, file: Path, name: str, table: Any, keys: Sequence[str], *, strict: bool) -> None:
        self.file, self.name = file, name
        _table(file, name, table)
        table = table or {}
        self.table: Mapping[str, Any] = table
        unknown = sorted(set(table) - set(keys))
        if unknown and strict:
            self.fail(f"has unknown key(s) {', '.join(unknown)}; known: {', '.join(keys)}")
        for key in unknown:
            warn_study(f"{file.name} [{name}] has unknown key '{key}' (ignored); known: {', '.join(keys)}")

    def fail(self, text: str, key: str | None = None):
        raise StudyError(
            f"{self.file} [{self.name}] {key + ' ' if key else ''}{text}",
            param=f"{self.name}.{key}" if key else self.name,
        )

    def text(self, key: str) -> str | None:
        v = self.table.get(key)
        if v is not None and not isinstance(v, str):
            self.fail(f"must be text (in quotes), got {_show(v)}", key)
        return v

    def flag(self, key: str, default: bool) -> bool:
        v = self.table.get(key, default)
        if not isinstance(v, bool):
            self.fail(f"must be true or false, got {_show(v)}", key)
        return v

    def whole(self, key: str, default: int | None) -> int | None:
        v = self.table.get(key, default)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            self.fail(f"must be a whole number, got {_show(v)}", key)
        return v

    def number(self, key: str) -> float | None:
        v = self.table.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            self.fail(f"must be a number, got {_show(v)}", key)
        return None if v is None else float(v)

    def path(self, key: str, folder: Path) -> Path | None:
        v = self.text(key)
        if v is None or not v.strip():
            return None
        p = Path(v)
        return p if p.is_absolute() else folder / p


def _show(v: Any) -> str:
    return repr(v) if not isinstance(v, Mapping) else "a table"


def load_study(path: str | Path) -> StudyConfig:
    """Read and check study.toml (or the folder holding it). Raises StudyError naming the key at fault;
    warns (StudyWarning) about unknown keys of [study], [instrument], [data] and [collect]."""
    p = Path(path)
    if p.is_dir():
        p = p / "study.toml"
    if not p.exists():
        raise StudyError(f"study file '{p}' not found")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise StudyError(f"study file '{p}' is not valid TOML: {e}") from None
    unknown = set(raw) - set(SECTIONS)
    if unknown:
        raise StudyError(
            f"study file '{p}' has unknown section(s): {', '.join(sorted(unknown))}; known: {', '.join(SECTIONS)}"
        )
    folder = p.parent

    s = _Section(
        p, "study", raw.get("study"), [f.name for f in StudySection.__dataclass_fields__.values()], strict=False
    )
    study = StudySection(
        title=s.text("title"),
        synthetic=s.flag("synthetic", False),
        seed=s.whole("seed", None),
        **{k: s.text(k) for k in ("sponsor", "fieldwork", "mode", "population", "sampling")},
    )
    instrument = InstrumentSection(
        path=_Section(p, "instrument", raw.get("instrument"), ["path"], strict=False).path("path", folder)
    )
    d = _Section(p, "data", raw.get("data"), ["path", "keep"], strict=False)
    data = DataSection(path=d.path("path", folder), keep=d.text("keep"))
    c = _Section(p, "collect", raw.get("collect"), ["store", "text_max_bytes", "disguise"], strict=False)
    text_max = c.whole("text_max_bytes", None)
    if text_max is not None and text_max < 1:
        c.fail(f"must be a whole number of bytes >= 1, got {text_max}", "text_max_bytes")
    disguise = c.table.get("disguise")
    if disguise is not None and not isinstance(disguise, Mapping):
        c.fail("must be a table ([collect.disguise]) with title, name and icon", "disguise")
    collect = CollectSection(
        store=c.text("store"),
        text_max_bytes=text_max,
        disguise=MappingProxyType(dict(disguise)) if disguise is not None else None,
    )
    quality = _quality(
        _Section(p, "quality", raw.get("quality"), ["interviewer", "drop_flagged", "seed", "threshold"], strict=True)
    )

    for name in ("design", "weighting", "report"):
        _table(p, name, raw.get(name))
    design = None
    if raw.get("design"):
        try:
            design = DesignSpec.from_mapping(raw["design"])
        except QuietpollError as e:
            raise StudyError(f"{p} [design]: {e}", param=_key("design", e)) from None
    weighting = None
    if raw.get("weighting"):
        from .weighting.apply import WeightingSpec

        try:
            weighting = WeightingSpec.from_mapping(raw["weighting"], folder)
        except QuietpollError as e:
            raise StudyError(f"{p} [weighting]: {e}", param=_key("weighting", e)) from None
    try:
        report = parse_report(raw.get("report"), study=study)
    except QuietpollError as e:
        raise StudyError(f"{p}: {e}", param="report") from None
    from .recode import parse_recode

    recode = parse_recode(raw.get("recode"), str(p))
    return StudyConfig(
        folder=folder,
        file=p,
        study=study,
        instrument=instrument,
        data=data,
        design=design,
        weighting=weighting,
        quality=quality,
        collect=collect,
        report=report,
        recode=recode,
        sections=MappingProxyType(raw),
    )


def _table(file: Path, name: str, value: Any) -> None:
    if value is not None and not isinstance(value, Mapping):
        raise StudyError(
            f"{file} [{name}] must be a table ([{name}] followed by key = value lines), got {_show(value)}", param=name
        )


def _quality(s: _Section) -> QualitySection:
    threshold = s.number("threshold")
    if threshold is not None and not 0 < threshold <= 1:
        s.fail(
            f"must be a share between 0 and 1 (e.g. 0.85: pairs matching on more than 85% of their "
            f"answers are flagged), got {threshold:g}",
            "threshold",
        )
    return QualitySection(
        interviewer=s.text("interviewer"),
        drop_flagged=s.flag("drop_flagged", True),
        seed=int(s.whole("seed", 0) or 0),
        threshold=threshold,
    )


def _key(section: str, e: QuietpollError) -> str:
    return f"{section}.{e.param}" if e.param else section
