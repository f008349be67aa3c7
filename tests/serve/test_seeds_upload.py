"""Seeds at the generation step (issue 30): rows like these, through the pages and the API."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from synthloom.serve.security import CSRF_COOKIE
from tests.serve.conftest import FAST, upload_db, wait_for
from tests.serve.test_pages import step

CITIES = ["Oslo", "Lyon", "Porto", "Gent"]
# A tiny LSTM: its categorical columns refuse values never seen in training (amplify warns).
TINY_LSTM = {
    "engine": "lstm",
    "params": {"seed": 0, "epochs": 1, "rnn_units": 8, "embedding_dim": 4, "rnn_layers": 1},
}
NO_REPORT = {"num_records": 7, "report": {"enabled": False}}
SEEDS = b"city,age\nGent,30\nOslo,41\nGent,22\n"


def upload_people(client: TestClient) -> dict:
    """One table (no keys declared): a generator of it is a table model."""
    rows = [f"{i},{CITIES[i % 4]},{20 + (i * 7) % 50}" for i in range(1, 41)]
    text = ("id,city,age\n" + "\n".join(rows) + "\n").encode()
    response = client.post("/api/sources/upload", files=[("files", ("people.csv", text))])
    assert response.status_code == 201, response.text
    return response.json()


def people_zip(client: TestClient, gid: str, job: str | None = None) -> pd.DataFrame:
    params = {"format": "csv", **({"job": job} if job else {})}
    response = client.get(f"/api/generators/{gid}/data", params=params)
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return pd.read_csv(archive.open("people.csv"))


def assert_seeded(frame: pd.DataFrame) -> None:
    seeds = pd.read_csv(io.BytesIO(SEEDS))
    assert len(frame) == len(seeds)  # one record per seed row, not num_records=7
    assert frame["city"].tolist() == seeds["city"].tolist()
    assert frame["age"].tolist() == seeds["age"].tolist()


def put_seeds(client: TestClient, gid: str, name: str, content: bytes):
    return client.put(f"/api/generators/{gid}/seeds", files={"file": (name, content)})


def test_api_seeds_bad_at_the_job_then_good_then_refused_up_front(
    client: TestClient, tmp_path: Path
) -> None:
    source = upload_people(client)
    body = {"source_id": source["id"], "config": TINY_LSTM, "settings": NO_REPORT, "start": False}
    gid = client.post("/api/generators", json=body).json()["id"]
    data = tmp_path / "data"

    # untrained: the category is checked by the model, so the job fails with its one line
    paris = b"city\nParis\nOslo\n"
    started = client.post(f"/api/generators/{gid}/start", files={"seeds": ("x.csv", paris)})
    assert started.status_code == 200, started.text
    failed = wait_for(client, gid)
    error = failed["job"]["error"]
    assert failed["status"] == "failed" and "never seen in training: 'Paris'" in error
    assert "\n" not in error and "Traceback" not in error
    first = failed["job"]["id"]
    assert not (data / "outputs" / gid / first).exists()  # nothing written
    assert (data / "jobs" / first / "seeds.csv").read_bytes() == paris  # what the run used

    # good seeds: one record per seed row, the seeded columns as given; the model is reused
    started = client.post(f"/api/generators/{gid}/start", files={"seeds": ("../../s.csv", SEEDS)})
    assert started.status_code == 200, started.text
    warnings = started.json()["seeds_warnings"]  # the model's own: age 41 never seen
    assert len(warnings) == 1 and "seed column 'age'" in warnings[0]
    done = wait_for(client, gid)
    assert done["status"] == "done", done["job"]["error"]
    assert done["job"]["result"]["seeds"] == {"name": "s.csv", "rows": 3}
    assert done["timeline"][0]["detail"] == "model trained by an earlier run: reused"
    assert_seeded(people_zip(client, gid))
    settings = client.get(f"/api/generators/{gid}").json()["settings"]
    assert settings["seeds"] == {"name": "s.csv", "rows": 3, "columns": ["city", "age"]}
    stored = sorted(p.name for p in (data / "seeds" / gid).iterdir())
    assert stored == ["seeds.csv"]  # a server-made name, inside the data dir
    assert not (tmp_path / "s.csv").exists()

    # trained: every bad file is a 400 with the one-line reason, and nothing changes
    bad = {
        "paris.csv": (b"city\nParis\n", "never seen in training: 'Paris'"),
        "town.csv": (b"town\nOslo\n", "['town'] are not columns the table people learns"),
        "empty.csv": (b"city,age\n", "'empty.csv': data file empty.csv has a header but no rows"),
        "blank.csv": (b"", "'blank.csv': "),
        "broken.parquet": (b"PAR1 not a parquet file", "broken.parquet is not a readable Parquet"),
        "seeds.sqlite": (b"SQLite format 3\x00...", "upload one table file"),
    }
    for name, (content, reason) in bad.items():
        response = put_seeds(client, gid, name, content)
        assert response.status_code == 400, (name, response.text)
        detail = response.json()["detail"]
        assert reason in detail and "\n" not in detail, (name, detail)
        assert str(data) not in detail  # no server path
    refused = client.post(
        f"/api/generators/{gid}/start", files={"seeds": ("p.csv", b"city\nRome\n")}
    )
    assert refused.status_code == 400 and "never seen in training" in refused.json()["detail"]
    jobs = client.get(f"/api/generators/{gid}").json()["jobs"]
    assert len(jobs) == 2  # nothing was queued
    assert sorted(p.name for p in (data / "seeds" / gid).iterdir()) == ["seeds.csv"]
    assert (data / "seeds" / gid / "seeds.csv").read_bytes() == SEEDS  # the earlier seeds
    assert_seeded(people_zip(client, gid, jobs[-1]["id"]))  # the earlier output intact

    assert client.delete(f"/api/generators/{gid}/seeds").status_code == 204
    assert client.get(f"/api/generators/{gid}").json()["settings"]["seeds"] is None
    assert not (data / "seeds" / gid).exists()


def test_settings_cannot_name_a_seeds_file(client: TestClient) -> None:
    source = upload_people(client)
    body = {
        "source_id": source["id"],
        "config": FAST,
        "settings": {"seeds": {"name": "../../etc/passwd", "rows": 1, "columns": ["city"]}},
    }
    response = client.post("/api/generators", json=body)
    assert response.status_code == 400 and "uploading a seeds file" in response.json()["detail"]


def test_page_seeds_upload_at_the_generation_step(client: TestClient, tmp_path: Path) -> None:
    source = upload_people(client)
    client.get(f"/sources/{source['id']}")  # sets the CSRF cookie
    token = client.cookies.get(CSRF_COOKIE)
    draft = client.post(f"/sources/{source['id']}/new-generator", data={"csrf": token})
    gid = draft.url.path.split("/")[2]
    columns = {f"column:people:{c}": "1" for c in ("id", "city", "age")}
    step(client, gid, "data", {"table:people": "1", **columns})
    step(client, gid, "generator", {"engine": "amplify"})
    page = client.get(f"/generators/{gid}/configure/generation").text
    assert 'enctype="multipart/form-data"' in page and 'name="seeds"' in page
    generation = {"num_records": "7", "destination_kind": "app", "format": "csv", "go": "stay"}
    seeds_dir = tmp_path / "data" / "seeds" / gid

    bad = client.post(
        f"/generators/{gid}/configure/generation",
        data={**generation, "csrf": token},
        files={"seeds": ("towns.csv", b"town,age\nOslo,3\n")},
    )
    assert bad.status_code == 200
    alerts = re.findall(r'<p class="alert" role="alert">(.*?)</p>', bad.text)
    assert len(alerts) == 1 and "[&#39;town&#39;] are not columns the table people" in alerts[0]
    assert not (seeds_dir / "seeds.csv").exists() and "seeds-current" not in bad.text

    good = client.post(
        f"/generators/{gid}/configure/generation",
        data={**generation, "csrf": token},
        files={"seeds": ("mine.csv", SEEDS)},
        follow_redirects=True,
    )
    assert 'id="seeds-current"' in good.text and "mine.csv (3 rows" in good.text
    assert (seeds_dir / "seeds.csv").read_bytes() == SEEDS
    step(client, gid, "generation", {**generation, "go": "next"})  # no file: the seeds stay
    report = {"csrf": token, "go": "create"}  # report settings: off
    created = client.post(f"/generators/{gid}/configure/report", data=report, follow_redirects=True)
    assert created.url.path == f"/generators/{gid}"
    done = wait_for(client, gid)
    assert done["status"] == "done", done["job"]["error"]
    assert_seeded(people_zip(client, gid))

    # the generator page: a bad file is its one-line error there, no run is queued
    page = client.post(
        f"/generators/{gid}/seeds",
        data={"csrf": token},
        files={"seeds": ("x.json", b"{not json")},
    )
    assert page.status_code == 400
    error = re.search(r'<p id="seeds-error" class="alert" role="alert">(.*?)</p>', page.text)
    assert error and "&#39;x.json&#39;: data file x.json is not valid JSON" in error.group(1)
    assert len(client.get(f"/api/generators/{gid}").json()["jobs"]) == 1
    assert (seeds_dir / "seeds.csv").read_bytes() == SEEDS
    client.post(f"/generators/{gid}/unseed", data={"csrf": token})
    assert not seeds_dir.exists()


def test_relational_generators_take_no_seeds(client: TestClient, shop_db: Path) -> None:
    source = upload_db(client, shop_db)
    body = {"source_id": source["id"], "config": FAST, "settings": NO_REPORT, "start": False}
    gid = client.post("/api/generators", json=body).json()["id"]
    refused = put_seeds(client, gid, "s.csv", b"city\nOslo\n")
    assert refused.status_code == 400
    assert "this one synthesizes customer, orders (a relational model)" in refused.json()["detail"]
    started = client.post(
        f"/api/generators/{gid}/start", files={"seeds": ("s.csv", b"city\nOslo\n")}
    )
    assert started.status_code == 400 and client.get(f"/api/generators/{gid}").json()["jobs"] == []
    page = client.get(f"/generators/{gid}/configure/generation").text
    assert 'id="no-seeds"' in page and 'name="seeds"' not in page
