"""Secrets kept out of sight (URL passwords, storage keys), the access token and CSRF.

URL parsing and masking live in :mod:`synthloom.io.urls` (re-exported here).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from synthloom.io.urls import MASK, mask_url, scrub, url_secrets

TOKEN_COOKIE = "synthloom_session"
CSRF_COOKIE = "synthloom_csrf"
CSRF_FIELD = "csrf"
__all__ = [
    "MASK",
    "authorized",
    "csrf_ok",
    "mask_options",
    "mask_url",
    "option_secrets",
    "same_origin",
    "scrub",
    "url_secrets",
]
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
# Storage-option keys whose values are credentials.
SECRET_KEYS = re.compile(r"secret|password|passwd|pwd|token|key|credential|sas", re.I)


def mask_options(options: dict[str, Any]) -> dict[str, Any]:
    """Storage options with credential values hidden (nested mappings too)."""
    masked: dict[str, Any] = {}
    for key, value in options.items():
        if isinstance(value, dict):
            masked[key] = mask_options(value)
        elif SECRET_KEYS.search(key) and value not in (None, ""):
            masked[key] = MASK
        else:
            masked[key] = value
    return masked


def option_secrets(options: dict[str, Any]) -> list[str]:
    """Credential values of storage options."""
    found: list[str] = []
    for key, value in options.items():
        if isinstance(value, dict):
            found += option_secrets(value)
        elif SECRET_KEYS.search(key) and isinstance(value, str) and value:
            found.append(value)
    return found


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server on this machine."""
    return host in LOOPBACK or host.startswith("127.")


def new_token() -> str:
    """A fresh access token."""
    return secrets.token_urlsafe(24)


def session_value(token: str) -> str:
    """What the login cookie holds: derived from the token, not the token itself."""
    return hmac.new(token.encode(), b"synthloom-session", hashlib.sha256).hexdigest()


def authorized(token: str | None, header: str | None, cookie: str | None) -> bool:
    """Whether a request carries the token (Bearer header) or the login cookie."""
    if token is None:
        return True
    if header and header.lower().startswith("bearer "):
        return hmac.compare_digest(header[7:].strip().encode(), token.encode())
    if cookie:
        return hmac.compare_digest(cookie.encode(), session_value(token).encode())
    return False


def same_origin(origin: str | None, host: str | None) -> bool:
    """A browser's ``Origin`` names this server (no Origin: not a cross-site browser call)."""
    if not origin:
        return True
    if origin == "null" or not host:
        return False
    return urlsplit(origin).netloc.lower() == host.lower()


def csrf_ok(cookie: str | None, field: str | None) -> bool:
    """Double-submit check: the form's hidden field equals the CSRF cookie."""
    return bool(cookie) and bool(field) and hmac.compare_digest(str(cookie), str(field))
