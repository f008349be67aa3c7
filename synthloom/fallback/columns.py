"""Column types of the statistical model and the conversion between table and model values.

Every training column gets a :class:`ColumnSpec` that records how it went in (its pandas
dtype, decimal precision, date format, ...) so that generated columns come back the same way.

Model values are what the marginals see:

* ``numeric`` columns (ints, floats) become ``float64`` arrays with ``NaN`` for missing values;
* ``datetime`` columns (datetime dtype, or strings that all parse with one date format) become
  ``float64`` counts of their time resolution (e.g. days) since the epoch, ``NaN`` for missing;
* ``categorical`` columns (strings, booleans, pandas categories, anything else) become ``object``
  arrays of plain Python values with ``None`` for missing values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthloom.io.tables import DATETIME_FORMATS

NUMERIC = "numeric"
CATEGORICAL = "categorical"
DATETIME = "datetime"

_MAX_DECIMALS = 10
# Time steps tried as the resolution of a datetime column, coarsest first, in nanoseconds.
_STEPS_NS = (86_400_000_000_000, 3_600_000_000_000, 60_000_000_000, 1_000_000_000, 1_000_000, 1_000)
_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


@dataclass
class ColumnSpec:
    """How one training column is represented, and how to give it back.

    Attributes:
        name: Column name (as a string).
        dtype: ``str`` of the training pandas dtype, restored on output.
        kind: ``"numeric"``, ``"categorical"`` or ``"datetime"``.
        integer: Numeric column whose values are all whole numbers (output is rounded).
        decimals: Decimal places that every training value fits (output is rounded to it);
            ``None`` when no such precision up to 10 places was found.
        date_format: ``strftime`` format of a string column that held dates, else ``None``.
        date_unit: numpy unit (``"s"``, ``"ms"``, ``"us"``, ``"ns"``) of the datetime values.
        date_step: Resolution of a datetime column in ``date_unit`` (e.g. one day).
        tz: Time zone name of a tz-aware datetime column.
        categories: The categories of a pandas ``category`` column.
    """

    name: str
    dtype: str
    kind: str
    integer: bool = False
    decimals: int | None = None
    date_format: str | None = None
    date_unit: str | None = None
    date_step: int = 1
    tz: str | None = None
    categories: list[Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ColumnSpec:
        """Rebuild a spec from :meth:`to_json` output."""
        return cls(**data)


def plain_value(value: Any) -> Any:
    """Return ``value`` as a JSON-friendly Python scalar (``None`` for missing values)."""
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


def infer_spec(name: str, series: pd.Series) -> ColumnSpec:
    """Decide how ``series`` is modelled and remember how to restore it."""
    dtype = series.dtype
    spec = ColumnSpec(name=name, dtype=str(dtype), kind=CATEGORICAL)
    if isinstance(dtype, pd.CategoricalDtype):
        spec.categories = [plain_value(v) for v in dtype.categories]
        return spec
    if pd.api.types.is_bool_dtype(dtype):
        return spec
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _datetime_spec(spec, series)
    if pd.api.types.is_numeric_dtype(dtype):
        return _numeric_spec(spec, series)
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        date_format = _detect_date_format(series)
        if date_format is not None:
            spec.date_format = date_format
            parsed = pd.to_datetime(series, format=date_format)
            return _datetime_spec(spec, parsed)
    return spec


def _numeric_spec(spec: ColumnSpec, series: pd.Series) -> ColumnSpec:
    spec.kind = NUMERIC
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    values = values[np.isfinite(values)]
    if pd.api.types.is_integer_dtype(series.dtype):
        spec.integer, spec.decimals = True, 0
        return spec
    spec.decimals = _decimals(values)
    spec.integer = spec.decimals == 0
    return spec


def _decimals(values: np.ndarray) -> int | None:
    """Smallest number of decimal places that represents every value, if any up to 10."""
    if values.size == 0:
        return None
    sample = np.unique(values)[:100_000]
    scale = np.maximum(np.abs(sample), 1.0)
    for places in range(_MAX_DECIMALS + 1):
        if np.all(np.abs(np.round(sample, places) - sample) <= 1e-9 * scale):
            return places
    return None


def _detect_date_format(series: pd.Series) -> str | None:
    """The first known format that parses every non-missing value and prints it back unchanged."""
    values = series.dropna()
    if values.empty or not all(isinstance(v, str) for v in values.iloc[:1000]):
        return None
    probe = pd.Series(values.unique()[:200])
    for date_format in DATETIME_FORMATS:
        if _round_trips(probe, date_format) and _round_trips(values, date_format):
            return date_format
    return None


def _round_trips(values: pd.Series, date_format: str) -> bool:
    try:
        parsed = pd.to_datetime(values, format=date_format)
    except (ValueError, TypeError, OverflowError):
        return False
    return bool((parsed.dt.strftime(date_format) == values.astype(str)).all())


def _datetime_spec(spec: ColumnSpec, series: pd.Series) -> ColumnSpec:
    spec.kind = DATETIME
    tz = getattr(series.dt, "tz", None)
    spec.tz = None if tz is None else str(tz)
    raw = _naive_datetimes(series)
    unit, _ = np.datetime_data(raw.dtype)
    spec.date_unit = unit
    ticks = raw[~np.isnat(raw)].view(np.int64)
    spec.date_step = 1
    for step_ns in _STEPS_NS:
        step = step_ns // _NS_PER_UNIT.get(unit, 1)
        if step >= 1 and (ticks.size == 0 or np.all(ticks % step == 0)):
            spec.date_step = int(step)
            break
    spec.integer, spec.decimals = True, 0
    return spec


def _naive_datetimes(series: pd.Series) -> np.ndarray:
    """Datetime values as a naive (UTC for tz-aware columns) numpy ``datetime64`` array."""
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series.to_numpy()


def numeric_model_values(spec: ColumnSpec, series: pd.Series) -> np.ndarray:
    """Convert a numeric or datetime column to ``float64`` model values (``NaN`` = missing).

    Raises:
        ValueError: a value cannot be read as the column's type (e.g. text in a numeric column).
    """
    if spec.kind == DATETIME:
        return _datetime_model_values(spec, series)
    try:
        numbers = pd.to_numeric(series, errors="raise")
    except (ValueError, TypeError) as exc:
        raise ValueError(f"column {spec.name!r} holds a value that is not a number") from exc
    return np.asarray(numbers.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def category_codes(series: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Factorize a categorical column: codes (``-1`` = missing) and plain-Python uniques."""
    codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
    return codes.astype(np.int64), [plain_value(v) for v in uniques]


