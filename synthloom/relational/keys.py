"""New key values, foreign-key assignment and the referential-integrity check."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthloom.errors import DataError
from synthloom.relational.schema import ForeignKey, Schema, key_index

# A text key's shape: upper-case letters, lower-case letters, digits; other characters
# are kept as they are. A shape needs this share of the real keys to be learned.
_CLASSES = {"A": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "a": "abcdefghijklmnopqrstuvwxyz", "9": "0123456789"}
SHAPE_SHARE = 0.9


def _shape(value: str) -> str:
    return "".join(
        "A"
        if c.isascii() and c.isupper()
        else "a"
        if c.isascii() and c.islower()
        else "9"
        if c.isdigit() and c.isascii()
        else c
        for c in value
    )


def learn_key_shape(values: pd.Series) -> dict[str, Any] | None:
    """How the real text keys are written (``N12345``: a fixed N and five digits), and one
    position with a character no real key has there: every new key carries it, so none can
    be a real key, and no real key needs to be kept. None when the keys share no shape or
    leave no character free."""
    keys = [str(v) for v in values.dropna()]
    if not keys:
        return None
    shapes = pd.Series([_shape(k) for k in keys]).value_counts()
    shape = str(shapes.index[0])
    if shapes.iloc[0] < SHAPE_SHARE * len(keys) or not any(c in _CLASSES for c in shape):
        return None
    shaped = [k for k in keys if _shape(k) == shape]
    template = []
    for position, kind in enumerate(shape):
        seen = {k[position] for k in shaped}
        template.append(next(iter(seen)) if kind not in _CLASSES or len(seen) == 1 else kind)
    variable = [i for i, kind in enumerate(template) if kind in _CLASSES]
    for position in variable:  # the first position (from the left) with a free character
        used = {k[position] for k in keys if len(k) > position}
        free = [c for c in _CLASSES[template[position]] if c not in used]
        if free and len(variable) > 1:
            return {"template": template, "marker": position, "char": free[0]}
    return None


def shaped_keys(shape: dict[str, Any], n: int, offset: int) -> list[str] | None:
    """Keys offset..offset+n-1 written in ``shape`` (the marker character fixed, the other
    variable positions counting in their alphabets), or None when they do not fit."""
    template, marker = list(shape["template"]), shape["marker"]
    counting = [i for i, kind in enumerate(template) if kind in _CLASSES and i != marker]
    capacity = 1
    for i in counting:
        capacity *= len(_CLASSES[template[i]])
    if offset + n > capacity:
        return None
    keys = []
    for number in range(offset, offset + n):
        chars = list(template)
        chars[marker] = shape["char"]
        for i in reversed(counting):
            alphabet = _CLASSES[template[i]]
            number, digit = divmod(number, len(alphabet))
            chars[i] = alphabet[digit]
        keys.append("".join(chars))
    return keys


def new_key_values(
    frame: pd.DataFrame,
    column: str,
    table: str,
    like: str,
    offset: int = 0,
    shape: dict[str, Any] | None = None,
) -> pd.Series:
    """Values offset+1..offset+n (integer keys), or text keys in the real keys' ``shape``
    (never a real key), else ``<prefix><n>`` strings, in the real column's dtype (64-bit
    where an offset takes them past its range)."""
    n = len(frame)
    if shape is not None and not like.lower().startswith(("int", "uint", "float")):
        shaped = shaped_keys(shape, n, offset)
        if shaped is not None:
            return pd.Series(shaped, index=frame.index, dtype=object)
    numbers = np.arange(offset + 1, offset + n + 1, dtype=np.int64)
    if like.lower().startswith(("int", "uint")):
        dtype = pd.api.types.pandas_dtype(like)
        if n and numbers[-1] > np.iinfo(getattr(dtype, "numpy_dtype", dtype)).max:
            like = "Int64" if like[0] in "IU" else "int64"
        return pd.Series(numbers, index=frame.index, dtype=like)
    if like.lower().startswith("float"):
        return pd.Series(numbers.astype(float), index=frame.index, dtype=like)
    prefix = re.sub(r"\W", "", table)[:3].lower() or "k"
    return pd.Series([f"{prefix}{i}" for i in numbers], index=frame.index, dtype=object)


def copy_key(
    child: pd.DataFrame,
    fk: ForeignKey,
    parent: pd.DataFrame,
    rows: np.ndarray,
) -> None:
    """Set ``child``'s foreign-key columns to the key of ``parent`` row positions ``rows``.

    A position of -1 leaves the key missing.
    """
    missing = rows < 0
    for column, parent_column in zip(fk.columns, fk.parent_columns, strict=True):
        values = parent[parent_column].to_numpy(dtype=object)[np.where(missing, 0, rows)]
        series = pd.Series(values, index=child.index, dtype=object)
        series[missing] = None
        child[column] = _as_dtype(series, parent[parent_column].dtype)


def _as_dtype(series: pd.Series, dtype: Any) -> pd.Series:
    try:
        if pd.api.types.is_integer_dtype(dtype):
            return series.astype("Int64") if series.isna().any() else series.astype(dtype)
        return series.astype(dtype)
    except (TypeError, ValueError):
        return series


def slots_from_counts(capacities: np.ndarray, n_rows: int, rng: np.random.Generator) -> np.ndarray:
    """Parent positions for ``n_rows`` children, each parent about its capacity times.

    The children-per-parent distribution of a second parent follows its count model; when
    capacities and rows disagree, the rest is drawn in proportion to the capacities.
    """
    n_parents = len(capacities)
    if n_parents == 0:
        return np.full(n_rows, -1, dtype=np.int64)
    capacities = np.clip(np.nan_to_num(capacities.astype(float)), 0, None).round().astype(int)
    slots = np.repeat(np.arange(n_parents), capacities)
    rng.shuffle(slots)
    if len(slots) >= n_rows:
        return slots[:n_rows]
    weights = capacities + 0.5
    extra = rng.choice(n_parents, n_rows - len(slots), p=weights / weights.sum())
    chosen = np.concatenate([slots, extra])
    rng.shuffle(chosen)
    return chosen


def matched_slots(
    child: pd.DataFrame,
    parent: pd.DataFrame,
    capacities: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Parent positions for each child row, among parents with the same values in the
    matched columns (the nearest value for one numeric column), by capacity."""
    parent_keys = key_index(parent, parent.columns)
    codes, uniques = parent_keys.factorize()
    child_codes = np.asarray(uniques.get_indexer(key_index(child, child.columns)))
    if len(child.columns) == 1 and pd.api.types.is_numeric_dtype(parent.iloc[:, 0]):
        values = pd.to_numeric(pd.Series(uniques.get_level_values(0)), errors="coerce")
        wanted = pd.to_numeric(child.iloc[:, 0], errors="coerce").to_numpy(dtype=float)
        known = ~np.isnan(values.to_numpy(dtype=float))
        missing = (child_codes < 0) & ~np.isnan(wanted)
        if missing.any() and known.any():
            candidates = np.flatnonzero(known)
            sorted_at = candidates[np.argsort(values.to_numpy(dtype=float)[candidates])]
            ordered = values.to_numpy(dtype=float)[sorted_at]
            spot = np.clip(np.searchsorted(ordered, wanted[missing]), 1, len(ordered) - 1)
            spot = spot if len(ordered) > 1 else np.zeros_like(spot)
            left = ordered[np.maximum(spot - 1, 0)]
            closer_left = np.abs(wanted[missing] - left) <= np.abs(ordered[spot] - wanted[missing])
            child_codes[missing] = sorted_at[np.where(closer_left, np.maximum(spot - 1, 0), spot)]
    result = slots_from_counts(capacities, len(child), rng)  # unmatched rows keep these
    groups = pd.Series(np.arange(len(codes))).groupby(codes).indices
    for code, members in pd.Series(np.arange(len(child))).groupby(child_codes).indices.items():
        if code < 0 or code not in groups:
            continue
        parents = groups[code]
        result[members] = parents[slots_from_counts(capacities[parents], len(members), rng)]
    return result


