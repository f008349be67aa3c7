"""Seeding a table model: seed rows checked against the model, and rebalancing.

Generation can be conditioned on any columns, named at generation time: the seed rows
may hold any subset of the model's columns. The seed task's fields (declared at
training) are a prefix of the first network's row, which conditions exactly and fast;
other columns are conditioned by importance resampling (see
:meth:`synthloom.lstm.table_model.TableSampler.sample`). A rebalance
(``{column: {value: share}}``, any categorical column) becomes seed rows with those
shares, the rest of the values in their training proportions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthloom.config import Fairness, rebalance_problem
from synthloom.encoding.fields import CategoricalField, FieldCodec, NumericField
from synthloom.errors import ConfigError, DataError
from synthloom.fallback import StatisticalModel
from synthloom.io.tables import read_table
from synthloom.privacy.protection import RARE
from synthloom.synthesizers.base import refuse_unknown_seed_columns
from synthloom.synthesizers.table_parts import ClusterModel

log = logging.getLogger("synthloom")

# Rows drawn from the statistical model to estimate value shares for amplify's rebalance.
REBALANCE_POOL = 2000
# A fairness target or sensitive column has at most this many values (a category, not a
# number: parity over hundreds of groups cannot be checked on a few thousand rows).
MAX_FAIRNESS_VALUES = 50


@dataclass(frozen=True)
class SeedFields:
    """A trained table's columns as conditions: which may be given, and their values."""

    fields: list[str]  # the seed task's (declared at training: the exact, fast prefix)
    parts: list[ClusterModel]
    fallback: StatisticalModel | None
    seed: int | None
    columns: tuple[str, ...] = ()  # every column of the model: any may be given
    constrained: tuple[str, ...] = ()  # columns declared rules set: never given

    def codec(self, column: str) -> FieldCodec | None:
        """The codec of the network that generates ``column`` (None: not learned by one)."""
        for part in self.parts:
            if column in part.columns:
                return part.codec.field(column)
        return None

    def warn_unseen(self, seeds: pd.DataFrame, free: pd.DataFrame | None = None) -> None:
        """Check seed values against what the model learned: a category never seen is an
        error (a declared seed field, which has an ``<unk>`` token, gets a warning), a
        number outside the training range a warning (it is conditioned as the nearest
        edge and comes back as given), a missing value where training had none an error.
        Cells that ``free`` marks (to impute) are not given, so not checked."""
        for column in seeds.columns:
            codec = self.codec(column)
            values = seeds[column]
            if free is not None and column in free:
                values = values[~free[column].to_numpy(dtype=bool)]
            if codec is None and not pd.api.types.is_numeric_dtype(values):
                self._warn_unseen_drawn(column, values)  # amplify: no vocabulary kept
            elif isinstance(codec, CategoricalField) and codec.numeric:
                _warn_unseen_numbers(codec, values)
            elif isinstance(codec, CategoricalField):
                self._check_categories(codec, values)
            elif isinstance(codec, NumericField) and codec.unit == "number":
                _warn_out_of_range(codec, values)
            if codec is not None and not _knows_missing(codec) and values.isna().any():
                raise DataError(
                    f"seed column {column!r} has missing values, which the model never saw "
                    "in training; give a value, or leave the column out of those rows' seeds"
                )

    def _warn_unseen_drawn(self, column: str, values: pd.Series) -> None:
        """Values the statistical model does not draw get a warning naming them."""
        try:
            known, _ = self.value_counts(column)
        except ConfigError:  # not categorical: any value may be new
            return
        unseen = sorted({str(v) for v in values.dropna()} - {str(v) for v in known})
        if unseen:
            _warn_unseen(column, _shown(unseen))

    def _check_categories(self, codec: CategoricalField, values: pd.Series) -> None:
        known_text = {str(v) for v in codec.values}
        unseen = sorted({str(v) for v in values.dropna()} - known_text)
        if not unseen:
            return
        shown = _shown(unseen)
        if codec.has_unk:
            _warn_unseen(codec.name, shown)
            return
        examples = ", ".join(repr(v) for v in codec.values[:5] if v != RARE)
        protected = (
            f" (value protection learned its rare categories as {RARE}: columns: "
            f"{{{codec.name}: {{value_protection: false}}}} learns them as they are)"
            if RARE in codec.values
            else ""
        )
        raise DataError(
            f"seed column {codec.name!r} has values never seen in training: {shown}{protected}; "
            f"give values the model knows (e.g. {examples}), or declare the column a seed "
            "field at training (task: {type: seed, attrs: {fields: [...]}})"
        )

    def frame(self, seeds: pd.DataFrame | str | Path | None) -> pd.DataFrame | None:
        """The seed rows (a DataFrame or a table file), checked: columns of the model."""
        if seeds is None:
            return None
        frame = seeds if isinstance(seeds, pd.DataFrame) else read_table(seeds)[0]
        frame = frame.rename(columns=str)
        if frame.columns.has_duplicates:
            raise DataError("the seeds name a column more than once; give each column once")
        refuse_unknown_seed_columns(frame.columns, self.columns, "the model", self.columns)
        ruled = [c for c in frame.columns if c in self.constrained]
        if ruled:
            raise DataError(
                f"seed column(s) {ruled} are set by the model's constraints; leave them out "
                "of the seeds (the constraints decide them)"
            )
        if frame.empty or not len(frame.columns):
            raise DataError("the seeds have no rows or no columns; give at least one of each")
        return frame.reset_index(drop=True)

    def rebalanced(
        self, rebalance: dict[str, dict[Any, float]], wanted: int, rng: np.random.Generator
    ) -> pd.DataFrame:
        """Seed rows whose values of the rebalanced column have the requested shares."""
        problem = rebalance_problem(rebalance)
        if problem:
            raise ConfigError(problem)
        ((column, shares),) = rebalance.items()
        values, counts = self.value_counts(column)
        values = rebalanced_values(values, counts, shares, wanted, rng)
        return pd.DataFrame({column: values})

    def fair(self, fairness: Fairness, wanted: int, rng: np.random.Generator) -> pd.DataFrame:
        """Seed rows for statistical parity: sensitive values drawn in their training
        shares, and within every sensitive group the target's values in the same (its
        overall training) shares, so the target is independent of the group."""
        for column in [fairness.target, *fairness.sensitive]:
            if column not in self.columns:
                raise ConfigError(
                    f"fairness column {column!r} is not a column of the model; its columns "
                    f"are {list(self.columns)}"
                )
        values, counts = self._fairness_counts(fairness.target, "target")
        groups = self._sensitive_groups(fairness.sensitive, wanted, rng)
        target = np.empty(wanted, dtype=object)
        for rows in groups.groupby(list(groups.columns), dropna=False).indices.values():
            target[rows] = exact_shares(values, counts / counts.sum(), len(rows), rng)
        return groups.assign(**{fairness.target: target})[[*fairness.sensitive, fairness.target]]

    def _fairness_counts(self, column: str, role: str) -> tuple[list[Any], np.ndarray]:
        try:
            values, counts = self.value_counts(column)
        except ConfigError:
            values, counts = [], np.zeros(0)
        if not values or len(values) > MAX_FAIRNESS_VALUES:
            raise ConfigError(
                f"fairness {role} {column!r} is not a categorical column with at most "
                f"{MAX_FAIRNESS_VALUES} values; choose such a column, or learn it as one "
                f"(columns: {{{column}: {{kind: categorical}}}})"
            )
        return values, counts

    def _sensitive_groups(
        self, columns: list[str], wanted: int, rng: np.random.Generator
    ) -> pd.DataFrame:
        """Sensitive values for ``wanted`` rows: one column in its training shares; several
        jointly, as the statistical model draws them (independently where there is none)."""
        if len(columns) > 1 and self.fallback is not None:
            known = set(self.fallback.columns_)
            if all(c in known for c in columns):
                drawn = self.fallback.generate(wanted, seed=int(rng.integers(2**31)))
                return drawn[columns].reset_index(drop=True)
        if len(columns) > 1:
            log.warning(
                "fairness: sensitive columns %s are drawn independently of each other (no "
                "statistical model of their joint shares was trained)",
                columns,
            )
        data = {}
        for column in columns:
            values, counts = self._fairness_counts(column, "sensitive column")
            shares = counts / counts.sum()
            data[column] = rng.choice(np.array(values, dtype=object), wanted, p=shares)
        return pd.DataFrame(data)

    def value_counts(self, column: str) -> tuple[list[Any], np.ndarray]:
        """A categorical column's values and their training frequencies (for amplify,
        which keeps no vocabulary, as drawn from the statistical model)."""
        bad = ConfigError(
            f"rebalance column {column!r} must be a categorical column of the model "
            f"(columns: {list(self.columns)})"
        )
        if column not in self.columns:
            raise bad
        if self.parts:
            codec = self.codec(column)
            if not isinstance(codec, CategoricalField):
                raise bad
            return list(codec.values), np.asarray(codec.counts, dtype=float)
        assert self.fallback is not None
        drawn = self.fallback.generate(REBALANCE_POOL, seed=self.seed)
        if column not in drawn:
            raise bad
        counts = drawn[column].value_counts(dropna=True)
        return list(counts.index), counts.to_numpy(dtype=float)


