"""How a child table sees its parents: context columns, lookup references as text, and
the slots a parent's rows fill."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthloom.relational.keys import (
    matched_slots,
    slots_from_counts,
)
from synthloom.relational.schema import (
    ForeignKey,
    Schema,
    TableSchema,
    is_lookup_reference,
    parent_positions,
)

# Columns a child table's training rows get from the keys: its parent's child count,
# its place among siblings, their number, and the prefix of parent context columns.
COUNT = "__n_children"
SIBLING_INDEX = "__sibling_index"
SIBLINGS = "__siblings"
PARENT = "__parent__"


# A parent column with more distinct texts than this is not used as context.
MAX_CONTEXT_LEVELS = 100


def parent_context(parent: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per parent row with its context columns (``__parent__`` names); as many
    rows as the parent even when no column is chosen."""
    context = pd.DataFrame({PARENT + c: parent[c].to_numpy() for c in columns})
    context.index = pd.RangeIndex(len(parent))
    return context


def lookup_columns(schema: Schema, table: TableSchema) -> list[str]:
    """The child's columns that reference an original (lookup) table."""
    return [
        c for fk in table.foreign_keys if is_lookup_reference(schema.tables, fk) for c in fk.columns
    ]


def lookups_as_text(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Lookup references as text, so every engine learns them as categories (a number
    drawn between two keys would point to no row)."""
    for column in columns:
        values = frame[column]
        frame[column] = values.astype(object).where(values.isna(), values.astype(str))
    return frame


def lookup_values(series: pd.Series, dtype: str | None) -> pd.Series:
    """Generated lookup references (text) back as the key's numbers when it has them."""
    if dtype is None or not any(t in dtype.lower() for t in ("int", "float")):
        return series
    numbers = pd.to_numeric(series, errors="coerce")
    return numbers.astype("Int64") if "int" in dtype.lower() else numbers


def reference_slots(
    frame: pd.DataFrame,
    fk: ForeignKey,
    schema: Schema,
    parent: pd.DataFrame,
    capacities: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Parent rows for a second parent, matching the parts of its key the child learned."""
    parts = set(schema.tables[fk.parent].learned_keys)
    pairs = [(c, p) for c, p in zip(fk.columns, fk.parent_columns, strict=True) if p in parts]
    if not pairs or len(parent) == 0:
        return slots_from_counts(capacities, len(frame), rng)
    return matched_slots(
        frame[[c for c, _ in pairs]], parent[[p for _, p in pairs]], capacities, rng
    )


def sibling_index(positions: np.ndarray) -> np.ndarray:
    series = pd.Series(positions)
    return series.groupby(series).cumcount().to_numpy()


def with_context(
    training: pd.DataFrame,
    child: pd.DataFrame,
    parent: pd.DataFrame,
    fk: ForeignKey,
    context: list[str],
) -> pd.DataFrame:
    """The child's columns plus its parent's context columns and its place among siblings."""
    positions = parent_positions(parent, fk, child)
    linked = positions >= 0  # all are, but for rows _drop_orphans already counted
    training = training[linked].reset_index(drop=True)
    positions = positions[linked]
    columns = {PARENT + c: parent[c].to_numpy()[positions] for c in context}
    extra = pd.DataFrame(columns, index=training.index)
    extra[SIBLING_INDEX] = sibling_index(positions)
    extra[SIBLINGS] = np.bincount(positions, minlength=len(parent))[positions]
    return pd.concat([extra, training], axis=1)


def context_candidates(frame: pd.DataFrame, table: TableSchema) -> list[str]:
    return [c for c in table.data_columns if usable_context(frame[c])]


def usable_context(series: pd.Series) -> bool:
    if series.isna().all():
        return False
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return True
    return series.nunique() <= MAX_CONTEXT_LEVELS


def like(series: pd.Series, dtype: str | None) -> pd.Series:
    if dtype is None:
        return series
    try:
        return series.astype(dtype)
    except (TypeError, ValueError):
        return series
