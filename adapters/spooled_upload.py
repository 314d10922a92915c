"""An upload kept aside while it is checked and stored: in memory while it is small,
in an anonymous temporary file once it is not.

The API writes the body's file part here as it arrives, hashing and counting as it
goes. The first :data:`MEMORY_BYTES` stay in memory, so a small upload (most of
them: a summary of benefits, an EOB) costs no file at all; the moment the file
grows past that, everything moves to a temporary file and the rest goes straight
there, so the process never holds a whole large file: a 50 MB upload costs a few
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
from collections.abc import AsyncIterator, Callable
from typing import IO, BinaryIO, cast

from domain.files import PART_BYTES
from domain.units import KIB

#: How much of an upload is kept in memory before it moves to a temporary file: a
#: small upload then costs no file (an open, a write, a read back and a close), and
#: memory stays bounded by this much per upload in flight.
MEMORY_BYTES = 64 * KIB


class SpooledUpload:
    """An ``UploadedFile`` being received: ``write`` the bytes, ``finish``, read, ``close``."""

    def __init__(self, directory: str | None = None, *, memory_bytes: int = MEMORY_BYTES
                 ) -> None:
        self._directory = directory
        self._memory_bytes = memory_bytes
        self._buffer: bytearray | None = bytearray()
        self._file: IO[bytes] | None = None
        self._fd = -1
        self._hash = hashlib.sha256()
        self._size = 0
        self._sha256: str | None = None

    def write(self, data: bytes | memoryview) -> None:
        if self._sha256 is not None:
            raise ValueError("the upload is finished; nothing more can be written")
        self._hash.update(data)
        size = len(data)
        if self._buffer is not None:
            if self._size + size <= self._memory_bytes:
                self._buffer += data
                self._size += size
                return
            self._spill()
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += size

    def _spill(self) -> None:
        """Move what is in memory to a new temporary file, where the rest will go."""
        assert self._buffer is not None
        self._file = tempfile.TemporaryFile(dir=self._directory)  # noqa: SIM115 - close()
        self._fd = self._file.fileno()
        view = memoryview(self._buffer)
        while view:
            view = view[os.write(self._fd, view):]
        view.release()
        self._buffer = None

    @property
    def on_disk(self) -> bool:
        """Whether the bytes moved to a temporary file (the upload outgrew memory)."""
        return self._file is not None

    def _read_at(self, size: int, offset: int) -> bytes:
        if self._buffer is not None:
            return bytes(self._buffer[offset:offset + size])
        return os.pread(self._fd, size, offset)

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
        return self._read_at(min(size, self._size), 0)

    def reader(self) -> BinaryIO:
        return cast(BinaryIO, io.BufferedReader(_PositionalReader(self._read_at, self._size)))

    async def parts(self, size: int = PART_BYTES) -> AsyncIterator[bytes]:
        for offset in range(0, self._size, size):
            if self._buffer is not None:  # in memory: no disk to wait for
                yield self._read_at(size, offset)
            else:
                yield await asyncio.to_thread(os.pread, self._fd, size, offset)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._buffer = None

    def __enter__(self) -> SpooledUpload:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SpooledUpload(size={self._size})"


class _PositionalReader(io.RawIOBase):
    """A seekable, read-only view of the upload with a position of its own."""

    def __init__(self, read_at: Callable[[int, int], bytes], size: int) -> None:
        self._read_at = read_at
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._read_at(len(buffer), self._position)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:  # the bytes belong to the SpooledUpload
        super().close()
