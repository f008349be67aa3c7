"""How many cells a table file holds, told before it is read (bounded work for a server).

A compressed Parquet file of a few kilobytes can hold tens of millions of values, so a
size limit on the bytes of an upload does not bound the memory reading it takes. These
counts come from what is cheap to read first: Parquet's footer (rows and columns of every
row group), the lines of a CSV/TSV/JSONL file, the row counts of an SQLite database's
tables. A JSON array is bounded by its bytes (every cell takes at least five).
"""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

from synthloom.errors import DataError

CHUNK = 1 << 20
JSON_BYTES_PER_CELL = 5  # '"a":1,' is the shortest spelling of a cell in an object


def file_cells(path: Path) -> int:
    """An upper bound of the cells (rows × columns) of one table file or SQLite file."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return _parquet_cells(path)
    if suffix in (".csv", ".tsv", ".jsonl"):
        return _lines(path) * max(1, _columns(path, suffix))
    if suffix == ".json":
        return path.stat().st_size // JSON_BYTES_PER_CELL
    if suffix in (".sqlite", ".sqlite3", ".db"):
        return _sqlite_cells(path)
    return 0


def check_cells(paths: list[Path], max_cells: int) -> int:
    """The cells of all ``paths`` together, refused when more than ``max_cells``."""
    total = 0
    for path in paths:
        total += file_cells(path)
        if total > max_cells:
            raise DataError(
                f"the source holds more than {max_cells:,} values (rows × columns; "
                f"{path.name} alone about {file_cells(path):,}), the limit of this server; "
                "sample the tables or raise --max-cells"
            )
    return total


def _parquet_cells(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as exc:  # a damaged footer: say so instead of reading on
        raise DataError(f"{path.name} is not a readable Parquet file: {exc}") from None
    return meta.num_rows * meta.num_columns


def _lines(path: Path) -> int:
    count, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def _columns(path: Path, suffix: str) -> int:
    with path.open("r", encoding="utf-8", errors="replace", newline="") as handle:
        first = handle.readline(CHUNK)
    if suffix == ".jsonl":
        return first.count(":")
    delimiter = "\t" if suffix == ".tsv" else ","
    return len(next(csv.reader([first], delimiter=delimiter), []))


def _sqlite_cells(path: Path) -> int:
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return 0
    try:
        total = 0
        names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        for (name,) in names:
            quoted = '"' + name.replace('"', '""') + '"'
            rows = conn.execute(f"SELECT COUNT(*) FROM {quoted}").fetchone()[0]
            columns = len(conn.execute(f"PRAGMA table_info({quoted})").fetchall())
            total += rows * columns
        return total
    except sqlite3.Error:
        return 0  # not an SQLite file after all: the reader says what is wrong
    finally:
        conn.close()
