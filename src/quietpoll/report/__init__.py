"""Reports and exports: the published face of a study (HTML report, report.json, labelled data files)."""

from .build import ReportResult, build_report

__all__ = ["ReportResult", "build_report"]
