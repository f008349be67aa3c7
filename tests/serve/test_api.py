"""The REST API end to end: upload, configure, train + generate in a worker, download."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import yaml
from fastapi.testclient import TestClient

from tests.serve.conftest import FAST, upload_db, wait_for

QUICK_REPORT = {"report": {"enabled": True, "per_table": False}}


def test_sqlite_upload_to_download_and_report(client: TestClient, shop_db: Path) -> None:
    source = upload_db(client, shop_db, "shop.sqlite")
    assert source["tables"] == ["customer", "orders"]
    preview = client.get(f"/api/sources/{source['id']}/preview?rows=3").json()
    assert preview["warning"] is None
    assert preview["tables"]["customer"]["primary_key"] == ["id"]
    assert len(preview["tables"]["orders"]["rows"]) == 3
    body = {
        "source_id": source["id"],
        "name": "shop",
        "config_yaml": yaml.safe_dump(
            {**FAST, "generate": {"rebalance": {"city": {"Oslo": 0.5}}, "predict_batch_size": 99}}
        ),
        "settings": {"num_records": 12, "seed": 1, **QUICK_REPORT},
    }
    created = client.post("/api/generators", json=body)
    assert created.status_code == 201, created.text
    status = wait_for(client, created.json()["id"])
    assert status["status"] == "done", status["job"]["error"]
    stages = [(s["stage"], s["table"]) for s in status["timeline"]]
    assert stages[0] == ("loading", None)
    assert ("training", "orders") in stages and ("writing", None) in stages
    assert all(s["status"] == "done" for s in status["timeline"])

    gid = status["id"]
    archive = client.get(f"/api/generators/{gid}/data?format=csv")
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        assert sorted(zipped.namelist()) == ["customer.csv", "orders.csv"]
        customers = pd.read_csv(zipped.open("customer.csv"))
        orders = pd.read_csv(zipped.open("orders.csv"))
    assert len(customers) == 12
    assert (customers["city"] == "Oslo").sum() == 6  # the root's rebalance (real: 1 in 4)
    assert set(orders["customer_id"]) <= set(customers["id"])  # keys point to real rows
    parquet = client.get(f"/api/generators/{gid}/data?format=parquet")
    with zipfile.ZipFile(io.BytesIO(parquet.content)) as zipped:
        frame = pd.read_parquet(io.BytesIO(zipped.read("orders.parquet")))
    assert len(frame) == len(orders)

    html = client.get(f"/api/generators/{gid}/report/report.html")
    assert html.status_code == 200 and "<html" in html.text.lower()
    assert client.get(f"/api/generators/{gid}/report/report.pdf").content[:4] == b"%PDF"
    scores = client.get(f"/api/generators/{gid}/report/report.json").json()
    assert set(scores["tables"]) == {"customer", "orders"}
    assert client.get(f"/api/generators/{gid}/report/../../synthloom.sqlite").status_code == 404
    page = client.get(f"/generators/{gid}")
    assert page.status_code == 200 and "download-csv" in page.text


def test_upload_names_cannot_escape_the_data_dir(client: TestClient, tmp_path: Path) -> None:
    customers = b"id,city\n1,Oslo\n2,Lyon\n3,Porto\n"
    orders = b"id,customer_id,amount\n1,1,3.5\n2,1,4.0\n3,2,9.0\n"
    schema = yaml.safe_dump(
        {
            "tables": {
                "customer": {"primary_key": ["id"]},
                "orders": {
                    "primary_key": ["id"],
                    "foreign_keys": [
                        {"columns": ["customer_id"], "references": {"table": "customer"}}
                    ],
                },
            }
        }
    ).encode()
    files = [
        ("files", ("../../escaped/customer.csv", customers)),
        ("files", ("..\\..\\orders.csv", orders)),
        ("files", ("/etc/schema.yaml", schema)),
    ]
    response = client.post("/api/sources/upload", files=files)
    assert response.status_code == 201, response.text
    source = response.json()
    assert source["tables"] == ["customer", "orders"]
    folder = tmp_path / "data" / "uploads" / source["id"]
    assert sorted(p.name for p in folder.iterdir()) == ["customer.csv", "orders.csv", "schema.yaml"]
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "orders.csv").exists()
    check = client.post(
        "/api/generators/validate", json={"source_id": source["id"], "config": FAST}
    ).json()
    assert check["ok"] and check["schema"]["root"] == "customer"
    assert check["assessment"]["verdict"] in ("positive", "negative")
    bad = client.post("/api/sources/upload", files=[("files", ("run.sh", b"echo hi"))])
    assert bad.status_code == 400 and "upload CSV" in bad.json()["detail"]


def test_upload_size_limit(tmp_path: Path) -> None:
    from synthloom.serve import create_app

    app = create_app(tmp_path / "data", max_upload_bytes=2000, run_jobs=False)
    with TestClient(app) as small:
        big = b"id,text\n" + b"".join(b"%d,%s\n" % (i, b"x" * 50) for i in range(100))
        response = small.post("/api/sources/upload", files=[("files", ("t.csv", big))])
    assert response.status_code in (400, 413)
    assert "larger than" in response.json()["detail"]
    assert list((tmp_path / "data" / "uploads").iterdir()) == []


def test_two_roots_is_an_alert_on_the_foreign_keys_step(client: TestClient, shop_db: Path) -> None:
    source = upload_db(client, shop_db)
    config = {**FAST, "tables": {"orders": {"foreign_keys": []}}}
    response = client.post("/api/generators", json={"source_id": source["id"], "config": config})
    assert response.status_code == 422
    alerts = response.json()["alerts"]
    assert alerts[0]["step"] == "fkeys" and "exactly one" in alerts[0]["message"]
    assert client.get("/api/generators").json() == []  # nothing was created
    dp = {**FAST, "engine": "lstm", "params": {"dp": True}}
    check = {"source_id": source["id"], "config": dp}
    assert client.post("/api/generators/validate", json=check).json()["alerts"] == []
    dp["tables"] = {"orders": {"sequential": False}}  # a person's orders: not one record
    alerts = client.post("/api/generators/validate", json=check).json()["alerts"]
    assert alerts[0]["step"] == "generator" and "params.dp" in alerts[0]["message"]


def test_source_gone_or_changed(client: TestClient, tmp_path: Path) -> None:
    folder = tmp_path / "tables"
    folder.mkdir()
    pd.DataFrame({"id": [1, 2], "x": ["a", "b"]}).to_csv(folder / "things.csv", index=False)
    response = client.post("/api/sources", json={"kind": "folder", "location": str(folder)})
    assert response.status_code == 201, response.text
    sid = response.json()["id"]
    assert client.get(f"/api/sources/{sid}/preview").json()["warning"] is None
    pd.DataFrame({"id": [1], "y": [3]}).to_csv(folder / "things.csv", index=False)
    changed = client.get(f"/api/sources/{sid}/preview").json()
    assert "changed" in changed["warning"] and "columns changed" in changed["changes"][0]
    assert client.post(f"/api/sources/{sid}/accept").status_code == 200
    assert client.get(f"/api/sources/{sid}/preview").json()["warning"] is None
    (folder / "things.csv").unlink()
    folder.rmdir()
    gone = client.get(f"/api/sources/{sid}/preview")
    assert gone.status_code == 409 and "gone" in gone.json()["detail"]
    assert "gone" in client.get(f"/sources/{sid}").text


def test_folders_outside_the_roots_are_refused(client: TestClient, tmp_path: Path) -> None:
    for kind, location in (("folder", "/etc"), ("database", "sqlite:////etc/passwd.sqlite")):
        response = client.post("/api/sources", json={"kind": kind, "location": location})
        assert response.status_code == 400
        assert "--folder-root" in response.json()["detail"]
    sneaky = {"source_id": "x", "config": {**FAST, "source": "/etc"}}
    assert client.post("/api/generators/validate", json=sneaky).status_code == 404


def test_passwords_never_come_back(client: TestClient, shop_db: Path) -> None:
    secret = "Sup3rSecretPw"
    url = f"postgresql+psycopg://alice:{secret}@127.0.0.1:1/shop"
    failed = client.post("/api/sources", json={"kind": "database", "location": url})
    assert failed.status_code == 400 and secret not in failed.text
    assert "alice:***@" in failed.text
    source = upload_db(client, shop_db)
    settings = {
        "destination": {"kind": "database", "url": f"postgresql+psycopg://bob:{secret}@h/db"},
        "report": {"enabled": False},
    }
    body = {"source_id": source["id"], "config": FAST, "settings": settings, "start": False}
    created = client.post("/api/generators", json=body)
    assert created.status_code == 201, created.text
    gid = created.json()["id"]
    assert "bob:***@h/db" in created.text
    started = client.post(f"/api/generators/{gid}/start")
    assert started.status_code == 200
    status = wait_for(client, gid)
    assert status["status"] == "failed"  # nothing listens at host h
    seen = [
        client.get(path).text
        for path in (
            "/",
            "/api/sources",
            f"/api/generators/{gid}",
            f"/generators/{gid}",
            f"/api/jobs/{status['job']['id']}",
        )
    ]
    seen += [created.text, started.text, json.dumps(status)]
    assert all(secret not in text for text in seen)
    log = next((Path(client.app.state.services.paths.data_dir) / "jobs").glob("*/log.txt"))
    assert secret not in log.read_text()


def test_queue_and_cancel(tmp_path: Path, shop_db: Path) -> None:
    from synthloom.serve import create_app

    app = create_app(tmp_path / "data", workers=1)
    with TestClient(app) as client:
        source = upload_db(client, shop_db)
        body = {"source_id": source["id"], "config": {**FAST, "engine": "lstm"}}
        first = client.post("/api/generators", json=body).json()["id"]
        second = client.post("/api/generators", json=body).json()["id"]
        assert wait_for(client, first, ("running",))["status"] == "running"
        assert client.get(f"/api/generators/{second}/status").json()["status"] == "queued"
        again = client.post(f"/api/generators/{first}/start")
        assert again.status_code == 400 and "already has a running job" in again.text
        cancelled = client.post(f"/api/generators/{first}/cancel").json()
        assert cancelled["status"] == "cancelled" and cancelled["job"]["restartable"]
        assert wait_for(client, second, ("running",))["status"] == "running"
        assert client.post(f"/api/generators/{second}/cancel").status_code == 200
        assert client.post(f"/api/generators/{second}/cancel").status_code == 400


def test_a_delta_of_1_over_n_or_more_is_an_alert(client: TestClient, tmp_path: Path) -> None:
    rows = "".join(f"{i},{'ab'[i % 2]},{i % 7}\n" for i in range(200))
    files = [("files", ("people.csv", ("id,kind,score\n" + rows).encode()))]
    source = client.post("/api/sources/upload", files=files).json()["id"]

    def alerts(delta: float) -> list[dict]:
        config = {"engine": "lstm", "params": {"dp": True, "dp_epsilon": 4, "dp_delta": delta}}
        body = {"source_id": source, "config": config}
        return client.post("/api/generators/validate", json=body).json()["alerts"]

    refused = alerts(1 / 200)
    assert refused and refused[0]["step"] == "generator" and "below 1/n" in refused[0]["message"]
    assert not [a for a in alerts(1e-4) if "dp_delta" in a["message"]]


def test_every_alert_shows_at_once_on_its_step(client: TestClient, shop_db: Path) -> None:
    source = upload_db(client, shop_db)["id"]
    config = {"engine": "lstm", "params": {"epochs": -3, "learning_rate": "abc"}}
    settings = {"num_records": 0, "report": {"limits": {"nope": 1}}}
    body = {"source_id": source, "config": config, "settings": settings}
    alerts = client.post("/api/generators/validate", json=body).json()["alerts"]
    found = {(a["step"], a["message"].split(":")[0].split("=")[0]) for a in alerts}
    assert ("generator", "params.epochs") in found
    assert ("generator", "params.learning_rate") in found
    assert ("generation", "num_records") in found and any(s == "report" for s, _ in found)


def test_rows_with_references_to_no_parent_are_shown_not_hidden(
    client: TestClient, shop_db: Path
) -> None:
    import sqlite3

    with sqlite3.connect(shop_db) as conn:
        conn.executemany(
            "INSERT INTO orders VALUES (?, 999, 1.5, 'a')", [(1000 + i,) for i in range(4)]
        )
    source = upload_db(client, shop_db)["id"]
    body = {"source_id": source, "config": FAST}
    checked = client.post("/api/generators/validate", json=body).json()
    assert checked["ok"]  # a note, not an alert
    assert any("4 of 49 rows match no customer row" in n for n in checked["notes"])
    schema = checked["schema"]
    assert schema["rows_read"]["orders"] - schema["rows_learned"]["orders"] == 4
    gid = client.post("/api/generators", json={**body, "start": False}).json()["id"]
    page = client.get(f"/generators/{gid}/configure/treatment").text
    assert 'name="orphans:orders"' in page and "match no customer row" in page


def test_runs_are_kept_and_generators_renamed_cloned_deleted(
    client: TestClient, shop_db: Path, tmp_path: Path
) -> None:
    source = upload_db(client, shop_db, name="shop.sqlite")
    assert source["origin"] == ["shop.sqlite"] and source["created"]
    settings = {"num_records": 6, "report": {"enabled": False}}
    body = {"source_id": source["id"], "config": FAST, "settings": settings}
    gid = client.post("/api/generators", json=body).json()["id"]
    assert wait_for(client, gid)["status"] == "done"
    client.post(f"/api/generators/{gid}/start")
    status = wait_for(client, gid)
    runs = [j["id"] for j in client.get(f"/api/generators/{gid}").json()["jobs"]]
    assert status["status"] == "done" and len(runs) == 2
    for run in runs:  # the first run's data is still there
        zipped = client.get(f"/api/generators/{gid}/data", params={"job": run})
        assert zipped.status_code == 200
        with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
            assert len(pd.read_csv(archive.open("customer.csv"))) == 6
    page = client.get(f"/generators/{gid}").text
    assert all(f'data-job="{run}"' in page for run in runs)
    renamed = client.patch(f"/api/generators/{gid}", json={"name": "shop v2"})
    assert renamed.json()["name"] == "shop v2"
    copy = client.post(f"/api/generators/{gid}/clone").json()
    assert copy["name"] == "shop v2 (copy)" and copy["state"] == "draft" and copy["jobs"] == []
    in_use = client.delete(f"/api/sources/{source['id']}")
    assert in_use.status_code == 409 and "shop v2" in in_use.json()["detail"]
    assert client.delete(f"/api/generators/{gid}").status_code == 204
    assert client.get(f"/api/generators/{gid}").status_code == 404
    data = tmp_path / "data"
    assert not (data / "models" / gid).exists() and not (data / "outputs" / gid).exists()
    assert not any((data / "jobs" / run).exists() for run in runs)


def test_the_source_profile_counts_key_problems(client: TestClient, shop_db: Path) -> None:
    import sqlite3

    with sqlite3.connect(shop_db) as conn:
        conn.executemany(
            "INSERT INTO orders VALUES (?, ?, NULL, 'a')",
            [(2000, 999), (2001, 998), (2002, None)],
        )
    source = upload_db(client, shop_db)["id"]
    profile = client.get(f"/api/sources/{source}/profile").json()
    (fk,) = profile["orders"]["foreign_keys"]
    assert (fk["orphans"], fk["missing"], fk["parent"]) == (2, 1, "customer")
    amount = next(c for c in profile["orders"]["columns"] if c["name"] == "amount")
    assert amount["kind"] == "number" and amount["missing_share"] == round(3 / 48, 4)
    assert profile["customer"]["duplicate_keys"] == 0
    page = client.get(f"/sources/{source}").text
    assert "2 of 48 rows match no customer row, 1 have none" in page


def test_a_star_schema_root_says_why(client: TestClient, tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "star.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE store (sid INTEGER PRIMARY KEY, city TEXT);
            CREATE TABLE sales (id INTEGER PRIMARY KEY,
                store_id INTEGER REFERENCES store(sid), amount REAL);
            """
        )
        conn.executemany("INSERT INTO store VALUES (?, ?)", [(1, "Oslo"), (2, "Lyon")])
        conn.executemany(
            "INSERT INTO sales VALUES (?, ?, ?)", [(i, 1 + i % 2, i * 1.5) for i in range(40)]
        )
    source = upload_db(client, path)["id"]
    config = {**FAST, "tables": {"store": {"original": True}}}
    checked = client.post("/api/generators/validate", json={"source_id": source, "config": config})
    schema = checked.json()["schema"]
    assert checked.json()["ok"] and schema["root"] == "sales"
    assert schema["root_reason"] == "its parents (store) are all original tables"


def test_columns_marked_sensitive_are_attacked_in_the_report(
    client: TestClient, shop_db: Path
) -> None:
    source = upload_db(client, shop_db, "shop.sqlite")
    settings = {
        "num_records": 30,
        "seed": 1,
        "report": {"enabled": True, "per_table": True},
        "sensitive": {"customer": ["city"]},
    }
    body = {"source_id": source["id"], "config_yaml": yaml.safe_dump(FAST), "settings": settings}
    created = client.post("/api/generators", json=body)
    assert created.status_code == 201, created.text
    status = wait_for(client, created.json()["id"])
    assert status["status"] == "done", status["job"]["error"]
    report = client.get(f"/api/generators/{status['id']}/report/customer/report.json")
    assert report.status_code == 200, report.text
    attack = report.json()["privacy"]["attribute_inference"]
    assert attack["sensitive_columns"] == ["city"]
    assert [a["column"] for a in attack["attacks"]] == ["city"]
