"""Fixtures for the relational tests: real Chinook and Lahman slices, servers on loopback."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import CHINOOK, LAHMAN

# Chinook declares no constraints: the keys come from the config.
CHINOOK_CONFIG = {
    "engine": "amplify",
    "params": {"seed": 0},
    "include_tables": [
        "employee",
        "customer",
        "invoice",
        "invoiceline",
        "track",
        "album",
        "artist",
        "genre",
        "mediatype",
    ],
    "tables": {
        "employee": {
            "primary_key": ["id"],
            "foreign_keys": [
                {"columns": ["reports_to"], "references": {"table": "employee", "columns": ["id"]}}
            ],
        },
        "customer": {
            "primary_key": ["id"],
            "foreign_keys": [{"columns": ["support_rep"], "references": {"table": "employee"}}],
        },
        "invoice": {
            "primary_key": ["id"],
            "foreign_keys": [{"columns": ["customer"], "references": {"table": "customer"}}],
        },
        "invoiceline": {
            "primary_key": ["id"],
            "foreign_keys": [
                {"columns": ["invoice"], "references": {"table": "invoice"}},
                {"columns": ["track"], "references": {"table": "track"}},
            ],
        },
        "track": {
            "original": True,
            "primary_key": ["id"],
            "foreign_keys": [
                {"columns": ["album"], "references": {"table": "album"}},
                {"columns": ["genre"], "references": {"table": "genre"}},
                {"columns": ["mediatype"], "references": {"table": "mediatype"}},
            ],
        },
        "album": {
            "original": True,
            "primary_key": ["id"],
            "foreign_keys": [{"columns": ["artist"], "references": {"table": "artist"}}],
        },
        "artist": {"original": True, "primary_key": ["id"]},
        "genre": {"original": True, "primary_key": ["id"]},
        "mediatype": {"original": True, "primary_key": ["id"]},
    },
}

# Keys of the Lahman slice, as a folder's schema file gives them.
LAHMAN_SCHEMA = {
    "tables": {
        "People": {"primary_key": ["playerID"]},
        "TeamsFranchises": {"primary_key": ["franchID"]},
        "Teams": {
            "primary_key": ["yearID", "teamID"],
            "foreign_keys": [{"columns": ["franchID"], "references": {"table": "TeamsFranchises"}}],
        },
        "Batting": {
            "foreign_keys": [
                {"columns": ["playerID"], "references": {"table": "People"}},
                {"columns": ["yearID", "teamID"], "references": {"table": "Teams"}},
            ]
        },
        "Salaries": {
            "foreign_keys": [
                {"columns": ["playerID"], "references": {"table": "People"}},
                {"columns": ["yearID", "teamID"], "references": {"table": "Teams"}},
            ]
        },
    }
}
LAHMAN_CONFIG = {
    "engine": "amplify",
    "params": {"seed": 0},
    "tables": {"TeamsFranchises": {"original": True}},
}


def chinook_config(**changes: object) -> dict:
    """A deep copy of the Chinook config with top-level ``changes``."""
    config = yaml.safe_load(yaml.safe_dump(CHINOOK_CONFIG))
    config.update(changes)
    return config


@pytest.fixture(scope="session")
def lahman_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A consistent slice of real Lahman tables (tests/data/lahman) + its schema file."""
    folder = tmp_path_factory.mktemp("lahman")
    for table in LAHMAN.glob("*.csv"):
        shutil.copy(table, folder / table.name)
    (folder / "schema.yaml").write_text(yaml.safe_dump(LAHMAN_SCHEMA), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def chinook_model(tmp_path_factory: pytest.TempPathFactory):
    """An amplify model of Chinook (employee → customer → invoice → invoiceline)."""
    from synthloom.relational import RelationalSynthesizer

    model_dir = tmp_path_factory.mktemp("chinook") / "model"
    synth = RelationalSynthesizer(chinook_config())
    synth.fit(CHINOOK, model_dir)
    return synth


@pytest.fixture(scope="session")
def lahman_model(tmp_path_factory: pytest.TempPathFactory, lahman_folder: Path):
    """An amplify model of the Lahman slice (composite keys, TeamsFranchises original)."""
    from synthloom.relational import RelationalSynthesizer

    model_dir = tmp_path_factory.mktemp("lahman_model") / "model"
    return RelationalSynthesizer(LAHMAN_CONFIG).fit(lahman_folder, model_dir)


def free_port() -> int:
    """A free TCP port on loopback."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL cluster on 127.0.0.1 (skipped when PostgreSQL is missing)."""
    binaries = _postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    root = os.geteuid() == 0
    if root and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL")
    prefix = ["runuser", "-u", "postgres", "--"] if root else []
    base = Path(tempfile.mkdtemp(prefix="synthloom-pg-"))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    if root:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    user = "postgres" if root else os.environ.get("USER", "postgres")
    try:
        subprocess.run(
            [*prefix, str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", user],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [
                *prefix,
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "start",
                "-l",
                str(base / "log"),
            ],
            check=True,
            capture_output=True,
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"could not start PostgreSQL: {exc}")
    try:
        yield f"postgresql+psycopg://{user}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


def _mariadb_bin() -> tuple[str, str] | None:
    """The MariaDB (or MySQL) server and its data-dir initialiser, if installed."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    server = shutil.which("mariadbd", path=path) or shutil.which("mysqld", path=path)
    install = shutil.which("mariadb-install-db", path=path) or shutil.which(
        "mysql_install_db", path=path
    )
    return (server, install) if server and install else None


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    """A throw-away MariaDB server on 127.0.0.1 (skipped when MariaDB is missing).

    Yields ``mysql+pymysql://root@127.0.0.1:PORT``; a test appends ``/DATABASE`` after
    creating it. The server skips the grant tables: any user and password are accepted.
    """
    binaries = _mariadb_bin()
    if binaries is None:
        pytest.skip("MariaDB server binaries not found (apt-get install mariadb-server)")
    pymysql = pytest.importorskip("pymysql")
    server, install = binaries
    root = os.geteuid() == 0
    if root and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start MariaDB")
    prefix = ["runuser", "-u", "mysql", "--"] if root else []
    base = Path(tempfile.mkdtemp(prefix="synthloom-mariadb-"))
    if root:
        shutil.chown(base, "mysql")
    data, port = base / "data", free_port()
    try:
        subprocess.run(
            [*prefix, install, "--no-defaults", f"--datadir={data}", "--skip-test-db"],
            check=True,
            capture_output=True,
            timeout=120,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"could not initialise MariaDB: {exc}")
    process = subprocess.Popen(
        [
            *prefix,
            server,
            "--no-defaults",
            f"--datadir={data}",
            f"--socket={base / 'sock'}",
            f"--pid-file={base / 'pid'}",
            f"--log-error={base / 'log'}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            "--skip-grant-tables",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=16M",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(120):
            try:
                pymysql.connect(host="127.0.0.1", port=port, user="root").close()
                break
            except pymysql.err.OperationalError:
                if process.poll() is not None:
                    break
                time.sleep(0.25)
        else:
            pytest.skip("MariaDB did not accept connections within 30 s")
        if process.poll() is not None:
            log = base / "log"
            tail = log.read_text(errors="replace")[-500:] if log.exists() else ""
            pytest.skip(f"MariaDB stopped at start: {tail}")
        yield f"mysql+pymysql://root@127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(base, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """Create (or empty) database ``name`` on a MySQL/MariaDB server; return its URL."""
    import sqlalchemy as sa

    engine = sa.create_engine(server_url + "/mysql")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        conn.exec_driver_sql(f"CREATE DATABASE `{name}`")
    engine.dispose()
    return f"{server_url}/{name}"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[dict]:
    """A moto S3 server on 127.0.0.1 with an empty bucket; yields fsspec storage options."""
    pytest.importorskip("moto.server")
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(50):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        time.sleep(0.1)
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **credentials)
    client.create_bucket(Bucket="synthetic")
    try:
        yield {
            "key": "testing",
            "secret": "testing",
            "endpoint_url": endpoint,
            "client_kwargs": {"region_name": "us-east-1"},
            "skip_instance_cache": True,
            "use_listings_cache": False,
        }
    finally:
        server.stop()
