"""Column clusters for wide tables: correlated columns share a model.

Each later cluster is conditioned on a few *anchor* columns of the earlier ones (the
columns most associated with it), so relationships across clusters survive the join.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

# Association is estimated on at most this many rows, each column cut to this many levels.
_SAMPLE_ROWS = 5000
_LEVELS = 16
ANCHORS_PER_CLUSTER = 3


@dataclass(frozen=True)
class Cluster:
    """The columns one model generates, and the earlier columns it is conditioned on."""

    columns: list[str]
    anchors: list[str]

    def to_dict(self) -> dict[str, list[str]]:
        """Plain data for JSON."""
        return asdict(self)


def cramers_v_matrix(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Cramér's V between every pair of columns, each cut to at most 16 levels.

    Symmetric and in [0, 1]: what clustering and the relational parent–child scores need.
    The report's mixed-type matrix (Pearson, Theil's U, correlation ratio) is
    :func:`synthloom.report.correlations.association_matrix`.
    """
    sample = frame.sample(min(len(frame), _SAMPLE_ROWS), random_state=seed)
    codes = np.stack([_levels(sample[c]) for c in frame.columns], axis=1)
    n_cols = codes.shape[1]
    matrix = np.eye(n_cols)
    for i in range(n_cols):
        for j in range(i + 1, n_cols):
            matrix[i, j] = matrix[j, i] = _cramers_v(codes[:, i], codes[:, j])
    return pd.DataFrame(matrix, index=frame.columns, columns=frame.columns)


def plan_clusters(
    association: pd.DataFrame, cluster_size: int, first: list[str] | None = None
) -> list[Cluster]:
    """Greedy clusters of strongly associated columns, each with up to 3 anchors.

    ``first`` columns (seed fields) start the first cluster. A cluster's own columns
    plus its anchors never exceed ``cluster_size``.
    """
    names = list(association.columns)
    if len(names) <= cluster_size:
        return [Cluster(names, [])]
    anchors_each = min(ANCHORS_PER_CLUSTER, cluster_size - 1)
    left = [n for n in names if n not in (first or [])]
    clusters: list[Cluster] = []
    done: list[str] = []
    while left:
        anchors = _best_anchors(association, done, left, anchors_each) if done else []
        members = list(first) if first and not clusters else [_strongest(association, left)]
        room = cluster_size - len(anchors)
        while len(members) < room:
            rest = [c for c in left if c not in members]
            if not rest:
                break
            scores = association.loc[rest, members].sum(axis=1)
            members.append(str(scores.idxmax()))
        clusters.append(Cluster(members, anchors))
        done += members
        left = [c for c in left if c not in members]
    return clusters


def schema_order_clusters(
    names: list[str], cluster_size: int, first: list[str] | None = None
) -> list[Cluster]:
    """Clusters cut from the column order (``first`` columns lead), for when the data may
    not be looked at (DP). Each later cluster is anchored on the last columns before it."""
    first = list(first or [])
    order = first + [n for n in names if n not in first]
    anchors_each = min(ANCHORS_PER_CLUSTER, cluster_size - 1)
    clusters: list[Cluster] = [Cluster(order[:cluster_size], [])]
    done = cluster_size
    while done < len(order):
        anchors = order[max(0, done - anchors_each) : done]
        members = order[done : done + cluster_size - len(anchors)]
        clusters.append(Cluster(members, anchors))
        done += len(members)
    return clusters


def _best_anchors(association: pd.DataFrame, done: list[str], left: list[str], k: int) -> list[str]:
    """Earlier columns most associated with the columns still to place."""
    scores = association.loc[done, left].max(axis=1)
    return [str(c) for c in scores.sort_values(ascending=False).index[:k]]


def _strongest(association: pd.DataFrame, left: list[str]) -> str:
    return str(association.loc[left, left].sum(axis=1).idxmax())


def _levels(series: pd.Series) -> np.ndarray:
    """Integer codes: quantile bins for numbers, top categories (+ other) for the rest."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        numbers = pd.to_numeric(series, errors="coerce").astype("float64")
        if numbers.nunique() > _LEVELS:
            ranks = numbers.rank(method="average", pct=True)
            codes = np.floor(ranks.fillna(-1).to_numpy() * (_LEVELS - 1)).astype(int)
            return np.where(numbers.isna(), _LEVELS, np.clip(codes, 0, _LEVELS - 1))
    text = series.astype("string").fillna("<na>")
    top = text.value_counts().index[: _LEVELS - 1]
    return pd.Categorical(text.where(text.isin(top), "<other>")).codes.astype(int)


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Cramér's V of two code arrays (0 = independent, 1 = one determines the other)."""
    rows, cols = a.max() + 1, b.max() + 1
    table = np.bincount(a * cols + b, minlength=rows * cols).reshape(rows, cols).astype(float)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    if min(table.shape) < 2:
        return 0.0
    n = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = ((table - expected) ** 2 / expected).sum()
    return float(np.sqrt(chi2 / n / (min(table.shape) - 1)))
