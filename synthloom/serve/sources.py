"""Sources of the web app: uploaded files, database URLs, server folders, object storage.

Uploads are stored under server-made names in ``uploads/<id>/``; a folder or an SQLite
URL must lie under one of the folder roots the server was started with, so no request can
read other files by path. A fingerprint taken at registration (tables, columns, file
sizes) tells a source that is gone or changed.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthloom.errors import ConfigError, DataError, SynthloomError
from synthloom.relational.config import RelationalConfig
from synthloom.relational.sources import (
    SQLITE_SUFFIXES,
    TABLE_SUFFIXES,
    SourceData,
    is_database_url,
    read_source,
)
from synthloom.serve.security import mask_options, mask_url, option_secrets, scrub, url_secrets

UPLOAD_SUFFIXES = (*TABLE_SUFFIXES, *SQLITE_SUFFIXES, ".yaml", ".yml")
SQLITE_MAGIC = b"SQLite format 3\x00"
PREVIEW_ROWS = 5


@dataclass
class Paths:
    """Folders of the data dir and the roots folder sources may come from."""

    data_dir: Path
    folder_roots: list[Path] = field(default_factory=list)

    def sub(self, *parts: str) -> Path:
        """A folder under the data dir (made on demand)."""
        path = self.data_dir.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path


def table_name(filename: str, taken: set[str]) -> str:
    """A safe, unique table name from an uploaded file's name (its stem, letters, digits and
    underscores only): the name decides nothing about where the file is stored."""
    stem = Path(filename.replace("\\", "/")).name
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    name = re.sub(r"[^A-Za-z0-9_]", "_", stem).strip("_")[:64] or "table"
    if name[0].isdigit():
        name = "t_" + name
    unique, n = name, 2
    while unique.lower() in taken:
        unique, n = f"{name}_{n}", n + 1
    taken.add(unique.lower())
    return unique


def upload_suffix(filename: str, head: bytes) -> str:
    """The stored suffix of an upload: from its name, or ``.sqlite`` for an SQLite file."""
    if head.startswith(SQLITE_MAGIC):
        return ".sqlite"
    suffix = Path(filename.replace("\\", "/")).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise DataError(
            f"cannot use an upload named {Path(filename).name!r}: upload CSV, TSV, Parquet, "
            "JSON, JSONL or SQLite files (plus an optional schema.yaml)"
        )
    return suffix


def check_inside(path: Path, roots: list[Path], what: str) -> Path:
    """``path`` resolved, refused unless it lies under one of ``roots``."""
    resolved = path.expanduser().resolve()
    for root in roots:
        if resolved == root.resolve() or resolved.is_relative_to(root.resolve()):
            return resolved
    allowed = ", ".join(str(r) for r in roots) or "none"
    raise ConfigError(
        f"{what} {resolved} is outside the folders this server may read ({allowed}); "
        "start it with --folder-root DIR, or upload the files"
    )


def check_database_url(url: str, paths: Paths) -> str:
    """A SQLAlchemy URL the server may use (an SQLite file must lie under a folder root)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not is_database_url(url):
        raise ConfigError(
            "a database source needs a SQLAlchemy URL (sqlite:///file.sqlite, "
            "postgresql+psycopg://user:pw@host/db, mysql+pymysql://…)"
        )
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"cannot use database URL: {scrub(str(exc), url_secrets(url))}") from None
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigError("an SQLite source needs a file: sqlite:////path/to/db.sqlite")
        check_inside(Path(parsed.database), paths.folder_roots, "database file")
    return url


def display(source: dict[str, Any]) -> dict[str, Any]:
    """A source as the API and pages show it: no password, no storage secrets."""
    return {
        "id": source["id"],
        "name": source["name"],
        "kind": source["kind"],
        "location": source["location"],
        "storage_options": mask_options(source.get("storage_options") or {}),
        "created": source["created"],
        "tables": sorted(source.get("fingerprint", {}).get("tables", {})),
    }


