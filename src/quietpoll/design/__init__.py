"""Survey designs: Taylor linearization (strata, clusters, fpc) and replicate weights, behind one
Design protocol (protocol.py)."""

from .builders import REPLICATE_TYPES
from .protocol import Design
from .replicate import ReplicateDesign
from .spec import LONELY_PSU, REP_TYPES, DesignSpec, ReplicateSpec
from .taylor import TaylorDesign

__all__ = [
    "Design",
    "DesignSpec",
    "ReplicateSpec",
    "TaylorDesign",
    "ReplicateDesign",
    "LONELY_PSU",
    "REP_TYPES",
    "REPLICATE_TYPES",
]
