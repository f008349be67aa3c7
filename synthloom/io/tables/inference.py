"""Type inference: which of the five kinds a column of text or of values is."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from synthloom.io.schema import (
    ColumnInfo,
    FileFormat,
    TableFormat,
)
from synthloom.io.tables.formats import (
    _DATETIME_SAMPLE,
    _FLOAT_TEXT,
    _INT64_MAX,
    _INT64_MIN,
    _INT_TEXT,
    BOOLEAN_TEXTS,
    DATETIME_FORMATS,
    DATETIME_SHARE,
    MAX_INFERRED_DECIMALS,
    MAX_NUMBER_DIGITS,
    _check_frame_names,
)


def _infer_text_column(
    name: str, values: Sequence[str | None]
) -> tuple[ColumnInfo, tuple[str, str] | None]:
    """The kind of a column of CSV cells (``None`` = empty), and its boolean spelling."""
    counts = Counter(value for value in values if value is not None)
    distinct = list(counts)
    if not distinct:
        return ColumnInfo(name, "string"), None
    for truth in BOOLEAN_TEXTS:
        if set(distinct) <= set(truth):
            return ColumnInfo(name, "boolean"), truth
    if all(_is_int_text(value) for value in distinct):
        return ColumnInfo(name, "integer"), None
    if all(_is_float_text(value) for value in distinct):
        return ColumnInfo(name, "float", max(map(_text_decimals, distinct))), None
    fmt = _detect_datetime_format(counts)
    if fmt is not None:
        return ColumnInfo(name, "datetime", datetime_format=fmt), None
    return ColumnInfo(name, "string"), None


def _is_int_text(text: str) -> bool:
    return bool(_INT_TEXT.fullmatch(text)) and len(text.lstrip("-")) <= MAX_NUMBER_DIGITS


def _is_float_text(text: str) -> bool:
    if not _FLOAT_TEXT.fullmatch(text):
        return False
    if text.lstrip("-").isdigit():  # a whole number among floats: not a long ID
        return len(text.lstrip("-")) <= MAX_NUMBER_DIGITS
    return math.isfinite(float(text))


def _text_decimals(text: str) -> int:
    exponent = Decimal(text).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _detect_datetime_format(counts: Counter[str]) -> str | None:
    """The format with which the most values (≥ ``DATETIME_SHARE``) parse and print back."""
    sample = list(counts)[:_DATETIME_SAMPLE]
    total = sum(counts.values())
    best, best_share = None, 0.0
    for fmt in DATETIME_FORMATS:
        if not _mostly_parses(sample, fmt):
            continue
        share = sum(n for value, n in counts.items() if _parses(value, fmt)) / total
        if share >= DATETIME_SHARE and share > best_share:
            best, best_share = fmt, share
    return best


def _mostly_parses(sample: list[str], fmt: str) -> bool:
    allowed = int(len(sample) * (1 - DATETIME_SHARE))
    failures = 0
    for value in sample:
        if not _parses(value, fmt):
            failures += 1
            if failures > allowed:
                return False
    return True


def _parses(text: str, fmt: str) -> bool:
    try:
        return datetime.strptime(text, fmt).strftime(fmt) == text
    except ValueError:
        return False


def _infer_values(name: str, values: Sequence[Any], detect_dates: bool) -> ColumnInfo:
    """The kind shared by Python values (JSON values, an object column's items)."""
    present = [value for value in values if not _is_missing(value)]
    if not present:
        return ColumnInfo(name, "string")
    if all(isinstance(value, bool | np.bool_) for value in present):
        return ColumnInfo(name, "boolean")
    if all(_is_int_value(value) for value in present):
        if all(_INT64_MIN <= int(value) <= _INT64_MAX for value in present):
            return ColumnInfo(name, "integer")
        return ColumnInfo(name, "string")
    if all(_is_number(value) for value in present) and not any(
        _is_int_value(value) and abs(int(value)) >= 10**MAX_NUMBER_DIGITS for value in present
    ):
        return ColumnInfo(name, "float", max(map(_value_decimals, present)))
    if all(isinstance(value, datetime | date | np.datetime64) for value in present):
        return ColumnInfo(name, "datetime")
    if detect_dates and all(isinstance(value, str) for value in present):
        fmt = _detect_datetime_format(Counter(present))
        if fmt is not None:
            return ColumnInfo(name, "datetime", datetime_format=fmt)
    return ColumnInfo(name, "string")


def _describe_series(name: str, series: pd.Series) -> ColumnInfo:
    dtype = series.dtype
    if ptypes.is_bool_dtype(dtype):
        return ColumnInfo(name, "boolean")
    if ptypes.is_integer_dtype(dtype):
        return ColumnInfo(name, "integer")
    if ptypes.is_float_dtype(dtype):
        present = [float(v) for v in pd.unique(series.dropna()) if not _is_missing(v)]
        return ColumnInfo(name, "float", max(map(_value_decimals, present), default=0))
    if ptypes.is_datetime64_any_dtype(dtype):
        return ColumnInfo(name, "datetime")
    if isinstance(dtype, pd.CategoricalDtype) or ptypes.is_object_dtype(dtype):
        return _infer_values(name, series.tolist(), detect_dates=False)
    return ColumnInfo(name, "string")


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, np.datetime64):
        return bool(np.isnat(value))
    if isinstance(value, Decimal):
        return value.is_nan()
    return False


def _is_int_value(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_number(value: Any) -> bool:
    numeric = isinstance(value, int | float | Decimal | np.integer | np.floating)
    return numeric and not isinstance(value, bool | np.bool_)


def _value_decimals(value: Any) -> int:
    """Digits after the point: as written for a JSON number, as needed for a float."""
    if isinstance(value, Decimal):
        return _text_decimals(str(value)) if value.is_finite() else 0
    if _is_int_value(value) or not math.isfinite(value):
        return 0
    return min(_text_decimals(repr(float(value))), MAX_INFERRED_DECIMALS)


def text_fits_kind(text: str, kind: str, detail: Any = None) -> bool:
    """Whether one cell of text reads as ``kind`` the way type inference reads it
    (``detail``: the boolean spelling or the date format)."""
    if kind == "boolean":
        return text in detail
    if kind == "integer":
        return _is_int_text(text)
    if kind == "float":
        return _is_float_text(text)
    if kind == "datetime":
        return _parses(text, detail)
    return True


def describe_frame(df: pd.DataFrame, file_format: FileFormat = "dataframe") -> TableFormat:
    """The column kinds of a DataFrame, from its dtypes.

    Typed columns keep their kind; ``object`` columns get the kind all their values share
    (``bool``, ``int``, numbers, dates), else ``string``. Float columns get the digits after
    the point their values need, at most ``MAX_INFERRED_DECIMALS``.
    """
    _check_frame_names(df)
    columns = tuple(_describe_series(name, df[name]) for name in df.columns)
    return TableFormat(file_format, columns)
