"""Fidelity scores: the overall quality score and its three stabilities, and accuracy.

All definitions, with formulas, are in ``docs/METRICS.md``. In short, with
real data ``R`` and synthetic data ``S`` (a holdout can take the place of ``S`` to give the
score that fresh real data gets, the ceiling):

* field distribution stability: mean over columns of ``1 - JS distance`` of the binned
  distributions;
* field correlation stability: ``1 - sum |A_R - A_S| / sum max(|A_R|, |A_S|)`` over the
  off-diagonal cells of the association matrices;
* deep structure stability: ``1 - JS distance`` of the distributions of the data projected
  on the principal components of ``R``, weighted by explained variance;
* quality score: ``100 x`` the mean of the three, with a grade.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial.distance import jensenshannon
from sklearn.decomposition import PCA

from synthloom.report.correlations import Association
from synthloom.report.metrics import (
    AccuracyResult,
    _DistanceEncoder,
    _fit_binning,
    tvd_accuracy,
)

__all__ = [
    "GRADES",
    "AccuracyWithCeiling",
    "QualityScore",
    "StructureResult",
    "accuracy_with_ceiling",
    "deep_structure",
    "field_correlation_stability",
    "field_distribution_stability",
    "grade",
    "js_stability",
    "quality_score",
]

FloatArray = npt.NDArray[np.float64]

#: Lower bound of each grade of the quality score (0-100), best first.
GRADES: tuple[tuple[float, str], ...] = (
    (80.0, "Excellent"),
    (60.0, "Good"),
    (40.0, "Moderate"),
    (20.0, "Poor"),
    (0.0, "Very poor"),
)

#: Principal components compared by the deep structure stability.
PCA_COMPONENTS = 5


def grade(score: float) -> str:
    """The grade of a 0-100 quality score (see :data:`GRADES`)."""
    for lower, name in GRADES:
        if score >= lower:
            return name
    return GRADES[-1][1]


def js_stability(real: pd.Series, other: pd.Series, bins: int) -> float:
    """``1 - JS distance`` (base 2) of the binned distributions of two columns.

    Bins are those of :func:`~synthloom.report.metrics.tvd_accuracy`, fitted on ``real``.
    """
    binning = _fit_binning(real, bins)
    p = np.bincount(binning.codes(real), minlength=binning.n_bins).astype(np.float64)
    q = np.bincount(binning.codes(other), minlength=binning.n_bins).astype(np.float64)
    distance = float(jensenshannon(p / p.sum(), q / q.sum(), base=2))
    return 1.0 - (0.0 if math.isnan(distance) else distance)


def field_distribution_stability(
    real: pd.DataFrame, other: pd.DataFrame, columns: Sequence[Hashable], bins: int
) -> dict[Hashable, float]:
    """Per column, ``1 - JS distance`` of real vs ``other`` (see :func:`js_stability`)."""
    return {column: js_stability(real[column], other[column], bins) for column in columns}


def field_correlation_stability(real: Association, other: Association) -> float | None:
    """``1 - sum|A_R - A_O| / sum max(|A_R|, |A_O|)`` over off-diagonal cells.

    Undefined associations (NaN) count as 0. Returns 1.0 when every association is 0 in both
    and None with fewer than two columns.
    """
    n = len(real.columns)
    if n < 2:
        return None
    off = ~np.eye(n, dtype=bool)
    a = np.nan_to_num(real.matrix[off])
    b = np.nan_to_num(other.matrix[off])
    scale = float(np.maximum(np.abs(a), np.abs(b)).sum())
    if scale == 0:
        return 1.0
    return float(max(0.0, 1.0 - np.abs(a - b).sum() / scale))


@dataclass(frozen=True)
class StructureResult:
    """Deep structure stability and the projections behind it.

    Attributes:
        stability: ``sum_k w_k (1 - JS_k)`` (JS distance per component), in [0, 1].
        per_component: ``1 - JS distance`` of each principal component.
        weights: explained-variance share ``w_k`` of each component (summing to 1).
        real_projection: real rows on the first two components (for the scatter chart).
        other_projection: the compared rows on the first two components.
    """

    stability: float
    per_component: list[float]
    weights: list[float]
    real_projection: FloatArray
    other_projection: FloatArray


class StructureModel:
    """PCA of the real data in the DCR distance space; projects any frame onto it."""

    def __init__(self, real: pd.DataFrame, others: Sequence[pd.DataFrame], seed: int) -> None:
        self.encoder = _DistanceEncoder(real, list(others))
        points = self.encoder.transform(real)
        n_components = max(1, min(PCA_COMPONENTS, points.shape[1], len(points) - 1))
        with np.errstate(divide="ignore", invalid="ignore"):  # a single row has no variance
            self.pca = PCA(n_components=n_components, random_state=seed).fit(points)
        self.real_scores = self.pca.transform(points)

    def compare(self, other: pd.DataFrame, bins: int) -> StructureResult:
        """Deep structure stability of ``other`` against the real data."""
        scores = self.pca.transform(self.encoder.transform(other))
        ratios = np.nan_to_num(self.pca.explained_variance_ratio_)
        weights = (
            ratios / ratios.sum() if ratios.sum() > 0 else np.full(len(ratios), 1 / len(ratios))
        )
        per_component = [
            js_stability(pd.Series(self.real_scores[:, k]), pd.Series(scores[:, k]), bins)
            for k in range(scores.shape[1])
        ]
        return StructureResult(
            stability=float(np.dot(weights, per_component)),
            per_component=per_component,
            weights=[float(w) for w in weights],
            real_projection=_first_two(self.real_scores),
            other_projection=_first_two(scores),
        )


def _first_two(scores: FloatArray) -> FloatArray:
    if scores.shape[1] >= 2:
        return scores[:, :2]
    return np.column_stack([scores[:, 0], np.zeros(len(scores))])


def deep_structure(
    real: pd.DataFrame, others: Sequence[pd.DataFrame], bins: int, seed: int
) -> list[StructureResult]:
    """Deep structure stability of each of ``others`` against ``real`` (same columns)."""
    model = StructureModel(real, others, seed)
    return [model.compare(other, bins) for other in others]


@dataclass(frozen=True)
class QualityScore:
    """The overall quality score and its parts (stabilities in [0, 1])."""

    score: float
    grade: str
    field_distribution_stability: float
    field_correlation_stability: float | None
    deep_structure_stability: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "grade": self.grade,
            "field_distribution_stability": self.field_distribution_stability,
            "field_correlation_stability": self.field_correlation_stability,
            "deep_structure_stability": self.deep_structure_stability,
        }


def quality_score(distribution: float, correlation: float | None, structure: float) -> QualityScore:
    """``100 x`` the mean of the stabilities (correlation left out when undefined)."""
    parts = (
        [distribution, structure] if correlation is None else [distribution, correlation, structure]
    )
    score = 100.0 * float(np.mean(parts))
    return QualityScore(
        score=score,
        grade=grade(score),
        field_distribution_stability=distribution,
        field_correlation_stability=correlation,
        deep_structure_stability=structure,
    )


@dataclass(frozen=True)
class AccuracyWithCeiling:
    """Accuracy of the synthetic data and, with a holdout, of the holdout (the ceiling)."""

    synthetic: AccuracyResult
    holdout: AccuracyResult | None

    def to_dict(self) -> dict[str, Any]:
        result = self.synthetic.to_dict()
        result["holdout"] = None if self.holdout is None else self.holdout.to_dict()
        return result


def _accuracy(
    real: pd.DataFrame, other: pd.DataFrame, pair_columns: Sequence[Hashable], bins: int
) -> AccuracyResult:
    """Univariate accuracy over all columns, bivariate over the pairs of ``pair_columns``."""
    pair_columns = list(pair_columns)
    if len(pair_columns) == real.shape[1]:
        return tvd_accuracy(real, other, bins=bins)
    univariate = tvd_accuracy(real, other, bins=bins, max_bivariate_columns=0).univariate
    bivariate = tvd_accuracy(real[pair_columns], other[pair_columns], bins=bins).bivariate
    uni_mean = float(np.mean(list(univariate.values())))
    overall = (uni_mean + float(np.mean(list(bivariate.values())))) / 2 if bivariate else uni_mean
    return AccuracyResult(overall=overall, univariate=univariate, bivariate=bivariate)


def accuracy_with_ceiling(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    pair_columns: Sequence[Hashable],
    bins: int,
) -> AccuracyWithCeiling:
    """mostlyai-qa accuracy of ``synthetic`` and of ``holdout`` against ``real``."""
    return AccuracyWithCeiling(
        synthetic=_accuracy(real, synthetic, pair_columns, bins),
        holdout=None if holdout is None else _accuracy(real, holdout, pair_columns, bins),
    )
