"""The application: assembles the services, the routers and the access checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from synthloom.errors import SynthloomError
from synthloom.serve import api, pages
from synthloom.serve import sources as src
from synthloom.serve.pages import CsrfError
from synthloom.serve.security import (
    CSRF_COOKIE,
    TOKEN_COOKIE,
    authorized,
    same_origin,
    scrub,
)
from synthloom.serve.services import CHUNK, HERE, MAX_UPLOAD_BYTES, NotFound, Services, SourceInUse
from synthloom.version import __version__

OPEN_PATHS = ("/login", "/static/", "/docs-assets/")
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'self'; form-action 'self'"
)


def create_app(
    data_dir: str | Path,
    token: str | None = None,
    workers: int = 1,
    *,
    folder_roots: list[str | Path] | None = None,
    allowed_hosts: list[str] | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    max_cells: int = src.MAX_CELLS,
    run_jobs: bool = True,
) -> FastAPI:
    """The web app and REST API over ``data_dir`` (created if missing).

    Args:
        data_dir: Holds the SQLite store and the uploads, models, outputs, reports folders.
        token: When set, every page and API call needs it (``Authorization: Bearer`` or the
            login cookie).
        workers: Jobs that run at once; the others queue.
        folder_roots: Server folders that sources (folders, SQLite files) may come from.
        allowed_hosts: ``Host`` header values accepted (None: any); guards a loopback
            server without a token against DNS rebinding.
        max_upload_bytes: Size limit of one request, enforced as its bytes arrive (413).
        max_cells: Values (rows × columns) one source may hold, counted before reading.
        run_jobs: Start the job manager (tests may drive it by hand).
    """

    services = Services(
        Path(data_dir), token, workers, list(folder_roots or []), max_upload_bytes, max_cells
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if run_jobs:
            services.jobs.start()
        else:
            services.jobs.recover()
        try:
            yield
        finally:
            services.jobs.stop()

    app = FastAPI(
        docs_url=None,  # served below from the package's own Swagger UI: no CDN, works offline
        redoc_url=None,
        title="synthloom",
        version=_version(),
        lifespan=lifespan,
        max_body_size=max_upload_bytes + CHUNK,  # multipart overhead; counted as bytes arrive
        description="Generators of synthetic databases: sources, configurator, "
        "jobs, destinations and reports.",
    )
    app.state.services = services
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _api_docs(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    _guard(app, services, allowed_hosts)
    _error_handlers(app, services)
    return app


def _api_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` with their scripts from the fastapi-offline
    package (FastAPI's documented self-hosting): no CDN, so they load offline."""
    import fastapi_offline
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="synthloom API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> Response:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="synthloom API",
            redoc_js_url="/docs-assets/redoc.standalone.js",
            redoc_favicon_url="/docs-assets/favicon.png",
            with_google_fonts=False,
        )


def _version() -> str:
    return __version__


def _guard(app: FastAPI, services: Services, allowed_hosts: list[str] | None) -> None:
    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        path = request.url.path
        host = request.headers.get("host", "")
        if (
            allowed_hosts is not None
            and host.rsplit(":", 1)[0] not in allowed_hosts
            and host not in allowed_hosts
        ):
            return JSONResponse({"detail": f"host {host!r} is not served here"}, 400)
        is_api = path.startswith("/api") or path in ("/docs", "/openapi.json", "/redoc")
        if not path.startswith(OPEN_PATHS) and not authorized(
            services.token,
            request.headers.get("authorization"),
            request.cookies.get(TOKEN_COOKIE),
        ):
            if is_api:
                return JSONResponse(
                    {
                        "detail": "a token is needed: send 'Authorization: "
                        "Bearer TOKEN' or log in at /login"
                    },
                    401,
                )
            return RedirectResponse("/login", 303)
        if request.method not in ("GET", "HEAD", "OPTIONS") and not same_origin(
            request.headers.get("origin"), host
        ):
            return JSONResponse({"detail": "cross-site request refused"}, 403)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > services.max_upload_bytes + CHUNK:
            return JSONResponse(
                {
                    "detail": "the request is larger than the upload limit "
                    f"({services.max_upload_bytes // (1024 * 1024)} MiB)"
                },
                413,
            )
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")  # Origin stays set
        if "/report/" not in path and path not in ("/docs", "/redoc"):  # inline start scripts
            response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        fresh = getattr(request.state, "csrf_new", None)
        if fresh and CSRF_COOKIE not in request.cookies:
            response.set_cookie(CSRF_COOKIE, fresh, httponly=True, samesite="strict")
        return response


def _error_handlers(app: FastAPI, services: Services) -> None:
    @app.exception_handler(SynthloomError)
    async def bad_input(request: Request, exc: SynthloomError) -> Response:
        return JSONResponse({"detail": scrub(str(exc), [])}, 400)

    @app.exception_handler(CsrfError)
    async def bad_csrf(request: Request, exc: CsrfError) -> Response:
        return JSONResponse({"detail": str(exc)}, 403)

    @app.exception_handler(SourceInUse)
    async def in_use(request: Request, exc: SourceInUse) -> Response:
        return JSONResponse({"detail": str(exc)}, 409)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return JSONResponse({"detail": str(exc)}, 404)
