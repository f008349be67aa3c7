"""Sources of the web app: uploaded files, database URLs, server folders, object storage.

Uploads are stored under server-made names in ``uploads/<id>/``; every other location goes
through the server's :class:`~synthloom.io.boundary.Boundary` (folder roots, never the data
dir) at registration and again at every read, so no request can read other files by path.
The values a source holds are counted before it is read (:mod:`synthloom.io.sizes`). A
fingerprint taken at registration (tables, columns, row counts) tells a source that is
gone or changed.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthloom.errors import ConfigError, DataError, SynthloomError
from synthloom.io.boundary import Boundary
from synthloom.io.sizes import check_cells
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


MAX_CELLS = 20_000_000
MAX_COLUMNS = 1_000


@dataclass
class Paths:
    """Folders of the data dir, the roots folder sources may come from, and the limits of
    what one source may hold."""

    data_dir: Path
    folder_roots: list[Path] = field(default_factory=list)
    max_cells: int = MAX_CELLS
    max_bytes: int = 200 * 1024 * 1024

    @property
    def boundary(self) -> Boundary:
        """What locations may touch: the folder roots, never the data dir."""
        return Boundary(self.folder_roots, [self.data_dir])

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


def display(source: dict[str, Any]) -> dict[str, Any]:
    """A source as the API and pages show it: no password, no storage secrets."""
    return {
        "id": source["id"],
        "name": source["name"],
        "kind": source["kind"],
        "location": source["location"],
        "storage_options": mask_options(source.get("storage_options") or {}),
        "created": source["created"],
        "origin": [mask_url(o) for o in source.get("fingerprint", {}).get("origin") or []],
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


def checked_location(kind: str, location: str, options: dict[str, Any], paths: Paths) -> str:
    """A source location the boundary allows (a folder: its resolved path)."""
    if kind == "database":
        return paths.boundary.database(location)
    if kind == "folder":
        return str(paths.boundary.folder(location))
    if kind == "objects":
        return paths.boundary.objects(location, options)
    if kind == "upload":
        return location  # made by the server under uploads/<id>
    raise ConfigError(f"source kind {kind!r} is not database, folder or objects")


def readable_location(source: dict[str, Any], paths: Paths) -> str:
    """A path or URL ``read_source`` reads, checked again at every read (a folder's files
    may have become links since registration; object storage is synced into the cache)."""
    options = source.get("storage_options") or {}
    location = checked_location(source["kind"], source["secret_location"], options, paths)
    if source["kind"] == "objects":
        location = str(sync_objects(source, paths))
    _check_size(location, paths)
    return location


def _check_size(location: str, paths: Paths) -> None:
    from sqlalchemy.engine import make_url

    if is_database_url(location):
        parsed = make_url(location)
        if parsed.get_backend_name() != "sqlite" or not Path(parsed.database or "").is_file():
            return  # a server database: counted as it is read
        files = [Path(parsed.database or "")]
    else:
        folder = Path(location)
        files = [folder] if folder.is_file() else sorted(folder.glob("*"))
    check_cells([f for f in files if f.is_file()], paths.max_cells)


def sync_objects(source: dict[str, Any], paths: Paths) -> Path:
    """Copy the tables (and schema file) under an object-storage prefix into the cache."""
    import fsspec

    from synthloom.relational.destinations import require_storage_driver

    url = source["secret_location"]
    require_storage_driver(url)
    target = paths.data_dir / "cache" / source["id"]
    try:
        fs, root = fsspec.core.url_to_fs(url, **(source.get("storage_options") or {}))
        listed = fs.ls(root, detail=True)
        found = [e for e in listed if str(e["name"]).lower().endswith(UPLOAD_SUFFIXES)]
        if not found:
            raise DataError(f"object storage {mask_url(url)} holds no CSV/Parquet/JSON tables")
        size = sum(int(e.get("size") or 0) for e in found)
        if size > paths.max_bytes:
            raise DataError(
                f"object storage {mask_url(url)} holds {size / 2**20:,.0f} MiB of tables, more "
                f"than this server's limit of {paths.max_bytes / 2**20:,.0f} MiB; sample them"
            )
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        taken: set[str] = set()
        for entry in found:
            name = str(entry["name"])
            suffix = Path(name).suffix.lower()
            stem = "schema" if Path(name).stem == "schema" else table_name(name, taken)
            fs.get_file(name, str(target / f"{stem}{suffix}"))
    except SynthloomError:
        shutil.rmtree(target, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(target, ignore_errors=True)
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
