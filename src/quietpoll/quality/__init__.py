"""Validation of answers against the questionnaire, and fabrication and quality checks."""

from .duplicates import near_duplicates, null_threshold, percent_match
from .interviewers import durations, interviewer_effects, item_nonresponse, straightlining
from .report import quality_report
from .results import NearDuplicate, Problem, QualityReport, ValidationResult
from .validation import validate

__all__ = [
    "validate",
    "percent_match",
    "null_threshold",
    "near_duplicates",
    "durations",
    "straightlining",
    "item_nonresponse",
    "interviewer_effects",
    "quality_report",
    "ValidationResult",
    "QualityReport",
    "Problem",
    "NearDuplicate",
]
