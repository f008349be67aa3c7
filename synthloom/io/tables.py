"""Tables: read and write CSV, JSON, JSON Lines and Parquet, keeping each column's type.

Every column is read as one of five kinds (see :class:`~synthloom.io.schema.ColumnInfo`) with
one pandas dtype per kind: ``Int64``, ``Float64``, ``boolean``, ``datetime64`` and ``string``.
What is needed to write the table back the way it was read (delimiter, digits after the point,
date format, spelling of booleans, line ends) is kept in the returned
:class:`~synthloom.io.schema.TableFormat`.

Text cells are kept exactly: no whitespace is stripped and only an empty cell is missing, so
``NA`` or ``?`` stay values. Typed formats (Parquet, a DataFrame) keep their dtypes; types are
inferred from text only for CSV cells and JSON strings (dates).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from synthloom.config import DELIMITER_CANDIDATES
from synthloom.errors import DataError
from synthloom.io.schema import (
    UNSUPPORTED_SUFFIXES,
    ColumnInfo,
    ColumnKind,
    FileFormat,
    TableFormat,
)
from synthloom.io.text import decode_utf8

EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
# Tried before auto-detection (and used when detection finds nothing) for these extensions.
_PREFERRED_DELIMITER = {".csv": ",", ".tsv": "\t"}

# Date/time formats tried, in order, on string columns of CSV and JSON files.
DATETIME_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%SZ",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%Y/%m/%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d-%b-%Y",
    "%d %b %Y",
    "%b %d, %Y",
)
DATETIME_SHARE = 0.95  # share of a column's values that must parse with one format
MAX_INFERRED_DECIMALS = 10  # cap on digits after the point inferred from float values
MAX_NUMBER_DIGITS = 15  # longer digit strings (IDs) stay strings: float64 is exact to 15
BOOLEAN_TEXTS = (("true", "false"), ("True", "False"), ("TRUE", "FALSE"))
DEFAULT_BOOLEAN_TEXT = ("True", "False")

_SAMPLE_LINES = 200  # lines sampled to detect the delimiter
_DATETIME_SAMPLE = 200  # distinct values tried with every format before checking all
_INT_TEXT = re.compile(r"0|-?[1-9][0-9]*")
_FLOAT_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_DTYPES: dict[ColumnKind, str] = {
    "integer": "Int64",
    "float": "Float64",
    "boolean": "boolean",
    "string": "string",
}
_KIND_WORDS: dict[ColumnKind, str] = {
    "integer": "a whole number",
    "float": "a number",
    "boolean": "true/false",
    "datetime": "a date/time",
    "string": "text",
}
# Longest CSV field read (the csv module's default, 131,072, is below some real values).
MAX_FIELD_CHARS = 1 << 24
_FORMATS_HINT = ".csv, .tsv, .txt (delimited), .json, .jsonl or .parquet"


# ----------------------------------------------------------------------------- reading


def read_table(
    path: str | Path, field_delimiter: str | None = None
) -> tuple[pd.DataFrame, TableFormat]:
    """Read a table file; its format comes from the extension.

    Args:
        path: A ``.csv``/``.tsv``/``.txt`` delimited file, a ``.json`` array of objects, a
            ``.jsonl`` file with one object per line, or a ``.parquet``/``.pq`` file.
        field_delimiter: The delimiter of a delimited text file; detected when not given.

    Returns:
        The table, one dtype per column kind, and how to write it back (:func:`write_table`).

    Raises:
        DataError: The file is missing, unreadable, or not a usable table.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file {path} does not exist; check the path of the training data")
    if path.is_dir():
        raise DataError(f"data path {path} is a folder; give a table file ({_FORMATS_HINT})")
    file_format = _format_from_extension(path)
    if file_format is None:
        raise DataError(
            f"data file {path} has an unknown extension '{path.suffix}'; "
            f"rename it to the extension of its format: {_FORMATS_HINT}"
        )
    if file_format == "parquet":
        return _read_parquet(path)
    text = _read_utf8(path)
    if file_format == "csv":
        return _read_delimited(text, path, field_delimiter)
    records = _parse_json(text, path) if file_format == "json" else _parse_jsonl(text, path)
    return _frame_from_records(records, file_format, path)


