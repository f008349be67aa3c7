"""Hostile locations, uploads and secrets replayed against a live server on loopback.

The server runs as `synthloom serve` in its own process, its working folder the one folder
root, its data dir inside that root. Outside the root lies a folder of secrets. Every case
must be refused with a 4xx answer; afterwards nothing outside the root was created, no
outside value appears in any answer or in the data dir, and no password appears in any
answer or in any file the server or its jobs wrote (the store itself excepted).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

SECRET_VALUE = "TOP-SECRET-VALUE-4711"
PASSWORD = "pa/ss:wo#rd"  # '/' once slipped past the masking, ':' and '#' end naive parsers
UPLOAD_MIB = 2


class Server:
    """A running `synthloom serve` and the folders around it."""

    def __init__(self, base: str, root: Path, outside: Path, data: Path) -> None:
        self.base, self.root, self.outside, self.data = base, root, outside, data
        self.http = httpx.Client(base_url=base, timeout=60)
        self.answers: list[str] = []

    def call(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)  # type: ignore[arg-type]
        self.answers.append(response.text)
        return response


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _secret_db(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE secret (id INTEGER PRIMARY KEY, token TEXT)")
        conn.executemany("INSERT INTO secret VALUES (?, ?)", [(1, SECRET_VALUE), (2, "x")])
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("boundary")
    root, outside = base / "root", base / "outside"
    (root / "shop").mkdir(parents=True)
    outside.mkdir()
    (root / "shop" / "customer.csv").write_text("id,city\n1,Oslo\n2,Lyon\n3,Gent\n")
    (outside / "secret.csv").write_text(f"id,token\n1,{SECRET_VALUE}\n")
    _secret_db(outside / "secret.sqlite")
    (root / "link.sqlite").symlink_to(outside / "secret.sqlite")
    (root / "leaky").mkdir()
    (root / "leaky" / "customer.csv").write_text("id,city\n1,Oslo\n")
    (root / "leaky" / "orders.csv").symlink_to(outside / "secret.csv")
    (root / "linked_folder").symlink_to(outside)
    data = root / "data"
    port = _free_port()
    command = [
        *(sys.executable, "-m", "synthloom", "serve", "--port", str(port)),
        *("--data-dir", str(data), "--folder-root", str(root)),
        *("--max-upload-mb", str(UPLOAD_MIB), "--max-cells", "1000000"),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(command, cwd=root, env=env, stderr=subprocess.PIPE, text=True)
    live = Server(f"http://127.0.0.1:{port}", root, outside, data)
    deadline = time.monotonic() + 60
    while True:
        try:
            if live.http.get("/api/sources").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the server did not start: {proc.stderr.read()}")  # type: ignore[union-attr]
        time.sleep(0.2)
    before = sorted(p.name for p in outside.rglob("*"))
    yield live
    proc.terminate()
    proc.wait(20)
    assert sorted(p.name for p in outside.rglob("*")) == before, "a file was made outside"


def _refused(server: Server, response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, response.text
    assert SECRET_VALUE not in response.text


# ----------------------------------------------------------------------- sources

OUT = "{outside}"
ROOT = "{root}"
DATA = "{data}"
SOURCE_CASES = {
    "sqlite URI mode, '#' back into the root": (
        "database",
        f"sqlite:///file:{OUT}/made.sqlite#/../../{ROOT}/x?uri=true&mode=rwc",
    ),
    "sqlite URI mode read": ("database", f"sqlite:///file:{OUT}/secret.sqlite?uri=true"),
    "sqlite URI mode, the store": ("database", f"sqlite:///file:{DATA}/synthloom.sqlite?mode=ro"),
    "sqlite relative URI in the root": ("database", "sqlite:///file:data/synthloom.sqlite"),
    "sqlite plain path, the store": ("database", f"sqlite:///{DATA}/synthloom.sqlite"),
    "sqlite outside the root": ("database", f"sqlite:///{OUT}/secret.sqlite"),
    "sqlite URL-encoded dots": ("database", f"sqlite:///{ROOT}/%2e%2e/outside/secret.sqlite"),
    "sqlite symlink out of the root": ("database", f"sqlite:///{ROOT}/link.sqlite"),
    "sqlite with user and password": ("database", f"sqlite://u:pw@//{ROOT}/link.sqlite"),
    "sqlite vfs option": ("database", f"sqlite:///{OUT}/secret.sqlite?vfs=unix-none"),
    "sqlite in memory": ("database", "sqlite://"),
    "sqlite other driver": ("database", f"sqlite+pysqlcipher:///{OUT}/secret.sqlite"),
    "mysql local file option": ("database", "mysql+pymysql://u@127.0.0.1:9/db?local_infile=1"),
    "mysql defaults file": (
        "database",
        f"mysql+pymysql://u@127.0.0.1:9/db?read_default_file={OUT}/secret.csv",
    ),
    "postgres key file": ("database", f"postgresql+psycopg://u@127.0.0.1:9/db?sslkey={OUT}/k"),
    "not a URL": ("database", f"{OUT}/secret.sqlite"),
    "objects local://": ("objects", f"local://{OUT}"),
    "objects file://": ("objects", f"file://{OUT}"),
    "objects simplecache chain": ("objects", f"simplecache::file://{OUT}"),
    "objects dir chain": ("objects", f"dir::file://{OUT}"),
    "objects cache over s3": ("objects", "simplecache::s3://bucket/prefix"),
    "objects memory": ("objects", "memory://x"),
    "objects http": ("objects", "http://127.0.0.1:9/tables"),
    "objects bare path": ("objects", f"{OUT}"),
    "folder outside": ("folder", f"{OUT}"),
    "folder dot-dot": ("folder", f"{ROOT}/../outside"),
    "folder file: without slashes": ("folder", f"file:{OUT}"),
    "folder local://": ("folder", f"local://{OUT}"),
    "folder symlink out of the root": ("folder", f"{ROOT}/linked_folder"),
    "folder with a file linked outside": ("folder", f"{ROOT}/leaky"),
    "folder the data dir": ("folder", f"{DATA}"),
    "folder the uploads": ("folder", f"{DATA}/uploads"),
    "folder Windows path": ("folder", "C:\\Windows\\System32"),
    "folder URL-encoded dots": ("folder", f"file://{ROOT}/%2e%2e/outside"),
    "unknown kind": ("script", f"{OUT}"),
}


def _fill(text: str, server: Server) -> str:
    return text.format(outside=server.outside, root=server.root, data=server.data)


@pytest.mark.parametrize("case", sorted(SOURCE_CASES))
def test_source_outside_the_boundary_is_refused(server: Server, case: str) -> None:
    kind, location = SOURCE_CASES[case]
    body = {"kind": kind, "location": _fill(location, server)}
    response = server.call("POST", "/api/sources", json=body)
    _refused(server, response)
    assert "Traceback" not in response.text and "\n" not in response.json()["detail"]
    assert not (server.data / "cache").exists() or not any((server.data / "cache").iterdir())


def test_storage_option_naming_a_local_file_is_refused(server: Server) -> None:
    body = {
        "kind": "objects",
        "location": "gs://bucket/tables",
        "storage_options": {"token": f"{server.outside}/secret.csv"},
    }
    response = server.call("POST", "/api/sources", json=body)
    _refused(server, response)
    assert "names a local file" in response.json()["detail"]


def test_memory_source_names_the_fix(server: Server) -> None:
    response = server.call(
        "POST", "/api/sources", json={"kind": "objects", "location": "memory://x"}
    )
    detail = response.json()["detail"]
    assert response.status_code == 400 and "s3://" in detail and ": /x" not in detail


def test_database_password_never_echoed(server: Server) -> None:
    url = f"postgresql+psycopg://me:{quote(PASSWORD, safe='/')}@127.0.0.1:9/shop"
    response = server.call("POST", "/api/sources", json={"kind": "database", "location": url})
    _refused(server, response)
    for spelling in _spellings(PASSWORD):
        assert spelling not in response.text


# ------------------------------------------------------------------ destinations


def _upload_shop(server: Server) -> str:
    files = [("files", ("customer.csv", b"id,city,age\n" + _rows(40), "text/csv"))]
    response = server.call("POST", "/api/sources/upload", files=files)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _rows(n: int) -> bytes:
    cities = ["Oslo", "Lyon", "Gent", "Porto"]
    return "".join(f"{i},{cities[i % 4]},{20 + i % 30}\n" for i in range(1, n + 1)).encode()


DESTINATION_CASES = {
    "sqlite URI mode": (
        "database",
        f"sqlite:///file:{OUT}/made.sqlite#/../../{ROOT}/x?uri=true&mode=rwc",
    ),
    "sqlite outside": ("database", f"sqlite:///{OUT}/made.sqlite"),
    "sqlite the store": ("database", f"sqlite:///{DATA}/synthloom.sqlite"),
    "sqlite with user": ("database", f"sqlite://u:pw@//{ROOT}/made.sqlite"),
    "unknown driver": ("database", "mysql+nosuchdriver://u@127.0.0.1:9/db"),
    "objects local://": ("objects", f"local://{OUT}/out"),
    "objects simplecache": ("objects", f"simplecache::file://{OUT}/out"),
    "objects file://": ("objects", f"file://{OUT}/out"),
    "objects memory": ("objects", "memory://out"),
}


@pytest.mark.parametrize("case", sorted(DESTINATION_CASES))
def test_destination_outside_the_boundary_is_refused(server: Server, case: str) -> None:
    source = _upload_shop(server)
    kind, url = DESTINATION_CASES[case]
    body = {
        "source_id": source,
        "config": {"engine": "amplify"},
        "settings": {"destination": {"kind": kind, "url": _fill(url, server)}},
    }
    checked = server.call("POST", "/api/generators/validate", json=body)
    assert checked.status_code == 200 and checked.json()["ok"] is False
    assert any(a["step"] == "generation" for a in checked.json()["alerts"])
    created = server.call("POST", "/api/generators", json=body)
    assert created.status_code == 422
    assert not (server.outside / "made.sqlite").exists()


def test_absurd_record_count_is_refused_up_front(server: Server) -> None:
    body = {
        "source_id": _upload_shop(server),
        "config": {"engine": "amplify"},
        "settings": {"num_records": 99999999999999999999},
    }
    created = server.call("POST", "/api/generators", json=body)
    assert created.status_code == 422 and "100,000,000" in created.json()["detail"]


def test_a_table_too_wide_to_learn_is_refused_up_front(server: Server) -> None:
    header = ",".join(f"c{i}" for i in range(1_001))
    row = ",".join(str(i % 7) for i in range(1_001))
    files = [("files", ("wide.csv", f"{header}\n{row}\n{row}\n".encode(), "text/csv"))]
    source = server.call("POST", "/api/sources/upload", files=files).json()["id"]
    body = {"source_id": source, "config": {"engine": "amplify"}, "settings": {}}
    alerts = server.call("POST", "/api/generators/validate", json=body).json()["alerts"]
    assert any(a["step"] == "treatment" and "1,001 columns" in a["message"] for a in alerts)


# ----------------------------------------------------------------------- uploads


def test_a_small_parquet_file_of_many_values_is_refused(server: Server, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "many.parquet"
    pq.write_table(pa.table({"x": pa.array([0] * 3_000_000, pa.int8())}), path, compression="zstd")
    assert path.stat().st_size < 200_000
    with path.open("rb") as handle:
        response = server.call(
            "POST", "/api/sources/upload", files=[("files", ("many.parquet", handle))]
        )
    _refused(server, response)
    assert "1,000,000 values" in response.json()["detail"]
    assert not any(p.suffix == ".parquet" for p in (server.data / "uploads").rglob("*"))


def test_a_chunked_upload_is_stopped_at_the_limit(server: Server) -> None:
    chunk = (
        b"id,value\n"
        + b"1,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n" * 16_000
    )

    def body() -> Iterator[bytes]:
        boundary = b"--xyz\r\n"
        yield boundary + b'Content-Disposition: form-data; name="files"; filename="big.csv"\r\n'
        yield b"Content-Type: text/csv\r\n\r\n"
        for _ in range(UPLOAD_MIB * 2):
            yield chunk
        yield b"\r\n--xyz--\r\n"

    headers = {"Content-Type": "multipart/form-data; boundary=xyz"}
    response = server.call("POST", "/api/sources/upload", content=body(), headers=headers)
    assert response.status_code == 413, response.text


def test_a_declared_large_body_is_refused_before_it_is_sent(server: Server) -> None:
    host, port = server.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            b"POST /api/sources/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=xyz\r\n"
            + f"Content-Length: {UPLOAD_MIB * 2**21}\r\n\r\n".encode()
        )
        answer = sock.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer


# ----------------------------------------------------------------------- secrets


def _spellings(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote(secret, safe="/")}


def test_a_destination_password_never_leaves_the_store(server: Server) -> None:
    source = _upload_shop(server)
    url = f"postgresql+psycopg://me:{quote(PASSWORD, safe='/')}@127.0.0.1:9/shop"
    body = {
        "source_id": source,
        "name": "leak check",
        "config": {"engine": "amplify", "params": {"seed": 0}},
        "settings": {"num_records": 5, "destination": {"kind": "database", "url": url}},
    }
    created = server.call("POST", "/api/generators", json=body)
    assert created.status_code == 201, created.text
    gid = created.json()["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = server.call("GET", f"/api/generators/{gid}/status").json()
        if status["status"] in ("done", "failed", "cancelled", "interrupted"):
            break
        time.sleep(0.3)
    assert status["status"] == "failed"  # nothing listens on port 9
    server.call("GET", f"/api/generators/{gid}")
    server.call("GET", "/")
    server.call("GET", f"/generators/{gid}")
    server.call("GET", "/api/generators")
    in_use = server.call("DELETE", f"/api/sources/{source}")
    assert in_use.status_code == 409 and gid in in_use.json()["detail"]
    assert server.call("GET", f"/api/generators/{gid}").status_code == 200
    written = [
        p.read_bytes().decode("utf-8", "replace")
        for p in server.data.rglob("*")
        if p.is_file() and not p.name.startswith("synthloom.sqlite")
    ]
    for spelling in _spellings(PASSWORD):
        for text in [*server.answers, *written]:
            assert spelling not in text


def test_nothing_outside_reached_the_data_dir(server: Server) -> None:
    for path in server.data.rglob("*"):
        if path.is_file():
            assert SECRET_VALUE.encode() not in path.read_bytes(), path
    assert all(SECRET_VALUE not in answer for answer in server.answers)
