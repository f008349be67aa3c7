"""Secrets kept out of sight (URL passwords, storage keys), the access token and CSRF."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

MASK = "***"
TOKEN_COOKIE = "synthloom_session"
CSRF_COOKIE = "synthloom_csrf"
CSRF_FIELD = "csrf"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
# Storage-option keys whose values are credentials.
SECRET_KEYS = re.compile(r"secret|password|passwd|pwd|token|key|credential|sas", re.I)
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][\w+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]*)@")
_QUERY_SECRET = re.compile(r"(?P<k>[?&](?:password|passwd|pwd|sslpassword)=)[^&\s]*", re.I)


def mask_url(url: str) -> str:
    """``url`` with the password of its user info and password query values as ``***``."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", url)
    return _QUERY_SECRET.sub(lambda m: m["k"] + MASK, text)


def url_secrets(url: str) -> list[str]:
    """The passwords a URL holds (to scrub them from messages)."""
    found = [m["pw"] for m in _USERINFO.finditer(url) if m["pw"]]
    found += [m.group(0).split("=", 1)[1] for m in _QUERY_SECRET.finditer(url)]
    return [s for s in found if s and s != MASK]


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


def scrub(text: str, hidden: list[str]) -> str:
    """``text`` with every secret in ``hidden`` and every URL password replaced by ``***``."""
    for secret in sorted(hidden, key=len, reverse=True):
        if len(secret) >= 3:  # a one-letter password would blank out ordinary words
            text = text.replace(secret, MASK)
    return mask_url(text)


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
