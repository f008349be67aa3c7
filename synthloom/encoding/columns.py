"""Per-column choices of the config (``columns:``) and the guard against copied values.

Treatments run before anything is learned: ``exclude`` drops a column from training and
output, ``hash`` replaces its values by keyed hashes (the key is drawn from OS entropy
and never stored, so hashes cannot be recomputed from the model), ``keep`` makes it
categorical (real values, recombined). Kinds and lengths go to the codec; loss weights
and temperatures to the row model's training and sampling.

:class:`CopyGuard` knows, for spelled columns, keyed digests of the rare training values
(never the values) so generation can reject a value that equals one of them.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from synthloom.config import ColumnOptions, Params
from synthloom.encoding.fields import as_text, decide_kind, numeric_view
from synthloom.errors import ConfigError
from synthloom.io.schema import TableFormat
from synthloom.privacy.protection import (
    Protected,
    clip_range,
    column_threshold,
    log_protection,
    protect_categories,
)

HASH_HEX_CHARS = 16
# Values held by at least this many training rows are shared patterns: not guarded.
SHARED_VALUE_ROWS = 3
# Digest bytes per training value: collisions between 10⁶ values are ~3·10⁻⁸ likely.
_DIGEST_BYTES = 8


def apply_treatments(
    frame: pd.DataFrame, table_format: TableFormat, columns: dict[str, ColumnOptions]
) -> tuple[pd.DataFrame, TableFormat]:
    """``frame`` and its format with ``exclude`` columns dropped and ``hash`` columns hashed."""
    unknown = [name for name in columns if name not in frame.columns]
    if unknown:
        raise ConfigError(
            f"columns names {unknown} that are not in the data (its columns are "
            f"{list(frame.columns)}); correct the names or remove them from columns"
        )
    dropped = [n for n, o in columns.items() if o.treatment == "exclude"]
    if len(dropped) == frame.shape[1]:
        raise ConfigError("every column is excluded; keep at least one")
    frame = frame.drop(columns=dropped)
    key = os.urandom(32)
    for name, options in columns.items():
        if options.treatment == "hash":
            frame[name] = _hashed(frame[name], key)
    kept = tuple(
        replace(c, kind="string", decimals=None, datetime_format=None)
        if columns.get(c.name, ColumnOptions()).treatment == "hash"
        else c
        for c in table_format.columns
        if c.name not in dropped
    )
    return frame, replace(table_format, columns=kept)


def protect_values(
    frame: pd.DataFrame,
    table_format: TableFormat,
    params: Params,
    columns: dict[str, ColumnOptions],
    exempt: tuple[str, ...] = (),
) -> tuple[pd.DataFrame, list[Protected]]:
    """``frame`` with value protection applied (:mod:`synthloom.privacy.protection`).

    Categories lose their rare values, numbers and dates their extremes; spelled columns
    are left to the copy guard. Off under DP (every released value is a DP release there),
    with ``params.value_protection: false``, for a column whose options say
    ``value_protection: false``, and for the ``exempt`` columns (keys, context columns).
    A threshold set larger than the table is refused; the default on so small a table
    protects every value (each category is rare, each range meets at the median).
    """
    if params.dp or not params.value_protection:
        return frame, []
    threshold = params.value_protection_threshold
    if threshold > len(frame) and "value_protection_threshold" in params.model_fields_set:
        raise ConfigError(
            f"params.value_protection_threshold {threshold} is larger than the table "
            f"({len(frame)} rows); lower it, or set params.value_protection: false"
        )
    kinds = requested_kinds(columns)
    out, protected = frame.copy(), []
    for info in table_format.columns:
        name = info.name
        if name in exempt or not columns.get(name, ColumnOptions()).value_protection:
            continue
        kind = decide_kind(frame[name], info, kinds.get(name))
        if kind == "categorical":
            column, change = protect_categories(
                frame[name], column_threshold(threshold), params.rare_category_replacement
            )
        elif kind in ("numeric", "datetime"):
            numbers = numeric_view(frame[name], info)
            column, change = clip_range(frame[name], numbers, column_threshold(threshold))
        else:
            continue  # spelled: the copy guard's
        if change is not None:
            out[name] = column
            protected.append(change)
    log_protection(protected)
    return out, protected


def requested_kinds(columns: dict[str, ColumnOptions]) -> dict[str, str]:
    """Kinds the config fixes (``keep``/``hash`` columns are categorical)."""
    out = {}
    for name, options in columns.items():
        if options.treatment in ("keep", "hash"):
            out[name] = "categorical"
        elif options.kind != "auto":
            out[name] = options.kind
    return out


def max_lengths(columns: dict[str, ColumnOptions]) -> dict[str, int]:
    """Longest spelled value per column, where the config sets it."""
    return {n: o.max_length for n, o in columns.items() if o.max_length is not None}


def loss_weights(columns: dict[str, ColumnOptions]) -> dict[str, float]:
    """Weight of each column in the row model's loss, where the config changes it."""
    return {n: o.loss_weight for n, o in columns.items() if o.loss_weight != 1}


def gen_temps(columns: dict[str, ColumnOptions]) -> dict[str, float]:
    """Sampling temperature of each column that has its own."""
    return {n: o.gen_temp for n, o in columns.items() if o.gen_temp is not None}


def _hashed(series: pd.Series, key: bytes) -> pd.Series:
    def digest(value: Any) -> str:
        data = str(value).encode("utf-8")
        return hashlib.blake2b(data, key=key, digest_size=HASH_HEX_CHARS // 2).hexdigest()

    return series.astype(object).map(lambda v: None if pd.isna(v) else digest(v)).astype("string")


@dataclass
class CopyGuard:
    """Keyed digests of the training values of spelled columns (``copy_guard.json``)."""

    key: str
    digests: dict[str, list[str]]

    @classmethod
    def learn(cls, frame: pd.DataFrame, names: list[str]) -> CopyGuard:
        """Digests of the rare training values of ``names`` (a fresh random key).

        A value that at least :data:`SHARED_VALUE_ROWS` rows hold (a common first name, a
        city) is a pattern, not a person: generating it is no copy of anyone, and the
        holdout shows such values too. Rarer values (an email, a full name) are guarded.
        """
        key = os.urandom(16).hex()
        guard = cls(key, {})
        for name in names:
            digests = guard._digest(frame[name]).dropna()
            counts = digests.value_counts()
            guard.digests[name] = sorted(counts.index[counts < SHARED_VALUE_ROWS])
        return guard

    def copies(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Per guarded column present in ``frame``, which rows hold a training value."""
        out = {}
        for name, known in self.digests.items():
            if name in frame:
                out[name] = self._digest(frame[name]).isin(set(known)).to_numpy()
        return out

    def _digest(self, series: pd.Series) -> pd.Series:
        key = bytes.fromhex(self.key)

        def one(value: Any) -> str | None:
            if value is None or pd.isna(value):
                return None
            text = str(value).encode("utf-8")
            return hashlib.blake2b(text, key=key, digest_size=_DIGEST_BYTES).hexdigest()

        return as_text(series).map(one)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``copy_guard.json``."""
        return {"key": self.key, "digests": self.digests}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CopyGuard:
        """Inverse of :meth:`to_dict`."""
        return cls(data["key"], data["digests"])
