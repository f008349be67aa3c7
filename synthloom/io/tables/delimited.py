"""Delimited text (CSV, TSV): the delimiter found, rows parsed, types inferred."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pandas as pd

from synthloom.config import DELIMITER_CANDIDATES
from synthloom.errors import DataError
from synthloom.io.schema import (
    TableFormat,
)
from synthloom.io.tables.convert import _to_series
from synthloom.io.tables.formats import (
    _PREFERRED_DELIMITER,
    _SAMPLE_LINES,
    MAX_FIELD_CHARS,
    _check_names,
)
from synthloom.io.tables.inference import _infer_text_column


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
