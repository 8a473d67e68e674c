"""Options and helpers shared by the CLI's commands: the study folder, the design options (one decorator
that hands the command a `DesignOptions` holding the `DesignSpec`), comma lists, passphrases and choices
computed on first use. Nothing heavy is imported here: numpy, polars and the design code are imported
when a command runs."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from ..errors import QuietpollError
from .params import FLOATS

__all__ = [
    "DesignOptions",
    "LazyChoice",
    "design_options",
    "load_study_at",
    "passphrase",
    "split",
    "study_argument",
    "study_option",
    "study_or_none",
]


def split(values: Iterable[str] | None) -> list[str]:
    """COL[,COL...] given once or repeated -> the columns."""
    return [v.strip() for item in values or () for v in item.split(",") if v.strip()]


class LazyChoice(click.Choice):
    """A click.Choice whose choices are computed on first use (so that `quietpoll --version` does not
    import the modules that define them)."""

    def __init__(self, load: Callable[[], Iterable[str]], case_sensitive: bool = True) -> None:
        self._load = load
        self._choices: tuple[str, ...] | None = None
        self.case_sensitive = case_sensitive

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        if self._choices is None:
            self._choices = tuple(self._load())
        return self._choices


# --- the study folder ------------------------------------------------------------------------------------


def study_option(help: str = "Study folder (or its study.toml): data, form, design and options.") -> Callable:
    return click.option("--study", type=click.Path(), help=help)


def load_study_at(study: str | Path):
    """The StudyConfig of a study folder or study.toml (a clear error when there is none)."""
    from ..study import load_study

    return load_study(study)


def study_or_none(study: str | Path | None):
    """The StudyConfig when `study` names a folder with a study.toml (or the file), else None; an error
    when the path does not exist."""
    if study is None:
        return None
    p = Path(study)
    if not p.exists():
        raise QuietpollError(f"--study {str(study)!r} does not exist")
    folder = p.parent if p.is_file() else p
    return load_study_at(p) if (p.is_file() or (folder / "study.toml").exists()) else None


def study_argument(required: bool = True) -> Callable:
    """An optional STUDY argument and --study DIR, one of them (the same folder when both): the command
    receives `study` (a str, or None when not required and not given)."""

    def decorator(f: Callable) -> Callable:
        @functools.wraps(f)
        def wrapper(*args: Any, **kw: Any) -> Any:
            positional, flag = kw.pop("study_arg"), kw.pop("study_flag")
            if positional and flag and Path(positional).resolve() != Path(flag).resolve():
                raise QuietpollError(f"two study folders: STUDY {positional!r} and --study {flag!r}; give one")
            study = positional or flag
            if study is None and required:
                raise QuietpollError("no study folder: give STUDY or --study DIR")
            return f(*args, study=study, **kw)

        wrapper = click.option(
            "--study", "study_flag", type=click.Path(), help="The study folder (instead of the STUDY argument)."
        )(wrapper)
        return click.argument("study_arg", metavar="[STUDY]", required=False, type=click.Path())(wrapper)

    return decorator


# --- passphrases -----------------------------------------------------------------------------------------


def passphrase(
    prompt: str, *, env: str = "QUIETPOLL_PASSPHRASE", confirm: bool = False, missing: str = "no passphrase"
) -> str:
    """The passphrase from the environment variable `env`, else a hidden prompt; never a command-line
    argument (it would be in the shell history and the process list)."""
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise QuietpollError(f"{missing}: set {env} or run in a terminal to be asked")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm)


# --- the design options ----------------------------------------------------------------------------------


def _lonely_psu() -> tuple[str, ...]:
    from ..design import LONELY_PSU

    return LONELY_PSU


def _rep_types() -> tuple[str, ...]:
    from ..design import REPLICATE_TYPES  # the registry: a new replicate type is one registration

    return tuple(sorted(REPLICATE_TYPES))


_DESIGN_OPTIONS = [
    click.option("--study", type=click.Path(), help="study.toml (or its folder): data, design, options."),
    click.option("--weights", help="Sampling weight column."),
    click.option("--probs", help="Selection probability column (instead of weights)."),
    click.option("--strata", help="Stratum column."),
    click.option("--ids", multiple=True, help="Cluster id column per stage: COL[,COL...]."),
    click.option("--fpc", multiple=True, help="Population size or sampling fraction per stage: COL[,COL...]."),
    click.option("--nest", is_flag=True, default=None, help="Cluster ids are unique only within strata."),
    click.option("--lonely-psu", type=LazyChoice(_lonely_psu), help="Strata with one PSU (R's survey.lonely.psu)."),
    click.option(
        "--adjust-domain-lonely",
        is_flag=True,
        default=None,
        help="A domain in one PSU of a stratum counts as lonely (R's survey.adjust.domain.lonely).",
    ),
    click.option("--repweights", help="Replicate weight columns: a glob such as 'rw*'."),
    click.option(
        "--rep-type",
        type=LazyChoice(_rep_types, case_sensitive=False),
        help="Replicate weight type (without --repweights: build them from the design).",
    ),
    click.option("--rho", type=float, help="Fay coefficient."),
    click.option("--scale", type=float, help="Replicate variance scale."),
    click.option("--rscales", type=FLOATS, help="Per-replicate scales: X[,X...]."),
    click.option("--mse", is_flag=True, default=None, help="Centre replicates at the full-sample estimate."),
    click.option(
        "--replicates",
        type=int,
        default=50,
        show_default=True,
        help="With --rep-type and no --repweights: bootstrap replicates to build from the design.",
    ),
    click.option("--seed", type=int, help="Random seed for building bootstrap replicates."),
]
_DESIGN_KEYS = (
    "study",
    "weights",
    "probs",
    "strata",
    "ids",
    "fpc",
    "nest",
    "lonely_psu",
    "adjust_domain_lonely",
    "repweights",
    "rep_type",
    "rho",
    "scale",
    "rscales",
    "mse",
    "replicates",
    "seed",
)


@dataclass(frozen=True)
class DesignFlags:
    """The design flags as given (None: not given)."""

    weights: str | None = None
    probs: str | None = None
    strata: str | None = None
    ids: tuple[str, ...] = ()
    fpc: tuple[str, ...] = ()
    nest: bool | None = None
    lonely_psu: str | None = None
    adjust_domain_lonely: bool | None = None
    repweights: str | None = None
    rep_type: str | None = None
    rho: float | None = None
    scale: float | None = None
    rscales: tuple[float, ...] | None = None
    mse: bool | None = None
    replicates: int = 50
    seed: int | None = None


@dataclass
class DesignOptions:
    """What the design options of a command say: the study (when --study is given), the `DesignSpec` (the
    study's [design] with the flags over it) and how to build the design from a frame (with replicate
    weights built from the Taylor design when --rep-type comes without --repweights, as R's
    as.svrepdesign)."""

    study: Any  # StudyConfig | None
    spec: Any  # DesignSpec
    flags: DesignFlags = field(default_factory=DesignFlags)
    build_from: str | None = None

    @classmethod
    def from_flags(cls, study: str | None, **given: Any) -> DesignOptions:
        from ..design import DesignSpec, ReplicateSpec

        flags = DesignFlags(
            **{
                **given,
                "ids": tuple(split(given.get("ids"))),
                "fpc": tuple(split(given.get("fpc"))),
                "rscales": tuple(given["rscales"]) if given.get("rscales") else None,
            }
        )
        cfg = load_study_at(study) if study else None
        spec = cfg.design if cfg and cfg.design else DesignSpec()
        rep = spec.replicates
        build_from = None
        if flags.rep_type and not flags.repweights and rep is None:
            build_from = flags.rep_type  # build replicate weights from the Taylor design (as.svrepdesign)
        elif flags.repweights or flags.rep_type or rep is not None:
            # a fallback only: the type and rho given are applied below (Fay needs both at once)
            base = rep or ReplicateSpec(columns=flags.repweights or "", type="other")
            rep = ReplicateSpec(
                columns=flags.repweights or base.columns,
                type=flags.rep_type or base.type,
                rho=flags.rho if flags.rho is not None else base.rho,
                scale=flags.scale if flags.scale is not None else base.scale,
                rscales=flags.rscales or base.rscales,
                mse=flags.mse if flags.mse is not None else base.mse,
            )
            if not rep.columns:
                raise QuietpollError("--rep-type needs --repweights (a glob over the replicate weight columns)")
        spec = DesignSpec(
            weights=flags.weights or spec.weights,
            probs=flags.probs or spec.probs,
            strata=flags.strata or spec.strata,
            ids=flags.ids or spec.ids,
            fpc=flags.fpc or spec.fpc,
            nest=flags.nest if flags.nest is not None else spec.nest,
            lonely_psu=flags.lonely_psu or spec.lonely_psu,
            adjust_domain_lonely=(
                flags.adjust_domain_lonely if flags.adjust_domain_lonely is not None else spec.adjust_domain_lonely
            ),
            replicates=rep,
        )
        return cls(study=cfg, spec=spec, flags=flags, build_from=build_from)

    def build(self, frame):
        """The design over `frame` (replicate weights built from it when asked)."""
        design = self.spec.build(frame)
        if self.build_from:  # as.svrepdesign
            from ..api import as_svrepdesign

            f = self.flags
            design = as_svrepdesign(
                design, self.build_from, replicates=f.replicates, seed=f.seed, rho=f.rho, mse=bool(f.mse)
            )
        return design

    def load(self, data: str | None, analysis: Iterable[str] = (), weighting: bool = True):
        """The data and the (weighted) design from DATA or the study. With a study the study pipeline
        prepares them (quietpoll.pipeline.prepare_study: with a form, the responses are validated and
        checked and flagged interviews excluded as [quality] says, exactly as report, export and weight
        have them). Without a study only the columns the design and the `analysis` columns need are
        loaded."""
        cfg = self.study
        path = Path(data) if data else (cfg.data_path if cfg else None)
        if path is None:
            raise QuietpollError("no data: give a DATA file or --study with a [data] path")
        if cfg is not None:
            from ..pipeline import prepare_study

            prepared = prepare_study(
                cfg, data=data, design=self.spec, build_design=self.build, weighting=weighting, columns=list(analysis)
            )
            return prepared.frame, prepared.weighted  # weighted in the same run, so the SEs reflect it
        from ..io import read_design_data

        frame = read_design_data(path, self.spec, analysis)
        return frame, self.build(frame)

    def load_repeat(self, data: str | None, name: str, analysis: Iterable[str] = (), weighting: bool = True):
        """The repeat table `name` of DATA (or of the study's data) with its parent's design
        (quietpoll.repeats.with_parent_design): each repeat row carries its parent interview's weight,
        strata and clusters, and the parent (or its cluster) is the primary sampling unit; the `analysis`
        columns the repeat table lacks are taken from the parent (a household's --by column). With a study
        the parents are those the study pipeline keeps, and their final weights (after [weighting],
        taken as fixed) are the repeat rows' weights."""
        from dataclasses import replace

        from ..pipeline import prepare_study, read_design_data
        from ..repeats import PARENT_LINKS, read_repeat_table, with_parent_design

        cfg = self.study
        path = Path(data) if data else (cfg.data_path if cfg else None)
        if path is None:
            raise QuietpollError("no data: give a DATA file or --study with a [data] path")
        links = [m for _, m in PARENT_LINKS]
        wanted = [c for c in analysis if "*" not in c]
        if cfg is not None:
            prepared = prepare_study(
                cfg, data=data, design=self.spec, build_design=self.build, weighting=weighting, columns=links + wanted
            )
            repeats = getattr(prepared.responses, "repeats", None) or {}
            table = repeats[name] if name in repeats else read_repeat_table(path, name)
            main = prepared.raw
            weights = None
            if prepared.weighted is not prepared.design:  # [weighting]: the final weights, as fixed weights
                import polars as pl

                weights = pl.Series(prepared.weighted.weights)
            frame, spec = with_parent_design(
                main, table, self.spec, name, analysed=prepared.frame, weights=weights, parent_columns=wanted
            )
        else:
            table = read_repeat_table(path, name)
            main = read_design_data(path, self.spec, links + [c for c in wanted if c not in table.columns])
            frame, spec = with_parent_design(main, table, self.spec, name, parent_columns=wanted)
        return frame, replace(self, spec=spec).build(frame)


def design_options(f: Callable) -> Callable:
    """--study and the design flags (weights, strata, ids, fpc, replicate weights ...): the command
    receives them as one keyword argument `design`, a `DesignOptions` (its `.spec` is the DesignSpec)."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kw: Any) -> Any:
        given = {k: kw.pop(k) for k in _DESIGN_KEYS}
        return f(*args, design=DesignOptions.from_flags(**given), **kw)

    for opt in reversed(_DESIGN_OPTIONS):
        wrapper = opt(wrapper)
    return wrapper
