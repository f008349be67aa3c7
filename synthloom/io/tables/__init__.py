"""Tables: read and write CSV, JSON, JSON Lines and Parquet, keeping each column's type.

Every column is read as one of five kinds (see :class:`~synthloom.io.schema.ColumnInfo`) with
one pandas dtype per kind: ``Int64``, ``Float64``, ``boolean``, ``datetime64`` and ``string``.
What is needed to write the table back the way it was read (delimiter, digits after the point,
date format, spelling of booleans, line ends) is kept in the returned
:class:`~synthloom.io.schema.TableFormat`.

Text cells are kept exactly: no whitespace is stripped and only an empty cell is missing, so
``NA`` or ``?`` stay values. Typed formats (Parquet, a DataFrame) keep their dtypes; types are
inferred from text only for CSV cells and JSON strings (dates).

One module per concern, in the order they depend on each other: :mod:`.formats` (shared
facts), :mod:`.inference`, :mod:`.convert`, the format families :mod:`.delimited` and
:mod:`.json_records` (Parquet is read by pyarrow in :mod:`.read`), then :mod:`.read` and
:mod:`.write`.
"""

from synthloom.io.tables.convert import conform_frame, typed_series
from synthloom.io.tables.delimited import detect_delimiter
from synthloom.io.tables.formats import (
    BOOLEAN_TEXTS,
    DATETIME_FORMATS,
    DEFAULT_BOOLEAN_TEXT,
    EXTENSIONS,
)
from synthloom.io.tables.inference import describe_frame, text_fits_kind
from synthloom.io.tables.read import read_frame, read_table
from synthloom.io.tables.write import write_table, write_table_chunks

__all__ = [
    "BOOLEAN_TEXTS",
    "DATETIME_FORMATS",
    "DEFAULT_BOOLEAN_TEXT",
    "EXTENSIONS",
    "conform_frame",
    "describe_frame",
    "detect_delimiter",
    "read_frame",
    "read_table",
    "text_fits_kind",
    "typed_series",
    "write_table",
    "write_table_chunks",
]
