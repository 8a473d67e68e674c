"""Weighting samples to the population: post-stratification, raking, calibration (linear, raking,
logit with bounds), trimming, propensity weighting against a reference sample, and diagnostics.
Every method returns a new design whose standard errors reflect the weighting."""

from .apply import METHODS, WeightingSpec, apply_weighting, trim_design
from .diagnostics import diagnostics, effective_n, kish_deff
from .propensity import PropensityResult, propensity_weights

__all__ = [
    "METHODS",
    "WeightingSpec",
    "apply_weighting",
    "trim_design",
    "diagnostics",
    "effective_n",
    "kish_deff",
    "PropensityResult",
    "propensity_weights",
]