def self_reference_order(
    n_rows: int, null_share: float, cyclic: bool, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A row order and, per position, the position it references (-1: none).

    With missing references in the real data (a hierarchy: employee → manager), the rows
    without a reference come first and every other row references an earlier one, so the
    result is a forest without cycles and rows can be inserted in order. Without missing
    references (``cyclic``), any row may be referenced.
    """
    order = rng.permutation(n_rows)
    if n_rows == 0:
        return order, np.zeros(0, dtype=np.int64)
    if cyclic:
        return order, rng.integers(0, n_rows, n_rows)
    roots = min(n_rows, max(1, round(null_share * n_rows)))
    refs = np.full(n_rows, -1, dtype=np.int64)
    for position in range(roots, n_rows):
        refs[position] = rng.integers(0, position)
    return order, refs


@dataclass
class IntegrityReport:
    """Checks of every key: primary keys unique, foreign keys pointing at existing rows."""

    foreign_keys: dict[str, float] = field(default_factory=dict)  # share valid
    primary_keys: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether integrity is 100%."""
        return not self.problems

    @property
    def share(self) -> float:
        """Smallest share of valid references over all foreign keys (1.0 = 100%)."""
        return min(self.foreign_keys.values(), default=1.0)


def check_integrity(schema: Schema, tables: dict[str, pd.DataFrame]) -> IntegrityReport:
    """Check every primary and foreign key of ``tables``."""
    report = IntegrityReport()
    for name, table in schema.tables.items():
        frame = tables[name]
        if table.primary_key:
            keys = frame[table.primary_key]
            unique = not keys.isna().any().any() and not keys.duplicated().any()
            report.primary_keys[name] = unique
            if not unique:
                report.problems.append(f"{name}: primary key {table.primary_key} not unique")
        for fk in table.foreign_keys:
            values = frame[list(fk.columns)]
            present = ~values.isna().any(axis=1).to_numpy()
            found = key_index(values, fk.columns).isin(
                key_index(tables[fk.parent], fk.parent_columns)
            )
            valid = found | ~present
            share = float(valid.mean()) if len(valid) else 1.0
            report.foreign_keys[fk.name] = share
            if share < 1.0:
                report.problems.append(
                    f"{fk.name}: {int((~valid).sum())} of {len(valid)} rows point to no row"
                )
    return report


def require_integrity(schema: Schema, tables: dict[str, pd.DataFrame]) -> IntegrityReport:
    """:func:`check_integrity`, raising when anything is off (nothing is written then)."""
    report = check_integrity(schema, tables)
    if not report.ok:
        raise DataError(
            "referential integrity check failed, nothing was written: "
            + "; ".join(report.problems[:5])
        )
    return report
