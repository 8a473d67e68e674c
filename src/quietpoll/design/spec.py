"""What a design is made of, as column names and options: the [design] section of study.toml,
the CLI's design flags and the Python API all build a DesignSpec, and DesignSpec.build() turns it
into a TaylorDesign or a ReplicateDesign over a data frame."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from ..errors import DesignError
from .builders import REPLICATE_TYPES, canonical_type

LONELY_PSU = ("fail", "remove", "adjust", "average", "certainty")
#: replicate types that can be given as replicate weight columns (svrepdesign), from the registry
REP_TYPES = tuple(n for n, t in REPLICATE_TYPES.items() if t.scales is not None)


@dataclass(frozen=True)
class ReplicateSpec:
    """Replicate weights given as columns (R's svrepdesign)."""

    columns: str | tuple[str, ...]
    type: str = "other"
    rho: float | None = None
    scale: float | None = None
    rscales: tuple[float, ...] | None = None
    mse: bool = False
    combined_weights: bool = True

    def __post_init__(self) -> None:
        t = canonical_type(self.type)
        if t is None or t not in REP_TYPES:
            raise DesignError(f"replicate type '{self.type}' is not one of {', '.join(REP_TYPES)}")
        object.__setattr__(self, "type", t)
        if t == "Fay" and self.rho is None:
            raise DesignError("replicate type Fay needs {rho} (the Fay coefficient, 0 <= rho < 1)", param="rho")
        if self.rho is not None and not (0 <= float(self.rho) < 1):
            raise DesignError(f"{{rho}} must be in [0, 1), got {self.rho}", param="rho")

    def resolve_columns(self, frame: pl.DataFrame) -> list[str]:
        if isinstance(self.columns, str):
            pats = [p.strip() for p in self.columns.split(",") if p.strip()]
        else:
            pats = list(self.columns)
        out: list[str] = []
        for pat in pats:
            hits = [c for c in frame.columns if fnmatch.fnmatchcase(c, pat)]
            if not hits:
                raise DesignError(f"replicate weights: no column matches '{pat}'")
            out.extend(h for h in hits if h not in out)
        return out


@dataclass(frozen=True)
class DesignSpec:
    """Column names and options of a survey design (R's svydesign / svrepdesign arguments)."""

    weights: str | None = None
    probs: str | None = None
    strata: str | None = None
    ids: tuple[str, ...] = ()
    fpc: tuple[str, ...] = ()
    nest: bool = False
    lonely_psu: str = "fail"
    replicates: ReplicateSpec | None = None
    adjust_domain_lonely: bool = False  # R's survey.adjust.domain.lonely
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", _as_tuple(self.ids))
        object.__setattr__(self, "fpc", _as_tuple(self.fpc))
        if self.lonely_psu not in LONELY_PSU:
            raise DesignError(
                f"{{lonely_psu}} must be one of {', '.join(LONELY_PSU)}, got '{self.lonely_psu}'", param="lonely_psu"
            )
        _flag(self.adjust_domain_lonely, "adjust_domain_lonely")
        if self.adjust_domain_lonely and self.replicates is not None:
            raise DesignError(
                "{adjust_domain_lonely} applies to linearization designs; replicate weights have no strata",
                param="adjust_domain_lonely",
            )
        if self.weights and self.probs:
            raise DesignError("give either weights or probabilities (probs), not both")
        if self.replicates is not None and (self.strata or self.ids or self.fpc):
            raise DesignError(
                "a replicate-weight design takes no strata, ids or fpc: they are in the replicate weights"
            )

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> DesignSpec:
        """From study.toml's [design] table (or any dict with its keys)."""
        known = {
            "weights",
            "probs",
            "strata",
            "ids",
            "fpc",
            "nest",
            "lonely_psu",
            "adjust_domain_lonely",
            "replicates",
            "kind",
        }
        unknown = set(m) - known
        if unknown:
            raise DesignError(f"[design] has unknown key(s): {', '.join(sorted(unknown))}")
        rep = m.get("replicates")
        rspec = None
        if rep:
            rs = rep.get("rscales")
            if rs is not None and not isinstance(rs, (list, tuple)):
                rs = [rs]
            rspec = ReplicateSpec(
                columns=rep.get("columns", "rw*"),
                type=rep.get("type", "other"),
                rho=rep.get("rho"),
                scale=rep.get("scale"),
                rscales=tuple(float(x) for x in rs) if rs is not None else None,
                mse=bool(rep.get("mse", False)),
                combined_weights=bool(rep.get("combined_weights", True)),
            )
        return cls(
            weights=m.get("weights"),
            probs=m.get("probs"),
            strata=m.get("strata"),
            ids=m.get("ids") or (),
            fpc=m.get("fpc") or (),
            nest=bool(m.get("nest", False)),
            lonely_psu=m.get("lonely_psu", "fail"),
            adjust_domain_lonely=m.get("adjust_domain_lonely", False),
            replicates=rspec,
        )

    def with_overrides(self, **kw: Any) -> DesignSpec:
        kw = {k: v for k, v in kw.items() if v is not None}
        return replace(self, **kw) if kw else self

    def columns(self) -> list[str]:
        cols = [c for c in (self.weights, self.probs, self.strata) if c]
        return cols + list(self.ids) + list(self.fpc)

    def build(self, data: pl.DataFrame):
        """The design over `data`: a ReplicateDesign when replicate weights are given, else Taylor (the
        constructors registered in :data:`DESIGN_KINDS`)."""
        return DESIGN_KINDS["replicate" if self.replicates is not None else "taylor"](data, self)


#: Design kind -> its constructor from a spec, registered by design/taylor.py and design/replicate.py
#: (the ``quietpoll.design`` package imports both), so this module imports neither.
DESIGN_KINDS: dict[str, Callable[[pl.DataFrame, DesignSpec], Any]] = {}


def _flag(v: Any, name: str) -> bool:
    if not isinstance(v, bool):
        raise DesignError(f"{{{name}}} must be true or false, got {v!r}", param=name)
    return v


def _as_tuple(v: str | Sequence[str] | None) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return tuple(x.strip() for x in v.split(",") if x.strip())
    return tuple(v)
