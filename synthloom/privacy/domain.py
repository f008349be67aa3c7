"""Private replacements for what the codecs learn from raw data outside DP-SGD.

Under DP the model's vocabulary must not reveal the data: a category held by one person,
a maximum, a rare character are each about one record. These functions release such
facts with differential privacy, each at a stated ε (and δ where said), for neighbouring
datasets that differ by adding or removing one record (one person = one record, the same
relation as the DP-SGD accountant). Their ε add up with DP-SGD's by basic sequential
composition (:func:`synthloom.privacy.accounting.privacy_report` adds them up). Text needs none of
this: :class:`ByteTokenizer` has a public vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from synthloom.errors import DataError

# Public bin edges for a first, coarse look at a numeric column: 0 and ±2^k.
_LOG_EXPONENTS = np.arange(-16, 65)
_LOG_EDGES = np.concatenate([-(2.0 ** _LOG_EXPONENTS[::-1]), [0.0], 2.0**_LOG_EXPONENTS])
# Chance that a coarse bin holding no record is taken for one that does.
_FALSE_BIN = 1e-3
# The share of a numeric column's ε that finds coarse bounds when none are public.
_COARSE_SHARE = 0.5
# Grid cells of the noisy histogram behind private quantiles.
_QUANTILE_GRID = 512


def private_histogram(
    values: pd.Series, epsilon: float, delta: float, rng: np.random.Generator
) -> dict[Any, float]:
    """Noisy counts of the categories that clear a threshold, most frequent first.

    Mechanism: Laplace noise of scale 1/ε on each category's count, then only categories
    whose noisy count exceeds τ = 1 + ln(1/(2δ))/ε are kept. Sensitivity: one record
    holds one value, so adding or removing it changes one count by 1 (L1 sensitivity 1).
    Categories present in both neighbours get ε-DP counts; a category held only by the
    added record survives with probability ½·exp(-ε(τ-1)) = δ. Together: (ε, δ)-DP.
    Missing values are not counted (the codec should always reserve its ``<na>`` token).
    """
    _check_budget(epsilon, delta)
    counts = values.dropna().value_counts(sort=False)
    noisy = counts.to_numpy(dtype=np.float64) + rng.laplace(0.0, 1.0 / epsilon, len(counts))
    threshold = 1.0 + math.log(1.0 / (2.0 * delta)) / epsilon
    kept = np.flatnonzero(noisy > threshold)
    kept = kept[np.argsort(-noisy[kept], kind="stable")]
    return {_plain(counts.index[i]): float(noisy[i]) for i in kept}


def private_count(n: int, epsilon: float, rng: np.random.Generator) -> int:
    """The number of records, released with Laplace noise of scale 1/ε (ε-DP).

    Adding or removing a record changes n by 1. The released count (rounded, at least 1)
    is what DP runs publish and plan with (sample rate, default δ), so the exact n stays
    private under the add/remove relation.
    """
    _check_budget(epsilon)
    return max(1, round(n + rng.laplace(0.0, 1.0 / epsilon)))


def private_first_below(
    counts: Sequence[float], threshold: float, epsilon: float, rng: np.random.Generator
) -> int | None:
    """The index of the first count that is (noisily) below ``threshold``: ε-DP.

    The sparse vector technique (Dwork & Roth, AboveThreshold, here "below"): the threshold
    gets Laplace noise of scale 2/ε once, each count Laplace noise of scale 4/ε, and the
    first noisy count under the noisy threshold is reported. Every count must have
    sensitivity 1 (one record changes each by at most 1); however many counts are looked
    at, the answer costs ε. None when no count is below.
    """
    _check_budget(epsilon)
    noisy_threshold = threshold + rng.laplace(0.0, 2.0 / epsilon)
    for index, count in enumerate(counts):
        if count + rng.laplace(0.0, 4.0 / epsilon) < noisy_threshold:
            return index
    return None


def private_categories(
    values: pd.Series, epsilon: float, delta: float, rng: np.random.Generator
) -> list[Any]:
    """The categories of ``values`` that a noisy, thresholded histogram keeps, most
    frequent first: (ε, δ)-DP, see :func:`private_histogram`. Rare categories are dropped;
    records holding them need an ``<other>`` token in the codec."""
    return list(private_histogram(values, epsilon, delta, rng))


def private_bounds(
    values: pd.Series,
    epsilon: float,
    rng: np.random.Generator,
    public_bounds: tuple[float, float] | None = None,
    quantiles: tuple[float, float] = (0.005, 0.995),
) -> tuple[float, float]:
    """ε-DP estimates of the ``quantiles`` of a numeric column: its range, minus outliers.

    With ``public_bounds`` (known without looking at the data) the values are clipped to
    them and each quantile is found by the exponential mechanism (ε/2 each). Without,
    half of ε first finds coarse bounds from a Laplace histogram over public bins 0 and
    ±2^k (k = -16 … 64), and each quantile gets ε/4. One record moves one bin count or a
    quantile's rank by at most 1 (sensitivity 1); the parts add up to ε. Raises
    :class:`DataError` when no coarse bin holds clearly more records than noise would.
    """
    _check_budget(epsilon)
    x = _finite(values)
    if public_bounds is None:
        low, high = _coarse_bounds(x, epsilon * _COARSE_SHARE, rng)
        each = epsilon * (1 - _COARSE_SHARE) / 2
    else:
        low, high = sorted(map(float, public_bounds))
        each = epsilon / 2
    x = np.clip(x, low, high)
    lo = _quantile_exponential(x, quantiles[0], each, low, high, rng)
    hi = _quantile_exponential(x, quantiles[1], each, low, high, rng)
    return (lo, hi) if lo <= hi else (hi, lo)


def private_quantiles(
    values: pd.Series,
    quantiles: Sequence[float],
    epsilon: float,
    bounds: tuple[float, float],
    rng: np.random.Generator,
) -> np.ndarray:
    """ε-DP estimates of many quantiles at once (e.g. a codec's bin edges), all for ε.

    Values are clipped to ``bounds`` (public or from :func:`private_bounds`), counted on a
    grid of 512 equal cells with Laplace noise of scale 1/ε (sensitivity 1: one record is
    in one cell), and the quantiles are read off the noisy cumulative histogram.
    """
    _check_budget(epsilon)
    low, high = sorted(map(float, bounds))
    x = np.clip(_finite(values), low, high)
    edges = np.linspace(low, high, _QUANTILE_GRID + 1)
    counts, _ = np.histogram(x, bins=edges)
    noisy = np.maximum(counts + rng.laplace(0.0, 1.0 / epsilon, len(counts)), 0.0)
    cumulative = np.concatenate([[0.0], np.cumsum(noisy)])
    if cumulative[-1] <= 0:
        return np.linspace(low, high, len(quantiles))
    return np.interp(np.asarray(quantiles) * cumulative[-1], cumulative, edges)


def private_range(
    values: pd.Series, epsilon: float, rng: np.random.Generator
) -> tuple[float, float]:
    """ε-DP coarse range of a numeric column: the outer edges of the lowest and highest
    public bins (0 and ±2^k) whose Laplace-noised count is clearly above noise.

    Coarser than :func:`private_bounds` but robust at a small ε, where the exponential
    mechanism's quantiles wander towards the median. Raises :class:`DataError` when no bin
    holds clearly more values than noise would.
    """
    _check_budget(epsilon)
    return _coarse_bounds(_finite(values), epsilon, rng)


def _coarse_bounds(x: np.ndarray, epsilon: float, rng: np.random.Generator) -> tuple[float, float]:
    """Outer edges of the lowest and highest public ±2^k bins with a clearly non-empty
    noisy count (Laplace, scale 1/ε)."""
    clipped = np.clip(x, _LOG_EDGES[0], _LOG_EDGES[-1])
    counts, _ = np.histogram(clipped, bins=_LOG_EDGES)
    noisy = counts + rng.laplace(0.0, 1.0 / epsilon, len(counts))
    threshold = math.log(len(counts) / (2 * _FALSE_BIN)) / epsilon
    busy = np.flatnonzero(noisy > threshold)
    if not len(busy):
        raise DataError(
            f"too few values to find the range privately with ε={epsilon:g} (about "
            f"{math.ceil(threshold)} values in one power-of-2 range are needed); give more "
            "rows, raise dp_epsilon, or make the column categorical"
        )
    return float(_LOG_EDGES[busy[0]]), float(_LOG_EDGES[busy[-1] + 1])


def _quantile_exponential(
    x: np.ndarray,
    quantile: float,
    epsilon: float,
    low: float,
    high: float,
    rng: np.random.Generator,
) -> float:
    """Smith's exponential-mechanism quantile on [low, high] (values already clipped).

    A point between the i-th and (i+1)-th sorted values has utility -|i - q·n| (changed
    by at most 1 when a record is added or removed); an interval is drawn with weight
    length · exp(ε·utility/2), then a point uniformly inside it.
    """
    points = np.concatenate([[low], np.sort(x), [high]])
    lengths = np.diff(points)
    utility = -np.abs(np.arange(len(lengths)) - quantile * len(x))
    with np.errstate(divide="ignore"):
        scores = np.log(lengths) + epsilon * utility / 2
    # Gumbel-max: the argmax of score + Gumbel noise is a draw from softmax(score).
    pick = int(np.argmax(scores + rng.gumbel(size=len(scores))))
    return float(points[pick] + rng.random() * lengths[pick])


def _finite(values: pd.Series) -> np.ndarray:
    """The column's finite numbers (missing values dropped)."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return x[np.isfinite(x)]


def _check_budget(epsilon: float, delta: float | None = None) -> None:
    if not 0 < epsilon < math.inf:
        raise ValueError(f"ε={epsilon} must be a positive number")
    if delta is not None and not 0 < delta < 1:
        raise ValueError(f"δ={delta} must be in (0, 1)")


def _plain(value: Any) -> Any:
    """A JSON-ready Python value (numpy scalars unwrapped)."""
    return value.item() if hasattr(value, "item") else value
