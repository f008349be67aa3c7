"""Fixtures of the web-app tests: a tiny shop database made here, an app on a temp dir."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from synthloom.serve import create_app

FAST = {"engine": "amplify", "params": {"seed": 0}}


def make_shop(path: Path, customers: int = 30) -> Path:
    """An SQLite shop: customers (root) → orders, with declared keys."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE customer (id INTEGER PRIMARY KEY, city TEXT, age INTEGER);
        CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER
            REFERENCES customer(id), amount REAL, kind TEXT);
        """
    )
    cities = ["Oslo", "Lyon", "Porto", "Gent"]
    conn.executemany(
        "INSERT INTO customer VALUES (?, ?, ?)",
        [(i, cities[i % 4], 20 + (i * 7) % 50) for i in range(1, customers + 1)],
    )
    rows, n = [], 1
    for c in range(1, customers + 1):
        for k in range(c % 4):
            rows.append((n, c, round(5 + (c * 13 + k * 7) % 90 + 0.5, 2), "ab"[k % 2]))
            n += 1
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def shop_db(tmp_path: Path) -> Path:
    """A fresh tiny shop database."""
    return make_shop(tmp_path / "shop.sqlite")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """An app on a fresh data dir (no token), its job manager running."""
    app = create_app(tmp_path / "data", folder_roots=[tmp_path])
    with TestClient(app) as test_client:
        yield test_client


def upload_db(client: TestClient, path: Path, name: str = "x.sqlite") -> dict:
    """Upload an SQLite file through the API; returns the source."""
    with path.open("rb") as handle:
        response = client.post("/api/sources/upload", files=[("files", (name, handle))])
    assert response.status_code == 201, response.text
    return response.json()


def wait_for(
    client: TestClient,
    generator_id: str,
    states: tuple[str, ...] = ("done",),
    timeout: float = 120.0,
    **headers: str,
) -> dict:
    """Poll the status until it is one of ``states`` (or a final one) or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/generators/{generator_id}/status", headers=headers).json()
        if status["status"] in (*states, "done", "failed", "cancelled", "interrupted"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"generator {generator_id} still {status['status']} after {timeout}s")