def secrets_of(source: dict[str, Any]) -> list[str]:
    """Everything secret a source holds (to scrub from messages)."""
    return url_secrets(source["secret_location"]) + option_secrets(
        source.get("storage_options") or {}
    )


def shown_location(kind: str, location: str, paths: Paths) -> str:
    """What the pages show as a source's location (uploads: relative to the data dir)."""
    if kind == "upload":
        return str(Path(location).relative_to(paths.data_dir))
    return mask_url(location)


def readable_location(source: dict[str, Any], paths: Paths) -> str:
    """A path or URL ``read_source`` reads (object storage: synced into ``cache/<id>``)."""
    if source["kind"] != "objects":
        return source["secret_location"]
    return str(sync_objects(source, paths))


def sync_objects(source: dict[str, Any], paths: Paths) -> Path:
    """Copy the tables (and schema file) under an object-storage prefix into the cache."""
    import fsspec

    from synthloom.relational.destinations import require_storage_driver

    url = source["secret_location"]
    require_storage_driver(url)
    target = paths.sub("cache", source["id"])
    try:
        fs, root = fsspec.core.url_to_fs(url, **(source.get("storage_options") or {}))
        names = [p for p in fs.ls(root, detail=False) if p.lower().endswith(UPLOAD_SUFFIXES)]
        if not names:
            raise DataError(f"object storage {mask_url(url)} holds no CSV/Parquet/JSON tables")
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        taken: set[str] = set()
        for name in names:
            suffix = Path(name).suffix.lower()
            stem = "schema" if Path(name).stem == "schema" else table_name(name, taken)
            fs.get_file(name, str(target / f"{stem}{suffix}"))
    except SynthloomError:
        raise
    except Exception as exc:
        message = scrub(
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__, secrets_of(source)
        )
        raise DataError(f"cannot read object storage {mask_url(url)}: {message}") from None
    return target


def read_all(source: dict[str, Any], paths: Paths) -> SourceData:
    """Every table of a source, keys as the source declares them."""
    location = readable_location(source, paths)
    try:
        return read_source(location, RelationalConfig())
    except SynthloomError as exc:
        raise type(exc)(scrub(str(exc), secrets_of(source))) from None


def fingerprint(data: SourceData) -> dict[str, Any]:
    """What must stay the same for a generator's config to keep meaning what it did."""
    return {
        "tables": {
            name: {"columns": [str(c) for c in frame.columns], "rows": len(frame)}
            for name, frame in data.frames.items()
        }
    }


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed between two fingerprints, one readable line each."""
    before, after = old.get("tables", {}), new.get("tables", {})
    notes = [f"table {t} is gone" for t in sorted(set(before) - set(after))]
    notes += [f"table {t} is new" for t in sorted(set(after) - set(before))]
    for name in sorted(set(before) & set(after)):
        a, b = before[name], after[name]
        if a["columns"] != b["columns"]:
            lost = [c for c in a["columns"] if c not in b["columns"]]
            added = [c for c in b["columns"] if c not in a["columns"]]
            notes.append(f"table {name}: columns changed (gone {lost}, new {added})")
        elif a["rows"] != b["rows"]:
            notes.append(f"table {name}: {a['rows']:,} rows then, {b['rows']:,} now")
    return notes


def preview(data: SourceData, rows: int = PREVIEW_ROWS) -> dict[str, Any]:
    """The first ``rows`` rows of each table, as text, with its declared keys."""
    tables = {}
    for name, frame in data.frames.items():
        head = frame.head(rows).astype(object).where(frame.head(rows).notna(), None)
        keys = data.keys.get(name, {})
        tables[name] = {
            "columns": [str(c) for c in frame.columns],
            "rows": [[_cell(v) for v in row] for row in head.itertuples(index=False)],
            "row_count": len(frame),
            "primary_key": list(keys.get("primary_key") or []),
            "foreign_keys": [
                fk.model_dump(exclude_none=True) for fk in keys.get("foreign_keys") or []
            ],
        }
    return tables


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, int | float | bool | str):
        return value
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)
