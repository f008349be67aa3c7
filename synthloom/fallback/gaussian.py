"""Latent Gaussian helpers: correlation estimation, truncated normals, conditional sampling."""

from __future__ import annotations

import contextlib
import os
from typing import Any

import numpy as np
from scipy import linalg, special

_JITTER = 1e-9
N_TERMS = 40
_BIG_GEMM = 2e9  # multiply-adds above which a product uses every BLAS thread


def blas_threads(limit: int | None) -> contextlib.AbstractContextManager[Any]:
    """Limit BLAS threads inside a ``with`` block (no-op without ``threadpoolctl``).

    On a small machine shared with other work, multi-threaded BLAS on small matrices spends
    most of its time waiting for busy cores; the model runs its small products, Cholesky
    factorisations and eigendecompositions on one thread and only large products on all.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings threadpoolctl
        return contextlib.nullcontext()
    return threadpool_limits(limits=limit, user_api="blas")


def cluster_correlations(
    z: np.ndarray,
    starts: np.ndarray,
    coef: np.ndarray | None = None,
    identity_shrink: float = 1e-3,
) -> np.ndarray:
    """Positive definite latent correlation matrix of each cluster, shape ``(K, d, d)``.

    ``z`` holds the latent scores with rows grouped by cluster (cluster ``k`` is rows
    ``starts[k]:starts[k + 1]``): randomised normal scores, whose correlation is used as is, or,
    with ``coef`` (``(K, d, N)`` Hermite coefficients), tie-mean scores whose covariance is
    inverted to latent correlations (:func:`invert_score_correlation`), which undoes the
    attenuation that categories cause. Each cluster's correlation ``S_k`` is
    then shrunk towards the pooled within-cluster correlation ``P`` with weight ``d / (n_k + d)``
    (more shrinkage for small clusters of wide tables), ``P`` itself towards the identity by
    ``identity_shrink``, and any matrix left indefinite is eigenvalue-clipped.
    """
    n_clusters, d = starts.size - 1, z.shape[1]
    sizes = np.diff(starts).astype(np.float64)
    samples = np.empty((n_clusters, d, d), dtype=np.float32)
    pooled = np.zeros((d, d))
    for k in range(n_clusters):
        block = z[starts[k] : starts[k + 1]]
        big = sizes[k] * d * d > _BIG_GEMM
        with blas_threads(os.cpu_count()) if big else contextlib.nullcontext():
            gram = (block.T @ block).astype(np.float64) / max(sizes[k], 1.0)
        if coef is None:
            corr = _normalise(gram)
        else:
            corr = invert_score_correlation(gram, coef[k], sizes[k])
        samples[k] = corr
        pooled += sizes[k] * corr
    pooled = _normalise(pooled / sizes.sum())
    pooled = (1.0 - identity_shrink) * pooled + identity_shrink * np.eye(d)
    for k in range(n_clusters):
        weight = d / (sizes[k] + d)
        samples[k] = make_positive_definite((1.0 - weight) * samples[k] + weight * pooled)
    return samples


def _normalise(gram: np.ndarray) -> np.ndarray:
    scale = np.sqrt(np.maximum(np.diag(gram), 1e-12))
    corr = gram / scale[:, None] / scale[None, :]
    np.fill_diagonal(corr, 1.0)
    return (corr + corr.T) / 2.0


def make_positive_definite(corr: np.ndarray, floor: float = 1e-6) -> np.ndarray:
    """Return ``corr`` if it is positive definite, else its eigenvalue-clipped correlation."""
    try:
        np.linalg.cholesky(corr)
        return corr
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(corr)
        fixed = (vectors * np.maximum(values, floor)) @ vectors.T
        return _normalise(fixed)


def cholesky(cov: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor, adding diagonal jitter if rounding made ``cov`` indefinite."""
    jitter = _JITTER
    eye = np.eye(cov.shape[0])
    for _ in range(8):
        try:
            return np.linalg.cholesky(cov + jitter * eye)
        except np.linalg.LinAlgError:
            jitter *= 100.0
    values, vectors = np.linalg.eigh(cov)
    return vectors * np.sqrt(np.maximum(values, 0.0))


