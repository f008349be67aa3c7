"""Access token, login cookie, CSRF on forms, cross-site API calls, the missing extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from synthloom.serve import create_app
from synthloom.serve.security import CSRF_COOKIE, mask_url, scrub


def test_token_is_required_when_configured(tmp_path: Path) -> None:
    app = create_app(tmp_path / "data", token="t0ken-abc", run_jobs=False)
    with TestClient(app) as client:
        for path in ("/api/sources", "/api/generators", "/docs", "/openapi.json"):
            assert client.get(path).status_code == 401, path
        assert (
            client.get("/api/sources", headers={"Authorization": "Bearer nope"}).status_code == 401
        )
        ok = client.get("/api/sources", headers={"Authorization": "Bearer t0ken-abc"})
        docs = client.get("/docs", headers={"Authorization": "Bearer t0ken-abc"})
        assert docs.status_code == 200 and "content-security-policy" not in docs.headers
        assert ok.status_code == 200 and ok.json() == []
        page = client.get("/", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login"
        assert client.post("/login", data={"token": "wrong"}).status_code == 401
        logged = client.post("/login", data={"token": "t0ken-abc"}, follow_redirects=False)
        assert logged.status_code == 303 and "t0ken-abc" not in logged.headers["set-cookie"]
        assert client.get("/").status_code == 200  # the cookie now opens pages and the API
        assert client.get("/api/sources").status_code == 200


def test_forms_need_the_csrf_token(tmp_path: Path) -> None:
    app = create_app(tmp_path / "data", run_jobs=False)
    with TestClient(app) as client:
        client.get("/")  # sets the CSRF cookie
        token = client.cookies.get(CSRF_COOKIE)
        assert token
        form = {"kind": "folder", "location": str(tmp_path)}
        refused = client.post("/sources/register", data=form)
        assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
        wrong = client.post("/sources/register", data={**form, "csrf": "forged"})
        assert wrong.status_code == 403
        accepted = client.post("/sources/register", data={**form, "csrf": token})
        assert accepted.status_code == 400  # past the CSRF check: refused for its path
        assert "--folder-root" in accepted.text
        cross = client.post(
            "/api/sources",
            json={"kind": "folder", "location": "/x"},
            headers={"Origin": "http://evil.example"},
        )
        assert cross.status_code == 403


def test_loopback_server_refuses_other_hosts(tmp_path: Path) -> None:
    app = create_app(tmp_path / "data", run_jobs=False, allowed_hosts=["127.0.0.1"])
    with TestClient(app, base_url="http://rebound.example") as client:
        assert client.get("/api/sources").status_code == 400
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        assert client.get("/api/sources").status_code == 200


def test_masking() -> None:
    assert (
        mask_url("mysql+pymysql://u:p%40ss@h:3306/db?x=1") == "mysql+pymysql://u:***@h:3306/db?x=1"
    )
    assert mask_url("postgresql://h/db?password=abc&sslmode=x") == (
        "postgresql://h/db?password=***&sslmode=x"
    )
    assert scrub("failed with key AKIAXYZ123 at s3://b", ["AKIAXYZ123"]) == (
        "failed with key *** at s3://b"
    )


def test_cli_names_the_extra_when_it_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from typer.testing import CliRunner

    from synthloom.cli import app

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a)
    )
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "pip install 'synthloom[serve]'" in result.output
    assert "Traceback" not in result.output


def test_the_cli_does_not_import_the_web_stack() -> None:
    code = "import sys, synthloom.cli; print(any(m in sys.modules for m in ('fastapi', 'uvicorn')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