def _datetime_model_values(spec: ColumnSpec, series: pd.Series) -> np.ndarray:
    try:
        if spec.date_format is not None:
            series = pd.to_datetime(series, format=spec.date_format)
        elif not pd.api.types.is_datetime64_any_dtype(series.dtype):
            series = pd.to_datetime(series)
            if spec.tz is not None and series.dt.tz is None:
                series = series.dt.tz_localize(spec.tz)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"column {spec.name!r} holds a value that is not a date") from exc
    raw = _naive_datetimes(pd.Series(series)).astype(f"datetime64[{spec.date_unit}]")
    out = raw.view(np.int64).astype(np.float64) / spec.date_step
    out[np.isnat(raw)] = np.nan
    return out


def from_model_values(spec: ColumnSpec, values: np.ndarray) -> pd.Series:
    """Convert model values back to a column with the training dtype and format."""
    if spec.kind == NUMERIC:
        numbers = np.asarray(values, dtype=np.float64)
        if spec.decimals is not None:
            numbers = np.round(numbers, spec.decimals)
        return _cast(pd.Series(numbers, name=spec.name), spec)
    if spec.kind == DATETIME:
        return _datetime_from_model(spec, np.asarray(values, dtype=np.float64))
    series = pd.Series(np.asarray(values, dtype=object), name=spec.name)
    return _cast(series, spec)


def _datetime_from_model(spec: ColumnSpec, values: np.ndarray) -> pd.Series:
    missing = ~np.isfinite(values)
    ticks = np.round(np.where(missing, 0.0, values)).astype(np.int64) * spec.date_step
    raw = ticks.view(f"datetime64[{spec.date_unit}]").copy()
    raw[missing] = np.datetime64("NaT")
    series = pd.Series(raw, name=spec.name)
    if spec.tz is not None:
        series = series.dt.tz_localize("UTC").dt.tz_convert(spec.tz)
    if spec.date_format is not None:
        text = series.dt.strftime(spec.date_format).astype(object)
        text[series.isna().to_numpy()] = None
        return _cast(pd.Series(text, name=spec.name), spec)
    return _cast(series, spec)


def _cast(series: pd.Series, spec: ColumnSpec) -> pd.Series:
    if spec.categories is not None:
        extra = [v for v in pd.unique(series.dropna()) if v not in set(spec.categories)]
        dtype = pd.CategoricalDtype(list(spec.categories) + extra)
        return series.astype(dtype)
    return series.astype(pd.api.types.pandas_dtype(spec.dtype))


def restore_given(spec: ColumnSpec, given: pd.Series) -> pd.Series:
    """Cast conditioning values to the training dtype, refusing casts that change a value.

    Raises:
        ValueError: the values do not fit the column's training dtype.
    """
    given = given.reset_index(drop=True).rename(spec.name)
    try:
        out = _cast(given, spec)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"condition values for column {spec.name!r} do not fit its dtype {spec.dtype}"
        ) from exc
    if spec.kind == NUMERIC:
        before = pd.to_numeric(given, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        after = pd.to_numeric(out, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if not np.array_equal(before, after, equal_nan=True):
            raise ValueError(
                f"condition values for column {spec.name!r} change when cast to {spec.dtype}"
            )
    return out