def describe_frame(df: pd.DataFrame, file_format: FileFormat = "dataframe") -> TableFormat:
    """The column kinds of a DataFrame, from its dtypes.

    Typed columns keep their kind; ``object`` columns get the kind all their values share
    (``bool``, ``int``, numbers, dates), else ``string``. Float columns get the digits after
    the point their values need, at most ``MAX_INFERRED_DECIMALS``.
    """
    _check_frame_names(df)
    columns = tuple(_describe_series(name, df[name]) for name in df.columns)
    return TableFormat(file_format, columns)


def detect_delimiter(lines: list[str]) -> str:
    """The first of ``DELIMITER_CANDIDATES`` that splits every line into the same fields.

    Lines are parsed as CSV (quoted fields may hold delimiters and line breaks); blank lines
    are ignored. A candidate fits when every record has the same number (> 1) of fields.

    Raises:
        DataError: No candidate fits; the message lists those tried.
    """
    sample = "\n".join(line.removesuffix("\r") for line in lines)
    for candidate in DELIMITER_CANDIDATES:
        if _splits_evenly(sample, candidate):
            return candidate
    tried = " ".join(repr(c) for c in DELIMITER_CANDIDATES)
    raise DataError(
        f"could not detect the field delimiter: none of {tried} splits every line into the "
        "same number (> 1) of fields; set field_delimiter to the file's delimiter"
    )


def _format_from_extension(path: Path) -> FileFormat | None:
    return EXTENSIONS.get(path.suffix.lower())


def _read_utf8(path: Path) -> str:
    return decode_utf8(path.read_bytes(), path)


def _read_parquet(path: Path) -> tuple[pd.DataFrame, TableFormat]:
    try:
        df = pd.read_parquet(path, engine="pyarrow", dtype_backend="numpy_nullable")
    except Exception as exc:
        raise DataError(
            f"data file {path} could not be read as Parquet ({type(exc).__name__}: {exc}); "
            "check that it is a complete Parquet file, or give it its real format's extension"
        ) from None
    if df.empty:
        raise DataError(f"data file {path} has no rows or no columns; give a table with data")
    for name in df.columns:
        _check_flat(name, df[name].dropna().head(1000).tolist(), path)
    table_format = describe_frame(df, "parquet")
    return conform_frame(df, table_format), table_format


# -------------------------------------------------------------------- delimited text


def _read_delimited(
    text: str, path: Path, field_delimiter: str | None
) -> tuple[pd.DataFrame, TableFormat]:
    delimiter = _choose_delimiter(text, path, field_delimiter)
    rows = _parse_rows(text, delimiter, path)
    if not rows:
        raise DataError(f"data file {path} is empty; give a header line and at least one row")
    header, body = rows[0], rows[1:]
    _check_names(header, f"data file {path}")
    if not body:
        raise DataError(f"data file {path} has a header but no rows; give at least one row of data")
    infos, data, booleans = [], {}, {}
    for name, cells in zip(header, zip(*body, strict=True), strict=True):
        values = [cell if cell != "" else None for cell in cells]
        info, truth = _infer_text_column(name, values)
        infos.append(info)
        data[name] = _to_series(values, info, truth)
        if truth is not None:
            booleans[name] = list(truth)
    extra: dict[str, Any] = {"boolean_text": booleans} if booleans else {}
    if _uses_crlf(text):
        extra["line_terminator"] = "\r\n"
    return pd.DataFrame(data), TableFormat("csv", tuple(infos), delimiter, extra)


