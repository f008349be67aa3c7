"""Writing a table back as it was read: delimiter, digits, dates, booleans, line ends."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthloom.errors import DataError
from synthloom.io.schema import (
    UNSUPPORTED_SUFFIXES,
    ColumnInfo,
    FileFormat,
    TableFormat,
)
from synthloom.io.tables.convert import _as_int, _as_text, _check_has_columns, _truth, conform_frame
from synthloom.io.tables.formats import (
    _FORMATS_HINT,
    DEFAULT_BOOLEAN_TEXT,
    _check_frame_names,
    _format_from_extension,
)
from synthloom.io.tables.inference import _is_missing, _is_number, describe_frame


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
