"""Association matrices of mixed-type tables: Pearson, Theil's U, correlation ratio, PhiK.

Every column is coded once on the real data (:class:`ColumnCoder`) and the same coding is
applied to the synthetic and holdout data, so that the matrices of the three frames compare
like with like. Numeric and datetime columns keep their values (datetimes as days since
1970); categorical columns are reduced to the binning of :func:`~synthloom.report.metrics.
tvd_accuracy` with up to :data:`MAX_CATEGORIES` categories: the most frequent real
categories, ``(other)``, empty and missing.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt
import pandas as pd

from synthloom.report.metrics import _as_datetime, _as_float, _Binning, _fit_binning, _Kind

__all__ = [
    "MAX_CATEGORIES",
    "Association",
    "ColumnCoder",
    "association_matrix",
    "fit_coders",
    "mean_abs_difference",
    "phik_matrix",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_MICROSECONDS_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class ColumnCoder:
    """How one column enters the association measures; fitted on the real data."""

    kind: _Kind
    binning: _Binning

    @property
    def is_categorical(self) -> bool:
        return self.kind == "categorical"

    def numbers(self, series: pd.Series) -> FloatArray:
        """Values as floats (datetimes in days since 1970-01-01 UTC), NaN when missing."""
        if self.kind == "datetime":
            ints, missing = _as_datetime(series)
            days = ints.astype(np.float64) / _MICROSECONDS_PER_DAY
            days[missing] = np.nan
            return days
        return _as_float(series)

    def codes(self, series: pd.Series) -> IntArray:
        """Bin codes 0 .. n_bins - 1 (missing values have a bin of their own)."""
        return self.binning.codes(series)


#: Categorical columns keep up to this many of their most frequent real categories here.
MAX_CATEGORIES = 30


def fit_coders(
    real: pd.DataFrame, columns: Sequence[Hashable], bins: int
) -> dict[Hashable, ColumnCoder]:
    """One :class:`ColumnCoder` per column, fitted on ``real``.

    Numeric and datetime columns get ``bins`` equal-frequency bins, categorical columns their
    :data:`MAX_CATEGORIES` most frequent real categories (as accuracy bins them, with more
    categories: a category needs 5 occurrences).
    """
    coders: dict[Hashable, ColumnCoder] = {}
    for column in columns:
        binning = _fit_binning(real[column], bins)
        if binning.kind == "categorical":
            binning = _fit_binning(real[column], max(bins, MAX_CATEGORIES))
        coders[column] = ColumnCoder(kind=binning.kind, binning=binning)
    return coders


@dataclass(frozen=True)
class Association:
    """A square association matrix over ``columns``.

    ``matrix[i, j]`` is the association of row column ``i`` with column ``j`` (NaN when
    undefined, e.g. a constant column); ``methods[i][j]`` names the measure used.
    """

    columns: list[Hashable]
    matrix: FloatArray
    methods: list[list[str]]


def _entropy(counts: FloatArray) -> float:
    total = counts.sum()
    if total <= 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * np.log(p)).sum())


def _theils_u(a: IntArray, b: IntArray, n_a: int, n_b: int) -> float:
    """Uncertainty coefficient ``U(a | b) = (H(a) - H(a | b)) / H(a)``; NaN if ``H(a) = 0``."""
    joint = np.bincount(a * n_b + b, minlength=n_a * n_b).astype(np.float64)
    h_a = _entropy(np.bincount(a, minlength=n_a).astype(np.float64))
    if h_a <= 0:
        return math.nan
    h_b = _entropy(np.bincount(b, minlength=n_b).astype(np.float64))
    h_a_given_b = _entropy(joint) - h_b
    return float(np.clip((h_a - h_a_given_b) / h_a, 0.0, 1.0))


def _correlation_ratio(codes: IntArray, values: FloatArray, n_codes: int) -> float:
    """Correlation ratio ``eta = sqrt(SS_between / SS_total)`` of values grouped by codes."""
    present = ~np.isnan(values)
    codes, values = codes[present], values[present]
    if len(values) < 2:
        return math.nan
    mean = values.mean()
    total = float(((values - mean) ** 2).sum())
    if total <= 0:
        return math.nan
    counts = np.bincount(codes, minlength=n_codes).astype(np.float64)
    sums = np.bincount(codes, weights=values, minlength=n_codes)
    used = counts > 0
    between = float((counts[used] * (sums[used] / counts[used] - mean) ** 2).sum())
    return float(np.sqrt(np.clip(between / total, 0.0, 1.0)))


def association_matrix(
    frame: pd.DataFrame, columns: Sequence[Hashable], coders: dict[Hashable, ColumnCoder]
) -> Association:
    """Mixed-type association matrix of ``frame`` (see ``docs/METRICS.md``).

    * numeric x numeric: Pearson correlation over the rows where both are present, in
      [-1, 1], symmetric;
    * categorical x categorical: Theil's U, ``matrix[i, j] = U(i | j)``, the share of the
      entropy of column ``i`` explained by column ``j``, in [0, 1], asymmetric;
    * numeric x categorical: correlation ratio ``eta`` of the numeric values grouped by the
      categories, in [0, 1], put in both cells.

    The diagonal is 1.
    """
    columns = list(columns)
    n = len(columns)
    matrix = np.full((n, n), np.nan)
    methods = [["self"] * n for _ in range(n)]
    np.fill_diagonal(matrix, 1.0)
    numeric = [i for i, c in enumerate(columns) if not coders[c].is_categorical]
    numbers = {i: coders[columns[i]].numbers(frame[columns[i]]) for i in numeric}
    codes = {
        i: coders[c].codes(frame[c]) for i, c in enumerate(columns) if coders[c].is_categorical
    }
    n_bins = {i: coders[columns[i]].binning.n_bins for i in codes}
    if len(numeric) > 1:
        block = pd.DataFrame({i: numbers[i] for i in numeric}).corr(min_periods=2).to_numpy()
        for a, i in enumerate(numeric):
            for b, j in enumerate(numeric):
                if i != j:
                    matrix[i, j] = block[a, b]
                    methods[i][j] = "pearson"
    for i, j in combinations(range(n), 2):
        if i in codes and j in codes:
            matrix[i, j] = _theils_u(codes[i], codes[j], n_bins[i], n_bins[j])
            matrix[j, i] = _theils_u(codes[j], codes[i], n_bins[j], n_bins[i])
            methods[i][j] = methods[j][i] = "theils_u"
        elif i in codes or j in codes:
            cat, num = (i, j) if i in codes else (j, i)
            matrix[i, j] = matrix[j, i] = _correlation_ratio(codes[cat], numbers[num], n_bins[cat])
            methods[i][j] = methods[j][i] = "correlation_ratio"
    return Association(columns=columns, matrix=matrix, methods=methods)


def _phik_pair(a: IntArray, b: IntArray, n_a: int, n_b: int) -> float:
    """PhiK of two binned columns from their contingency table (NaN if either is constant)."""
    from phik.phik import phik_from_hist2d

    table = np.bincount(a * n_b + b, minlength=n_a * n_b).reshape(n_a, n_b).astype(np.float64)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(table.shape) < 2:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(phik_from_hist2d(table, noise_correction=True))


def phik_matrix(
    frame: pd.DataFrame, columns: Sequence[Hashable], coders: dict[Hashable, ColumnCoder]
) -> Association:
    """PhiK correlation matrix (the ``phik`` library) over the real-fitted bins.

    Every column, numeric ones included, is first binned as for accuracy (bins fitted on the
    real data, missing values in a bin of their own); PhiK is then computed from each pair's
    contingency table with ``phik.phik.phik_from_hist2d`` (noise correction on). This is the
    computation ``phik.phik_matrix`` makes after its own binning, with the bins shared by real
    and synthetic data. Values lie in [0, 1]; the diagonal is 1.
    """
    columns = list(columns)
    n = len(columns)
    codes = [coders[c].codes(frame[c]) for c in columns]
    n_bins = [coders[c].binning.n_bins for c in columns]
    matrix = np.eye(n)
    for i, j in combinations(range(n), 2):
        matrix[i, j] = matrix[j, i] = _phik_pair(codes[i], codes[j], n_bins[i], n_bins[j])
    methods = [["phik"] * n for _ in range(n)]
    return Association(columns=columns, matrix=matrix, methods=methods)


def mean_abs_difference(real: Association, other: Association) -> float | None:
    """Mean of ``|A_R - A_O|`` over the off-diagonal cells (NaN as 0); None below 2 columns."""
    n = len(real.columns)
    if n < 2:
        return None
    off = ~np.eye(n, dtype=bool)
    difference = np.nan_to_num(real.matrix[off]) - np.nan_to_num(other.matrix[off])
    return float(np.mean(np.abs(difference)))
