"""Conversion: a column's values as the one pandas dtype of its kind."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from synthloom.errors import DataError
from synthloom.io.schema import (
    ColumnInfo,
    TableFormat,
)
from synthloom.io.tables.formats import _DTYPES, _KIND_WORDS, _check_frame_names
from synthloom.io.tables.inference import _is_int_value, _is_missing, _is_number


def conform_frame(df: pd.DataFrame, table_format: TableFormat) -> pd.DataFrame:
    """``df``'s columns of ``table_format``, in its order, converted to each kind's dtype.

    Raises:
        DataError: A column is missing or holds a value its kind cannot take.
    """
    _check_frame_names(df)
    _check_has_columns(df, table_format)
    truths = table_format.extra.get("boolean_text", {})
    data = {
        info.name: _coerce_column(df[info.name], info, _truth(truths, info.name))
        for info in table_format.columns
    }
    return pd.DataFrame(data)


def _coerce_column(
    series: pd.Series, info: ColumnInfo, truth: tuple[str, str] | None = None
) -> pd.Series:
    dtype = series.dtype
    same_kind = {
        "integer": ptypes.is_integer_dtype(dtype),
        "float": ptypes.is_float_dtype(dtype),
        "boolean": ptypes.is_bool_dtype(dtype),
        "datetime": ptypes.is_datetime64_any_dtype(dtype),
        "string": ptypes.is_string_dtype(dtype) and not ptypes.is_object_dtype(dtype),
    }[info.kind]
    if not same_kind:
        return _to_series(series.tolist(), info, truth)
    series = series.reset_index(drop=True).rename(info.name)
    if info.kind == "datetime":
        return series
    try:
        return series.astype(_DTYPES[info.kind])
    except (TypeError, ValueError, OverflowError) as exc:
        raise _bad_value(info, exc) from None


def _to_series(
    values: Sequence[Any], info: ColumnInfo, truth: tuple[str, str] | None = None
) -> pd.Series:
    """Python values (``None``/NaN/NA missing) as a Series of ``info.kind``'s dtype."""
    if info.kind == "datetime":
        return _datetime_series(values, info)
    convert: Callable[[Any], Any] = {
        "integer": _as_int,
        "float": _as_float,
        "boolean": partial(_as_bool, truth=truth),
        "string": _as_text,
    }[info.kind]
    try:
        cells = [None if _is_missing(value) else convert(value) for value in values]
        array = pd.array(cells, dtype=_DTYPES[info.kind])
    except (TypeError, ValueError, OverflowError) as exc:
        raise _bad_value(info, exc) from None
    return pd.Series(array, name=info.name)


def _datetime_series(values: Sequence[Any], info: ColumnInfo) -> pd.Series:
    cells = [None if _is_missing(value) else value for value in values]
    texts = all(isinstance(cell, str) for cell in cells if cell is not None)
    fmt = info.datetime_format if texts else None
    try:
        parsed = pd.to_datetime(cells, format=fmt, errors="coerce" if texts else "raise")
    except (TypeError, ValueError, OverflowError) as exc:
        raise _bad_value(info, exc) from None
    return pd.Series(parsed, name=info.name)


def _bad_value(info: ColumnInfo, exc: Exception) -> DataError:
    return DataError(
        f"column '{info.name}' holds a value that is not {_KIND_WORDS[info.kind]} ({exc}); "
        "fix the value or describe the column as a string"
    )


def _as_int(value: Any) -> int:
    if isinstance(value, str) or _is_int_value(value) or isinstance(value, bool | np.bool_):
        return int(value)
    number = float(value)
    if not number.is_integer():
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)


def _as_float(value: Any) -> float:
    return float(value)


def _as_bool(value: Any, truth: tuple[str, str] | None = None) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if truth is not None and value in truth:
        return value == truth[0]
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    if _is_number(value) and value in (0, 1):
        return bool(value)
    raise ValueError(f"{value!r} is not true or false")


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return str(value)


def _truth(truths: dict[str, Sequence[str]], name: str) -> tuple[str, str] | None:
    pair = truths.get(name)
    return (pair[0], pair[1]) if pair else None


def typed_series(
    values: Sequence[Any], info: ColumnInfo, truth: tuple[str, str] | None = None
) -> pd.Series:
    """Python values (``None`` missing) as a Series of ``info.kind``'s dtype."""
    return _to_series(values, info, truth)


def _check_has_columns(df: pd.DataFrame, table_format: TableFormat) -> None:
    missing = [name for name in table_format.names if name not in df.columns]
    if missing:
        raise DataError(
            f"the table lacks column(s) {', '.join(repr(n) for n in missing)} of its table "
            "format; add them or pass a table format describing this table"
        )
