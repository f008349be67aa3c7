"""Optional dependencies: the extra that installs each one, for one-line errors.

Database drivers and object-storage clients are not needed by every user, so they are
extras (``pip install 'synthloom[postgres]'``); code imports them only when a URL needs them.
"""

from __future__ import annotations

# Top-level module → the synthloom extra that installs it.
EXTRAS = {
    "psycopg": "postgres",
    "pymysql": "mysql",
    "s3fs": "s3",
    "fastapi": "serve",
    "uvicorn": "serve",
    "multipart": "serve",
    "fastapi_offline": "serve",
}


def install_hint(module: str) -> str:
    """The pip command that installs ``module``: a synthloom extra when there is one."""
    top = module.split(".")[0]
    extra = EXTRAS.get(top)
    return f"pip install 'synthloom[{extra}]'" if extra else f"pip install {top}"


def missing_driver_message(url: str, exc: ImportError) -> str:
    """One line for a database URL whose driver is not installed."""
    scheme = url.split("://", 1)[0]
    module = exc.name or "its driver"
    return (
        f"database URL {scheme}://… needs the {module} package, which is not installed; "
        f"{install_hint(module)}"
    )
