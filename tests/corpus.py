"""Where the shared test corpus lives, for every test that reads it.

The corpus (real insurance documents) sits beside the repository, in
``<repo>/../shared/corpus``, both on a developer's machine and in CI (a fresh
clone with a copy of ``shared/`` next to it). It is never copied into the
repository. ``NAVIGATOR_CORPUS_DIR`` points elsewhere if needed.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]
CORPUS_DIR = Path(os.environ.get("NAVIGATOR_CORPUS_DIR") or REPO_DIR.parent / "shared" / "corpus")


def corpus_bytes(name: str) -> bytes:
    """The bytes of one corpus file; a clear failure when the corpus is missing."""
    path = CORPUS_DIR / name
    if not path.is_file():
        raise FileNotFoundError(
            f"corpus file {name!r} not found in {CORPUS_DIR}; put the shared corpus next "
            "to the repository (../shared/corpus) or set NAVIGATOR_CORPUS_DIR"
        )
    return path.read_bytes()
