"""What ``synthloom train PATH`` was given: a YAML config, a table or a text file.

A user's first command starts from their data, not from a config: the kind is read off
the file's name and, for names that do not tell, its first bytes. Whatever cannot be told
apart is refused in one line that names what was expected and how to say it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from synthloom.errors import DataError
from synthloom.io.schema import UNSUPPORTED_SUFFIXES
from synthloom.synthesizers.dispatch import TABLE_SUFFIXES

Kind = Literal["config", "table", "text"]
CONFIG_SUFFIXES = (".yaml", ".yml")
SNIFF_BYTES = 8192
EXPECTED = (
    "a table (.csv, .tsv, .json, .jsonl, .parquet), a text file with one record per line, "
    "or a YAML config"
)


def data_kind(path: Path, kind: str | None = None) -> Kind:
    """The kind of ``path`` (``kind``: the user's ``--kind table|text``, which wins over
    the name); a DataError for a path that is none of them."""
    if path.is_dir():
        raise DataError(
            f"{path} is a folder; train takes {EXPECTED} (a folder of tables is a database: "
            f"synthloom relational train {path} --model-dir M)"
        )
    if not path.is_file():
        raise DataError(f"{path} does not exist; give {EXPECTED}")
    suffix = path.suffix.lower()
    if suffix in UNSUPPORTED_SUFFIXES:
        raise DataError(
            f"{path}: synthloom does not read {suffix} files; export the table as CSV or "
            "Parquet (a file holding CSV text needs the name .csv)"
        )
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty; give {EXPECTED}")
    if kind == "table" and suffix not in TABLE_SUFFIXES:
        raise DataError(
            f"{path}: --kind table reads .csv, .tsv, .json, .jsonl or .parquet files; "
            "name the file by its format"
        )
    if kind in ("table", "text"):
        return kind  # type: ignore[return-value]
    if suffix in CONFIG_SUFFIXES:
        return "config"
    if suffix in TABLE_SUFFIXES:
        return "table"
    head = path.read_bytes()[:SNIFF_BYTES]
    if b"\x00" in head or not _is_text(head):
        raise DataError(
            f"{path} is a binary file, not {EXPECTED}; if it is one of those, name it by its "
            "format or say --kind table|text"
        )
    return "text"


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # a character cut at the sniffed boundary
    return True
