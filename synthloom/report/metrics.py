"""Quality and privacy metrics for synthetic tables.

Two families of metrics live here; both compare pandas DataFrames whose columns are matched
by name.

* :func:`tvd_accuracy` measures *fidelity*: every column is discretised into a handful of
  bins fitted on the real data, and the accuracy of a column (or column pair) is one minus
  the total variation distance (TVD) between the real and the synthetic bin frequencies.
  This is the accuracy definition of mostlyai-qa (Apache-2.0), see :func:`tvd_accuracy` for
  the exact binning.
* :func:`dcr` measures *privacy*: the distance from each synthetic record to its closest
  training record is compared with its distance to the closest record of a holdout set the
  generator never saw. A generator that memorises its training data puts synthetic records
  closer to the training records than to the holdout records.

Why one module of this length: both families share the binning and the encoding of mixed
columns, which must stay identical for the scores to be comparable.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.neighbors import NearestNeighbors

__all__ = [
    "DCR_MAX_CATEGORIES",
    "MIN_CATEGORY_COUNT",
    "AccuracyResult",
    "DcrResult",
    "dcr",
    "tvd_accuracy",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_Kind = Literal["numeric", "datetime", "categorical"]

#: A category needs at least this many occurrences in the real data to get its own bin
#: (mostlyai-qa's ``MIN_RARE_CAT_PROTECTION``); rarer categories fall into ``(other)``.
MIN_CATEGORY_COUNT = 5

#: Categorical columns are one-hot encoded for :func:`dcr` with at most this many of their
#: most frequent training categories; every other category shares one ``(other)`` slot.
DCR_MAX_CATEGORIES = 100

# mostlyai-qa searches equal-frequency break points with at most this many sample points.
_MAX_SEARCH_POINTS = 1000
_MICROSECONDS_PER_DAY = 86_400_000_000
# Fallback edges of an all-missing datetime column, as mostlyai-qa (years 1700 and 2200).
_EMPTY_DATETIME_EDGES = (
    int(pd.Timestamp("1700-01-01").as_unit("us").value),
    int(pd.Timestamp("2200-01-01").as_unit("us").value),
)
# NNDR = (d1 + eps) / (d2 + eps), as mostlyai-qa, so that duplicates give 1 rather than 0/0.
_NNDR_EPSILON = 1e-8


# --------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------


def _column_kind(series: pd.Series) -> _Kind:
    """How a column is treated: booleans and everything non-numeric are categorical."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "categorical"


def _as_float(series: pd.Series) -> FloatArray:
    """Numeric values as float64; anything that does not parse as a number becomes NaN."""
    values = pd.to_numeric(series, errors="coerce")
    return np.asarray(values.to_numpy(dtype="float64", na_value=np.nan), dtype=np.float64)


def _as_datetime(series: pd.Series) -> tuple[IntArray, BoolArray]:
    """Datetimes as int64 microseconds since the epoch (UTC) plus a missing-value mask.

    Time-zone-aware values are converted to UTC, naive ones are taken as UTC; values that do
    not parse as datetimes count as missing.
    """
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = pd.to_datetime(series, utc=True)
    else:
        values = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
    values = values.dt.tz_localize(None).astype("datetime64[us]")
    missing = np.asarray(values.isna().to_numpy(), dtype=np.bool_)
    ints = values.to_numpy().view(np.int64).copy()
    ints[missing] = 0
    return ints, missing


def _as_text(series: pd.Series) -> pd.Series:
    """Values as pandas strings (``str(value)``), with missing values kept as ``<NA>``."""
    return series.astype("string")


def _check_frames(frames: Mapping[str, pd.DataFrame]) -> list[Hashable]:
    """Validate that all frames share one set of unique column names; return the columns.

    The column order of the first frame is returned; the others are matched by name.
    """
    names = list(frames)
    first = frames[names[0]]
    for name, frame in frames.items():
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
        duplicated = frame.columns[frame.columns.duplicated()].unique().tolist()
        if duplicated:
            raise ValueError(f"{name} has duplicated column names: {duplicated}")
        if len(frame) == 0:
            raise ValueError(f"{name} has no rows")
    columns = list(first.columns)
    if not columns:
        raise ValueError(f"{names[0]} has no columns")
    for name in names[1:]:
        other = frames[name]
        missing = [c for c in columns if c not in other.columns]
        extra = [c for c in other.columns if c not in first.columns]
        if missing or extra:
            raise ValueError(
                f"columns of {name} do not match those of {names[0]}: "
                f"missing from {name}: {missing}; not in {names[0]}: {extra}"
            )
    return columns


