"""Sequence metrics: how well rows of one entity (a parent, a series) hang together.

Each takes the real and the synthetic rows with an entity id per row (rows in sequence
order within an entity) and returns a score in [0, 1] (1: as in the real data) or the
real and synthetic figures side by side. See docs/METRICS.md.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd

from synthloom.encoding.sequences import constant_shares
from synthloom.report.metrics import _column_kind, _fit_binning, _tvd

# Bins for numbers (and most frequent categories kept) in sequence metrics.
SEQUENCE_BINS = 10
# A column is "constant within the entity" in the real data when at least this share of
# entities with two or more rows has one value in it.
CONSTANT_SHARE = 0.9


def lengths(entity: np.ndarray, n_entities: int | None = None) -> np.ndarray:
    """Rows per entity (entities ``0 … n_entities-1``; childless ones count 0)."""
    codes = np.asarray(entity, dtype=np.int64)
    size = n_entities if n_entities is not None else (int(codes.max()) + 1 if len(codes) else 0)
    return np.bincount(codes[codes >= 0], minlength=size)


def length_accuracy(real: np.ndarray, synthetic: np.ndarray) -> float:
    """1 − TVD of two distributions of counts or numbers (sequence lengths, gaps): exact
    values when the real data has few, else its deciles; values beyond the real range
    fall in bins of their own, so a shifted distribution cannot hide in an edge bin."""
    real = np.asarray(real, dtype=float)
    synthetic = np.asarray(synthetic, dtype=float)
    real, synthetic = real[~np.isnan(real)], synthetic[~np.isnan(synthetic)]
    if not len(real) or not len(synthetic):
        return float("nan")
    distinct = np.unique(real)
    if len(distinct) <= 2 * SEQUENCE_BINS:
        edges = np.append(distinct, np.nextafter(distinct[-1], np.inf))
    else:
        edges = np.unique(np.quantile(real, np.linspace(0, 1, SEQUENCE_BINS + 1)))
        edges[-1] = np.nextafter(edges[-1], np.inf)
    # code 0: below the real minimum; len(edges): at or above the real maximum's bin end
    a = np.searchsorted(edges, real, side="right")
    b = np.searchsorted(edges, synthetic, side="right")
    return 1.0 - _tvd(a, b, len(edges) + 1)


def ordered_share(frame: pd.DataFrame, entity: np.ndarray, column: Hashable) -> dict[str, float]:
    """Share of entities (with 2+ rows) whose ``column`` never decreases, and strictly
    increases, row after row."""
    values = _numbers(frame[column])
    same = np.asarray(entity[1:] == entity[:-1])
    step = np.diff(values)
    multi = np.unique(np.asarray(entity)[1:][same])
    if not len(multi):
        return {"non_decreasing": float("nan"), "increasing": float("nan")}
    owner = np.asarray(entity)[1:][same]
    down = np.unique(owner[step[same] < 0])
    flat = np.unique(owner[step[same] <= 0])
    return {
        "non_decreasing": 1 - len(down) / len(multi),
        "increasing": 1 - len(flat) / len(multi),
    }


def consecutive_pair_accuracy(
    real: pd.DataFrame,
    real_entity: np.ndarray,
    synthetic: pd.DataFrame,
    synthetic_entity: np.ndarray,
    columns: list[Hashable],
) -> dict[str, float]:
    """Per column, 1 − TVD of (value in row t, value in row t+1) pairs of the same entity."""
    out = {}
    for column in columns:
        binning = _fit_binning(real[column], SEQUENCE_BINS)
        pairs = []
        for frame, entity in ((real, real_entity), (synthetic, synthetic_entity)):
            codes = binning.codes(frame[column])
            same = np.asarray(entity[1:] == entity[:-1])
            pairs.append(codes[:-1][same] * binning.n_bins + codes[1:][same])
        if len(pairs[0]) and len(pairs[1]):
            out[str(column)] = 1.0 - _tvd(pairs[0], pairs[1], binning.n_bins**2)
    return out


def constant_columns(
    frame: pd.DataFrame, entity: np.ndarray, columns: list[Hashable]
) -> dict[str, float]:
    """Per column, the share of entities with 2+ rows that hold one value in it."""
    return {str(c): share for c, share in constant_shares(frame, entity, columns).items()}


def constant_kept(
    real: pd.DataFrame,
    real_entity: np.ndarray,
    synthetic: pd.DataFrame,
    synthetic_entity: np.ndarray,
    columns: list[Hashable],
) -> dict[str, dict[str, float]]:
    """Columns constant within (nearly) every real entity, and how often they are in the
    synthetic entities."""
    real_shares = constant_columns(real, real_entity, columns)
    constant = [c for c in columns if real_shares.get(str(c), 0) >= CONSTANT_SHARE]
    synthetic_shares = constant_columns(synthetic, synthetic_entity, constant)
    return {
        str(c): {
            "real": real_shares[str(c)],
            "synthetic": synthetic_shares.get(str(c), float("nan")),
        }
        for c in constant
    }


def lag1_autocorrelation(frame: pd.DataFrame, entity: np.ndarray, column: Hashable) -> float:
    """Correlation of a numeric column with its previous row in the same entity, after
    taking out each entity's mean (so differences between entities do not count)."""
    values = pd.Series(_numbers(frame[column]))
    centred = (values - values.groupby(np.asarray(entity)).transform("mean")).to_numpy()
    same = np.asarray(entity[1:] == entity[:-1])
    a, b = centred[:-1][same], centred[1:][same]
    ok = ~(np.isnan(a) | np.isnan(b))
    if ok.sum() < 3 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def coherence(
    real: pd.DataFrame,
    real_entity: np.ndarray,
    synthetic: pd.DataFrame,
    synthetic_entity: np.ndarray,
    columns: list[Hashable],
) -> dict[str, dict[str, float]]:
    """Per categorical column: accuracy of *categories per sequence* (1 − TVD of the
    number of distinct values an entity has) and of *sequences per category* (1 − mean
    absolute difference of the share of entities holding each frequent category)."""
    out = {}
    for column in columns:
        if _column_kind(real[column]) != "categorical":
            continue
        per_entity = [
            frame[column].astype(str).groupby(np.asarray(entity)).nunique().to_numpy()
            for frame, entity in ((real, real_entity), (synthetic, synthetic_entity))
        ]
        top = real[column].astype(str).value_counts().head(SEQUENCE_BINS).index
        shares = []
        for frame, entity in ((real, real_entity), (synthetic, synthetic_entity)):
            holding = pd.DataFrame({"e": entity, "v": frame[column].astype(str).to_numpy()})
            held = holding.drop_duplicates().groupby("v")["e"].count()
            n = max(len(np.unique(entity)), 1)
            shares.append(np.array([held.get(v, 0) / n for v in top]))
        out[str(column)] = {
            "categories_per_sequence": length_accuracy(per_entity[0], per_entity[1]),
            "sequences_per_category": float(1 - np.abs(shares[0] - shares[1]).mean())
            if len(top)
            else float("nan"),
        }
    return out


