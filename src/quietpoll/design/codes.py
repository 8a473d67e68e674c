"""Integer codes for grouping columns: kept under this name for existing imports; the code lives in
quietpoll/codes.py, below both design/ and weighting/, so that neither imports the other for it."""

from ..codes import column_array, combine_codes, factorize, gather, joint_sums, small_codes

__all__ = ["column_array", "combine_codes", "factorize", "gather", "joint_sums", "small_codes"]