def _nan_to_none(value: float) -> float | None:
    return None if math.isnan(value) else value


# --------------------------------------------------------------------------------------
# accuracy
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Binning:
    """Discretisation of one column, fitted on real data; maps values to bin codes.

    ``edges`` (numeric and datetime columns): bin ``j`` holds values ``x`` with
    ``edges[j] <= x < edges[j + 1]``; values below ``edges[0]`` join the first bin and values
    at or above ``edges[-1]`` the last one; missing values get code ``len(edges) - 1``.

    ``categories`` (categorical columns): code ``j`` for ``categories[j]``, then one code each
    for the empty string, for every other category (``(other)``) and for missing values.
    """

    kind: _Kind
    edges: npt.NDArray[Any] | None = None
    categories: tuple[str, ...] = ()

    @property
    def n_bins(self) -> int:
        if self.edges is not None:
            return len(self.edges)  # len(edges) - 1 value bins plus the missing-value bin
        return len(self.categories) + 3

    def codes(self, series: pd.Series) -> IntArray:
        """Bin code of every value of ``series`` (coerced to this column's kind)."""
        if self.kind == "categorical":
            text = _as_text(series)
            n_kept = len(self.categories)
            codes = pd.Index(self.categories, dtype="string").get_indexer(text).astype(np.int64)
            missing = text.isna().to_numpy(dtype=np.bool_, na_value=True)
            empty = (text == "").to_numpy(dtype=np.bool_, na_value=False)
            codes[codes < 0] = n_kept + 1  # (other)
            codes[empty] = n_kept
            codes[missing] = n_kept + 2
            return codes
        assert self.edges is not None
        if self.kind == "numeric":
            values: npt.NDArray[Any] = _as_float(series)
            missing = np.isnan(values)
        else:
            values, missing = _as_datetime(series)
        codes = np.searchsorted(self.edges[1:-1], values, side="right").astype(np.int64)
        codes[missing] = len(self.edges) - 1
        return codes


def _equal_frequency_edges(sorted_values: npt.NDArray[Any], bins: int) -> npt.NDArray[Any]:
    """Greedy search for at least ``bins + 1`` distinct equal-frequency break points.

    For ``m = bins, bins + 1, ...`` (at most up to 999 or ``len(sorted_values)``) take the
    values at ``m`` evenly spaced positions of the sorted data (its ``0, 1/(m-1), ..., 1``
    quantiles, including minimum and maximum) and stop as soon as they contain ``bins + 1``
    distinct values. Heavily tied data (say 90 % zeros) thus still yields ``bins`` bins above
    the tied value. Mirrors ``search_bin_boundaries`` of mostlyai-qa.
    """
    n = len(sorted_values)
    if n == 0:
        return sorted_values[:0]
    edges = np.unique(sorted_values)
    for points in range(bins, max(bins + 1, min(_MAX_SEARCH_POINTS, n + 1))):
        positions = np.linspace(0, n - 1, points).astype(np.int64)
        edges = np.unique(sorted_values[positions])
        if len(edges) >= bins + 1:
            break
    return edges


def _fit_binning(series: pd.Series, bins: int) -> _Binning:
    """Fit the mostlyai-qa binning of one real column (see :func:`tvd_accuracy`)."""
    kind = _column_kind(series)
    if kind == "categorical":
        counts = _as_text(series).value_counts(dropna=False).head(bins)
        kept = [
            str(category)
            for category, count in counts.items()
            if count >= MIN_CATEGORY_COUNT and not pd.isna(category) and category != ""
        ]
        return _Binning(kind=kind, categories=tuple(sorted(kept)))

    if kind == "numeric":
        values = _as_float(series)
        present = np.sort(values[~np.isnan(values)])
        distinct = np.unique(present)
        if len(distinct) <= bins:
            # one bin per distinct value; the upper limit closes the last bin
            edges = np.append(distinct, distinct[-1] + 1) if len(distinct) else distinct
        else:
            edges = _equal_frequency_edges(present, bins)
        edges = np.unique(edges)
        if len(edges) == 0:
            edges = np.array([-1e10, 1e10])
        elif len(edges) == 1:  # `max + 1` was absorbed by float precision (or is infinite)
            edges = np.append(edges, np.nextafter(edges[0], np.inf))
        # mostlyai-qa floors all but the last edge to the fewest decimals that keep them
        # distinct (to get readable labels); we keep that so that the bins are the same.
        for precision in range(20):
            scale = 10.0**precision
            floored = np.floor(edges * scale) / scale
            if len(np.unique(floored)) == len(edges):
                edges = np.append(floored[:-1], edges[-1])
                break
        return _Binning(kind=kind, edges=edges.astype(np.float64))

    ints, missing = _as_datetime(series)
    present_ints = np.sort(ints[~missing])
    distinct_ints = np.unique(present_ints)
    if len(distinct_ints) == 1:
        edges = np.array([distinct_ints[0], distinct_ints[0] + _MICROSECONDS_PER_DAY])
    else:
        edges = np.unique(_equal_frequency_edges(present_ints, bins))
    if len(edges) == 0:
        edges = np.array(_EMPTY_DATETIME_EDGES)
    return _Binning(kind=kind, edges=edges.astype(np.int64))


