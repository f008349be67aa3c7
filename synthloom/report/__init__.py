"""Quality and privacy reporting for synthetic data."""

from synthloom.report.metrics import (
    AccuracyResult,
    DcrResult,
    dcr,
    tvd_accuracy,
)

__all__ = ["AccuracyResult", "DcrResult", "dcr", "tvd_accuracy"]
