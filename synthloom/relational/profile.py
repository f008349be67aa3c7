"""A source's data quality, table by table, before anything is configured.

What a data team checks first: each column's kind and missing share, and the keys the
source declares: duplicate or missing primary keys, and foreign keys that match no parent
row (orphans) or are missing. Orphans are the rows a model cannot learn as children, so
the configurator shows them where the choice to leave them out or keep them is made.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from synthloom.relational.schema import key_index
from synthloom.relational.sources import SourceData


def profile_source(data: SourceData) -> dict[str, dict[str, Any]]:
    """Per table: rows, columns (kind, missing share, distinct values) and key problems."""
    return {name: _table(name, frame, data) for name, frame in data.frames.items()}


def _table(name: str, frame: pd.DataFrame, data: SourceData) -> dict[str, Any]:
    keys = data.keys.get(name, {})
    primary = [c for c in keys.get("primary_key") or [] if c in frame.columns]
    out: dict[str, Any] = {
        "rows": len(frame),
        "columns": [_column(frame[c]) | {"name": str(c)} for c in frame.columns],
        "primary_key": primary,
        "duplicate_keys": 0,
        "missing_keys": 0,
        "foreign_keys": [],
    }
    if primary:
        missing = frame[primary].isna().any(axis=1)
        out["missing_keys"] = int(missing.sum())
        out["duplicate_keys"] = int(frame[~missing].duplicated(subset=primary).sum())
    for fk in keys.get("foreign_keys") or []:
        out["foreign_keys"].append(_foreign_key(frame, fk, data))
    return out


def _column(series: pd.Series) -> dict[str, Any]:
    if pd.api.types.is_bool_dtype(series):
        kind = "boolean"
    elif pd.api.types.is_numeric_dtype(series):
        kind = "number"
    elif pd.api.types.is_datetime64_any_dtype(series):
        kind = "date/time"
    else:
        kind = "text"
    share = float(series.isna().mean()) if len(series) else 0.0
    return {"kind": kind, "missing_share": round(share, 4), "distinct": int(series.nunique())}


def _foreign_key(frame: pd.DataFrame, fk: Any, data: SourceData) -> dict[str, Any]:
    columns = list(fk.columns)
    parent = fk.references.table
    entry: dict[str, Any] = {"columns": columns, "parent": parent, "orphans": 0, "missing": 0}
    parent_frame = data.frames.get(parent)
    parent_columns = list(
        fk.references.columns or data.keys.get(parent, {}).get("primary_key") or []
    )
    if (
        parent_frame is None
        or not parent_columns
        or any(c not in frame.columns for c in columns)
        or any(c not in parent_frame.columns for c in parent_columns)
    ):
        entry["unchecked"] = "its parent table or key columns are not in the source"
        return entry
    missing = frame[columns].isna().any(axis=1).to_numpy()
    found = key_index(frame, columns).isin(key_index(parent_frame, parent_columns))
    entry["missing"] = int(missing.sum())
    entry["orphans"] = int((~found & ~missing).sum())
    return entry
