"""Per-cluster empirical marginals and their maps to and from the latent normal scale.

Each column has one marginal object holding one distribution per mixture component
("cluster"). A value ``x`` of cluster ``k`` corresponds to the latent interval
``[Φ⁻¹(F_k(x⁻)), Φ⁻¹(F_k(x))]`` of a standard normal; a continuous value has an interval of
width zero. Missing values are folded in as the lowest part of the distribution (a level of a
discrete column, the mass ``[0, p_missing]`` of a continuous one).

Two kinds:

* :class:`DiscreteMarginal` — categories, booleans and numbers with few distinct values:
  probabilities over an ordered list of levels. Numbers are in value order; categories start
  in frequency order and are usually reordered by :mod:`synthloom.fallback.ordering`. Levels
  past ``max_levels`` share one "rare" level whose values are drawn from their global
  frequencies.
* :class:`ContinuousMarginal` — other numbers and dates: per-cluster quantile knots (linear
  interpolation between knots), the missing share, and a histogram on global bins used to
  weigh clusters when conditioning.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from synthloom.fallback import gaussian

_TINY = 1e-300
_U_EPS = 1e-12
_EDGE_U = 1e-4


def _clip_u(u: np.ndarray) -> np.ndarray:
    return np.clip(u, _U_EPS, 1.0 - _U_EPS)


class DiscreteMarginal:
    """Probabilities over ordered levels, one row per cluster.

    Args:
        levels: Level values in latent order; ``None`` is the missing level. For a column with a
            rare level the last entry is a placeholder for it.
        numeric: Levels are numbers (model values are floats) rather than categories.
        rare_values: Values pooled in the rare level (empty when there is none).
        rare_weights: Their global frequencies.
        level_bins: Clustering bin of each level.
    """

    def __init__(
        self,
        levels: list[Any],
        numeric: bool,
        rare_values: list[Any],
        rare_weights: np.ndarray,
        level_bins: np.ndarray,
    ) -> None:
        self.levels = levels
        self.numeric = numeric
        self.rare_values = rare_values
        self.rare_weights = np.asarray(rare_weights, dtype=np.float64)
        self.level_bins = np.asarray(level_bins, dtype=np.int64)
        self.probs = np.zeros((0, len(levels)))
        self.score_coef = np.zeros((0, gaussian.N_TERMS))  # set by fit(), not saved
        self._index: dict[Any, int] = {}
        self._sorted: np.ndarray | None = None
        self._build_index()

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_categories(
        cls, codes: np.ndarray, uniques: list[Any], max_levels: int, n_bins: int
    ) -> DiscreteMarginal:
        """Levels of a categorical column (``codes`` from :func:`category_codes`)."""
        counts = np.bincount(codes + 1, minlength=len(uniques) + 1).astype(np.float64)
        values: list[Any] = [None, *uniques]
        order = [i for i in np.argsort(-counts, kind="stable") if counts[i] > 0]
        kept, rest = order[:max_levels], order[max_levels:]
        if rest:
            kept = order[: max_levels - 1]
            rest = order[max_levels - 1 :]
        levels = [values[i] for i in kept]
        rare_values = [values[i] for i in rest]
        rare_weights = counts[rest] / counts[rest].sum() if rest else np.zeros(0)
        if rest:
            levels.append("<rare>")
        level_bins = np.minimum(np.arange(len(levels)), n_bins - 1)
        return cls(levels, False, rare_values, rare_weights, level_bins)

    @classmethod
    def from_numbers(cls, values: np.ndarray, n_bins: int) -> DiscreteMarginal:
        """Levels of a numeric column with few distinct values (missing level first)."""
        finite = values[~np.isnan(values)]
        uniq, counts = np.unique(finite, return_counts=True)
        has_missing = finite.size < values.size
        levels: list[Any] = ([None] if has_missing else []) + [float(v) for v in uniq]
        cum = (np.cumsum(counts) - counts / 2) / max(counts.sum(), 1)
        bins = np.minimum((cum * (n_bins - 1)).astype(np.int64), n_bins - 2)
        if has_missing:
            bins = np.concatenate([[n_bins - 1], bins])
        return cls(levels, True, [], np.zeros(0), bins)

    def reorder(self, permutation: np.ndarray) -> None:
        """Put the levels in a new latent order: new position ``p`` holds old level ``perm[p]``."""
        self.levels = [self.levels[i] for i in permutation]
        self.level_bins = self.level_bins[permutation]
        self._build_index()

    def _build_index(self) -> None:
        if self.numeric:
            self._sorted = np.array([np.nan if v is None else v for v in self.levels], dtype=float)
            return
        n_levels = len(self.levels) - (1 if self.rare_values else 0)
        self._index = {v: i for i, v in enumerate(self.levels[:n_levels])}
        rare = len(self.levels) - 1
        for v in self.rare_values:
            self._index.setdefault(v, rare)

    # ----------------------------------------------------------------- value mapping
    @property
    def n_bins(self) -> int:
        """Number of clustering bins."""
        return int(self.level_bins.max()) + 1 if self.level_bins.size else 1

    def level_index(self, values: np.ndarray | tuple[np.ndarray, list[Any]]) -> np.ndarray:
        """Level of each value, ``-1`` for values never seen in training.

        ``values`` is a float array for numeric levels, else ``(codes, uniques)``.
        """
        if self.numeric:
            return self._numeric_index(np.asarray(values, dtype=np.float64))
        codes, uniques = values  # type: ignore[misc]
        lookup = np.array([self._index.get(v, -1) for v in [None, *uniques]], dtype=np.int64)
        return lookup[np.asarray(codes) + 1]

    def _numeric_index(self, values: np.ndarray) -> np.ndarray:
        assert self._sorted is not None
        levels = self._sorted
        missing_level = 0 if self.levels and self.levels[0] is None else -1
        offset = 1 if missing_level == 0 else 0
        finite = levels[offset:]
        pos = np.clip(np.searchsorted(finite, values), 0, max(finite.size - 1, 0))
        found = finite.size > 0
        hit = found & (finite[pos] == values) if finite.size else np.zeros(values.shape, bool)
        out = np.where(hit, pos + offset, -1)
        return np.where(np.isnan(values), missing_level, out).astype(np.int64)

    def bins(self, index: np.ndarray) -> np.ndarray:
        """Clustering bin of each level index (all indices must be known)."""
        return self.level_bins[index]

    # ----------------------------------------------------------------- fitting
    def fit(
        self,
        index: np.ndarray,
        starts: np.ndarray,
        alpha: float,
        rng: np.random.Generator,
        tie_means: bool = False,
    ) -> np.ndarray:
        """Fit per-cluster probabilities and return the training values' latent scores.

        Records are grouped by cluster: cluster ``k`` holds rows ``starts[k]:starts[k + 1]``.
        Probabilities are shrunk towards the global ones by ``alpha`` pseudo-records; the scores
        are the randomised probability integral transform under the unshrunk within-cluster
        frequencies, so they are exactly standard normal in each cluster; with ``tie_means``
        they are instead the mean of that normal score over each level's interval.
        """
        n_clusters, n_levels = starts.size - 1, len(self.levels)
        labels = np.repeat(np.arange(n_clusters), np.diff(starts))
        counts = np.bincount(labels * n_levels + index, minlength=n_clusters * n_levels)
        counts = counts.reshape(n_clusters, n_levels).astype(np.float64)
        overall = counts.sum(axis=0) / counts.sum()
        sizes = np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
        self.probs = (counts + alpha * overall) / (sizes + alpha)
        below = (np.cumsum(counts, axis=1) - counts) / sizes
        width = counts / sizes
        present = np.nonzero(counts > 0)
        self.score_coef = gaussian.hermite_coefficients(
            special.ndtri(below[present]),
            special.ndtri(np.minimum(below + width, 1.0)[present]),
            present[0],
            n_clusters,
        )
        if tie_means:
            means = _truncated_means(below, np.minimum(below + width, 1.0))
            return means[labels, index]
        u = below[labels, index] + rng.random(index.size) * width[labels, index]
        return special.ndtri(_clip_u(u))

    # ----------------------------------------------------------------- sampling
    def _cdf(self) -> np.ndarray:
        """Cumulative probabilities over the levels, per cluster."""
        cdf = np.cumsum(self.probs, axis=1)
        cdf /= cdf[:, -1:]
        cdf[:, -1] = 1.0
        return cdf

    def decode(self, z: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Values for latent scores ``z`` of records in clusters ``labels``."""
        cdf = self._cdf()
        n_clusters, n_levels = cdf.shape
        flat = (cdf + np.arange(n_clusters)[:, None]).ravel()
        u = _clip_u(special.ndtr(z)) + labels
        index = np.searchsorted(flat, u, side="right") - labels * n_levels
        index = np.clip(index, 0, n_levels - 1)
        return self.values_of(index, rng)

    def values_of(self, index: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Model values of level indices (rare levels drawn from their global frequencies)."""
        if self.numeric:
            assert self._sorted is not None
            return self._sorted[index]
        table = np.empty(len(self.levels), dtype=object)
        table[:] = self.levels
        out = table[index]
        if self.rare_values:
            rare = np.flatnonzero(index == len(self.levels) - 1)
            picks = rng.choice(len(self.rare_values), size=rare.size, p=self.rare_weights)
            pool = np.empty(len(self.rare_values), dtype=object)
            pool[:] = self.rare_values
            out[rare] = pool[picks]
        return out

    # ----------------------------------------------------------------- conditioning
    def bounds(self, index: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latent interval of each level in its record's cluster; unseen values are unbounded."""
        cdf = self._cdf()
        below = np.concatenate([np.zeros((cdf.shape[0], 1)), cdf[:, :-1]], axis=1)
        known = index >= 0
        safe = np.where(known, index, 0)
        lo = np.where(known, special.ndtri(below[labels, safe]), -np.inf)
        hi = np.where(known, special.ndtri(cdf[labels, safe]), np.inf)
        return lo, hi

    def log_likelihood(self, index: np.ndarray) -> np.ndarray:
        """``(n, K)`` log-probability of each value under each cluster (0 for unseen values)."""
        logp = np.log(np.maximum(self.probs, _TINY))
        known = index >= 0
        out = logp[:, np.where(known, index, 0)].T
        out[~known] = 0.0
        return out

    # ----------------------------------------------------------------- storage
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON metadata and arrays that :meth:`from_state` rebuilds this marginal from."""
        meta = {
            "type": "discrete",
            "numeric": self.numeric,
            "levels": None if self.numeric else self.levels,
            "has_missing": bool(self.levels and self.levels[0] is None) if self.numeric else None,
            "rare_values": self.rare_values,
        }
        arrays = {
            "probs": self.probs,
            "rare_weights": self.rare_weights,
            "level_bins": self.level_bins,
        }
        if self.numeric:
            arrays["levels"] = np.array([v for v in self.levels if v is not None], dtype=float)
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> DiscreteMarginal:
        """Inverse of :meth:`state`."""
        if meta["numeric"]:
            levels: list[Any] = [float(v) for v in arrays["levels"]]
            if meta["has_missing"]:
                levels = [None, *levels]
        else:
            levels = list(meta["levels"])
        out = cls(
            levels,
            meta["numeric"],
            meta["rare_values"],
            arrays["rare_weights"],
            arrays["level_bins"],
        )
        out.probs = arrays["probs"]
        return out


class ContinuousMarginal:
    """Quantile knots per cluster with a missing share folded in below them.

    Args:
        edges: Inner edges of the global clustering bins of observed values.
        knots_global: Global quantile knots, used for clusters without observed values.
        n_knots: Number of quantile knots per cluster.
    """

    def __init__(self, edges: np.ndarray, knots_global: np.ndarray, n_knots: int) -> None:
        self.edges = np.asarray(edges, dtype=np.float64)
        self.knots_global = np.asarray(knots_global, dtype=np.float64)
        self.n_knots = n_knots
        self.p_missing = np.zeros(0)
        self.knots = np.zeros((0, n_knots))
        self.hist = np.zeros((0, self.edges.size + 1))
        self.score_coef = np.zeros((0, gaussian.N_TERMS))  # set by fit(), not saved

    @classmethod
    def from_values(cls, values: np.ndarray, n_bins: int, n_knots: int) -> ContinuousMarginal:
        """Global bins and knots of a numeric column."""
        finite = values[~np.isnan(values)]
        if finite.size == 0:
            finite = np.zeros(1)
        inner = _quantiles(finite, np.linspace(0, 1, n_bins)[1:-1])
        knots = _quantiles(finite, np.linspace(0, 1, n_knots))
        return cls(np.unique(inner), knots, n_knots)

    @property
    def n_bins(self) -> int:
        """Number of clustering bins (observed bins plus one for missing)."""
        return self.edges.size + 2

    def bins(self, values: np.ndarray) -> np.ndarray:
        """Clustering bin of each value; missing values get the last bin."""
        out = np.searchsorted(self.edges, values, side="right")
        return np.where(np.isnan(values), self.edges.size + 1, out)

    # ----------------------------------------------------------------- fitting
    def fit(
        self,
        values: np.ndarray,
        starts: np.ndarray,
        alpha: float,
        rng: np.random.Generator,
        tie_means: bool = False,
    ) -> np.ndarray:
        """Fit per-cluster missing share, knots and histogram; return latent scores.

        Records are grouped by cluster: cluster ``k`` holds rows ``starts[k]:starts[k + 1]``.
        The scores are the randomised probability integral transform within each cluster
        (ranks with ties broken at random, missing values below all others); with
        ``tie_means`` the records of a tie of at least 0.1 % get the mean score of its interval.
        """
        n_clusters = starts.size - 1
        grid = np.linspace(0.0, 1.0, self.n_knots)
        n_obs_bins = self.edges.size + 1
        sizes = np.diff(starts).astype(np.float64)
        labels = np.repeat(np.arange(n_clusters), np.diff(starts))
        missing = np.isnan(values)
        n_miss = np.bincount(labels[missing], minlength=n_clusters).astype(np.float64)
        share = n_miss.sum() / max(sizes.sum(), 1.0)
        self.p_missing = (n_miss + alpha * share) / (sizes + alpha)
        self.knots = np.empty((n_clusters, self.n_knots))
        hist = np.zeros((n_clusters, n_obs_bins))
        z = np.empty(values.size)
        key = np.where(missing, -np.inf, values)
        ties = [(np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64))]
        for k in range(n_clusters):
            lo, hi = int(starts[k]), int(starts[k + 1])
            m = hi - lo
            if m == 0:
                self.knots[k] = self.knots_global
                continue
            order = np.lexsort((rng.random(m), key[lo:hi]))
            rank = np.empty(m)
            rank[order] = np.arange(m)
            scores = special.ndtri(_clip_u((rank + 0.5) / m))
            ordered = key[lo:hi][order]
            run_starts, run_ends = _tie_runs(ordered)
            tie_lo, tie_hi = special.ndtri(run_starts / m), special.ndtri(run_ends / m)
            ties.append((tie_lo, tie_hi, np.full(tie_lo.size, k)))
            if tie_means and run_starts.size:
                means = _truncated_means(run_starts / m, run_ends / m)
                lengths = run_ends - run_starts
                skip = np.repeat(run_starts - (np.cumsum(lengths) - lengths), lengths)
                in_runs = np.arange(lengths.sum()) + skip  # sorted positions inside the ties
                scores[order[in_runs]] = np.repeat(means, lengths)
            z[lo:hi] = scores
            observed = ordered[int(n_miss[k]) :]
            self.knots[k] = _quantiles(observed, grid) if observed.size else self.knots_global
            hist[k] = np.bincount(self.bins(observed), minlength=n_obs_bins)[:n_obs_bins]
        overall = hist.sum(axis=0) / max(hist.sum(), 1.0)
        self.hist = (hist + alpha * overall) / (hist.sum(axis=1, keepdims=True) + alpha)
        tie_lo, tie_hi, tie_group = (np.concatenate(parts) for parts in zip(*ties, strict=True))
        self.score_coef = gaussian.hermite_coefficients(tie_lo, tie_hi, tie_group, n_clusters)
        return z

    # ----------------------------------------------------------------- sampling
    def decode(self, z: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Values for latent scores ``z`` of records in clusters ``labels`` (``NaN`` = missing)."""
        u = _clip_u(special.ndtr(z))
        p_miss = self.p_missing[labels]
        v = np.clip((u - p_miss) / np.maximum(1.0 - p_miss, _TINY), 0.0, 1.0)
        grid = np.linspace(0.0, 1.0, self.n_knots)
        n_clusters = self.knots.shape[0]
        xp = (grid[None, :] + 2.0 * np.arange(n_clusters)[:, None]).ravel()
        out = np.interp(v + 2.0 * labels, xp, self.knots.ravel())
        undefined = np.isnan(out)  # interpolation next to an infinite knot
        if undefined.any():
            nearest = np.rint(v[undefined] * (self.n_knots - 1)).astype(np.int64)
            out[undefined] = self.knots[labels[undefined], nearest]
        out[u < p_miss] = np.nan
        return out

    # ----------------------------------------------------------------- conditioning
    def bounds(self, values: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latent interval of each value in its record's cluster.

        Values at or beyond the ends of the cluster's range are clamped to the latent quantiles
        ``1e-4`` and ``1 - 1e-4`` (about ±3.7), i.e. not extrapolated. A missing value in a
        column that had none is unbounded.
        """
        missing = np.isnan(values)
        lo_u = np.empty(values.size)
        hi_u = np.empty(values.size)
        grid = np.linspace(0.0, 1.0, self.n_knots)
        for k in np.unique(labels):
            rows = labels == k
            lo_u[rows], hi_u[rows] = _knot_cdf(self.knots[k], grid, values[rows])
        p_miss = self.p_missing[labels]
        lo_u = p_miss + (1.0 - p_miss) * np.clip(lo_u, _EDGE_U, 1.0 - _EDGE_U)
        hi_u = p_miss + (1.0 - p_miss) * np.clip(hi_u, _EDGE_U, 1.0 - _EDGE_U)
        lo_u = np.where(missing, 0.0, lo_u)
        hi_u = np.where(missing, p_miss, hi_u)
        unbounded = missing & (p_miss <= 0.0)
        lo = np.where(unbounded, -np.inf, special.ndtri(lo_u))
        hi = np.where(unbounded, np.inf, special.ndtri(hi_u))
        return lo, hi

    def log_likelihood(self, values: np.ndarray) -> np.ndarray:
        """``(n, K)`` log density of each value per cluster, up to a factor shared by clusters."""
        missing = np.isnan(values)
        p_miss = self.p_missing[None, :]
        obs = np.log(np.maximum(self.hist, _TINY))[:, self.bins(np.where(missing, 0.0, values))]
        out = np.where(
            missing[:, None],
            np.log(np.maximum(p_miss, _TINY)),
            np.log(np.maximum(1.0 - p_miss, _TINY)) + obs.T,
        )
        if not (self.p_missing > 0).any():
            out[missing] = 0.0
        return out

    # ----------------------------------------------------------------- storage
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON metadata and arrays that :meth:`from_state` rebuilds this marginal from."""
        meta = {"type": "continuous", "n_knots": self.n_knots}
        arrays = {
            "edges": self.edges,
            "knots_global": self.knots_global,
            "p_missing": self.p_missing,
            "knots": self.knots,
            "hist": self.hist,
        }
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> ContinuousMarginal:
        """Inverse of :meth:`state`."""
        out = cls(arrays["edges"], arrays["knots_global"], int(meta["n_knots"]))
        out.p_missing, out.knots, out.hist = arrays["p_missing"], arrays["knots"], arrays["hist"]
        return out


def _quantiles(values: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Linearly interpolated quantiles; the nearest value where an infinity makes them NaN."""
    with np.errstate(invalid="ignore"):
        out = np.quantile(values, probs)
    undefined = np.isnan(out)
    if undefined.any():
        out[undefined] = np.quantile(values, probs[undefined], method="nearest")
    return out


def _tie_runs(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end positions of the ties (≥ 0.1 % of the records) among sorted values."""
    m = ordered.size
    change = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
    run_starts = np.concatenate([[0], change])
    run_ends = np.concatenate([change, [m]])
    big = run_ends - run_starts >= max(2, int(np.ceil(0.001 * m)))
    return run_starts[big], run_ends[big]


def _truncated_means(u_lo: np.ndarray, u_hi: np.ndarray) -> np.ndarray:
    """Mean of a standard normal over the latent interval ``[Φ⁻¹(u_lo), Φ⁻¹(u_hi)]``."""
    a, b = special.ndtri(u_lo), special.ndtri(u_hi)
    pdf_a = np.where(np.isfinite(a), np.exp(-0.5 * np.where(np.isfinite(a), a, 0.0) ** 2), 0.0)
    pdf_b = np.where(np.isfinite(b), np.exp(-0.5 * np.where(np.isfinite(b), b, 0.0) ** 2), 0.0)
    mass = np.maximum(u_hi - u_lo, 1e-300)
    return (pdf_a - pdf_b) / np.sqrt(2.0 * np.pi) / mass


def _knot_cdf(
    knots: np.ndarray, grid: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Left and right limits of the piecewise-linear CDF through the knots at ``values``.

    They differ where a value sits on repeated knots (an atom such as a frequent zero).
    """
    left = _interp_side(knots, grid, values, "left")
    right = _interp_side(knots, grid, values, "right")
    return left, right


def _interp_side(knots: np.ndarray, grid: np.ndarray, values: np.ndarray, side: str) -> np.ndarray:
    n = knots.size
    i = np.searchsorted(knots, values, side=side)  # type: ignore[call-overload]
    lo_i = np.clip(i - 1, 0, n - 1)
    hi_i = np.clip(i, 0, n - 1)
    span = knots[hi_i] - knots[lo_i]
    frac = np.where(span > 0, (values - knots[lo_i]) / np.where(span > 0, span, 1.0), 1.0)
    out = grid[lo_i] + (grid[hi_i] - grid[lo_i]) * np.clip(frac, 0.0, 1.0)
    out = np.where(i == 0, 0.0, out)
    return np.where(i >= n, 1.0, out)
