"""The embedded store: sources, generators and jobs in one SQLite file in the data dir.

One connection guarded by a lock: the server's request threads and its job manager share
it; worker processes never touch it (they write files in their job folder).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, location TEXT NOT NULL,
    secret_location TEXT NOT NULL, storage_options TEXT NOT NULL DEFAULT '{}',
    fingerprint TEXT NOT NULL DEFAULT '{}', created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS generators (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, source_id TEXT NOT NULL, config TEXT NOT NULL,
    settings TEXT NOT NULL, state TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, generator_id TEXT NOT NULL, status TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 1, pid INTEGER, created TEXT NOT NULL, started TEXT,
    finished TEXT, error TEXT, result TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS jobs_by_generator ON jobs (generator_id, created);
"""
JSON_COLUMNS = ("storage_options", "fingerprint", "config", "settings", "result")
# Job states; the last four are final.
QUEUED, RUNNING, DONE, FAILED, CANCELLED, INTERRUPTED = (
    "queued",
    "running",
    "done",
    "failed",
    "cancelled",
    "interrupted",
)
FINAL = (DONE, FAILED, CANCELLED, INTERRUPTED)


def now() -> str:
    """The current UTC time as ISO text."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_id() -> str:
    """A server-made identifier (also used in folder names: hex only)."""
    return secrets.token_hex(6)


class Store:
    """Rows as dicts; JSON columns decoded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        new = not path.exists()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if new:
            path.chmod(0o600)  # it holds the database URLs sources need, passwords included
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    # ------------------------------------------------------------------ generic
    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [_decode(dict(r)) for r in rows]

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> dict[str, Any] | None:
        rows = self._rows(sql, args)
        return rows[0] if rows else None

    def _insert(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        row = _encode(row)
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._lock:
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
            self._conn.execute(sql, tuple(row.values()))
        return _decode(row)

    def _update(self, table: str, ident: str, changes: dict[str, Any]) -> None:
        changes = _encode(changes)
        assign = ", ".join(f"{k} = ?" for k in changes)
        with self._lock:
            self._conn.execute(
                f"UPDATE {table} SET {assign} WHERE id = ?", (*changes.values(), ident)
            )

    # ------------------------------------------------------------------ sources
    def add_source(self, **row: Any) -> dict[str, Any]:
        """Insert a source (``id`` made here unless given)."""
        row.setdefault("id", new_id())
        row.setdefault("created", now())
        return self._insert("sources", row)

    def source(self, ident: str) -> dict[str, Any] | None:
        """One source by id."""
        return self._one("SELECT * FROM sources WHERE id = ?", (ident,))

    def sources(self) -> list[dict[str, Any]]:
        """Every source, newest first."""
        return self._rows("SELECT * FROM sources ORDER BY created DESC, rowid DESC")

    def update_source(self, ident: str, **changes: Any) -> None:
        """Change columns of a source."""
        self._update("sources", ident, changes)

    def delete_source(self, ident: str) -> None:
        """Forget a source."""
        with self._lock:
            self._conn.execute("DELETE FROM sources WHERE id = ?", (ident,))

    # --------------------------------------------------------------- generators
    def add_generator(self, **row: Any) -> dict[str, Any]:
        """Insert a generator."""
        row.setdefault("id", new_id())
        row.setdefault("created", now())
        row.setdefault("updated", row["created"])
        return self._insert("generators", row)

    def generator(self, ident: str) -> dict[str, Any] | None:
        """One generator by id."""
        return self._one("SELECT * FROM generators WHERE id = ?", (ident,))

    def generators(self) -> list[dict[str, Any]]:
        """Every generator, newest first."""
        return self._rows("SELECT * FROM generators ORDER BY created DESC, rowid DESC")

    def update_generator(self, ident: str, **changes: Any) -> None:
        """Change columns of a generator."""
        self._update("generators", ident, {**changes, "updated": now()})

    def delete_generator(self, ident: str) -> None:
        """Forget a generator and its jobs."""
        with self._lock:
            self._conn.execute("DELETE FROM jobs WHERE generator_id = ?", (ident,))
            self._conn.execute("DELETE FROM generators WHERE id = ?", (ident,))

    # --------------------------------------------------------------------- jobs
    def add_job(self, generator_id: str) -> dict[str, Any]:
        """Queue a new job for a generator."""
        return self._insert(
            "jobs",
            {"id": new_id(), "generator_id": generator_id, "status": QUEUED, "created": now()},
        )

    def job(self, ident: str) -> dict[str, Any] | None:
        """One job by id."""
        return self._one("SELECT * FROM jobs WHERE id = ?", (ident,))

    def jobs(self, generator_id: str | None = None) -> list[dict[str, Any]]:
        """Jobs of one generator (or all), oldest first."""
        if generator_id is None:
            return self._rows("SELECT * FROM jobs ORDER BY created, rowid")
        return self._rows(
            "SELECT * FROM jobs WHERE generator_id = ? ORDER BY created, rowid", (generator_id,)
        )

    def latest_job(self, generator_id: str) -> dict[str, Any] | None:
        """The newest job of a generator."""
        return self._one(
            "SELECT * FROM jobs WHERE generator_id = ? ORDER BY created DESC, rowid DESC LIMIT 1",
            (generator_id,),
        )

    def jobs_in(self, *states: str) -> list[dict[str, Any]]:
        """Jobs in any of ``states``, oldest first (the queue order)."""
        marks = ", ".join("?" for _ in states)
        return self._rows(
            f"SELECT * FROM jobs WHERE status IN ({marks}) ORDER BY created, rowid", states
        )

    def update_job(self, ident: str, **changes: Any) -> None:
        """Change columns of a job."""
        self._update("jobs", ident, changes)


def _encode(row: dict[str, Any]) -> dict[str, Any]:
    return {k: json.dumps(v) if k in JSON_COLUMNS else v for k, v in row.items()}


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for key in JSON_COLUMNS:
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row
