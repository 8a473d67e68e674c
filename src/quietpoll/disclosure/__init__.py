"""Disclosure control: how much a data file or table could point back to a respondent."""

from .risk import disclosure_risk, propose_qi

__all__ = ["disclosure_risk", "propose_qi"]
