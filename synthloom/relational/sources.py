"""Reading a database: a SQLAlchemy URL, an SQLite file, or a folder of tables + schema file.

Keys come from the database's constraints (a folder's come from its schema file); the
config may set or unset them (:mod:`synthloom.relational.schema`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthloom.config import read_yaml_file
from synthloom.errors import ConfigError, DataError
from synthloom.extras import missing_driver_message
from synthloom.io.urls import PASSWORD_QUERY_KEYS, is_database_url, mask_url, scrub, url_secrets
from synthloom.relational.config import ForeignKeyConfig, RelationalConfig
from synthloom.relational.schema import select_tables

SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".json", ".jsonl")
SCHEMA_FILES = ("schema.yaml", "schema.yml", "schema.json")


@dataclass
class SourceData:
    """The selected tables, the keys the source declares, and every table it has."""

    frames: dict[str, pd.DataFrame]
    keys: dict[str, dict[str, Any]]
    all_tables: list[str]
    kind: str
    # Declared column types of a database source: {table: {column: {type, nullable}}}.
    sql_types: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


def database_url(source: str | Path) -> str | None:
    """The SQLAlchemy URL of a database source, or None for a folder."""
    text = str(source)
    if is_database_url(text):
        return text
    path = Path(text)
    if path.suffix.lower() in SQLITE_SUFFIXES:
        if not path.is_file():
            raise DataError(f"database file {path} does not exist; check the --source path")
        return f"sqlite:///{path.resolve()}"
    return None


def source_record(source: str | Path, config_dir: Path | None = None) -> dict[str, Any]:
    """Where a model's training data came from, without credentials, for the report.

    ``location`` is an absolute folder path or a database URL with the password hidden
    (``***``) and password query parameters dropped; ``password`` says whether one was
    given, in which case the tables cannot be read again from the record alone.
    """
    url = database_url(source)
    if url is None:
        folder = Path(source).resolve()
        return {
            "kind": "folder",
            "location": str(folder),
            "password": False,
            "config_dir": None if config_dir is None else str(Path(config_dir).resolve()),
        }
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"cannot use database URL: {scrub(str(exc), url_secrets(url))}") from None
    secret = [k for k in parsed.query if k.lower() in PASSWORD_QUERY_KEYS]
    return {
        "kind": "database",
        "location": parsed.difference_update_query(secret).render_as_string(hide_password=True),
        "password": parsed.password is not None or bool(secret),
        "config_dir": None,
    }


def read_source(
    source: str | Path, config: RelationalConfig, config_dir: Path | None = None
) -> SourceData:
    """Read the selected tables of ``source`` and the keys it declares."""
    url = database_url(source)
    if url is not None:
        return _read_database(url, config)
    return _read_folder(Path(source), config, config_dir)


def open_engine(url: str) -> Any:
    """A SQLAlchemy engine for ``url``; a bad URL or a missing driver is a ConfigError."""
    import sqlalchemy as sa

    try:
        return sa.create_engine(url)
    except ImportError as exc:
        raise ConfigError(missing_driver_message(url, exc)) from None
    except sa.exc.ArgumentError as exc:
        raise ConfigError(
            f"cannot use database URL {mask_url(url)}: {scrub(str(exc), url_secrets(url))}"
        ) from None


def _read_database(url: str, config: RelationalConfig) -> SourceData:
    import sqlalchemy as sa

    engine = open_engine(url)
    file = engine.url.database if engine.dialect.name == "sqlite" else None
    if file and file != ":memory:" and not file.startswith("file:") and not Path(file).is_file():
        engine.dispose()  # connecting would create an empty database file
        raise DataError(f"database file {file} does not exist; check the source path")
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            available = inspector.get_table_names()
            if not available:
                raise DataError(f"database {engine.url!r} has no tables")
            selected = select_tables(available, config)
            frames, keys, types = {}, {}, {}
            for name in selected:
                pk = inspector.get_pk_constraint(name).get("constrained_columns") or []
                fks = [
                    ForeignKeyConfig(
                        columns=fk["constrained_columns"],
                        references={
                            "table": fk["referred_table"],
                            "columns": fk["referred_columns"],
                        },
                    )
                    for fk in inspector.get_foreign_keys(name)
                    if fk.get("referred_table")
                ]
                keys[name] = {"primary_key": pk, "foreign_keys": fks}
                columns = inspector.get_columns(name)
                types[name] = {
                    c["name"]: {"type": str(c["type"]), "nullable": bool(c.get("nullable", True))}
                    for c in columns
                }
                table = sa.Table(name, sa.MetaData(), autoload_with=conn)
                rows = conn.execute(sa.select(table)).mappings().all()
                frame = pd.DataFrame([dict(r) for r in rows], columns=[c["name"] for c in columns])
                frames[name] = frame.convert_dtypes()
    except sa.exc.SQLAlchemyError as exc:
        message = str(exc).splitlines()[0]
        raise DataError(f"cannot read database {engine.url!r}: {message}") from None
    finally:
        engine.dispose()
    return SourceData(frames, keys, list(available), "database", types)


def _read_folder(folder: Path, config: RelationalConfig, config_dir: Path | None) -> SourceData:
    from synthloom.io.tables import read_table

    if not folder.is_dir():
        raise DataError(
            f"source {folder} is neither a database URL (sqlite:///…, postgresql://…, "
            "mysql+pymysql://…) nor a folder of CSV/Parquet files; check --source"
        )
    files = {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in TABLE_SUFFIXES}
    if not files:
        raise DataError(f"folder {folder} holds no CSV/Parquet/JSON tables")
    selected = select_tables(list(files), config)
    frames = {name: read_table(files[name])[0] for name in selected}
    keys = _schema_file_keys(folder, config, config_dir)
    return SourceData(frames, keys, list(files), "folder")


def _schema_file_keys(
    folder: Path, config: RelationalConfig, config_dir: Path | None
) -> dict[str, dict[str, Any]]:
    """Keys from the schema file: ``tables: {T: {primary_key: [...], foreign_keys: [...]}}``."""
    path: Path | None = None
    if config.schema_file:
        path = Path(config.schema_file)
        if not path.is_absolute():
            base = config_dir if config_dir is not None else folder
            path = base / path if (base / path).exists() else folder / path
        if not path.is_file():
            raise ConfigError(f"schema_file {config.schema_file} does not exist")
    else:
        path = next((folder / n for n in SCHEMA_FILES if (folder / n).is_file()), None)
    if path is None:
        return {}
    data = read_yaml_file(path, "schema file") or {}
    tables = data.get("tables") if isinstance(data, dict) else None
    if not isinstance(tables, dict) or set(data) - {"tables"}:
        raise ConfigError(
            f"schema file {path} must hold one mapping 'tables: {{NAME: {{primary_key: [...], "
            "foreign_keys: [...]}}}}'"
        )
    keys: dict[str, dict[str, Any]] = {}
    for name, entry in tables.items():
        entry = entry or {}
        unknown = set(entry) - {"primary_key", "foreign_keys"}
        if unknown:
            raise ConfigError(
                f"schema file {path}: tables.{name} has unknown key(s) {sorted(unknown)}; "
                "valid keys: foreign_keys, primary_key"
            )
        from synthloom.config import validate_config

        fks = [validate_config(ForeignKeyConfig, fk) for fk in entry.get("foreign_keys") or []]
        keys[str(name)] = {"primary_key": entry.get("primary_key") or [], "foreign_keys": fks}
    return keys