def _tvd(real_codes: IntArray, synthetic_codes: IntArray, n_bins: int) -> float:
    """Total variation distance ``0.5 * sum_b |p_real(b) - p_syn(b)|`` of two code arrays."""
    p_real = np.bincount(real_codes, minlength=n_bins) / len(real_codes)
    p_syn = np.bincount(synthetic_codes, minlength=n_bins) / len(synthetic_codes)
    return 0.5 * float(np.abs(p_real - p_syn).sum())


@dataclass(frozen=True)
class AccuracyResult:
    """Result of :func:`tvd_accuracy`; all accuracies lie in [0, 1], 1 being perfect.

    Attributes:
        overall: ``mean(univariate_mean, bivariate_mean)``, or ``univariate_mean`` when there
            are no column pairs (a single column).
        univariate: column name -> ``1 - TVD`` of that column's binned distribution.
        bivariate: ``(column_a, column_b)`` -> ``1 - TVD`` of the joint binned distribution
            of the pair; ``column_a`` precedes ``column_b`` in the real frame.
    """

    overall: float
    univariate: dict[Hashable, float]
    bivariate: dict[tuple[Hashable, Hashable], float]

    @property
    def univariate_mean(self) -> float:
        """Mean univariate accuracy over all columns."""
        return float(np.mean(list(self.univariate.values())))

    @property
    def bivariate_mean(self) -> float:
        """Mean bivariate accuracy over all evaluated column pairs (NaN if there are none)."""
        if not self.bivariate:
            return math.nan
        return float(np.mean(list(self.bivariate.values())))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form: plain floats, string column names, pairs as a list of records.

        ``{"overall", "univariate_mean", "bivariate_mean" (None without pairs),
        "univariate": {column: accuracy}, "bivariate": [{"column_a", "column_b",
        "accuracy"}]}``; :meth:`from_dict` reads it back (with string column names).
        """
        return {
            "overall": self.overall,
            "univariate_mean": self.univariate_mean,
            "bivariate_mean": _nan_to_none(self.bivariate_mean),
            "univariate": {str(column): value for column, value in self.univariate.items()},
            "bivariate": [
                {"column_a": str(a), "column_b": str(b), "accuracy": value}
                for (a, b), value in self.bivariate.items()
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AccuracyResult:
        """Rebuild a result from :meth:`to_dict` output (e.g. after a JSON round trip)."""
        return cls(
            overall=float(data["overall"]),
            univariate={str(k): float(v) for k, v in data["univariate"].items()},
            bivariate={
                (str(row["column_a"]), str(row["column_b"])): float(row["accuracy"])
                for row in data["bivariate"]
            },
        )


def tvd_accuracy(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    bins: int = 10,
    max_bivariate_columns: int | None = None,
    seed: int = 0,
) -> AccuracyResult:
    """Univariate and bivariate accuracy of ``synthetic`` with respect to ``real``.

    Binning follows mostlyai-qa (``bin_data`` / ``bin_numeric`` / ``bin_datetime`` /
    ``bin_categorical`` / ``search_bin_boundaries`` in ``mostlyai/qa/_accuracy.py`` of
    github.com/mostly-ai/mostlyai-qa, Apache-2.0), re-implemented here. Bins are fitted on
    ``real`` only and ``synthetic`` is mapped onto them, its values coerced to the real
    column's kind (unparseable values count as missing):

    * numeric columns (booleans excluded): with at most ``bins`` distinct real values, one
      bin per value; otherwise equal-frequency (quantile) break points of the real values,
      searched greedily until ``bins + 1`` distinct ones are found (``bins`` or, rarely, a
      few more bins; heavy ties such as 90 % zeros still get ``bins`` bins). Bins are
      half-open ``[edge_j, edge_j+1)``; values outside the real range fall into the first
      or last bin. As mostlyai-qa, all but the last edge are floored to the fewest decimals
      that keep them distinct.
    * datetime columns: the same equal-frequency search (a single distinct value gets a
      one-day bin).
    * categorical columns (anything else, compared as strings): the ``bins`` most frequent
      real values (missing and empty values included in the ranking) that occur at least
      :data:`MIN_CATEGORY_COUNT` times get a bin each; empty strings get their own bin and
      every other value shares one ``(other)`` bin.
    * missing values always get their own bin.

    With ``p_real(b)``, ``p_syn(b)`` the shares of rows in bin ``b``::

        TVD = 0.5 * sum_b |p_real(b) - p_syn(b)|
        univariate[c] = 1 - TVD over the bins of column c
        bivariate[(c1, c2)] = 1 - TVD over the joint bins (b1, b2) of c1 and c2
        overall = (mean(univariate) + mean(bivariate)) / 2

    Bivariate accuracies cover every unordered pair of columns. Real and synthetic frames
    may have different numbers of rows; no subsampling takes place.

    Args:
        real: the reference data (training data of the generator, or a holdout sample).
        synthetic: the data to score; must have the same set of columns.
        bins: the target number of bins per column (mostlyai-qa uses 10).
        max_bivariate_columns: when set and smaller than the number of columns, bivariate
            pairs are formed among this many columns drawn at random (with ``seed``);
            univariate accuracies always cover all columns.
        seed: seed of that column draw; nothing else is random.

    Raises:
        ValueError: if the column sets differ, a frame is empty or an argument is invalid.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    if max_bivariate_columns is not None and max_bivariate_columns < 0:
        raise ValueError(f"max_bivariate_columns must be >= 0, got {max_bivariate_columns}")
    columns = _check_frames({"real": real, "synthetic": synthetic})

    real_codes: dict[Hashable, IntArray] = {}
    syn_codes: dict[Hashable, IntArray] = {}
    n_bins: dict[Hashable, int] = {}
    univariate: dict[Hashable, float] = {}
    for column in columns:
        binning = _fit_binning(real[column], bins)
        real_codes[column] = binning.codes(real[column])
        syn_codes[column] = binning.codes(synthetic[column])
        n_bins[column] = binning.n_bins
        univariate[column] = 1.0 - _tvd(real_codes[column], syn_codes[column], binning.n_bins)

    pair_columns = columns
    if max_bivariate_columns is not None and max_bivariate_columns < len(columns):
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(len(columns), size=max_bivariate_columns, replace=False))
        pair_columns = [columns[i] for i in chosen]

    bivariate: dict[tuple[Hashable, Hashable], float] = {}
    for a, b in combinations(pair_columns, 2):
        joint_bins = n_bins[a] * n_bins[b]
        real_joint = real_codes[a] * n_bins[b] + real_codes[b]
        syn_joint = syn_codes[a] * n_bins[b] + syn_codes[b]
        bivariate[(a, b)] = 1.0 - _tvd(real_joint, syn_joint, joint_bins)

    univariate_mean = float(np.mean(list(univariate.values())))
    if bivariate:
        overall = (univariate_mean + float(np.mean(list(bivariate.values())))) / 2
    else:
        overall = univariate_mean
    return AccuracyResult(overall=overall, univariate=univariate, bivariate=bivariate)


