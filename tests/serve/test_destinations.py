"""Object-storage sources and database destinations through the API."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient

from tests.relational.conftest import s3_server  # noqa: F401  (a fixture)
from tests.serve.conftest import FAST, upload_db, wait_for


def test_object_storage_source(client: TestClient, s3_server: dict) -> None:  # noqa: F811
    import fsspec

    fs = fsspec.filesystem("s3", **s3_server)
    fs.pipe("synthetic/shop/customer.csv", b"id,city\n1,Oslo\n2,Lyon\n")
    fs.pipe("synthetic/shop/orders.csv", b"id,customer_id\n1,1\n2,1\n3,2\n")
    options = {**s3_server, "secret": "s3-secret-value"}
    body = {"kind": "objects", "location": "s3://synthetic/shop", "storage_options": options}
    registered = client.post("/api/sources", json=body)
    assert registered.status_code == 201, registered.text
    source = registered.json()
    assert source["tables"] == ["customer", "orders"]
    assert source["storage_options"]["secret"] == "***"
    assert "s3-secret-value" not in client.get("/").text
    preview = client.get(f"/api/sources/{source['id']}/preview").json()
    assert preview["tables"]["orders"]["rows"][2] == [3, 2]
    fs.rm("synthetic/shop/orders.csv")
    assert "table orders is gone" in client.get(f"/api/sources/{source['id']}/preview").text


def test_database_destination(client: TestClient, shop_db: Path, tmp_path: Path) -> None:
    source = upload_db(client, shop_db)
    target = tmp_path / "out" / "synthetic.sqlite"
    target.parent.mkdir()
    settings = {
        "num_records": 7,
        "destination": {"kind": "database", "url": f"sqlite:///{target}"},
        "report": {"enabled": False},
    }
    outside = {**settings, "destination": {"kind": "database", "url": "sqlite:////etc/x.db"}}
    refused = client.post(
        "/api/generators", json={"source_id": source["id"], "config": FAST, "settings": outside}
    )
    assert refused.status_code == 422 and refused.json()["alerts"][0]["step"] == "generation"
    body = {"source_id": source["id"], "config": FAST, "settings": settings}
    gid = client.post("/api/generators", json=body).json()["id"]
    status = wait_for(client, gid)
    assert status["status"] == "done", status["job"]["error"]
    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT COUNT(*) FROM customer").fetchone()[0] == 7
        orphans = "SELECT COUNT(*) FROM orders WHERE customer_id NOT IN (SELECT id FROM customer)"
        assert conn.execute(orphans).fetchone()[0] == 0
    download = client.get(f"/api/generators/{gid}/data")
    assert download.status_code == 404 and "destination" in download.json()["detail"]