def truncated_normal(
    mean: np.ndarray,
    sd: np.ndarray | float,
    lo: np.ndarray,
    hi: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Draw from ``N(mean, sd²)`` restricted to ``[lo, hi]`` by inverting the CDF.

    Intervals in the upper tail are mirrored to the lower tail, where the normal CDF keeps its
    precision, and results are clipped into the interval.
    """
    a = (lo - mean) / sd
    b = (hi - mean) / sd
    flip = a > 0
    a2 = np.where(flip, -b, a)
    b2 = np.where(flip, -a, b)
    pa, pb = special.ndtr(a2), special.ndtr(b2)
    x = special.ndtri(pa + rng.random(np.shape(a)) * (pb - pa))
    x = np.where(np.isfinite(x), x, np.where(np.isfinite(a2), a2, b2))
    x = np.clip(x, a2, b2)
    x = np.where(flip, -x, x)
    return mean + sd * x


def sample_conditioned(
    corr: np.ndarray,
    cond: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    rng: np.random.Generator,
    sweeps: int,
) -> np.ndarray:
    """Latent draws of one cluster given latent intervals for some coordinates.

    Args:
        corr: ``(d, d)`` latent correlation matrix of the cluster.
        cond: Indices of the conditioned coordinates.
        lo, hi: ``(n, len(cond))`` interval per record and conditioned coordinate; equal ends
            fix a coordinate (a continuous value), infinite ends leave it free.
        rng: Random generator.
        sweeps: Gibbs sweeps over the interval coordinates.

    Returns:
        ``(n, d)`` latent draws. The conditioned coordinates come from the multivariate normal
        truncated to the intervals (Gibbs sampling, exact for a single interval coordinate), the
        other coordinates from the exact conditional normal given them.
    """
    n, d = lo.shape[0], corr.shape[0]
    free = np.setdiff1d(np.arange(d), cond)
    out = np.empty((n, d))
    z_c = _gibbs(corr[np.ix_(cond, cond)], lo, hi, rng, sweeps)
    out[:, cond] = z_c
    if free.size:
        r_cc = corr[np.ix_(cond, cond)] + _JITTER * np.eye(cond.size)
        r_cf = corr[np.ix_(cond, free)]
        factor = linalg.cho_factor(r_cc, lower=True)
        beta = linalg.cho_solve(factor, r_cf)
        cov = corr[np.ix_(free, free)] - r_cf.T @ beta
        chol = cholesky((cov + cov.T) / 2.0)
        out[:, free] = z_c @ beta + rng.standard_normal((n, free.size)) @ chol.T
    return out


def _gibbs(
    r_cc: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator, sweeps: int
) -> np.ndarray:
    fixed = hi - lo <= 1e-12
    mid = special.ndtri((special.ndtr(lo) + special.ndtr(hi)) / 2.0)
    z = np.where(fixed, lo, np.clip(mid, lo, hi))
    moving = np.flatnonzero(~fixed.all(axis=0))
    if moving.size == 0:
        return z
    if r_cc.shape[0] == 1:
        sweeps = 1
    precision = np.linalg.inv(r_cc + _JITTER * np.eye(r_cc.shape[0]))
    for _ in range(sweeps):
        for j in moving:
            p_jj = precision[j, j]
            mean = -(z @ precision[:, j] - p_jj * z[:, j]) / p_jj
            draw = truncated_normal(mean, 1.0 / np.sqrt(p_jj), lo[:, j], hi[:, j], rng)
            z[:, j] = np.where(fixed[:, j], lo[:, j], draw)
    return z


# --------------------------------------------------------------------- latent correlation
def hermite_coefficients(
    lo: np.ndarray,
    hi: np.ndarray,
    groups: np.ndarray | None = None,
    n_groups: int = 1,
    n_terms: int = N_TERMS,
) -> np.ndarray:
    """Hermite coefficients of normal scores seen through tie intervals.

    The randomised probability integral transform spreads the records of a tie (a category,
    a repeated number) uniformly over its latent interval, so the score behaves like
    ``s(z)``: the interval's truncated mean inside each tie interval, ``z`` elsewhere. By
    Mehler's formula two such scores with latent correlation ``ρ`` have covariance
    ``Σ_n ρⁿ c_n c'_n`` with ``c_n = E[s(z) He_n(z)] / √n!``, returned here for
    ``n = 1 … n_terms``.

    Args:
        lo, hi: ``(m,)`` latent ends of the tie intervals (non-overlapping within a group).
        groups: Group (e.g. cluster) of each interval; ``None``: all in group 0.
        n_groups: Number of groups.
        n_terms: Number of coefficients.

    Returns:
        ``(n_groups, n_terms)`` coefficients; a group without intervals gets ``(1, 0, …)``.
    """
    lo = np.clip(lo, -30.0, 30.0)
    hi = np.clip(hi, -30.0, 30.0)
    f = _scaled_hermite_integrals(lo, n_terms + 1) - _scaled_hermite_integrals(hi, n_terms + 1)
    f[0] = special.ndtr(hi) - special.ndtr(lo)  # f[m] = ∫_I He_m φ / √m!
    mean = f[1] / np.maximum(f[0], 1e-300)
    m = np.arange(1, n_terms + 1, dtype=np.float64)
    terms = mean[None, :] * f[1:-1]
    terms -= np.sqrt(m + 1.0)[:, None] * f[2:] + np.sqrt(m)[:, None] * f[:-2]
    groups = np.zeros(lo.size, dtype=np.int64) if groups is None else groups
    coef = np.zeros((n_groups, n_terms))
    np.add.at(coef, groups, terms.T)
    coef[:, 0] += 1.0
    return coef


def _scaled_hermite_integrals(t: np.ndarray, n_max: int) -> np.ndarray:
    """``g[m] = h_{m-1}(t) φ(t) / √m`` for ``m ≥ 1`` (``g[0] = Φ(t)``), with ``h`` the
    normalised probabilists' Hermite polynomials; ``∫_lo^hi He_m φ / √m! = g[m](lo) - g[m](hi)``.
    """
    out = np.empty((n_max + 1, t.size))
    out[0] = special.ndtr(t)
    pdf = np.exp(-0.5 * t * t) / np.sqrt(2.0 * np.pi)
    h_prev, h = np.zeros_like(t), np.ones_like(t)
    for m in range(1, n_max + 1):
        out[m] = h * pdf / np.sqrt(m)
        h_prev, h = h, (t * h - np.sqrt(m - 1.0) * h_prev) / np.sqrt(m)
    return out


def invert_score_correlation(
    cov: np.ndarray,
    coef: np.ndarray,
    n_records: float,
    linear_below: float = 0.1,
    iterations: int = 30,
) -> np.ndarray:
    """Latent correlations whose implied score covariances match ``cov``.

    ``cov`` is the covariance of the tie-mean scores ``s(z)`` (see
    :func:`hermite_coefficients`). Pairs whose score correlation is not significant at three
    standard errors (``3 / √n_records``) keep that correlation, so that noise is not blown up
    for rare categories. Significant pairs whose first-order solution ``cov / (c₁ c'₁)`` is
    below ``linear_below`` keep that solution; the others are solved by bisection on the full
    series. Solutions are bounded by ±0.999.

    Args:
        cov: ``(d, d)`` covariance of the tie-mean scores.
        coef: ``(d, N)`` Hermite coefficients of each column's score; a continuous column has
            ``(1, 0, 0, …)``.
        n_records: Records behind ``cov``.
        linear_below: Threshold for the first-order solution.
        iterations: Bisection steps.
    """
    sd = np.sqrt(np.maximum(np.diag(cov), 1e-12))
    score_corr = np.clip(cov / sd[:, None] / sd[None, :], -1.0, 1.0)
    first = np.maximum(coef[:, 0], 1e-6)
    linear = np.clip(cov / first[:, None] / first[None, :], -0.999, 0.999)
    significant = np.abs(score_corr) >= 3.0 / np.sqrt(max(n_records, 1.0))
    rho = np.where(significant, linear, score_corr)
    rows, cols = np.nonzero(np.triu(significant & (np.abs(linear) >= linear_below), k=1))
    if rows.size:
        solved = _bisect_series(coef[rows] * coef[cols], cov[rows, cols], iterations)
        rho[rows, cols] = solved
        rho[cols, rows] = solved
    np.fill_diagonal(rho, 1.0)
    return rho


def _bisect_series(products: np.ndarray, target: np.ndarray, iterations: int) -> np.ndarray:
    """Solve ``Σ_n ρⁿ products[:, n-1] = target`` for ``ρ`` in ``[-0.999, 0.999]``."""
    lo = np.full(target.size, -0.999)
    hi = np.full(target.size, 0.999)
    for _ in range(iterations):
        mid = (lo + hi) / 2.0
        value = np.zeros_like(mid)
        power = np.ones_like(mid)
        for n in range(products.shape[1]):
            power = power * mid
            value += products[:, n] * power
        below = value < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return (lo + hi) / 2.0
