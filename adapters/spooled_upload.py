"""An upload kept aside in an anonymous temporary file while it is checked and stored.

The API writes the body's file part here as it arrives, hashing and counting as it
goes, so the process never holds the whole file: a 50 MB upload costs a few
network chunks of memory, not 50 MB. The file is unlinked from the start
(``tempfile.TemporaryFile``), so nothing is left on disk if the process dies, and it
is gone when closed. Reads use ``os.pread``: every reader keeps its own position and
several may read at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import tempfile
from collections.abc import AsyncIterator
from typing import BinaryIO, cast

from domain.files import PART_BYTES


class SpooledUpload:
    """An ``UploadedFile`` being received: ``write`` the bytes, ``finish``, read, ``close``."""

    def __init__(self, directory: str | None = None) -> None:
        self._file = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - closed by close()
        self._fd = self._file.fileno()
        self._hash = hashlib.sha256()
        self._size = 0
        self._sha256: str | None = None

    def write(self, data: bytes | memoryview) -> None:
        if self._sha256 is not None:
            raise ValueError("the upload is finished; nothing more can be written")
        self._hash.update(data)
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(data)

    def finish(self) -> SpooledUpload:
        self._sha256 = self._hash.hexdigest()
        return self

    @property
    def size(self) -> int:
        return self._size

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            raise ValueError("the upload is still being received")
        return self._sha256

    def head(self, size: int) -> bytes:
        return os.pread(self._fd, min(size, self._size), 0)

    def reader(self) -> BinaryIO:
        return cast(BinaryIO, io.BufferedReader(_PositionalReader(self._fd, self._size)))

    async def parts(self, size: int = PART_BYTES) -> AsyncIterator[bytes]:
        for offset in range(0, self._size, size):
            yield await asyncio.to_thread(os.pread, self._fd, size, offset)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SpooledUpload:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SpooledUpload(size={self._size})"


class _PositionalReader(io.RawIOBase):
    """A seekable, read-only view of a file descriptor with a position of its own."""

    def __init__(self, fd: int, size: int) -> None:
        self._fd = fd
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = os.pread(self._fd, len(buffer), self._position)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:  # the descriptor belongs to the SpooledUpload
        super().close()
