"""What a table looked like when it was read, so it can be written back the same way."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# Formats people keep tables in that synthloom neither reads nor writes: such a name is
# refused, never read as text or written in another format under it.
UNSUPPORTED_SUFFIXES = frozenset(
    {".xlsx", ".xls", ".xlsm", ".ods", ".feather", ".arrow", ".avro", ".orc", ".h5", ".hdf5"}
    | {".sqlite", ".sqlite3", ".db", ".gz", ".zip", ".bz2", ".xz", ".zst", ".7z", ".pdf"}
)


ColumnKind = Literal["integer", "float", "boolean", "datetime", "string"]
FileFormat = Literal["csv", "json", "jsonl", "parquet", "dataframe"]


@dataclass(frozen=True)
class ColumnInfo:
    """One column's type and how its values are written."""

    name: str
    kind: ColumnKind
    decimals: int | None = None  # floats: most digits after the point seen in the data
    datetime_format: str | None = None  # datetimes read from text: strftime format to write

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


@dataclass(frozen=True)
class TableFormat:
    """A table's file format and columns, in order."""

    file_format: FileFormat
    columns: tuple[ColumnInfo, ...]
    delimiter: str = ","
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Column names in order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnInfo:
        """The info of column ``name``."""
        return next(c for c in self.columns if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "file_format": self.file_format,
            "columns": [c.to_dict() for c in self.columns],
            "delimiter": self.delimiter,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableFormat:
        """Inverse of :meth:`to_dict`."""
        return cls(
            data["file_format"],
            tuple(ColumnInfo(**c) for c in data["columns"]),
            data.get("delimiter", ","),
            data.get("extra", {}),
        )
