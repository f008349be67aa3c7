"""``synthloom serve`` timings: serve start → a finished Chinook generator through the API
(amplify engine), the same job through the CLI, and 50 concurrent status pollers.

Every request goes to 127.0.0.1; every loop is bounded. Prints:

* seconds from starting ``synthloom serve`` to the server answering, and to the generator
  done (upload, create, train, generate, write, report);
* the same train + generate + report through ``synthloom relational`` (the CLI), and the
  server's overhead over it;
* p50/p95/max latency of 50 clients polling ``/api/generators/ID/status`` while a job
  runs, and how many requests failed.

Usage::

    python benchmarks/serve.py                    # Chinook from ../shared, else the bundled slice
    python benchmarks/serve.py --polls 20         # requests per polling client
    python benchmarks/serve.py --interval 0.05    # stress: 50 clients, 20 polls/s each
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHINOOK = ROOT.parent / "shared" / "data" / "relational" / "chinook" / "chinook.sqlite"
sys.path.insert(0, str(ROOT))

from tests.conftest import CHINOOK as BUNDLED_CHINOOK  # noqa: E402
from tests.relational.conftest import CHINOOK_CONFIG, free_port  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def wait_status(client: httpx.Client, gid: str, final: bool, limit: float = 900) -> dict:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        status = client.get(f"/api/generators/{gid}/status").json()
        if (
            (status["status"] in ("done", "failed", "cancelled"))
            if final
            else (status["status"] == "running")
        ):
            return status
        time.sleep(0.1)
    raise SystemExit(f"generator {gid} did not get there in {limit}s")


def poll_load(
    base: str, gid: str, clients: int, polls: int, interval: float
) -> tuple[list[float], int]:
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def one() -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(polls):
                start = time.perf_counter()
                try:
                    ok = client.get(f"/api/generators/{gid}/status").status_code == 200
                except httpx.HTTPError:
                    ok = False
                took = time.perf_counter() - start
                with lock:
                    latencies.append(took)
                    failures[0] += not ok
                time.sleep(interval)

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures[0]


def cli_run(db: Path, config: dict, work: Path, num_records: int) -> float:
    path = work / "cli.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    start = time.perf_counter()
    command = [sys.executable, "-m", "synthloom", "relational"]
    subprocess.run(
        [
            *command,
            "train",
            str(path),
            "--source",
            str(db),
            "--model-dir",
            str(work / "cli_model"),
            "--quiet",
        ],
        env=ENV,
        check=True,
    )
    subprocess.run(
        [
            *command,
            "generate",
            "--model-dir",
            str(work / "cli_model"),
            "--destination",
            str(work / "cli_out"),
            "--num-records",
            str(num_records),
            "--quiet",
        ],
        env=ENV,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument(
        "--interval",
        type=float,
        default=1.0,
        help="Seconds between one client's polls (the generator page polls every second).",
    )
    parser.add_argument("--skip-cli", action="store_true", help="No CLI comparison.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="synthloom-serve-bench-"))
    db = CHINOOK if CHINOOK.is_file() else BUNDLED_CHINOOK
    config, what = CHINOOK_CONFIG, f"chinook ({db})"
    load_before = os.getloadavg()[0]
    num_records = 50
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "synthloom",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(work / "data"),
        ],
        env=ENV,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(600):
                try:
                    client.get("/api/sources")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            ready = time.perf_counter() - start
            with db.open("rb") as handle:
                source = client.post("/api/sources/upload", files={"files": (db.name, handle)})
            body = {
                "source_id": source.json()["id"],
                "config": config,
                "settings": {"num_records": num_records},
            }
            created = time.perf_counter()
            gid = client.post("/api/generators", json=body).json()["id"]
            status = wait_status(client, gid, final=True)
            done = time.perf_counter()
            assert status["status"] == "done", status["job"]["error"]
            job_seconds = done - created
            # a longer job (LSTM, 3 epochs) to poll while it trains
            slow = {**config, "engine": "lstm", "params": {"epochs": 3, "seed": 0}}
            gid2 = client.post("/api/generators", json={**body, "config": slow}).json()["id"]
            wait_status(client, gid2, final=False)
            latencies, failed = poll_load(base, gid2, args.clients, args.polls, args.interval)
            still = client.get(f"/api/generators/{gid2}/status").json()["status"]
            client.post(f"/api/generators/{gid2}/cancel")
    finally:
        server.terminate()
        server.wait(30)
    cli = float("nan") if args.skip_cli else cli_run(db, config, work, num_records)
    shutil.rmtree(work, ignore_errors=True)
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(
        f"data: {what}; load average at the start {load_before:.1f}, at the end "
        f"{os.getloadavg()[0]:.1f}, on {os.cpu_count()} CPUs"
    )
    print(f"serve start → answering: {ready:.1f} s; → generator done: {done - start:.1f} s")
    line = f"job through the API (create → done, report included): {job_seconds:.1f} s"
    if not args.skip_cli:
        line += (
            f"; same through the CLI (train + generate + report): {cli:.1f} s; "
            f"overhead {100 * (job_seconds / cli - 1):+.0f}%"
        )
    print(line)
    print(
        f"{args.clients} clients × {args.polls} polls while a job ran (still {still} at "
        f"the end): p50 {1000 * statistics.median(latencies):.1f} ms, p95 "
        f"{1000 * p95:.1f} ms, max {1000 * latencies[-1]:.1f} ms, {failed} failed"
    )


if __name__ == "__main__":
    main()
