"""Survey designs: Taylor linearization (strata, clusters, fpc) and replicate weights."""

from .replicate import ReplicateDesign
from .spec import LONELY_PSU, REP_TYPES, DesignSpec, ReplicateSpec
from .taylor import TaylorDesign

__all__ = ["DesignSpec", "ReplicateSpec", "TaylorDesign", "ReplicateDesign", "LONELY_PSU", "REP_TYPES"]
