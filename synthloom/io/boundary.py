"""The one place that decides what a location may touch (the web app's folder roots).

A :class:`Boundary` holds the folders a server may read and write (its ``--folder-root``
options) and the folders it must never expose (its own data dir: the credential store,
other users' uploads and models). Every source, destination and cache path of the web app
goes through it; the CLI may use it too. The rules:

* database URLs by dialect and driver name (an allow-list); an SQLite file only as a plain
  path resolved (symlinks followed) under a root, never in URI mode (``file:``,
  ``?uri=true``, ``mode=``, ``vfs=``: SQLite reads those differently from a path) and never
  with a user, password or host; query options only from a short list that names no
  local file;
* object storage only by a protocol that is remote by nature (``s3://``, ``gs://``,
  ``az://`` …), one link (no ``simplecache::`` or other wrappers, which keep local caches),
  and no storage option that names a local file;
* local folders and files only as resolved real paths under a root, outside the data dir.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from synthloom.errors import ConfigError
from synthloom.io.urls import (
    OBJECT_PROTOCOLS,
    fsspec_links,
    is_database_url,
    mask_url,
)

# Dialect → drivers by name (None: the dialect's default driver).
DATABASE_DRIVERS: dict[str, set[str | None]] = {
    "sqlite": {None, "pysqlite"},
    "postgresql": {None, "psycopg", "psycopg2", "pg8000"},
    "mysql": {None, "pymysql", "mysqldb", "mysqlconnector"},
    "mariadb": {None, "pymysql", "mysqldb", "mysqlconnector"},
    "mssql": {None, "pyodbc", "pymssql"},
    "oracle": {None, "oracledb", "cx_oracle"},
}
# Query options of a server database URL that name no local file (sslkey, passfile,
# read_default_file, local_infile and the like are refused).
DATABASE_QUERY_KEYS = frozenset(
    {
        "sslmode",
        "connect_timeout",
        "application_name",
        "target_session_attrs",
        "client_encoding",
        "charset",
        "password",
        "driver",
        "encrypt",
        "trustservercertificate",
        "service_name",
    }
)
SQLITE_QUERY_KEYS = frozenset({"timeout"})
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


class Boundary:
    """What requests may read and write: paths under ``roots``, never under ``forbidden``.

    Args:
        roots: Folders that folder sources and SQLite files may come from (resolved).
        forbidden: Folders never readable or writable through a location, even under a
            root (the server's data dir).
    """

    def __init__(self, roots: list[Path], forbidden: list[Path] | None = None) -> None:
        self.roots = [Path(r).expanduser().resolve() for r in roots]
        self.forbidden = [Path(f).expanduser().resolve() for f in forbidden or []]

    # -------------------------------------------------------------------- paths
    def path(self, path: str | Path, what: str) -> Path:
        """``path`` resolved (symlinks followed), refused unless under a root and outside
        the forbidden folders."""
        text = str(path)
        if "\x00" in text:
            raise ConfigError(f"{what} contains a NUL character; give a plain path")
        resolved = Path(text).expanduser().resolve()
        for folder in self.forbidden:
            if resolved == folder or resolved.is_relative_to(folder):
                raise ConfigError(
                    f"{what} {resolved} is inside the server's own data folder, which no "
                    "source or destination may use; choose a folder under --folder-root"
                )
        if any(resolved == r or resolved.is_relative_to(r) for r in self.roots):
            return resolved
        allowed = ", ".join(str(r) for r in self.roots) or "none"
        raise ConfigError(
            f"{what} {resolved} is outside the folders this server may read ({allowed}); "
            "start it with --folder-root DIR, or upload the files"
        )

    def folder(self, location: str) -> Path:
        """A local folder source (a path, ``file://`` or ``local://``) and every table and
        schema file in it, each resolved under a root."""
        folder = self.path(self._local(location, "folder"), "folder")
        if folder.is_dir():
            for entry in folder.iterdir():
                if entry.is_symlink() or entry.is_file():
                    self.path(entry, "file")
        return folder

    def _local(self, location: str, what: str) -> str:
        if "://" not in location and "::" not in location:
            return location
        links = fsspec_links(location)
        if len(links) != 1 or links[0].protocol not in ("file", "local"):
            raise ConfigError(
                f"a {what} source is a server path under --folder-root (or file://PATH); "
                f"{mask_url(location)} is not"
            )
        return links[0].path

    # ---------------------------------------------------------------- databases
    def database(self, url: str, write: bool = False) -> str:
        """A SQLAlchemy URL the server may open (``write``: as a destination)."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        if not is_database_url(url):
            raise ConfigError(
                "a database needs a SQLAlchemy URL (sqlite:////path/db.sqlite, "
                "postgresql+psycopg://user:pw@host/db, mysql+pymysql://…)"
            )
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise ConfigError(
                f"cannot read database URL {mask_url(url)}; write it as "
                "dialect+driver://user:password@host/database"
            ) from None
        dialect, _, driver = parsed.drivername.partition("+")
        drivers = DATABASE_DRIVERS.get(dialect)
        if drivers is None or (driver or None) not in drivers:
            known = ", ".join(sorted(DATABASE_DRIVERS))
            raise ConfigError(
                f"database driver {parsed.drivername!r} is not accepted by this server; "
                f"use one of {known} with its usual driver"
            )
        if dialect == "sqlite":
            self._sqlite(parsed, write)
        else:
            refused = sorted(k for k in parsed.query if k.lower() not in DATABASE_QUERY_KEYS)
            if refused:
                raise ConfigError(
                    f"database URL option {refused[0]!r} is not accepted by this server (it "
                    f"may name local files); accepted: {', '.join(sorted(DATABASE_QUERY_KEYS))}"
                )
        return url

    def _sqlite(self, parsed: Any, write: bool) -> None:
        if parsed.username or parsed.password or parsed.host or parsed.port:
            raise ConfigError(
                "an SQLite URL has no user, password or host: write sqlite:////path/db.sqlite"
            )
        database = parsed.database or ""
        if not database or database == ":memory:":
            raise ConfigError("an SQLite database needs a file: sqlite:////path/to/db.sqlite")
        refused = sorted(k for k in parsed.query if k.lower() not in SQLITE_QUERY_KEYS)
        if database.lower().startswith("file:") or refused:
            raise ConfigError(
                "SQLite URI mode (file:…, ?uri=true, mode=, vfs=) is not accepted by this "
                "server; write a plain path: sqlite:////path/to/db.sqlite"
            )
        self.path(database, "database file" if not write else "destination database file")

    # ----------------------------------------------------------- object storage
    def objects(self, url: str, storage_options: dict[str, Any] | None = None) -> str:
        """An object-storage URL of a remote store, with options that name no local file."""
        links = fsspec_links(url) if "://" in url or "::" in url else []
        if len(links) != 1 or links[0].protocol not in OBJECT_PROTOCOLS:
            known = ", ".join(f"{p}://" for p in sorted(OBJECT_PROTOCOLS))
            raise ConfigError(
                f"object storage must be one remote store URL ({known}); {mask_url(url)} is "
                "not (a local folder is a folder source under --folder-root)"
            )
        self._options(storage_options or {})
        return url

    def _options(self, options: dict[str, Any]) -> None:
        for key, value in options.items():
            if isinstance(value, dict):
                self._options(value)
            elif isinstance(value, str) and _names_local_file(value):
                raise ConfigError(
                    f"storage option {key!r} names a local file; this server reads no local "
                    "files for object storage: pass the credentials themselves"
                )

    # -------------------------------------------------------------- destinations
    def destination(self, destination: dict[str, Any]) -> None:
        """A generator's destination setting: app storage, a database or object storage,
        with its driver installed (checked before any training)."""
        from synthloom.io.urls import require_database_driver, require_storage_driver

        kind = destination.get("kind", "app")
        url = str(destination.get("url") or "")
        if destination.get("format", "csv") not in ("csv", "parquet"):
            raise ConfigError("destination format must be csv or parquet")
        if kind == "database":
            self.database(url, write=True)
            require_database_driver(url)
        elif kind == "objects":
            self.objects(url, destination.get("storage_options"))
            require_storage_driver(url)
        elif kind != "app":
            raise ConfigError(f"destination kind {kind!r} is not app, database or objects")


def _names_local_file(value: str) -> bool:
    text = value.strip()
    return (
        text.startswith(("/", "~", "\\", "file:", "local:"))
        or bool(_WINDOWS_DRIVE.match(text))
        or text.startswith(("./", "../"))
    )