def reference_accuracy(real: pd.Series, synthetic: pd.Series) -> float:
    """1 − TVD of which lookup rows are referenced (every key its own category)."""
    a, b = real.astype(str), synthetic.astype(str)
    keys = pd.Index(pd.unique(pd.concat([a, b])))
    p = np.bincount(keys.get_indexer(a), minlength=len(keys)) / max(len(a), 1)
    q = np.bincount(keys.get_indexer(b), minlength=len(keys)) / max(len(b), 1)
    return float(1 - 0.5 * np.abs(p - q).sum())


def sequence_scores(
    real: pd.DataFrame,
    real_entity: np.ndarray,
    synthetic: pd.DataFrame,
    synthetic_entity: np.ndarray,
    columns: list[Hashable],
    order_by: list[Hashable] | None = None,
    real_entities: int | None = None,
    synthetic_entities: int | None = None,
) -> dict[str, Any]:
    """Every sequence metric of one table (entities numbered from 0; rows in order)."""
    real_lengths = lengths(real_entity, real_entities)
    synthetic_lengths = lengths(synthetic_entity, synthetic_entities)
    pairs = consecutive_pair_accuracy(real, real_entity, synthetic, synthetic_entity, columns)
    ordering = set(order_by or [])  # an order column's lag-1 says nothing new
    numeric = [c for c in columns if _column_kind(real[c]) != "categorical" and c not in ordering]
    scores: dict[str, Any] = {
        "length_accuracy": length_accuracy(real_lengths, synthetic_lengths),
        "mean_length": {"real": _mean(real_lengths), "synthetic": _mean(synthetic_lengths)},
        "consecutive_pair_accuracy": _mean(np.array(list(pairs.values()))),
        "consecutive_pairs": pairs,
        "constant_within_entity": constant_kept(
            real, real_entity, synthetic, synthetic_entity, columns
        ),
        "lag1_autocorrelation": {
            str(c): {
                "real": lag1_autocorrelation(real, real_entity, c),
                "synthetic": lag1_autocorrelation(synthetic, synthetic_entity, c),
            }
            for c in numeric
        },
        "coherence": coherence(real, real_entity, synthetic, synthetic_entity, columns),
    }
    for column in order_by or []:
        if column in real and _column_kind(real[column]) != "categorical":
            scores.setdefault("ordered", {})[str(column)] = {
                "real": ordered_share(real, real_entity, column),
                "synthetic": ordered_share(synthetic, synthetic_entity, column),
            }
            gaps = [
                np.diff(_numbers(f[column]))[np.asarray(e[1:] == e[:-1])]
                for f, e in ((real, real_entity), (synthetic, synthetic_entity))
            ]
            scores.setdefault("gap_accuracy", {})[str(column)] = length_accuracy(*gaps)
    return scores


def _numbers(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = pd.to_datetime(series)
        return (stamps.astype("int64") / 1e9).where(stamps.notna()).to_numpy(dtype=float)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def _mean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)] if values.dtype.kind == "f" else values
    return float(values.mean()) if len(values) else float("nan")
