"""Reading locations the way the libraries that open them do: SQLAlchemy URLs, fsspec URLs.

Two questions are answered here, for the CLI and the web app alike: which kind a location
is (a database, object storage, a local folder) and what it hides (the password of a
database URL, the credentials of an object-storage URL). Both are answered with the
parsers of the libraries that later open the location (SQLAlchemy's ``make_url``, fsspec's
protocol split), so a location cannot mean one thing to the check and another to the
driver.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

MASK = "***"
DB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "mssql", "oracle")
PASSWORD_QUERY_KEYS = ("password", "passwd", "pwd", "sslpassword")
# fsspec wrappers that keep a local cache of the filesystem they wrap.
CACHE_PROTOCOLS = frozenset({"simplecache", "filecache", "blockcache", "cached"})
# Object-storage protocols, remote by nature (the cloud stores fsspec knows).
OBJECT_PROTOCOLS = frozenset(
    {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss", "oci", "r2", "b2"}
)
_SCHEME = re.compile(r"^([a-zA-Z][\w+.-]*)://")
# A URL with user info inside free text (an error message): the password runs to the first
# '@', as SQLAlchemy reads it, so a '/' in it does not end it early.
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][\w+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]*)@")
_QUERY_SECRET = re.compile(r"(?P<k>[?&](?:password|passwd|pwd|sslpassword)=)[^&\s]*", re.I)


@dataclass(frozen=True)
class Link:
    """One link of an fsspec URL (``simplecache::s3://b/k`` has two)."""

    protocol: str | None  # None: a plain local path
    path: str


def is_database_url(text: str) -> bool:
    """Whether ``text`` is a SQLAlchemy URL (``postgresql+psycopg://…``, ``sqlite:///…``)."""
    match = _SCHEME.match(text)
    return bool(match) and match.group(1).split("+")[0].lower() in DB_SCHEMES


def fsspec_links(url: str) -> list[Link]:
    """The links of an fsspec URL, split as fsspec splits them (``::`` between links; a
    link without ``://`` before the last one names a wrapping protocol)."""
    from fsspec.core import split_protocol

    parts = url.split("::")
    links = []
    for index, part in enumerate(parts):
        protocol, path = split_protocol(part)
        if protocol is None and index < len(parts) - 1:
            protocol, path = part, ""
        links.append(Link(protocol.lower() if protocol else None, path))
    return links


def location_kind(location: str) -> str:
    """``database``, ``objects`` (an fsspec store) or ``folder`` (the local disk: a path,
    ``file://``, ``local://``, also behind a cache such as ``simplecache::file://``)."""
    from pathlib import Path

    if is_database_url(location):
        return "database"
    if "://" not in location and Path(location).suffix.lower() in (".sqlite", ".sqlite3", ".db"):
        return "database"
    if "://" not in location and "::" not in location:
        return "folder"
    *wrappers, last = fsspec_links(location)
    on_disk = last.protocol in (None, "file", "local") and all(
        w.protocol in CACHE_PROTOCOLS for w in wrappers
    )
    return "folder" if on_disk else "objects"


def local_path(location: str) -> str:
    """The local path a folder location names (``file://`` and ``local://`` removed)."""
    links = fsspec_links(location)
    return links[-1].path if links else location


def url_secrets(url: str) -> list[str]:
    """The credentials a URL holds, in every spelling they may take in a message (as
    written, decoded and encoded), so they can be scrubbed from any text."""
    found: list[str] = []
    if is_database_url(url):
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            parsed = make_url(url)
        except ArgumentError:
            parsed = None
        if parsed is not None:
            if parsed.password:
                found.append(str(parsed.password))
            found += [
                str(v)
                for k, v in parsed.query.items()
                if k.lower() in PASSWORD_QUERY_KEYS and isinstance(v, str)
            ]
    found += [m["pw"] for m in _USERINFO.finditer(url)]
    found += [m.group(0).split("=", 1)[1] for m in _QUERY_SECRET.finditer(url)]
    spelled = set()
    for secret in found:
        for form in (secret, unquote(secret), quote(secret, safe=""), quote(secret)):
            if form and form != MASK:
                spelled.add(form)
    return sorted(spelled, key=len, reverse=True)


def mask_url(url: str) -> str:
    """``url`` with its password (user info or password query values) shown as ``***``.

    A database URL is parsed by SQLAlchemy and rendered with the password hidden; any other
    text has each URL's user-info password and password query values masked.
    """
    if is_database_url(url) and not any(c.isspace() for c in url.strip()):
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            parsed = make_url(url.strip())
        except ArgumentError:
            parsed = None
        if parsed is not None:
            return mask_text(parsed.render_as_string(hide_password=True))
    return mask_text(url)


def mask_text(text: str) -> str:
    """Free text (an error message) with every URL password in it masked."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _QUERY_SECRET.sub(lambda m: m["k"] + MASK, text)


def scrub(text: str, hidden: list[str]) -> str:
    """``text`` with every secret in ``hidden`` and every URL password replaced by ``***``."""
    for secret in sorted(hidden, key=len, reverse=True):
        if len(secret) >= 3:  # a one-letter password would blank out ordinary words
            text = text.replace(secret, MASK)
    return mask_text(text)


def require_database_driver(url: str) -> None:
    """Check that the driver a database URL names is installed (a ConfigError naming the
    extra to install otherwise), before any work that would end by writing there."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from synthloom.errors import ConfigError
    from synthloom.extras import missing_driver_message

    try:
        make_url(url).get_dialect().import_dbapi()
    except ImportError as exc:
        raise ConfigError(missing_driver_message(url, exc)) from None
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ConfigError(f"cannot use database URL {mask_url(url)}: {exc}") from None


def require_storage_driver(url: str) -> None:
    """Check that fsspec knows the scheme of an object-storage URL and that the package that
    implements it is installed (``gs://`` needs ``gcsfs``, ``az://`` needs ``adlfs``)."""
    import importlib.util

    from fsspec.registry import known_implementations, registry

    from synthloom.errors import ConfigError
    from synthloom.extras import install_hint

    links = fsspec_links(url)
    scheme = links[-1].protocol if links else None
    if scheme is None:
        raise ConfigError(f"{mask_url(url)} names no object-storage scheme; use s3://bucket/…")
    if scheme in registry:
        return
    known = known_implementations.get(scheme)
    if known is None:
        raise ConfigError(
            f"object storage scheme {scheme}:// is unknown to fsspec; use s3://, gs://, az://, "
            "a folder or a database URL"
        )
    package = known["class"].split(".")[0]
    if importlib.util.find_spec(package) is None:
        raise ConfigError(
            f"object storage {scheme}:// needs the {package} package, which is not installed; "
            f"{install_hint(package)}, or use a folder"
        )
