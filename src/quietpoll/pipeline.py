"""One study pipeline: a study folder taken to its prepared state, the same for every command.

:func:`prepare_study` reads the responses with the questionnaire (``[instrument]``, ``[data]``),
validates every answer against the form, runs the quality checks with the study's ``[quality]``
options (interviewer column, seed, and ``threshold``: the percent-match threshold the user set, else
the simulated one), excludes both interviews of every flagged near-duplicate pair when ``[quality]
drop_flagged`` (which one is the copy cannot be told), types the answers from the form (choices as
text), adds the ``[recode]`` columns (:mod:`quietpoll.recode`), builds the design (``[design]``, or
the caller's) and weights it (``[weighting]``).

``estimate --study``, ``weight``, ``report``, ``export`` and ``demo`` all call it, so no two of them
can disagree about which interviews count or what the weights are: ``PreparedStudy.exclusions`` is
the typed record of what was excluded and why, ``PreparedStudy.final_weights()`` the weight of every
interview of the data file (null for an excluded one).

A study without an ``[instrument]`` (a data file and a design, as for public data) has nothing to
validate or check: its data are read as they are, every row is kept, and only the design and the
weighting are applied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from .design import DesignSpec
from .errors import QuietpollError, StudyError
from .io import read_design_data
from .study import StudyConfig, load_study

if TYPE_CHECKING:
    from .quality.results import QualityReport, ValidationResult

__all__ = ["NEAR_DUPLICATE", "STEPS", "Exclusion", "PreparedStudy", "prepare_study", "read_study", "read_design_data"]

NEAR_DUPLICATE = "near_duplicate"
NOT_KEPT = "not_kept"  # outside the study's [data] keep condition (e.g. declined consent)
STEPS = ("reading the study", "validating answers", "quality checks", "weighting")


@dataclass(frozen=True)
class Exclusion:
    """One interview left out of the analysis: its row in the data file (0-based, the file's order),
    why (``near_duplicate``), the rows it matched and its highest percent match."""

    row: int
    reason: str
    matches: tuple[int, ...] = ()
    share: float | None = None

    def to_dict(self) -> dict:
        return {"row": self.row, "reason": self.reason, "matches": list(self.matches), "share": self.share}


@dataclass(frozen=True)
class PreparedStudy:
    """A study ready for estimation. ``frame`` (the analysis frame: kept interviews, typed from the form,
    choices as text) is the data of ``design`` (before weighting) and ``weighted`` (after
    ``[weighting]``; the same design without one). ``responses`` and ``instrument`` are None, and
    ``validation`` and ``quality`` empty, for a study without a questionnaire."""

    config: StudyConfig
    data_path: Path
    instrument: Any
    responses: Any
    raw: pl.DataFrame  # the data as read (every interview, the file's row order)
    validation: ValidationResult | None
    quality: QualityReport | None
    flagged: tuple[int, ...]  # every row of a flagged near-duplicate pair
    exclusions: tuple[Exclusion, ...]  # the rows left out (empty when drop_flagged is false)
    frame: pl.DataFrame
    design: Any
    weighted: Any
    kept: np.ndarray = field(repr=False)  # True for each row of `raw` in the analysis
    collapsed: tuple[dict, ...] = ()  # weighting cells merged for [weighting] min_cell

    @property
    def excluded_rows(self) -> tuple[int, ...]:
        return tuple(e.row for e in self.exclusions)

    @property
    def n_read(self) -> int:
        return self.raw.height

    def final_weights(self, name: str = "final_weight") -> pl.Series:
        """The weight of every interview of the data file in its row order (after [weighting]); null for
        an excluded interview."""
        return self.by_row(np.asarray(self.weighted.weights, float), name)

    def by_row(self, values: np.ndarray, name: str) -> pl.Series:
        """Values of the kept interviews spread over all rows of the data file (null where excluded)."""
        out = np.full(self.raw.height, np.nan)
        out[self.kept] = values
        return pl.Series(name, out).fill_nan(None)


def read_study(config: StudyConfig, data: str | Path | None = None):
    """The questionnaire and the responses of a study (``data`` instead of its [data] path): (Instrument,
    Responses). StudyError when study.toml names no form or data, or a file is missing."""
    from .instrument.exports import read_responses
    from .instrument.form_cache import load_study_instrument

    form = config.instrument.path
    if form is None:
        raise StudyError(
            f"study '{config.folder}' has no questionnaire: give [instrument] path = \"form.xlsx\" in study.toml",
            param="instrument.path",
        )
    if not form.exists():
        raise StudyError(
            f"study folder '{config.folder}' is missing its questionnaire '{form.name}' ([instrument] path)",
            param="instrument.path",
        )
    path = _data_path(config, data)
    instrument = load_study_instrument(form, config.folder)  # pyxform's reading kept in STUDY/form-cache
    return instrument, read_responses(path, instrument)


def _data_path(config: StudyConfig, data: str | Path | None) -> Path:
    if data is not None:
        return Path(data)
    if config.data_path is None:
        raise StudyError(
            f"study '{config.folder}' has no data: give [data] path = \"responses.csv\" in study.toml",
            param="data.path",
        )
    if not config.data_path.exists():
        raise StudyError(
            f"study folder '{config.folder}' is missing its data: '{config.data_path.name}' ([data] "
            "path) not found; put the decrypted export there or fix [data] path",
            param="data.path",
        )
    return config.data_path


def prepare_study(
    config: StudyConfig | str | Path,
    *,
    data: str | Path | None = None,
    design: DesignSpec | None = None,
    build_design: Callable[[pl.DataFrame], Any] | None = None,
    weighting: bool = True,
    derived: Mapping[str, pl.Expr] | None = None,
    columns: Sequence[str] | None = None,
    instrument: Any = None,
    responses: Any = None,
    typed: pl.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
) -> PreparedStudy:
    """Take a study (StudyConfig, folder or study.toml) to its prepared state (see the module docstring).

    data: another data file than [data] path. design: the design to use instead of [design] (e.g. the
    CLI's flags over the file); build_design: how to build it from the analysis frame (default
    ``design.build``). weighting=False stops before [weighting]. derived: columns added to the analysis
    frame (name -> polars expression) before the design is built. columns: for a study without a
    questionnaire, the columns to read besides the design's and the weighting's (default: all).
    instrument, responses: already read by the caller (:func:`read_study`); typed: their answers already
    typed from the form by the caller (``type_responses(responses.main, instrument)``). progress(step) is called
    with each of STEPS."""
    step = progress or (lambda s: None)
    cfg = config if isinstance(config, StudyConfig) else load_study(config)
    spec = design if design is not None else (cfg.design or DesignSpec())
    step(STEPS[0])
    if cfg.instrument.path is None and instrument is None:
        raw = _plain_data(cfg, data, spec, columns)
        validation: ValidationResult | None = None
        quality: QualityReport | None = None
        flagged: tuple[int, ...] = ()
        exclusions: tuple[Exclusion, ...] = ()
        frame = raw
        step(STEPS[1])
        step(STEPS[2])
    else:
        if instrument is None or responses is None:
            instrument, responses = read_study(cfg, data)
        raw = responses.main
        q = cfg.quality
        if q.interviewer is not None and q.interviewer not in raw.columns:
            raise StudyError(
                f"[quality] interviewer names column '{q.interviewer}', which is not in the data",
                param="quality.interviewer",
            )
        from .instrument.typing import type_responses
        from .quality.report import quality_report
        from .quality.validation import validate

        step(STEPS[1])
        validation = validate(raw, instrument)
        step(STEPS[2])
        quality = quality_report(raw, instrument, interviewer=q.interviewer, seed=q.seed, threshold=q.threshold)
        flagged, exclusions = _exclusions(quality, q.drop_flagged)
        frame = typed if typed is not None and typed.height == raw.height else type_responses(raw, instrument)
        # choices as text: levels are ordered by the form where it matters (the report's own tables)
        enums = [c for c, t in frame.schema.items() if isinstance(t, (pl.Enum, pl.Categorical))]
        frame = frame.with_columns(pl.col(c).cast(pl.String) for c in enums)
    kept = np.ones(raw.height, bool)
    if cfg.data.keep:  # [data] keep: interviews outside it (e.g. declined consent) are left out, recorded
        from .estimators.subset import subset_mask

        try:
            inside = subset_mask(frame, cfg.data.keep)
        except QuietpollError as e:
            raise StudyError(f"{cfg.file} [data] keep: {e}", param="data.keep") from None
        taken = {e.row for e in exclusions}
        exclusions = tuple(
            sorted(
                (
                    *exclusions,
                    *(Exclusion(row=int(r), reason=NOT_KEPT) for r in np.flatnonzero(~inside) if int(r) not in taken),
                ),
                key=lambda e: e.row,
            )
        )
    if exclusions:
        kept[[e.row for e in exclusions]] = False
        frame = frame.filter(pl.Series(kept))
    if cfg.recode:  # [recode]: new columns (groups, bands) before the design and the weighting
        from .recode import apply_recode

        frame = apply_recode(frame, cfg.recode)
    if derived:
        frame = frame.with_columns(expr.alias(name) for name, expr in derived.items())
    step(STEPS[3])
    base = build_design(frame) if build_design is not None else spec.build(frame)
    collapsed: list = []
    weighted = base
    if weighting and cfg.weighting is not None:
        from .weighting.apply import apply_weighting

        weighted = apply_weighting(base, cfg.weighting, report=collapsed)
    return PreparedStudy(
        config=cfg,
        data_path=_data_path(cfg, data),
        instrument=instrument,
        responses=responses,
        raw=raw,
        validation=validation,
        quality=quality,
        flagged=flagged,
        exclusions=exclusions,
        frame=frame,
        design=base,
        weighted=weighted,
        collapsed=tuple(collapsed),
        kept=kept,
    )


def _plain_data(cfg: StudyConfig, data, spec: DesignSpec, columns: Sequence[str] | None) -> pl.DataFrame:
    """The data of a study without a questionnaire, as read (only the needed columns when `columns`)."""
    from .io import read_data

    path = _data_path(cfg, data)
    if columns is None or cfg.data.keep:  # [data] keep may name any column
        return read_data(path).frame
    targets = list(cfg.weighting.targets) if cfg.weighting is not None else []
    made = {r.name for r in cfg.recode}
    sources = [r.source for r in cfg.recode if r.source not in made]
    return read_design_data(path, spec, [*(c for c in [*columns, *targets] if c not in made), *sources])


def _exclusions(quality: QualityReport, drop: bool) -> tuple[tuple[int, ...], tuple[Exclusion, ...]]:
    """Every row of a flagged pair, and (when dropped) one Exclusion per row with the rows it matched."""
    found = quality.flagged()
    if not drop:
        return tuple(f.row for f in found), ()
    return tuple(f.row for f in found), tuple(
        Exclusion(row=f.row, reason=NEAR_DUPLICATE, matches=f.matches, share=f.share) for f in found
    )
