"""The configurator pages through plain form posts (the browser test does it in Chromium)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from synthloom.serve.security import CSRF_COOKIE
from tests.serve.conftest import upload_db, wait_for


def step(client: TestClient, gid: str, name: str, form: dict, go: str = "next"):
    token = client.cookies.get(CSRF_COOKIE)
    return client.post(
        f"/generators/{gid}/configure/{name}",
        data={**form, "csrf": token, "go": go},
        follow_redirects=True,
    )


def test_configurator_walk_with_alerts(client: TestClient, shop_db: Path) -> None:
    source = upload_db(client, shop_db)
    page = client.get(f"/sources/{source['id']}")
    assert page.status_code == 200 and "Connection OK" in page.text and "Oslo" in page.text
    token = client.cookies.get(CSRF_COOKIE)
    draft = client.post(
        f"/sources/{source['id']}/new-generator", data={"csrf": token, "name": "walk"}
    )
    assert draft.url.path.endswith("/configure/data")
    gid = draft.url.path.split("/")[2]
    columns = {f"column:customer:{c}": "1" for c in ("id", "city", "age")}
    columns |= {f"column:orders:{c}": "1" for c in ("id", "customer_id", "amount", "kind")}
    keys = step(client, gid, "data", {"table:customer": "1", "table:orders": "1", **columns})
    assert re.search(r'name="pkcol:customer:id" value="1"\s+checked', keys.text)  # declared
    picked = {"pkpicked:customer": "1", "pkpicked:orders": "1"}
    fkeys = step(client, gid, "keys", {**picked, "pkcol:customer:id": "1", "pkcol:orders:id": "1"})
    assert re.search(r'name="fkcol:orders:0:customer_id" value="1"\s+checked', fkeys.text)
    assert re.search(r'<option value="customer" selected>customer</option>', fkeys.text)
    unset = {"fkpicked:customer": "1", "fkpicked:orders": "1"}
    two_roots = step(client, gid, "fkeys", unset, go="stay")
    alert = re.search(
        r'<p class="alert here" role="alert" data-step="fkeys">(.*?)</p>', two_roots.text, re.S
    )
    assert alert and "exactly one" in alert.group(1)
    report = client.get(f"/generators/{gid}/configure/report")
    assert re.search(r'id="create"\s+disabled', report.text)  # Create waits for the fix
    assert "fix on step" in report.text
    reference = {"fkcol:orders:0:customer_id": "1", "fkparent:orders:0": "customer"}
    fixed = step(client, gid, "fkeys", {**unset, **reference})
    assert "exactly one" not in fixed.text
    kept = step(
        client,
        gid,
        "treatment",
        {"treat:customer:city": "keep", "sensitive:customer:city": "1"},
        go="stay",
    )
    assert "marked sensitive but kept" in kept.text
    step(
        client,
        gid,
        "treatment",
        {"treat:customer:city": "synthesize", "sensitive:customer:city": "1"},
    )
    generation = step(
        client,
        gid,
        "generator",
        {"engine": "amplify", "preset": "small", "epochs": "oops"},
        go="stay",
    )
    assert "params.epochs: &#39;oops&#39; is not a number" in generation.text
    settings = {"engine": "amplify", "preset": "small", "learning_rate_schedule": "constant"}
    step(client, gid, "generator", settings)
    generation = {"num_records": "8", "destination_kind": "app", "format": "parquet"}
    not_root = step(
        client, gid, "generation", {**generation, "rebalance": "kind: a=0.5"}, go="stay"
    )
    alert = re.search(
        r'<p class="alert here" role="alert" data-step="generation">(.*?)</p>', not_root.text, re.S
    )
    assert alert and "not a synthesized column of the root table customer" in alert.group(1)
    unreadable = step(client, gid, "generation", {**generation, "rebalance": "city"}, go="stay")
    assert "column: value=share" in unreadable.text
    generation |= {"rebalance": "city: Oslo=0.5", "batch_size": "4096"}
    saved = step(client, gid, "generation", generation, go="stay")
    assert "Applies to the root table (customer) only" in saved.text
    assert 'value="city: Oslo=0.5"' in saved.text and 'id="no-alerts"' in saved.text
    report = step(client, gid, "generation", generation)
    assert 'id="assessment"' in report.text and "Complexity" in report.text
    assert not re.search(r'id="create"\s+disabled', report.text)
    created = step(client, gid, "report", {"report_enabled": "1"}, go="create")
    assert created.url.path == f"/generators/{gid}"
    generator = client.get(f"/api/generators/{gid}").json()
    assert generator["config"]["tables"]["orders"]["foreign_keys"] == [
        {"columns": ["customer_id"], "references": {"table": "customer"}}
    ]
    assert generator["config"]["params"]["rnn_units"] == 64  # the small preset
    assert generator["config"]["params"]["learning_rate_schedule"] == "constant"
    assert generator["config"]["generate"] == {
        "rebalance": {"city": {"Oslo": 0.5}},
        "predict_batch_size": 4096,
    }
    assert generator["settings"]["destination"]["format"] == "parquet"
    assert generator["status"] in ("queued", "running")
    assert client.post(f"/api/generators/{gid}/cancel").json()["status"] == "cancelled"
    assert wait_for(client, gid)["status"] == "cancelled"


def test_bad_numbers_stay_visible_beside_their_error(client: TestClient, shop_db: Path) -> None:
    source = upload_db(client, shop_db)
    client.get(f"/sources/{source['id']}")  # sets the CSRF cookie
    token = client.cookies.get(CSRF_COOKIE)
    draft = client.post(
        f"/sources/{source['id']}/new-generator", data={"csrf": token, "name": "typed"}
    )
    gid = draft.url.path.split("/")[2]
    step(client, gid, "generator", {"engine": "lstm", "dp_epsilon": "2"}, go="stay")
    page = step(client, gid, "generator", {"engine": "lstm", "dp_epsilon": "abc", "epochs": "-3"})
    assert 'name="dp_epsilon" value="abc"' in page.text and 'name="epochs" value="-3"' in page.text
    errors = re.findall(r'<span class="field-error" role="alert">(.*?)</span>', page.text)
    assert any("not a number" in e for e in errors) and any("greater than" in e for e in errors)
    assert "Privacy budget ε" in page.text and "default: 100" in page.text
    params = client.get(f"/api/generators/{gid}").json()["config"]["params"]
    assert params.get("dp_epsilon") == 2 and "epochs" not in params  # nothing bad was saved
