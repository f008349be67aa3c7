"""Latent class clustering of records (a mixture of independent categoricals, fitted by EM).

Every column is first cut into a few bins (quantile bins for numbers, the most frequent
categories for categoricals, one bin for missing values). The mixture is fitted by EM on a row
sample whose size is bounded by a cell budget, so memory stays bounded for wide tables; every
record is then given its most probable cluster. Clusters smaller than ``min_size`` records are
dissolved into the others.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import sparse, special

_PSEUDO = 0.1  # pseudo-count per bin in the EM M-step
_CHUNK_CELLS = 4_000_000


def one_hot(codes: np.ndarray, offsets: np.ndarray, total: int) -> sparse.csr_matrix:
    """Sparse one-hot matrix of bin codes (``codes[:, j] + offsets[j]`` is the column)."""
    n, d = codes.shape
    cols = (codes.astype(np.int64) + offsets[None, :]).ravel()
    indptr = np.arange(0, n * d + 1, d, dtype=np.int64)
    data = np.ones(n * d, dtype=np.float64)
    return sparse.csr_matrix((data, cols, indptr), shape=(n, total))


class LatentClassModel:
    """EM for a mixture of independent categorical distributions over binned columns.

    Args:
        n_bins: Number of bins of each column.
        n_clusters: Number of mixture components.
        rng: Random generator (initialisation and row sampling).
    """

    def __init__(self, n_bins: np.ndarray, n_clusters: int, rng: np.random.Generator) -> None:
        self.n_bins = np.asarray(n_bins, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.n_bins)[:-1]])
        self.total = int(self.n_bins.sum())
        self.n_clusters = n_clusters
        self.rng = rng
        self.log_theta = np.zeros((self.total, n_clusters))
        self.log_weights = np.full(n_clusters, -np.log(n_clusters))

    def _m_step(self, x: sparse.csr_matrix, resp: np.ndarray) -> None:
        sizes = resp.sum(axis=0)
        counts = np.asarray(x.T @ resp)
        bins_per_row = np.repeat(self.n_bins, self.n_bins)[:, None]
        theta = (counts + _PSEUDO) / (sizes[None, :] + _PSEUDO * bins_per_row)
        self.log_theta = np.log(theta)
        self.log_weights = np.log(np.maximum(sizes, 1e-12) / sizes.sum())

    def _log_joint(self, x: sparse.csr_matrix) -> np.ndarray:
        return np.asarray(x @ self.log_theta) + self.log_weights[None, :]

    def fit(self, codes: np.ndarray, max_iter: int, deadline: float | None) -> LatentClassModel:
        """Fit by EM from a random soft partition; stops at convergence or ``deadline``.

        The mean log-likelihood per row of the last E-step is kept as ``loglik_``.
        """
        self.loglik_ = -np.inf
        x = one_hot(codes, self.offsets, self.total)
        resp = self.rng.dirichlet(np.full(self.n_clusters, 0.5), size=codes.shape[0])
        previous = -np.inf
        for _ in range(max_iter):
            self._m_step(x, resp)
            joint = self._log_joint(x)
            norm = special.logsumexp(joint, axis=1, keepdims=True)
            resp = np.exp(joint - norm)
            loglik = float(norm.mean())
            self.loglik_ = loglik
            if loglik - previous < 1e-5 * abs(loglik):
                break
            previous = loglik
            if deadline is not None and time.monotonic() > deadline:
                break
        self._m_step(x, resp)
        return self

    def assign(self, codes: np.ndarray) -> np.ndarray:
        """Most probable cluster of every row (processed in chunks)."""
        n, d = codes.shape
        step = max(1, _CHUNK_CELLS // max(d, 1))
        out = np.empty(n, dtype=np.int64)
        for start in range(0, n, step):
            x = one_hot(codes[start : start + step], self.offsets, self.total)
            out[start : start + step] = np.argmax(self._log_joint(x), axis=1)
        return out


def cluster_records(
    codes: np.ndarray,
    n_bins: np.ndarray,
    n_clusters: int,
    rng: np.random.Generator,
    max_cells: int = 5_000_000,
    max_iter: int = 100,
    min_size: int = 50,
    deadline: float | None = None,
    n_init: int = 3,
) -> np.ndarray:
    """Cluster label (``0 … K-1``, consecutive) of every row of the bin-code matrix.

    EM runs ``n_init`` times from different random starts (fewer if ``deadline`` passes) and
    the fit with the highest likelihood is kept.
    """
    n, d = codes.shape
    if n_clusters <= 1 or n < 2 * min_size:
        return np.zeros(n, dtype=np.int64)
    n_fit = min(n, max(2_000, max_cells // max(d, 1)))
    rows = np.sort(rng.choice(n, size=n_fit, replace=False)) if n_fit < n else slice(None)
    sample = codes[rows]
    model = LatentClassModel(n_bins, n_clusters, rng).fit(sample, max_iter, deadline)
    for _ in range(n_init - 1):
        if deadline is not None and time.monotonic() > deadline:
            break
        other = LatentClassModel(n_bins, n_clusters, rng).fit(sample, max_iter, deadline)
        if other.loglik_ > model.loglik_:
            model = other
    labels = model.assign(codes)
    sizes = np.bincount(labels, minlength=n_clusters)
    while ((sizes > 0) & (sizes < min_size)).any():
        small = sizes < min_size
        if small.all():
            return np.zeros(n, dtype=np.int64)
        model.log_weights[small] = -np.inf
        labels = model.assign(codes)
        sizes = np.bincount(labels, minlength=n_clusters)
    _, labels = np.unique(labels, return_inverse=True)
    return labels.astype(np.int64)
