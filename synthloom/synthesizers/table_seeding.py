"""Seeding a table model: seed rows checked against the seed task, and rebalancing.

Generation can be conditioned on the seed task's fields (smart seeding): the seed rows
must name exactly those fields, values never seen in training are named in a warning,
and a rebalance (``{column: {value: share}}``) becomes seed rows with those shares, the
rest of the values in their training proportions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthloom.config import rebalance_problem
from synthloom.encoding.fields import CategoricalField
from synthloom.errors import ConfigError, DataError
from synthloom.fallback import StatisticalModel
from synthloom.io.tables import read_table
from synthloom.synthesizers.table_parts import ClusterModel

log = logging.getLogger("synthloom")

# Rows drawn from the statistical model to estimate value shares for amplify's rebalance.
REBALANCE_POOL = 2000


@dataclass(frozen=True)
class SeedFields:
    """A trained table's seed fields, with what rebalancing needs to know of them."""

    fields: list[str]
    parts: list[ClusterModel]
    fallback: StatisticalModel | None
    seed: int | None

    def warn_unseen(self, seeds: pd.DataFrame) -> None:
        """Seed values the model never saw in training get a warning naming them."""
        for column in seeds.columns:
            if pd.api.types.is_numeric_dtype(seeds[column]):
                continue  # numbers between seen ones are not "unseen"
            try:
                known, _ = self.value_counts(column)
            except ConfigError:  # not categorical: any value may be new
                continue
            known_text = {str(v) for v in known}
            unseen = sorted({str(v) for v in seeds[column].dropna()} - known_text)
            if unseen:
                log.warning(
                    "seed column %r has values never seen in training: %s; the model has "
                    "learned nothing about them, so their records follow the overall data",
                    column,
                    ", ".join(repr(v) for v in unseen[:5]) + (" …" if len(unseen) > 5 else ""),
                )

    def frame(self, seeds: pd.DataFrame | str | Path | None) -> pd.DataFrame | None:
        """The seed rows (a DataFrame or a table file), checked: exactly the seed fields."""
        if seeds is None:
            return None
        self.require("to generate from seeds")
        frame = seeds if isinstance(seeds, pd.DataFrame) else read_table(seeds)[0]
        if sorted(frame.columns) != sorted(self.fields):
            raise DataError(
                f"seed columns {list(frame.columns)} must be exactly the seed fields {self.fields}"
            )
        if frame.empty:
            raise DataError("the seeds file has no rows")
        return frame.reset_index(drop=True)

    def require(self, purpose: str) -> None:
        """Refuse, naming ``purpose``, when the model was trained without a seed task."""
        if not self.fields:
            raise ConfigError(
                f"this model was trained without a seed task; retrain with "
                f"task: {{type: seed, attrs: {{fields: [...]}}}} {purpose}"
            )

    def rebalanced(
        self, rebalance: dict[str, dict[Any, float]], wanted: int, rng: np.random.Generator
    ) -> pd.DataFrame:
        """Seed rows whose values of the rebalanced column have the requested shares."""
        self.require("with the rebalanced column among its fields")
        problem = rebalance_problem(rebalance)
        if problem:
            raise ConfigError(problem)
        ((column, shares),) = rebalance.items()
        values, counts = self.value_counts(column)
        values = rebalanced_values(values, counts, shares, wanted, rng)
        return pd.DataFrame({column: values})

    def value_counts(self, column: str) -> tuple[list[Any], np.ndarray]:
        """A categorical seed field's values and their training frequencies (for amplify,
        which keeps no vocabulary, as drawn from the statistical model)."""
        bad = ConfigError(
            f"rebalance column {column!r} must be a categorical seed field "
            f"(seed fields: {self.fields})"
        )
        if column not in self.fields:
            raise bad
        if self.parts:
            codec = next((f for f in self.parts[0].codec.fields if f.name == column), None)
            if not isinstance(codec, CategoricalField):
                raise bad
            return list(codec.values), np.asarray(codec.counts, dtype=float)
        assert self.fallback is not None
        drawn = self.fallback.generate(REBALANCE_POOL, seed=self.seed)[column]
        counts = drawn.value_counts(dropna=True)
        return list(counts.index), counts.to_numpy(dtype=float)


def rebalanced_values(
    known: list[Any],
    frequencies: np.ndarray,
    shares: dict[Any, float],
    wanted: int,
    rng: np.random.Generator,
) -> np.ndarray:
    counts = {value: round(share * wanted) for value, share in shares.items()}
    others = [v for v in known if v not in shares]
    weights = np.array([frequencies[known.index(v)] for v in others], dtype=float)
    rest = wanted - sum(counts.values())
    if rest > 0 and not others:
        raise ConfigError("rebalance shares must sum to 1 when they name every value")
    values = [v for value, count in counts.items() for v in [value] * count]
    if rest > 0:
        values += list(rng.choice(np.array(others, dtype=object), rest, p=weights / weights.sum()))
    values = np.array(values[:wanted], dtype=object)
    rng.shuffle(values)
    return values
