"""A server killed mid-job: its job shows as interrupted and restarts to completion."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.relational.conftest import free_port
from tests.serve.conftest import FAST

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def server(data_dir: Path, port: int) -> Iterator[subprocess.Popen]:
    """``synthloom serve`` in a process of its own (this test kills it)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "synthloom", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/sources", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
                time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(30)


def poll(base: str, gid: str, wanted: tuple[str, ...], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = httpx.get(f"{base}/api/generators/{gid}/status").json()
        if status["status"] in wanted:
            return status
        time.sleep(0.1)
    raise AssertionError(f"still {status['status']} after {timeout}s")


def test_killed_server_job_is_interrupted_and_restarts(tmp_path: Path) -> None:
    from tests.serve.conftest import make_shop

    data_dir, port = tmp_path / "data", free_port()
    base = f"http://127.0.0.1:{port}"
    shop = make_shop(tmp_path / "shop.sqlite")
    with server(data_dir, port) as first:
        with shop.open("rb") as handle:
            upload = httpx.post(f"{base}/api/sources/upload", files={"files": ("s.db", handle)})
        # an LSTM that trains for a few seconds, so the kill lands mid-job on any machine
        slow = {
            "engine": "lstm",
            "params": {**FAST["params"], "epochs": 10_000, "max_training_time_seconds": 4,
                       "rnn_units": 16, "embedding_dim": 8, "rnn_layers": 1},
        }
        body = {
            "source_id": upload.json()["id"],
            "config": slow,
            "settings": {"num_records": 10, "report": {"enabled": False}},
        }
        gid = httpx.post(f"{base}/api/generators", json=body).json()["id"]
        running = poll(base, gid, ("running", "done"))
        assert running["status"] == "running"
        first.send_signal(signal.SIGKILL)  # the server dies; its worker follows it
        first.wait(10)
    with server(data_dir, port):
        status = httpx.get(f"{base}/api/generators/{gid}/status").json()
        assert status["status"] == "interrupted" and status["job"]["restartable"]
        assert "restart" in status["job"]["error"]
        restarted = httpx.post(f"{base}/api/generators/{gid}/restart").json()
        assert restarted["job"]["attempt"] == 2
        done = poll(base, gid, ("done", "failed"), timeout=300)
        assert done["status"] == "done", done["job"]["error"]
        assert done["job"]["result"]["rows"]["customer"] == 10
        archive = httpx.get(f"{base}/api/generators/{gid}/data")
        assert archive.status_code == 200 and archive.content[:2] == b"PK"