def _shown(values: list[str]) -> str:
    return ", ".join(repr(v) for v in values[:5]) + (" …" if len(values) > 5 else "")


def _warn_unseen(column: str, shown: str) -> None:
    log.warning(
        "seed column %r has values never seen in training: %s; the model has learned "
        "nothing about them, so their records follow the overall data",
        column,
        shown,
    )


def _knows_missing(codec: FieldCodec) -> bool:
    if isinstance(codec, CategoricalField):
        return codec.has_na or codec.has_unk
    return bool(getattr(codec, "has_na", True))


def _warn_unseen_numbers(codec: CategoricalField, values: pd.Series) -> None:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    unseen = int((~numbers.isin(codec.values)).sum())
    if unseen:
        log.warning(
            "seed column %r: %d value(s) the model never saw; each is conditioned as the "
            "nearest training value, and comes back as given",
            codec.name,
            unseen,
        )


def _warn_out_of_range(codec: NumericField, values: pd.Series) -> None:
    known = [*codec.exact, *codec.edges]
    numbers = pd.to_numeric(values, errors="coerce")
    if not known or numbers.isna().all():
        return
    lo, hi = min(known), max(known)
    outside = int(((numbers < lo) | (numbers > hi)).sum())
    if outside:
        log.warning(
            "seed column %r: %d value(s) outside the training range [%g, %g]; the model is "
            "conditioned on the nearest edge, and the values come back as given",
            codec.name,
            outside,
            lo,
            hi,
        )


def exact_shares(
    values: list[Any], shares: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` values, each ``round(share × n)`` times (largest remainders fill the rest),
    in random order: a group's shares exactly, not only in expectation."""
    wanted = shares * n
    counts = np.floor(wanted).astype(int)
    short = n - counts.sum()
    if short:
        counts[np.argsort(-(wanted - counts), kind="stable")[:short]] += 1
    out = np.repeat(np.array(values, dtype=object), counts)
    rng.shuffle(out)
    return out


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
