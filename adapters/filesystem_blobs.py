"""Blob store on the local file system: written to a temporary file, fsynced, renamed.

A reader never sees half a file, and a crash mid-write leaves only a temp file.

It is no longer a store a deployment can choose: a folder on one machine is out of
reach of the API and workers on others. It stays for one job: reading the files an
earlier version kept in ``NAVIGATOR_HOME/blobs`` (or ``BLOB_DIR``), which
``navigator move-files`` moves into the configured store.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from adapters.blob_keys import check_blob_key
from domain.errors import NotFound
from domain.files import PART_BYTES, UploadedFile, read_all


class FilesystemBlobStore:
    kept_with_jobs = False

    def __init__(self, root: Path) -> None:
        self._root = Path(root)

    @property
    def root(self) -> Path:
        return self._root

    def _path(self, key: str) -> Path:
        return self._root / check_blob_key(key)

    async def put(self, key: str, file: UploadedFile) -> None:
        await asyncio.to_thread(self._write, self._path(key), await read_all(file))

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A unique temporary name: two uploads of the same file at once must not
        # write into one temporary file.
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_directory(path.parent)  # the rename itself survives a power cut

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise NotFound(f"no stored file {key!r}") from None

    async def read(self, key: str, start: int = 0, end: int | None = None
                   ) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise NotFound(f"no stored file {key!r}") from None
        with handle:
            handle.seek(start)
            left = None if end is None else max(0, end - start)
            while left is None or left > 0:
                size = PART_BYTES if left is None else min(PART_BYTES, left)
                part = await asyncio.to_thread(handle.read, size)
                if not part:
                    return
                if left is not None:
                    left -= len(part)
                yield part

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, True)

    def stored_keys(self) -> list[str]:
        """Every stored key, sorted (temporary files of unfinished writes left out)."""
        if not self._root.is_dir():
            return []
        return sorted(
            path.relative_to(self._root).as_posix() for path in self._root.rglob("*")
            if path.is_file() and not path.name.startswith(".")
        )


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
