"""Shared facts of the table formats: extensions, date formats, dtypes, name checks."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from synthloom.errors import DataError
from synthloom.io.schema import (
    ColumnKind,
    FileFormat,
)

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


def _format_from_extension(path: Path) -> FileFormat | None:
    return EXTENSIONS.get(path.suffix.lower())