# --------------------------------------------------------------------------------------
# distances to closest records
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NumericEncoding:
    """Quantile-rank encoding of a numeric or datetime column."""

    kind: _Kind
    reference: npt.NDArray[Any]  # sorted non-missing training values
    with_missing: bool  # whether a missing-value indicator is appended

    def values(self, series: pd.Series) -> tuple[npt.NDArray[Any], BoolArray]:
        if self.kind == "numeric":
            values = _as_float(series)
            return values, np.isnan(values)
        return _as_datetime(series)

    def transform(self, series: pd.Series) -> FloatArray:
        """Mid-rank of each value among the training values, in [0, 1]; see :func:`dcr`."""
        values, missing = self.values(series)
        n = len(self.reference)
        if n == 0:
            ranks = np.full(len(values), 0.5)
        else:
            below = np.searchsorted(self.reference, values, side="left")
            at_or_below = np.searchsorted(self.reference, values, side="right")
            ranks = (below + at_or_below) / (2.0 * n)
        ranks[missing] = 0.5
        if not self.with_missing:
            return ranks[:, None]
        return np.column_stack([ranks, missing.astype(np.float64)])


@dataclass(frozen=True)
class _CategoricalEncoding:
    """One-hot encoding over the top training categories, ``(other)`` and missing."""

    categories: tuple[str, ...]

    def transform(self, series: pd.Series) -> FloatArray:
        text = _as_text(series)
        codes = pd.Index(self.categories, dtype="string").get_indexer(text)
        n_kept = len(self.categories)
        codes[codes < 0] = n_kept  # (other)
        codes[text.isna().to_numpy(dtype=np.bool_, na_value=True)] = n_kept + 1
        # a mismatch differs in two slots of 1/sqrt(2): squared distance 1/2 + 1/2 = 1
        one_hot = np.zeros((len(codes), n_kept + 2))
        one_hot[np.arange(len(codes)), codes] = math.sqrt(0.5)
        return one_hot


