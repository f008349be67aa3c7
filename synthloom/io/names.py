"""Names from the data (table names) made safe as file names and object keys.

A table may be called ``../escaped``, ``a/b``, ``con`` or hold a NUL byte: each becomes a
single path component inside the folder it is written to, never a path. A name that had
to change gets a short hash of the original, so two names never meet in one file.
"""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# File systems allow 255 bytes per component; leave room for a suffix and a hash.
MAX_NAME = 100


def safe_file_name(name: str) -> str:
    """``name`` as one safe path component (letters, digits, ``_ . -``; no leading dot)."""
    safe = _UNSAFE.sub("_", name)
    safe = re.sub(r"^\.+", "_", safe)[:MAX_NAME]
    if safe == name and safe:
        return safe
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{safe or 'table'}-{digest}"
