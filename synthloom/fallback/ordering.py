"""Latent order of categories: put categories with similar records next to each other.

A Gaussian copula sees a category through its interval on the latent axis, so the order of the
categories decides which relationships it can express. Frequency order is arbitrary: for
``education`` it scatters the levels of ``education_num``. Here each category is scored by the
first principal axis of its centroid in the latent space of the other columns (a
correspondence-analysis style optimal scoring), and categories are ordered by that score. Then
``Bachelors < Masters < Doctorate`` lines up with ``education_num`` and the copula's
correlation carries the relationship.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse

MAX_PARTNERS = 256


def category_scores(centroids: np.ndarray, counts: np.ndarray) -> np.ndarray | None:
    """Score of each level on the first principal axis of its frequency-weighted centroids.

    Args:
        centroids: ``(L, p)`` mean latent scores of the partner columns per level.
        counts: ``(L,)`` records per level.

    Returns:
        ``(L,)`` scores (0 for levels without records), or ``None`` when nothing varies.
    """
    present = counts > 0
    weights = counts / max(counts.sum(), 1.0)
    centred = centroids - weights @ centroids
    scaled = np.sqrt(weights)[:, None] * centred
    if not np.isfinite(scaled).all() or np.abs(scaled).max(initial=0.0) == 0.0:
        return None
    left, _, _ = np.linalg.svd(scaled, full_matrices=False)
    scores = np.zeros(counts.size)
    scores[present] = left[present, 0] / np.sqrt(weights[present])
    return scores


def order_levels(
    indices: dict[int, np.ndarray],
    z: np.ndarray,
    n_levels: dict[int, int],
    fixed_last: dict[int, bool],
    rescore: Callable[[int, np.ndarray], np.ndarray],
    rng: np.random.Generator,
    rounds: int = 2,
) -> dict[int, np.ndarray]:
    """New level order (a permutation) of each categorical column.

    All columns are reordered at once in each round, from the latent scores of the previous
    round; later rounds see the improved orders of the other categorical columns.

    Args:
        indices: Sampled level index per categorical column (in the original order).
        z: ``(n, d)`` latent scores of all columns for the sampled records; updated in place
            for the reordered columns.
        n_levels: Number of levels per categorical column.
        fixed_last: Whether a column's last level (the rare level) must stay last.
        rescore: ``rescore(j, permutation)`` gives column ``j``'s latent scores after its
            levels are put in the order ``permutation`` (new position ``p`` holds old level
            ``permutation[p]``).
        rng: Random generator (partner columns of wide tables).
        rounds: Passes over the columns.
    """
    d = z.shape[1]
    partners = np.arange(d)
    if d > MAX_PARTNERS:
        partners = np.sort(rng.choice(d, size=MAX_PARTNERS, replace=False))
    columns = [j for j in indices if n_levels[j] - int(fixed_last[j]) >= 3]
    orders = {j: np.arange(n_levels[j]) for j in indices}
    for _ in range(rounds):
        sums, counts, offsets = _level_sums(columns, indices, orders, n_levels, z[:, partners])
        for i, j in enumerate(columns):
            block = slice(offsets[i], offsets[i + 1])
            own = np.flatnonzero(partners == j)
            level_sums = sums[block].copy()
            level_sums[:, own] = 0.0
            n_j = counts[block]
            centroids = level_sums / np.maximum(n_j, 1.0)[:, None]
            scores = category_scores(centroids, n_j)
            if scores is None:
                continue
            movable = n_levels[j] - int(fixed_last[j])
            perm = orders[j][np.argsort(scores[:movable], kind="stable")]
            orders[j] = np.concatenate([perm, orders[j][movable:]])
            z[:, j] = rescore(j, orders[j])
    return orders


def _level_sums(
    columns: list[int],
    indices: dict[int, np.ndarray],
    orders: dict[int, np.ndarray],
    n_levels: dict[int, int],
    partner_z: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-level sums of partner scores for all columns (one sparse product)."""
    sizes = np.array([n_levels[j] for j in columns], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    n = partner_z.shape[0]
    if not columns:
        return np.zeros((0, partner_z.shape[1])), np.zeros(0), offsets
    rows = np.concatenate(
        [orders[j].argsort()[indices[j]] + offsets[i] for i, j in enumerate(columns)]
    )
    cols = np.tile(np.arange(n), len(columns))
    members = sparse.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(int(offsets[-1]), n))
    counts = np.bincount(rows, minlength=int(offsets[-1])).astype(np.float64)
    return np.asarray(members @ partner_z), counts, offsets
