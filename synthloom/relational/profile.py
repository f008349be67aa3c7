"""A source's data quality, table by table, before anything is configured.

What a data team checks first: each column's kind and missing share, and the keys the
source declares: duplicate or missing primary keys, and foreign keys that match no parent
row (orphans) or are missing. Orphans are the rows a model cannot learn as children, so
the configurator shows them where the choice to leave them out or keep them is made.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthloom.relational.schema import key_index
from synthloom.relational.sources import SourceData

HOLDS_SHARE = 0.999  # a rule the data keeps this often is suggested
MAX_RULE_COLUMNS = 30  # numeric columns searched for rules (pairs and triples grow fast)
SAMPLE_ROWS = 2_000


def profile_source(data: SourceData) -> dict[str, dict[str, Any]]:
    """Per table: rows, columns (kind, missing share, distinct values), key problems and
    the rules inside a row the data keeps (as ``constraints`` to declare)."""
    profiles = {}
    for name, frame in data.frames.items():
        profiles[name] = _table(name, frame, data)
        profiles[name]["suggested_constraints"] = suggest_constraints(frame)
    return profiles


def suggest_constraints(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Clock times (HHMM), inequalities and sums or differences of two columns that hold
    on at least 99.9% of the rows where the columns have values."""
    numbers = {
        str(c): pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    }
    names = [n for n in numbers if np.isfinite(numbers[n]).mean() > 0.5][:MAX_RULE_COLUMNS]
    found: list[dict[str, Any]] = []
    for name in names:
        if _is_clock(numbers[name]):
            found.append({"type": "clock_time", "column": name})
    for i, low in enumerate(names):
        for high in names[i + 1 :]:
            a, b = numbers[low], numbers[high]
            if not _overlap(a, b):
                continue  # months below distances: true, but no rule anyone means
            if _share(a <= b, a, b) >= HOLDS_SHARE and _share(a < b, a, b) > 0.5:
                found.append({"type": "inequality", "low": low, "high": high})
            elif _share(b <= a, a, b) >= HOLDS_SHARE and _share(b < a, a, b) > 0.5:
                found.append({"type": "inequality", "low": high, "high": low})
    found += _formulas(numbers, names)
    return found


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two columns' values share most of a range (each one's middle 80%)."""
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if not len(a) or not len(b):
        return False
    (a10, a90), (b10, b90) = np.quantile(a, [0.1, 0.9]), np.quantile(b, [0.1, 0.9])
    return bool(a90 > b10 and b90 > a10)


def _share(ok: np.ndarray, *columns: np.ndarray) -> float:
    present = np.logical_and.reduce([np.isfinite(c) for c in columns])
    return float(ok[present].mean()) if present.any() else 0.0


def _is_clock(values: np.ndarray) -> bool:
    present = values[np.isfinite(values)]
    if len(present) == 0 or present.max() < 100 or present.min() < 0 or present.max() > 2400:
        return False
    whole = present == np.round(present)
    return (
        bool((whole & (present % 100 < 60)).mean() >= HOLDS_SHARE) and len(np.unique(present)) > 60
    )


def _formulas(numbers: dict[str, np.ndarray], names: list[str]) -> list[dict[str, Any]]:
    """``c = a - b`` or ``c = a + b``: each expression compared with every column at once
    on a sample of rows, a match confirmed on every row."""
    if len(names) < 3:
        return []
    rows = len(numbers[names[0]])
    sample = np.random.default_rng(0).choice(rows, min(rows, SAMPLE_ROWS), replace=False)
    targets = [n for n in names if len(np.unique(numbers[n][np.isfinite(numbers[n])])) >= 3]
    matrix = np.column_stack([numbers[n][sample] for n in targets]) if targets else None
    found: list[dict[str, Any]] = []
    seen: list[set[str]] = []
    for i, a_name in enumerate(names):
        for b_name in names[i + 1 :]:
            a, b = numbers[a_name], numbers[b_name]
            for expression, values in (
                (f"{a_name} - {b_name}", a - b),
                (f"{b_name} - {a_name}", b - a),
                (f"{a_name} + {b_name}", a + b),
            ):
                if matrix is None:
                    continue
                part = values[sample][:, None]
                present = np.isfinite(part) & np.isfinite(matrix)
                close = np.isclose(part, matrix) & present
                shares = close.sum(axis=0) / np.maximum(present.sum(axis=0), 1)
                for column in np.flatnonzero(shares >= HOLDS_SHARE):
                    target = targets[column]
                    if target in (a_name, b_name) or {target, a_name, b_name} in seen:
                        continue  # one formula per three columns (c = a - b is a = b + c)
                    c = numbers[target]
                    if _share(np.isclose(values, c), c, values) >= HOLDS_SHARE:
                        seen.append({target, a_name, b_name})
                        found.append(
                            {"type": "formula", "column": target, "expression": expression}
                        )
    return found


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
