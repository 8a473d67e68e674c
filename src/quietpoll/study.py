"""study.toml -> a typed StudyConfig. Relative paths are taken from the study folder."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .design import DesignSpec
from .errors import QuietpollError, StudyError

SECTIONS = ("study", "instrument", "data", "design", "weighting", "collect", "quality", "report")


@dataclass(frozen=True)
class StudyConfig:
    folder: Path
    title: str | None
    data_path: Path | None
    design: DesignSpec | None
    weighting: Any = None            # weighting.apply.WeightingSpec, or None
    sections: Mapping[str, Any] = field(default_factory=dict)


def load_study(path: str | Path) -> StudyConfig:
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
        raise StudyError(f"study file '{p}' has unknown section(s): {', '.join(sorted(unknown))}")
    folder = p.parent
    data = raw.get("data", {})
    data_path = None
    if data.get("path"):
        data_path = Path(data["path"])
        if not data_path.is_absolute():
            data_path = folder / data_path
    design = None
    if raw.get("design"):
        try:
            design = DesignSpec.from_mapping(raw["design"])
        except QuietpollError as e:
            raise StudyError(f"{p} [design]: {e}") from None
    weighting = None
    if raw.get("weighting"):
        from .weighting.apply import WeightingSpec

        try:
            weighting = WeightingSpec.from_mapping(raw["weighting"], folder)
        except QuietpollError as e:
            raise StudyError(f"{p} [weighting]: {e}") from None
    return StudyConfig(folder=folder, title=raw.get("study", {}).get("title"), data_path=data_path,
                       design=design, weighting=weighting, sections=raw)
