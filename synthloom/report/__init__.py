"""Quality and privacy reporting for synthetic data.

:func:`build_report` writes a self-contained HTML report, a PDF and JSON scores;
:func:`compute_scores` returns the same scores without writing files. The metric definitions
are in ``docs/METRICS.md``. All are imported lazily, so that the metrics
(:func:`tvd_accuracy`, :func:`dcr`) load without matplotlib, jinja2 and phik.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from synthloom.report.options import ReportOptions, ReportResult

if TYPE_CHECKING:
    from synthloom.report.builder import build_report, compute_scores
    from synthloom.report.metrics import AccuracyResult, DcrResult, dcr, tvd_accuracy

__all__ = [
    "AccuracyResult",
    "DcrResult",
    "ReportOptions",
    "ReportResult",
    "build_report",
    "compute_scores",
    "dcr",
    "tvd_accuracy",
]


def __getattr__(name: str) -> Any:
    if name in ("build_report", "compute_scores"):
        from synthloom.report import builder

        return getattr(builder, name)
    if name in ("AccuracyResult", "DcrResult", "dcr", "tvd_accuracy"):
        from synthloom.report import metrics  # scikit-learn: half a second to import

        return getattr(metrics, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
