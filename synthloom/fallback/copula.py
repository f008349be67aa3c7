"""The statistical fallback model: a mixture of Gaussian copulas over empirical marginals.

Model
-----
Records are first split into clusters by a latent class model (EM on binned columns, see
:mod:`synthloom.fallback.clustering`). Within each cluster every column has its own empirical
marginal (category shares, or quantile knots for numbers and dates, with missing values folded
in as the lowest part of the distribution), mapped to normal scores; the dependence left inside
a cluster is a Gaussian copula with that cluster's latent correlation matrix. The clusters carry
non-linear and category-specific relationships that a single Gaussian copula cannot.

Two refinements treat categories better in the latent space: categories are ordered on their
latent axis by their relationship to the other columns rather than by frequency
(:mod:`synthloom.fallback.ordering`), and latent correlations are corrected for the attenuation
that ties cause (:func:`synthloom.fallback.gaussian.invert_score_correlation`), much like
polychoric correlations.

Generation picks a cluster per record by its weight, draws the latent normal vector, and maps
each coordinate back through the cluster's marginal.

Conditioning
------------
Given values for some columns, the cluster of a record is drawn from its posterior, which weighs
each cluster by the per-cluster marginal likelihood of the given values (exact for one
conditioned column; with several, their dependence inside a cluster is not counted in these
weights). Inside the cluster the latent Gaussian is conditioned exactly: a continuous value fixes
its coordinate; a category (or a repeated number such as a frequent zero) restricts its coordinate
to the category's latent interval, and those coordinates are drawn from the truncated
multivariate normal by Gibbs sampling (exact for one such column). The other coordinates are
drawn from the conditional normal given the conditioned ones. Given values are returned exactly
as given; numbers beyond the training range are clamped to the edge of the range in the latent
space (not extrapolated); values never seen in training (new categories, or a missing value in a
column that never had one) are returned as given but do not influence the other columns.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from safetensors.numpy import load_file, save_file

from synthloom.fallback import clustering, gaussian, ordering
from synthloom.fallback.columns import (
    CATEGORICAL,
    ColumnSpec,
    category_codes,
    from_model_values,
    infer_spec,
    numeric_model_values,
    plain_value,
    restore_given,
)
from synthloom.fallback.marginals import ContinuousMarginal, DiscreteMarginal

Marginal = DiscreteMarginal | ContinuousMarginal

FORMAT_NAME = "synthloom.fallback.StatisticalModel"
FORMAT_VERSION = 1
_METADATA_FILE = "model.json"
_ARRAYS_FILE = "arrays.safetensors"
_GEN_CELLS = 4_000_000
_ORDER_CELLS = 5_000_000


class FitTimeoutError(TimeoutError):
    """Fitting ran past ``max_seconds`` in a stage that cannot be cut short."""


class StatisticalModel:
    """Mixture of Gaussian copulas with empirical marginals and exact conditional sampling.

    Args:
        n_clusters: Mixture components, or ``"auto"``: one per 1,000 records, at most 30, and
            at most as many as keep ``K · d²`` correlation entries under 25 million.
        n_bins: Bins per column for clustering.
        n_init: EM restarts of the clustering; the most likely fit is kept.
        max_levels: Categories modelled per cluster; rarer ones share a "rare" level whose
            values follow their overall frequencies.
        max_discrete_numbers: Numeric columns with at most this many distinct values are
            modelled as discrete levels (exact values); others by quantile knots.
        n_knots: Quantile knots per cluster for continuous columns.
        smoothing: Pseudo-records shrinking each cluster's marginal towards the global one.
        min_cluster_size: Smallest cluster kept; smaller ones are dissolved into the others.
        gibbs_sweeps: Gibbs sweeps when conditioning on several categorical columns.
        order_categories: Order categories on the latent axis by their relationship to the
            other columns (see :mod:`synthloom.fallback.ordering`) instead of by frequency.
        tie_correction: Estimate latent correlations that undo the attenuation caused by
            categories and repeated values (a Hermite-series moment match, like polychoric
            correlations) instead of using the correlation of the normal scores as is.
        random_state: Seed of the fitting randomness (``None``: not reproducible).

    Fitted attributes: ``columns_``, ``specs_``, ``marginals_``, ``weights_`` (cluster shares),
    ``correlations_`` (``(K, d, d)`` float32), ``fit_seconds_``, ``fit_stages_``.
    """

    def __init__(
        self,
        n_clusters: int | Literal["auto"] = "auto",
        n_bins: int = 10,
        n_init: int = 3,
        max_levels: int = 500,
        max_discrete_numbers: int = 50,
        n_knots: int = 201,
        smoothing: float = 0.5,
        min_cluster_size: int = 50,
        gibbs_sweeps: int = 10,
        order_categories: bool = True,
        tie_correction: bool = True,
        random_state: int | None = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.n_bins = n_bins
        self.n_init = n_init
        self.max_levels = max_levels
        self.max_discrete_numbers = max_discrete_numbers
        self.n_knots = n_knots
        self.smoothing = smoothing
        self.min_cluster_size = min_cluster_size
        self.gibbs_sweeps = gibbs_sweeps
        self.order_categories = order_categories
        self.tie_correction = tie_correction
        self.random_state = random_state

    # ================================================================= fitting
    def fit(self, df: pd.DataFrame, max_seconds: float | None = None) -> StatisticalModel:
        """Learn the model from a table.

        Args:
            df: Training records; any mix of numeric, boolean, categorical, string, date-string
                and datetime columns, with or without missing values.
            max_seconds: Wall-clock cap. Clustering degrades gracefully: EM may use the first
                40 % of the budget and stops early (keeping its best fit so far) when that is
                spent, or is skipped (one cluster) if it is spent already. If the cap is passed
                in any other stage, which cannot be cut short, :class:`FitTimeoutError` (a
                ``TimeoutError``) is raised naming the stage; the model is then not usable.

        Returns:
            ``self``.
        """
        with gaussian.blas_threads(1):
            return self._fit(df, max_seconds)

    def _fit(self, df: pd.DataFrame, max_seconds: float | None) -> StatisticalModel:
        started = time.monotonic()
        deadline = None if max_seconds is None else started + max_seconds
        _check_training_frame(df)
        for name in ("correlations_", "weights_", "fit_seconds_"):
            self.__dict__.pop(name, None)  # a failed refit must not leave a mixed model
        rng = np.random.default_rng(self.random_state)
        self.fit_stages_: dict[str, float] = {}
        self.columns_ = [plain_value(c) for c in df.columns]
        self.specs_ = [infer_spec(str(c), df[c]) for c in df.columns]
        codes = self._build_marginals(df)
        self._stage("marginals", started, deadline)
        if self.order_categories:
            self._order_categories(df, rng)
            self._stage("category order", started, deadline)
        labels = self._cluster(codes, rng, started, deadline)
        del codes
        self._stage("clustering", started, deadline)
        order = np.argsort(labels, kind="stable")
        n_clusters = int(labels.max()) + 1
        starts = np.searchsorted(labels[order], np.arange(n_clusters + 1))
        z = self._latent_scores(df, order, starts, rng, started, deadline)
        self._stage("latent scores", started, deadline)
        self.weights_ = np.diff(starts) / len(df)
        coef = None
        if self.tie_correction:
            coef = np.stack([m.score_coef for m in self.marginals_], axis=1)
        self.correlations_ = gaussian.cluster_correlations(z, starts, coef)
        self._stage("correlations", started, deadline)
        self.fit_seconds_ = time.monotonic() - started
        return self

    def _stage(self, name: str, started: float, deadline: float | None) -> None:
        now = time.monotonic()
        self.fit_stages_[name] = now - started
        if deadline is not None and now > deadline:
            raise FitTimeoutError(
                f"fitting the statistical model passed max_seconds "
                f"({deadline - started:.1f} s) during {name} ({now - started:.1f} s)"
            )

    def _build_marginals(self, df: pd.DataFrame) -> np.ndarray:
        """Create each column's marginal (global part) and return the bin codes."""
        codes = np.empty((len(df), len(self.specs_)), dtype=np.uint8)
        self.marginals_: list[Marginal] = []
        for j, (column, spec) in enumerate(zip(df.columns, self.specs_, strict=True)):
            marginal, index = self._new_marginal(spec, df[column])
            self.marginals_.append(marginal)
            codes[:, j] = marginal.bins(index)
        return codes

    def _new_marginal(self, spec: ColumnSpec, series: pd.Series) -> tuple[Marginal, np.ndarray]:
        if spec.kind == CATEGORICAL:
            cats = category_codes(series)
            marginal = DiscreteMarginal.from_categories(*cats, self.max_levels, self.n_bins)
            return marginal, marginal.level_index(cats)
        values = numeric_model_values(spec, series)
        n_unique = pd.unique(values[~np.isnan(values)]).size
        if n_unique <= self.max_discrete_numbers:
            discrete = DiscreteMarginal.from_numbers(values, self.n_bins)
            return discrete, discrete.level_index(values)
        return ContinuousMarginal.from_values(values, self.n_bins, self.n_knots), values

    def _order_categories(self, df: pd.DataFrame, rng: np.random.Generator) -> None:
        """Reorder categorical levels so that similar categories are latent neighbours."""
        categorical = {
            j: m
            for j, m in enumerate(self.marginals_)
            if isinstance(m, DiscreteMarginal) and not m.numeric and len(m.levels) >= 3
        }
        if not categorical or len(self.specs_) < 2:
            return
        n_sample = min(len(df), max(1_000, _ORDER_CELLS // len(self.specs_)))
        rows = np.sort(rng.choice(len(df), size=n_sample, replace=False))
        sample = df.iloc[rows]
        starts = np.array([0, n_sample])
        z = np.empty((n_sample, len(self.specs_)))
        indices: dict[int, np.ndarray] = {}
        for j, column in enumerate(df.columns):
            values = self._model_input(j, sample[column])
            z[:, j] = self.marginals_[j].fit(values, starts, 0.0, rng)
            if j in categorical:
                indices[j] = values

        def rescore(j: int, permutation: np.ndarray) -> np.ndarray:
            new_index = permutation.argsort()[indices[j]]
            return categorical[j].fit(new_index, starts, 0.0, rng)

        n_levels = {j: len(m.levels) for j, m in categorical.items()}
        fixed_last = {j: bool(m.rare_values) for j, m in categorical.items()}
        orders = ordering.order_levels(indices, z, n_levels, fixed_last, rescore, rng)
        for j, permutation in orders.items():
            categorical[j].reorder(permutation)

    def _resolve_clusters(self, n_rows: int, n_cols: int) -> int:
        if self.n_clusters != "auto":
            return max(1, int(self.n_clusters))
        by_rows = n_rows // 1000
        by_memory = 25_000_000 // max(n_cols * n_cols, 1)
        return int(max(1, min(30, by_rows, by_memory)))

    def _cluster(
        self, codes: np.ndarray, rng: np.random.Generator, started: float, deadline: float | None
    ) -> np.ndarray:
        n_clusters = self._resolve_clusters(*codes.shape)
        em_deadline = None
        if deadline is not None:
            em_deadline = started + 0.4 * (deadline - started)
            if time.monotonic() > em_deadline:
                n_clusters = 1
        n_bins = np.array([m.n_bins for m in self.marginals_])
        return clustering.cluster_records(
            codes,
            n_bins,
            n_clusters,
            rng,
            min_size=self.min_cluster_size,
            deadline=em_deadline,
            n_init=self.n_init,
        )

    def _latent_scores(
        self,
        df: pd.DataFrame,
        order: np.ndarray,
        starts: np.ndarray,
        rng: np.random.Generator,
        started: float,
        deadline: float | None,
    ) -> np.ndarray:
        """Fit per-cluster marginals; return latent scores with rows grouped by cluster."""
        z = np.empty((len(df), len(self.specs_)), dtype=np.float32, order="F")
        for j, column in enumerate(df.columns):
            values = self._model_input(j, df[column])
            z[:, j] = self.marginals_[j].fit(
                values[order], starts, self.smoothing, rng, tie_means=self.tie_correction
            )
            if deadline is not None and j % 50 == 49:
                self._stage("latent scores", started, deadline)
        return z

    def _model_input(self, j: int, series: pd.Series) -> np.ndarray:
        """Level indices (discrete marginals) or float values (continuous ones) of a column."""
        spec, marginal = self.specs_[j], self.marginals_[j]
        if spec.kind == CATEGORICAL:
            assert isinstance(marginal, DiscreteMarginal)
            return marginal.level_index(category_codes(series))
        values = numeric_model_values(spec, series)
        if isinstance(marginal, DiscreteMarginal):
            return marginal.level_index(values)
        return values

    # ================================================================= generation
    def generate(
        self,
        num_records: int,
        conditions: pd.DataFrame | dict[Any, Any] | None = None,
        seed: int | None = None,
    ) -> pd.DataFrame:
        """Generate synthetic records.

        Args:
            num_records: Number of records (ignored when ``conditions`` is a DataFrame).
            conditions: Values to condition on. A DataFrame gives one record per row, in order,
                with its columns fixed to the row's values (``NaN`` means "missing"); a dict
                gives ``num_records`` records that all hold its values. Any subset of the
                training columns may be given.
            seed: Seed of the generation randomness; the same seed and model give the same
                records.

        Returns:
            A DataFrame with the training columns in training order and training dtypes.

        Raises:
            ValueError: a condition names a column that was not in training, or a given value
                does not fit its column's type.
        """
        self._check_fitted()
        with gaussian.blas_threads(1):
            return self._generate(num_records, conditions, seed)

    def _generate(
        self,
        num_records: int,
        conditions: pd.DataFrame | dict[Any, Any] | None,
        seed: int | None,
    ) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        given = self._condition_frame(num_records, conditions)
        n = num_records if given is None else len(given)
        if n < 0:
            raise ValueError(f"num_records must be non-negative, got {n}")
        step = max(1, _GEN_CELLS // len(self.specs_))
        parts = [
            self._generate_block(
                min(step, n - s), None if given is None else given.iloc[s : s + step], rng
            )
            for s in range(0, max(n, 1), step)
        ]
        values = [np.concatenate([p[j] for p in parts])[:n] for j in range(len(self.specs_))]
        columns = {}
        for j, spec in enumerate(self.specs_):
            if given is not None and spec.name in given.columns:
                columns[j] = restore_given(spec, given[spec.name])
            else:
                columns[j] = from_model_values(spec, values[j])
        out = pd.concat([columns[j] for j in range(len(self.specs_))], axis=1)
        out.columns = pd.Index(self.columns_)
        return out

    def _generate_block(
        self, n: int, given: pd.DataFrame | None, rng: np.random.Generator
    ) -> list[np.ndarray]:
        if given is None or given.shape[1] == 0:
            labels = rng.choice(self.weights_.size, size=n, p=self.weights_)
            z = self._latent_unconditioned(labels, rng)
        else:
            labels, z = self._latent_conditioned(given, rng)
        return [m.decode(z[:, j], labels, rng) for j, m in enumerate(self.marginals_)]

    def _latent_unconditioned(self, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        z = np.empty((labels.size, len(self.specs_)))
        for k in np.unique(labels):
            rows = np.flatnonzero(labels == k)
            chol = gaussian.cholesky(self.correlations_[k].astype(np.float64))
            z[rows] = rng.standard_normal((rows.size, chol.shape[0])) @ chol.T
        return z

    def _latent_conditioned(
        self, given: pd.DataFrame, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        cond = np.array([self._index_of(c) for c in given.columns], dtype=np.int64)
        inputs = [self._model_input(j, given.iloc[:, i]) for i, j in enumerate(cond)]
        log_post = np.tile(np.log(np.maximum(self.weights_, 1e-300)), (len(given), 1))
        for j, x in zip(cond, inputs, strict=True):
            log_post += self.marginals_[j].log_likelihood(x)
        labels = _sample_rows(log_post, rng)
        z = np.empty((len(given), len(self.specs_)))
        for k in np.unique(labels):
            rows = np.flatnonzero(labels == k)
            lo = np.empty((rows.size, cond.size))
            hi = np.empty((rows.size, cond.size))
            for i, j in enumerate(cond):
                lo[:, i], hi[:, i] = self.marginals_[j].bounds(inputs[i][rows], labels[rows])
            corr = self.correlations_[k].astype(np.float64)
            z[rows] = gaussian.sample_conditioned(corr, cond, lo, hi, rng, self.gibbs_sweeps)
        return labels, z

    def _index_of(self, name: str) -> int:
        return [s.name for s in self.specs_].index(name)

    def _condition_frame(
        self, num_records: int, conditions: pd.DataFrame | dict[Any, Any] | None
    ) -> pd.DataFrame | None:
        """Conditions as a DataFrame with string column names (validated)."""
        if conditions is None:
            return None
        if isinstance(conditions, dict):
            frame = pd.DataFrame(
                {k: pd.Series([v] * num_records, dtype=object) for k, v in conditions.items()}
            )
        elif isinstance(conditions, pd.DataFrame):
            frame = conditions.reset_index(drop=True)
        else:
            raise TypeError("conditions must be a pandas DataFrame, a dict or None")
        known = {s.name for s in self.specs_}
        unknown = [c for c in frame.columns if str(c) not in known]
        if unknown:
            raise ValueError(
                f"conditions name column(s) not in the training data: "
                f"{', '.join(repr(c) for c in unknown)}; known columns: {sorted(known)}"
            )
        frame.columns = [str(c) for c in frame.columns]
        if frame.columns.duplicated().any():
            raise ValueError("conditions name a column more than once")
        return frame

    def _check_fitted(self) -> None:
        if not hasattr(self, "correlations_"):
            raise RuntimeError("StatisticalModel is not fitted: call fit() or load() first")

    # ================================================================= storage
    def save(self, directory: str | Path) -> Path:
        """Write the model to ``directory`` (created if needed) without pickles.

        Files: ``model.json`` (options, column specs, category levels) and
        ``arrays.safetensors`` (cluster weights, correlations, marginal tables).

        Returns:
            The directory path.
        """
        self._check_fitted()
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {
            "weights": self.weights_,
            "correlations": self.correlations_,
        }
        columns = []
        for j, (spec, marginal) in enumerate(zip(self.specs_, self.marginals_, strict=True)):
            meta, column_arrays = marginal.state()
            columns.append({"spec": spec.to_json(), "marginal": meta})
            arrays.update({f"column{j}.{key}": value for key, value in column_arrays.items()})
        metadata = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "options": self.get_params(),
            "column_names": self.columns_,
            "columns": columns,
            "fit_seconds": self.fit_seconds_,
        }
        (path / _METADATA_FILE).write_text(json.dumps(metadata, indent=1), encoding="utf-8")
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, path / _ARRAYS_FILE)
        return path

    @classmethod
    def load(cls, directory: str | Path) -> StatisticalModel:
        """Read a model written by :meth:`save` (JSON and safetensors only; no pickle)."""
        path = Path(directory)
        metadata = json.loads((path / _METADATA_FILE).read_text(encoding="utf-8"))
        if metadata.get("format") != FORMAT_NAME or metadata.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path} does not hold a synthloom StatisticalModel (version 1)")
        arrays = load_file(path / _ARRAYS_FILE)
        model = cls(**metadata["options"])
        model.columns_ = metadata["column_names"]
        model.specs_ = [ColumnSpec.from_json(c["spec"]) for c in metadata["columns"]]
        model.marginals_ = []
        for j, column in enumerate(metadata["columns"]):
            prefix = f"column{j}."
            own = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            kind = DiscreteMarginal if column["marginal"]["type"] == "discrete" else None
            marginal_cls = kind or ContinuousMarginal
            model.marginals_.append(marginal_cls.from_state(column["marginal"], own))
        model.weights_ = arrays["weights"]
        model.correlations_ = arrays["correlations"]
        model.fit_seconds_ = float(metadata["fit_seconds"])
        return model

    def get_params(self) -> dict[str, Any]:
        """Constructor options (scikit-learn style)."""
        return {
            "n_clusters": self.n_clusters,
            "n_bins": self.n_bins,
            "n_init": self.n_init,
            "max_levels": self.max_levels,
            "max_discrete_numbers": self.max_discrete_numbers,
            "n_knots": self.n_knots,
            "smoothing": self.smoothing,
            "min_cluster_size": self.min_cluster_size,
            "gibbs_sweeps": self.gibbs_sweeps,
            "order_categories": self.order_categories,
            "tie_correction": self.tie_correction,
            "random_state": self.random_state,
        }


def _check_training_frame(df: pd.DataFrame) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError("fit() needs a pandas DataFrame")
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise ValueError("fit() needs at least one row and one column")
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        raise ValueError("training columns must have distinct names")


def _sample_rows(log_weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row from unnormalised log weights."""
    shifted = np.exp(log_weights - log_weights.max(axis=1, keepdims=True))
    cum = np.cumsum(shifted, axis=1)
    draws = rng.random(len(log_weights)) * cum[:, -1]
    return np.minimum((cum < draws[:, None]).sum(axis=1), log_weights.shape[1] - 1)