def _choose_delimiter(text: str, path: Path, field_delimiter: str | None) -> str:
    if field_delimiter is not None:
        if len(field_delimiter) != 1 or field_delimiter in '"\r\n':
            raise DataError(
                f"field_delimiter={field_delimiter!r} must be one character other than a "
                "quote or line break; give e.g. ',' or ';'"
            )
        return field_delimiter
    lines = _sample_lines(text)
    preferred = _PREFERRED_DELIMITER.get(path.suffix.lower())
    if preferred is not None and _splits_evenly("\n".join(lines), preferred):
        return preferred
    try:
        return detect_delimiter(lines)
    except DataError as exc:
        if preferred is not None:  # one column, or ragged rows: reported while parsing
            return preferred
        raise DataError(f"data file {path}: {exc}") from None


def _sample_lines(text: str) -> list[str]:
    """The first lines of ``text``, cut so that no quoted field is left open."""
    lines = text.split("\n", _SAMPLE_LINES)[:_SAMPLE_LINES]
    quotes, balanced = 0, 0
    for index, line in enumerate(lines, 1):
        quotes += line.count('"')
        if quotes % 2 == 0:
            balanced = index
    return lines[:balanced]


def _splits_evenly(sample: str, delimiter: str) -> bool:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, strict=False)
    try:
        widths = {len(row) for row in reader if row}
    except csv.Error:
        return False
    return len(widths) == 1 and widths.pop() > 1


