"""Reading a table file or a DataFrame, with the format needed to write it back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from synthloom.errors import DataError
from synthloom.io.schema import (
    TableFormat,
)
from synthloom.io.tables.convert import conform_frame
from synthloom.io.tables.delimited import _read_delimited
from synthloom.io.tables.formats import _FORMATS_HINT, _format_from_extension
from synthloom.io.tables.inference import describe_frame
from synthloom.io.tables.json_records import (
    _check_flat,
    _frame_from_records,
    _parse_json,
    _parse_jsonl,
)
from synthloom.io.text import decode_utf8


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


def read_frame(
    data: str | Path | pd.DataFrame, delimiter: str | None = None
) -> tuple[pd.DataFrame, TableFormat]:
    """A table file (see :func:`read_table`) or a DataFrame, with its format."""
    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True), describe_frame(data)
    return read_table(data, field_delimiter=delimiter)
