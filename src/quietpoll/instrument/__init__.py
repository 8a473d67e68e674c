"""Questionnaires: XLSForms loaded with pyxform, XLSForm expressions compiled to polars, codebooks,
the built-in templates, reading collection-tool exports and typing them from the form."""

from .codebook import codebook
from .exports import Responses, read_responses
from .expressions import compile_expression, parse
from .form import Choice, Instrument, Question, load_instrument
from .typing import type_responses

__all__ = [
    "Choice",
    "Instrument",
    "Question",
    "load_instrument",
    "compile_expression",
    "parse",
    "codebook",
    "Responses",
    "read_responses",
    "type_responses",
    "TEMPLATES",
]

TEMPLATES = ("foreign-media",)
