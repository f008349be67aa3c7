"""Writing a generated database: a folder, a SQL database, or object storage (fsspec).

* a folder: one ``TABLE.csv`` (or ``.parquet``) per table;
* a SQLAlchemy URL: tables created with their primary and foreign keys and filled in one
  transaction;
* ``s3://bucket/prefix``, ``gs://…`` or any fsspec URL: one object per table, its key the
  table name (no extension added).

Nothing is overwritten unless asked: every target is checked before the first write.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from synthloom.errors import ConfigError, DataError
from synthloom.io.names import safe_file_name
from synthloom.io.tables import write_table
from synthloom.io.urls import local_path, location_kind, require_storage_driver
from synthloom.relational.schema import Schema
from synthloom.relational.sources import database_url, open_engine

FileKind = Literal["csv", "parquet"]
MYSQL = ("mysql", "mariadb")


def destination_kind(destination: str | Path) -> str:
    """``database``, ``objects`` (a remote store's fsspec URL) or ``folder`` (a path,
    ``file://``, ``local://`` or a chain of local fsspec links)."""
    return location_kind(str(destination))


def write_tables(
    tables: dict[str, pd.DataFrame],
    schema: Schema,
    destination: str | Path,
    *,
    overwrite: bool = False,
    file_format: FileKind = "csv",
    storage_options: dict[str, Any] | None = None,
) -> str:
    """Write every table to ``destination``; returns a short description of where."""
    if file_format not in ("csv", "parquet"):
        raise ConfigError(f"format {file_format!r} is not csv or parquet")
    kind = destination_kind(destination)
    if kind == "database":
        return _write_database(tables, schema, database_target(destination), overwrite)
    if kind == "objects":
        require_storage_driver(str(destination))
        return _write_objects(
            tables, str(destination), overwrite, file_format, storage_options or {}
        )
    return _write_folder(tables, Path(local_path(str(destination))), overwrite, file_format)


# ------------------------------------------------------------------------------ folder


def _write_folder(
    tables: dict[str, pd.DataFrame], folder: Path, overwrite: bool, file_format: FileKind
) -> str:
    if folder.exists() and not folder.is_dir():
        raise DataError(f"destination {folder} is a file; give a folder")
    paths = {name: folder / f"{safe_file_name(name)}.{file_format}" for name in tables}
    existing = [str(p) for p in paths.values() if p.exists()]
    if existing and not overwrite:
        raise DataError(
            f"destination already holds {existing[:3]}; pass --overwrite (overwrite=True) to "
            "replace them, or choose another folder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        write_table(frame, paths[name])
    return f"{len(tables)} {file_format} files in {folder}"


# ----------------------------------------------------------------------------- objects


def _write_objects(
    tables: dict[str, pd.DataFrame],
    url: str,
    overwrite: bool,
    file_format: FileKind,
    storage_options: dict[str, Any],
) -> str:
    import fsspec

    try:
        fs, root = fsspec.core.url_to_fs(url, **storage_options)
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"cannot use object storage {url!r}: {exc}") from None
    except Exception as exc:  # the client connects on creation (ftp, sftp): unreachable
        raise DataError(
            f"cannot reach {url!r} ({type(exc).__name__}: {exc}); check the host, the "
            "credentials (--storage-option) and the network, or write to a folder"
        ) from None
    root = root.rstrip("/")
    keys = {name: f"{root}/{safe_file_name(name)}" for name in tables}
    try:
        existing = [k for k in keys.values() if fs.exists(k)]
    except Exception as exc:
        raise DataError(f"cannot reach object storage {url!r}: {exc}") from None
    if existing and not overwrite:
        raise DataError(
            f"object storage already holds {existing[:3]}; pass --overwrite to replace them, "
            "or choose another prefix"
        )
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in tables.items():
            local = Path(tmp) / f"{safe_file_name(name)}.{file_format}"
            write_table(frame, local)
            try:
                fs.put_file(str(local), keys[name])
            except Exception as exc:
                raise DataError(f"cannot write {keys[name]} to {url!r}: {exc}") from None
    return f"{len(tables)} {file_format} objects under {url}"


# ---------------------------------------------------------------------------- database


def insertion_order(schema: Schema) -> list[str]:
    """Every table, each after the tables it references (self-references aside)."""
    done: list[str] = []
    pending = list(schema.tables)
    while pending:
        for name in pending:
            parents = {
                fk.parent for fk in schema.tables[name].foreign_keys if not fk.self_reference
            }
            if parents <= set(done):
                done.append(name)
                pending.remove(name)
                break
        else:  # a cycle cannot pass the schema checks; keep going whatever happens
            done += pending
            break
    return done


def database_target(destination: str | Path) -> str:
    """The SQLAlchemy URL of a database destination (a URL, or an SQLite file's path)."""
    url = database_url(destination) if "://" in str(destination) else None
    return url or f"sqlite:///{Path(destination).resolve()}"


def _write_database(
    tables: dict[str, pd.DataFrame], schema: Schema, url: str, overwrite: bool
) -> str:
    engine = _write_engine(url)
    metadata = _target_tables(schema, tables, engine.dialect.name)
    order = insertion_order(schema)

    def fill(conn: Any) -> None:
        for name in order:
            records = _records(tables[name])
            if records:
                conn.execute(metadata.tables[name].insert(), records)

    try:
        _replace_tables(engine, metadata, order, overwrite, fill)
    finally:
        engine.dispose()
    return f"{len(tables)} tables in {engine.url!r}"


def _write_engine(url: str) -> Any:
    """An engine to write with. SQLite: DDL inside transactions too (Python's sqlite3
    otherwise commits ``DROP``/``CREATE TABLE`` at once, so a failed replacement would
    lose the tables it dropped), and a missing folder created."""
    from sqlalchemy import event

    engine = open_engine(url)
    if engine.dialect.name == "sqlite":
        _prepare_sqlite_folder(engine.url.database)

        @event.listens_for(engine, "connect")
        def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

    return engine


def _target_tables(
    schema: Schema,
    tables: dict[str, pd.DataFrame],
    dialect: str,
    gaps: dict[str, set[str]] | None = None,
) -> Any:
    """SQLAlchemy metadata of every table with its keys (see :func:`_sql_table`)."""
    import sqlalchemy as sa

    metadata = sa.MetaData()
    for name in insertion_order(schema):
        _sql_table(metadata, name, tables, schema, dialect, None if gaps is None else gaps[name])
    return metadata


def _replace_tables(
    engine: Any,
    metadata: Any,
    order: list[str],
    overwrite: bool,
    fill: Callable[[Any], None],
) -> None:
    """In one transaction: refuse (or drop) existing tables, create ``metadata``'s tables
    and ``fill(conn)`` them, parents first."""
    import sqlalchemy as sa

    dialect = engine.dialect.name
    created = False
    with _database_errors(engine):
        try:
            with engine.begin() as conn:
                existing = _refuse_existing(conn, order, overwrite)
                if existing:
                    metadata.drop_all(conn, tables=[metadata.tables[n] for n in existing])
                metadata.create_all(conn)
                created = True
                if dialect in MYSQL:
                    conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
                fill(conn)
                if dialect in MYSQL:
                    conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
        except sa.exc.SQLAlchemyError:
            if created and dialect in MYSQL:
                _drop_quietly(engine, metadata)
            raise


def _refuse_existing(conn: Any, names: list[str], overwrite: bool) -> list[str]:
    """The tables of ``names`` the database already has; an error unless ``overwrite``."""
    import sqlalchemy as sa

    inspector = sa.inspect(conn)
    existing = [name for name in names if inspector.has_table(name)]
    if existing and not overwrite:
        raise DataError(
            f"database already has table(s) {existing}; pass --overwrite "
            "(overwrite=True) to replace them, or write to another database"
        )
    return existing


@contextmanager
def _database_errors(engine: Any) -> Iterator[None]:
    """A driver's error as one line naming the database."""
    import sqlalchemy as sa

    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        message = str(exc).splitlines()[0]
        raise DataError(f"cannot write to database {engine.url!r}: {message}") from None


def _prepare_sqlite_folder(database: str | None) -> None:
    """Create a missing folder for an SQLite file; refuse a read-only one by name (SQLite
    itself only says "unable to open database file")."""
    if not database or database == ":memory:":
        return
    folder = Path(database).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()  # SQLite needs to create files there
    except OSError as exc:
        raise DataError(
            f"cannot write the SQLite file {database}: its folder {folder} cannot be "
            f"written ({exc.strerror}); choose a folder you can write to"
        ) from None


def _drop_quietly(engine: Any, metadata: Any) -> None:
    """MySQL/MariaDB commit ``CREATE TABLE`` at once, so the rollback of a failed write
    leaves empty tables: drop them (a failed write then leaves no table behind; tables that
    ``overwrite`` replaced are gone either way)."""
    import sqlalchemy as sa

    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
            metadata.drop_all(conn)
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
    except sa.exc.SQLAlchemyError:
        pass


def _sql_table(
    metadata: Any,
    name: str,
    tables: dict[str, pd.DataFrame],
    schema: Schema,
    dialect: str,
    gaps: set[str] | None = None,
) -> None:
    """Table ``name`` with its keys; a column's type as declared in the source, else
    following ``tables[name]``'s values. ``gaps``: the columns with missing values (by
    default: those of ``tables[name]``)."""
    import sqlalchemy as sa

    table = schema.tables[name]
    frame = tables[name]
    referenced, parent_types = {}, {}
    for fk in table.foreign_keys:
        for column, parent_column in zip(fk.columns, fk.parent_columns, strict=True):
            referenced[column] = tables[fk.parent][parent_column]
            parent_types[column] = schema.tables[fk.parent].sql_types.get(parent_column, {})
    keys = set(table.key_columns)
    columns = []
    for c in frame.columns:
        declared = table.sql_types.get(c, {})
        # a foreign key takes its parent key's type (MySQL refuses a REAL → INTEGER key)
        source_type = parent_types.get(c, declared).get("type")
        kind = _declared_type(source_type)
        if kind is None or (c in keys and isinstance(kind, sa.Text)):
            kind = _sql_type(referenced.get(c, frame[c]), c in keys)  # keys need a length
        # NOT NULL as declared, unless the generated column has gaps (the write would fail)
        has_gaps = c in gaps if gaps is not None else bool(frame[c].isna().any())
        nullable = declared.get("nullable", True) or has_gaps
        columns.append(sa.Column(c, kind, nullable=nullable or c in table.primary_key))
    constraints: list[Any] = []
    if table.primary_key:
        constraints.append(sa.PrimaryKeyConstraint(*table.primary_key))
    deferrable = {"deferrable": True, "initially": "DEFERRED"} if dialect == "postgresql" else {}
    for fk in table.foreign_keys:
        targets = [f"{fk.parent}.{c}" for c in fk.parent_columns]
        constraints.append(sa.ForeignKeyConstraint(list(fk.columns), targets, **deferrable))
    # MySQL/MariaDB: InnoDB (foreign keys) and full Unicode whatever the server's default
    options = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"} if dialect in MYSQL else {}
    sa.Table(name, metadata, *columns, *constraints, **options)


_DECLARED = re.compile(r"^\s*([A-Za-z ]+?)\s*(?:\((\d+)(?:\s*,\s*(\d+))?\))?\s*$")


def _declared_type(text: str | None) -> Any:
    """A portable SQLAlchemy type for a source's declared type (``REAL``,
    ``NVARCHAR(40)``, ``NUMERIC(10,2)``…), so a copy to another database keeps it; None
    when the text is not understood (the type then follows the values)."""
    import sqlalchemy as sa

    match = _DECLARED.match(text or "")
    if match is None:
        return None
    name = match.group(1).upper()
    size = int(match.group(2)) if match.group(2) else None
    scale = int(match.group(3)) if match.group(3) else None
    if "BIGINT" in name:
        return sa.BigInteger()
    if "SMALLINT" in name or "TINYINT" in name:
        return sa.SmallInteger()
    if "INT" in name:
        return sa.Integer()
    if name == "REAL":
        return sa.REAL()
    if name in ("DOUBLE", "DOUBLE PRECISION"):
        return sa.DOUBLE_PRECISION()
    if name == "FLOAT":
        return sa.Float()
    if "NUMERIC" in name or "DECIMAL" in name:
        return sa.Numeric(size, scale)
    if "CHAR" in name:
        return sa.String(size)
    if "TEXT" in name or "CLOB" in name:
        return sa.Text()
    if name == "DATE":
        return sa.Date()
    if "DATETIME" in name or "TIMESTAMP" in name:
        return sa.DateTime()
    if name == "TIME":
        return sa.Time()
    if "BOOL" in name:
        return sa.Boolean()
    if "BLOB" in name or "BINARY" in name or name == "BYTEA":
        return sa.LargeBinary()
    return None


def _sql_type(series: pd.Series, key: bool) -> Any:
    import sqlalchemy as sa

    if pd.api.types.is_bool_dtype(series):
        return sa.Boolean()
    if pd.api.types.is_integer_dtype(series):
        return sa.BigInteger()
    if pd.api.types.is_float_dtype(series):
        return sa.Float()
    if pd.api.types.is_datetime64_any_dtype(series):
        return sa.DateTime()
    return sa.String(255) if key else sa.Text()


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = {c: [_plain(v) for v in frame[c].to_numpy(dtype=object)] for c in frame.columns}
    names = list(frame.columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _plain(value: Any) -> Any:
    """A Python value a DB driver takes (no numpy scalars, no pandas missing markers)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, float) and np.isnan(value):
            return None
    return value


# ---------------------------------------------------------------------- staged database

STAGING_SUFFIX = "__synthloom_staging"


class StagedDatabase:
    """A database written shard by shard, for runs too large to hold at once.

    Each table first goes to a staging table (``<table>__synthloom_staging``: the target's
    column types, no keys or constraints, so appends are cheap and any order will do);
    :meth:`append` adds one shard's tables in one transaction, the originals with the
    first. :meth:`commit` then, in one transaction, refuses (or drops) the existing target
    tables, creates them with their keys exactly as :func:`write_tables` would, and copies
    the staging tables in, parents first. Leaving the ``with`` block drops the staging
    tables whatever happened, so a failed or interrupted run leaves the earlier tables as
    they were (staging tables of a killed process are dropped by the next run).
    """

    def __init__(
        self,
        destination: str | Path,
        schema: Schema,
        originals: dict[str, pd.DataFrame],
        *,
        overwrite: bool = False,
    ) -> None:
        self.schema, self.originals, self.overwrite = schema, originals, overwrite
        self.order = insertion_order(schema)
        self.engine = _write_engine(database_target(destination))
        self.staging: dict[str, Any] = {}
        self.samples: dict[str, pd.DataFrame] = {}  # each table's columns and dtypes, no rows
        self.gaps: dict[str, set[str]] = {name: set() for name in self.order}
        self.rows: dict[str, int] = dict.fromkeys(self.order, 0)

    def __enter__(self) -> StagedDatabase:
        """Refuse existing tables before any work (unless ``overwrite``); drop leftovers."""
        try:
            with _database_errors(self.engine), self.engine.begin() as conn:
                _refuse_existing(conn, self.order, self.overwrite)
                self._drop_staging(conn)
        except BaseException:
            self.engine.dispose()
            raise
        return self

    def __exit__(self, exc_type: object, *_exc: object) -> None:
        try:
            with _database_errors(self.engine), self.engine.begin() as conn:
                self._drop_staging(conn)
        except DataError:
            if exc_type is None:  # else the run's own error is the one to report
                raise
        finally:
            self.engine.dispose()

    def append(self, tables: dict[str, pd.DataFrame]) -> dict[str, int]:
        """Add one shard's tables to the staging tables; their rows by table."""
        first = not self.staging
        with _database_errors(self.engine), self.engine.begin() as conn:
            if first:
                self._create_staging(conn, {**self.originals, **tables})
            batch = {**self.originals, **tables} if first else tables
            for name in self.order:
                if name in batch:
                    self._insert(conn, name, batch[name])
        return {name: len(frame) for name, frame in tables.items()}

    def commit(self) -> str:
        """Replace the target tables by the staging tables, in one transaction."""
        import sqlalchemy as sa

        if not self.staging:
            raise DataError("no shard was written; nothing to commit")
        targets = _target_tables(self.schema, self.samples, self.engine.dialect.name, self.gaps)

        def fill(conn: Any) -> None:
            for name in self.order:
                columns = [c.name for c in targets.tables[name].columns]
                rows = sa.select(*(self.staging[name].c[c] for c in columns))
                conn.execute(targets.tables[name].insert().from_select(columns, rows))

        _replace_tables(self.engine, targets, self.order, self.overwrite, fill)
        return f"{len(self.order)} tables in {self.engine.url!r}"

    def _create_staging(self, conn: Any, frames: dict[str, pd.DataFrame]) -> None:
        """Staging tables typed as the targets will be (declared types; else the first
        shard's dtypes)."""
        import sqlalchemy as sa

        self.samples = {name: frame.iloc[:0] for name, frame in frames.items()}
        targets = _target_tables(self.schema, self.samples, self.engine.dialect.name, self.gaps)
        metadata = sa.MetaData()
        for name in self.order:
            target = targets.tables[name]
            columns = [sa.Column(c.name, c.type) for c in target.columns]
            self.staging[name] = sa.Table(
                _staging_name(name, self.engine), metadata, *columns, **target.kwargs
            )
        metadata.create_all(conn)

    def _insert(self, conn: Any, name: str, frame: pd.DataFrame) -> None:
        self.gaps[name].update(str(c) for c in frame.columns[frame.isna().any()])
        records = _records(frame)
        if records:
            conn.execute(self.staging[name].insert(), records)
        self.rows[name] += len(frame)

    def _drop_staging(self, conn: Any) -> None:
        import sqlalchemy as sa

        inspector = sa.inspect(conn)
        for name in reversed(self.order):
            staging = _staging_name(name, self.engine)
            if inspector.has_table(staging):
                sa.Table(staging, sa.MetaData()).drop(conn)


def _staging_name(name: str, engine: Any) -> str:
    """``<table>__synthloom_staging``; a digest of the name where that is too long."""
    import hashlib

    staging = f"{name}{STAGING_SUFFIX}"
    if len(staging) <= engine.dialect.max_identifier_length:
        return staging
    return f"synthloom_staging_{hashlib.sha256(name.encode()).hexdigest()[:16]}"
