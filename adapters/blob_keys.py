"""What a blob key may look like, for every blob store alike."""

from __future__ import annotations

import re

_SAFE_KEY = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


def check_blob_key(key: str) -> str:
    """Relative path segments of letters, digits, dot, dash and underscore; no ``..``."""
    if not _SAFE_KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"unsafe blob key {key!r}")
    return key