class _DistanceEncoder:
    """Maps rows of a frame to points whose Euclidean distance is the DCR distance."""

    def __init__(self, training: pd.DataFrame, others: Sequence[pd.DataFrame]) -> None:
        self.columns = list(training.columns)
        self.encodings: dict[Hashable, _NumericEncoding | _CategoricalEncoding] = {}
        for column in self.columns:
            series = training[column]
            kind = _column_kind(series)
            if kind == "categorical":
                counts = _as_text(series).value_counts(dropna=True)
                top = [str(c) for c in counts.index[:DCR_MAX_CATEGORIES]]
                self.encodings[column] = _CategoricalEncoding(categories=tuple(top))
                continue
            probe = _NumericEncoding(kind=kind, reference=np.empty(0), with_missing=False)
            values, missing = probe.values(series)
            # the layout (indicator or not) depends on all frames; the ranks on training only
            any_missing = bool(missing.any()) or any(
                bool(probe.values(other[column])[1].any()) for other in others
            )
            self.encodings[column] = _NumericEncoding(
                kind=kind, reference=np.sort(values[~missing]), with_missing=any_missing
            )

    def transform(self, frame: pd.DataFrame) -> FloatArray:
        blocks = [self.encodings[column].transform(frame[column]) for column in self.columns]
        # divide by sqrt(#columns): distances become a root-mean-square over columns
        return np.hstack(blocks) / math.sqrt(len(self.columns))


