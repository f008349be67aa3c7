"""``synthloom serve``: start the web app (needs the ``serve`` extra, imported only here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer

from synthloom.errors import ConfigError
from synthloom.extras import install_hint

# the serve extra's imports
EXTRA_MODULES = ("fastapi", "uvicorn", "multipart", "fastapi_offline")


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Store, uploads, models, outputs and reports.")
    ] = Path("synthloom-data"),
    workers: Annotated[int, typer.Option("--workers", help="Jobs that run at once.")] = 1,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="SYNTHLOOM_TOKEN",
            help="Access token for every page and API call; required (generated and printed "
            "once if not given) when binding beyond loopback.",
        ),
    ] = None,
    folder_root: Annotated[
        list[Path] | None,
        typer.Option("--folder-root", help="Server folder sources may be read from (repeat)."),
    ] = None,
    max_upload_mb: Annotated[
        int, typer.Option("--max-upload-mb", min=1, help="Size limit of one request, in MiB.")
    ] = 200,
    max_cells: Annotated[
        int,
        typer.Option("--max-cells", min=1, help="Values (rows x columns) one source may hold."),
    ] = 20_000_000,
) -> None:
    """Start the web app and REST API (/api, OpenAPI at /docs)."""
    missing = [m for m in EXTRA_MODULES if importlib.util.find_spec(m) is None]
    if missing:  # printed here: the shared error printer reads [serve] as markup
        typer.echo(
            f"error: synthloom serve needs {', '.join(missing)}: {install_hint(missing[0])}",
            err=True,
        )
        raise typer.Exit(2)
    if workers < 1:
        raise ConfigError(f"--workers {workers} must be at least 1")
    import uvicorn

    from synthloom.serve import create_app
    from synthloom.serve.security import LOOPBACK, is_loopback, new_token

    allowed = None
    if not is_loopback(host) and token is None:
        token = new_token()
        typer.echo(
            f"access token (shown once; log in at /login or send Authorization: Bearer): {token}",
            err=True,
        )
    if is_loopback(host) and token is None:
        allowed = list(LOOPBACK)  # a page from another site cannot rebind to us
    app = create_app(
        data_dir,
        token,
        workers,
        folder_roots=folder_root or [],
        allowed_hosts=allowed,
        max_upload_bytes=max_upload_mb * 1024 * 1024,
        max_cells=max_cells,
    )
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"synthloom serve: http://{shown}:{port}/ (data in {data_dir})", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