def _parse_rows(text: str, delimiter: str, path: Path) -> list[list[str]]:
    """All non-blank records; raise on the first whose field count differs from the header."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    rows: list[list[str]] = []
    end = 0
    try:
        for row in reader:
            start, end = end + 1, reader.line_num
            if not row:
                continue
            if rows and len(row) != len(rows[0]):
                raise DataError(
                    f"data file {path}: line {start} has {len(row)} fields but the header has "
                    f"{len(rows[0])} (delimiter {delimiter!r}); fix that row, quote fields that "
                    "contain the delimiter, or set field_delimiter"
                )
            rows.append(row)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise DataError(
                f"data file {path}: a field near line {reader.line_num} is longer than "
                f"{MAX_FIELD_CHARS:,} characters: either a quote opened there is never "
                "closed (check that row), or the value is too long to learn; shorten it"
            ) from None
        raise DataError(
            f"data file {path} could not be parsed near line {reader.line_num} ({exc}); "
            "fix the quoting of that row"
        ) from None
    return rows


def _uses_crlf(text: str) -> bool:
    first = text.find("\n")
    return first > 0 and text[first - 1] == "\r"


def _check_names(names: Sequence[str], where: str) -> None:
    duplicates = [name for name, count in Counter(names).items() if count > 1]
    if duplicates:
        listed = ", ".join(repr(name) for name in duplicates)
        raise DataError(
            f"{where} has duplicate column names: {listed}; rename them so each is unique"
        )


def _check_frame_names(df: pd.DataFrame) -> None:
    odd = [name for name in df.columns if not isinstance(name, str)]
    if odd:
        raise DataError(
            f"column names must be strings, got {odd[:5]!r}; "
            "rename them, e.g. df.columns = df.columns.astype(str)"
        )
    _check_names(list(df.columns), "the table")


# ------------------------------------------------------------------------------- JSON


def _parse_json(text: str, path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        hint = (
            "; it looks like JSON Lines (one object per line): rename it to .jsonl"
            if exc.msg == "Extra data"
            else "; fix the JSON"
        )
        raise DataError(
            f"data file {path} is not valid JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno}){hint}"
        ) from None
    if not isinstance(data, list):
        raise DataError(
            f"data file {path} holds a JSON {type(data).__name__}, not an array of objects; "
            'give [{"column": value, ...}, ...], or one object per line in a .jsonl file'
        )
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise DataError(
                f"data file {path}: item {index} of the JSON array is a "
                f"{type(item).__name__}, not an object; give an array of objects"
            )
    return data


def _parse_jsonl(text: str, path: Path) -> list[dict[str, Any]]:
    records = []
    for line_no, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"data file {path}: line {line_no} is not valid JSON ({exc.msg}); "
                "give one JSON object per line"
            ) from None
        if not isinstance(item, dict):
            raise DataError(
                f"data file {path}: line {line_no} holds a JSON {type(item).__name__}, "
                "not an object; give one JSON object per line"
            )
        records.append(item)
    return records


def _frame_from_records(
    records: list[dict[str, Any]], file_format: FileFormat, path: Path
) -> tuple[pd.DataFrame, TableFormat]:
    if not records:
        raise DataError(f"data file {path} has no records; give at least one JSON object")
    names = list(dict.fromkeys(key for record in records for key in record))
    if not names:
        raise DataError(f"data file {path} has no columns: every object is empty")
    infos, data = [], {}
    for name in names:
        values = [record.get(name) for record in records]
        _check_flat(name, values, path)
        info = _infer_values(name, values, detect_dates=True)
        infos.append(info)
        data[name] = _to_series(values, info)
    return pd.DataFrame(data), TableFormat(file_format, tuple(infos))


def _check_flat(name: str, values: list[Any], path: Path) -> None:
    """Refuse nested values (lists, objects): they would come back as strings."""
    nested = next((v for v in values if isinstance(v, list | dict | tuple | np.ndarray)), None)
    if nested is not None:
        kind = "objects (structs)" if isinstance(nested, dict) else "lists"
        raise DataError(
            f"data file {path}: column {name!r} holds {kind}, e.g. {str(nested)[:60]}; "
            "synthloom learns flat tables, and nested values would come back as text: "
            "flatten it into columns (e.g. pandas.json_normalize) or drop it"
        )


# --------------------------------------------------------------------- type inference


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


# ------------------------------------------------------------------------- conversion


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


# ----------------------------------------------------------------------------- writing


def write_table(
    df: pd.DataFrame, path: str | Path, table_format: TableFormat | None = None
) -> None:
    """Write a table, atomically: a failed write leaves any earlier file at ``path`` intact.

    Args:
        df: The table; it needs every column of ``table_format`` (other columns follow them).
        path: Output file; its extension picks the format (else ``table_format.file_format``).
        table_format: How the table was read (:func:`read_table`); described from ``df`` if
            not given. Floats are rounded to ``decimals``, datetimes printed with
            ``datetime_format`` and CSV written with the input's delimiter.

    Raises:
        DataError: The format cannot be told, or ``df`` lacks columns or holds bad values.
    """
    write_table_chunks([df], path, table_format)


def write_table_chunks(
    chunks: Iterable[pd.DataFrame], path: str | Path, table_format: TableFormat | None = None
) -> int:
    """Write a table that arrives in chunks, each written before the next is asked for, so
    memory holds one chunk at a time; atomic like :func:`write_table`. Returns the rows.

    CSV and JSON Lines append rows, a JSON array its records, Parquet one row group per
    chunk. The first chunk fixes the columns (as ``df`` does in :func:`write_table`).
    """
    path = Path(path)
    file_format = _output_format(path, table_format)
    delimiter = _output_delimiter(path, table_format)
    rows = 0

    def write(tmp: Path) -> None:
        nonlocal rows
        writer: _ChunkWriter | None = None
        try:
            for chunk in chunks:
                if writer is None:
                    fmt = _writing_format(chunk, file_format, table_format)
                    writer = _ChunkWriter(tmp, file_format, fmt, delimiter)
                else:
                    _check_has_columns(chunk, writer.table_format)
                writer.write(chunk)
                rows += len(chunk)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise DataError(f"no rows to write to {path}")

    _atomic_write(path, write)
    return rows


class _ChunkWriter:
    """Appends chunks of one table to an open file in its format."""

    def __init__(
        self, tmp: Path, file_format: FileFormat, table_format: TableFormat, delimiter: str
    ) -> None:
        self.file_format, self.table_format, self.delimiter = file_format, table_format, delimiter
        self.records = 0
        self.parquet: Any = None
        self.tmp = tmp
        self.handle = None
        if file_format != "parquet":
            newline = "" if file_format == "csv" else "\n"
            self.handle = tmp.open("w", encoding="utf-8", newline=newline)
        if file_format == "csv":
            self._csv_header()
        elif file_format == "json":
            self.handle.write("[")

    def write(self, df: pd.DataFrame) -> None:
        if self.file_format == "csv":
            self._csv_rows(df)
        elif self.file_format == "parquet":
            self._parquet_rows(df)
        else:
            for record in _json_records(df, self.table_format):
                if self.file_format == "jsonl":
                    self.handle.write(record + "\n")
                else:
                    self.handle.write((",\n" if self.records else "\n") + record)
                self.records += 1
        if self.handle is not None:
            self.handle.flush()  # the chunk leaves memory for the file now

    def close(self) -> None:
        if self.file_format == "json":
            self.handle.write("\n]\n")
        if self.handle is not None:
            self.handle.close()
        if self.parquet is not None:
            self.parquet.close()

    def _csv_header(self) -> None:
        fmt = self.table_format
        self.terminator = fmt.extra.get("line_terminator", "\n")
        self.quote = partial(_quote, delimiter=self.delimiter, alone=len(fmt.columns) == 1)
        self.handle.write(self.delimiter.join(map(self.quote, fmt.names)) + self.terminator)

    def _csv_rows(self, df: pd.DataFrame) -> None:
        truths = self.table_format.extra.get("boolean_text", {})
        columns = [
            _text_cells(df[info.name], info, _truth(truths, info.name))
            for info in self.table_format.columns
        ]
        for row in zip(*columns, strict=True):
            self.handle.write(self.delimiter.join(map(self.quote, row)) + self.terminator)

    def _parquet_rows(self, df: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        frame = conform_frame(df, self.table_format)
        for info in self.table_format.columns:
            if info.kind == "float" and info.decimals is not None:
                rounded = [_round(v, info.decimals) for v in frame[info.name].tolist()]
                frame[info.name] = pd.array(rounded, dtype="Float64")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self.parquet is None:
            self.parquet = pq.ParquetWriter(self.tmp, table.schema)
        elif table.schema != self.parquet.schema:
            table = table.cast(self.parquet.schema)
        self.parquet.write_table(table)


def _output_format(path: Path, table_format: TableFormat | None) -> FileFormat:
    file_format = _format_from_extension(path)
    if file_format is not None:
        return file_format
    if path.suffix.lower() in UNSUPPORTED_SUFFIXES:
        raise DataError(
            f"{path}: synthloom does not write {path.suffix} files; name the output "
            f"with one of {_FORMATS_HINT}"
        )
    if table_format is not None and table_format.file_format != "dataframe":
        return table_format.file_format
    raise DataError(
        f"cannot tell the output format of {path} from its extension '{path.suffix}'; "
        f"use one of {_FORMATS_HINT}"
    )


def _output_delimiter(path: Path, table_format: TableFormat | None) -> str:
    if table_format is not None and table_format.file_format == "csv":
        return table_format.delimiter
    return "\t" if path.suffix.lower() == ".tsv" else ","


def _writing_format(
    df: pd.DataFrame, file_format: FileFormat, table_format: TableFormat | None
) -> TableFormat:
    """``table_format`` with any further columns of ``df`` described and appended."""
    _check_frame_names(df)
    if table_format is None:
        return describe_frame(df, file_format)
    _check_has_columns(df, table_format)
    others = [name for name in df.columns if name not in set(table_format.names)]
    if not others:
        return table_format
    columns = table_format.columns + describe_frame(df[others]).columns
    return TableFormat(
        table_format.file_format, columns, table_format.delimiter, table_format.extra
    )


def _check_has_columns(df: pd.DataFrame, table_format: TableFormat) -> None:
    missing = [name for name in table_format.names if name not in df.columns]
    if missing:
        raise DataError(
            f"the table lacks column(s) {', '.join(repr(n) for n in missing)} of its table "
            "format; add them or pass a table format describing this table"
        )


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        write(tmp)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _quote(cell: str | None, delimiter: str, alone: bool) -> str:
    """A CSV field: quoted if it holds the delimiter, a quote or a line break."""
    if not cell:  # missing; a lone empty field is quoted so the row is not a blank line
        return '""' if alone else ""
    if delimiter in cell or '"' in cell or "\n" in cell or "\r" in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _json_records(df: pd.DataFrame, table_format: TableFormat) -> Iterator[str]:
    names = table_format.names
    columns = [_json_cells(df[info.name], info) for info in table_format.columns]
    for row in zip(*columns, strict=True):
        yield json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False)


def _text_cells(
    series: pd.Series, info: ColumnInfo, truth: tuple[str, str] | None
) -> Iterator[str | None]:
    """Each value as CSV text, ``None`` where missing (lazily, row by row)."""
    if info.kind == "integer":
        fmt: Callable[[Any], str] = _format_int
    elif info.kind == "float":
        fmt = partial(_format_float, decimals=info.decimals)
    elif info.kind == "boolean":
        fmt = partial(_format_bool, truth=truth or DEFAULT_BOOLEAN_TEXT)
    elif info.kind == "datetime":
        pattern = info.datetime_format or _default_datetime_format(series)
        fmt = partial(_format_datetime, fmt=pattern)
    else:
        fmt = _as_text
    return (None if _is_missing(value) else fmt(value) for value in series.tolist())


def _json_cells(series: pd.Series, info: ColumnInfo) -> Iterator[Any]:
    """Each value as a JSON value, ``None`` where missing (lazily, row by row)."""
    if info.kind in ("datetime", "string"):
        return _text_cells(series, info, None)
    if info.kind == "integer":
        fmt: Callable[[Any], Any] = _json_int
    elif info.kind == "float":
        fmt = partial(_json_float, decimals=info.decimals)
    else:
        fmt = _json_bool
    return (None if _is_missing(value) else fmt(value) for value in series.tolist())


def _round(value: Any, decimals: int | None) -> float | None:
    if _is_missing(value):
        return None
    number = float(value)
    if decimals is not None and math.isfinite(number):
        number = round(number, decimals)
    return number + 0.0  # no "-0.0"


def _format_int(value: Any) -> str:
    try:
        return str(_as_int(value))
    except (TypeError, ValueError, OverflowError):
        return _as_text(value)


def _format_float(value: Any, decimals: int | None) -> str:
    if not _is_number(value):
        return _as_text(value)
    return repr(_round(value, decimals))


def _format_bool(value: Any, truth: tuple[str, str]) -> str:
    if isinstance(value, bool | np.bool_):
        return truth[0] if value else truth[1]
    return _as_text(value)


def _format_datetime(value: Any, fmt: str) -> str:
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, datetime | date):
        return value.strftime(fmt)
    return _as_text(value)


def _default_datetime_format(series: pd.Series) -> str:
    """A format showing all a column's datetimes need: the date, seconds, or microseconds."""
    stamps = [pd.Timestamp(v) for v in series.tolist() if isinstance(v, datetime | np.datetime64)]
    stamps = [s for s in stamps if not pd.isna(s)]
    if any(s.microsecond or s.nanosecond for s in stamps):
        return "%Y-%m-%d %H:%M:%S.%f"
    if any(s.hour or s.minute or s.second for s in stamps):
        return "%Y-%m-%d %H:%M:%S"
    return "%Y-%m-%d"


def _json_int(value: Any) -> int | str:
    try:
        return _as_int(value)
    except (TypeError, ValueError, OverflowError):
        return _as_text(value)


def _json_float(value: Any, decimals: int | None) -> float | str | None:
    return _round(value, decimals) if _is_number(value) else _as_text(value)


def _json_bool(value: Any) -> bool | str:
    return bool(value) if isinstance(value, bool | np.bool_) else _as_text(value)


# ------------------------------------------------------------------ for private typing


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


def typed_series(
    values: Sequence[Any], info: ColumnInfo, truth: tuple[str, str] | None = None
) -> pd.Series:
    """Python values (``None`` missing) as a Series of ``info.kind``'s dtype."""
    return _to_series(values, info, truth)


def read_frame(
    data: str | Path | pd.DataFrame, delimiter: str | None = None
) -> tuple[pd.DataFrame, TableFormat]:
    """A table file (see :func:`read_table`) or a DataFrame, with its format."""
    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True), describe_frame(data)
    return read_table(data, field_delimiter=delimiter)
