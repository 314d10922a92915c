"""The development JWT secret, kept in a file of its own: created once, at random,
readable by its owner only, and shared by every process pointed at the same file (the
local API and ``navigator token``). No secret ships with the code."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def dev_secret(path: Path) -> str:
    """Read the dev secret at ``path``, creating it (owner-only, atomically) if missing.

    Two processes starting at once both end up with the one that was written first.
    """
    with contextlib.suppress(FileNotFoundError):
        existing = path.read_text(encoding="ascii").strip()
        if existing:
            return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = secrets.token_hex(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(candidate + "\n")
    try:
        os.link(tmp, path)  # fails if another process got there first
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text(encoding="ascii").strip()