def _row_hashes(frame: pd.DataFrame, kinds: Mapping[Hashable, _Kind]) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of each row's raw values, harmonised per column kind.

    Numeric values compare as float64 (so 39 == 39.0), datetimes as UTC microseconds and
    everything else as strings; missing values equal each other and nothing else.
    """
    parts: dict[str, Any] = {}
    for i, (column, kind) in enumerate(kinds.items()):
        series = frame[column]
        if kind == "categorical":
            text = _as_text(series)
            missing = text.isna().to_numpy(dtype=np.bool_, na_value=True)
            parts[f"v{i}"] = text.fillna("")
        elif kind == "numeric":
            values = _as_float(series)
            missing = np.isnan(values)
            parts[f"v{i}"] = np.where(missing, 0.0, values) + 0.0  # + 0.0 turns -0.0 into 0.0
        else:
            parts[f"v{i}"], missing = _as_datetime(series)
        parts[f"m{i}"] = missing
    canonical = pd.DataFrame({k: np.asarray(v) for k, v in parts.items()})
    return pd.util.hash_pandas_object(canonical, index=False).to_numpy(dtype=np.uint64)


def _nearest_distances(reference: FloatArray, query: FloatArray, k: int) -> FloatArray:
    """Sorted distances from each query row to its ``k`` nearest reference rows.

    scikit-learn finds the neighbours (tree search or chunked brute force, never a full
    query x reference matrix); their distances are then recomputed exactly row by row, so
    that identical points are at distance exactly 0 and ties compare exactly.
    """
    k = min(k, len(reference))
    index = NearestNeighbors(n_neighbors=k).fit(reference)
    neighbours = index.kneighbors(query, return_distance=False)
    distances = np.empty((len(query), k))
    for j in range(k):
        diff = query - reference[neighbours[:, j]]
        distances[:, j] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    distances.sort(axis=1)
    return distances


@dataclass(frozen=True)
class DcrResult:
    """Result of :func:`dcr`.

    Attributes:
        dcr_share: share of synthetic rows closer to their nearest training row than to their
            nearest holdout row, ties counting half. 0.5 is ideal (synthetic data is no closer
            to the training data than fresh real data is); 1.0 means every synthetic row sits
            nearer to the training data, as copies of it would.
        exact_copy_share: share of synthetic rows whose raw values equal those of some row of
            the full training frame.
        dcr_training_median: median distance from a synthetic row to its nearest training row.
        dcr_holdout_median: median distance from a synthetic row to its nearest holdout row.
        nndr_training_median: median over synthetic rows of the nearest-neighbour distance
            ratio ``(d1 + 1e-8) / (d2 + 1e-8)``, with ``d1``, ``d2`` the distances to the
            nearest and second-nearest training row (NaN with fewer than 2 training rows).
        n_training, n_holdout, n_synthetic: numbers of rows that entered the distances.
    """

    dcr_share: float
    exact_copy_share: float
    dcr_training_median: float
    dcr_holdout_median: float
    nndr_training_median: float
    n_training: int
    n_holdout: int
    n_synthetic: int

    def to_dict(self) -> dict[str, float | int | None]:
        """The fields as a JSON-friendly dict (NaN becomes None)."""
        return {
            "dcr_share": self.dcr_share,
            "exact_copy_share": self.exact_copy_share,
            "dcr_training_median": self.dcr_training_median,
            "dcr_holdout_median": self.dcr_holdout_median,
            "nndr_training_median": _nan_to_none(self.nndr_training_median),
            "n_training": self.n_training,
            "n_holdout": self.n_holdout,
            "n_synthetic": self.n_synthetic,
        }


def _sample_rows(frame: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    if n >= len(frame):
        return frame
    return frame.iloc[np.sort(rng.choice(len(frame), size=n, replace=False))]


def dcr(
    training: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    max_rows: int = 10000,
    seed: int = 0,
) -> DcrResult:
    """Distance-to-closest-record privacy metrics of ``synthetic``.

    ``holdout`` must come from the same distribution as ``training`` without having been
    seen by the generator. Steps:

    1. Subsample (without replacement, with ``seed``) training and holdout to the same size
       ``n = min(len(training), len(holdout), max_rows)``, so that neither is closer merely
       by being larger, and synthetic to ``min(len(synthetic), max_rows)`` rows.
    2. Encode every row into a numeric space fitted on the full training frame. Per column
       ``c`` the dissimilarity ``delta_c(x, y)`` of two rows is:

       * numeric and datetime columns: ``|r(x) - r(y)|`` with ``r`` the mid-rank of a value
         among the training values, ``r(v) = (#{t < v} + #{t <= v}) / (2 n_train)`` in
         [0, 1] (robust to outliers and skew). Missing values take rank 0.5 plus an indicator
         (added when any frame has missing values), so missing vs. present costs between 1
         and about 1.12;
       * categorical columns (anything else, compared as strings): 0 if equal, 1 otherwise,
         over the :data:`DCR_MAX_CATEGORIES` most frequent training categories, one shared
         ``(other)`` slot for the rest and one for missing values (a one-hot encoding scaled
         by ``1/sqrt(2)``). A category mismatch thus counts as much as the full numeric range.

       and the distance is the root mean square over the ``C`` columns::

           d(x, y) = sqrt(sum_c delta_c(x, y)^2 / C)     (mostly within [0, 1])

    3. For each synthetic row find, with scikit-learn ``NearestNeighbors`` (which never holds
       a synthetic x training distance matrix), the nearest training row (``d_trn``), the
       second-nearest training row (``d_trn2``) and the nearest holdout row (``d_hol``). Then::

           dcr_share = mean(1[d_trn < d_hol] + 0.5 * 1[d_trn == d_hol])
           nndr = (d_trn + 1e-8) / (d_trn2 + 1e-8)

       and the medians of ``d_trn``, ``d_hol`` and ``nndr`` are reported.
    4. ``exact_copy_share``: share of the sampled synthetic rows equal, on raw values
       (numbers compared as float64, datetimes as instants, the rest as strings, missing
       equal to missing), to some row of the full training frame.

    Raises:
        ValueError: if the column sets differ, a frame is empty or ``max_rows < 1``.
    """
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    columns = _check_frames({"training": training, "holdout": holdout, "synthetic": synthetic})
    rng = np.random.default_rng(seed)
    n_reference = min(len(training), len(holdout), max_rows)
    trn = _sample_rows(training[columns], n_reference, rng)
    hol = _sample_rows(holdout[columns], n_reference, rng)
    syn = _sample_rows(synthetic[columns], min(len(synthetic), max_rows), rng)

    encoder = _DistanceEncoder(training[columns], [hol, syn])
    trn_points = encoder.transform(trn)
    hol_points = encoder.transform(hol)
    syn_points = encoder.transform(syn)

    to_training = _nearest_distances(trn_points, syn_points, k=2)
    to_holdout = _nearest_distances(hol_points, syn_points, k=1)
    d_trn = to_training[:, 0]
    d_hol = to_holdout[:, 0]
    share = float(np.mean((d_trn < d_hol) + 0.5 * (d_trn == d_hol)))
    if to_training.shape[1] >= 2:
        nndr = (d_trn + _NNDR_EPSILON) / (to_training[:, 1] + _NNDR_EPSILON)
        nndr_median = float(np.median(nndr))
    else:
        nndr_median = math.nan

    kinds = {column: _column_kind(training[column]) for column in columns}
    copies = np.isin(_row_hashes(syn, kinds), _row_hashes(training[columns], kinds))

    return DcrResult(
        dcr_share=share,
        exact_copy_share=float(np.mean(copies)),
        dcr_training_median=float(np.median(d_trn)),
        dcr_holdout_median=float(np.median(d_hol)),
        nndr_training_median=nndr_median,
        n_training=len(trn),
        n_holdout=len(hol),
        n_synthetic=len(syn),
    )


# --------------------------------------------------------------------------------------
# C2ST: can a classifier tell synthetic rows from real ones?
# --------------------------------------------------------------------------------------


# HistGradientBoostingClassifier takes at most 255 categories per feature
_C2ST_CATEGORIES = 250


def _classifier_column(series: pd.Series) -> tuple[FloatArray, bool]:
    """A column as classifier input and whether it is categorical: numbers as they are,
    datetimes as microseconds, anything else as codes of its most frequent values (the
    rest share one code)."""
    kind = _column_kind(series)
    if kind == "numeric":
        return _as_float(series), False
    if kind == "datetime":
        ints, missing = _as_datetime(series)
        return np.where(missing, np.nan, ints.astype(np.float64)), False
    text = _as_text(series)
    top = text.value_counts().index[: _C2ST_CATEGORIES - 1]
    codes = pd.Categorical(text, categories=top).codes.astype(np.float64)
    codes[(codes < 0) & text.notna().to_numpy()] = len(top)
    codes[codes < 0] = np.nan
    return codes, True


def discriminator_auc(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    max_rows: int = 10_000,
    folds: int = 5,
    seed: int = 0,
) -> float:
    """Cross-validated ROC AUC of a gradient-boosted classifier telling ``real`` rows
    (best: a holdout the model never saw) from ``synthetic`` ones (C2ST).

    0.5: indistinguishable; 1.0: every row told apart. Both sides are sampled to the same
    number of rows (at most ``max_rows`` each); categories are coded over both frames.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    columns = _check_frames({"real": real, "synthetic": synthetic})
    rng = np.random.default_rng(seed)
    n = min(len(real), len(synthetic), max_rows)
    if n < folds:
        raise ValueError(f"C2ST needs at least {folds} rows on each side, got {n}")
    both = pd.concat(
        [_sample_rows(real, n, rng), _sample_rows(synthetic, n, rng)], ignore_index=True
    )
    coded = [_classifier_column(both[column]) for column in columns]
    features = np.column_stack([values for values, _ in coded])
    categorical = [is_categorical for _, is_categorical in coded]
    labels = np.repeat([0, 1], n)
    model = HistGradientBoostingClassifier(
        categorical_features=np.asarray(categorical, dtype=bool),
        max_iter=200,
        random_state=seed,
    )
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(model, features, labels, cv=split, scoring="roc_auc")))
